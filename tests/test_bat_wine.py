"""The .bat front door run by a real batch interpreter: Wine's cmd (issue 10).

Static checks (tests/test_bat_files.py) cannot see a ")" that ends an if-block early, a path with spaces
that breaks `cd`, or an errorlevel check that never fires. Here each .bat runs under `wine`, from a temporary
copy of the project in a folder named "Мой проект (копия)" (space, Cyrillic, parentheses: what Explorer's
"copy" gives), started the way a shortcut starts it: `wine <path of the .bat>` with the current folder
elsewhere, so the .bat must find its own folder (`cd /d "%~dp0"`).

What these tests rely on (Wine 8.0, Debian bookworm, measured 2026-11-22, see dev_log.txt):
- `wine X.bat args` runs it like `cmd /c "X.bat" args` and returns the batch's own exit code.
- A Linux program named .venv\\Scripts\\python.exe runs when the .bat calls it, in the Linux path of the
  batch's folder, but cmd neither waits for it nor sees its exit code. tests/wine_bridge/bridge.py runs the
  real `python -m gemma_kit ...` and records argv, folder and exit code; the tests wait for that record.
- A renamed Windows program from the prefix (xcopy.exe, exit code 4 on bad arguments) stands in for a step
  that failed, so the .bat's `if errorlevel 1 goto failed` branch really runs.
- The console garbles Cyrillic output: assert on exit codes, files and ASCII lines only.
- One prefix and one persistent wineserver per session: ~7 s once, then ~0.15 s per .bat run.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from gemma_kit.core.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
BRIDGE = ROOT / "tests" / "wine_bridge" / "bridge.py"
SAMPLE_CHAT = ROOT / "scripts" / "gemma_kit" / "demo_data" / "sample_telegram.json"
PROJECT_FOLDER_NAME = "Мой проект (копия)"
BRIDGE_RECORD = Path(".venv") / "bridge_run.json"
PAUSE_PROMPT = "Press any key to continue"
# How cmd reports a line it could not parse or run (Wine's wording first, then Windows').
CMD_ERROR_MARKERS = ("Can't recognize", "was unexpected at this time", "is not recognized as an internal")
WINE = shutil.which("wine")
WINESERVER = shutil.which("wineserver")
RUN_TIMEOUT_S = 60
BRIDGE_TIMEOUT_S = 120


def load_generator():
    spec = importlib.util.spec_from_file_location("write_bat_files", ROOT / "tools" / "write_bat_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = load_generator()
STEP_COMMANDS = {bat: entry[0] for bat, entry in GENERATOR.STEP_BATS.items()}  # bat -> sub-command
STEP_EXTRA_ARGS = {bat: entry[1].split() for bat, entry in GENERATOR.STEP_BATS.items()}  # fixed flags it adds
ALL_BATS = sorted(GENERATOR.all_bat_files())


@dataclass(frozen=True)
class Wine:
    env: dict[str, str]
    prefix: Path

    def windows_program(self, name: str) -> Path:
        return self.prefix / "drive_c" / "windows" / "system32" / name


@dataclass(frozen=True)
class BatRun:
    exit_code: int  # the batch's own exit code
    output: str  # stdout and stderr of cmd and of everything it started
    bridge: dict | None  # what .venv\Scripts\python.exe was given and how it ended; None = not waited for


def require_wine() -> None:
    if WINE and WINESERVER:
        return
    if os.environ.get("CI"):
        pytest.fail("Wine is not installed, but CI must run the .bat tests: .ci/run installs it (apt-get install wine).")
    pytest.skip("Wine is not installed: `apt-get install wine` to run the .bat files under Wine's cmd "
                "(CI installs it in .ci/run).")


def wine_environment(prefix: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WINE", "GEMMA_KIT_")) and k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(
        WINEPREFIX=str(prefix),
        WINEDEBUG="-all",
        # No Mono/Gecko installer at prefix creation (nothing here needs .NET or HTML).
        WINEDLLOVERRIDES="mscoree=;mshtml=",
        # Wine decodes Unix paths with the locale: under C/POSIX it cannot open the .bat in the Cyrillic folder
        # ('wine: failed to open "/tmp/.../\xd0\x9c...": c0000135', measured). C.UTF-8 exists on every Debian.
        LC_ALL="C.UTF-8",
    )
    # No WINEPATH at all: the Windows PATH is then the prefix's system folders only, so no py or python comes
    # from the machine. WINEPATH="" is worse than absent: it adds an empty PATH entry, and with it Wine 8's cmd
    # runs any unknown command "successfully" (errorlevel 0, no message; measured).
    return env


@pytest.fixture(scope="session")
def wine(tmp_path_factory):
    require_wine()
    prefix = tmp_path_factory.mktemp("wineprefix")
    env = wine_environment(prefix)
    quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # A persistent server: without it every `wine` start pays ~3 s to bring the server and services back.
    # Started with no pipes of ours, so no later run waits on a server holding its output open.
    subprocess.run([WINESERVER, "-p"], env=env, check=True, timeout=60, **quiet)
    try:
        boot = subprocess.run([WINE, "cmd", "/c", "exit", "0"], env=env, timeout=300, **quiet)
        assert boot.returncode == 0, f"creating the Wine prefix {prefix} failed (exit code {boot.returncode})"
        yield Wine(env, prefix)
    finally:
        subprocess.run([WINESERVER, "-k"], env=env, timeout=60, **quiet)  # this prefix's server only
        shutil.rmtree(prefix, ignore_errors=True)


def make_project(parent: Path, *, bridge: bool) -> Path:
    """A copy of the project's front door: the .bat files, settings.toml and an empty dataset/ folder.

    The code itself comes from the venv's editable install; the bridge points it at this copy (GEMMA_KIT_ROOT).
    """
    project = parent / PROJECT_FOLDER_NAME
    (project / "dataset").mkdir(parents=True)
    for name in ALL_BATS:
        shutil.copy2(ROOT / name, project / name)
    shutil.copy2(ROOT / "settings.toml", project / "settings.toml")
    if bridge:
        install_bridge(project)
    return project


def install_bridge(project: Path) -> None:
    exe = project / ".venv" / "Scripts" / "python.exe"
    exe.parent.mkdir(parents=True)
    exe.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(BRIDGE))} "$@"\n')
    exe.chmod(0o755)


def install_failing_python(project: Path, wine: Wine) -> None:
    """A Windows program as .venv\\Scripts\\python.exe: xcopy.exe exits 4 on "-m gemma_kit ..." (bad arguments)."""
    exe = project / ".venv" / "Scripts" / "python.exe"
    exe.parent.mkdir(parents=True)
    shutil.copy2(wine.windows_program("xcopy.exe"), exe)


def run_bat(wine: Wine, project: Path, bat: str, *args: str, pause: bool = False,
            wait_for_bridge: bool = False) -> BatRun:
    env = dict(wine.env)
    if not pause:
        env["GEMMA_KIT_NO_PAUSE"] = "1"
    record = project / BRIDGE_RECORD
    record.unlink(missing_ok=True)
    log = project.parent / f"{bat}.log"
    # The output goes to a file, not a pipe: the bridge outlives cmd and keeps the descriptor open.
    with open(log, "wb") as out:
        done = subprocess.run([WINE, str(project / bat), *args], cwd=project.parent, env=env,
                              stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT_S)
    bridge = wait_for_bridge_record(record, log) if wait_for_bridge else None
    return BatRun(done.returncode, log.read_text(encoding="utf-8", errors="replace"), bridge)


def wait_for_bridge_record(record: Path, log: Path) -> dict:
    deadline = time.monotonic() + BRIDGE_TIMEOUT_S
    while not record.exists():
        if time.monotonic() > deadline:
            output = log.read_text(encoding="utf-8", errors="replace")
            raise AssertionError(f"the .bat never ran .venv\\Scripts\\python.exe to the end "
                                 f"(no {record.name} after {BRIDGE_TIMEOUT_S} s). Output:\n{output}")
        time.sleep(0.05)
    return json.loads(record.read_text(encoding="utf-8"))


def cmd_errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if any(m in line for m in CMD_ERROR_MARKERS)]


def problems_of_no_venv_run(run: BatRun) -> list[str]:
    """Everything wrong with a step .bat run in a project that has no .venv (empty list = as intended)."""
    problems = [f"cmd error: {line}" for line in cmd_errors(run.output)]
    if run.exit_code != 1:
        problems.append(f"exit code {run.exit_code}, expected 1")
    if "The Python environment is not set up yet: run prepare_venv.bat first." not in run.output:
        problems.append("the 'run prepare_venv.bat first' hint is missing")
    if PAUSE_PROMPT not in run.output:
        problems.append("no pause at the end: a double-clicked window would close before it can be read")
    return problems


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("bat", sorted(STEP_COMMANDS))
def test_step_bat_without_venv_says_run_prepare_venv_first_and_pauses(wine, tmp_path, bat):
    project = make_project(tmp_path, bridge=False)
    run = run_bat(wine, project, bat, pause=True)  # stdin is empty: pause prints its prompt and returns
    assert problems_of_no_venv_run(run) == [], run.output


def test_prepare_venv_without_python_explains_how_to_install_it(wine, tmp_path):
    project = make_project(tmp_path, bridge=False)
    (project / "scripts" / "gemma_kit").mkdir(parents=True)  # what prepare_venv.bat checks is extracted
    shutil.copy2(ROOT / "scripts" / "gemma_kit" / "setup_plan.py", project / "scripts" / "gemma_kit")
    # The precondition, checked in the same Wine environment: neither py nor python resolves.
    probe = project / "find_python.bat"
    probe.write_bytes(b'@echo off\r\ncd /d "%~dp0"\r\n'
                      b'py --version >nul 2>&1\r\nif not errorlevel 1 echo FOUND py\r\n'
                      b'python --version >nul 2>&1\r\nif not errorlevel 1 echo FOUND python\r\necho PROBE DONE\r\n')
    found = run_bat(wine, project, probe.name)
    assert "PROBE DONE" in found.output and "FOUND" not in found.output, found.output

    run = run_bat(wine, project, "prepare_venv.bat", pause=True)
    assert cmd_errors(run.output) == [], run.output
    assert run.exit_code == 1, run.output
    assert "Python 3.11, 3.12 or 3.13 was not found." in run.output
    # No winget either (none in a bare prefix): the python.org way, for both of its installers.
    assert "Install Python 3.12 from https://www.python.org/downloads/ then run this file again." in run.output
    assert 'tick "Add python.exe to PATH"; with the new Python install manager run: py install 3.12' in run.output
    assert "Using Python" not in run.output and not (project / ".venv").exists()
    assert PAUSE_PROMPT in run.output


@pytest.mark.parametrize("bat", sorted(STEP_COMMANDS))
def test_step_bat_runs_its_sub_command_from_its_own_folder(wine, tmp_path, bat):
    project = make_project(tmp_path, bridge=True)
    run = run_bat(wine, project, bat, "--help", wait_for_bridge=True)
    command = STEP_COMMANDS[bat]
    assert run.bridge["argv"] == ["-m", "gemma_kit", command, *STEP_EXTRA_ARGS[bat], "--help"], run.output
    assert run.bridge["cwd"] == str(project)  # cd /d "%~dp0" worked although cmd started elsewhere
    assert run.bridge["exit_code"] == 0, run.output
    assert f"usage: gemma-kit {command}" in run.output
    assert run.exit_code == 0 and cmd_errors(run.output) == [], run.output
    assert PAUSE_PROMPT not in run.output  # GEMMA_KIT_NO_PAUSE skips the pause


def test_step_bat_passes_quoted_arguments_through_unchanged(wine, tmp_path):
    project = make_project(tmp_path, bridge=True)
    # No "%" here: Wine's `cmd /c` line drops an unpaired "%" (batch-style expansion), where Windows' command line
    # keeps it; a double-click passes no arguments at all, so that difference is Wine's, not the .bat's.
    args = ["--help", "--set", "run_name=мой запуск", "--input", "dataset\\Чаты (2024)"]
    run = run_bat(wine, project, "finetune_gemma.bat", *args, wait_for_bridge=True)
    assert run.bridge["argv"] == ["-m", "gemma_kit", "finetune", *args], run.output


def test_prepare_dataset_bat_writes_jsonl_from_the_sample_chat(wine, tmp_path):
    project = make_project(tmp_path, bridge=True)
    shutil.copy2(SAMPLE_CHAT, project / "dataset" / SAMPLE_CHAT.name)
    run = run_bat(wine, project, "prepare_dataset.bat", wait_for_bridge=True)
    assert run.bridge["argv"] == ["-m", "gemma_kit", "prepare-dataset"]
    assert run.bridge["exit_code"] == 0, run.output
    settings = load_settings(project)
    train, evaluation = read_jsonl(settings.train_file), read_jsonl(settings.eval_file)
    assert len(train) >= 1 and len(evaluation) >= 1, run.output
    contents = [m["content"] for row in train + evaluation for m in row["messages"]]
    first_message = json.loads(SAMPLE_CHAT.read_text(encoding="utf-8"))["messages"][0]["text"]
    assert first_message in contents  # the Cyrillic text went through the .bat and the bridge intact
    assert "Next: run finetune_gemma.bat" in run.output
    assert run.exit_code == 0 and cmd_errors(run.output) == [], run.output


@pytest.mark.parametrize("bat", sorted(STEP_COMMANDS))
def test_step_bat_reports_a_failed_step_and_keeps_its_exit_code(wine, tmp_path, bat):
    project = make_project(tmp_path, bridge=False)
    install_failing_python(project, wine)
    run = run_bat(wine, project, bat, pause=True)
    assert run.exit_code == 4, run.output  # xcopy's own code, passed on by exit /b %RC%
    assert 'The step stopped with an error: read the "Error" and "What to do" lines above.' in run.output
    assert f"To see technical details, run: {bat} --debug" in run.output
    assert PAUSE_PROMPT in run.output


def break_no_venv_branch(text: str, echo_line: str) -> str:
    """The classic mistake: the no-venv hint moved into an if-block, with a parenthesis inside its echo."""
    flat = 'if not exist "%PY%" goto no_venv\r\n'
    assert flat in text
    return text.replace(flat, f'if not exist "%PY%" (\r\n    {echo_line}\r\n    goto no_venv\r\n)\r\n')


@pytest.mark.parametrize("echo_line, is_broken", [
    ("echo The Python environment is missing (run prepare_venv.bat first).", True),
    ("echo The Python environment is missing ^(run prepare_venv.bat first^).", False),
])
def test_harness_catches_an_unescaped_parenthesis_in_a_block(wine, tmp_path, echo_line, is_broken):
    project = make_project(tmp_path, bridge=False)
    bat = project / "finetune_gemma.bat"
    bat.write_bytes(break_no_venv_branch(bat.read_bytes().decode("utf-8"), echo_line).encode("utf-8"))
    problems = problems_of_no_venv_run(run_bat(wine, project, bat.name, pause=True))
    # The same check that passes on the real .bat fails on the broken copy, and only because of the ")".
    assert bool(problems) == is_broken, problems
