"""Turn the chat exports in dataset/ into data/train_dataset.jsonl and data/eval_dataset.jsonl.

Reads every .json / .jsonl file under dataset/ (sub-folders too) and recognises each by its shape:
Telegram Desktop result.json (one chat or the whole account), ChatGPT or Claude.ai conversations.json,
ShareGPT, OpenAI chat messages, Alpaca instruction pairs, and sender/userInput message lists.
Each line written is {"messages": [{"role": ..., "content": ...}, ...]} ending with a reply.
Everything skipped is counted by reason in data/dataset_report.json.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ijson

from ..core.console import UserError, ask_choice, next_step, say, warn
from ..core.language import N_, tr, tr_marked, tr_n
from ..core.paths import atomic_file, check_writable_folder, show_path
from ..core.settings import DATASET_REPORT_FILE_NAME, EVAL_FILE_NAME, TRAIN_FILE_NAME, Settings
from ..readers.common import Marked, SkipCounter, translated
from ..readers.conversation import Conversation, Turn
from ..readers.dataset_report import Side, Written, build_report, check_accounting, print_summary, unit_words, \
    write_report
from ..readers.detect import EXPECTED_SHAPES
from ..readers.dispatch import Reading, read_exports
from ..readers.voice import TRANSCRIPTS_FILE_NAME, VoiceBook, load_transcripts
from ..audio.voice_stage import transcribe_if_asked
from ..readers.normalise import drop_duplicate_dialogs, hold_out_end_of_single_dialog, normalise_conversations, \
    split_system

EPILOG = """\
Examples:
  prepare_dataset.bat
  gemma-kit prepare-dataset --mode conversational
  gemma-kit prepare-dataset --input D:\\exports\\result.json --set telegram_owner=user123456

Next step: finetune_gemma.bat  (or: gemma-kit finetune)
"""

MODES = ["instruct", "conversational"]
DEFAULT_MODE = MODES[0]
EXPORT_SUFFIXES = (".json", ".jsonl")
OUTPUT_FILE_NAMES = {TRAIN_FILE_NAME, EVAL_FILE_NAME, DATASET_REPORT_FILE_NAME}
CHARS_PER_TOKEN_GUESS = 3.5  # the rule of thumb of issue 3, used only when tokenizer.model is not there yet
TOKENIZER_SAMPLE_CHARS = 2_000_000  # enough for a stable chars/token ratio; the whole text would cost seconds
TEMPLATE_TOKENS_PER_TURN = 5  # "<start_of_turn>user\n" ... "<end_of_turn>\n" in Gemma's chat template
SKIP_DUPLICATE = N_("exact duplicate example")
SKIP_DUPLICATE_MESSAGES = N_("message only in duplicate examples (the same text was already written)")
SKIP_OTHER_FILE = N_("file that is not .json or .jsonl (photos, media...)")
SLOW_PARSER_WARN_BYTES = 20 * 1024 * 1024  # below this, even the slow parser takes only seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=MODES, default=None,
                        help="instruct: each message and its reply; conversational: replies with earlier "
                             "messages as context (default: data_mode in settings.toml, else ask)")


# ---- the step, top to bottom ----------------------------------------------------------------------------
def run(settings: Settings, args: argparse.Namespace) -> int:
    dataset = settings.path(getattr(args, "input", None) or settings.dataset_dir)
    out_dir = settings.path(getattr(args, "output", None) or settings.data_dir)
    files, other_files = list_export_files(dataset, settings.root, out_dir)
    check_writable_folder(out_dir)  # before the reading, which can take a minute
    check_json_parser(sum(p.stat().st_size for p in files))
    mode = choose_mode(settings, getattr(args, "mode", None))
    with cyclic_gc_paused():
        debug = bool(getattr(args, "debug", False))
        reading = read_exports(files, settings, VoiceBook(settings.transcribe_voice,
                                                          load_transcripts(out_dir / TRANSCRIPTS_FILE_NAME)), debug)
        if transcribe := transcribe_if_asked(settings, reading.voice, out_dir):
            # Read again, now with the transcripts the transcription has just written.
            reading = read_exports(files, settings, VoiceBook(transcribe, load_transcripts(
                out_dir / TRANSCRIPTS_FILE_NAME)), debug, show_notes=False)
        count_other_files(other_files, reading.counter, settings.root)
        conversations = normalise_conversations(
            reading.conversations, reading.counter, min_dialog_messages=settings.min_dialog_messages,
            max_message_length=settings.max_message_length, max_dialog_length=settings.max_dialog_length)
        conversations = drop_duplicate_dialogs(conversations, reading.counter)
        check_usable(conversations, reading)
        conversations, note = hold_out_end_of_single_dialog(conversations, settings.eval_fraction)
        if note:
            reading.notes.append(note)
            say(note.shown())
        eval_groups = choose_eval_groups(conversations, settings.eval_fraction, settings.seed)
        tokens_per_char, token_method = measure_tokens_per_char(settings, conversations)
        window = example_window(mode, settings.window_size)
        written = write_splits(conversations, eval_groups, window, out_dir, reading.counter, tokens_per_char)
    check_accounting(reading.counter, written.messages_kept)
    report = build_report(settings, reading, written, mode, window, token_method, dataset, out_dir)
    write_report(report, out_dir / DATASET_REPORT_FILE_NAME)
    print_summary(report, written)
    next_step("finetune_gemma.bat", "gemma-kit finetune")
    return 0


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause CPython's cycle collector while millions of small objects are built and kept.

    Each collection re-scans every surviving dict and turn: on a 200 MB Telegram export that was 35% of the
    run (7.5 s -> 4.9 s, bench/bench_prepare_dataset.py). Nothing built here has reference cycles, so
    reference counting still frees all of it; the collector is back on when the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ---- finding the files ----------------------------------------------------------------------------------
def list_export_files(dataset: Path, root: Path, out_dir: Path | None = None) -> tuple[list[Path], list[Path]]:
    """(the .json/.jsonl files, every other file) under `dataset`, or `dataset` itself when it is a file.

    This step's own outputs are never inputs: with `--output dataset/out`, a second run would otherwise read the
    first run's JSONL as ShareGPT data and put its evaluation examples into the new training split."""
    if dataset.is_file():
        return [dataset], []
    shown = show_path(dataset, root)
    if not dataset.is_dir():
        raise UserError(tr("The dataset folder {folder} does not exist.", folder=shown),
                        tr("Create it and put your chat exports into it: {shapes}",
                           shapes=tr_marked(EXPECTED_SHAPES)))
    # The kit's own dataset/README.md is not the user's file: neither read nor counted as skipped.
    everything = sorted(p for p in dataset.rglob("*") if p.is_file() and p != dataset / "README.md"
                        and not (out_dir is not None and is_own_output(p, out_dir)))
    exports = [p for p in everything if p.suffix.lower() in EXPORT_SUFFIXES]
    if not exports:
        raise UserError(tr("There are no .json or .jsonl files in {folder} (nor in its sub-folders).", folder=shown),
                        empty_folder_hint(everything, shown))
    return exports, [p for p in everything if p.suffix.lower() not in EXPORT_SUFFIXES]


def is_own_output(path: Path, out_dir: Path) -> bool:
    name = path.name.removesuffix(".partial")
    return name in OUTPUT_FILE_NAMES and path.parent.resolve() == out_dir.resolve()


def count_other_files(other_files: list[Path], counter: SkipCounter, root: Path) -> None:
    """Photos and media that come with an export sit beside it; they are not read, but they are counted."""
    for path in other_files:
        counter.skip(SKIP_OTHER_FILE, unit="files", where=show_path(path, root))


def empty_folder_hint(other_files: list[Path], shown: str) -> str:
    hint = tr("Put your chat exports into {folder}/: {shapes}", folder=shown, shapes=tr_marked(EXPECTED_SHAPES))
    if any(p.suffix.lower() == ".html" for p in other_files):
        hint = tr("Telegram Desktop exported HTML: export again with Settings > Advanced > Export Telegram data "
                  "(or a chat's menu > Export chat history), format 'Machine-readable JSON'. {hint}", hint=hint)
    return hint


def check_json_parser(total_bytes: int) -> None:
    """Without its C extension ijson falls back to pure Python: 27.7 s instead of 2.15 s for a 209 MB export
    (docs/gemma3n_facts.md "Costs"). The result is the same, so warn and carry on."""
    if ijson.backend != "yajl2_c" and total_bytes > SLOW_PARSER_WARN_BYTES:
        warn(tr("The JSON reader runs without its C extension (ijson backend '{backend}'), so large exports read "
                "about 10x slower. To fix it: pip install --force-reinstall ijson", backend=ijson.backend))


def choose_mode(settings: Settings, flag: str | None) -> str:
    if flag:
        say(tr("Mode: {mode} (from --mode).", mode=flag))
        return flag
    if settings.data_mode != "ask":
        say(tr("Mode: {mode} (from the data_mode setting).", mode=settings.data_mode))
        return settings.data_mode
    return ask_choice(tr("Which examples? instruct = each message with its reply; conversational = replies with "
                         "up to {window} earlier messages as context", window=settings.window_size), MODES,
                      DEFAULT_MODE)


# ---- checks that end the step with advice --------------------------------------------------------------------
def check_usable(conversations: list[Conversation], reading: Reading) -> None:
    if not reading.files:
        raise no_usable_file_error(reading.problems)
    if not conversations:
        raise UserError(tr_n(len(reading.files), "No usable conversations in {n} file(s): {skips}.",
                             "No usable conversations in {n} file(s): {skips}.", skips=top_skips(reading.counter)),
                        tr("A conversation needs a message and a reply from the other side. For Telegram, check "
                           "telegram_owner (your name or user id) and include_group_chats in settings.toml."))
    groups = {c.group for c in conversations}
    if len(groups) == 1 and sum(len(split_system(c.turns)[1]) // 2 for c in conversations) < 2:
        raise UserError(tr("Only 1 conversation with a single exchange is usable; at least 2 exchanges are needed: "
                           "one to train on and one kept aside to check that training works."),
                        tr("Add more chats to the dataset folder (more conversations also make a better model)."))


def no_usable_file_error(problems: list[dict[str, Any]]) -> UserError:
    if len(problems) == 1:
        (only,) = problems
        path, detail, kind = only["path"], translated(only["detail"]), only["problem"]
        return UserError(f"{path}: {detail}.", problem_hint(kind))
    listed = "\n  ".join(f"{p['path']}: {translated(p['detail'])}" for p in problems)
    kinds = {p["problem"] for p in problems}
    return UserError(tr("None of the {n} files can be used:\n  {listed}", n=len(problems), listed=listed),
                     " ".join(problem_hint(kind) for kind in sorted(kinds)))


def problem_hint(kind: str) -> str:
    if kind == "invalid_json":
        return tr("Open the file at that line and fix it, or export it again (a file cut short by a full disk or "
                  "an interrupted copy looks like this).")
    if kind == "unrecognised":
        return tr("Expected one of: {shapes} Export your chats in one of these, or move the file out.",
                  shapes=tr_marked(EXPECTED_SHAPES))
    return tr("Save the file again as UTF-8 JSON, or export it again.")


def top_skips(counter: SkipCounter, n: int = 3) -> str:
    ranked = sorted(counter.reasons.items(), key=lambda kv: -kv[1].count)[:n]
    return "; ".join(tr("{count:,} {unit} skipped: {reason}", count=r.count, unit=unit_words(r.unit, r.count),
                        reason=tr_marked(reason)) for reason, r in ranked) or tr("no messages found")


# ---- split and examples -----------------------------------------------------------------------------------
def choose_eval_groups(conversations: list[Conversation], eval_fraction: float, seed: int) -> set[int]:
    """Whole dialogs go to one side, so overlapping windows of one dialog never sit on both."""
    groups = sorted({c.group for c in conversations})
    n_eval = min(len(groups) - 1, max(1, round(len(groups) * eval_fraction)))
    random.Random(seed).shuffle(groups)
    return set(groups[:n_eval])


def example_window(mode: str, window_size: int) -> int:
    """Turns per example at most; even, so every example starts with a user turn and ends with a reply."""
    if mode == "instruct":
        return 2
    window = max(2, window_size - window_size % 2)
    if window != window_size:
        say(tr("window_size {window_size} -> {window}: an example starts with a message and ends with its reply.",
               window_size=window_size, window=window))
    return window


def write_splits(conversations: list[Conversation], eval_groups: set[int], window: int, out_dir: Path,
                 counter: SkipCounter, tokens_per_char: float) -> Written:
    train, evaluation = Side(out_dir / TRAIN_FILE_NAME), Side(out_dir / EVAL_FILE_NAME)
    replaced = train.path.exists() or evaluation.path.exists()
    lengths, seen, kept = array("I"), set(), 0
    with atomic_file(train.path) as train_tmp, atomic_file(evaluation.path) as eval_tmp, \
            open(train_tmp, "wb") as train.file, open(eval_tmp, "wb") as evaluation.file:
        for conversation in conversations:
            side = evaluation if conversation.group in eval_groups else train
            side.conversations += 1
            lengths.extend(len(t.content) for t in conversation.turns)
            written = write_examples(conversation, window, side, seen, counter, tokens_per_char)
            if written < conversation.message_count:  # two copies of one export: the second keeps nothing
                counter.skip(SKIP_DUPLICATE_MESSAGES, count=conversation.message_count - written,
                             where=conversation.source)
            kept += written
        if evaluation.examples == 0:
            raise UserError(tr("Every example kept aside for evaluation is also in the training data (duplicates), "
                               "so nothing is left to check the training with."),
                            tr("Add more (different) conversations to the dataset folder."))
    return Written(train, evaluation, lengths, kept, replaced)


def write_examples(conversation: Conversation, window: int, side: Side, seen: set[bytes], counter: SkipCounter,
                   tokens_per_char: float) -> int:
    """One example per reply, with up to `window` turns ending at it: 2, 4, 6 ... then a sliding window.

    Returns the messages that are in at least one example written (duplicates of earlier examples are not)."""
    system, body = split_system(conversation.turns)
    head = [turn_json(system)] if system else []
    head_tokens = 1 + (turn_tokens(system, tokens_per_char) if system else 0)  # 1 = <bos>
    fragments = [turn_json(t) for t in body]
    sums = [0.0]
    for t in body:
        sums.append(sums[-1] + turn_tokens(t, tokens_per_char))
    covered = bytearray(len(body))
    for end in range(1, len(body), 2):
        start = max(0, end + 1 - window)
        if body[start].role != "user" or body[end].role != "assistant":
            raise RuntimeError(f"example of {conversation.source} does not alternate: turns {start}..{end} are "
                               f"{body[start].role}..{body[end].role}, expected user..assistant")
        line = ('{"messages": [' + ", ".join(head + fragments[start:end + 1]) + "]}\n").encode("utf-8")
        digest = hashlib.blake2b(line, digest_size=16).digest()
        if digest in seen:
            counter.skip(SKIP_DUPLICATE, unit="examples", where=conversation.source)
            continue
        seen.add(digest)
        covered[start:end + 1] = b"\x01" * (end + 1 - start)
        side.file.write(line)
        side.examples += 1
        side.tokens.append(head_tokens + sums[end + 1] - sums[start])
    kept = sum(turn.message_count for turn, used in zip(body, covered) if used)
    return kept + (system.message_count if system and kept else 0)


# One encoder for all strings: json.dumps(..., ensure_ascii=False) builds a new encoder on every call (~5 us).
JSON_TEXT = json.JSONEncoder(ensure_ascii=False)


def turn_json(turn: Turn) -> str:
    return '{"role": "' + turn.role + '", "content": ' + JSON_TEXT.encode(turn.content) + "}"


def turn_tokens(turn: Turn, tokens_per_char: float) -> float:
    return len(turn.content) * tokens_per_char + TEMPLATE_TOKENS_PER_TURN


# ---- tokens ------------------------------------------------------------------------------------------------
def measure_tokens_per_char(settings: Settings, conversations: list[Conversation]) -> tuple[float, Marked]:
    """Tokens per character: measured with the model's tokenizer on a sample when it is there, else a guess."""
    model_file = settings.model_dir / "tokenizer.model"
    guess = 1 / CHARS_PER_TOKEN_GUESS, Marked(N_("characters / {ratio:.1f}, no {file} yet"), ratio=CHARS_PER_TOKEN_GUESS,
                                              file=model_file.name)
    if not model_file.exists():
        return guess
    import sentencepiece  # only here: the step stays importable without it

    try:
        tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(model_file))
    except (OSError, RuntimeError) as e:
        warn(tr("Could not load {file} ({error}); token counts are a rough estimate.", file=model_file, error=e))
        return guess
    sample = sample_texts(conversations, TOKENIZER_SAMPLE_CHARS)
    n_chars = sum(len(t) for t in sample)
    n_tokens = sum(len(ids) for ids in tokenizer.encode(sample))
    if not n_chars:
        return guess
    return n_tokens / n_chars, Marked(N_("measured with the model's tokenizer on {n_chars:,} characters of the data"),
                                      n_chars=n_chars)


def sample_texts(conversations: list[Conversation], max_chars: int) -> list[str]:
    """Every k-th turn, so the sample spreads over all files instead of the first ones."""
    texts = [t.content for c in conversations for t in c.turns]
    total = sum(len(t) for t in texts)
    step = max(1, -(-total // max_chars))
    return texts[::step]


