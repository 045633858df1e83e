"""The shape every reader produces (a `Conversation` of `Turn`s) and the book-keeping they share.

Readers know one export format each; everything after them (filters, examples, the split) only sees
conversations whose turns have the roles system / user / assistant. Every message a reader meets is
either kept in a turn or counted in `SkipCounter` with a reason, so the report accounts for all of them.
"""
from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import ijson

# Skipped items are counted in one of these units; only "messages" (and the messages inside skipped
# conversations or records) enter the accounting "read = kept + skipped".
UNITS = ("files", "chats", "conversations", "records", "lines", "messages", "parts", "examples")
WARNING_PREFIX = "Warning: "  # a reader's note that the step prints as a warning
EXAMPLES_PER_REASON = 5  # where-it-happened samples kept per skip reason (the report stays small)
SKIP_EMPTY = "empty message"
SKIP_LATE_SYSTEM = "system message in the middle of a conversation"
SKIP_UNKNOWN_ROLE = "message from an unknown role (tool, function...)"
SKIP_UNKNOWN_RECORD = "record in an unknown shape"
SKIP_NON_TEXT_PART = "image, audio or file part of a message"
SKIP_INVALID_LINE = "invalid JSON line"
SKIP_NOT_UTF8_LINE = "line that is not UTF-8 text"


class Turn(NamedTuple):
    role: str  # "system", "user" or "assistant"
    content: str
    message_count: int = 1  # raw messages merged into this turn, so every message stays accounted for


@dataclass
class Conversation:
    turns: list[Turn]
    source: str  # for people: "dataset/result.json: chat 'Masha', dialog of 2024-03-01T10:00:00"
    group: int = -1  # the dialog this part was cut from; the train/eval split keeps a group on one side

    @property
    def message_count(self) -> int:
        return sum(t.message_count for t in self.turns)


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


class ConversationBuilder:
    """Collects one dialog's messages in order, merging consecutive ones from the same side into one turn."""

    def __init__(self, source: str, counter: SkipCounter, joiner: str = "\n"):
        self.source = source
        self.counter = counter
        self.joiner = joiner
        self.turns: list[Turn] = []
        self._role = ""
        self._parts: list[str] = []

    def add(self, role: str, text: str) -> None:
        text = text.strip()
        if not text:
            self.counter.skip(SKIP_EMPTY, where=self.source)
            return
        if role == "system" and (self.turns or self._role not in ("", "system")):
            # The chat template takes a system prompt only before the first user turn.
            self.counter.skip(SKIP_LATE_SYSTEM, where=self.source)
            return
        if role != self._role:
            self._flush()
            self._role = role
        self._parts.append(text)

    def build(self) -> Conversation | None:
        self._flush()
        return Conversation(self.turns, self.source) if self.turns else None

    def _flush(self) -> None:
        if self._parts:
            self.turns.append(Turn(self._role, self.joiner.join(self._parts), len(self._parts)))
            self._parts = []



def text_of(value: Any) -> str | None:
    """A message body that may be a string, a list of strings and {"text": ...} parts, or missing."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(text_of_part(p) for p in value)
    return None


def text_of_part(part: Any) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and isinstance(part.get("text"), str):
        return part["text"]
    return ""


# ---- problems with a whole file -----------------------------------------------------------------------
class FileProblem(Exception):
    """A file that cannot be used; the step warns, records it in the report and carries on with the others."""

    kind = "unreadable"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class UnrecognisedFile(FileProblem):
    kind = "unrecognised"

    def __init__(self, first_keys: list[str], seen: str = ""):
        self.first_keys = first_keys
        shown = ", ".join(first_keys[:10]) if first_keys else seen or "no keys"
        super().__init__(f"not a chat export this step knows (first keys seen: {shown})")


class InvalidJson(FileProblem):
    kind = "invalid_json"

    def __init__(self, line: int | None, column: int | None, reason: str):
        self.line, self.column, self.reason = line, column, reason
        where = f"line {line}, column {column}" if column else f"around line {line}" if line else "somewhere"
        super().__init__(f"invalid JSON at {where}: {reason}")


# ---- opening files --------------------------------------------------------------------------------------
class CountingReader:
    """A binary file that counts the bytes handed to the JSON parser (error positions, progress bar)."""

    def __init__(self, raw: BinaryIO, bar: Any = None):
        self.raw = raw
        self.bar = bar
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        return self._count(self.raw.read(size))

    def readline(self, size: int = -1) -> bytes:
        return self._count(self.raw.readline(size))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def _count(self, data: bytes) -> bytes:
        self.bytes_read += len(data)
        if self.bar is not None and data:
            self.bar.update(len(data))
        return data


@contextmanager
def open_export(path: Path, bar: Any = None) -> Iterator[CountingReader]:
    """Open a JSON/JSONL export as bytes, past a UTF-8 byte-order mark (Windows Notepad writes one)."""
    with open(path, "rb") as raw:
        head = raw.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise FileProblem("the file is saved as UTF-16 text; JSON exports must be UTF-8 "
                              "(PowerShell's `>` does this: save it again as UTF-8)")
        raw.seek(3 if head.startswith(codecs.BOM_UTF8) else 0)
        reader = CountingReader(raw, bar)
        if bar is not None and head.startswith(codecs.BOM_UTF8):
            bar.update(3)
        yield reader


def stream_items(path: Path, prefix: str, bar: Any = None, map_type: type = dict) -> Iterator[Any]:
    """The values at `prefix` (ijson syntax, e.g. "messages.item"), one at a time: RAM stays at one item.

    Every JSON object is built as `map_type` (anything with __setitem__), which may keep only what it needs.
    """
    with open_export(path, bar) as f:
        try:
            yield from ijson.items(f, prefix, map_type=map_type, use_float=True)
        except ijson.JSONError as e:
            raise locate_json_error(path, e, f.bytes_read) from e


def stream_jsonl(path: Path, bar: Any, counter: SkipCounter, label: str) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line; a broken line is counted and skipped, not fatal."""
    with open_export(path, bar) as f:
        for number, raw_line in enumerate(f, start=1):
            if not raw_line.strip():
                continue
            try:
                yield number, json.loads(raw_line)
            except json.JSONDecodeError as e:
                counter.read(1)
                counter.skip(SKIP_INVALID_LINE, unit="lines", messages=1,
                             where=f"{label}, line {number}, column {e.colno}: {e.msg}")
            except UnicodeDecodeError:
                counter.read(1)
                counter.skip(SKIP_NOT_UTF8_LINE, unit="lines", messages=1, where=f"{label}, line {number}")


# Above this size, re-reading the whole file with `json` to place an error would cost too much RAM.
LOCATE_BY_RELOADING_MAX_BYTES = 64 * 1024 * 1024


def locate_json_error(path: Path, error: Exception, bytes_read: int) -> InvalidJson:
    """Turn ijson's error (which has no line number) into one with the line and column a person can open."""
    raw = error.args[0] if error.args else ""
    reason = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)  # yajl gives bytes or str
    reason = reason.strip().splitlines()[0] if reason.strip() else "the JSON is incomplete"
    if path.stat().st_size <= LOCATE_BY_RELOADING_MAX_BYTES:
        try:
            json.loads(path.read_bytes().decode("utf-8-sig"))
        except json.JSONDecodeError as e:
            return InvalidJson(e.lineno, e.colno, e.msg)
        except UnicodeDecodeError as e:
            line = path.read_bytes()[:e.start].count(b"\n") + 1
            return InvalidJson(line, None, "the file is not saved as UTF-8 text (an old Windows encoding such as "
                                           "cp1251?); open it in Notepad and save it with the UTF-8 encoding")
    return InvalidJson(count_lines(path, bytes_read), None, reason)


def count_lines(path: Path, n_bytes: int) -> int:
    lines = 1
    with open(path, "rb") as f:
        while n_bytes > 0:
            chunk = f.read(min(n_bytes, 1 << 20))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            n_bytes -= len(chunk)
    return lines


def first_keys_of(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k in value][:10]
    return []
