"""Telegram Desktop export (`result.json`, format JSON): one chat, or the whole account (`chats.list`).

The owner's messages (yours) become the assistant side and everyone else's the user side; who the owner
is comes from the settings, the export itself, or a guess, and is always printed with the reason. Only
personal chats are used unless `include_group_chats` is on. Messages are streamed with ijson one at a
time, even inside a full-account export, so RAM grows with the text kept, not with the file or a chat.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from ..core.language import N_
from .common import SKIP_EMPTY, SKIP_ODD_ITEM, Marked, SkipCounter, describe_unexpected
from .conversation import Conversation, ConversationBuilder, text_of
from .detect import FileShape
from .json_stream import stream_items
from .voice import VOICE_MEDIA_TYPES, VoiceBook

# A silence longer than this starts a new dialog. People come back to the same chat after a night or a
# working day with a new topic; an example whose history spans that gap would teach the model to answer
# things said hours earlier. 6 h keeps a lively evening together and splits day from day.
DIALOG_GAP_SECONDS = 6 * 60 * 60
LAST_PLAUSIBLE_TIME = 253_402_300_800  # year 10000: a later date_unixtime is damage, and would cut a dialog

PERSONAL_CHAT_TYPES = {"personal_chat"}
GROUP_CHAT_TYPES = {"private_group", "private_supergroup", "public_supergroup"}
SKIP_GROUP = N_("Telegram group chat (include_group_chats = false)")
SKIP_SAVED = N_("Telegram Saved Messages (notes to yourself)")
SKIP_CHANNEL = N_("Telegram channel")
SKIP_BOT = N_("Telegram chat with a bot")
SKIP_OTHER_CHAT = N_("Telegram chat of another type")
CHAT_TYPE_SKIPS = {"saved_messages": SKIP_SAVED, "private_channel": SKIP_CHANNEL, "public_channel": SKIP_CHANNEL,
                   "bot_chat": SKIP_BOT}
SKIP_SERVICE = N_("Telegram service message (joined, pinned, call...)")
SKIP_MEDIA = N_("voice, video, photo, sticker or file without text")
SKIP_FORWARDED = N_("forwarded message (written by someone else)")
SKIP_LEFT_CHAT = N_("Telegram chat you left (read only when include_group_chats = true)")
LEFT_CHATS_TAIL_BYTES = 1 << 20
MEDIA_KEYS = {"media_type", "photo", "file", "sticker_emoji", "poll", "location_information",
              "contact_information", "game_title", "invoice_information", "place_name"}


@dataclass
class OwnerRule:
    """Decides per sender whether they are the owner; remembers who was taken as the owner, for the printout."""

    why: str  # a Marked text (or "" for a chat skipped whole)
    owner_ids: set[str] = field(default_factory=set)
    owner_name: str = ""  # casefolded display name from the setting
    peer_id: str = ""  # one-chat export: everyone except this chat partner is the owner
    roles: dict[str, str] = field(default_factory=dict)  # from_id -> "user" / "assistant", decided once
    chosen: dict[str, str] = field(default_factory=dict)  # from_id -> display name of owner senders

    def role_of(self, from_id: str, name: Any) -> str:
        if self.peer_id:
            is_owner = from_id != self.peer_id
        else:
            is_owner = from_id in self.owner_ids or bool(
                self.owner_name and isinstance(name, str) and name.casefold() == self.owner_name)
        if is_owner:
            self.chosen.setdefault(from_id, name if isinstance(name, str) else "")
        role = self.roles[from_id] = "assistant" if is_owner else "user"
        return role

    def describe(self) -> Marked:
        who = ", ".join(f"{name} ({from_id})" if name else from_id for from_id, name in self.chosen.items())
        return Marked(N_("{who} — {why}"), who=who or Marked(N_("nobody")), why=self.why)


def read_telegram(path: Path, shape: FileShape, label: str, owner_setting: str, include_group_chats: bool,
                  counter: SkipCounter, notes: list[str], bar: Any = None,
                  voice: VoiceBook | None = None) -> Iterator[Conversation]:
    # Voice messages' audio files sit beside result.json, in the folders the export made.
    voice_place = (voice if voice is not None else VoiceBook(), path.parent)
    chat = {"name": shape.header.get("name"), "type": shape.header.get("type")}
    if shape.reader == "telegram_chat" and skip_reason_for_chat(chat["type"], include_group_chats):
        # Skipped whole: no need to find (and print) an owner for it.
        yield from read_chat(chat, stream_items(path, "messages.item", bar), OwnerRule(""), label,
                             include_group_chats, counter, voice_place)
        return
    owner = choose_owner(path, shape, owner_setting)
    if shape.reader == "telegram_chat":
        yield from read_chat(chat, stream_items(path, "messages.item", bar), owner, label, include_group_chats,
                             counter, voice_place)
    else:
        for chat, messages in chats_of_account(path, "chats", bar):
            yield from read_chat(chat, messages, owner, label, include_group_chats, counter, voice_place)
        yield from read_left_chats(path, owner, label, include_group_chats, counter, notes, voice_place)
    notes.append(Marked(N_("Telegram owner (your side, the assistant) in {label}: {owner}"), label=label,
                        owner=owner.describe()))
    if owner_setting and not owner.chosen:
        notes.append(Marked(N_("telegram_owner = {setting} matched no sender in {label}, so none of its messages "
                               "became assistant replies."), warning=True, setting=repr(owner_setting), label=label))


def read_left_chats(path: Path, owner: OwnerRule, label: str, include_group_chats: bool, counter: SkipCounter,
                    notes: list[str], voice_place: tuple[VoiceBook, Path] | None = None) -> Iterator[Conversation]:
    """Chats you left are groups and channels; reading them costs a second pass, so only when groups are wanted."""
    if not include_group_chats:
        n_chats = 0
        for chat_label, n_messages in left_chat_sizes(path, label):
            n_chats += 1
            counter.read(n_messages)
            counter.skip(SKIP_LEFT_CHAT, unit="chats", messages=n_messages, where=chat_label)
        if n_chats:
            notes.append(Marked(N_("{label}: {n_chats} chat(s) in 'left_chats' (groups and channels you left) are "
                                   "read only when include_group_chats = true."), label=label, n_chats=n_chats))
        return
    for chat, messages in chats_of_account(path, "left_chats"):
        yield from read_chat(chat, messages, owner, label, include_group_chats, counter, voice_place)


def left_chat_sizes(path: Path, label: str) -> Iterator[tuple[str, int]]:
    """(chat label, message count) of each chat in 'left_chats', so their messages are counted, not lost.

    Telegram writes 'left_chats' last. When the end of the file holds all of it, a plain parse of that tail is
    enough; otherwise (or when the tail is not what Telegram writes) a counting pass over the file (~1.8 s per
    200 MB) finds it.
    """
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - LEFT_CHATS_TAIL_BYTES))
        tail = f.read()
    section = left_chats_from_tail(tail)
    if section is None:
        sizes = ((chat.name, len(chat.messages) if isinstance(chat.messages, list) else 0)
                 for chat in stream_items(path, "left_chats.list.item", map_type=ChatSkeleton)
                 if isinstance(chat, ChatSkeleton))
    else:
        sizes = ((chat.get("name"), len(chat.get("messages") or []) if isinstance(chat.get("messages"), list) else 0)
                 for chat in section if isinstance(chat, dict))
    for name, n_messages in sizes:
        yield f"{label}: left chat {str(name or '(no name)')!r}", n_messages


def left_chats_from_tail(tail: bytes) -> list | None:
    """The 'left_chats' list when the tail is `"left_chats": {...}}` (the section, then the end of the file)."""
    key = tail.rfind(b'"left_chats"')
    if key < 0:
        return None
    try:
        text = tail[key:].decode("utf-8")
        colon = re.match(r'"left_chats"\s*:\s*', text)
        section, end = json.JSONDecoder().raw_decode(text, colon.end()) if colon else (None, 0)
    except (ValueError, RecursionError):
        return None
    if not isinstance(section, dict) or not isinstance(section.get("list"), list) or text[end:].strip() != "}":
        return None
    return section["list"]


class ChatSkeleton:
    """What ijson builds for each chat while chats are counted: its name, type and list of messages.

    Every object inside the chat (each message) is built through this class too and keeps at most a type,
    so the largest chat costs ~110 bytes per message here instead of ~2 KB as dicts.
    """

    __slots__ = ("name", "type", "messages")

    def __init__(self) -> None:
        self.name = self.type = self.messages = None

    def __setitem__(self, key: str, value: Any) -> None:
        if key in ("name", "type", "messages"):
            setattr(self, key, value)


def chats_of_account(path: Path, section: str, bar: Any = None) -> Iterator[tuple[dict, Iterator[Any]]]:
    """Each chat's name and type, with its messages streamed one at a time.

    Building whole chats (`{section}.list.item`) would hold the largest chat in RAM at ~4x its JSON size,
    and one chat can be most of a 1 GB export. ijson cannot hand over a chat's header and then stream its
    messages, so two streams walk the file in step: one builds each chat as a ChatSkeleton (to read its
    name and type and count its messages), the other the messages; chat k takes the next `count` messages.
    """
    # The chat stream runs ahead (it yields a chat once it has parsed all of it), so its nesting check covers
    # every byte the messages stream reads after it: checking both would cost 0.8 s more per 200 MB.
    messages = stream_items(path, f"{section}.list.item.messages.item", bar, nesting_guard=False)
    for chat in stream_items(path, f"{section}.list.item", map_type=ChatSkeleton):
        if not isinstance(chat, ChatSkeleton):
            continue  # a damaged list item (a string, a number): it holds no messages to lose
        count = len(chat.messages) if isinstance(chat.messages, list) else 0
        yield {"name": chat.name, "type": chat.type}, islice(messages, count)


def choose_owner(path: Path, shape: FileShape, owner_setting: str) -> OwnerRule:
    """The owner, in this order: the setting, the account's user_id, the non-partner of a personal chat, a guess."""
    setting = owner_setting.strip()
    if setting:
        ids = {f"user{setting}" if setting.isdigit() else setting}
        return OwnerRule(Marked(N_("from the telegram_owner setting")), owner_ids=ids, owner_name=setting.casefold())
    user_id = shape.header.get("personal_information.user_id")
    if shape.reader == "telegram_account" and user_id is not None:
        return OwnerRule(Marked(N_("the account owner of this full export (personal_information.user_id)")),
                         owner_ids={f"user{user_id}"})
    chat_id = shape.header.get("id")
    if shape.reader == "telegram_chat" and shape.header.get("type") == "personal_chat" and chat_id is not None:
        peer = f"user{chat_id}"
        return OwnerRule(Marked(N_("the sender who is not the chat partner {name} ({peer}) in this one-chat export"),
                                name=repr(shape.header.get("name")), peer=peer), peer_id=peer)
    return guess_owner_by_frequency(path, shape)


def guess_owner_by_frequency(path: Path, shape: FileShape) -> OwnerRule:
    prefix = "messages.item.from_id" if shape.reader == "telegram_chat" else "chats.list.item.messages.item.from_id"
    counts = Counter(sender_id(from_id) for from_id in stream_items(path, prefix))
    if not counts:
        return OwnerRule(Marked(N_("no sender found")))
    from_id, n = counts.most_common(1)[0]
    return OwnerRule(Marked(N_("a guess: the most frequent sender ({n:,} of {total:,} messages); set telegram_owner "
                               "in settings.toml if this is not you"), n=n, total=sum(counts.values())),
                     owner_ids={from_id})


def read_chat(chat: dict, messages: Iterable[Any], owner: OwnerRule, label: str, include_group_chats: bool,
              counter: SkipCounter, voice_place: tuple[VoiceBook, Path] | None = None) -> Iterator[Conversation]:
    chat_label = f"{label}: chat {str(chat.get('name') or '(no name)')!r}"
    reason = skip_reason_for_chat(chat.get("type"), include_group_chats)
    if reason:
        n = len(messages) if isinstance(messages, list) else sum(1 for _ in messages)
        counter.read(n)
        counter.skip(reason, unit="chats", messages=n, where=chat_label)
        return
    yield from dialogs_of_chat(messages, owner, chat_label, counter, voice_place)


def skip_reason_for_chat(chat_type: Any, include_group_chats: bool) -> str | None:
    if chat_type is None or chat_type in PERSONAL_CHAT_TYPES:
        return None
    if chat_type in GROUP_CHAT_TYPES:
        return None if include_group_chats else SKIP_GROUP
    return CHAT_TYPE_SKIPS.get(chat_type, SKIP_OTHER_CHAT)


def dialogs_of_chat(messages: Iterable[Any], owner: OwnerRule, chat_label: str, counter: SkipCounter,
                    voice_place: tuple[VoiceBook, Path] | None = None) -> Iterator[Conversation]:
    """The hot loop (one pass per message): skip what is not text, cut at long silences, merge by sender."""
    builder: ConversationBuilder | None = None
    last_time = None
    n_read = 0
    roles = owner.roles
    for m in messages:
        n_read += 1
        text = text_of_message(m)
        if not text and voice_place is not None and is_own_voice_message(m):
            try:
                text, reason = voice_place[0].note(m, voice_place[1], role_in_chat(m, owner),
                                                   where_in_chat(chat_label, m), chat_label)
            except Exception as e:  # noqa: BLE001 - as below: an odd message is counted, the chat goes on
                counter.skip(SKIP_ODD_ITEM, where=f"{where_in_chat(chat_label, m)}: {describe_unexpected(e)}")
                continue
            if reason:
                counter.skip(reason, where=where_in_chat(chat_label, m))
                continue
        if not text or "forwarded_from" in m:
            counter.skip(skip_reason_of(m) if not text else SKIP_FORWARDED, where=where_in_chat(chat_label, m))
            continue
        try:
            when = time_of(m)
            from_id = m.get("from_id") or ""
            if from_id.__class__ is not str:
                from_id = sender_id(from_id)
            role = roles.get(from_id) or owner.role_of(from_id, m.get("from"))
        except Exception as e:  # noqa: BLE001 - a message in a shape never seen is counted, the chat goes on
            counter.skip(SKIP_ODD_ITEM, where=f"{where_in_chat(chat_label, m)}: {describe_unexpected(e)}")
            continue
        if builder is None or (when is not None and last_time is not None and when - last_time > DIALOG_GAP_SECONDS):
            if builder is not None and (conversation := builder.build()):
                yield conversation
            builder = ConversationBuilder(f"{chat_label}, dialog of {m.get('date', '?')}", counter)
        if when is not None:
            last_time = when
        builder.add(role, text)
    counter.read(n_read)
    if builder is not None and (conversation := builder.build()):
        yield conversation


def text_of_message(m: Any) -> str:
    """The text of a chat message; "" for service messages and media without a caption."""
    if not isinstance(m, dict) or m.get("type") != "message":
        return ""
    text = m.get("text")
    return text if text.__class__ is str else text_of(text) or ""


def is_own_voice_message(m: Any) -> bool:
    """A voice or round-video message with no caption, said by its sender (a forwarded one is someone else's)."""
    return (isinstance(m, dict) and m.get("type") == "message" and m.get("media_type") in VOICE_MEDIA_TYPES
            and "forwarded_from" not in m)


def role_in_chat(m: dict, owner: OwnerRule) -> str:
    from_id = sender_id(m.get("from_id") or "")
    return owner.roles.get(from_id) or owner.role_of(from_id, m.get("from"))


def skip_reason_of(m: Any) -> str:
    if not isinstance(m, dict) or m.get("type") != "message":
        return SKIP_SERVICE
    return SKIP_MEDIA if MEDIA_KEYS.intersection(m) else SKIP_EMPTY


def where_in_chat(chat_label: str, m: Any) -> str:
    return f"{chat_label}, message {m.get('id') if isinstance(m, dict) else '?'}"


def sender_id(from_id: Any) -> str:
    """Older Telegram Desktop versions wrote `from_id` as a bare number; today it is "user<number>"."""
    return f"user{from_id}" if isinstance(from_id, int) else str(from_id)


def time_of(m: dict) -> float | None:
    """Seconds since 1970 (`date_unixtime`, or the local `date` of older exports); None if absent or not a time
    (a list, an object, a float out of range in a damaged export: the message stays, only the time is unknown)."""
    try:
        unix = m.get("date_unixtime")
        if isinstance(unix, (str, int, float)) and not isinstance(unix, bool) and unix:
            seconds = int(unix)
            return seconds if 0 <= seconds < LAST_PLAUSIBLE_TIME else None
        date = m.get("date")
        return datetime.fromisoformat(date).timestamp() if isinstance(date, str) else None
    except (ValueError, OverflowError, OSError):
        return None
