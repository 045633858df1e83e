"""Run the whole pipeline on a tiny built-in Gemma 3n and a sample chat, on the CPU, in a few minutes.

It builds a tiny random Gemma 3n (the real file layout, random weights: it talks nonsense), prepares the
bundled sample Telegram chat, trains a few steps, merges, converts to GGUF and checks the .gguf (in llama.cpp,
with a sample reply, where llama-cpp-python is installed; otherwise by reading the file). Everything goes to
output/demo/. Use it to check that this computer can run every step before spending hours on the real model.
"""
from __future__ import annotations

import shutil
import time
from importlib import resources
from pathlib import Path

from ..core.console import UserError, say
from ..core.language import tr
from ..core.settings import REPORT_FILE_NAME, Settings, replace_checked
from ..core.step_results import DemoPrepared

EPILOG = "Example: gemma-kit demo\nThen: put your own chat exports into dataset/ and run the steps in order."

DEMO_SAMPLE = "sample_telegram.json"
DEMO_MARKER = ".gemma-kit-demo"  # only a folder carrying it is ever deleted by the demo
# Small enough for a CPU: a few optimizer steps, short sequences (the tiny model learns nothing useful anyway).
DEMO_SETTINGS = {"data_mode": "instruct", "max_steps": 12, "eval_steps": 6, "gradient_accumulation_steps": 2,
                 "batch_size": 2, "max_seq_length": 192, "lora_rank": 4, "lora_alpha": 8, "gguf_type": "q8_0",
                 "telegram_owner": "user111", "after_training": "stop",
                 "report_examples": 4, "report_max_new_tokens": 24}


def add_arguments(parser) -> None:
    parser.add_argument("--keep", action="store_true", help="reuse output/demo/ from an earlier run if present")


def demo_folder(settings: Settings, args) -> Path:
    return settings.path(args.output) if getattr(args, "output", None) else settings.path(settings.output_dir) / "demo"


def prepare_inputs(folder: Path, keep: bool) -> Path:
    """The tiny model and the sample chat, in the demo's own folder (the user's dataset/ is never touched)."""
    from ..core.tiny_gemma import build_tiny_gemma3n

    if folder.exists() and any(folder.iterdir()) and not (folder / DEMO_MARKER).exists():
        raise UserError(tr("{folder} already holds files that the demo did not make; it will not delete them.",
                           folder=folder),
                        tr("Give the demo an empty or new folder with --output, or leave --output out "
                           "(output/demo)."))
    if folder.exists() and not keep:
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DEMO_MARKER).write_text("made by gemma-kit demo; safe to delete\n", encoding="utf-8")
    model_dir = folder / "tiny-gemma-3n"
    if not (model_dir / "config.json").exists():
        say(tr("Building a tiny random Gemma 3n (real file layout, random weights) ..."))
        build_tiny_gemma3n(model_dir, dtype="bfloat16", num_shards=2)
    dataset = folder / "dataset"
    dataset.mkdir(parents=True, exist_ok=True)
    sample = resources.files("gemma_kit") / "demo_data" / DEMO_SAMPLE
    (dataset / DEMO_SAMPLE).write_bytes(sample.read_bytes())
    return model_dir


def demo_settings(settings: Settings, folder: Path, model_dir: Path) -> Settings:
    """The caller's settings (its --settings file and --set included), pointed at the demo's folder and made small."""
    return replace_checked(settings, tr("the demo"), dataset_dir=(folder / "dataset").as_posix(),
                           data_dir=(folder / "data").as_posix(), output_dir=folder.as_posix(),
                           model_path=model_dir.as_posix(), **DEMO_SETTINGS)


def run(settings: Settings, args) -> DemoPrepared:
    """Builds the inputs; the pipeline then runs the steps one after the other with these settings."""
    started = time.monotonic()
    folder = demo_folder(settings, args)
    model_dir = prepare_inputs(folder, getattr(args, "keep", False))
    prepared = demo_settings(settings, folder, model_dir)
    return DemoPrepared(prepared, prepared.gguf_file, prepared.path(prepared.output_dir) / REPORT_FILE_NAME,
                        started)
