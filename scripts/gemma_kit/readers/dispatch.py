"""Reader dispatch: every export file of the dataset folder handed to its format's reader, each file read whole
before anything of it is kept, and a file that cannot be used recorded as a problem instead of ending the run.

The prepare-dataset step calls `read_exports`; what comes back (`Reading`) is every conversation, the skip
counts and the per-file facts the dataset report lists.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.console import byte_bar, say, warn
from ..core.language import N_, tr, tr_marked
from ..core.paths import show_path
from ..core.settings import Settings
from .common import (SKIP_ODD_ITEM, WARNING_PREFIX, FileProblem, InvalidJson, Marked, SkipCounter,
                     UnrecognisedFile, describe_unexpected, tracebacks_shown, translated)
from .conversation import Conversation
from .detect import EXPECTED_SHAPES, FORMAT_LABELS, FileShape, detect_shape
from .json_stream import stream_items, stream_jsonl
from .records import conversation_from_record
from .sender_list import read_sender_list
from .telegram import read_telegram
from .voice import VoiceBook

SKIP_UNRECOGNISED_FILE = N_("unrecognised file")
SKIP_INVALID_FILE = N_("file with invalid JSON")
SKIP_UNREADABLE_FILE = N_("unreadable file")
PROBLEM_SKIP_REASONS = {"unrecognised": SKIP_UNRECOGNISED_FILE, "invalid_json": SKIP_INVALID_FILE,
                        "unreadable": SKIP_UNREADABLE_FILE}


@dataclass
class Reading:
    """Everything the readers produced, over all files."""

    conversations: list[Conversation] = field(default_factory=list)
    counter: SkipCounter = field(default_factory=SkipCounter)
    files: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # Marked texts: English in the report, shown translated
    voice: VoiceBook = field(default_factory=VoiceBook)


def read_exports(files: list[Path], settings: Settings, voice: VoiceBook | None = None, debug: bool = False,
                 show_notes: bool = True) -> Reading:
    reading = Reading(voice=voice or VoiceBook())
    with byte_bar(sum(p.stat().st_size for p in files), tr("Reading exports")) as bar, tracebacks_shown(debug):
        for path in files:
            label = show_path(path, settings.root)
            try:
                read_one_file(path, label, settings, reading, bar)
            except FileProblem as problem:
                record_problem(reading, label, problem)
            except OSError as e:
                record_problem(reading, label, FileProblem(Marked(N_("could not be read ({reason})"),
                                                                  reason=str(e.strerror or e))))
            except Exception as e:  # noqa: BLE001 - one odd file must never abort the run (issue 19)
                record_problem(reading, label, FileProblem(Marked(
                    N_("has a shape this step did not expect ({error}; --debug shows where)"),
                    error=describe_unexpected(e))))
    # When no file can be used, the step's error lists every problem and the formats it reads: saying them here
    # first would say the same thing twice.
    if reading.files and any(p["problem"] == "unrecognised" for p in reading.problems):
        say(tr("Formats this step reads: {shapes}", shapes=tr_marked(EXPECTED_SHAPES)))
    if show_notes:
        for problem in reading.problems if reading.files else ():
            warn(tr("{path}: {problem}. Skipped this file.", path=problem["path"],
                    problem=translated(problem["detail"])))
        for note in reading.notes:
            print_note(note)
    return reading


def print_note(note: str) -> None:
    if isinstance(note, Marked) and note.warning:
        warn(note.shown())
    elif isinstance(note, Marked):
        say(note.shown())
    elif note.startswith(WARNING_PREFIX):
        warn(note[len(WARNING_PREFIX):])
    else:
        say(note)


def read_one_file(path: Path, label: str, settings: Settings, reading: Reading, bar: Any) -> None:
    """Read a whole file before keeping anything from it, so a file that breaks half-way leaves no trace."""
    shape = detect_shape(path)
    counter, notes, formats, voice = SkipCounter(), [], Counter(), reading.voice.for_one_file()
    conversations = list(conversations_of_file(path, shape, label, settings, counter, notes, formats, bar, voice))
    first_group = len(reading.conversations)
    for i, conversation in enumerate(conversations):
        conversation.group = first_group + i
    reading.conversations.extend(conversations)
    reading.counter.merge(counter)
    reading.voice.merge(voice)
    reading.notes.extend(notes)
    reading.files.append({"path": label, "format": shape.label, "record_formats": dict(formats),
                          "conversations": len(conversations), "messages_read": counter.messages_read})


def conversations_of_file(path: Path, shape: FileShape, label: str, settings: Settings, counter: SkipCounter,
                          notes: list[str], formats: Counter, bar: Any,
                          voice: VoiceBook | None = None) -> Iterator[Conversation]:
    if shape.reader in ("telegram_chat", "telegram_account"):
        yield from read_telegram(path, shape, label, settings.telegram_owner, settings.include_group_chats,
                                 counter, notes, bar, voice)
    elif shape.reader == "sender_list":
        conversation = read_sender_list(stream_items(path, shape.prefix, bar), label, counter)
        if conversation is not None:
            yield conversation
    else:
        yield from conversations_of_records(path, shape, label, counter, formats, bar)


def conversations_of_records(path: Path, shape: FileShape, label: str, counter: SkipCounter, formats: Counter,
                             bar: Any) -> Iterator[Conversation]:
    if shape.prefix is None:
        records = ((f"{label}, line {n}", record) for n, record in stream_jsonl(path, bar, counter, label))
    else:
        items = stream_items(path, shape.prefix, bar)
        records = ((f"{label}, record {n}", record) for n, record in enumerate(items, 1))
    for where, record in records:
        # A record is read into its own counter first, so one that breaks half-way is counted once, whole.
        record_counter = SkipCounter()
        try:
            kind, conversation = conversation_from_record(record, where, record_counter)
        except Exception as e:  # noqa: BLE001 - an odd record is skipped and counted, the file goes on
            counter.read(1)
            counter.skip(SKIP_ODD_ITEM, unit="records", messages=1, where=f"{where}: {describe_unexpected(e)}")
            continue
        counter.merge(record_counter)
        if kind is not None:
            formats[FORMAT_LABELS[kind]] += 1
        if conversation is not None:
            yield conversation


def record_problem(reading: Reading, label: str, problem: FileProblem) -> None:
    entry: dict[str, Any] = {"path": label, "problem": problem.kind, "detail": problem.detail}
    if isinstance(problem, UnrecognisedFile):
        entry["first_keys"] = problem.first_keys
    if isinstance(problem, InvalidJson):
        entry.update(line=problem.line, column=problem.column)
    reading.problems.append(entry)
    reading.counter.skip(PROBLEM_SKIP_REASONS[problem.kind], unit="files", where=f"{label}: {problem.detail}")
