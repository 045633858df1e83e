"""A list of messages `{"sender": "User", "userInput": ...}` / `{"sender": "Claude", "claudeOutputText": ...}`.

Browser extensions that save one AI chat write this shape; the assistant's key is named after the bot
(`claudeOutputText`, `chatgptOutputText`, ...), so any key ending in "OutputText" counts as the assistant.
The whole list is one conversation; it may also sit inside an object (`{"messages": [...]}`).
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from ..core.language import N_
from .common import SKIP_ODD_ITEM, SkipCounter, describe_unexpected
from .conversation import Conversation, ConversationBuilder, text_of

USER_TEXT_KEY = "userInput"
ASSISTANT_KEY_SUFFIX = "outputtext"  # compared in lower case
USER_SENDERS = {"user", "human", "me", "you"}
FALLBACK_TEXT_KEYS = ("text", "content", "message")
SKIP_NO_TEXT = N_("message without userInput / ...OutputText text")


def is_sender_item(keys: Collection[str]) -> bool:
    return "sender" in keys and (USER_TEXT_KEY in keys or any(k.lower().endswith(ASSISTANT_KEY_SUFFIX) for k in keys))


def read_sender_list(items: Iterable[Any], where: str, counter: SkipCounter) -> Conversation | None:
    builder = ConversationBuilder(where, counter, joiner="\n\n")
    for item in items:
        counter.read(1)
        try:
            role_text = role_and_text_of(item) if isinstance(item, dict) else None
        except Exception as e:  # noqa: BLE001 - a message in a shape never seen is counted, the list goes on
            counter.skip(SKIP_ODD_ITEM, where=f"{where}: {describe_unexpected(e)}")
            continue
        if role_text is None:
            counter.skip(SKIP_NO_TEXT, where=where)
            continue
        builder.add(*role_text)
    return builder.build()


def role_and_text_of(item: dict) -> tuple[str, str] | None:
    if USER_TEXT_KEY in item:
        text = text_of(item[USER_TEXT_KEY])
        return ("user", text) if text is not None else None
    for key, value in item.items():
        if key.lower().endswith(ASSISTANT_KEY_SUFFIX):
            text = text_of(value)
            return ("assistant", text) if text is not None else None
    role = "user" if str(item.get("sender", "")).lower() in USER_SENDERS else "assistant"
    for key in FALLBACK_TEXT_KEYS:
        text = text_of(item.get(key))
        if text is not None:
            return role, text
    return None


def conversation_from_sender_record(record: dict, where: str, counter: SkipCounter) -> Conversation | None:
    """A record whose list value holds the sender items (e.g. `{"title": ..., "messages": [...]}`)."""
    for value in record.values():
        if is_list_of_sender_items(value):
            return read_sender_list(value, where, counter)
    counter.read(1)
    counter.skip(SKIP_NO_TEXT, where=where)
    return None


def is_list_of_sender_items(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict) and is_sender_item(value[0].keys())
