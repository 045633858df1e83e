"""The shape every reader produces (a `Conversation` of `Turn`s) and the book-keeping they share.

Readers know one export format each; everything after them (filters, examples, the split) only sees
conversations whose turns have the roles system / user / assistant. Every message a reader meets is
either kept in a turn or counted in `SkipCounter` with a reason, so the report accounts for all of them.
"""
from __future__ import annotations

import codecs
import json
import re
import signal
import threading
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
SKIP_TOO_DEEP_LINE = "line nested too deeply to be a chat record"
SKIP_ODD_ITEM = "item in an unexpected shape (a damaged or hand-edited export)"
# No chat export nests past ~10 levels. ijson keeps a prefix string per open level, so memory grows with the
# square of the depth (100,000 levels: 22 GB), and `json` recurses once per level: refuse well before either.
MAX_JSON_DEPTH = 512


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
class TooDeep(FileProblem):
    def __init__(self) -> None:
        super().__init__(f"the JSON is nested more than {MAX_JSON_DEPTH} levels deep, which no chat export does "
                         "(a damaged or generated file)")


# Only these bytes can change the nesting depth or whether we are inside a string.
_NOT_STRUCTURAL = bytes(b for b in range(256) if b not in b'"[]{}')
_OPENERS = frozenset(b"[{")
_STRING = re.compile(rb'"[^"]*"')


class NestingGuard:
    """Tracks the JSON nesting depth of a byte stream, chunk by chunk, at C speed for ordinary text.

    Escaped backslashes and quotes are removed first (pairs, left to right, as JSON reads them), so every quote
    left delimits a string; then only quotes and brackets are kept, adjacent quotes are dropped (an empty
    string, or the end of one string and the start of the next: both only ever hold string content), and what
    is still inside quotes is cut out. A file at most 10 levels deep never enters the per-byte loop.
    """

    def __init__(self, limit: int = MAX_JSON_DEPTH):
        self.limit = limit
        self.depth = 0
        self.in_string = False
        self.escape_pending = False  # the previous chunk ended with an unpaired backslash

    def feed(self, data: bytes) -> None:
        if self.escape_pending and data:
            data = data[1:]
            self.escape_pending = False
        if (len(data) - len(data.rstrip(b"\\"))) % 2:
            data = data[:-1]
            self.escape_pending = True
        structural = data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURAL)
        if self.in_string:
            structural = b'"' + structural
        outside = structural.replace(b'""', b"")
        if b'"' in outside:
            outside = _STRING.sub(b"", outside)
        quote = outside.find(b'"')
        self.in_string = quote >= 0
        if quote >= 0:
            outside = outside[:quote]
        opens = outside.count(b"[") + outside.count(b"{")
        if self.depth + opens <= self.limit:
            self.depth += 2 * opens - len(outside)
            return
        for byte in outside:
            self.depth += 1 if byte in _OPENERS else -1
            if self.depth > self.limit:
                raise TooDeep()


def nesting_depth_ok(data: bytes) -> bool:
    guard = NestingGuard()
    try:
        guard.feed(data)
    except TooDeep:
        return False
    return True


class CountingReader:
    """A binary file that counts the bytes handed to the JSON parser (error positions, progress bar) and
    refuses a document nested deeper than MAX_JSON_DEPTH before the parser's memory blows up."""

    def __init__(self, raw: BinaryIO, bar: Any = None, nesting_guard: bool = True):
        self.raw = raw
        self.bar = bar
        self.bytes_read = 0
        self.guard = NestingGuard() if nesting_guard else None  # JSONL lines are checked one by one instead

    def read(self, size: int = -1) -> bytes:
        return self._count(self.raw.read(size))

    def readline(self, size: int = -1) -> bytes:
        return self._count(self.raw.readline(size))

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def _count(self, data: bytes) -> bytes:
        if interrupt_pending():
            return b""  # the parser stops at a clean "end of input"; stream_items then raises KeyboardInterrupt
        if self.guard is not None:
            self.guard.feed(data)
        self.bytes_read += len(data)
        if self.bar is not None and data:
            self.bar.update(len(data))
        return data


@contextmanager
def open_export(path: Path, bar: Any = None, nesting_guard: bool = True) -> Iterator[CountingReader]:
    """Open a JSON/JSONL export as bytes, past a UTF-8 byte-order mark (Windows Notepad writes one)."""
    with open(path, "rb") as raw:
        head = raw.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise FileProblem("the file is saved as UTF-16 text; JSON exports must be UTF-8 "
                              "(PowerShell's `>` does this: save it again as UTF-8)")
        raw.seek(3 if head.startswith(codecs.BOM_UTF8) else 0)
        reader = CountingReader(raw, bar, nesting_guard)
        if bar is not None and head.startswith(codecs.BOM_UTF8):
            bar.update(3)
        yield reader


# ---- Ctrl+C while ijson's C backend builds objects ----------------------------------------------------------
class _Interrupts:
    nesting = 0  # streams open right now (generators interleave, so a count rather than a stack)
    pending = False


def _remember_interrupt(signum: int, frame: Any) -> None:
    _Interrupts.pending = True


def interrupt_pending() -> bool:
    return _Interrupts.pending


def raise_if_interrupted() -> None:
    if _Interrupts.pending:
        _Interrupts.pending = False
        raise KeyboardInterrupt


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl+C back while ijson runs, and deliver it between two items.

    ijson's C backend calls `map_type.__setitem__` (Python code, where Python raises KeyboardInterrupt) and does
    not check the result: the interrupt stays set, the next call into Python fails with "SystemError: ...
    returned a result with an exception set" and the step ended with a traceback instead of "Stopped". Here the
    signal only sets a flag; CountingReader then hands the parser an end of input and stream_items raises
    KeyboardInterrupt in plain Python. Only the main thread may install a handler, and one set by someone else
    (or SIGINT ignored) is left alone.
    """
    if _Interrupts.nesting == 0:
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            yield
            return
        signal.signal(signal.SIGINT, _remember_interrupt)
    _Interrupts.nesting += 1
    try:
        yield
    finally:
        _Interrupts.nesting -= 1
        if _Interrupts.nesting == 0:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise_if_interrupted()


def stream_items(path: Path, prefix: str, bar: Any = None, map_type: type = dict,
                 nesting_guard: bool = True) -> Iterator[Any]:
    """The values at `prefix` (ijson syntax, e.g. "messages.item"), one at a time: RAM stays at one item.

    Every JSON object is built as `map_type` (anything with __setitem__), which may keep only what it needs.
    `nesting_guard=False` only for a stream that trails another, guarded one over the same file.
    """
    with open_export(path, bar, nesting_guard) as f, interrupts_deferred():
        try:
            for item in ijson.items(f, prefix, map_type=map_type, use_float=True):
                raise_if_interrupted()
                yield item
        except ijson.JSONError as e:
            raise_if_interrupted()  # the parser met the end of input CountingReader gave it on Ctrl+C
            raise locate_json_error(path, e, f.bytes_read) from e
        raise_if_interrupted()


def stream_jsonl(path: Path, bar: Any, counter: SkipCounter, label: str) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line; a broken line is counted and skipped, not fatal."""
    with open_export(path, bar, nesting_guard=False) as f:
        for number, raw_line in enumerate(f, start=1):
            if not raw_line.strip():
                continue
            if not nesting_depth_ok(raw_line):  # `json` recurses once per level: check before it does
                counter.read(1)
                counter.skip(SKIP_TOO_DEEP_LINE, unit="lines", messages=1,
                             where=f"{label}, line {number}: nested more than {MAX_JSON_DEPTH} levels deep")
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


def describe_unexpected(error: Exception) -> str:
    """An exception a reader did not foresee, in one short line for the report (--debug shows the traceback)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text[:160]}" if text else type(error).__name__


def first_keys_of(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k in value][:10]
    return []
