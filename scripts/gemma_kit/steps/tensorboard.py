"""Show the training curves: start TensorBoard on output/runs/ and open it in the browser.

Loss going down on "eval" means the model is learning your style; eval loss rising while train loss keeps
falling means it starts to parrot your chats (the kit keeps the best checkpoints for that reason).
"""
from __future__ import annotations

import subprocess
import sys
import threading
import webbrowser

from ..core.console import UserError, is_verbose, say
from ..core.language import tr
from ..core.settings import Settings

EPILOG = "Example: gemma-kit tensorboard --port 6006\nStop it with Ctrl+C (or close the window)."


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=int, default=6006, help="local port (default 6006)")
    parser.add_argument("--no-browser", action="store_true", help="do not open the browser")


# TensorBoard prints this on every start (tensorboard/main_lib.py `global_init`, a plain print to stderr) when
# TensorFlow is not installed; the kit never installs it and needs none of what it would add.
TENSORFLOW_NOTICE = "TensorFlow installation not found - running with reduced feature set."


def tensorboard_command(logdir, port: int) -> list[str]:
    # 127.0.0.1 only: the training logs stay on this computer. --load_fast=false: the classic loader, which reads
    # a few runs just as well, instead of the "experimental fast data loading" with its advisory on every start.
    return [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--port", str(port),
            "--host", "127.0.0.1", "--load_fast=false"]


def pass_on_messages(lines, out, verbose: bool = False) -> None:
    """TensorBoard's stderr, line by line, to ours: everything except the TensorFlow notice (shown in --verbose),
    so its address line and any real error still reach the user."""
    for line in lines:
        if line.strip() == TENSORFLOW_NOTICE and not verbose:
            continue
        out.write(line)
        out.flush()


def start_tensorboard(command: list[str]) -> subprocess.Popen:
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace")
    threading.Thread(target=pass_on_messages, args=(process.stderr, sys.stderr, is_verbose()), daemon=True).start()
    return process


def run(settings: Settings, args) -> int:
    logdir = settings.path(args.input) if getattr(args, "input", None) else settings.runs_dir
    if not logdir.exists() or not any(logdir.iterdir()):
        raise UserError(tr("There are no training runs in {folder} yet.", folder=logdir),
                        tr("Run finetune_gemma.bat first; its curves appear here while it trains."))
    url = f"http://127.0.0.1:{args.port}/"
    say(tr("Starting TensorBoard on {folder} at {url}  (Ctrl+C to stop)", folder=logdir, url=url))
    process = start_tensorboard(tensorboard_command(logdir, args.port))
    if not args.no_browser:
        webbrowser.open(url)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return 0
