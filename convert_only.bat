@echo off
setlocal
chcp 65001 >nul
cd /d "%~dp0"
title Re-run only the GGUF conversion
set "RC=0"
set "PY=.venv\Scripts\python.exe"
if not exist "%PY%" goto no_venv
echo === Re-run only the GGUF conversion / Только конвертация в GGUF ===
"%PY%" -m gemma_kit convert-gguf %*
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
echo To see technical details, run: convert_only.bat --debug
echo If it says "No module named gemma_kit", the folder was moved or renamed: run prepare_venv.bat again.

:end
if not defined GEMMA_KIT_NO_PAUSE pause
exit /b %RC%
