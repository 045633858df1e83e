"""What the user sees: plain-language errors, progress bars, and the "what next" line.

Every step raises `UserError` for problems the user can fix; `cli.main` catches it once and prints
"Error: ..." / "What to do: ..." ("Ошибка: ..." / "Что сделать: ...") without a traceback (exit code 1). Our own
bugs stay loud. Callers pass text already in the user's language (`core.language.tr`); the markers are added here.
"""
from __future__ import annotations

import os
import sys
from typing import Iterable, Iterator, TypeVar

from .language import tr

T = TypeVar("T")
_verbose = False


def set_verbose(verbose: bool) -> None:
    """--verbose / --debug: steps print every effective setting, not only the ones that matter to them."""
    global _verbose
    _verbose = verbose


def is_verbose() -> bool:
    return _verbose


class UserError(Exception):
    """A problem the user can fix: `message` says what is wrong, `hint` what to do about it."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{tr('What to do:')} {self.hint}"


def say(text: str = "") -> None:
    print(text, flush=True)


def warn(text: str) -> None:
    print(f"{tr('Warning:')} {text}", file=sys.stderr, flush=True)


def report_error(error: UserError) -> None:
    print(f"{tr('Error:')} {error.message}", file=sys.stderr, flush=True)
    if error.hint:
        print(f"{tr('What to do:')} {error.hint}", file=sys.stderr, flush=True)


def next_step(bat_name: str, command: str) -> None:
    """Every step ends by naming what to run next, for both the double-click and the terminal user."""
    say(tr("Next: run {bat_name}  (or: {command})", bat_name=bat_name, command=command))


def is_interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


# A Russian speaker may answer a yes/no question in Russian; the choices themselves stay the Latin words.
ANSWER_ALIASES = {"да": "yes", "д": "yes", "нет": "no", "н": "no"}


def ask_choice(question: str, choices: list[str], default: str, timeout: float | None = None) -> str:
    """Ask only when a person is there; otherwise take the default and say so (CI has no stdin).

    With `timeout`, a question nobody answers (training finished overnight) takes the default after that many
    seconds instead of blocking the rest of the pipeline."""
    if not is_interactive():
        say(tr("{question} -> using the default '{default}' (no terminal to ask).", question=question,
               default=default))
        return default
    options = "/".join(c.upper() if c == default else c for c in choices)
    suffix = tr(" (default in {seconds} s)", seconds=int(timeout)) if timeout else ""
    while True:
        answer = _read_answer(f"{question} [{options}]{suffix}: ", timeout)
        if answer is None:
            say("\n" + tr("No answer in {seconds} s -> using the default '{default}'.", seconds=int(timeout or 0),
                          default=default))
            return default
        answer = answer.strip().lower()
        answer = ANSWER_ALIASES.get(answer, answer) if ANSWER_ALIASES.get(answer) in choices else answer
        if not answer:
            return default
        if answer in choices:
            return answer
        say(tr("Please answer one of: {choices}", choices=", ".join(choices)))


def _read_answer(prompt: str, timeout: float | None) -> str | None:
    """input() with an optional time limit; a thread, because select() does not work on a Windows console."""
    if timeout is None:
        return input(prompt)
    import threading

    box: list[str] = []

    def read() -> None:
        try:
            box.append(input(prompt))
        except (EOFError, OSError, ValueError):  # stdin closed while waiting: the default applies
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else None


def progress(items: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "it",
             unit_scale: bool = False) -> Iterator[T]:
    """tqdm with a known total (so there is an ETA); silent when GEMMA_KIT_NO_PROGRESS is set."""
    from tqdm.auto import tqdm

    disable = bool(os.environ.get("GEMMA_KIT_NO_PROGRESS"))
    yield from tqdm(items, total=total, desc=desc, unit=unit, unit_scale=unit_scale, disable=disable,
                    dynamic_ncols=True)


def byte_bar(total: int, desc: str):
    """A bytes bar (MB/s and ETA) for writers that report progress by calling `.update(n)`."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                disable=bool(os.environ.get("GEMMA_KIT_NO_PROGRESS")), dynamic_ncols=True)


def human_size(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n_bytes) < 1024 or unit == "GB":
            return f"{n_bytes:.1f} {unit}" if unit != "B" else f"{int(n_bytes)} B"
        n_bytes /= 1024
    return f"{n_bytes:.1f} GB"
