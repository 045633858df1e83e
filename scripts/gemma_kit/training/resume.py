"""What a training run is (settings, data, base model), recorded beside its checkpoints and compared on resume.

Running finetune again picks up the latest checkpoint by itself when nothing changed. If the dataset, the base
model or a training setting changed since, continuing would quietly mix two different runs, so the user has to
say which they want: `--resume` (continue with the new values) or `--restart` (start over). A change that a
checkpoint cannot continue with at all (another base model, another LoRA rank) allows only `--restart`.
The Trainer's checkpoints hold the rest of the state: adapter, optimizer, scheduler, RNG and data position.
"""
from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from gemma_kit.core.adapter_folders import ADAPTER_WEIGHTS_FILE, TRAINER_STATE_FILE
from gemma_kit.core.console import UserError
from gemma_kit.core.language import N_, tr, tr_marked
from gemma_kit.core.json_files import read_json_object
from gemma_kit.core.model_files import file_fingerprint, parse_safetensors_header
from gemma_kit.core.paths import atomic_file

RUN_STATE_FILE = "run_state.json"

# Settings that change what the run computes. Paths and dataset-preparation keys are not here: what they
# change shows up in the data fingerprints.
TRAINING_SETTINGS = ("preset", "lora_rank", "lora_alpha", "lora_dropout", "effective_batch_size",
                     "gradient_accumulation_steps", "num_epochs",
                     "max_seq_length", "batch_size", "learning_rate", "warmup_ratio", "weight_decay", "max_grad_norm",
                     "eval_steps", "max_steps", "keep_best_checkpoints", "seed")
# What a checkpoint cannot continue with, even with --resume.
CANNOT_CONTINUE = {"lora_rank": N_("the adapter has another size"),
                   "base_model": N_("the adapter belongs to another model")}
PLAIN_NAMES = {"train_data": N_("the training data (data/train_dataset.jsonl)"),
               "eval_data": N_("the evaluation data (data/eval_dataset.jsonl)"), "base_model": N_("the base model")}


@dataclass(frozen=True)
class Change:
    key: str
    old: object
    new: object

    @property
    def can_continue(self) -> bool:
        return self.key not in CANNOT_CONTINUE

    def describe(self) -> str:
        if self.key in PLAIN_NAMES:
            return tr("{name} changed", name=tr_marked(PLAIN_NAMES[self.key]))
        # A setting's name stays as written in settings.toml; a plan's quantity (PLAN_NAMES) is words.
        name = tr_marked(self.key) if self.key in PLAN_NAMES.values() else self.key
        return f"{name}: {self.old!r} -> {self.new!r}"


@dataclass(frozen=True)
class StartPlan:
    action: str                    # "fresh", "resume" or "finished"
    checkpoint: Path | None = None
    run_name: str = ""
    changes: tuple[Change, ...] = field(default_factory=tuple)


def run_identity(settings, train_file: Path, eval_file: Path, base_fingerprint: str, run_name: str) -> dict:
    return {"run_name": run_name,
            "settings": {key: getattr(settings, key) for key in TRAINING_SETTINGS},
            "train_data": file_fingerprint(train_file), "eval_data": file_fingerprint(eval_file),
            "base_model": base_fingerprint, "finished_step": None}


def compare_runs(recorded: dict, current: dict) -> list[Change]:
    changes = [Change(key, recorded.get("settings", {}).get(key), value)
               for key, value in current["settings"].items() if recorded.get("settings", {}).get(key) != value]
    changes += [Change(key, recorded.get(key), current[key]) for key in ("base_model", "train_data", "eval_data")
                if recorded.get(key) != current[key]]
    return changes


def plan_start(recorded: dict | None, current: dict, latest: Path | None, restart: bool, resume: bool) -> StartPlan:
    """Fresh start, resume or "already finished"; a UserError when the user has to choose."""
    if restart or latest is None:
        return StartPlan("fresh", run_name=current["run_name"])
    if recorded is None:
        if not resume:
            raise UserError(tr("{folder} holds checkpoints but no record ({record}) of the settings and data they "
                               "were trained with.", folder=latest.parent, record=RUN_STATE_FILE),
                            tr("Run finetune_gemma.bat --resume to continue from the latest one anyway, or --restart "
                               "to start over (the old checkpoints are deleted)."))
        return StartPlan("resume", latest, current["run_name"])
    changes = tuple(compare_runs(recorded, current))
    blocking = [c for c in changes if not c.can_continue]
    if blocking:
        raise UserError(tr("The checkpoints in {folder} cannot continue with this run: {changes}.",
                           folder=latest.parent, changes="; ".join(
                               f"{c.describe()} ({tr_marked(CANNOT_CONTINUE[c.key])})" for c in blocking)),
                        tr("Run finetune_gemma.bat --restart to train a new adapter from the start (the old "
                           "checkpoints are deleted), or change the setting back."))
    if changes and not resume:
        raise UserError(tr("Since the last training run in {folder} these changed: {changes}.", folder=latest.parent,
                           changes="; ".join(c.describe() for c in changes)),
                        tr("Run finetune_gemma.bat --resume to continue from {checkpoint} with the new values, or "
                           "--restart to start over (the old checkpoints are deleted).", checkpoint=latest.name))
    run_name = recorded.get("run_name") or current["run_name"]
    if recorded.get("finished_step") is not None and not changes:
        return StartPlan("finished", latest, run_name)
    return StartPlan("resume", latest, run_name, changes)


# The run's plan (training/schedule.py) follows from settings, data and the kit's own rules, some of which are not
# settings (whether num_epochs was set by the user, the presets' caps): compared on resume too.
PLAN_NAMES = {"optimizer_steps": N_("planned updates"), "effective_batch": N_("examples per update"),
              "epochs": N_("passes"), "eval_every": N_("updates between evaluations"),
              "warmup_steps": N_("warmup updates")}


def compare_plans(recorded: dict | None, current: dict) -> list[Change]:
    old = (recorded or {}).get("plan")
    if not isinstance(old, dict):   # a run recorded before plans were: nothing to compare with
        return []
    return [Change(PLAN_NAMES[key], old.get(key), current[key]) for key in PLAN_NAMES if old.get(key) != current[key]]


def read_run_state(checkpoints_dir: Path) -> dict | None:
    path = checkpoints_dir / RUN_STATE_FILE
    if not path.exists():
        return None
    return read_json_object(path, tr("Delete it and run finetune_gemma.bat --resume, or start over with --restart."))


def write_run_state(checkpoints_dir: Path, state: dict) -> None:
    with atomic_file(checkpoints_dir / RUN_STATE_FILE) as tmp:
        tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")


# What the Trainer loads from a checkpoint with torch.load(weights_only=True) when it resumes.
TORCH_STATE_FILES = ("rng_state.pth", "rng_state_*.pth", "optimizer.pt", "scheduler.pt")


def check_checkpoint_loadable(folder: Path) -> None:
    """Everything the Trainer reads on resume, read the same way first, so a damaged checkpoint is a plain
    error before training starts (and before --restart could delete anything), not a traceback hours in.

    A file refused by torch.load(weights_only=True) is treated as damaged: loading it without that protection
    could run code from the file, so the way out is another checkpoint, never a looser load.
    """
    import torch
    from transformers.trainer_pt_utils import safe_globals  # the numpy types the Trainer allows in rng_state

    def damaged(name: str, why: str) -> UserError:
        return UserError(tr("The checkpoint {folder} is damaged: {name} {why}.", folder=folder, name=name, why=why),
                         tr("Delete the folder {folder} to resume from the checkpoint before it, or start over with "
                            "finetune_gemma.bat --restart.", folder=folder))

    try:
        json.loads((folder / TRAINER_STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise damaged(TRAINER_STATE_FILE, tr("cannot be read as JSON")) from e
    try:
        parse_safetensors_header(folder / ADAPTER_WEIGHTS_FILE)
    except UserError as e:
        raise damaged(ADAPTER_WEIGHTS_FILE, tr("is not a valid .safetensors file")) from e
    for path in sorted(p for pattern in TORCH_STATE_FILES for p in folder.glob(pattern)):
        try:
            with safe_globals():
                torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            raise damaged(path.name, tr("holds something other than tensors and numbers, so PyTorch's safe "
                                        "loader refuses it")) from e
        except (RuntimeError, EOFError, ValueError, OSError, KeyError) as e:
            raise damaged(path.name, tr("is cut short or is not a PyTorch file")) from e
