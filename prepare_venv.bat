@echo off
setlocal
chcp 65001 >nul
cd /d "%~dp0"
title Prepare the Python environment
set "RC=0"
echo === Prepare the Python environment / Подготовка окружения Python ===

rem Opened inside a ZIP, Windows runs this file from a temporary folder without the rest of the kit.
if not exist "scripts\gemma_kit\setup_plan.py" goto incomplete_folder
rem The setup modules are standard-library only and run from scripts\ before anything is installed.
set "PYTHONPATH=%CD%\scripts"
rem No extension on purpose: cmd finds python.exe through PATHEXT (and the tests' stand-in python.bat).
set "PY=%CD%\.venv\Scripts\python"
set "PLAN=%CD%\.venv\gemma_kit_setup_plan.txt"
set "SMI_CSV=%CD%\.venv\nvidia_smi.csv"
set "SMI_FALLBACK_CSV=%CD%\.venv\nvidia_smi_fallback.csv"
rem cuda:0 in setup_check verify must be the first GPU nvidia-smi lists, the one the plan chose the build for
rem (CUDA's own order is fastest first); the kit's CLI sets the same.
if not defined CUDA_DEVICE_ORDER set "CUDA_DEVICE_ORDER=PCI_BUS_ID"

rem Python 3.11-3.13: transformers 5 needs 3.11 or newer; 3.14 is not tested. The py launcher first (it knows
rem every installed version), then python on PATH, then the folders python.org's installer uses (a Python
rem installed without "Add to PATH" and without the launcher). The version is read from "-V", not exit codes.
set "BASE_PY="
set "BASE_VER="
set "OTHER_PY="
set "WRONG_KIND_PY="
for %%V in (3.12 3.13 3.11) do if not defined BASE_PY call :probe py -%%V
if not defined BASE_PY call :probe python
if not defined BASE_PY call :probe py
if not defined BASE_PY call :probe_known_folders
if not defined BASE_PY goto no_python

:have_python
echo Using Python %BASE_VER%: %BASE_PY%
if not exist ".venv" goto make_venv
rem A .venv made by a Python that is gone, in another folder, or by an unsupported version is rebuilt.
set "VENV_STATE="
for /f %%A in ('call %BASE_PY% -S -m gemma_kit.venv_check .venv') do set "VENV_STATE=%%A"
if "%VENV_STATE%"=="ok" goto have_venv
if not "%VENV_STATE%"=="rebuild" echo The existing .venv could not be checked: it will be removed and built again.
rmdir /s /q ".venv"
if exist ".venv" goto venv_locked
:make_venv
echo Creating the Python environment in .venv ...
call %BASE_PY% -m venv .venv
if errorlevel 1 goto failed
:have_venv
call "%PY%" -m pip install --upgrade pip
if errorlevel 1 goto failed

rem Which PyTorch build: decided by gemma_kit.setup_plan from nvidia-smi's answer (CPU when there is none).
call nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader > "%SMI_CSV%" 2>&1
set "SMI_EXIT=%errorlevel%"
rem Drivers before ~R510 have no compute_cap (exit code 2): this second query tells an old driver from a broken one.
set "FALLBACK_EXIT=0"
if not "%SMI_EXIT%"=="0" call nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "%SMI_FALLBACK_CSV%" 2>&1
if not "%SMI_EXIT%"=="0" set "FALLBACK_EXIT=%errorlevel%"
call "%PY%" -S -m gemma_kit.setup_plan --nvidia-smi-csv "%SMI_CSV%" --nvidia-smi-exit-code %SMI_EXIT% --fallback-csv "%SMI_FALLBACK_CSV%" --fallback-exit-code %FALLBACK_EXIT% --plan-file "%PLAN%"
if errorlevel 1 goto failed
if not exist "%PLAN%" goto failed
for /f "usebackq tokens=1,* delims==" %%A in ("%PLAN%") do set "PLAN_%%A=%%B"
if "%PLAN_outcome%"=="driver_too_old" goto driver_too_old
if "%PLAN_outcome%"=="driver_broken" goto driver_broken

rem pip calls any torch "already satisfied", a CPU build too: setup_check says when it must be replaced.
set "TORCH_ACTION="
for /f %%A in ('call "%PY%" -m gemma_kit.setup_check torch-action --variant %PLAN_variant% --arch %PLAN_gpu_arch%') do set "TORCH_ACTION=%%A"
if "%TORCH_ACTION%"=="keep" goto install_kit
set "FORCE="
if "%TORCH_ACTION%"=="reinstall" set "FORCE=--force-reinstall"
echo Installing PyTorch %PLAN_torch_version% from %PLAN_index_url% ...
call "%PY%" -m pip install %FORCE% "torch==%PLAN_torch_version%" --index-url %PLAN_index_url%
if errorlevel 1 goto failed

:install_kit
rem constraints.txt: the exact versions the test suite ran with.
call "%PY%" -m pip install -c constraints.txt -e .
if errorlevel 1 goto failed
call "%PY%" -m gemma_kit.setup_check verify --outcome %PLAN_outcome% --arch %PLAN_gpu_arch% --driver %PLAN_driver%
if errorlevel 1 goto check_failed
call "%PY%" -m gemma_kit doctor
echo.
echo Done. Next: run download_model.bat
echo Готово. Дальше: запустите download_model.bat
goto end

:no_python
rem Not "if defined ... echo": cmd would end the if at the first ")" of the text.
if not defined WRONG_KIND_PY goto no_python_version
echo Found Python %WRONG_KIND_PY%, but the kit needs the 64-bit Python for x64 (AMD64) Windows: PyTorch has no build for other kinds. On python.org choose "Windows installer (64-bit)".
:no_python_version
if defined OTHER_PY echo Found Python %OTHER_PY%, but the kit needs Python 3.11, 3.12 or 3.13: its libraries do not install on other versions.
if not defined OTHER_PY if not defined WRONG_KIND_PY echo Python 3.11, 3.12 or 3.13 was not found.
echo Нужен Python 3.11, 3.12 или 3.13.
call winget --version >nul 2>&1
if errorlevel 1 goto python_by_hand
set "ANSWER=Y"
set /p "ANSWER=Install Python 3.12 now with winget? [Y/n] "
echo.
if /i "%ANSWER%"=="n" goto python_by_hand
if /i "%ANSWER%"=="no" goto python_by_hand
echo Installing Python 3.12 with winget ...
call winget install --id Python.Python.3.12 --exact --scope user --architecture x64 --accept-package-agreements --accept-source-agreements
set "WINGET_EXIT=%errorlevel%"
rem winget does not change this window's PATH: look where an install puts Python and the launcher. Whatever
rem winget's exit code: it is not 0 when Python 3.12 is already installed, which must not loop.
set "WRONG_KIND_PY="
set "OTHER_PY="
call :probe_known_folders
if not defined BASE_PY call :probe py -3.12
if defined BASE_PY goto have_python
if not "%WINGET_EXIT%"=="0" goto winget_failed
echo Python 3.12 was installed, but this window does not see it yet: close it and run prepare_venv.bat again.
echo Python 3.12 установлен: закройте это окно и запустите prepare_venv.bat снова.
set "RC=1"
goto end

:winget_failed
echo winget could not install Python 3.12: read its messages above.
:python_by_hand
echo Install Python 3.12 from https://www.python.org/downloads/ then run this file again.
echo With the classic installer tick "Add python.exe to PATH"; with the new Python install manager run: py install 3.12
echo Установите Python 3.12 с python.org и запустите этот файл снова.
set "RC=1"
goto end

:driver_too_old
echo.
echo Error: the NVIDIA driver is too old for the PyTorch build this GPU needs, see above.
echo What to do: update the driver from https://www.nvidia.com/Download/index.aspx, restart Windows, then run prepare_venv.bat again.
echo Драйвер NVIDIA устарел: обновите его, перезагрузите Windows и запустите prepare_venv.bat снова.
set "RC=1"
goto end

:driver_broken
echo.
echo Error: the NVIDIA driver does not work, see above. The CPU build of PyTorch was not installed instead.
echo What to do: reinstall the NVIDIA driver from https://www.nvidia.com/Download/index.aspx, restart Windows, then run prepare_venv.bat again.
echo Драйвер NVIDIA не работает: переустановите его, перезагрузите Windows и запустите prepare_venv.bat снова.
set "RC=1"
goto end

:incomplete_folder
echo Error: this folder does not hold the kit's files: scripts\gemma_kit is missing here, in %CD%
echo What to do: if you opened the ZIP, extract it first - right-click it, "Extract All" - and run prepare_venv.bat from the extracted folder.
echo Запускайте из распакованной папки: сначала распакуйте ZIP-архив, правый щелчок - "Извлечь все".
set "RC=1"
goto end

:venv_locked
echo Error: the old .venv folder could not be removed: a program is still using it.
echo What to do: close every window and program started from this folder, then run prepare_venv.bat again.
set "RC=1"
goto end

:check_failed
set "RC=1"
echo.
echo Everything is installed, but the check above failed: read its "Error" and "What to do" lines.
echo Всё установлено, но проверка не прошла: прочитайте строки "Error" и "What to do" выше.
goto end

:failed
set "RC=%errorlevel%"
rem Some failures jump here with errorlevel 0 (a plan file that was not written): still a failure.
if "%RC%"=="0" set "RC=1"
echo.
echo Setting up the environment failed: read the messages above. Check the internet connection and free disk space,
echo then run prepare_venv.bat again. If the same error comes back, delete the .venv folder first.
echo Не удалось подготовить окружение: проверьте интернет и место на диске и запустите prepare_venv.bat снова.

:end
if not defined GEMMA_KIT_NO_PAUSE pause
exit /b %RC%

:probe
rem %* starts a Python. 3.11-3.13 becomes BASE_PY; another version is remembered to name it to the user.
set "PROBE_VER="
set "V_MAJOR="
set "V_MINOR="
rem Only a "Python X.Y.Z" line counts: the Microsoft Store stand-in and a launcher without that version print
rem sentences such as "Python was not found".
for /f "tokens=1,2" %%A in ('call %* -V 2^>nul') do if "%%A"=="Python" set "PROBE_VER=%%B"
if not defined PROBE_VER exit /b 0
for /f "tokens=1 delims=." %%A in ("%PROBE_VER%") do set "V_MAJOR=%%A"
for /f "tokens=2 delims=." %%A in ("%PROBE_VER%") do set "V_MINOR=%%A"
if not "%V_MAJOR%"=="3" if not "%V_MAJOR%"=="2" exit /b 0
if not "%V_MAJOR%"=="3" goto probe_other
if not defined V_MINOR goto probe_other
if %V_MINOR% LSS 11 goto probe_other
if %V_MINOR% GTR 13 goto probe_other
rem pip finds no PyTorch for a 32-bit or an ARM64 Python: venv_check names its kind ("ok" for 64-bit x64).
set "PROBE_KIND="
for /f %%A in ('call %* -S -m gemma_kit.venv_check --interpreter 2^>nul') do set "PROBE_KIND=%%A"
if defined PROBE_KIND if not "%PROBE_KIND%"=="ok" goto probe_wrong_kind
set "BASE_PY=%*"
set "BASE_VER=%PROBE_VER%"
exit /b 0
:probe_other
if not defined OTHER_PY set "OTHER_PY=%PROBE_VER%"
exit /b 0
:probe_wrong_kind
if not defined WRONG_KIND_PY set "WRONG_KIND_PY=%PROBE_VER% (%PROBE_KIND%)"
exit /b 0

:probe_known_folders
for %%V in (312 313 311) do if not defined BASE_PY call :probe "%LOCALAPPDATA%\Programs\Python\Python%%V\python"
for %%V in (312 313 311) do if not defined BASE_PY call :probe "%ProgramFiles%\Python%%V\python"
exit /b 0
