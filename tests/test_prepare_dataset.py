"""prepare-dataset: every export format, the filters, the split, the report and the user's errors.

The fixtures under tests/fixtures/datasets/ are hand-written in each format's real shape, with the edge
cases named in the issue; the expected examples below are what a person reading the fixture would extract.
"""
from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from gemma_kit.cli import main
from gemma_kit.core.settings import Settings
from gemma_kit.readers.alpaca import conversation_from_alpaca
from gemma_kit.readers.common import InvalidJson, SkipCounter, UnrecognisedFile
from gemma_kit.readers.conversation import Conversation, Turn
from gemma_kit.readers.detect import FileShape, detect_shape
from gemma_kit.readers.dispatch import conversations_of_file
from gemma_kit.readers.normalise import normalise_conversations
from gemma_kit.readers.telegram import DIALOG_GAP_SECONDS, OwnerRule, dialogs_of_chat
from gemma_kit.steps.prepare_dataset import check_json_parser

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"
DEMO_SAMPLE = Path(__file__).parents[1] / "scripts" / "gemma_kit" / "demo_data" / "sample_telegram.json"

U, A, S = "user", "assistant", "system"
# What instruct mode must extract from each fixture: each example is the list of (role, content) it holds.
EXPECTED_INSTRUCT = {
    "sender_list/claude_chat.json": [
        [(U, "What is a closure in Python?\n\nA short answer, please."),
         (A, "A function that remembers variables from the scope where it was defined.")],
        [(U, "Example?"), (A, "def make_adder(n):\n    return lambda x: x + n")],
    ],
    "sender_list/wrapped_gemini.json": [
        [(U, "Ideas for a weekend in Lisbon?"),
         (A, "Walk around Alfama, eat pastéis de nata in Belém, take tram 28.")],
        [(U, "And if it rains?"), (A, "The Gulbenkian museum and the Oceanário.")],
    ],
    "alpaca/instructions.json": [
        [(U, "Translate to English\n\nДоброе утро"), (A, "Good morning")],
        [(U, "Name three primary colours."), (A, "Red, yellow and blue.")],
        [(S, "You answer like a pirate."), (U, "Where is the treasure?"), (A, "Arr, under the old oak!")],
        [(U, "Name three primary colours."), (A, "Red, yellow and blue.")],  # the duplicate record
    ],
    "alpaca/instructions.jsonl": [
        [(U, "Capital of France?"), (A, "Paris.")],
        [(U, "2 + 2?"), (A, "4")],
        [(U, "Opposite of hot?\n\nOne word."), (A, "Cold.")],
    ],
    "claude/conversations.json": [
        [(U, "How long should sourdough proof?"),
         (A, "Usually 4 to 12 hours at room temperature.\n\nColder kitchens need longer.")],
        [(U, "Thanks! And in the fridge?"), (A, "Overnight works: 12 to 16 hours.")],
        [(U, "Write a haiku about rain\n\nPlease?"),
         (A, "Soft rain on the roof,\nthe kettle sings in the hall,\nboots dry by the door.")],
    ],
    "chatgpt/conversations.json": [
        [(U, "How much salt for pasta water?"), (A, "About 10 g per litre.")],
        [(U, "And for 3 litres?"), (A, "30 g, about two tablespoons.")],
        [(U, "What does this chart show?"), (A, "Sales doubled from 2022 to 2023.")],
    ],
    "sharegpt/sharegpt.json": [
        [(S, "You are a helpful tutor."), (U, "What is 7 x 8?"), (A, "56.")],
        [(S, "You are a helpful tutor."), (U, "And 7 x 9?"), (A, "63.")],
        [(U, "Call the weather tool"), (A, "It is 20 °C.")],
        [(S, "Answer in French."), (U, "Hello"), (A, "Bonjour")],
    ],
    "openai/chat.jsonl": [
        [(S, "Be brief."), (U, "Describe this picture"), (A, "A cat on a sofa.")],
        [(U, "What's the weather in Oslo?"), (A, "3 °C and cloudy.")],
        [(S, "Be nice."), (U, "hi"), (A, "hello")],
        [(S, "Be nice."), (U, "bye"), (A, "bye!")],
    ],
    "openai/single_conversation.json": [[(U, "Ping?"), (A, "Pong.")]],
    "telegram_chat/result.json": [
        [(U, "hi Ann!\nare you free tonight?"), (A, "Yes, after 7!")],
        [(U, "great, cinema?"), (A, "Sure 🎬")],
        [(U, "look at this view\nloved it"), (A, "me too")],
    ],
    "telegram_account/result.json": [
        [(U, "ping"), (A, "pong")],
        [(U, "lunch?"), (A, "yes, 1pm")],
        [(U, "happy birthday!"), (A, "thank you!! 🥳")],
    ],
    "telegram_group/result.json": [],  # a group chat: skipped unless include_group_chats
}
# Messages in each fixture, counted by hand (Alpaca: a record's parts; JSONL: a broken line counts as one).
MESSAGES_IN_FIXTURE = {
    "sender_list/claude_chat.json": 7, "sender_list/wrapped_gemini.json": 4, "alpaca/instructions.json": 11,
    "alpaca/instructions.jsonl": 7, "claude/conversations.json": 8, "chatgpt/conversations.json": 13,
    "sharegpt/sharegpt.json": 12, "openai/chat.jsonl": 13, "openai/single_conversation.json": 2,
    "telegram_chat/result.json": 14, "telegram_account/result.json": 15, "telegram_group/result.json": 8,
}
GOOD_FIXTURES = list(EXPECTED_INSTRUCT)


# ---- helpers ------------------------------------------------------------------------------------------------
def read_fixture(rel: str, **changes) -> tuple[list[Conversation], SkipCounter, list[str]]:
    path = FIXTURES / rel
    counter, notes = SkipCounter(), []
    conversations = list(conversations_of_file(path, detect_shape(path), rel, Settings(**changes), counter, notes,
                                               Counter(), None))
    return conversations, counter, notes


def turns_of(conversation: Conversation) -> list[tuple[str, str]]:
    return [(t.role, t.content) for t in conversation.turns]


def instruct_pairs(conversations: list[Conversation]) -> list[list[tuple[str, str]]]:
    """What instruct mode makes of clean conversations (the reference the step is compared with)."""
    examples = []
    for conversation in normalise_conversations(conversations, SkipCounter(), min_dialog_messages=2,
                                                max_message_length=0, max_dialog_length=0):
        turns = turns_of(conversation)
        system = [turns[0]] if turns[0][0] == S else []
        body = turns[len(system):]
        examples += [system + body[i:i + 2] for i in range(0, len(body), 2)]
    return examples


def make_project(tmp_path: Path, *fixtures: str, settings: str = "") -> Path:
    for rel in fixtures:
        dest = tmp_path / "dataset" / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / rel, dest)
    if settings:
        (tmp_path / "settings.toml").write_text(settings, encoding="utf-8")
    return tmp_path


def run_step(tmp_path: Path, capsys, *extra: str) -> tuple[int, str, str]:
    code = main(["--root", str(tmp_path), "prepare-dataset", *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_examples(path: Path) -> list[list[tuple[str, str]]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [[(m["role"], m["content"]) for m in json.loads(line)["messages"]] for line in lines]


def read_report(root: Path) -> dict:
    return json.loads((root / "data" / "dataset_report.json").read_text(encoding="utf-8"))


def telegram_chat_export(dialogs: list[list[str]], gap: int = DIALOG_GAP_SECONDS + 3600) -> dict:
    """A one-chat export; each dialog alternates friend, owner, ... and dialogs are `gap` seconds apart."""
    messages, clock = [], 1_700_000_000
    for dialog in dialogs:
        for i, text in enumerate(dialog):
            clock += 30
            who = ("Masha", "user222") if i % 2 == 0 else ("Alex", "user111")
            messages.append({"id": len(messages) + 1, "type": "message", "date": "2024-01-01T00:00:00",
                             "date_unixtime": str(clock), "from": who[0], "from_id": who[1], "text": text})
        clock += gap
    return {"name": "Masha", "type": "personal_chat", "id": 222, "messages": messages}


def write_json(path: Path, value) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return path


# ---- shape detection ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rel, label", [
    ("sender_list/claude_chat.json", "sender/userInput message list"),
    ("sender_list/wrapped_gemini.json", "sender/userInput message list"),
    ("alpaca/instructions.json", "Alpaca instruction pairs"),
    ("alpaca/instructions.jsonl", "Alpaca instruction pairs (JSONL)"),
    ("claude/conversations.json", "Claude.ai data export"),
    ("chatgpt/conversations.json", "ChatGPT data export"),
    ("sharegpt/sharegpt.json", "ShareGPT conversations"),
    ("openai/chat.jsonl", "OpenAI chat messages (JSONL)"),
    ("openai/single_conversation.json", "OpenAI chat messages"),
    ("telegram_chat/result.json", "Telegram Desktop export (one chat)"),
    ("telegram_account/result.json", "Telegram Desktop export (full account)"),
    ("telegram_group/result.json", "Telegram Desktop export (one chat)"),
])
def test_detect_shape_recognises_each_format_by_shape(rel, label, tmp_path):
    renamed = tmp_path / "export.json"  # never by file name
    shutil.copy(FIXTURES / rel, renamed)
    assert detect_shape(renamed).label == label


def test_detect_shape_takes_jsonl_with_blank_lines_and_a_json_list_on_one_line(tmp_path):
    (tmp_path / "a.jsonl").write_text('\n\n{"instruction": "q", "output": "a"}\n\n{"instruction": "q2", "output": "a2"}\n')
    (tmp_path / "b.json").write_text('[{"instruction": "q", "output": "a"}, {"instruction": "q2", "output": "a2"}]\n')
    assert detect_shape(tmp_path / "a.jsonl") == FileShape("records", "alpaca", None)
    assert detect_shape(tmp_path / "b.json") == FileShape("records", "alpaca", "item")


def test_detect_shape_reads_only_the_head_of_a_large_export(tmp_path):
    # The tail is not JSON at all: detection must decide from the first messages and never get there.
    head = json.dumps(telegram_chat_export([["hi", "hello"]]))[:-2]
    path = tmp_path / "result.json"
    path.write_text(head + ", {broken tail" + " " * 5_000_000, encoding="utf-8")
    shape = detect_shape(path)
    assert shape == FileShape("telegram_chat", "telegram_chat", "messages.item",
                              {"name": "Masha", "type": "personal_chat", "id": 222})


def test_detect_shape_names_the_first_keys_of_an_unknown_file():
    with pytest.raises(UnrecognisedFile) as error:
        detect_shape(FIXTURES / "bad" / "unrecognised.json")
    assert error.value.first_keys == ["users", "settings", "version"]
    assert error.value.detail == "not a chat export this step knows (first keys seen: users, settings, version)"


def test_detect_shape_gives_line_and_column_of_invalid_json(tmp_path):
    path = tmp_path / "result.json"
    path.write_text('{\n "name": "x",\n "type" "personal_chat"\n}', encoding="utf-8")
    with pytest.raises(InvalidJson) as error:
        detect_shape(path)
    assert (error.value.line, error.value.column) == (3, 9)
    assert error.value.detail == "invalid JSON at line 3, column 9: Expecting ':' delimiter"


def test_detect_shape_accepts_a_utf8_bom_and_explains_utf16(tmp_path):
    text = (FIXTURES / "openai" / "single_conversation.json").read_text(encoding="utf-8")
    (tmp_path / "bom.json").write_bytes(text.encode("utf-8-sig"))
    (tmp_path / "utf16.json").write_bytes(text.encode("utf-16"))
    assert detect_shape(tmp_path / "bom.json").format == "openai"
    with pytest.raises(Exception, match="UTF-16"):
        detect_shape(tmp_path / "utf16.json")


# ---- each reader: the exact pairs, and every message accounted for ---------------------------------------------------
@pytest.mark.parametrize("rel", GOOD_FIXTURES)
def test_reader_extracts_the_expected_pairs(rel):
    conversations, _, _ = read_fixture(rel)
    assert instruct_pairs(conversations) == EXPECTED_INSTRUCT[rel]


@pytest.mark.parametrize("rel", GOOD_FIXTURES)
def test_reader_accounts_for_every_message(rel):
    conversations, counter, _ = read_fixture(rel)
    kept = sum(c.message_count for c in conversations)
    assert counter.messages_read == MESSAGES_IN_FIXTURE[rel]
    assert kept + counter.messages_skipped == MESSAGES_IN_FIXTURE[rel]


def test_sender_list_merges_consecutive_messages_and_counts_the_rest():
    conversations, counter, _ = read_fixture("sender_list/claude_chat.json")
    assert [t.message_count for t in conversations[0].turns] == [2, 1, 1, 1]
    assert {r: e.count for r, e in counter.reasons.items()} == {
        "empty message": 1, "message without userInput / ...OutputText text": 1}


def test_alpaca_history_becomes_earlier_turns_and_a_bad_entry_is_counted():
    counter = SkipCounter()
    record = {"instruction": "q2", "output": "a2", "history": [["q1", "a1"], "not a pair"]}
    conversation = conversation_from_alpaca(record, "r", counter)
    assert turns_of(conversation) == [(U, "q1"), (A, "a1"), (U, "q2"), (A, "a2")]
    assert counter.messages_read == 6
    assert counter.reasons["Alpaca history entry that is not a [question, answer] pair"].messages == 2


def test_claude_reads_text_blocks_only_and_counts_thinking_and_tools():
    conversations, counter, _ = read_fixture("claude/conversations.json")
    # m-4's top-level "text" carries thinking; the content blocks win.
    assert turns_of(conversations[0])[3] == (A, "Overnight works: 12 to 16 hours.")
    # m-3 has no content blocks: its "text" is used.
    assert turns_of(conversations[0])[2] == (U, "Thanks! And in the fridge?")
    assert {r: (e.unit, e.count) for r, e in counter.reasons.items()} == {
        "Claude thinking block (not part of the reply)": ("parts", 2),
        "Claude attachment or file (only the chat text is used)": ("parts", 1),
        "Claude tool use or tool result block": ("parts", 2),
        "empty message": ("messages", 1),
    }


def test_chatgpt_follows_the_branch_ending_at_current_node():
    conversations, counter, _ = read_fixture("chatgpt/conversations.json")
    assert turns_of(conversations[0]) == [(U, "How much salt for pasta water?"), (A, "About 10 g per litre."),
                                         (U, "And for 3 litres?"), (A, "30 g, about two tablespoons.")]
    assert counter.count_of("ChatGPT message on an abandoned branch (edited or regenerated)") == 2


def test_chatgpt_skips_system_tool_and_empty_nodes_and_non_text_parts():
    conversations, counter, _ = read_fixture("chatgpt/conversations.json")
    assert turns_of(conversations[1]) == [(U, "What does this chart show?"),
                                         (A, "Sales doubled from 2022 to 2023."), (U, "Thanks")]
    assert {r: e.count for r, e in counter.reasons.items()} == {
        "ChatGPT message on an abandoned branch (edited or regenerated)": 2,
        "ChatGPT system message (hidden in the app)": 1,
        "image, audio or file part of a message": 1,
        "ChatGPT assistant message addressed to a tool": 1,
        "ChatGPT tool message (browsing, code, images...)": 1,
        "empty message": 1,
    }


def test_openai_reads_text_parts_and_skips_tool_calls_and_late_system_messages():
    _, counter, _ = read_fixture("openai/chat.jsonl")
    assert {r: (e.unit, e.count) for r, e in counter.reasons.items()} == {
        "image, audio or file part of a message": ("parts", 1),
        "assistant tool call without text": ("messages", 1),
        "message from an unknown role (tool, function...)": ("messages", 1),
        "system message in the middle of a conversation": ("messages", 1),
    }


def test_jsonl_broken_line_is_counted_with_its_line_number():
    _, counter, _ = read_fixture("alpaca/instructions.jsonl")
    entry = counter.reasons["invalid JSON line"]
    assert (entry.unit, entry.count) == ("lines", 1)
    assert entry.examples[0].startswith("alpaca/instructions.jsonl, line 4, column ")


def test_telegram_single_chat_owner_is_the_sender_who_is_not_the_peer():
    conversations, counter, notes = read_fixture("telegram_chat/result.json")
    assert [turns_of(c) for c in conversations] == [
        [(U, "hi Ann!\nare you free tonight?"), (A, "Yes, after 7!"), (U, "great, cinema?"), (A, "Sure 🎬")],
        [(A, "Good morning! How was the film?"), (U, "look at this view\nloved it"), (A, "me too"), (U, "see you")],
    ]
    assert notes == ["Telegram owner (your side, the assistant) in telegram_chat/result.json: Ann (user1001) — "
                     "the sender who is not the chat partner 'Bob' (user4242) in this one-chat export"]
    assert {r: e.count for r, e in counter.reasons.items()} == {
        "Telegram service message (joined, pinned, call...)": 1,
        "voice, video, photo, sticker or file without text": 1,
        "voice message without its audio file (export without 'Voice messages' ticked)": 1,
        "forwarded message (written by someone else)": 1,
    }


def test_telegram_account_uses_personal_chats_and_counts_the_others():
    conversations, counter, notes = read_fixture("telegram_account/result.json")
    assert [turns_of(c) for c in conversations] == [
        [(U, "ping"), (A, "pong"), (U, "lunch?"), (A, "yes, 1pm")],
        [(U, "happy birthday!"), (A, "thank you!! 🥳")],
    ]
    assert {r: (e.unit, e.count, e.messages) for r, e in counter.reasons.items()} == {
        "Telegram group chat (include_group_chats = false)": ("chats", 1, 3),
        "Telegram Saved Messages (notes to yourself)": ("chats", 1, 1),
        "Telegram channel": ("chats", 1, 1),
        "Telegram chat with a bot": ("chats", 1, 2),
        "Telegram chat you left (read only when include_group_chats = true)": ("chats", 1, 2),
    }
    assert "Ann (user1001) — the account owner of this full export (personal_information.user_id)" in notes[-1]


def test_telegram_account_reads_groups_and_left_chats_when_enabled():
    conversations, counter, _ = read_fixture("telegram_account/result.json", include_group_chats=True)
    assert [turns_of(c) for c in conversations][1:] == [
        [(U, "dinner at 8"), (A, "ok!"), (U, "I'll bring wine")],
        [(U, "happy birthday!"), (A, "thank you!! 🥳")],
        [(U, "bye all"), (A, "bye")],
    ]
    assert counter.count_of("Telegram group chat (include_group_chats = false)") == 0


@pytest.mark.parametrize("owner", ["Bob", "bob", "user4242", "4242"])
def test_telegram_owner_setting_wins_by_name_or_id(owner):
    conversations, _, notes = read_fixture("telegram_chat/result.json", telegram_owner=owner)
    assert turns_of(conversations[0])[:2] == [(A, "hi Ann!\nare you free tonight?"), (U, "Yes, after 7!")]
    assert notes == ["Telegram owner (your side, the assistant) in telegram_chat/result.json: Bob (user4242) — "
                     "from the telegram_owner setting"]


def test_telegram_owner_setting_that_matches_nobody_is_a_warning():
    _, _, notes = read_fixture("telegram_chat/result.json", telegram_owner="Zoe")
    assert notes[-1] == ("Warning: telegram_owner = 'Zoe' matched no sender in telegram_chat/result.json, so none "
                         "of its messages became assistant replies.")


def test_telegram_owner_is_guessed_as_the_most_frequent_sender_and_said_so():
    conversations, _, notes = read_fixture("telegram_group/result.json", include_group_chats=True)
    assert turns_of(conversations[0]) == [
        (U, "Did everyone finish the book?"), (A, "Almost, two chapters left"), (U, "Not even started 🙈"),
        (A, "No spoilers please!"), (U, "Deal. Meeting on Friday?"), (A, "Friday works\nI'll bring snacks")]
    assert notes == ["Telegram owner (your side, the assistant) in telegram_group/result.json: Dana (user31) — "
                     "a guess: the most frequent sender (4 of 7 messages); set telegram_owner in settings.toml "
                     "if this is not you"]


def test_telegram_silence_longer_than_the_gap_starts_a_new_dialog():
    def message(i, when, who):
        return {"id": i, "type": "message", "date_unixtime": str(when), "from": who, "from_id": who, "text": f"m{i}"}
    t0 = 1_700_000_000
    messages = [message(1, t0, "peer"), message(2, t0 + 60, "me"),
                message(3, t0 + 60 + DIALOG_GAP_SECONDS, "peer"), message(4, t0 + 120 + DIALOG_GAP_SECONDS, "me"),
                message(5, t0 + 181 + 2 * DIALOG_GAP_SECONDS, "peer"),
                message(6, t0 + 200 + 2 * DIALOG_GAP_SECONDS, "me")]
    counter = SkipCounter()
    dialogs = list(dialogs_of_chat(messages, OwnerRule("test", peer_id="peer"), "chat", counter))
    # exactly the gap stays together; one second more splits
    assert [[t.content for t in d.turns] for d in dialogs] == [["m1", "m2", "m3", "m4"], ["m5", "m6"]]
    assert counter.messages_read == 6


def test_telegram_account_streams_each_chat_whatever_its_key_order(tmp_path):
    def message(i, who, text):
        return {"id": i, "type": "message", "date_unixtime": str(1_700_000_000 + 60 * i), "from": who,
                "from_id": who, "text": text}
    export = {"personal_information": {"user_id": 1}, "chats": {"list": [
        {"messages": [message(1, "user2", "q1"), message(2, "user1", "a1")], "type": "personal_chat", "id": 2},
        {"type": "private_group", "messages": [message(3, "user3", "group q"), message(4, "user1", "group a")]},
        {"name": "C", "type": "personal_chat", "id": 4, "messages": []},
        {"name": "D", "id": 5, "type": "personal_chat",
         "messages": [message(5, "user5", "q2"), message(6, "user1", "a2")], "extra": {"x": 1}},
    ]}}
    path = write_json(tmp_path / "result.json", export)
    counter, notes = SkipCounter(), []
    conversations = list(conversations_of_file(path, detect_shape(path), "result.json", Settings(), counter,
                                               notes, Counter(), None))
    assert [turns_of(c) for c in conversations] == [[(U, "q1"), (A, "a1")], [(U, "q2"), (A, "a2")]]
    assert conversations[1].source.startswith("result.json: chat 'D'")
    assert counter.reasons["Telegram group chat (include_group_chats = false)"].messages == 2


def test_telegram_numeric_from_id_of_older_exports_matches_the_owner(tmp_path):
    export = telegram_chat_export([["q", "a"]])
    for m in export["messages"]:
        m["from_id"] = int(m["from_id"][len("user"):])
    path = write_json(tmp_path / "result.json", export)
    counter, notes = SkipCounter(), []
    conversations = list(conversations_of_file(path, detect_shape(path), "result.json", Settings(), counter,
                                               notes, Counter(), None))
    assert turns_of(conversations[0]) == [(U, "q"), (A, "a")]


def test_telegram_skips_say_which_message():
    _, counter, _ = read_fixture("telegram_chat/result.json")
    assert counter.reasons["forwarded message (written by someone else)"].examples == [
        "telegram_chat/result.json: chat 'Bob', message 13"]


# ---- filters ------------------------------------------------------------------------------------------------------
def dialog(*contents: str, system: str = "") -> Conversation:
    turns = [Turn(S, system)] if system else []
    turns += [Turn(U if i % 2 == 0 else A, text) for i, text in enumerate(contents)]
    return Conversation(turns, "test", group=0)


def test_max_message_length_drops_the_message_and_cuts_the_dialog_there():
    counter = SkipCounter()
    kept = normalise_conversations([dialog("q1", "a1", "q2-too-long", "a2", "q3", "a3")], counter,
                                   min_dialog_messages=2, max_message_length=5, max_dialog_length=0)
    assert [turns_of(c) for c in kept] == [[(U, "q1"), (A, "a1")], [(U, "q3"), (A, "a3")]]
    assert {r: e.count for r, e in counter.reasons.items()} == {
        "message longer than max_message_length": 1, "assistant message opening a dialog (nothing to answer)": 1}


def test_max_dialog_length_cuts_even_chunks_each_with_the_system_prompt():
    kept = normalise_conversations([dialog("q1", "a1", "q2", "a2", "q3", "a3", system="sys")], SkipCounter(),
                                   min_dialog_messages=2, max_message_length=0, max_dialog_length=3)
    assert [turns_of(c) for c in kept] == [[(S, "sys"), (U, "q1"), (A, "a1")], [(S, "sys"), (U, "q2"), (A, "a2")],
                                           [(S, "sys"), (U, "q3"), (A, "a3")]]
    assert sum(c.message_count for c in kept) == 7  # the system prompt is counted once
    assert {c.group for c in kept} == {0}  # chunks of one dialog stay together in the split


def test_min_dialog_messages_drops_short_dialogs_and_counts_them():
    counter = SkipCounter()
    kept = normalise_conversations([dialog("q1", "a1"), dialog("q1", "a1", "q2", "a2")], counter,
                                   min_dialog_messages=3, max_message_length=0, max_dialog_length=0)
    assert len(kept) == 1
    entry = counter.reasons["dialog with fewer turns than min_dialog_messages"]
    assert (entry.unit, entry.count, entry.messages) == ("conversations", 1, 2)


# ---- the step, driven as the user drives it ---------------------------------------------------------------------
def test_prepare_dataset_writes_the_expected_pairs_from_every_format(tmp_path, capsys):
    root = make_project(tmp_path, *GOOD_FIXTURES)
    code, out, err = run_step(root, capsys, "--mode", "instruct")
    assert code == 0, err
    written = read_examples(root / "data" / "train_dataset.jsonl") + read_examples(root / "data" / "eval_dataset.jsonl")
    expected = [e for rel in GOOD_FIXTURES for e in EXPECTED_INSTRUCT[rel]]
    assert sorted(written) == sorted(map(list, {tuple(e) for e in expected}))  # one duplicate removed
    assert all(example[-1][0] == A for example in written)
    assert out.rstrip().endswith("Next: run finetune_gemma.bat  (or: gemma-kit finetune)")


def test_prepare_dataset_report_accounts_for_every_message(tmp_path, capsys):
    root = make_project(tmp_path, *GOOD_FIXTURES)
    assert run_step(root, capsys, "--mode", "instruct")[0] == 0
    report = read_report(root)
    assert report["messages"] == {"read": sum(MESSAGES_IN_FIXTURE.values()), "kept": 71, "skipped": 43}
    assert report["examples"]["train"] + report["examples"]["eval"] == 31
    assert report["conversations"] == {"train": 22, "eval": 1}
    assert {r: (e["unit"], e["count"]) for r, e in report["skipped"].items()} == {
        "Telegram group chat (include_group_chats = false)": ("chats", 2),
        "ChatGPT message on an abandoned branch (edited or regenerated)": ("messages", 2),
        "Claude thinking block (not part of the reply)": ("parts", 2),
        "Claude tool use or tool result block": ("parts", 2),
        "empty message": ("messages", 3),
        "message from an unknown role (tool, function...)": ("messages", 3),
        "image, audio or file part of a message": ("parts", 2),
        "last message of a dialog got no reply": ("messages", 2),
        "voice, video, photo, sticker or file without text": ("messages", 1),
        "voice message without its audio file (export without 'Voice messages' ticked)": ("messages", 1),
        "Alpaca record with an empty output": ("records", 1),
        "ChatGPT assistant message addressed to a tool": ("messages", 1),
        "ChatGPT system message (hidden in the app)": ("messages", 1),
        "ChatGPT tool message (browsing, code, images...)": ("messages", 1),
        "Claude attachment or file (only the chat text is used)": ("parts", 1),
        "Telegram Saved Messages (notes to yourself)": ("chats", 1),
        "Telegram chat you left (read only when include_group_chats = true)": ("chats", 1),
        "Telegram channel": ("chats", 1),
        "Telegram chat with a bot": ("chats", 1),
        "Telegram service message (joined, pinned, call...)": ("messages", 1),
        "assistant message opening a dialog (nothing to answer)": ("messages", 1),
        "assistant tool call without text": ("messages", 1),
        "dialog identical to an earlier one (two copies of one export?)": ("conversations", 1),
        "forwarded message (written by someone else)": ("messages", 1),
        "invalid JSON line": ("lines", 1),
        "message without userInput / ...OutputText text": ("messages", 1),
        "system message in the middle of a conversation": ("messages", 1),
    }
    assert report["files_per_format"] == {
        "Alpaca instruction pairs": 1, "Alpaca instruction pairs (JSONL)": 1, "ChatGPT data export": 1,
        "Claude.ai data export": 1, "OpenAI chat messages (JSONL)": 1, "OpenAI chat messages": 1,
        "ShareGPT conversations": 1, "sender/userInput message list": 2, "Telegram Desktop export (one chat)": 2,
        "Telegram Desktop export (full account)": 1}
    assert set(report["message_length_chars"]) == {"p50", "p90", "p99", "max"}
    assert report["tokens"]["method"] == "characters / 3.5, no tokenizer.model yet"


def test_split_keeps_each_dialog_on_one_side(tmp_path, capsys):
    dialogs = [[f"d{d} m{i}" for i in range(10)] for d in range(40)]
    write_json(tmp_path / "dataset" / "result.json", telegram_chat_export(dialogs))
    code, _, err = run_step(tmp_path, capsys, "--mode", "conversational", "--set", "window_size=4")
    assert code == 0, err

    def dialogs_in(name):
        return [{content.split()[0] for _, content in example} for example in read_examples(tmp_path / "data" / name)]
    train, evaluation = dialogs_in("train_dataset.jsonl"), dialogs_in("eval_dataset.jsonl")
    assert all(len(tags) == 1 for tags in train + evaluation)  # windows never span two dialogs
    train_tags, eval_tags = set().union(*train), set().union(*evaluation)
    assert not train_tags & eval_tags
    assert len(eval_tags) == 2 and len(train_tags | eval_tags) == 40  # 5% of 40 dialogs
    assert len(train) + len(evaluation) == 40 * 5


def test_split_is_the_same_for_the_same_seed(tmp_path, capsys):
    write_json(tmp_path / "dataset" / "result.json",
               telegram_chat_export([[f"d{d} q", f"d{d} a"] for d in range(30)]))
    run_step(tmp_path, capsys, "--mode", "instruct")
    first = (tmp_path / "data" / "eval_dataset.jsonl").read_text(encoding="utf-8")
    run_step(tmp_path, capsys, "--mode", "instruct")
    assert (tmp_path / "data" / "eval_dataset.jsonl").read_text(encoding="utf-8") == first
    run_step(tmp_path, capsys, "--mode", "instruct", "--set", "seed=7")
    assert (tmp_path / "data" / "eval_dataset.jsonl").read_text(encoding="utf-8") != first


def test_conversational_mode_expands_history_then_slides(tmp_path, capsys):
    contents = [f"t{i}" for i in range(8)]
    write_json(tmp_path / "dataset" / "a.json", {"messages": [
        {"role": "system", "content": "sys"}, *({"role": U if i % 2 == 0 else A, "content": c}
                                                for i, c in enumerate(contents))]})
    write_json(tmp_path / "dataset" / "b.json",
               {"messages": [{"role": U, "content": "x"}, {"role": A, "content": "y"}]})
    code, _, err = run_step(tmp_path, capsys, "--mode", "conversational", "--set", "window_size=4")
    assert code == 0, err
    examples = read_examples(tmp_path / "data" / "train_dataset.jsonl") + \
        read_examples(tmp_path / "data" / "eval_dataset.jsonl")
    long_dialog = [[c for _, c in e] for e in examples if e[0] == (S, "sys")]
    assert long_dialog == [["sys", "t0", "t1"], ["sys", "t0", "t1", "t2", "t3"], ["sys", "t2", "t3", "t4", "t5"],
                           ["sys", "t4", "t5", "t6", "t7"]]


def test_unrecognised_file_is_skipped_with_a_warning_when_others_work(tmp_path, capsys):
    root = make_project(tmp_path, "telegram_chat/result.json", "bad/unrecognised.json")
    code, out, err = run_step(root, capsys, "--mode", "instruct")
    assert code == 0
    assert ("Warning: dataset/bad/unrecognised.json: not a chat export this step knows (first keys seen: users, "
            "settings, version). Skipped this file.") in err
    report = read_report(root)
    assert report["problem_files"] == [{"path": "dataset/bad/unrecognised.json", "problem": "unrecognised",
                                        "detail": "not a chat export this step knows (first keys seen: users, "
                                                  "settings, version)",
                                        "first_keys": ["users", "settings", "version"]}]
    assert report["skipped"]["unrecognised file"]["count"] == 1
    assert "unrecognised file" in out


def test_invalid_json_file_is_skipped_with_line_and_column(tmp_path, capsys):
    root = make_project(tmp_path, "telegram_chat/result.json", "bad/broken.json")
    code, _, err = run_step(root, capsys, "--mode", "instruct")
    assert code == 0
    assert "Warning: dataset/bad/broken.json: invalid JSON at line 4, column 5: Expecting ',' delimiter." in err
    problem = read_report(root)["problem_files"][0]
    assert (problem["line"], problem["column"]) == (4, 5)
    # nothing from the broken file is kept, not even its first record
    assert read_report(root)["files"] == [{"path": "dataset/telegram_chat/result.json",
                                           "format": "Telegram Desktop export (one chat)", "record_formats": {},
                                           "conversations": 2, "messages_read": 14}]


def test_only_an_unrecognised_file_is_a_user_error(tmp_path, capsys):
    root = make_project(tmp_path, "bad/unrecognised.json")
    code, _, err = run_step(root, capsys, "--mode", "instruct")
    assert code == 1
    assert ("Error: dataset/bad/unrecognised.json: not a chat export this step knows (first keys seen: users, "
            "settings, version).") in err
    assert "What to do: Expected one of: Telegram Desktop export result.json" in err


def test_only_a_broken_file_is_a_user_error_with_line_and_column(tmp_path, capsys):
    root = make_project(tmp_path, "bad/broken.json")
    code, _, err = run_step(root, capsys, "--mode", "instruct")
    assert code == 1
    assert "Error: dataset/bad/broken.json: invalid JSON at line 4, column 5: Expecting ',' delimiter." in err
    assert "What to do: Open the file at that line and fix it, or export it again" in err


def test_empty_dataset_folder_is_a_user_error(tmp_path, capsys):
    (tmp_path / "dataset").mkdir()
    (tmp_path / "dataset" / "messages.html").write_text("<html></html>")
    code, _, err = run_step(tmp_path, capsys, "--mode", "instruct")
    assert code == 1
    assert "Error: There are no .json or .jsonl files in dataset (nor in its sub-folders)." in err
    assert "What to do: Telegram Desktop exported HTML" in err


def test_missing_dataset_folder_is_a_user_error(tmp_path, capsys):
    code, _, err = run_step(tmp_path, capsys, "--mode", "instruct")
    assert code == 1
    assert "Error: The dataset folder dataset does not exist." in err


def test_a_single_conversation_of_one_exchange_is_a_user_error(tmp_path, capsys):
    root = make_project(tmp_path, "openai/single_conversation.json")
    code, _, err = run_step(root, capsys, "--mode", "instruct")
    assert code == 1
    assert ("Error: Only 1 conversation with a single exchange is usable; at least 2 exchanges are needed: one to "
            "train on and one kept aside to check that training works.") in err


def test_no_usable_conversation_is_a_user_error_naming_the_reasons(tmp_path, capsys):
    root = make_project(tmp_path, "telegram_group/result.json")
    code, _, err = run_step(root, capsys, "--mode", "instruct")
    assert code == 1
    assert ("Error: No usable conversations in 1 file(s): 1 chats skipped: Telegram group chat "
            "(include_group_chats = false).") in err


def test_mode_is_asked_and_defaults_to_instruct_without_a_terminal(tmp_path, capsys):
    root = make_project(tmp_path, "telegram_chat/result.json")
    code, out, _ = run_step(root, capsys)
    assert code == 0
    assert "-> using the default 'instruct' (no terminal to ask)." in out
    assert read_report(root)["mode"] == "instruct"


def test_mode_comes_from_the_settings_when_fixed(tmp_path, capsys):
    root = make_project(tmp_path, "telegram_chat/result.json", settings='[dataset]\ndata_mode = "conversational"\n')
    code, out, _ = run_step(root, capsys)
    assert code == 0
    assert "Mode: conversational (from the data_mode setting)." in out


def test_second_run_replaces_the_outputs_and_says_so(tmp_path, capsys):
    root = make_project(tmp_path, "telegram_chat/result.json")
    _, first_out, _ = run_step(root, capsys, "--mode", "instruct")
    code, out, _ = run_step(root, capsys, "--mode", "instruct")
    assert code == 0
    assert "Replaced" not in first_out
    assert "Replaced the previous data/train_dataset.jsonl and data/eval_dataset.jsonl." in out
    assert sorted(p.name for p in (root / "data").iterdir()) == [
        "dataset_report.json", "eval_dataset.jsonl", "train_dataset.jsonl"]  # no temp files left


def test_summary_names_outputs_skips_and_the_report(tmp_path, capsys):
    root = make_project(tmp_path, "telegram_chat/result.json")
    _, out, err = run_step(root, capsys, "--mode", "instruct")
    assert "Wrote data/train_dataset.jsonl (2 examples, instruct mode) and data/eval_dataset.jsonl (1 examples)." in out
    assert "        1 messages      voice, video, photo, sticker or file without text" in out
    assert "The full list, with where each reason happened, is in data/dataset_report.json." in out
    assert "too few to change the model's style" in err


def test_other_files_beside_the_exports_are_counted_not_read(tmp_path, capsys):
    root = make_project(tmp_path, "telegram_chat/result.json")
    (root / "dataset" / "telegram_chat" / "photos").mkdir()
    (root / "dataset" / "telegram_chat" / "photos" / "photo_1.jpg").write_bytes(b"\xff\xd8")
    assert run_step(root, capsys, "--mode", "instruct")[0] == 0
    entry = read_report(root)["skipped"]["file that is not .json or .jsonl (photos, media...)"]
    assert (entry["unit"], entry["count"], entry["where"]) == (
        "files", 1, ["dataset/telegram_chat/photos/photo_1.jpg"])


def test_tokens_are_measured_with_the_model_tokenizer_when_present(tmp_path, capsys):
    from gemma_kit.core.tiny_gemma import train_tiny_tokenizer

    root = make_project(tmp_path, "telegram_chat/result.json")
    model_dir = Settings(root=root).model_dir
    model_dir.mkdir(parents=True)
    train_tiny_tokenizer(model_dir / "tokenizer.model")
    assert run_step(root, capsys, "--mode", "instruct")[0] == 0
    tokens = read_report(root)["tokens"]
    assert tokens["method"].startswith("measured with the model's tokenizer on ")
    assert tokens["train"] > 0 and tokens["eval"] > 0


def test_input_and_output_flags_take_a_single_file_and_another_folder(tmp_path, capsys):
    code, out, _ = run_step(tmp_path, capsys, "--mode", "instruct", "--input",
                            str(FIXTURES / "telegram_chat" / "result.json"), "--output", "elsewhere")
    assert code == 0
    assert (tmp_path / "elsewhere" / "train_dataset.jsonl").exists()
    assert (tmp_path / "elsewhere" / "dataset_report.json").exists()
    assert "Wrote elsewhere/train_dataset.jsonl" in out


def test_slow_json_parser_is_a_warning_for_large_exports(monkeypatch, capsys):
    import ijson

    monkeypatch.setattr(ijson, "backend", "python")
    check_json_parser(1024)
    assert capsys.readouterr().err == ""
    check_json_parser(100 * 1024 * 1024)
    assert "JSON reader runs without its C extension (ijson backend 'python')" in capsys.readouterr().err


def test_demo_sample_is_a_small_realistic_telegram_export():
    assert DEMO_SAMPLE.stat().st_size < 20 * 1024
    conversations, counter, notes = read_fixture(str(DEMO_SAMPLE))
    assert 60 <= counter.messages_read <= 80
    assert len(conversations) >= 2
    assert "Alex (user111)" in notes[0]
    assert counter.count_of("Telegram service message (joined, pinned, call...)") >= 2


def test_a_record_whose_messages_are_not_a_list_is_counted_not_a_crash(tmp_path, capsys):
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    lines = [json.dumps({"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]})
             for i in range(4)] + [json.dumps({"messages": 7})]
    (dataset / "chat.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["--root", str(tmp_path), "prepare-dataset", "--mode", "instruct"]) == 0
    report = json.loads((tmp_path / "data" / "dataset_report.json").read_text(encoding="utf-8"))
    assert "record in an unknown shape" in json.dumps(report, ensure_ascii=False)


def test_a_file_in_an_old_windows_encoding_gets_an_encoding_hint(tmp_path, capsys):
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    text = json.dumps([{"instruction": "Привет", "output": "Здравствуй"}], ensure_ascii=False)
    (dataset / "alpaca.json").write_bytes(("\n" + text).encode("cp1251"))
    assert main(["--root", str(tmp_path), "prepare-dataset", "--mode", "instruct"]) == 1
    err = capsys.readouterr().err
    assert "not saved as UTF-8 text" in err and "around line 2" in err


def test_the_summary_speaks_russian_and_the_report_stays_english(tmp_path, capsys):
    root = make_project(tmp_path, "telegram_chat/result.json", "chatgpt/conversations.json", "bad/unrecognised.json")
    code, out, err = run_step(root, capsys, "--mode", "instruct", "--set", "language=ru")
    assert code == 0, err
    report = read_report(root)
    messages, examples = report["messages"], report["examples"]
    assert f"Оставлено сообщений: {messages['kept']:,} из {messages['read']:,};" in out
    assert (f"Записаны data/train_dataset.jsonl (примеров: {examples['train']:,}, режим instruct) и "
            f"data/eval_dataset.jsonl (примеров: {examples['eval']:,}).") in out
    assert "Пропущено:" in out and "Прочитано 2 файла: " in out  # the unrecognised one is a skipped file
    # Each skip line: the count, the unit in the form that goes with it, the reason in Russian.
    assert "        1 файл          нераспознанный файл" in out
    assert report["skipped"]["empty message"]["count"] == 1 and "1 сообщение     пустое сообщение" in out
    assert "Владелец выгрузки Telegram (ваша сторона, ассистент) в dataset/telegram_chat/result.json: Ann" in out
    assert ("Внимание: dataset/bad/unrecognised.json: это не выгрузка чата в формате, который знает этот шаг "
            "(первые ключи в файле: users, settings, version). Этот файл пропущен.") in err
    assert "Kept " not in out and "Skipped:" not in out
    # Programs read the report: its words stay the English ones, whatever the console's language.
    assert report["problem_files"][0]["detail"] == ("not a chat export this step knows (first keys seen: users, "
                                                    "settings, version)")
    assert report["notes"][0].startswith("Telegram owner (your side, the assistant) in dataset/telegram_chat/")
    assert report["files_per_format"]["Telegram Desktop export (one chat)"] == 1


def test_russian_counts_in_the_skip_list_take_their_form():
    from gemma_kit.core.language import set_language
    from gemma_kit.readers.dataset_report import unit_words

    set_language("ru")
    assert [unit_words("messages", n) for n in (1, 3, 11, 21, 25)] == \
        ["сообщение", "сообщения", "сообщений", "сообщение", "сообщений"]
    set_language("en")
    assert [unit_words("messages", n) for n in (1, 3)] == ["messages", "messages"]  # the report's own word


def test_a_broken_file_alone_fails_in_russian_naming_its_line_once(tmp_path, capsys):
    root = make_project(tmp_path, "bad/broken.json")
    code, _, err = run_step(root, capsys, "--mode", "instruct", "--set", "language=ru")
    assert code == 1
    assert ("Ошибка: dataset/bad/broken.json: ошибка в JSON (строка 4, столбец 5): Expecting ',' delimiter."
            in err.splitlines())
    assert next(line for line in err.splitlines() if line.startswith("Что сделать:")).startswith(
        "Что сделать: Откройте файл на этой строке")
    assert err.count("broken.json") == 1  # the error says it; no warning before it repeats it
