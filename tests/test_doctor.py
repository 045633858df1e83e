"""doctor reports plainly on this (GPU-less) machine and prints the memory plan as text."""
from gemma_kit.cli import main
from gemma_kit.core.memory_plan import GIB
from gemma_kit.core.settings import load_settings
from gemma_kit.steps.doctor import check_model, memory_plan_text


def test_doctor_runs_and_names_what_is_missing(tmp_path, capsys):
    assert main(["--root", str(tmp_path), "doctor"]) == 0
    out = capsys.readouterr().out
    assert "\nok Python" in "\n" + out
    assert "GPU" in out and "none usable" in out  # no GPU on the test machines
    assert "Model" in out and "run download_model.bat" in out
    assert "Estimated GPU memory for E4B, preset standard:" in out
    assert "What to fix:" in out


def test_model_is_reported_complete(tiny_model_dir, tmp_path):
    settings = load_settings(tmp_path, cli_pairs=[f'model_path="{tiny_model_dir.as_posix()}"'])
    finding = check_model(settings)
    assert finding.problem == "" and "complete" in finding.value


def test_memory_plan_text_uses_the_checkpoint_config_and_gives_a_verdict(tiny_model_dir, tmp_path):
    settings = load_settings(tmp_path, cli_pairs=[f'model_path="{tiny_model_dir.as_posix()}"', "preset=quick"])
    text = memory_plan_text(settings, gpu_total=8 * GIB)
    assert "preset quick" in text and "of your 8 GB: fits" in text  # the tiny model fits anywhere
    reference = memory_plan_text(load_settings(tmp_path, cli_pairs=["preset=thorough"]), gpu_total=6 * GIB)
    assert "E4B, preset thorough" in reference and "does NOT fit" in reference
