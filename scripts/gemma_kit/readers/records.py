"""Files that are a list of records (a JSON array, an object wrapping one, or JSONL): each record is
recognised by its own keys and handed to its format's reader, so one file may even mix formats.
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from .alpaca import conversation_from_alpaca
from .chatgpt import conversation_from_chatgpt
from .claude_export import conversation_from_claude
from .common import SKIP_UNKNOWN_RECORD, SkipCounter, first_keys_of
from .conversation import Conversation
from .sender_list import conversation_from_sender_record, is_sender_item
from .sharegpt import conversation_from_openai, conversation_from_sharegpt

RECORD_READERS: dict[str, Callable[[dict, str, SkipCounter], Conversation | None]] = {
    "chatgpt": conversation_from_chatgpt,
    "claude": conversation_from_claude,
    "alpaca": conversation_from_alpaca,
    "sharegpt": conversation_from_sharegpt,
    "openai": conversation_from_openai,
    "sender_list": conversation_from_sender_record,
}
SHAREGPT_MESSAGE_KEYS = {"from", "value"}
OPENAI_MESSAGE_KEYS = {"role", "content"}

ChildKeys = Callable[[str], "Collection[str] | None"]


def classify_record_keys(keys: Collection[str], child_keys: ChildKeys) -> str | None:
    """The record format from a record's keys; `child_keys(k)` gives the keys of the first item of list `k`."""
    if "mapping" in keys:
        return "chatgpt"
    if "chat_messages" in keys:
        return "claude"
    if "instruction" in keys and "output" in keys:
        return "alpaca"
    if any(is_sender_item(child_keys(k) or ()) for k in keys):
        return "sender_list"
    if "conversations" in keys and fits(child_keys("conversations"), SHAREGPT_MESSAGE_KEYS):
        return "sharegpt"
    if "messages" in keys and fits(child_keys("messages"), OPENAI_MESSAGE_KEYS):
        return "openai"
    return None


def fits(child: Collection[str] | None, expected: set[str]) -> bool:
    """An empty or unseen list fits; a list of objects fits when they have one of the expected keys."""
    return not child or bool(expected.intersection(child))


def classify_record(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    return classify_record_keys(record.keys(), lambda key: first_item_keys(record.get(key)))


def first_item_keys(value: Any) -> Collection[str] | None:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0].keys()
    return None


def conversation_from_record(record: Any, where: str, counter: SkipCounter) -> tuple[str | None, Conversation | None]:
    """(format, conversation) for one record; a record of no known shape is counted and gives (None, None)."""
    kind = classify_record(record)
    if kind is None:
        counter.read(1)
        keys = ", ".join(first_keys_of(record)) or type(record).__name__
        counter.skip(SKIP_UNKNOWN_RECORD, unit="records", messages=1, where=f"{where} (keys: {keys})")
        return None, None
    return kind, RECORD_READERS[kind](record, where, counter)
