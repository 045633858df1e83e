"""The two checks prepare_venv.bat runs around an install: is the .venv reusable, and does PyTorch work (issue 17)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gemma_kit.setup_check import RERUN, TorchFacts, diagnose, gather_facts, main, torch_action
from gemma_kit.venv_check import executable_kind, interpreter_kind, venv_interpreter, venv_problem

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def make_venv(folder: Path, *, version="3.12.7", executable: str | None = None, made_in: Path | None = None,
              interpreter=True) -> Path:
    """A venv as `python -m venv` leaves it: pyvenv.cfg and the interpreter (an empty file is enough here)."""
    folder.mkdir(parents=True)
    base = Path(executable) if executable else Path(sys.executable)
    lines = [f"home = {base.parent}", "include-system-site-packages = false", f"version = {version}",
             f"executable = {base}", f"command = {base} -m venv --upgrade-deps {made_in or folder}"]
    (folder / "pyvenv.cfg").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if interpreter:
        venv_interpreter(folder).parent.mkdir(parents=True)
        venv_interpreter(folder).write_text("")
    return folder


def test_a_healthy_venv_is_reused(tmp_path):
    assert venv_problem(make_venv(tmp_path / "Мой проект (копия)" / ".venv")) == ""


def test_a_real_venv_made_by_this_python_is_reused_when_its_version_is_supported(tmp_path):
    venv = tmp_path / "a b" / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    supported = (3, 11) <= sys.version_info[:2] <= (3, 13)
    assert (venv_problem(venv) == "") == supported, venv_problem(venv)


@pytest.mark.parametrize("change, words", [
    (dict(executable="/nonexistent/Python312/python.exe"), "the Python it was made from (/nonexistent/Python312/"
                                                           "python.exe) no longer exists"),
    (dict(version="3.10.11"), "it was made with Python 3.10.11, and the kit needs Python 3.11-3.13"),
    (dict(version="3.14.0"), "it was made with Python 3.14.0"),
    (dict(made_in=Path("/home/someone else/kit/.venv")), "it was made in another folder (/home/someone else/kit/"
                                                          ".venv): the kit was moved or copied"),
    (dict(interpreter=False), "its Python"),
])
def test_a_broken_or_foreign_venv_is_rebuilt_with_the_reason(tmp_path, change, words):
    problem = venv_problem(make_venv(tmp_path / ".venv", **change))
    assert words in problem


def test_a_folder_without_pyvenv_cfg_is_not_a_venv(tmp_path):
    (tmp_path / ".venv").mkdir()
    assert "pyvenv.cfg is missing" in venv_problem(tmp_path / ".venv")


def test_venv_check_cli_prints_one_word_and_explains_on_stderr(tmp_path):
    venv = make_venv(tmp_path / ".venv", executable="/gone/python.exe")
    done = subprocess.run([sys.executable, "-S", "-m", "gemma_kit.venv_check", str(venv)], capture_output=True,
                          text=True, env={"PYTHONPATH": str(SCRIPTS)}, timeout=60)
    assert done.returncode == 0 and done.stdout == "rebuild\n"
    assert f"The existing {venv} cannot be used: the Python it was made from (/gone/python.exe)" in done.stderr
    assert "It will be removed and built again." in done.stderr


@pytest.mark.parametrize("installed, variant, arch, platform, expected", [
    (None, "cu126", "sm_61", "win32", "install"),
    ("2.14.1+cpu", "cu132", "sm_89", "win32", "reinstall"),      # the CPU build pip calls "already satisfied"
    ("2.14.1", "cu132", "sm_89", "win32", "reinstall"),          # PyPI's Windows wheel is CPU-only
    ("2.14.1", "cu132", "sm_89", "linux", "keep"),               # PyPI's Linux wheel is the CUDA 13.2 build
    ("2.14.1+cu132", "cu126", "sm_61", "win32", "reinstall"),    # a 1060 in a venv built for a newer card
    ("2.14.1+cu126", "cu126", "sm_61", "win32", "keep"),
    ("2.14.1+cu130", "cu132", "sm_120", "win32", "keep"),        # another build that also has code for the card
    ("2.12.0+cu126", "cu126", "sm_61", "win32", "reinstall"),    # not the tested release
    ("2.14.1+cu126", "cpu", "none", "win32", "keep"),            # no GPU: any build of the release runs
])
def test_torch_action(installed, variant, arch, platform, expected):
    assert torch_action(installed, variant, arch, platform)[0] == expected


GOOD_GPU = dict(cuda_build="12.6", cuda_available=True, device_name="NVIDIA GeForce GTX 1060 6GB", capability=61,
                arch_list=("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"))


@pytest.mark.parametrize("facts, driver, message, hint", [
    (TorchFacts(**GOOD_GPU), "566.36", None, None),
    (TorchFacts(torch_error="OSError: [WinError 126] c10.dll"), "", "PyTorch does not load", "delete the .venv"),
    (TorchFacts(**{**GOOD_GPU, "cuda_build": None, "cuda_available": False}), "566.36", "CPU-only build",
     "replaces the installed PyTorch"),
    (TorchFacts(cuda_build="13.2", cuda_available=False), "566.36", "driver 566.36 is too old for PyTorch with "
     "CUDA 13.2 (it needs 580 or newer)", "https://www.nvidia.com/Download/index.aspx"),
    (TorchFacts(cuda_build="12.6", cuda_available=False), "566.36", "CUDA did not start", "restart Windows"),
    (TorchFacts(**{**GOOD_GPU, "cuda_build": "13.2", "arch_list": ("sm_75", "sm_80", "sm_86", "sm_90", "sm_100",
                                                                     "sm_120")}),
     "581.57", "has no code for the NVIDIA GeForce GTX 1060 6GB (sm_61)", "replaces the installed PyTorch"),
    (TorchFacts(**{**GOOD_GPU, "matmul_error": "RuntimeError: CUDA error: no kernel image is available"}), "566.36",
     "A test calculation on the NVIDIA GeForce GTX 1060 6GB failed", "replaces the installed PyTorch"),
    (TorchFacts(**{**GOOD_GPU, "device_name": "Quadro M4000", "capability": 52,
                   "bnb_error": "RuntimeError: unsupported"}), "566.36",
     "bitsandbytes (the 4-bit part of training) does not work", "too old for 4-bit training"),
])
def test_diagnose_names_the_cause(facts, driver, message, hint):
    problems = diagnose(facts, "cuda", f"sm_{facts.capability}", driver)
    if message is None:
        assert problems == []
        return
    assert message in problems[0].message and hint in problems[0].hint, problems[0]


def test_the_real_torch_here_passes_the_cpu_check():
    """This machine has no GPU: the installed torch and bitsandbytes must load for a CPU plan."""
    facts = gather_facts(use_gpu=False)
    assert facts.torch_error == "" and facts.cuda_available is False
    assert diagnose(facts, "no_gpu", "none") == []
    assert [p.message for p in diagnose(facts, "cuda", "sm_89", "581.57")] != []  # no GPU to check with here


CU126_ARCHS = GOOD_GPU["arch_list"]


def test_a_first_gpu_other_than_the_planned_one_is_named_instead_of_run_again(monkeypatch):
    """GTX 1080 first on the PCI bus, RTX 5090 second: the plan is cu126 for sm_61. If cuda:0 is still the 5090
    (CUDA_DEVICE_ORDER changed in Windows' settings), running the .bat again would choose cu126 again."""
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "FASTEST_FIRST")
    facts = TorchFacts(cuda_build="12.6", cuda_available=True, device_name="NVIDIA GeForce RTX 5090",
                       capability=120, arch_list=CU126_ARCHS)
    problems = diagnose(facts, "cuda", "sm_61", "581.57")
    assert len(problems) == 1, problems
    assert problems[0].message.startswith("PyTorch's first GPU is the NVIDIA GeForce RTX 5090 (sm_120), but the "
                                          "build was chosen for the first GPU nvidia-smi lists (sm_61)")
    assert "GPU order settings here: CUDA_DEVICE_ORDER=FASTEST_FIRST." in problems[0].message
    assert "remove CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER" in problems[0].hint and RERUN != problems[0].hint
    # Another card that the build runs is no problem: training uses the same cuda:0.
    ada = TorchFacts(**{**GOOD_GPU, "device_name": "NVIDIA GeForce RTX 4090", "capability": 89})
    assert diagnose(ada, "cuda", "sm_61", "581.57") == []


def test_verify_numbers_gpus_as_nvidia_smi_does(monkeypatch, capsys):
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    assert main(["torch-action", "--variant", "cpu"]) == 0
    assert os.environ["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "FASTEST_FIRST")  # a user's own choice is kept
    assert main(["torch-action", "--variant", "cpu"]) == 0 and os.environ["CUDA_DEVICE_ORDER"] == "FASTEST_FIRST"


def test_verify_does_not_print_bitsandbytes_developer_hint():
    """On a CPU with AVX512-BF16, importing bitsandbytes.functional logs "Failed to load CPU gemm_4bit_forward from
    kernels-community ... trust_remote_code" (0.50.2): a line a user cannot act on, right before "Checked:"."""
    def verify(*extra):
        return subprocess.run([sys.executable, "-m", "gemma_kit.setup_check", "verify", *extra], capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": str(SCRIPTS)}, timeout=300)
    done = verify()
    assert done.returncode == 0 and "Checked: PyTorch and bitsandbytes load." in done.stdout, done.stderr
    assert "gemm_4bit_forward" not in done.stdout + done.stderr and "trust_remote_code" not in done.stderr
    if "avx512_bf16" in Path("/proc/cpuinfo").read_text(errors="replace"):
        assert "Failed to load CPU gemm_4bit_forward" in verify("--debug").stderr  # the hint exists here


def pe_file(path: Path, machine: int) -> Path:
    """The first bytes of a Windows executable: the MZ header pointing at the PE header and its Machine field."""
    head = bytearray(128)
    head[:2] = b"MZ"
    head[0x3C:0x40] = (0x40).to_bytes(4, "little")
    head[0x40:0x46] = b"PE\0\0" + machine.to_bytes(2, "little")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(head))
    return path


@pytest.mark.parametrize("platform_tag, bits, kind", [
    ("win-amd64", 64, "ok"), ("win32", 32, "32-bit"), ("win-arm64", 64, "ARM64"), ("linux-x86_64", 64, "ok"),
    ("linux-i686", 32, "32-bit"),
])
def test_only_a_64_bit_x64_python_is_accepted(platform_tag, bits, kind):
    assert interpreter_kind(platform_tag, bits) == kind


def test_the_interpreter_check_runs_as_the_bat_starts_it():
    done = subprocess.run([sys.executable, "-S", "-m", "gemma_kit.venv_check", "--interpreter"], capture_output=True,
                          text=True, env={"PYTHONPATH": str(SCRIPTS)}, timeout=60)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr  # this test machine's Python is 64-bit


def test_a_venv_made_by_a_32_bit_or_arm64_python_is_rebuilt(tmp_path):
    assert executable_kind(pe_file(tmp_path / "x64" / "python.exe", 0x8664)) == "ok"
    for machine, kind in ((0x014C, "32-bit"), (0xAA64, "ARM64")):
        base = pe_file(tmp_path / kind / "python.exe", machine)
        assert executable_kind(base) == kind
        problem = venv_problem(make_venv(tmp_path / kind / ".venv", executable=str(base)))
        assert problem == (f"it was made with a {kind} Python ({base}), and PyTorch needs the 64-bit Python for "
                           "x64 (AMD64) Windows")
    assert executable_kind(Path(sys.executable)) == "ok"  # not a PE file here: nothing to judge


def test_venv_check_explains_in_the_language_of_settings_toml(tmp_path):
    venv = make_venv(tmp_path / ".venv", executable="/gone/python.exe")
    (tmp_path / "settings.toml").write_text('language = "ru"\n', encoding="utf-8")
    env = {"PYTHONPATH": str(SCRIPTS), "GEMMA_KIT_ROOT": str(tmp_path)}
    done = subprocess.run([sys.executable, "-S", "-m", "gemma_kit.venv_check", str(venv)], capture_output=True,
                          text=True, encoding="utf-8", env=env, timeout=60)
    assert done.returncode == 0 and done.stdout == "rebuild\n"  # the word the .bat reads stays English
    assert (f"Имеющееся окружение {venv} нельзя использовать: Python, которым оно создано (/gone/python.exe), "
            "больше нет") in done.stderr


def test_a_setup_problem_is_told_in_russian():
    from gemma_kit.core.language import set_language

    set_language("ru")
    problems = diagnose(TorchFacts(cuda_build=None), "cuda", "sm_86")
    assert problems[0].message == ("Установлена сборка PyTorch только для процессора, хотя на этом компьютере есть "
                                   "видеокарта NVIDIA.")
    assert problems[0].hint.startswith("запустите prepare_venv.bat ещё раз")
