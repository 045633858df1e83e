"""setup_plan chooses the PyTorch build from nvidia-smi's answer, for real cards and drivers (issue 17)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gemma_kit.setup_plan import (CPU_INDEX_URL, PINNED_TORCH, VARIANTS, arch_is_covered, main,
                                  parse_nvidia_smi_csv, plan_for)

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def plan_of(csv: str, problem: str = ""):
    return plan_for(*parse_nvidia_smi_csv(csv), smi_problem=problem)


# (nvidia-smi line, expected variant or outcome). Names, compute capabilities and driver numbers as real
# Windows drivers print them.
CARDS = [
    ("NVIDIA GeForce RTX 5090, 12.0, 581.57", "cu132"),        # Blackwell on a 58x driver
    ("NVIDIA GeForce RTX 5070 Ti, 12.0, 566.36", "driver_too_old"),  # Blackwell needs a 13.x build -> R580
    ("NVIDIA GeForce RTX 4070, 8.9, 566.36", "cu126"),         # Ada on a 56x driver: CUDA 12.x only
    ("NVIDIA GeForce RTX 4090, 8.9, 581.57", "cu132"),
    ("NVIDIA GeForce RTX 3060, 8.6, 560.94", "cu126"),         # Ampere on a 56x driver
    ("NVIDIA GeForce RTX 3080, 8.6, 580.88", "cu132"),         # the first Windows R580 driver
    ("NVIDIA GeForce GTX 1660 SUPER, 7.5, 537.58", "cu126"),   # Turing, R535
    ("NVIDIA GeForce GTX 1060 6GB, 6.1, 581.57", "cu126"),     # Pascal: only the 12.6 build has sm_60 code
    ("Tesla V100-PCIE-16GB, 7.0, 573.44", "cu126"),            # Volta: likewise sm_70
    ("NVIDIA GeForce GTX 1060 3GB, 6.1, 516.94", "driver_too_old"),  # below R525: no 12.x build runs
    ("NVIDIA GeForce GTX 780, 3.5, 474.44", "card_too_old"),   # Kepler: no build has code for it
]


@pytest.mark.parametrize("line, expected", CARDS, ids=[c[0].split(",")[0] for c in CARDS])
def test_real_cards_and_drivers(line, expected):
    plan = plan_of(line + "\n")
    text = "\n".join(plan.reason)
    name = line.split(",")[0]
    if expected.startswith("cu"):
        assert plan.outcome == "cuda" and plan.variant.tag == expected
        assert plan.torch_index == f"https://download.pytorch.org/whl/{expected}"
        assert name in text and f"PyTorch {PINNED_TORCH} with CUDA {plan.variant.cuda}" in text
    else:
        assert plan.outcome == expected and plan.variant is None and plan.torch_index == "cpu"
    if expected == "driver_too_old":
        assert "is too old for the" in text and "https://www.nvidia.com/Download/index.aspx" in text
    if expected == "card_too_old":
        assert "too old for PyTorch" in text and "CPU build of PyTorch will be installed" in text


def test_a_56x_driver_on_ampere_says_a_newer_driver_would_allow_cuda_13():
    text = "\n".join(plan_of("NVIDIA GeForce RTX 3060, 8.6, 566.36").reason)
    assert "A driver 580 or newer would allow CUDA 13.2" in text
    assert "A driver" not in "\n".join(plan_of("NVIDIA GeForce GTX 1060 6GB, 6.1, 581.57").reason)


def test_two_gpus_of_different_generations():
    # A 4090 next to a 1060: the 12.6 build runs on both, so whichever CUDA numbers first works.
    both = plan_of("NVIDIA GeForce RTX 4090, 8.9, 581.57\nNVIDIA GeForce GTX 1060 6GB, 6.1, 581.57\n")
    assert both.variant.tag == "cu126" and both.gpu.name == "NVIDIA GeForce RTX 4090"
    assert "2 NVIDIA GPUs found. Training uses one GPU: the first listed, NVIDIA GeForce RTX 4090." in both.reason[0]
    assert "CUDA 12.6 (cu126), the newest build that every GPU listed can run (on driver 581.57)." in both.reason[1]
    # A 5090 next to a 1080: no build covers both; decided for the first listed, the other named.
    split = plan_of("NVIDIA GeForce RTX 5090, 12.0, 581.57\nNVIDIA GeForce GTX 1080, 6.1, 581.57\n")
    assert split.variant.tag == "cu132"
    assert "This build cannot use: NVIDIA GeForce GTX 1080 (sm_61)" in "\n".join(split.reason)
    # Listed the other way round, the 1080 is the training GPU.
    assert plan_of("NVIDIA GeForce GTX 1080, 6.1, 581.57\nNVIDIA GeForce RTX 5090, 12.0, 581.57\n").variant.tag \
        == "cu126"


@pytest.mark.parametrize("csv, problem, words", [
    ("", "", "listed no GPU"),
    ("", "nvidia-smi is not installed (it comes with the NVIDIA driver)", "nvidia-smi is not installed"),
    ("[N/A], [N/A]\n", "", "A very old NVIDIA driver does this"),
    ("'nvidia-smi' is not recognized as an internal or external command,\noperable program or batch file.\n", "",
     "is not recognized"),
])
def test_no_gpu_missing_nvidia_smi_or_garbage_means_cpu_and_says_so(csv, problem, words):
    plan = plan_of(csv, problem)
    assert plan.outcome == "no_gpu" and plan.torch_index == "cpu" and plan.index_url == CPU_INDEX_URL
    text = "\n".join(plan.reason)
    assert text.startswith("No NVIDIA GPU found") and words in text and "very slow" in text


def test_unreadable_lines_next_to_a_gpu_are_counted():
    plan = plan_of("NVIDIA GeForce RTX 4070, 8.9, 581.57\n[N/A], [N/A], 581.57\n")
    assert plan.variant.tag == "cu132"
    assert plan.reason[0] == "Note: 1 line(s) of nvidia-smi's answer were not understood and ignored."


def test_arch_rule_is_nvidias_same_major_rule():
    assert arch_is_covered(89, ["sm_80", "sm_86", "sm_90"])      # Ada runs the 8.6 code
    assert arch_is_covered(61, (50, 60, 70))                    # GTX 1060 runs the 6.0 code
    assert not arch_is_covered(120, ["sm_75", "sm_86", "sm_90", "compute_90"])  # PTX does not count
    assert not arch_is_covered(60, ["sm_61"]) and not arch_is_covered(70, (75, 80))


def test_the_table_is_newest_first_and_every_row_is_an_index_folder():
    assert [v.tag for v in VARIANTS] == ["cu132", "cu130", "cu126"]
    assert all(v.tag == "cu" + v.cuda.replace(".", "") for v in VARIANTS)
    assert [v.min_driver for v in VARIANTS] == sorted((v.min_driver for v in VARIANTS), reverse=True)


def test_cli_prints_torch_index_first_and_writes_the_plan_file(tmp_path, capsys):
    csv = tmp_path / "smi.csv"
    csv.write_text("NVIDIA GeForce GTX 1060 6GB, 6.1, 566.36\n", encoding="utf-8")
    plan_file = tmp_path / "plan.txt"
    assert main(["--nvidia-smi-csv", str(csv), "--plan-file", str(plan_file)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "torch_index=https://download.pytorch.org/whl/cu126"
    assert "NVIDIA GeForce GTX 1060 6GB (compute capability 6.1, sm_61, driver 566.36)" in out[1]
    values = dict(line.split("=", 1) for line in plan_file.read_text(encoding="ascii").splitlines())
    assert values == {"torch_index": "https://download.pytorch.org/whl/cu126",
                      "index_url": "https://download.pytorch.org/whl/cu126", "torch_version": PINNED_TORCH,
                      "variant": "cu126", "outcome": "cuda", "gpu_arch": "sm_61", "driver": "566.36"}


def test_runs_with_python_dash_s_before_any_dependency_and_without_nvidia_smi(tmp_path):
    """Exactly as prepare_venv.bat starts it: no site-packages, and here no nvidia-smi on PATH."""
    env = {"PYTHONPATH": str(SCRIPTS), "PATH": str(tmp_path), "SYSTEMROOT": os.environ.get("SYSTEMROOT", "")}
    done = subprocess.run([sys.executable, "-S", "-m", "gemma_kit.setup_plan"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "torch_index=cpu"
    assert lines[1] == "No NVIDIA GPU found: nvidia-smi is not installed (it comes with the NVIDIA driver)."
    probe = subprocess.run([sys.executable, "-S", "-c", "import gemma_kit.setup_plan, gemma_kit.venv_check, sys; "
                            "print(sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in "
                            "{'torch', 'numpy', 'transformers'}))"], env=env, capture_output=True, text=True)
    assert probe.stdout.strip() == "[]", probe.stderr


@pytest.mark.parametrize("exit_code, output, words", [
    (9009, "'nvidia-smi' is not recognized as an internal or external command,\n", "nvidia-smi is not installed"),
    (1, "Can't recognize 'nvidia-smi --query-gpu=...' as an internal or external command, or batch script.\n",
     "nvidia-smi is not installed"),  # Wine's cmd
])
def test_the_bat_passes_nvidia_smis_exit_code_and_the_plan_explains_it(tmp_path, capsys, exit_code, output, words):
    csv = tmp_path / "smi.csv"
    csv.write_text(output, encoding="utf-8")
    assert main(["--nvidia-smi-csv", str(csv), "--nvidia-smi-exit-code", str(exit_code)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "torch_index=cpu" and out[1].startswith(f"No NVIDIA GPU found: {words}")


def run_plan(tmp_path, capsys, exit_code: int, output: str, fallback: str | None = None, fallback_exit: int = 0):
    """setup_plan as the .bat runs it: the first query's answer and exit code, then the fallback query's."""
    csv = tmp_path / "smi.csv"
    csv.write_text(output, encoding="utf-8")
    args = ["--nvidia-smi-csv", str(csv), "--nvidia-smi-exit-code", str(exit_code), "--plan-file",
            str(tmp_path / "plan.txt")]
    if fallback is not None:
        (tmp_path / "fallback.csv").write_text(fallback, encoding="utf-8")
        args += ["--fallback-csv", str(tmp_path / "fallback.csv"), "--fallback-exit-code", str(fallback_exit)]
    assert main(args) == 0
    values = dict(line.split("=", 1) for line in (tmp_path / "plan.txt").read_text(encoding="ascii").splitlines())
    return values, capsys.readouterr().out


OLD_DRIVER_ANSWER = 'Field "compute_cap" is not a valid field to query.\n'   # exit code 2, drivers before ~R510


def test_a_driver_without_compute_cap_is_too_old_not_no_gpu(tmp_path, capsys):
    values, out = run_plan(tmp_path, capsys, 2, OLD_DRIVER_ANSWER, "NVIDIA GeForce GTX 1070, 472.12\n")
    assert values["outcome"] == "driver_too_old" and values["torch_index"] == "cpu", out
    assert "NVIDIA GPU found: NVIDIA GeForce GTX 1070 (driver 472.12). The driver is too old" in out
    assert 'exit code 2: Field "compute_cap" is not a valid field to query.' in out
    assert "needs driver 525 or newer" in out and "https://www.nvidia.com/Download/index.aspx" in out
    assert "No NVIDIA GPU found" not in out and "CPU build of PyTorch will be installed" not in out


@pytest.mark.parametrize("fallback, fallback_exit, listed", [
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", 9, ""),
    (None, 0, ""),                                                   # the .bat did not run the fallback
    ("NVIDIA GeForce RTX 3060, 566.36\n", 0, "nvidia-smi lists NVIDIA GeForce RTX 3060 (driver 566.36), but "),
])
def test_a_broken_driver_stops_instead_of_installing_the_cpu_build(tmp_path, capsys, fallback, fallback_exit,
                                                                    listed):
    values, out = run_plan(tmp_path, capsys, 9,
                           "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
                           "that the latest NVIDIA driver is installed and running.\n", fallback, fallback_exit)
    assert values["outcome"] == "driver_broken" and values["variant"] == "cpu", out
    assert (f"The NVIDIA driver does not work: {listed}nvidia-smi failed (exit code 9: NVIDIA-SMI has failed "
            "because it couldn't communicate") in out
    assert "Reinstall the NVIDIA driver from https://www.nvidia.com/Download/index.aspx" in out
    assert "CPU build of PyTorch will be installed" not in out


def test_without_the_csv_flag_it_asks_nvidia_smi_again_with_the_fallback_query(tmp_path):
    """A stand-in nvidia-smi that answers like a R470 driver: the first query fails, the fallback lists the card."""
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\ncase \"$1\" in\n  --query-gpu=name,driver_version) echo 'Quadro P4000, 472.12';;\n"
                    "  *) echo 'Field \"compute_cap\" is not a valid field to query.'; exit 2;;\nesac\n")
    fake.chmod(0o755)
    env = {"PYTHONPATH": str(SCRIPTS), "PATH": str(tmp_path)}
    done = subprocess.run([sys.executable, "-S", "-m", "gemma_kit.setup_plan"], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:2] == ["torch_index=cpu", "NVIDIA GPU found: Quadro P4000 (driver 472.12). "
                                            "The driver is too old: nvidia-smi cannot report the card's compute "
                                            "capability (nvidia-smi failed (exit code 2: Field \"compute_cap\" is "
                                            "not a valid field to query.)), as with drivers before about version "
                                            "510. Every PyTorch 2.14.1 build for NVIDIA cards needs driver 525 or "
                                            "newer. Update the driver from https://www.nvidia.com/Download/index.aspx, "
                                            "restart Windows, then run prepare_venv.bat again."]


def test_speaks_the_language_settings_toml_asks_for_before_anything_is_installed(tmp_path):
    """prepare_venv.bat runs it outside the CLI: it reads `language` from settings.toml itself."""
    (tmp_path / "settings.toml").write_text('language = "ru"\n', encoding="utf-8")
    env = {"PYTHONPATH": str(SCRIPTS), "PATH": str(tmp_path), "SYSTEMROOT": os.environ.get("SYSTEMROOT", ""),
           "GEMMA_KIT_ROOT": str(tmp_path), "LANG": "en_US.UTF-8"}
    done = subprocess.run([sys.executable, "-S", "-m", "gemma_kit.setup_plan"], env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "torch_index=cpu"  # what the .bat reads stays the same
    assert lines[1] == ("Видеокарта NVIDIA не найдена: nvidia-smi не установлен (он ставится вместе с драйвером "
                        "NVIDIA).")
    assert lines[2].startswith("Будет установлена сборка PyTorch для процессора")
