"""Show the training curves: start TensorBoard on output/runs/ and open it in the browser.

Loss going down on "eval" means the model is learning your style; eval loss rising while train loss keeps
falling means it starts to parrot your chats (the kit keeps the best checkpoints for that reason).
"""
from __future__ import annotations

import subprocess
import sys
import webbrowser

from ..core.console import UserError, say
from ..core.settings import Settings

EPILOG = "Example: gemma-kit tensorboard --port 6006\nStop it with Ctrl+C (or close the window)."


def add_arguments(parser) -> None:
    parser.add_argument("--port", type=int, default=6006, help="local port (default 6006)")
    parser.add_argument("--no-browser", action="store_true", help="do not open the browser")


def tensorboard_command(logdir, port: int) -> list[str]:
    # 127.0.0.1 only: the training logs stay on this computer.
    return [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--port", str(port),
            "--host", "127.0.0.1"]


def run(settings: Settings, args) -> int:
    logdir = settings.path(args.input) if getattr(args, "input", None) else settings.runs_dir
    if not logdir.exists() or not any(logdir.iterdir()):
        raise UserError(f"There are no training runs in {logdir} yet.",
                        "Run finetune_gemma.bat first; its curves appear here while it trains.")
    url = f"http://127.0.0.1:{args.port}/"
    say(f"Starting TensorBoard on {logdir} at {url}  (Ctrl+C to stop)")
    process = subprocess.Popen(tensorboard_command(logdir, args.port))
    if not args.no_browser:
        webbrowser.open(url)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return 0
