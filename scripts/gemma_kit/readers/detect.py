"""Recognise a file's format by its shape (never by its name) without loading it whole.

JSONL is recognised from its first two lines. A JSON document is sniffed with ijson's event parser: the
top-level keys, a few top-level values (a Telegram chat's name/type/id, the account owner's user_id) and
the keys of the first item of each list. Sniffing stops as soon as the shape is certain, so a 1 GB
Telegram export costs a few kilobytes here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from ..core.language import N_
from .common import FileProblem, Marked, UnrecognisedFile, first_keys_of
from .json_stream import locate_json_error, nesting_depth_ok, open_export
from .records import classify_record, classify_record_keys
from .sender_list import is_sender_item

FORMAT_LABELS = {
    "telegram_chat": N_("Telegram Desktop export (one chat)"),
    "telegram_account": N_("Telegram Desktop export (full account)"),
    "chatgpt": N_("ChatGPT data export"),
    "claude": N_("Claude.ai data export"),
    "sharegpt": N_("ShareGPT conversations"),
    "openai": N_("OpenAI chat messages"),
    "alpaca": N_("Alpaca instruction pairs"),
    "sender_list": N_("sender/userInput message list"),
}
# Shown with tr_marked (braces doubled for it): the user reads it in their language, the JSON shapes as they are.
EXPECTED_SHAPES = N_(
    "Telegram Desktop export result.json (Export chat history, format JSON); "
    "ChatGPT or Claude.ai data export conversations.json; "
    "ShareGPT ({{\"conversations\": [{{\"from\", \"value\"}}]}}); "
    "OpenAI chat ({{\"messages\": [{{\"role\", \"content\"}}]}}); "
    "Alpaca ({{\"instruction\", \"output\"}}); "
    "a list of {{\"sender\", \"userInput\" / \"claudeOutputText\"}} messages. "
    "Each as .json or .jsonl."
)
JSONL_SUFFIX = " (JSONL)"  # after a format's label: the same records, one per line
TELEGRAM_MESSAGE_KEYS = {"date", "date_unixtime", "from_id"}
SNIFF_MAX_EVENTS = 1_000_000  # ~0.5 s of parsing; past this, a shape we know would have shown itself
JSONL_FIRST_LINE_MAX = 16 * 1024 * 1024  # a longer first line is a minified JSON document, not a JSONL record
SCALAR_EVENTS = {"string", "number", "boolean", "null"}


@dataclass(frozen=True)
class FileShape:
    reader: str  # "telegram_chat", "telegram_account", "records" or "sender_list"
    format: str  # key of FORMAT_LABELS (for records: the first record's format)
    prefix: str | None  # ijson prefix of the items to stream; None for JSONL (one record per line)
    header: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return FORMAT_LABELS[self.format] + (JSONL_SUFFIX if self.prefix is None else "")


@dataclass
class Sniff:
    root: str = ""  # ijson's first event: "start_map", "start_array" or a scalar type
    top_keys: list[str] = field(default_factory=list)
    item_keys: dict[str, list[str]] = field(default_factory=dict)  # first item of each list, by ijson prefix
    header: dict[str, Any] = field(default_factory=dict)  # scalars at depth <= 2 outside lists


def detect_shape(path: Path) -> FileShape:
    """The file's shape, or UnrecognisedFile / InvalidJson / FileProblem saying why it cannot be used."""
    if path.stat().st_size == 0:
        raise FileProblem(Marked(N_("the file is empty")))
    with open_export(path, nesting_guard=False) as f:
        first_record = read_jsonl_first_record(f)
    if first_record is not None:
        return shape_of_jsonl(first_record)
    with open_export(path) as f:
        try:
            sniff, shape = sniff_document(f)
        except ijson.JSONError as e:
            raise locate_json_error(path, e, f.bytes_read) from e
    if shape is None:
        raise unrecognised(sniff)
    return shape


def read_jsonl_first_record(f: BinaryIO) -> dict | None:
    """The first line's object when the file is JSONL (a complete object per line), else None."""
    line = f.readline(JSONL_FIRST_LINE_MAX)
    while line.strip() == b"" and line.endswith(b"\n"):  # blank lines before the first record
        line = f.readline(JSONL_FIRST_LINE_MAX)
    if not line.endswith(b"\n") or not nesting_depth_ok(line):
        return None  # a too-deep line is refused with its reason by the document sniff
    try:
        first = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(first, dict):
        return None
    for next_line in f:
        if next_line.strip():
            return first if next_line.lstrip().startswith(b"{") else None
    return None


def shape_of_jsonl(first_record: dict) -> FileShape:
    kind = classify_record(first_record)
    if kind is None:
        raise UnrecognisedFile(first_keys_of(first_record))
    return FileShape("records", kind, None)


def sniff_document(f: BinaryIO) -> tuple[Sniff, FileShape | None]:
    sniff = Sniff()
    closed: set[str] = set()
    for n, (prefix, event, value) in enumerate(ijson.parse(f, use_float=True)):
        if n == 0:
            sniff.root = event
        if event == "map_key":
            if prefix == "":
                sniff.top_keys.append(value)
            elif is_item_prefix(prefix) and prefix not in closed:
                sniff.item_keys.setdefault(prefix, []).append(value)
        elif event == "end_map" and is_item_prefix(prefix) and prefix not in closed:
            closed.add(prefix)  # the first item of this list is complete: enough to try a decision
            shape = classify_sniff(sniff)
            if shape is not None:
                return sniff, shape
        elif event in SCALAR_EVENTS and is_header_prefix(prefix):
            sniff.header.setdefault(prefix, value)
        if n >= SNIFF_MAX_EVENTS:
            break
    return sniff, classify_sniff(sniff)


def is_item_prefix(prefix: str) -> bool:
    return prefix == "item" or prefix.endswith(".item")


def is_header_prefix(prefix: str) -> bool:
    return prefix.count(".") <= 1 and "item" not in prefix


def classify_sniff(s: Sniff) -> FileShape | None:
    if s.root == "start_array":
        return classify_top_list(s, "item")
    if s.root != "start_map":
        return None
    return classify_telegram(s) or classify_top_record(s) or classify_wrapped_list(s)


def classify_telegram(s: Sniff) -> FileShape | None:
    keys = s.top_keys
    if "chats" in keys and ("personal_information" in keys or "messages" in s.item_keys.get("chats.list.item", ())):
        return FileShape("telegram_account", "telegram_account", "chats.list.item", s.header)
    first_message = s.item_keys.get("messages.item", ())
    if "messages" in keys and TELEGRAM_MESSAGE_KEYS.intersection(first_message):
        return FileShape("telegram_chat", "telegram_chat", "messages.item", s.header)
    return None


def classify_top_record(s: Sniff) -> FileShape | None:
    """The whole document is one record (e.g. a single `{"messages": [...]}` conversation)."""
    kind = classify_record_keys(s.top_keys, lambda key: s.item_keys.get(f"{key}.item"))
    return FileShape("records", kind, "") if kind else None


def classify_wrapped_list(s: Sniff) -> FileShape | None:
    """An object holding the list of records or messages under some key (`{"data": [...]}`)."""
    for key in s.top_keys:
        if f"{key}.item" in s.item_keys:
            shape = classify_top_list(s, f"{key}.item")
            if shape is not None:
                return shape
    return None


def classify_top_list(s: Sniff, prefix: str) -> FileShape | None:
    keys = s.item_keys.get(prefix)
    if not keys:
        return None
    if is_sender_item(keys):
        return FileShape("sender_list", "sender_list", prefix, s.header)
    kind = classify_record_keys(keys, lambda key: s.item_keys.get(f"{prefix}.{key}.item"))
    return FileShape("records", kind, prefix) if kind else None


def unrecognised(s: Sniff) -> UnrecognisedFile:
    if s.root == "start_map":
        return UnrecognisedFile(s.top_keys)
    if s.root == "start_array":
        keys = s.item_keys.get("item")
        return UnrecognisedFile(keys or [], "" if keys else Marked(N_("a list without objects")))
    # ijson's event names a JSON type ("string", "number", "boolean", "null"); it stays as it is.
    return UnrecognisedFile([], Marked(N_("a single {json_type}, not an object or a list"),
                                       json_type=s.root or "value"))
