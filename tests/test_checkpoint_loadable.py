"""check_checkpoint_loadable: a damaged checkpoint is a plain error before training resumes from it (issue 19).

The files are written the way the Trainer writes them (torch.save of the RNG states, a safetensors adapter)
and then damaged the ways a crash, a full disk or a foreign file damages them.
"""
from __future__ import annotations

import json
import random
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from gemma_kit.core.console import UserError
from gemma_kit.training.resume import check_checkpoint_loadable


class NotATensor:
    """Anything a pickle may hold besides tensors and numbers: torch.load(weights_only=True) refuses it."""


def trainer_like_checkpoint(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": 10}), encoding="utf-8")
    text = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    (folder / "adapter_model.safetensors").write_bytes(struct.pack("<Q", len(text)) + text + bytes(8))
    torch.save({"python": random.getstate(), "numpy": np.random.get_state(), "cpu": torch.random.get_rng_state()},
               folder / "rng_state.pth")
    torch.save({"state": {}, "param_groups": [{"lr": 1e-4, "params": [0]}]}, folder / "optimizer.pt")
    return folder


def test_a_checkpoint_as_the_trainer_writes_it_passes(tmp_path):
    check_checkpoint_loadable(trainer_like_checkpoint(tmp_path / "checkpoint-10"))


@pytest.mark.parametrize("damage, words", [
    ("foreign object", "rng_state.pth holds something other than tensors and numbers, so PyTorch's safe loader "
                       "refuses it"),
    ("cut short", "rng_state.pth is cut short or is not a PyTorch file"),
    ("not a torch file", "rng_state.pth is cut short or is not a PyTorch file"),
    ("optimizer cut short", "optimizer.pt is cut short or is not a PyTorch file"),
    ("trainer state", "trainer_state.json cannot be read as JSON"),
    ("adapter", "adapter_model.safetensors is not a valid .safetensors file"),
])
def test_a_damaged_checkpoint_says_how_to_go_on_and_never_to_load_unsafely(tmp_path, damage, words):
    folder = trainer_like_checkpoint(tmp_path / "checkpoint-20")
    rng = folder / "rng_state.pth"
    if damage == "foreign object":
        torch.save({"python": NotATensor()}, rng)
    elif damage == "cut short":
        rng.write_bytes(rng.read_bytes()[:200])
    elif damage == "not a torch file":
        rng.write_text("hello", encoding="utf-8")
    elif damage == "optimizer cut short":
        (folder / "optimizer.pt").write_bytes((folder / "optimizer.pt").read_bytes()[:-40])
    elif damage == "trainer state":
        (folder / "trainer_state.json").write_text('{"global_step": ', encoding="utf-8")
    else:
        (folder / "adapter_model.safetensors").write_bytes(b"\x00" * 4)
    with pytest.raises(UserError) as e:
        check_checkpoint_loadable(folder)
    assert e.value.message == f"The checkpoint {folder} is damaged: {words}."
    assert e.value.hint == (f"Delete the folder {folder} to resume from the checkpoint before it, or start over "
                            "with finetune_gemma.bat --restart.")
    assert "weights_only" not in str(e.value)
