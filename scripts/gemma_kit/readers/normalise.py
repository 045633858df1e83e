"""From what the readers produced to dialogs fit for training: [system] user, assistant, user, ... assistant.

Readers already merge consecutive messages from one side and drop empty ones, so "message" below means a
turn (what the model sees). Here each dialog is cut at turns longer than `max_message_length` characters,
trimmed so that it opens with a user turn and ends with a reply, dropped when it has fewer than
`min_dialog_messages` turns, and cut into chunks of `max_dialog_length` turns. Every message removed is
counted in the SkipCounter with its reason. Before the split, a dialog seen twice is dropped, and a lone
dialog gives its last exchanges to the evaluation side.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ..core.language import N_
from .common import Marked, SkipCounter
from .conversation import Conversation, Turn

SKIP_OPENING_REPLY = N_("assistant message opening a dialog (nothing to answer)")
SKIP_UNANSWERED = N_("last message of a dialog got no reply")
SKIP_LONG_MESSAGE = N_("message longer than max_message_length")
SKIP_SHORT_DIALOG = N_("dialog with fewer turns than min_dialog_messages")
SKIP_LONELY_SYSTEM = N_("system prompt without a dialog after it")
SKIP_DUPLICATE_DIALOG = N_("dialog identical to an earlier one (two copies of one export?)")


def normalise_conversations(conversations: Iterable[Conversation], counter: SkipCounter, *,
                            min_dialog_messages: int, max_message_length: int,
                            max_dialog_length: int) -> list[Conversation]:
    kept = []
    for conversation in conversations:
        for part in split_at_long_messages(conversation, max_message_length, counter):
            dialog = trim_to_exchanges(part, counter)
            if dialog is not None and is_long_enough(dialog, min_dialog_messages, counter):
                kept.extend(cut_long_dialog(dialog, max_dialog_length))
    return kept


def split_system(turns: list[Turn]) -> tuple[Turn | None, list[Turn]]:
    if turns and turns[0].role == "system":
        return turns[0], turns[1:]
    return None, turns


def with_system(system: Turn | None, body: list[Turn], first: bool) -> list[Turn]:
    """The system turn heads every piece of a dialog, but its message is accounted for in the first only."""
    if system is None:
        return body
    return [system if first else system._replace(message_count=0), *body]


def split_at_long_messages(conversation: Conversation, max_length: int, counter: SkipCounter) -> list[Conversation]:
    """A too-long message is dropped and the dialog continues as a new piece after it."""
    if max_length <= 0:
        return [conversation]
    system, body = split_system(conversation.turns)
    if system is not None and len(system.content) > max_length:
        counter.skip(SKIP_LONG_MESSAGE, count=system.message_count, where=conversation.source)
        system = None
    pieces: list[list[Turn]] = [[]]
    for turn in body:
        if len(turn.content) > max_length:
            counter.skip(SKIP_LONG_MESSAGE, count=turn.message_count, where=conversation.source)
            pieces.append([])
        else:
            pieces[-1].append(turn)
    pieces = [piece for piece in pieces if piece] or [[]]
    return [Conversation(with_system(system, piece, i == 0), conversation.source, conversation.group)
            for i, piece in enumerate(pieces)]


def trim_to_exchanges(conversation: Conversation, counter: SkipCounter) -> Conversation | None:
    """Drop a reply that opens the dialog and a question left without a reply; None if nothing remains."""
    system, body = split_system(conversation.turns)
    start, end = 0, len(body)
    while start < end and body[start].role != "user":
        counter.skip(SKIP_OPENING_REPLY, count=body[start].message_count, where=conversation.source)
        start += 1
    while end > start and body[end - 1].role != "assistant":
        counter.skip(SKIP_UNANSWERED, count=body[end - 1].message_count, where=conversation.source)
        end -= 1
    if start == end:
        if system is not None and system.message_count:
            counter.skip(SKIP_LONELY_SYSTEM, count=system.message_count, where=conversation.source)
        return None
    return Conversation(with_system(system, body[start:end], True), conversation.source, conversation.group)


def is_long_enough(conversation: Conversation, min_turns: int, counter: SkipCounter) -> bool:
    n_turns = sum(1 for t in conversation.turns if t.role != "system")
    if n_turns >= min_turns:
        return True
    counter.skip(SKIP_SHORT_DIALOG, unit="conversations", messages=conversation.message_count,
                 where=conversation.source)
    return False


def cut_long_dialog(conversation: Conversation, max_turns: int) -> list[Conversation]:
    """Chunks of an even number of turns, so each starts with a user turn and ends with a reply."""
    system, body = split_system(conversation.turns)
    if max_turns <= 0 or len(body) <= max_turns:
        return [conversation]
    size = max(2, max_turns - max_turns % 2)
    return [Conversation(with_system(system, body[i:i + size], i == 0), conversation.source, conversation.group)
            for i in range(0, len(body), size)]


def drop_duplicate_dialogs(conversations: list[Conversation], counter: SkipCounter) -> list[Conversation]:
    """A dialog seen before (the same export twice, under two names) is dropped before the split: otherwise its
    copy could be the evaluation side, identical to what is trained on."""
    kept, seen = [], set()
    for conversation in conversations:
        digest = hashlib.blake2b(digest_size=16)
        for turn in conversation.turns:
            digest.update(f"{turn.role}\0{len(turn.content)}\0{turn.content}".encode("utf-8", "surrogatepass"))
        key = digest.digest()
        if key in seen:
            counter.skip(SKIP_DUPLICATE_DIALOG, unit="conversations", messages=conversation.message_count,
                         where=conversation.source)
            continue
        seen.add(key)
        kept.append(conversation)
    return kept


def hold_out_end_of_single_dialog(conversations: list[Conversation],
                                  eval_fraction: float) -> tuple[list[Conversation], Marked | str]:
    """With one dialog only (one long ChatGPT chat, one Telegram chat without long silences), its last exchanges
    become the evaluation side: whole exchanges, under a group of their own, so no training window reaches them."""
    if len({c.group for c in conversations}) != 1:
        return conversations, ""
    pieces = [split_system(c.turns) for c in conversations]
    n_exchanges = sum(len(body) // 2 for _, body in pieces)
    n_eval = min(n_exchanges - 1, max(1, round(n_exchanges * eval_fraction)))
    held_out, remaining, kept = [], n_eval, list(conversations)
    while remaining:
        system, body = pieces.pop()
        last = kept.pop()
        take = min(remaining, len(body) // 2)
        cut = len(body) - 2 * take
        if cut:
            kept.append(Conversation(last.turns[:len(last.turns) - 2 * take], last.source, last.group))
        # The system prompt heads both sides; its message is accounted for on the training side only.
        head = [system if not cut else system._replace(message_count=0)] if system else []
        held_out.insert(0, Conversation(head + body[cut:], last.source, last.group + 1))
        remaining -= take
    note = Marked(N_("Only one dialog was found, so its last {n_eval} exchange(s) of {n_exchanges} are kept aside to "
                     "check the training (no training example contains them). More chats give a better check."),
                  n_eval=n_eval, n_exchanges=n_exchanges)
    return kept + held_out, note
