"""Regenerates the step .bat files (CRLF) from one template, so they cannot drift apart.

Run: python tools/write_bat_files.py   (tests/test_bat_files.py checks the files match this output;
tests/test_bat_wine.py runs every generated file under Wine's cmd)

GEMMA_KIT_NO_PAUSE (for tests only): when this environment variable is defined, the files skip their final
`pause`, so an automated run ends instead of waiting for a key. Users never set it: a double-clicked window
must stay open so the result or the error can be read.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# bat name -> (sub-command, extra arguments, English title, Russian title)
STEP_BATS = {
    "download_model.bat": ("download-model", "", "Download the Gemma 3n model", "Загрузка модели Gemma 3n"),
    "prepare_dataset.bat": ("prepare-dataset", "", "Prepare the dataset from your chats",
                            "Подготовка датасета из ваших чатов"),
    "finetune_gemma.bat": ("finetune", "", "Fine-tune Gemma 3n (QLoRA)", "Дообучение Gemma 3n (QLoRA)"),
    "merge_lora.bat": ("merge-lora", "", "Merge the LoRA adapter into the model", "Слияние LoRA-адаптера с моделью"),
    "convert_to_gguf.bat": ("convert-gguf", "--offer-lmstudio", "Convert to GGUF for LM Studio",
                            "Конвертация в GGUF для LM Studio"),
    "convert_only.bat": ("convert-gguf", "", "Re-run only the GGUF conversion", "Только конвертация в GGUF"),
    "make_report.bat": ("report", "", "Before/after report", "Отчёт: до и после обучения"),
    "install_to_lmstudio.bat": ("install-lmstudio", "", "Hand the model to LM Studio", "Передать модель в LM Studio"),
    "check_tensorboard_runs.bat": ("tensorboard", "", "Show training curves (TensorBoard)",
                                   "Графики обучения (TensorBoard)"),
}

# Why goto labels instead of if (...) blocks: an unescaped ")" inside an echo within a block ends the block
# early in cmd.exe; flat labels make that class of bug impossible.
STEP_TEMPLATE = """\
@echo off
setlocal
chcp 65001 >nul
cd /d "%~dp0"
title {title_en}
set "RC=0"
set "PY=.venv\\Scripts\\python.exe"
if not exist "%PY%" goto no_venv
echo === {title_en} / {title_ru} ===
"%PY%" -m gemma_kit {command}{extra} %*
if errorlevel 1 goto failed
goto end

:no_venv
echo The Python environment is not set up yet: run prepare_venv.bat first.
echo Окружение Python ещё не создано: сначала запустите prepare_venv.bat.
set "RC=1"
goto end

:failed
set "RC=%errorlevel%"
echo.
echo The step stopped with an error: read the "Error" and "What to do" lines above.
echo Шаг завершился с ошибкой: прочитайте строки "Error" и "What to do" выше.
echo To see technical details, run: {bat} --debug
echo If it says "No module named gemma_kit", the folder was moved or renamed: run prepare_venv.bat again.

:end
if not defined GEMMA_KIT_NO_PAUSE pause
exit /b %RC%
"""

PREPARE_VENV = """\
@echo off
setlocal
chcp 65001 >nul
cd /d "%~dp0"
title Prepare the Python environment
set "RC=0"
echo === Prepare the Python environment / Подготовка окружения Python ===

rem Find Python 3.10-3.12: the py launcher first (it knows every installed version), then python on PATH.
set "BASE_PY="
rem "if not errorlevel 1" rather than "&&": the same on Windows, and Wine 8's cmd runs the right side of "&&"
rem even after a failure, which made the Wine test of this file see a py launcher that is not there.
for %%V in (3.12 3.11 3.10) do (
    if not defined BASE_PY (
        py -%%V -c "import sys" >nul 2>&1
        if not errorlevel 1 set "BASE_PY=py -%%V"
    )
)
if defined BASE_PY goto have_python
python -c "import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)" >nul 2>&1
if errorlevel 1 goto no_python
set "BASE_PY=python"

:have_python
echo Using Python: %BASE_PY%
if exist ".venv\\Scripts\\python.exe" goto have_venv
%BASE_PY% -m venv .venv
if errorlevel 1 goto failed
:have_venv
set "PY=.venv\\Scripts\\python.exe"
"%PY%" -m pip install --upgrade pip
if errorlevel 1 goto failed

rem The CUDA build of torch comes from PyTorch's own index; PyPI's Windows wheel is CPU-only.
nvidia-smi >nul 2>&1
if errorlevel 1 goto cpu_torch
echo NVIDIA GPU found: installing PyTorch with CUDA.
"%PY%" -m pip install "torch>=2.4" --index-url https://download.pytorch.org/whl/cu128
if errorlevel 1 goto failed
goto install_kit

:cpu_torch
echo WARNING: no NVIDIA GPU answered nvidia-smi. Installing the CPU build of PyTorch.
echo Training on the CPU works but is very slow. If you do have an NVIDIA GPU, install its driver and run this again.
echo ВНИМАНИЕ: видеокарта NVIDIA не найдена. Ставится версия PyTorch для процессора: обучение будет очень медленным.
"%PY%" -m pip install "torch>=2.4" --index-url https://download.pytorch.org/whl/cpu
if errorlevel 1 goto failed

:install_kit
"%PY%" -m pip install -e .
if errorlevel 1 goto failed
"%PY%" -m gemma_kit doctor
echo.
echo Done. Next: run download_model.bat
echo Готово. Дальше: запустите download_model.bat
goto end

:no_python
echo Python 3.10, 3.11 or 3.12 was not found.
echo Install it from python.org: in the installer tick "Add python.exe to PATH", then run this file again.
echo Python 3.10-3.12 не найден. Установите его с python.org, отметив "Add python.exe to PATH", и запустите этот файл снова.
set "RC=1"
goto end

:failed
set "RC=%errorlevel%"
echo.
echo Setting up the environment failed: read the messages above. Check the internet connection and free disk space,
echo then run prepare_venv.bat again: it continues where it stopped.
echo Не удалось подготовить окружение: проверьте интернет и место на диске и запустите prepare_venv.bat снова.

:end
if not defined GEMMA_KIT_NO_PAUSE pause
exit /b %RC%
"""


def render_step_bat(bat: str) -> str:
    command, extra, title_en, title_ru = STEP_BATS[bat]
    return STEP_TEMPLATE.format(command=command, extra=f" {extra}" if extra else "", title_en=title_en,
                                title_ru=title_ru, bat=bat)


def all_bat_files() -> dict[str, str]:
    files = {bat: render_step_bat(bat) for bat in STEP_BATS}
    files["prepare_venv.bat"] = PREPARE_VENV
    return files


def to_crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def main() -> None:
    for name, text in all_bat_files().items():
        (ROOT / name).write_bytes(to_crlf(text))
        print(f"wrote {name}")


if __name__ == "__main__":
    main()
