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
if exist ".venv\Scripts\python.exe" goto have_venv
%BASE_PY% -m venv .venv
if errorlevel 1 goto failed
:have_venv
set "PY=.venv\Scripts\python.exe"
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
