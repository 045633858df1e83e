"""Turn the Telegram voice messages prepare-dataset found into text, with Gemma 3n's own audio encoder.

Reads data/voice_messages.json (written by prepare-dataset) and writes data/voice_transcripts.jsonl, keyed by the
audio's content hash, so a second run (or one after Ctrl+C) only does what is left. The work is the audio wing's
(audio/transcription.py); prepare-dataset runs the same function itself when transcribe_voice asks.
"""
from __future__ import annotations

import argparse

from ..core.settings import Settings

EPILOG = """\
Examples:
  gemma-kit transcribe-voice --set transcribe_voice=mine
  gemma-kit prepare-dataset --set transcribe_voice=all   (runs this step, then uses the text)

Next step: prepare_dataset.bat  (or: gemma-kit prepare-dataset), which puts the transcripts into the dataset
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=int, default=None,
                        help="pieces of audio per model call (default: 8 on a GPU, 4 on the CPU)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from ..audio.transcription import transcribe_voices   # torch and the model: only when this step runs

    out_dir = settings.path(getattr(args, "output", None) or settings.data_dir)
    return transcribe_voices(settings, out_dir, getattr(args, "batch_size", None))
