"""Shared fixtures: the tiny Gemma 3n checkpoint is built once per test session (a few seconds)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GEMMA_KIT_NO_PROGRESS", "1")
# The tests read the kit's English; a developer's Russian locale must not change that (language = "auto").
# test_language.py sets the environment itself where the language is what it tests.
os.environ["LANGUAGE"] = "en"


@pytest.fixture(autouse=True)
def english_after_each_test():
    """A test that ran a step with --set language=ru leaves the kit's language at ru: put it back."""
    yield
    from gemma_kit.core import language

    language.set_language("en")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A bf16, two-shard tiny Gemma 3n in the real multimodal layout. Treat it as read-only."""
    from gemma_kit.core.tiny_gemma import build_tiny_gemma3n

    return build_tiny_gemma3n(tmp_path_factory.mktemp("tiny_gemma3n") / "gemma-3n-tiny", dtype="bfloat16",
                              num_shards=2)


@pytest.fixture(scope="session")
def tiny_model_dir_f32(tmp_path_factory) -> Path:
    """The same model stored in float32 (for fidelity comparisons without bf16 rounding)."""
    from gemma_kit.core.tiny_gemma import build_tiny_gemma3n

    return build_tiny_gemma3n(tmp_path_factory.mktemp("tiny_gemma3n_f32") / "gemma-3n-tiny", dtype="float32",
                              num_shards=2)
