"""doctor reports plainly on this (GPU-less) machine and prints the memory plan as text."""
from gemma_kit.cli import main
from gemma_kit.core.settings import load_settings
from gemma_kit.steps.doctor import check_model, memory_plan_text, transcription_plan_text
from gemma_kit.training.memory_plan import GIB, GpuMemory


def test_doctor_runs_and_names_what_is_missing(tmp_path, capsys):
    assert main(["--root", str(tmp_path), "doctor"]) == 0
    out = capsys.readouterr().out
    assert "\nok Python" in "\n" + out
    assert "GPU" in out and "none usable" in out  # no GPU on the test machines
    assert "Model" in out and "run download_model.bat" in out
    assert "Estimated GPU memory for E4B, preset standard (LoRA rank 8" in out
    assert "(no GPU here: these figures are what an NVIDIA GPU with bfloat16 would need" in out
    assert "Voice transcription with E4B: ~" in out and "without a GPU it runs on the CPU, slowly." in out
    assert "What to fix:" in out


def test_transcription_memory_on_real_cards_and_the_downloaded_model(tiny_model_dir, tmp_path):
    standard = load_settings(tmp_path)
    eight = transcription_plan_text(standard, GpuMemory("RTX 4060", 8 * GIB, 7.4 * GIB, bf16=True))
    assert "per-layer table in RAM, 4.4 GB" in eight and eight.endswith("on RTX 4060 are free: fits.")
    # Without bfloat16 the layers outside 4-bit are float32: E4B no longer fits a 6 GB card.
    six = transcription_plan_text(standard, GpuMemory("RTX 2060", 6 * GIB, 5.6 * GIB, bf16=False))
    assert six.endswith("does NOT fit on this GPU.")
    # The tiny checkpoint has no audio tensors here: the plan counts its own (none), not the real encoder.
    tiny = load_settings(tmp_path, cli_pairs=[f'model_path="{tiny_model_dir.as_posix()}"'])
    assert transcription_plan_text(tiny, GpuMemory("RTX 4060", 8 * GIB, 7.4 * GIB, True)).endswith("fits.")


def test_model_is_reported_complete(tiny_model_dir, tmp_path):
    settings = load_settings(tmp_path, cli_pairs=[f'model_path="{tiny_model_dir.as_posix()}"'])
    finding = check_model(settings)
    assert finding.problem == "" and "complete" in finding.value


def test_memory_plan_text_uses_the_checkpoint_config_and_gives_a_verdict(tiny_model_dir, tmp_path):
    settings = load_settings(tmp_path, cli_pairs=[f'model_path="{tiny_model_dir.as_posix()}"', "preset=quick"])
    text = memory_plan_text(settings, GpuMemory("RTX 3050", 8 * GIB, 7.5 * GIB, bf16=True))
    assert f"Estimated GPU memory for {tiny_model_dir.name}, preset quick" in text
    assert text.splitlines()[-1].endswith("are free: fits.")  # the tiny model fits anywhere


def test_doctor_text_for_e4b_on_an_8gb_and_a_6gb_gpu(tmp_path):
    """The user's view, for the real E4B config (not downloaded: doctor uses the reference config)."""
    standard = load_settings(tmp_path)
    eight = memory_plan_text(standard, GpuMemory("RTX 4060", 8 * GIB, 7.4 * GIB, bf16=True))
    assert eight.startswith("Estimated GPU memory for E4B, preset standard (LoRA rank 8, 768 tokens x batch 1):")
    assert "  per-layer table (bf16)            0    (in CPU RAM: 4.38 GB of RAM instead)" in eight
    assert "per-layer table: in CPU RAM (per_layer_table_on_gpu = 'auto'); loss: computed 128 tokens" in eight
    need = float(eight.split("-> E4B, standard: ~")[1].split(" GB")[0])
    assert 4.0 < need < 7.4 and eight.endswith("of the 8.0 GB on RTX 4060 are free: fits.")

    plain = load_settings(tmp_path, cli_pairs=["preset=thorough", "per_layer_table_on_gpu=yes", "chunked_loss=false"])
    six = memory_plan_text(plain, GpuMemory("RTX 2060", 6 * GIB, 5.6 * GIB, bf16=False))
    assert "per-layer table (f32)" in six and "are free: does NOT fit on this GPU." in six
    e2b = load_settings(tmp_path, cli_pairs=["model=E2B"])
    two_b = memory_plan_text(e2b, GpuMemory("GTX 1660", 6 * GIB, 5.5 * GIB, bf16=False))
    # a float32 run keeps the bfloat16 table as bfloat16 in RAM (lossless): 3.75 GB, not 7.5
    assert "  per-layer table (f32)             0    (in CPU RAM: 3.75 GB of RAM instead)" in two_b
    assert six.splitlines()[-1] == ('     To fit: per_layer_table_on_gpu = "auto", chunked_loss = true, --preset quick, '
                                    'a smaller max_seq_length (e.g. --set max_seq_length=512), model = "E2B".')

    busy = memory_plan_text(standard, GpuMemory("RTX 3060", 12 * GIB, 1.0 * GIB, bf16=True))
    assert "does NOT fit while other programs use the GPU." in busy and "Close programs" in busy


def test_ram_is_reported_and_too_little_is_named():
    from gemma_kit.steps.doctor import check_ram, total_ram

    assert total_ram() > 1024**3                       # this machine says how much it has
    assert check_ram(int(15.4 * 1024**3), "E4B").problem == ""   # a "16 GB" computer as Windows reports it
    small = check_ram(8 * 1024**3, "E4B")
    assert small.value == "8.0 GB" and "training keeps the model's 4.4 GB per-layer table in RAM" in small.problem
    assert check_ram(None, "E2B").value == "unknown"


def test_library_hints_for_developers_show_only_with_debug(tmp_path):
    """bitsandbytes logs 'Failed to load CPU gemm_4bit_forward from kernels-community' on CPUs with AVX512-BF16:
    an optional kernel, nothing a user can act on."""
    import logging
    import subprocess
    import sys

    from gemma_kit.cli import DEVELOPER_ONLY_LOGGERS, main

    hints = [logging.getLogger(name) for name in DEVELOPER_ONLY_LOGGERS]
    assert main(["--root", str(tmp_path), "install-lmstudio"]) == 1  # any step: no GGUF here, a quick error
    assert [h.isEnabledFor(logging.WARNING) for h in hints] == [False] * len(hints)
    assert main(["--root", str(tmp_path), "--debug", "install-lmstudio"]) == 1
    assert [h.isEnabledFor(logging.WARNING) for h in hints] == [True] * len(hints)

    def stderr_of(*extra):
        return subprocess.run([sys.executable, "-m", "gemma_kit", "--root", str(tmp_path), "doctor", *extra],
                              capture_output=True, text=True, timeout=300).stderr

    if "kernels-community" in stderr_of("--debug"):  # this CPU has AVX512-BF16: the real message, end to end
        assert "kernels-community" not in stderr_of()


def test_a_tight_fit_explains_a_slow_run(tmp_path):
    from gemma_kit.training.memory_plan import plan_run_memory, reference_text_config

    settings = load_settings(tmp_path)
    gpu = GpuMemory("x", 8 * GIB, 7 * GIB, bf16=True)
    need = plan_run_memory(reference_text_config("E4B"), settings, gpu).plan.to_allocate
    text = memory_plan_text(settings, GpuMemory("RTX 3050", 6 * GIB, need / 1.1, bf16=True))
    assert "tight (within the estimate's error): it will try." in text
    assert text.splitlines()[-1] == "     If the steps are very slow, the GPU is borrowing ordinary RAM: use one of these."


def test_torch_build_advice_matches_the_state():
    """Re-running prepare_venv.bat is advised only when the build is wrong (issue 17)."""
    from gemma_kit.setup_plan import parse_nvidia_smi_csv
    from gemma_kit.steps.doctor import judge_torch_build

    def gpus(line):
        return parse_nvidia_smi_csv(line)[0]

    ada = gpus("NVIDIA GeForce RTX 4070, 8.9, 581.57")
    cu126_archs = ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90")
    assert judge_torch_build("12.6", True, 89, cu126_archs, ada, "") == ""
    cpu = judge_torch_build(None, False, None, (), ada, "")
    assert "CPU-only PyTorch build is installed" in cpu and "run prepare_venv.bat again" in cpu
    old_driver = judge_torch_build("13.2", False, None, (), gpus("NVIDIA GeForce RTX 4070, 8.9, 566.36"), "")
    assert "driver 566.36 is too old for this PyTorch build (CUDA 13.2 needs 580" in old_driver
    assert "prepare_venv" not in old_driver
    right_but_down = judge_torch_build("12.6", False, None, (), ada, "")
    assert "is right for the NVIDIA GeForce RTX 4070, but CUDA did not start" in right_but_down
    assert "prepare_venv" not in right_but_down
    pascal = judge_torch_build("13.2", False, None, (), gpus("NVIDIA GeForce GTX 1060 6GB, 6.1, 581.57"), "")
    assert "has no code for the NVIDIA GeForce GTX 1060 6GB (sm_61)" in pascal and "prepare_venv.bat" in pascal
    blackwell = judge_torch_build("12.6", True, 120, cu126_archs, gpus("NVIDIA GeForce RTX 5090, 12.0, 581.57"), "")
    assert "no code for the GPU (sm_120" in blackwell
    none = judge_torch_build(None, False, None, (), [], "nvidia-smi is not installed (it comes with the NVIDIA driver)")
    assert none.startswith("no NVIDIA GPU answered (nvidia-smi is not installed") and "prepare_venv" not in none
