"""The shape every reader produces: a `Conversation` of `Turn`s, built message by message.

Readers know one export format each; everything after them (filters, examples, the split) only sees
conversations whose turns have the roles system / user / assistant.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from .common import SKIP_EMPTY, SKIP_LATE_SYSTEM, SkipCounter


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
