"""Alpaca-style instruction pairs: `{"instruction": ..., "input": ..., "output": ..., "system": ...}`.

`input` (optional) is extra context for the instruction and goes into the same user turn, after a blank
line, as in the Alpaca prompt. An optional `history` list of [question, answer] pairs (a common variant)
becomes earlier turns. One record is one conversation; each of its parts counts as one message.
"""
from __future__ import annotations

from ..core.language import N_
from .common import SkipCounter
from .conversation import Conversation, ConversationBuilder, text_of

SKIP_NO_OUTPUT = N_("Alpaca record with an empty output")
SKIP_BAD_HISTORY = N_("Alpaca history entry that is not a [question, answer] pair")


def conversation_from_alpaca(record: dict, where: str, counter: SkipCounter) -> Conversation | None:
    output = text_of(record.get("output")) or ""
    instruction = user_text_of(record)
    history = record.get("history") if isinstance(record.get("history"), list) else []
    n_messages = 2 + 2 * len(history) + (1 if record.get("system") else 0)
    counter.read(n_messages)
    if not output.strip():
        counter.skip(SKIP_NO_OUTPUT, unit="records", messages=n_messages, where=where)
        return None
    builder = ConversationBuilder(where, counter)
    if record.get("system"):
        builder.add("system", text_of(record["system"]) or "")
    add_history(builder, history, where, counter)
    builder.add("user", instruction)
    builder.add("assistant", output)
    return builder.build()


def user_text_of(record: dict) -> str:
    instruction = (text_of(record.get("instruction")) or "").strip()
    extra = (text_of(record.get("input")) or "").strip()
    return f"{instruction}\n\n{extra}" if instruction and extra else instruction or extra


def add_history(builder: ConversationBuilder, history: list, where: str, counter: SkipCounter) -> None:
    for pair in history:
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            builder.add("user", text_of(pair[0]) or "")
            builder.add("assistant", text_of(pair[1]) or "")
        else:
            counter.skip(SKIP_BAD_HISTORY, count=2, where=where)
