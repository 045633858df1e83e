"""Reading JSON and JSONL exports as streams: past a byte-order mark, with byte counts for the progress bar
and error positions, refusing nesting no export has before the parser's memory or recursion gives out, and
with Ctrl+C delivered between two items (ijson's C backend mishandles it inside its callbacks).
"""
from __future__ import annotations

import codecs
import json
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from ..core.language import N_
from .common import (SKIP_INVALID_LINE, SKIP_NOT_UTF8_LINE, SKIP_TOO_DEEP_LINE, FileProblem, InvalidJson, Marked,
                     SkipCounter)

# No chat export nests past ~10 levels. ijson keeps a prefix string per open level, so memory grows with the
# square of the depth (100,000 levels: 22 GB), and `json` recurses once per level: refuse well before either.
MAX_JSON_DEPTH = 512


# ---- opening files --------------------------------------------------------------------------------------
class TooDeep(FileProblem):
    def __init__(self) -> None:
        super().__init__(Marked(N_("the JSON is nested more than {limit} levels deep, which no chat export does "
                                   "(a damaged or generated file)"), limit=MAX_JSON_DEPTH))


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
            raise FileProblem(Marked(N_("the file is saved as UTF-16 text; JSON exports must be UTF-8 "
                                        "(PowerShell's `>` does this: save it again as UTF-8)")))
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
        except RecursionError:  # nested past Python's limit after the error ijson met: place it by bytes instead
            pass
        except UnicodeDecodeError as e:
            line = path.read_bytes()[:e.start].count(b"\n") + 1
            return InvalidJson(line, None, Marked(N_("the file is not saved as UTF-8 text (an old Windows encoding "
                                                     "such as cp1251?); open it in Notepad and save it with the UTF-8 "
                                                     "encoding")))
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
