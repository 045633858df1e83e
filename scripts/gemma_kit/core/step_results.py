"""What a step hands back when the pipeline has more to do after it (every other step returns an exit code).

A step never runs another step itself: it says what it finished, and gemma_kit/pipeline.py decides what follows.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .settings import Settings


@dataclass(frozen=True)
class TrainingFinished:
    """finetune trained to the end and saved the adapter: report, merge and convert may follow."""

    adapter_dir: Path


@dataclass(frozen=True)
class GgufWritten:
    """convert-gguf wrote and checked the GGUF, and was asked (--offer-lmstudio) to offer the LM Studio hand-off."""

    gguf: Path


@dataclass(frozen=True)
class DemoPrepared:
    """The demo built its tiny model and sample chat; the steps run next with these settings."""

    settings: Settings
    gguf: Path      # where its steps put their results, for the last lines
    report: Path
    started: float  # time.monotonic() when the demo began, for the "finished in" line
