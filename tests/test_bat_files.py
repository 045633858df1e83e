"""Static checks of the .bat front door (the Wine runs are the behavioural check)."""
import importlib.util
import re
from pathlib import Path

import pytest

from gemma_kit.cli import STEPS_BY_NAME

ROOT = Path(__file__).resolve().parents[1]
REQUIRED_BATS = ["prepare_venv.bat", "download_model.bat", "prepare_dataset.bat", "finetune_gemma.bat",
                 "merge_lora.bat", "convert_to_gguf.bat", "convert_only.bat", "check_tensorboard_runs.bat"]


def load_generator():
    spec = importlib.util.spec_from_file_location("write_bat_files", ROOT / "tools" / "write_bat_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", REQUIRED_BATS)
def test_bat_exists_with_crlf_line_endings_only(name):
    data = (ROOT / name).read_bytes()
    assert data.count(b"\n") > 5
    assert data.count(b"\n") == data.count(b"\r\n"), f"{name} has LF-only lines"
    text = data.decode("utf-8")
    assert text.startswith("@echo off\r\n")
    assert "chcp 65001 >nul" in text and 'cd /d "%~dp0"' in text
    assert "if not defined GEMMA_KIT_NO_PAUSE pause" in text


@pytest.mark.parametrize("name", [b for b in REQUIRED_BATS if b != "prepare_venv.bat"])
def test_step_bat_calls_an_existing_sub_command_with_the_venv_python(name):
    text = (ROOT / name).read_text(encoding="utf-8")
    assert 'set "PY=.venv\\Scripts\\python.exe"' in text
    calls = re.findall(r'^"%PY%" -m gemma_kit ([a-z-]+)', text, flags=re.M)
    assert len(calls) == 1, f"{name} should call exactly one step"
    assert calls[0] in STEPS_BY_NAME
    assert "if errorlevel 1 goto failed" in text and "run prepare_venv.bat first" in text


def test_bat_files_match_their_generator():
    generator = load_generator()
    for name, text in generator.all_bat_files().items():
        assert (ROOT / name).read_bytes() == generator.to_crlf(text), f"{name} differs: run tools/write_bat_files.py"


def test_prepare_venv_leaves_the_decisions_to_python_and_installs_what_was_tested():
    text = (ROOT / "prepare_venv.bat").read_text(encoding="utf-8")
    assert "py -%%V" in text and "(3.12 3.13 3.11)" in text
    assert text.index("gemma_kit.venv_check") < text.index("nvidia-smi --query-gpu") \
        < text.index('-S -m gemma_kit.setup_plan --nvidia-smi-csv') < text.index("setup_check torch-action") < text.index("--force-reinstall")
    assert "--index-url %PLAN_index_url%" in text and "whl/cu" not in text  # no index fixed in the .bat
    assert '"%PY%" -m pip install -c constraints.txt -e .' in text
    assert text.index("setup_check verify") < text.index("Done. Next: run download_model.bat")
    assert "winget install --id Python.Python.3.12" in text
