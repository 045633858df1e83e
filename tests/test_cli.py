"""The one entry point: sub-commands, exit codes, --help, and no heavy imports for light steps."""
import argparse
import subprocess
import sys

import pytest

from gemma_kit.cli import main
from gemma_kit.pipeline import STEPS, load_step


@pytest.mark.parametrize("step", [s.name for s in STEPS])
def test_every_step_has_help_with_an_example(step, capsys):
    assert main([step, "--help"]) == 0
    printed = capsys.readouterr().out
    usage, out = printed.split("\n\n")[0], " ".join(printed.split())  # argparse re-wraps the text
    module = load_step(step)
    own = argparse.ArgumentParser(add_help=False)
    module.add_arguments(own)
    flags = [flag for action in own._actions for flag in action.option_strings]
    assert [flag for flag in flags if flag not in usage] == []                # the step's own flags
    assert " ".join(module.__doc__.split("\n\n")[0].split()) in out        # what the step does
    assert "Example" in out or "example" in out


def test_bad_usage_exits_2(capsys):
    assert main(["no-such-step"]) == 2
    assert main(["prepare-dataset", "--no-such-flag"]) == 2


def test_a_settings_problem_is_a_plain_error_with_exit_1(tmp_path, capsys):
    assert main(["--root", str(tmp_path), "doctor", "--set", "lora_rnak=4"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: Problems in the settings:")
    assert "unknown setting 'lora_rnak'" in err and "What to do:" in err and "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path, capsys):
    assert main(["--root", str(tmp_path), "--debug", "doctor", "--set", "lora_rnak=4"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli(tmp_path):
    result = subprocess.run([sys.executable, "-m", "gemma_kit", "--root", str(tmp_path), "install-lmstudio"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Error: There is no GGUF file" in result.stderr


def test_building_the_parser_imports_no_torch_transformers_or_peft():
    # Light steps (prepare-dataset, merge-lora, convert-gguf) must start in a second and stay small in RAM.
    code = ("import sys; from gemma_kit.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


def test_output_in_a_windows_code_page_does_not_crash_on_emoji(tmp_path):
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    pairs = [{"instruction": f"Привет {i} 😎", "output": f"Ответ {i} 😎"} for i in range(6)]
    import json

    (dataset / "pairs.json").write_text(json.dumps(pairs, ensure_ascii=False), encoding="utf-8")
    env = {**__import__("os").environ, "PYTHONIOENCODING": "cp1251"}
    result = subprocess.run([sys.executable, "-m", "gemma_kit", "--root", str(tmp_path), "prepare-dataset",
                             "--mode", "instruct"], capture_output=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr.decode("cp1251", "replace")
