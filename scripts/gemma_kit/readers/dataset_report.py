"""The dataset report: data/dataset_report.json (every count, skip reason and file the prepare-dataset step met)
and the summary printed at the end of the step, both built from the same dictionary.
"""
from __future__ import annotations

import json
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..core.console import say, warn
from ..core.language import N_, tr, tr_marked, tr_n
from ..core.paths import atomic_file, show_path
from ..core.settings import DATASET_REPORT_FILE_NAME, Settings
from .common import Marked, SkipCounter, translated
from .detect import JSONL_SUFFIX
from .dispatch import Reading
from .voice import voice_summary

MIN_EXAMPLES_FOR_STYLE = 200  # fewer examples than this rarely move a model's style (only a smoke test)


@dataclass
class Side:
    """One output file: where it goes, its counts and the token estimate of each example."""

    path: Path
    file: BinaryIO | None = None  # open only while it is written
    examples: int = 0
    conversations: int = 0
    tokens: array = field(default_factory=lambda: array("d"))


@dataclass
class Written:
    """What writing the two splits hands to the report."""

    train: Side
    eval: Side
    message_lengths: array  # characters of every kept turn
    messages_kept: int
    replaced: bool  # the outputs of an earlier run were there and are now replaced


def percentiles(values: Any, points: tuple[int, ...] = (50, 90, 99)) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    picked = {f"p{p}": ordered[min(len(ordered) - 1, (len(ordered) * p) // 100)] for p in points}
    return {**{k: round(v) for k, v in picked.items()}, "max": round(ordered[-1])}


def build_report(settings: Settings, reading: Reading, written: Written, mode: str, window: int,
                 token_method: str, dataset: Path, out_dir: Path) -> dict[str, Any]:
    counter, train, evaluation = reading.counter, written.train, written.eval
    all_tokens = train.tokens + evaluation.tokens
    too_long = sum(1 for t in all_tokens if t > settings.max_seq_length)
    return {
        "mode": mode, "window_size": window if mode == "conversational" else None,
        "dataset": show_path(dataset, settings.root),
        "files": reading.files,
        "files_per_format": dict(Counter(f["format"] for f in reading.files)),
        "problem_files": reading.problems,
        "notes": reading.notes,
        "messages": {"read": counter.messages_read, "kept": written.messages_kept,
                     "skipped": counter.messages_skipped},
        "conversations": {"train": train.conversations, "eval": evaluation.conversations},
        "examples": {"train": train.examples, "eval": evaluation.examples},
        "skipped": skipped_report(counter),
        "voice": reading.voice.report(),
        "message_length_chars": percentiles(written.message_lengths),
        "tokens": {"method": token_method, "train": round(sum(train.tokens)), "eval": round(sum(evaluation.tokens)),
                   "per_example": percentiles(all_tokens, (50, 95)), "max_seq_length": settings.max_seq_length,
                   "examples_longer_than_max_seq_length": too_long},
        "warnings": report_warnings(train.examples, too_long, settings.max_seq_length),
        "outputs": {"train": show_path(train.path, settings.root), "eval": show_path(evaluation.path, settings.root),
                    "report": show_path(out_dir / DATASET_REPORT_FILE_NAME, settings.root)},
        "settings": {k: getattr(settings, k) for k in ("data_mode", "telegram_owner", "include_group_chats",
                                                      "min_dialog_messages", "max_message_length",
                                                      "max_dialog_length", "window_size", "eval_fraction", "seed",
                                                      "transcribe_voice")},
    }


def check_accounting(counter: SkipCounter, messages_kept: int) -> None:
    """Our invariant: every message read is either in a kept dialog or counted under a skip reason."""
    if counter.messages_read != messages_kept + counter.messages_skipped:
        raise RuntimeError(f"message accounting is off: read {counter.messages_read}, kept {messages_kept} + "
                           f"skipped {counter.messages_skipped} = {messages_kept + counter.messages_skipped}")


def skipped_report(counter: SkipCounter) -> dict[str, Any]:
    ranked = sorted(counter.reasons.items(), key=lambda kv: (-kv[1].count, kv[0]))
    return {reason: {"unit": r.unit, "count": r.count, "messages": r.messages, "where": r.examples}
            for reason, r in ranked}


def report_warnings(train_examples: int, too_long: int, max_seq_length: int) -> list[Marked]:
    warnings = []
    if train_examples < MIN_EXAMPLES_FOR_STYLE:
        warnings.append(Marked(N_("Only {n} training examples: enough to test the pipeline, but too few to change "
                                  "the model's style (aim for {aim}+; more chats help)."),
                               n=train_examples, aim=MIN_EXAMPLES_FOR_STYLE))
    if too_long:
        warnings.append(Marked(N_("{too_long:,} examples are longer than max_seq_length = {max_seq_length} tokens "
                                  "and will be cut during training (raise max_seq_length, or use a smaller "
                                  "window_size)."), too_long=too_long, max_seq_length=max_seq_length))
    return warnings


def write_report(report: dict[str, Any], dest: Path) -> None:
    with atomic_file(dest) as tmp:
        tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def print_summary(report: dict[str, Any], written: Written) -> None:
    """The console's summary, in the user's language, from the report (whose words stay English for programs)."""
    formats = ", ".join(f"{n} {format_label_shown(label)}" for label, n in report["files_per_format"].items())
    say(tr_n(len(report["files"]), "Read {n} file(s): {formats}.", "Read {n} file(s): {formats}.", formats=formats))
    m, c, e = report["messages"], report["conversations"], report["examples"]
    say(tr("Kept {kept:,} of {read:,} messages, in {dialogs:,} dialogs (training {train:,}, evaluation {eval:,}).",
           kept=m["kept"], read=m["read"], dialogs=c["train"] + c["eval"], train=c["train"], eval=c["eval"]))
    lengths, tokens = report["message_length_chars"], report["tokens"]
    say(tr("Message length in characters: median {median:,}, 90% up to {p90:,}, longest {longest:,}.",
           median=lengths["p50"], p90=lengths["p90"], longest=lengths["max"]))
    say(tr("Tokens ({method}): {train:,} training, {eval:,} evaluation; per example median {median:,}, "
           "longest {longest:,}.", method=translated(tokens["method"]), train=tokens["train"], eval=tokens["eval"],
           median=tokens["per_example"]["p50"], longest=tokens["per_example"]["max"]))
    print_skipped(report["skipped"], report["outputs"]["report"])
    if line := voice_summary(report["voice"]):
        say(line)
    for warning in report["warnings"]:
        warn(translated(warning))
    if written.replaced:
        say(tr("Replaced the previous {train} and {eval}.", train=report["outputs"]["train"],
               eval=report["outputs"]["eval"]))
    say(tr("Wrote {train} ({train_examples:,} examples, {mode} mode) and {eval} ({eval_examples:,} examples).",
           train=report["outputs"]["train"], train_examples=e["train"], mode=report["mode"],
           eval=report["outputs"]["eval"], eval_examples=e["eval"]))


def print_skipped(skipped: dict[str, Any], report_path: str) -> None:
    if not skipped:
        say(tr("Nothing was skipped."))
        return
    say(tr("Skipped:"))
    for reason, entry in skipped.items():
        count, unit = entry["count"], entry["unit"]
        say(f"  {count:>9,} {unit_words(unit, count):<13} {tr_marked(reason)}")
    say(tr("The full list, with where each reason happened, is in {path}.", path=report_path))


def format_label_shown(label: str) -> str:
    """A format's label (detect.FORMAT_LABELS, perhaps with " (JSONL)") in the user's language."""
    base = label.removesuffix(JSONL_SUFFIX)
    return tr_marked(base) + label[len(base):]


def unit_words(unit: str, count: int) -> str:
    """A skip unit (common.UNITS) for `count` items. English keeps the report's own word, whatever the count."""
    words = {
        "files": tr_n(count, "files", "files"),
        "chats": tr_n(count, "chats", "chats"),
        "conversations": tr_n(count, "conversations", "conversations"),
        "records": tr_n(count, "records", "records"),
        "lines": tr_n(count, "lines", "lines"),
        "messages": tr_n(count, "messages", "messages"),
        "parts": tr_n(count, "parts", "parts"),
        "examples": tr_n(count, "examples", "examples"),
    }
    return words.get(unit, unit)
