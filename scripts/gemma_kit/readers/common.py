"""The book-keeping every reader shares: skip reasons and their counts, problems with a whole file, and how an
unexpected error in one item is described.

Every message a reader meets is either kept in a turn (conversation.py) or counted in `SkipCounter` with a
reason, so the report accounts for all of them.
"""
from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..core.language import N_, tr_marked

# Skipped items are counted in one of these units; only "messages" (and the messages inside skipped
# conversations or records) enter the accounting "read = kept + skipped".
UNITS = ("files", "chats", "conversations", "records", "lines", "messages", "parts", "examples")
WARNING_PREFIX = "Warning: "  # a reader's note that the step prints as a warning
EXAMPLES_PER_REASON = 5  # where-it-happened samples kept per skip reason (the report stays small)
SKIP_EMPTY = N_("empty message")
SKIP_LATE_SYSTEM = N_("system message in the middle of a conversation")
SKIP_UNKNOWN_ROLE = N_("message from an unknown role (tool, function...)")
SKIP_UNKNOWN_RECORD = N_("record in an unknown shape")
SKIP_NON_TEXT_PART = N_("image, audio or file part of a message")
SKIP_INVALID_LINE = N_("invalid JSON line")
SKIP_NOT_UTF8_LINE = N_("line that is not UTF-8 text")
SKIP_TOO_DEEP_LINE = N_("line nested too deeply to be a chat record")
SKIP_ODD_ITEM = N_("item in an unexpected shape (a damaged or hand-edited export)")


@dataclass
class SkipReason:
    unit: str
    count: int = 0
    messages: int = 0  # messages lost with these items (0 for parts and duplicate examples)
    examples: list[str] = field(default_factory=list)


class SkipCounter:
    """Counts messages read and everything skipped, by reason; nothing leaves the pipeline unaccounted."""

    def __init__(self) -> None:
        self.messages_read = 0
        self.reasons: dict[str, SkipReason] = {}

    def read(self, n: int = 1) -> None:
        self.messages_read += n

    def skip(self, reason: str, *, unit: str = "messages", count: int = 1, messages: int | None = None,
             where: str = "") -> None:
        if unit not in UNITS:
            raise ValueError(f"unknown skip unit {unit!r}; expected one of {UNITS}")
        entry = self.reasons.get(reason)
        if entry is None:
            entry = self.reasons[reason] = SkipReason(unit)
        if messages is None:
            messages = count if unit == "messages" else 0
        entry.count += count
        entry.messages += messages
        if where and len(entry.examples) < EXAMPLES_PER_REASON:
            entry.examples.append(where)

    def merge(self, other: SkipCounter) -> None:
        self.messages_read += other.messages_read
        for reason, theirs in other.reasons.items():
            ours = self.reasons.setdefault(reason, SkipReason(theirs.unit))
            ours.count += theirs.count
            ours.messages += theirs.messages
            ours.examples.extend(theirs.examples[:EXAMPLES_PER_REASON - len(ours.examples)])

    @property
    def messages_skipped(self) -> int:
        return sum(r.messages for r in self.reasons.values())

    def count_of(self, reason: str) -> int:
        entry = self.reasons.get(reason)
        return entry.count if entry else 0


# ---- words shown later ---------------------------------------------------------------------------------
class Marked(str):
    """English text made of a message marked with N_ and its values, kept to be shown later.

    It is the English text (a str: the dataset report stores it as it is, and code comparing it keeps working);
    `shown()` is the same in the user's language. A value may itself be a Marked text (a reason inside a note).
    """

    message: str
    values: dict[str, Any]
    warning: bool

    def __new__(cls, message: str, *, warning: bool = False, **values: Any) -> Marked:
        english = message.format(**values)
        self = super().__new__(cls, WARNING_PREFIX + english if warning else english)
        self.message, self.values, self.warning = message, values, warning
        return self

    def shown(self) -> str:
        """In the user's language; a warning without its "Warning: " (warn() adds the marker)."""
        return tr_marked(self.message, **{k: translated(v) for k, v in self.values.items()})


def translated(value: Any) -> Any:
    """A Marked text in the user's language; anything else (a file name, a number) as it is."""
    return value.shown() if isinstance(value, Marked) else value


# ---- problems with a whole file -----------------------------------------------------------------------
class FileProblem(Exception):
    """A file that cannot be used; the step warns, records it in the report and carries on with the others."""

    kind = "unreadable"

    def __init__(self, detail: Marked):
        super().__init__(detail)
        self.detail = detail


class UnrecognisedFile(FileProblem):
    kind = "unrecognised"

    def __init__(self, first_keys: list[str], seen: str | Marked = ""):
        self.first_keys = first_keys
        keys: Any = ", ".join(first_keys[:10]) if first_keys else seen or Marked(N_("no keys"))
        super().__init__(Marked(N_("not a chat export this step knows (first keys seen: {keys})"), keys=keys))


class InvalidJson(FileProblem):
    kind = "invalid_json"

    def __init__(self, line: int | None, column: int | None, reason: str):
        self.line, self.column, self.reason = line, column, reason
        if column:
            where = Marked(N_("line {line}, column {column}"), line=line, column=column)
        else:
            where = Marked(N_("around line {line}"), line=line) if line else Marked(N_("somewhere"))
        # `reason` is the JSON parser's own words (English, technical), or a Marked sentence of ours.
        super().__init__(Marked(N_("invalid JSON at {where}: {reason}"), where=where, reason=reason))


class _Debugging:
    show_tracebacks = False  # --debug: the guards that skip an odd file or item also print where it broke


@contextmanager
def tracebacks_shown(enabled: bool) -> Iterator[None]:
    previous, _Debugging.show_tracebacks = _Debugging.show_tracebacks, enabled
    try:
        yield
    finally:
        _Debugging.show_tracebacks = previous


def describe_unexpected(error: Exception) -> str:
    """An exception a reader did not foresee, in one short line for the report (--debug shows the traceback)."""
    if _Debugging.show_tracebacks:
        traceback.print_exception(error)
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text[:160]}" if text else type(error).__name__


def first_keys_of(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k in value][:10]
    return []
