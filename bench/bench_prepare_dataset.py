"""Benchmark prepare-dataset on large synthetic exports, side by side with a bare `json.load`.

    python bench/bench_prepare_dataset.py            # a ~200 MB Telegram and a ~200 MB Claude export
    python bench/bench_prepare_dataset.py --size 50  # smaller files, quicker
    python bench/bench_prepare_dataset.py --repeat 3 # best of 3 rounds (a shared machine is noisy)

For each file it prints the wall time and peak RSS of `python -c "import json; json.load(open(F))"` and of
prepare-dataset (each in its own subprocess; RSS from os.wait4, i.e. that child only), then the ratios.
Targets (issue 3): time within 3x of json.load, peak RSS below 2x the file size.

prepare-dataset is run twice: as the user runs it (`python -m gemma_kit prepare-dataset`, which includes
the CLI's start-up: it imports every step module to build its help) and as the step alone (settings +
`prepare_dataset.run`), so a slow import elsewhere in the CLI shows up as the difference between the two.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
WORDS = ("привет как дела нормально слушай завтра может вечером давай посмотрим кофе работа проект "
         "hello sure thanks tomorrow maybe later cool great meeting coffee code release weekend "
         "movie").split()
OWNER = ("Alex", 111)


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 18)))


# ---- synthetic exports -----------------------------------------------------------------------------------
def telegram_message(rng: random.Random, i: int, clock: int, peer: tuple[str, int]) -> dict:
    name, uid = OWNER if rng.random() < 0.5 else peer
    base = {"id": i, "type": "message", "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(clock)),
            "date_unixtime": str(clock)}
    roll = rng.random()
    if roll < 0.03:
        return {**base, "type": "service", "actor": name, "actor_id": f"user{uid}", "action": "phone_call",
                "duration_seconds": 60, "text": "", "text_entities": []}
    if roll < 0.06:
        return {**base, "from": name, "from_id": f"user{uid}", "file": "(File not included.)",
                "media_type": "voice_message", "mime_type": "audio/ogg", "duration_seconds": 5, "text": "",
                "text_entities": []}
    text = sentence(rng)
    if roll < 0.15:
        parts = [text, {"type": "bold", "text": rng.choice(WORDS)}, " ok"]
        entities = [{"type": "plain", "text": text}, parts[1], {"type": "plain", "text": " ok"}]
        return {**base, "from": name, "from_id": f"user{uid}", "text": parts, "text_entities": entities}
    return {**base, "from": name, "from_id": f"user{uid}", "text": text,
            "text_entities": [{"type": "plain", "text": text}]}


def write_telegram_export(path: Path, target_bytes: int, rng: random.Random) -> int:
    """A full-account export (personal_information + chats.list), indented like Telegram Desktop writes it."""
    n_messages, clock, chat_id = 0, 1_600_000_000, 1000
    with open(path, "w", encoding="utf-8") as f:
        f.write('{\n "about": "synthetic",\n "personal_information": {"user_id": %d, "first_name": "%s"},\n'
                ' "chats": {\n  "about": "chats",\n  "list": [\n' % (OWNER[1], OWNER[0]))
        first_chat = True
        while f.tell() < target_bytes:
            chat_id += 1
            peer = (f"Friend {chat_id}", chat_id)
            f.write(("" if first_chat else ",\n") + '   {\n    "name": "%s",\n    "type": "personal_chat",\n'
                    '    "id": %d,\n    "messages": [\n' % peer)
            first_chat = False
            for j in range(2000):
                clock += rng.choice((30, 60, 120, 600, 30_000))
                n_messages += 1
                text = json.dumps(telegram_message(rng, n_messages, clock, peer), ensure_ascii=False, indent=1)
                f.write(("" if j == 0 else ",\n") + text)
            f.write("\n    ]\n   }")
        f.write("\n  ]\n }\n}\n")
    return n_messages


def claude_conversation(rng: random.Random, i: int) -> dict:
    messages = []
    for j in range(rng.randint(4, 30)):
        sender = "human" if j % 2 == 0 else "assistant"
        text = " ".join(sentence(rng) for _ in range(rng.randint(1, 6)))
        content = [{"type": "text", "text": text, "citations": []}]
        if sender == "assistant" and rng.random() < 0.3:
            content.insert(0, {"type": "thinking", "thinking": sentence(rng)})
        messages.append({"uuid": f"m-{i}-{j}", "text": text, "content": content, "sender": sender,
                         "created_at": "2024-05-01T10:00:00.000000Z", "updated_at": "2024-05-01T10:00:00.000000Z",
                         "attachments": [], "files": []})
    return {"uuid": f"c-{i}", "name": sentence(rng)[:40], "created_at": "2024-05-01T10:00:00.000000Z",
            "updated_at": "2024-05-01T10:00:00.000000Z", "account": {"uuid": "acc"}, "chat_messages": messages}


def write_claude_export(path: Path, target_bytes: int, rng: random.Random) -> int:
    n_messages, i = 0, 0
    with open(path, "w", encoding="utf-8") as f:
        f.write("[")
        while f.tell() < target_bytes:
            conversation = claude_conversation(rng, i)
            n_messages += len(conversation["chat_messages"])
            f.write(("" if i == 0 else ",") + json.dumps(conversation, ensure_ascii=False))
            i += 1
        f.write("]")
    return n_messages


# ---- measuring -------------------------------------------------------------------------------------------
def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one child process; os.wait4 gives that child's own rusage."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{error}")
    return wall, usage.ru_maxrss / 1024  # Linux reports KiB


BENCH_ENV = {**os.environ, "PYTHONPATH": str(SCRIPTS), "GEMMA_KIT_NO_PROGRESS": "1"}


def commands(export: Path, project: Path, mode: str) -> dict[str, list[str]]:
    step_only = ("import argparse, sys; from pathlib import Path; from gemma_kit.core.settings import load_settings; "
                 "from gemma_kit.steps import prepare_dataset as step; "
                 f"sys.exit(step.run(load_settings(Path({str(project)!r})), "
                 f"argparse.Namespace(input={str(export)!r}, output=None, mode={mode!r})))")
    return {
        "json.load": [sys.executable, "-c", f"import json; json.load(open({str(export)!r}, encoding='utf-8'))"],
        "prepare (CLI)": [sys.executable, "-m", "gemma_kit", "--root", str(project), "prepare-dataset",
                          "--mode", mode, "--input", str(export)],
        "prepare (step)": [sys.executable, "-c", step_only],
    }


def bench_file(export: Path, project: Path, mode: str, repeat: int) -> dict[str, tuple[float, float]]:
    """Best wall time and highest peak RSS of each command over `repeat` interleaved rounds."""
    runs = commands(export, project, mode)
    run_measured(runs["json.load"], BENCH_ENV)  # warm-up: the file is now in the page cache for all
    results: dict[str, tuple[float, float]] = {}
    for _ in range(repeat):  # interleaved, so a burst of load from elsewhere hits all commands alike
        for name, command in runs.items():
            wall, rss = run_measured(command, BENCH_ENV)
            best_wall, top_rss = results.get(name, (wall, rss))
            results[name] = (min(wall, best_wall), max(rss, top_rss))
    return results


def print_rows(name: str, messages: int, size_mb: float, results: dict[str, tuple[float, float]]) -> None:
    load_s, load_rss = results["json.load"]
    print(f"{name}: {size_mb:.1f} MB, {messages:,} messages; json.load {load_s:.2f} s, {load_rss:.0f} MiB")
    for label in ("prepare (CLI)", "prepare (step)"):
        wall, rss = results[label]
        print(f"  {label:<15} {wall:6.2f} s {size_mb / wall:6.1f} MB/s {rss:6.0f} MiB | time x{wall / load_s:.2f} "
              f"of json.load (target <= 3) | RSS {rss / size_mb:.2f}x the file (target < 2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=float, default=200, help="size of each synthetic export in MB (default 200)")
    parser.add_argument("--mode", choices=["instruct", "conversational"], default="instruct")
    parser.add_argument("--repeat", type=int, default=2,
                        help="rounds per file; the best time is kept (the machine may be shared; default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (its path is printed)")
    args = parser.parse_args()
    target = int(args.size * 2**20)
    with tempfile.TemporaryDirectory(prefix="bench_prepare_") as tmp:
        root = Path(tmp)
        rng = random.Random(0)
        exports = [("telegram", root / "result.json", write_telegram_export),
                   ("claude", root / "conversations.json", write_claude_export)]
        startup_s, startup_rss = run_measured([sys.executable, "-m", "gemma_kit", "--help"], BENCH_ENV)
        print(f"CLI start-up alone (`python -m gemma_kit --help`): {startup_s:.2f} s, {startup_rss:.0f} MiB")
        for name, path, write in exports:
            started = time.perf_counter()
            messages = write(path, target, rng)
            size_mb = path.stat().st_size / 2**20
            print(f"generated {path.name} in {time.perf_counter() - started:.1f} s", flush=True)
            print_rows(name, messages, size_mb, bench_file(path, root / f"project_{name}", args.mode, args.repeat))
        if args.keep:
            input(f"Files in {root}; press Enter to delete them.")


if __name__ == "__main__":
    main()
