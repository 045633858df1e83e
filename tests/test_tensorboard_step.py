"""check_tensorboard_runs: TensorBoard starts on the runs, and its notices a user can do nothing about stay away."""
from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from gemma_kit.steps.tensorboard import TENSORFLOW_NOTICE, pass_on_messages

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def test_only_the_tensorflow_notice_is_held_back():
    lines = [TENSORFLOW_NOTICE + "\n", "TensorBoard 2.21.0 at http://127.0.0.1:6006/ (Press CTRL+C to quit)\n",
             "E1207 tensorboard: something real went wrong\n"]
    quiet, verbose = io.StringIO(), io.StringIO()
    pass_on_messages(iter(lines), quiet)
    pass_on_messages(iter(lines), verbose, verbose=True)
    assert quiet.getvalue() == "".join(lines[1:])
    assert verbose.getvalue() == "".join(lines)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_real_tensorboard_starts_without_the_tensorflow_notice_or_the_fast_loading_advisory(tmp_path):
    (tmp_path / "output" / "runs" / "run1").mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(SCRIPTS), "GEMMA_KIT_NO_PROGRESS": "1"}
    kit = subprocess.Popen([sys.executable, "-m", "gemma_kit", "--root", str(tmp_path), "tensorboard", "--no-browser",
                            "--port", str(free_port())], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           encoding="utf-8", env=env, start_new_session=True)
    seen = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = kit.stderr.readline()
            if not line:
                break
            seen.append(line)
            if line.startswith("TensorBoard ") and " at http://127.0.0.1:" in line:
                break
    finally:
        os.killpg(kit.pid, signal.SIGINT)   # Ctrl+C, as the user stops it: the kit then stops TensorBoard
        try:
            kit.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(kit.pid, signal.SIGKILL)
            kit.wait()
    text = "".join(seen)
    assert any(" at http://127.0.0.1:" in line for line in seen), text
    assert TENSORFLOW_NOTICE not in text and "experimental fast data loading" not in text, text
