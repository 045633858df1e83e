"""Stand-in for `.venv\\Scripts\\python.exe` when a .bat runs under Wine (used by tests/test_bat_wine.py).

The test project's `.venv/Scripts/python.exe` is a two-line shell script that execs this file with the real
venv Python. Wine starts that Linux program when the .bat calls "%PY%", in the Linux path of the batch's
current folder, but cmd neither waits for it nor sees its exit code (measured with Wine 8.0, dev_log
2026-11-22). So this bridge runs the real command, then records what it was given and how it ended in
.venv/bridge_run.json, written last and atomically: the test waits for that file, not for cmd.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

RECORD_NAME = "bridge_run.json"


def run_real_python(argv: list[str], project: Path) -> int:
    # The CLI finds the project from its own package location (the repo); point it at the test copy instead.
    env = dict(os.environ, GEMMA_KIT_ROOT=str(project), PYTHONUTF8="1")
    return subprocess.run([sys.executable, *argv], env=env, stdin=subprocess.DEVNULL).returncode


def write_record(project: Path, record: dict) -> None:
    dest = project / ".venv" / RECORD_NAME
    tmp = dest.with_name(dest.name + ".partial")
    tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, dest)


def main() -> int:
    project = Path.cwd()
    argv = sys.argv[1:]
    exit_code = run_real_python(argv, project)
    sys.stdout.flush()
    write_record(project, {"argv": argv, "cwd": str(project), "exit_code": exit_code})
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
