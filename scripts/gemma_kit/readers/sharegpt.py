"""ShareGPT (`{"conversations": [{"from": "human", "value": ...}]}`) and OpenAI chat
(`{"messages": [{"role": "user", "content": ...}]}`) records, from a JSON list or JSONL.

Both are the formats people download from the Hugging Face Hub; the role names vary by dataset, so they
are mapped through small tables. Tool and function messages are skipped and counted (they are not chat).
"""
from __future__ import annotations

from typing import Any

from ..core.language import N_
from .common import SKIP_NON_TEXT_PART, SKIP_UNKNOWN_RECORD, SKIP_UNKNOWN_ROLE, SkipCounter
from .conversation import Conversation, ConversationBuilder, text_of

# "from" values seen in ShareGPT datasets (vicuna, openhermes, sharegpt4, slimorca...).
SHAREGPT_ROLES = {
    "human": "user", "user": "user", "prompter": "user",
    "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant", "bing": "assistant", "bard": "assistant",
    "model": "assistant", "claude": "assistant", "bot": "assistant",
    "system": "system",
}
# OpenAI's "developer" role is the newer name of "system".
OPENAI_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}

SKIP_TOOL_CALL = N_("assistant tool call without text")


def listed_messages(record: dict, key: str, where: str, counter: SkipCounter) -> list | None:
    """The record's message list; a record whose list is something else is counted, not a crash."""
    messages = record.get(key) or []
    if isinstance(messages, list):
        return messages
    counter.read(1)
    counter.skip(SKIP_UNKNOWN_RECORD, unit="records", messages=1, where=f"{where}: '{key}' is not a list")
    return None


def conversation_from_sharegpt(record: dict, where: str, counter: SkipCounter) -> Conversation | None:
    messages = listed_messages(record, "conversations", where, counter)
    if messages is None:
        return None
    builder = ConversationBuilder(where, counter)
    if isinstance(record.get("system"), str):  # some ShareGPT sets keep the system prompt beside the turns
        counter.read(1)
        builder.add("system", record["system"])
    counter.read(len(messages))
    for message in messages:
        if not isinstance(message, dict):
            counter.skip(SKIP_UNKNOWN_ROLE, where=where)
            continue
        role = SHAREGPT_ROLES.get(str(message.get("from", "")).lower())
        if role is None:
            counter.skip(SKIP_UNKNOWN_ROLE, where=f"{where}: from={message.get('from')!r}")
            continue
        builder.add(role, text_of(message.get("value")) or "")
    return builder.build()


def conversation_from_openai(record: dict, where: str, counter: SkipCounter) -> Conversation | None:
    messages = listed_messages(record, "messages", where, counter)
    if messages is None:
        return None
    builder = ConversationBuilder(where, counter)
    counter.read(len(messages))
    for message in messages:
        if not isinstance(message, dict):
            counter.skip(SKIP_UNKNOWN_ROLE, where=where)
            continue
        role = OPENAI_ROLES.get(str(message.get("role", "")).lower())
        if role is None:
            counter.skip(SKIP_UNKNOWN_ROLE, where=f"{where}: role={message.get('role')!r}")
            continue
        content = message.get("content")
        if not content and message.get("tool_calls"):
            counter.skip(SKIP_TOOL_CALL, where=where)
            continue
        builder.add(role, text_of_openai_content(content, where, counter))
    return builder.build()


def text_of_openai_content(content: Any, where: str, counter: SkipCounter) -> str:
    """`content` is a string, or a list of parts of which only {"type": "text"} ones are chat text."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and part.get("type", "text") == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        else:
            counter.skip(SKIP_NON_TEXT_PART, unit="parts", where=where)
    return "\n".join(texts)
