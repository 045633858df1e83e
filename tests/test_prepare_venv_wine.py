"""prepare_venv.bat under Wine's cmd with stand-ins for Python, nvidia-smi and winget (issue 17).

The stand-ins are .bat files on the Windows PATH (WINEPATH): a Linux program started by cmd is neither waited
for nor heard (tests/test_bat_wine.py, dev_log 2026-11-22), a .bat started with "call" is both. Each stand-in
appends what it was asked to a record and answers from files this test writes; nothing is installed. The
answers that carry decisions are the real functions' answers on the same inputs: the plan is setup_plan's for
the fake nvidia-smi line, the venv verdict is venv_check's for an equivalent venv, the torch action is
setup_check's for the venv's torch version. So these tests check that the .bat takes the branch those
decisions call for; tests/test_setup_plan.py and tests/test_setup_check.py check the decisions.
"""
from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from gemma_kit.setup_check import torch_action
from gemma_kit.setup_plan import parse_fallback_csv, parse_nvidia_smi_csv, plan_for, plan_lines, problem_of_failed_run
from gemma_kit.venv_check import venv_problem
from test_bat_wine import PAUSE_PROMPT, cmd_errors, make_project, run_bat, wine  # noqa: F401  (fixture)

RTX_4070 = "NVIDIA GeForce RTX 4070, 8.9, 581.57"
GTX_1060 = "NVIDIA GeForce GTX 1060 6GB, 6.1, 566.36"
CONSTRAINED_KIT_INSTALL = "venv -m pip install -c constraints.txt -e ."


def windows_path(path: Path) -> str:
    return "Z:" + str(path).replace("/", "\\")


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def base_python_bat(record: Path, fakes: Path, name: str, versions: list[str], kind: str = "ok") -> str:
    """A py launcher (name "py": `py -3.12 ...` picks a version) or a python.exe of versions[0]; `kind` is what
    venv_check --interpreter says of it ("ok" for 64-bit x64)."""
    lines = ["@echo off", f'>>"{windows_path(record)}" echo {name} %*', 'set "FAKE_VER="']
    if name == "py":
        for v in versions:
            lines.append(f'if "%~1"=="-{".".join(v.split(".")[:2])}" set "FAKE_VER={v}"')
        # Without a version option the launcher runs its default Python; with one it does not have, it fails.
        lines += ["if defined FAKE_VER shift", 'set "ARG1=%~1"', 'if not defined FAKE_VER if "%ARG1:~0,3%"=="-3." '
                  "exit /b 103", f'if not defined FAKE_VER set "FAKE_VER={versions[0]}"']
    else:
        lines.append(f'set "FAKE_VER={versions[0]}"')
    lines += ['if not "%~1"=="-V" goto not_version', "echo Python %FAKE_VER%", "exit /b 0", ":not_version",
              'if "%~1 %~2"=="-m venv" goto make_venv', f'if "%~4"=="--interpreter" echo {kind}',
              'if "%~4"=="--interpreter" exit /b 0', 'if "%~3"=="gemma_kit.venv_check" goto venv_check',
              "exit /b 0", ":make_venv", 'mkdir "%~3\\Scripts" 2>nul',
              f'copy /y "{windows_path(fakes)}\\venv_python.bat" "%~3\\Scripts\\python.bat" >nul',
              '> "%~3\\pyvenv.cfg" echo version = %FAKE_VER%', "exit /b 0", ":venv_check",
              f'type "{windows_path(fakes)}\\venv_check.txt"', "exit /b 0"]
    return "\n".join(lines) + "\n"


def venv_python_bat(record: Path, fakes: Path) -> str:
    f = windows_path(fakes)
    return "\n".join([
        "@echo off", f'>>"{windows_path(record)}" echo venv %*',
        'if "%~1 %~3"=="-S gemma_kit.setup_plan" goto plan', 'if "%~2"=="gemma_kit.setup_check" goto check',
        "exit /b 0",
        ":plan", f'if exist "{f}\\plan.txt" copy /y "{f}\\plan.txt" "%CD%\\.venv\\gemma_kit_setup_plan.txt" >nul',
        "echo PLAN ANSWERED",
        "exit /b 0",
        ":check", f'if "%~3"=="torch-action" type "{f}\\torch_action.txt"',
        'if "%~3"=="verify" echo VERIFIED with CUDA_DEVICE_ORDER=%CUDA_DEVICE_ORDER%', "exit /b 0"]) + "\n"


@dataclass
class Machine:
    project: Path
    fakes: Path
    record: Path

    def calls(self) -> list[str]:
        if not self.record.exists():
            return []
        # Spaces collapsed: an empty %FORCE% leaves two in the pip line, which no program sees.
        return [" ".join(line.split()) for line in self.record.read_text(encoding="utf-8", errors="replace")
                .splitlines()]


def make_machine(tmp_path: Path, *, pythons: dict[str, list[str]], nvidia_smi: str | None, winget: bool,
                 venv_torch: str | None = None, smi_exit: int = 0, smi_fallback: tuple[str, int] = ("", 0),
                 kinds: dict[str, str] | None = None, winget_exit: int = 0) -> Machine:
    """pythons: {"py": [versions], "python": [version]}; kinds: {"py": "32-bit"}. The .venv's torch decides the
    torch action. smi_exit and smi_fallback (answer, exit code of --query-gpu=name,driver_version): how
    nvidia-smi fails."""
    project = make_project(tmp_path, bridge=False)
    root = Path(__file__).resolve().parents[1]
    shutil.copy2(root / "constraints.txt", project / "constraints.txt")
    (project / "scripts" / "gemma_kit").mkdir(parents=True)
    shutil.copy2(root / "scripts" / "gemma_kit" / "setup_plan.py", project / "scripts" / "gemma_kit")
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    record = fakes / "calls.txt"
    for name, versions in pythons.items():
        kind = (kinds or {}).get(name, "ok")
        (fakes / f"{name}.bat").write_bytes(crlf(base_python_bat(record, fakes, name, versions, kind)))
    (fakes / "venv_python.bat").write_bytes(crlf(venv_python_bat(record, fakes)))
    (fakes / "installed_python.bat").write_bytes(crlf(base_python_bat(record, fakes, "installed-python",
                                                                       ["3.12.10"])))
    if nvidia_smi is not None:
        (fakes / "nvidia_smi_answer.txt").write_bytes(crlf(nvidia_smi + "\n"))
        (fakes / "nvidia_smi_fallback.txt").write_bytes(crlf(smi_fallback[0] + "\n"))
        (fakes / "nvidia-smi.bat").write_bytes(crlf(
            f'@echo off\n>>"{windows_path(record)}" echo nvidia-smi %*\n'
            # cmd splits a .bat's arguments at "=" and ",": %3 is the query's second field.
            f'if "%~3"=="driver_version" goto fallback\n'
            f'type "{windows_path(fakes)}\\nvidia_smi_answer.txt"\nexit /b {smi_exit}\n'
            f':fallback\ntype "{windows_path(fakes)}\\nvidia_smi_fallback.txt"\nexit /b {smi_fallback[1]}\n'))
    if winget:
        (fakes / "winget.bat").write_bytes(crlf("\n".join([
            "@echo off", f'>>"{windows_path(record)}" echo winget %*', 'if "%~1"=="--version" echo v1.9.25200',
            'if not "%~1"=="install" exit /b 0', 'mkdir "%LOCALAPPDATA%\\Programs\\Python\\Python312" 2>nul',
            f'copy /y "{windows_path(fakes)}\\installed_python.bat" '
            '"%LOCALAPPDATA%\\Programs\\Python\\Python312\\python.bat" >nul', f"exit /b {winget_exit}"]) + "\n"))
    # The plan setup_plan makes for this nvidia-smi answer, and setup_check's verdict on the venv's torch.
    if smi_exit:
        plan = plan_for([], [], smi_problem=problem_of_failed_run(smi_exit, nvidia_smi), smi_failed=True,
                        fallback=parse_fallback_csv(smi_fallback[0]) if smi_fallback[1] == 0 else [])
    else:
        plan = plan_for(*parse_nvidia_smi_csv(nvidia_smi or ""),
                        smi_problem="" if nvidia_smi is not None else "nvidia-smi is not installed")
    values = plan_lines(plan)
    (fakes / "plan.txt").write_bytes(crlf("".join(f"{k}={v}\n" for k, v in values.items())))
    action = torch_action(venv_torch, values["variant"], values["gpu_arch"], platform="win32")[0]
    (fakes / "torch_action.txt").write_bytes(crlf(action + "\n"))
    (fakes / "venv_check.txt").write_bytes(crlf("ok\n"))
    return Machine(project, fakes, record)


def add_existing_venv(machine: Machine, tmp_path: Path, *, base_python_exists: bool) -> None:
    """A .venv from an earlier run; its verdict is venv_check's on the same venv made here."""
    venv = machine.project / ".venv"
    (venv / "Scripts").mkdir(parents=True)
    shutil.copy2(machine.fakes / "venv_python.bat", venv / "Scripts" / "python.bat")
    (venv / "earlier_run.txt").write_text("from the earlier run")
    twin = tmp_path / "twin" / ".venv"
    (twin / "bin").mkdir(parents=True)
    (twin / "bin" / "python").write_text("")
    base = sys.executable if base_python_exists else str(tmp_path / "Python312 (uninstalled)" / "python.exe")
    cfg = f"home = {Path(base).parent}\nversion = 3.12.7\nexecutable = {base}\ncommand = {base} -m venv {twin}\n"
    (twin / "pyvenv.cfg").write_text(cfg)
    (venv / "pyvenv.cfg").write_text(cfg)
    verdict = "rebuild" if venv_problem(twin) else "ok"
    (machine.fakes / "venv_check.txt").write_bytes(crlf(verdict + "\n"))


@pytest.fixture
def wine_with_fakes(wine):
    """The session's Wine with the stand-ins' folder on PATH; whatever the fake winget "installed" is removed."""
    installed = list((wine.prefix / "drive_c" / "users").glob("*/AppData/Local/Programs/Python"))

    def for_machine(machine: Machine):
        return type(wine)(dict(wine.env, WINEPATH=windows_path(machine.fakes)), wine.prefix)

    yield for_machine
    for folder in (wine.prefix / "drive_c" / "users").glob("*/AppData/Local/Programs/Python"):
        if folder not in installed:
            shutil.rmtree(folder, ignore_errors=True)


def run_prepare(wine_with_fakes, machine: Machine):
    run = run_bat(wine_with_fakes(machine), machine.project, "prepare_venv.bat")
    assert cmd_errors(run.output) == [], run.output
    return run


def assert_installed_with_the_plan(machine: Machine, run, *, index: str, force: bool, plan_arch: str) -> None:
    calls = machine.calls()
    torch = [c for c in calls if '"torch==2.14.1"' in c]
    assert torch == [f'venv -m pip install {"--force-reinstall " if force else ""}"torch==2.14.1" --index-url '
                     f"https://download.pytorch.org/whl/{index}"], calls
    order = [calls.index(c) for c in ("venv -m pip install --upgrade pip", torch[0], CONSTRAINED_KIT_INSTALL)]
    assert order == sorted(order), calls
    assert any(c.startswith("nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader")
               for c in calls), calls
    verify = [c for c in calls if "gemma_kit.setup_check verify" in c]
    assert verify and f"--arch {plan_arch}" in verify[0] and calls[-1] == "venv -m gemma_kit doctor", calls
    assert run.exit_code == 0 and "Done. Next: run download_model.bat" in run.output, run.output
    # verify's cuda:0 is then the GPU the plan chose the build for (nvidia-smi's first), not CUDA's fastest.
    assert "VERIFIED with CUDA_DEVICE_ORDER=PCI_BUS_ID" in run.output, run.output


def test_no_python_offers_winget_installs_3_12_and_continues(wine_with_fakes, tmp_path):
    machine = make_machine(tmp_path, pythons={}, nvidia_smi=GTX_1060, winget=True)
    run = run_prepare(wine_with_fakes, machine)
    assert "Python 3.11, 3.12 or 3.13 was not found." in run.output
    calls = machine.calls()
    assert "winget install --id Python.Python.3.12 --exact --scope user --architecture x64 " \
           "--accept-package-agreements --accept-source-agreements" in calls, calls
    assert any(c.startswith("installed-python -m venv .venv") for c in calls), calls
    assert_installed_with_the_plan(machine, run, index="cu126", force=False, plan_arch="sm_61")
    # The answer nvidia-smi gave is what the plan read.
    assert (machine.project / ".venv" / "nvidia_smi.csv").read_text().strip() == GTX_1060


def test_python_3_10_only_is_named_and_refused(wine_with_fakes, tmp_path):
    machine = make_machine(tmp_path, pythons={"python": ["3.10.11"]}, nvidia_smi=RTX_4070, winget=False)
    run = run_prepare(wine_with_fakes, machine)
    assert "Found Python 3.10.11, but the kit needs Python 3.11, 3.12 or 3.13" in run.output
    assert "Install Python 3.12 from https://www.python.org/downloads/" in run.output
    assert 'tick "Add python.exe to PATH"; with the new Python install manager run: py install 3.12' in run.output
    assert run.exit_code == 1 and not (machine.project / ".venv").exists()
    assert machine.calls() == ["python -V"]


def test_a_store_stand_in_python_is_not_taken_for_a_version(wine_with_fakes, tmp_path):
    """Windows' python.exe alias to the Microsoft Store answers -V with a sentence, not a version."""
    machine = make_machine(tmp_path, pythons={}, nvidia_smi=RTX_4070, winget=False)
    (machine.fakes / "python.bat").write_bytes(crlf(
        f'@echo off\n>>"{windows_path(machine.record)}" echo python %*\n'
        "echo Python was not found; run without arguments to install from the Microsoft Store\nexit /b 9009\n"))
    run = run_prepare(wine_with_fakes, machine)
    assert "Python 3.11, 3.12 or 3.13 was not found." in run.output and "Found Python" not in run.output
    assert run.exit_code == 1 and machine.calls() == ["python -V"]


def test_python_3_12_present_makes_a_venv_and_installs_the_planned_build(wine_with_fakes, tmp_path):
    machine = make_machine(tmp_path, pythons={"py": ["3.10.11", "3.12.7"]}, nvidia_smi=RTX_4070, winget=True)
    run = run_prepare(wine_with_fakes, machine)
    assert "Using Python 3.12.7: py -3.12" in run.output
    calls = machine.calls()
    assert "py -3.12 -m venv .venv" in calls and not any(c.startswith("winget") for c in calls), calls
    assert_installed_with_the_plan(machine, run, index="cu132", force=False, plan_arch="sm_89")


def test_existing_cpu_torch_venv_gets_the_cuda_build_force_reinstalled(wine_with_fakes, tmp_path):
    machine = make_machine(tmp_path, pythons={"py": ["3.12.7"]}, nvidia_smi=RTX_4070, winget=False,
                           venv_torch="2.14.1+cpu")
    add_existing_venv(machine, tmp_path, base_python_exists=True)
    run = run_prepare(wine_with_fakes, machine)
    calls = machine.calls()
    assert "py -3.12 -S -m gemma_kit.venv_check .venv" in calls and "py -3.12 -m venv .venv" not in calls, calls
    assert (machine.project / ".venv" / "earlier_run.txt").exists()  # reused, not rebuilt
    assert_installed_with_the_plan(machine, run, index="cu132", force=True, plan_arch="sm_89")


def test_existing_right_cuda_venv_keeps_its_torch(wine_with_fakes, tmp_path):
    machine = make_machine(tmp_path, pythons={"py": ["3.12.7"]}, nvidia_smi=GTX_1060, winget=False,
                           venv_torch="2.14.1+cu126")
    add_existing_venv(machine, tmp_path, base_python_exists=True)
    run = run_prepare(wine_with_fakes, machine)
    calls = machine.calls()
    assert not any('"torch==' in c for c in calls) and CONSTRAINED_KIT_INSTALL in calls, calls
    assert run.exit_code == 0 and "Done." in run.output, run.output


def test_venv_with_a_missing_base_python_is_rebuilt(wine_with_fakes, tmp_path):
    machine = make_machine(tmp_path, pythons={"py": ["3.12.7"]}, nvidia_smi=RTX_4070, winget=False,
                           venv_torch="2.14.1+cu132")
    add_existing_venv(machine, tmp_path, base_python_exists=False)
    assert (machine.fakes / "venv_check.txt").read_text().strip() == "rebuild"
    run = run_prepare(wine_with_fakes, machine)
    calls = machine.calls()
    check, make = calls.index("py -3.12 -S -m gemma_kit.venv_check .venv"), calls.index("py -3.12 -m venv .venv")
    assert check < make, calls
    assert not (machine.project / ".venv" / "earlier_run.txt").exists()  # the old folder was removed
    # The new venv has no torch yet (the fake's answer still says the old one's): installed as planned.
    assert run.exit_code == 0 and CONSTRAINED_KIT_INSTALL in calls, run.output


def test_a_blackwell_card_on_an_old_driver_stops_before_installing_torch(wine_with_fakes, tmp_path):
    machine = make_machine(tmp_path, pythons={"py": ["3.12.7"]}, nvidia_smi="NVIDIA GeForce RTX 5080, 12.0, 566.36",
                           winget=False)
    run = run_prepare(wine_with_fakes, machine)
    assert run.exit_code == 1 and "Error: the NVIDIA driver is too old" in run.output, run.output
    assert "What to do: update the driver from https://www.nvidia.com/Download/index.aspx" in run.output
    assert not any('"torch==' in c or "-e ." in c for c in machine.calls())
    assert PAUSE_PROMPT not in run.output


def test_run_from_inside_a_zip_says_extract_first(wine_with_fakes, tmp_path):
    """Explorer runs a .bat opened inside a ZIP from a temporary folder that holds only that file."""
    machine = make_machine(tmp_path, pythons={"py": ["3.12.7"]}, nvidia_smi=RTX_4070, winget=True)
    shutil.rmtree(machine.project / "scripts")
    run = run_prepare(wine_with_fakes, machine)
    assert run.exit_code == 1 and "Error: this folder does not hold the kit's files" in run.output, run.output
    assert 'What to do: if you opened the ZIP, extract it first - right-click it, "Extract All"' in run.output
    assert machine.calls() == [] and not (machine.project / ".venv").exists()


def assert_stopped_before_torch(machine: Machine, run, *words: str) -> None:
    assert run.exit_code == 1, run.output
    for w in words:
        assert w in run.output, run.output
    assert not any('"torch==' in c or "-e ." in c for c in machine.calls()), machine.calls()


def smi_exit_codes(plan_call: str) -> tuple[str, str]:
    """The exit codes of the two nvidia-smi queries the .bat passed to setup_plan, as zero / non-zero: under Wine a
    called .bat's `exit /b N` is errorlevel 1 whatever N (measured), on Windows nvidia-smi's own code arrives."""
    words = plan_call.split()
    first, fallback = (words[words.index(flag) + 1] for flag in ("--nvidia-smi-exit-code", "--fallback-exit-code"))
    return tuple("0" if code == "0" else "non-zero" for code in (first, fallback))


def test_an_old_driver_without_compute_cap_stops_instead_of_installing_the_cpu_build(wine_with_fakes, tmp_path):
    machine = make_machine(tmp_path, pythons={"py": ["3.12.7"]}, winget=False, smi_exit=2,
                           nvidia_smi='Field "compute_cap" is not a valid field to query.',
                           smi_fallback=("NVIDIA GeForce GTX 1070, 472.12", 0))
    run = run_prepare(wine_with_fakes, machine)
    assert_stopped_before_torch(machine, run, "Error: the NVIDIA driver is too old",
                                "What to do: update the driver from https://www.nvidia.com/Download/index.aspx")
    calls = machine.calls()
    assert "nvidia-smi --query-gpu=name,driver_version --format=csv,noheader" in calls, calls
    plan = next(c for c in calls if "gemma_kit.setup_plan" in c)
    assert smi_exit_codes(plan) == ("non-zero", "0"), plan
    assert (machine.project / ".venv" / "nvidia_smi_fallback.csv").read_text().strip() == \
        "NVIDIA GeForce GTX 1070, 472.12"


def test_a_broken_driver_stops_with_reinstall_the_driver(wine_with_fakes, tmp_path):
    broken = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    machine = make_machine(tmp_path, pythons={"py": ["3.12.7"]}, winget=False, smi_exit=9, nvidia_smi=broken,
                           smi_fallback=(broken, 9))
    run = run_prepare(wine_with_fakes, machine)
    assert_stopped_before_torch(machine, run, "Error: the NVIDIA driver does not work",
                                "What to do: reinstall the NVIDIA driver from https://www.nvidia.com/Download/")
    plan = next(c for c in machine.calls() if "gemma_kit.setup_plan" in c)
    assert smi_exit_codes(plan) == ("non-zero", "non-zero"), plan
    assert "Done." not in run.output


def test_a_missing_plan_file_fails_with_exit_code_1(wine_with_fakes, tmp_path):
    machine = make_machine(tmp_path, pythons={"py": ["3.12.7"]}, nvidia_smi=RTX_4070, winget=False)
    (machine.fakes / "plan.txt").unlink()  # setup_plan "answered" without writing its file
    run = run_prepare(wine_with_fakes, machine)
    assert_stopped_before_torch(machine, run, "Setting up the environment failed")


def test_a_32_bit_python_is_named_and_refused(wine_with_fakes, tmp_path):
    machine = make_machine(tmp_path, pythons={"py": ["3.12.7"]}, kinds={"py": "32-bit"}, nvidia_smi=RTX_4070,
                           winget=False)
    run = run_prepare(wine_with_fakes, machine)
    assert "Found Python 3.12.7 (32-bit), but the kit needs the 64-bit Python for x64 (AMD64) Windows" in run.output
    assert 'choose "Windows installer (64-bit)"' in run.output and "was not found" not in run.output
    assert run.exit_code == 1 and not (machine.project / ".venv").exists(), run.output
    assert "py -3.12 -S -m gemma_kit.venv_check --interpreter" in machine.calls()


def put_installed_python(wine_with_fakes, machine: Machine) -> None:
    """Python 3.12 where python.org's per-user installer puts it, with neither PATH nor the py launcher."""
    wine = wine_with_fakes(machine)
    users = [u for u in (wine.prefix / "drive_c" / "users").iterdir() if (u / "AppData" / "Local").is_dir()
             and u.name != "Public"]
    folder = users[0] / "AppData" / "Local" / "Programs" / "Python" / "Python312"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(machine.fakes / "installed_python.bat", folder / "python.bat")


def test_a_python_invisible_to_py_and_path_is_found_before_winget(wine_with_fakes, tmp_path):
    machine = make_machine(tmp_path, pythons={}, nvidia_smi=GTX_1060, winget=True)
    put_installed_python(wine_with_fakes, machine)
    run = run_prepare(wine_with_fakes, machine)
    calls = machine.calls()
    assert not any(c.startswith("winget") for c in calls), calls
    assert "Python312\\python" in run.output and "Using Python 3.12.10" in run.output, run.output
    assert_installed_with_the_plan(machine, run, index="cu126", force=False, plan_arch="sm_61")


def test_winget_saying_already_installed_still_finds_the_python(wine_with_fakes, tmp_path):
    """winget's exit code is not 0 for "already installed" (and some other outcomes that leave a Python)."""
    machine = make_machine(tmp_path, pythons={}, nvidia_smi=GTX_1060, winget=True, winget_exit=43)
    run = run_prepare(wine_with_fakes, machine)
    assert "winget could not install" not in run.output, run.output
    assert any(c.startswith("installed-python -m venv .venv") for c in machine.calls()), machine.calls()
    assert_installed_with_the_plan(machine, run, index="cu126", force=False, plan_arch="sm_61")
