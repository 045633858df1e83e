"""The folders that hold a LoRA adapter: the Trainer's checkpoint-N folders (finetune resumes from them,
merge-lora can merge one), output/lora_adapter, and the records that tie an adapter or a merged model to the
base model it belongs to.
"""
from __future__ import annotations

import json
from pathlib import Path

from .model_files import checkpoint_fingerprint, read_config, text_config_of

# The adapter folder carries this file, written by finetune and checked by merge-lora, so that an adapter is
# never merged into a different base model than the one it was trained on.
BASE_MODEL_RECORD = "base_model.json"
MERGE_RECORD = "merged_from.json"   # written by merge-lora into the merged model: which adapter, which base


def write_base_model_record(adapter_dir: Path, base_dir: Path) -> None:
    record = {"base_model_path": str(base_dir), "fingerprint": checkpoint_fingerprint(base_dir),
              "text_config": text_config_of(read_config(base_dir))}
    (adapter_dir / BASE_MODEL_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")


def read_base_model_record(adapter_dir: Path) -> dict | None:
    path = adapter_dir / BASE_MODEL_RECORD
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


# ---- the Trainer's checkpoints (output/checkpoints/checkpoint-N): finetune resumes from them, merge-lora can merge
CHECKPOINT_PREFIX = "checkpoint-"
TRAINER_STATE_FILE = "trainer_state.json"   # the Trainer writes it last: a checkpoint without it is incomplete
ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors"


def list_checkpoints(folder: Path) -> dict[int, Path]:
    """Complete checkpoints by step. One without trainer_state.json (or without its adapter) was cut short while
    saving: skipped, by finetune's resume and merge-lora alike."""
    found = {}
    if folder.is_dir():
        for path in folder.glob(CHECKPOINT_PREFIX + "*"):
            step_text = path.name[len(CHECKPOINT_PREFIX):]
            if (step_text.isdigit() and (path / TRAINER_STATE_FILE).is_file()
                    and (path / ADAPTER_WEIGHTS_FILE).is_file()):
                found[int(step_text)] = path
    return found


def latest_checkpoint(folder: Path) -> Path | None:
    found = list_checkpoints(folder)
    return found[max(found)] if found else None
