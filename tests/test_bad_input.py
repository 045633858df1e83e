"""Issue 19: bad input never crashes, never eats the machine's memory, never loses count.

Each test feeds one hostile or odd input a user has (or could have) produced and asserts what the step
now gives: exit 0 with the item skipped and counted (file and position named), or exit 1 with an `Error:`
naming the file — and never a traceback.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gemma_kit.cli import main
from gemma_kit.readers.common import SKIP_ODD_ITEM
from gemma_kit.readers.json_stream import MAX_JSON_DEPTH, NestingGuard, TooDeep
from gemma_kit.readers import dispatch

SCRIPTS = Path(__file__).parents[1] / "scripts"
ODD_ITEM = SKIP_ODD_ITEM


def openai_records(n: int, tag: str = "q") -> list[dict]:
    return [{"messages": [{"role": "user", "content": f"{tag}{i}?"}, {"role": "assistant", "content": f"a{i}."}]}
            for i in range(n)]


def write_json(path: Path, value) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    return path


def run(root: Path, capsys, *extra: str) -> tuple[int, str, str]:
    code = main(["--root", str(root), "prepare-dataset", "--mode", "instruct", *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def report_of(root: Path) -> dict:
    return json.loads((root / "data" / "dataset_report.json").read_text(encoding="utf-8"))


def skipped_where(report: dict, reason: str) -> list[str]:
    return report["skipped"][reason]["where"]


def child_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(SCRIPTS), "GEMMA_KIT_NO_PROGRESS": "1"}


# ---- nesting ----------------------------------------------------------------------------------------------------
def test_a_document_nested_100000_levels_is_skipped_within_500_mb(tmp_path):
    """200 KB of `[[[...]]]` took 22 GB before (ijson keeps a prefix per level); measured in a child process."""
    write_json(tmp_path / "dataset" / "chat.json", openai_records(3))
    (tmp_path / "dataset" / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="ascii")
    (tmp_path / "dataset" / "deep_cut.json").write_text('{"messages": ' + "[{\"a\": " * 50_000, encoding="ascii")
    # The child reports its own peak. Not ru_maxrss: Linux carries it over from the parent through fork and exec
    # (a pytest process holding torch starts the child at ~800 MB); VmHWM belongs to the child's own memory.
    probe = ("import pathlib, resource, sys\nfrom gemma_kit.cli import main\n"
             f"code = main(['--root', {str(tmp_path)!r}, 'prepare-dataset', '--mode', 'instruct'])\n"
             "status = pathlib.Path('/proc/self/status')\n"
             "peak = (int(next(l for l in status.read_text().splitlines() if l.startswith('VmHWM:')).split()[1])\n"
             "        if status.exists() else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
             "print('peak KB', peak)\nsys.exit(code)\n")
    done = subprocess.run([sys.executable, "-c", probe], env=child_env(), capture_output=True, text=True, timeout=120)
    peak_mb = int(done.stdout.rsplit("peak KB ", 1)[1]) / 1024  # Linux reports kilobytes
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert peak_mb < 500
    for name in ("deep.json", "deep_cut.json"):
        assert f"dataset/{name}: the JSON is nested more than {MAX_JSON_DEPTH} levels deep" in done.stderr
    assert report_of(tmp_path)["skipped"]["unreadable file"]["count"] == 2


def test_a_deeply_nested_jsonl_line_is_skipped_and_counted_with_its_line(tmp_path, capsys):
    lines = [json.dumps(r) for r in openai_records(3)]
    lines.insert(1, '{"messages": ' + "[" * 5000 + "]" * 5000 + "}")
    lines.append('{"messages": ' + "[" * 5000)  # deep and cut short
    (tmp_path / "dataset").mkdir()
    (tmp_path / "dataset" / "chat.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, _ = run(tmp_path, capsys)
    assert code == 0
    entry = report_of(tmp_path)["skipped"]["line nested too deeply to be a chat record"]
    assert (entry["unit"], entry["count"]) == ("lines", 2)
    assert entry["where"][0].startswith("dataset/chat.jsonl, line 2: nested more than")
    assert entry["where"][1].startswith("dataset/chat.jsonl, line 5: ")


@pytest.mark.parametrize("text, deepest", [
    (b'{"a": "[[[[", "b": [1, {"c": "]]]"}]}', 3),
    (b'["\\"[[[", "\\\\", [[]]]', 3),
    (b'{"k": "esc \\\\\\" [[[ still a string"}', 1),
])
def test_nesting_guard_ignores_brackets_inside_strings_even_split_anywhere(text, deepest):
    for cut in range(1, len(text)):  # every place a read() may end, escapes and quotes included
        low, high = NestingGuard(limit=deepest), NestingGuard(limit=deepest - 1)
        low.feed(text[:cut])
        low.feed(text[cut:])
        assert low.depth == 0
        with pytest.raises(TooDeep):
            high.feed(text[:cut])
            high.feed(text[cut:])


# ---- one odd file or item never aborts the run -----------------------------------------------------------------
def chatgpt_conversation(title: str, contents: list) -> dict:
    mapping, parent = {"root": {"id": "root", "message": None, "parent": None, "children": []}}, "root"
    for i, content in enumerate(contents):
        node = f"n{i}"
        role = "user" if i % 2 == 0 else "assistant"
        mapping[node] = {"id": node, "parent": parent, "children": [],
                         "message": {"id": node, "author": {"role": role}, "content": content, "recipient": "all"}}
        mapping[parent]["children"].append(node)
        parent = node
    return {"title": title, "mapping": mapping, "current_node": parent}


def text(t: str) -> dict:
    return {"content_type": "text", "parts": [t]}


def test_a_chatgpt_node_whose_content_is_a_string_is_skipped_and_counted(tmp_path, capsys):
    write_json(tmp_path / "dataset" / "conversations.json", [
        chatgpt_conversation("Good", [text("q1"), text("a1")]),
        chatgpt_conversation("Odd", [text("q2"), "a plain string", text("q3"), text("a3")]),
    ])
    code, _, _ = run(tmp_path, capsys)
    assert code == 0
    report = report_of(tmp_path)
    assert report["skipped"][ODD_ITEM]["count"] == 1
    assert skipped_where(report, ODD_ITEM) == [
        "dataset/conversations.json, record 2 'Odd': message 'n1' whose author or content is not an object"]
    assert report["messages"]["read"] == report["messages"]["kept"] + report["messages"]["skipped"]


def telegram_chat(messages: list[dict]) -> dict:
    return {"name": "Masha", "type": "personal_chat", "id": 222, "messages": messages}


def tg(i: int, text: str, unix) -> dict:
    who = ("Masha", "user222") if i % 2 else ("Alex", "user111")
    return {"id": i, "type": "message", "date_unixtime": unix, "from": who[0], "from_id": who[1], "text": text}


@pytest.mark.parametrize("odd_time", [[1700000000], {"s": 1}, "1.5e9", "9" * 40, True])
def test_a_telegram_date_unixtime_that_is_not_a_number_keeps_the_message(tmp_path, capsys, odd_time):
    messages = [tg(1, "hi", "1700000000"), tg(2, "hello", odd_time), tg(3, "how are you?", "1700000100"),
                tg(4, "fine", "1700000200")]
    write_json(tmp_path / "dataset" / "result.json", telegram_chat(messages))
    code, _, _ = run(tmp_path, capsys)
    assert code == 0
    assert report_of(tmp_path)["messages"] == {"read": 4, "kept": 4, "skipped": 0}


def test_a_reader_error_nobody_foresaw_skips_that_file_only_and_debug_shows_it(tmp_path, capsys, monkeypatch):
    # No real input is left that breaks the Telegram reader (that is the point of this issue), so one is forced:
    # the guard is for the shape nobody has seen yet.
    def broken_reader(*args, **kwargs):
        raise ZeroDivisionError("division by zero")
        yield  # pragma: no cover

    write_json(tmp_path / "dataset" / "chat.json", openai_records(3))
    write_json(tmp_path / "dataset" / "result.json", telegram_chat([tg(1, "hi", "1"), tg(2, "yo", "2")]))
    monkeypatch.setattr(dispatch, "read_telegram", broken_reader)
    code, out, err = run(tmp_path, capsys)
    assert code == 0
    assert ("Warning: dataset/result.json: has a shape this step did not expect (ZeroDivisionError: division by "
            "zero; --debug shows where). Skipped this file.") in err
    assert report_of(tmp_path)["problem_files"][0]["path"] == "dataset/result.json"
    code = main(["--root", str(tmp_path), "prepare-dataset", "--mode", "instruct", "--debug"])
    assert code == 0
    assert "ZeroDivisionError" in capsys.readouterr().err.split("Traceback")[1]


def test_a_record_reader_error_skips_that_record_with_its_position(tmp_path, capsys, monkeypatch):
    from gemma_kit.readers import records

    def picky(record, where, counter):
        if record["messages"][0]["content"] == "q1?":
            raise KeyError("surprise")
        return records.conversation_from_openai(record, where, counter)

    monkeypatch.setitem(records.RECORD_READERS, "openai", picky)
    write_json(tmp_path / "dataset" / "chat.json", openai_records(4))
    code, _, _ = run(tmp_path, capsys)
    assert code == 0
    report = report_of(tmp_path)
    assert skipped_where(report, ODD_ITEM) == ["dataset/chat.json, record 2: KeyError: 'surprise'"]
    assert report["messages"] == {"read": 7, "kept": 6, "skipped": 1}
    assert main(["--root", str(tmp_path), "prepare-dataset", "--mode", "instruct", "--debug"]) == 0
    assert "in picky" in capsys.readouterr().err.split("Traceback")[1]


# ---- Ctrl+C ---------------------------------------------------------------------------------------------------
def test_ctrl_c_while_a_full_account_telegram_export_is_read_stops_cleanly(tmp_path):
    """ijson's C backend used to turn the interrupt into `SystemError: ... returned a result with an exception set`."""
    messages = [tg(i, f"message number {i} with a few more words in it", str(1_700_000_000 + 60 * i))
                for i in range(250_000)]
    export = {"about": "", "personal_information": {"user_id": 111},
              "chats": {"about": "", "list": [telegram_chat(messages)]}, "left_chats": {"about": "", "list": []}}
    write_json(tmp_path / "dataset" / "result.json", export)
    child = subprocess.Popen([sys.executable, "-m", "gemma_kit", "--root", str(tmp_path), "prepare-dataset",
                              "--mode", "instruct"], env=child_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline().startswith("Mode: instruct")  # printed just before the reading starts
    time.sleep(0.3)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert "Stopped by the user (Ctrl+C)." in out
    assert "Traceback" not in err and "SystemError" not in err


# ---- a single conversation --------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["instruct", "conversational"])
def test_a_single_long_conversation_holds_out_its_last_exchanges(tmp_path, capsys, mode):
    turns = [{"role": "system", "content": "Be brief."}]
    for i in range(20):
        turns += [{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": f"answer {i}"}]
    write_json(tmp_path / "dataset" / "one.json", {"messages": turns})
    code = main(["--root", str(tmp_path), "--set", "eval_fraction=0.1", "prepare-dataset", "--mode", mode])
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in out + err
    assert ("Only one dialog was found, so its last 2 exchange(s) of 20 are kept aside to check the training "
            "(no training example contains them).") in out
    assert "Warning: Only " in err  # few training examples
    train = [json.loads(line)["messages"] for line in (tmp_path / "data" / "train_dataset.jsonl").open()]
    evaluation = [json.loads(line)["messages"] for line in (tmp_path / "data" / "eval_dataset.jsonl").open()]
    train_texts = {m["content"] for example in train for m in example}
    eval_texts = {m["content"] for example in evaluation for m in example if m["role"] != "system"}
    assert eval_texts == {"question 18", "answer 18", "question 19", "answer 19"}
    assert not eval_texts & train_texts
    assert {"question 17", "answer 17", "Be brief."} <= train_texts
    assert all(example[0] == {"role": "system", "content": "Be brief."} for example in train + evaluation)
    assert report_of(tmp_path)["messages"] == {"read": 41, "kept": 41, "skipped": 0}


# ---- counts that lie ------------------------------------------------------------------------------------------
def test_two_identical_exports_count_the_second_copy_as_duplicates(tmp_path, capsys):
    for name in ("a.json", "copy of a.json"):
        write_json(tmp_path / "dataset" / name, openai_records(6))
    code, out, _ = run(tmp_path, capsys)
    assert code == 0
    assert "Kept 12 of 24 messages" in out
    report = report_of(tmp_path)
    assert report["messages"] == {"read": 24, "kept": 12, "skipped": 12}
    entry = report["skipped"]["dialog identical to an earlier one (two copies of one export?)"]
    assert (entry["unit"], entry["count"], entry["messages"]) == ("conversations", 6, 12)
    assert entry["where"][0].startswith("dataset/copy of a.json, record 1")


def account_export(left_chats: list[dict], left_first: bool = False) -> dict:
    chat = telegram_chat([tg(i, f"m{i}", str(1_700_000_000 + 60 * i)) for i in range(1, 9)])
    sections = {"about": "", "personal_information": {"user_id": 111}, "chats": {"about": "", "list": [chat]}}
    left = {"about": "", "list": left_chats}
    return {"left_chats": left, **sections} if left_first else {**sections, "left_chats": left}


@pytest.mark.parametrize("left_first", [False, True])
def test_messages_of_left_chats_are_counted_as_skipped(tmp_path, capsys, left_first):
    left = [{"name": "Old club", "type": "private_supergroup", "id": 88,
             "messages": [tg(i, f"club {i}", "1700000000") for i in range(3)]},
            {"name": "News", "type": "public_channel", "id": 89, "messages": [tg(9, "news", "1700000000")]}]
    write_json(tmp_path / "dataset" / "result.json", account_export(left, left_first))
    code, out, _ = run(tmp_path, capsys)
    assert code == 0
    report = report_of(tmp_path)
    assert report["messages"]["read"] == 12 and report["messages"]["skipped"] == 4
    entry = report["skipped"]["Telegram chat you left (read only when include_group_chats = true)"]
    assert (entry["count"], entry["messages"]) == (2, 4)
    assert entry["where"] == ["dataset/result.json: left chat 'Old club'", "dataset/result.json: left chat 'News'"]


# ---- the step's own outputs -------------------------------------------------------------------------------------
@pytest.mark.parametrize("output", ["dataset/out", "dataset"])
def test_outputs_inside_the_dataset_folder_are_never_read_back(tmp_path, capsys, output):
    write_json(tmp_path / "dataset" / "chat.json", openai_records(20))
    first = run(tmp_path, capsys, "--output", str(tmp_path / output))
    second = run(tmp_path, capsys, "--output", str(tmp_path / output))
    assert first[0] == second[0] == 0
    report = json.loads((tmp_path / output / "dataset_report.json").read_text(encoding="utf-8"))
    assert [f["path"] for f in report["files"]] == ["dataset/chat.json"]
    assert report["messages"] == {"read": 40, "kept": 40, "skipped": 0}
    assert "file that is not .json or .jsonl (photos, media...)" not in report["skipped"]


# ---- Claude retries ---------------------------------------------------------------------------------------------
def test_a_claude_retry_follows_the_branch_ending_at_the_latest_message(tmp_path, capsys):
    def msg(uuid, parent, sender, text, minute):
        return {"uuid": uuid, "parent_message_uuid": parent, "sender": sender, "text": text,
                "content": [{"type": "text", "text": text}], "created_at": f"2024-04-01T10:{minute:02d}:00Z"}

    root = "00000000-0000-4000-8000-000000000000"
    retried = {"uuid": "c1", "name": "Retry", "chat_messages": [
        msg("h1", root, "human", "Name a colour", 0),
        msg("a1", "h1", "assistant", "Blue (first try)", 1),
        msg("a1b", "h1", "assistant", "Green (retried)", 2),
        msg("h2", "a1b", "human", "Another?", 3),
        msg("a2", "h2", "assistant", "Red", 4),
    ]}
    plain = {"uuid": "c2", "name": "Plain", "chat_messages": [
        {"uuid": "x1", "sender": "human", "text": "hi", "content": [{"type": "text", "text": "hi"}]},
        {"uuid": "x2", "sender": "assistant", "text": "hello", "content": [{"type": "text", "text": "hello"}]}]}
    write_json(tmp_path / "dataset" / "conversations.json", [retried, plain])
    code, _, _ = run(tmp_path, capsys)
    assert code == 0
    examples = [[m["content"] for m in json.loads(line)["messages"]]
                for name in ("train_dataset.jsonl", "eval_dataset.jsonl")
                for line in (tmp_path / "data" / name).open(encoding="utf-8")]
    assert sorted(examples) == [["Another?", "Red"], ["Name a colour", "Green (retried)"], ["hi", "hello"]]
    report = report_of(tmp_path)
    entry = report["skipped"]["Claude message on an abandoned branch (retried or edited)"]
    assert (entry["count"], entry["where"]) == (1, ["dataset/conversations.json, record 1 'Retry'"])
    assert report["messages"] == {"read": 7, "kept": 6, "skipped": 1}


def test_messages_only_in_duplicate_examples_are_counted_as_skipped(tmp_path, capsys):
    def dialog(*texts):
        roles = ["user", "assistant"] * len(texts)
        return {"messages": [{"role": role, "content": t} for role, t in zip(roles, texts)]}

    write_json(tmp_path / "dataset" / "chat.json",
               [dialog("hi", "hello", "bye", "ciao"), dialog("hi", "hello", "x?", "y."), dialog("q?", "a.")])
    code, out, _ = run(tmp_path, capsys)
    assert code == 0
    report = report_of(tmp_path)
    assert report["messages"] == {"read": 10, "kept": 8, "skipped": 2}
    entry = report["skipped"]["message only in duplicate examples (the same text was already written)"]
    assert (entry["count"], entry["where"]) == (2, ["dataset/chat.json, record 2"])


def test_a_single_telegram_chat_without_long_silences_holds_out_its_last_exchange(tmp_path, capsys):
    messages = [tg(i, f"text {i}", str(1_700_000_000 + 60 * i)) for i in range(1, 9)]
    write_json(tmp_path / "dataset" / "result.json", telegram_chat(messages))
    code, out, _ = run(tmp_path, capsys)
    assert code == 0
    assert "Only one dialog was found, so its last 1 exchange(s) of 4 are kept aside" in out
    evaluation = (tmp_path / "data" / "eval_dataset.jsonl").read_text(encoding="utf-8").splitlines()
    assert [[m["content"] for m in json.loads(line)["messages"]] for line in evaluation] == [["text 7", "text 8"]]
