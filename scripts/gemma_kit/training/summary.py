"""What a finished (or stopped) run leaves for the user: the adapter chosen by eval loss, training_summary.json
and the lines finetune prints at the end.

The adapter that goes on to the report, merge and GGUF is the checkpoint with the lowest eval loss, not the last
step: with several passes over a small personal dataset the eval loss usually bottoms out before the end (the
model starts to parrot the training chats). The last step stays in its checkpoint folder.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from gemma_kit.core.adapter_folders import ADAPTER_WEIGHTS_FILE, list_checkpoints, write_base_model_record
from gemma_kit.core.console import UserError
from gemma_kit.core.language import tr, tr_n
from gemma_kit.core.paths import atomic_file, atomic_folder

SUMMARY_FILE = "training_summary.json"
SETTINGS_FILE = "training_settings.json"   # saved inside the adapter folder
ADAPTER_FILES = (ADAPTER_WEIGHTS_FILE, "adapter_config.json")   # what peft's save_pretrained writes


@dataclass(frozen=True)
class ChosenAdapter:
    step: int
    eval_loss: float | None
    source: Path | None      # the checkpoint folder it was copied from; None: the model in memory (no eval)
    reason: str

    def to_dict(self) -> dict:
        return {"step": self.step, "eval_loss": self.eval_loss, "source": str(self.source) if self.source else None,
                "reason": self.reason}


def choose_adapter(checkpoints_dir: Path, eval_loss_by_step: dict[int, float], last_step: int,
                   exclude: set[Path] = frozenset()) -> ChosenAdapter:
    """The kept checkpoint with the lowest finite eval loss (ties: the earlier); the last step when none has one.

    Only whole checkpoints the retention meant to keep take part: one it failed to delete (Windows held a file) may
    be half gone, and is not a choice anyway. The reason compares with every evaluation of the run, kept or not."""
    from gemma_kit.training.callbacks import best_checkpoints

    found = {s: p for s, p in list_checkpoints(checkpoints_dir).items()
             if p not in exclude and all((p / name).is_file() for name in ADAPTER_FILES)}
    best = best_checkpoints({s: eval_loss_by_step.get(s) for s in found}, 1)
    overall = best_checkpoints({s: v for s, v in eval_loss_by_step.items() if s <= last_step}, 1)
    evaluated = len([s for s in eval_loss_by_step if s <= last_step])
    if not best:
        return ChosenAdapter(last_step, None, None,
                             tr("no kept checkpoint has an eval loss, so the last step's adapter"))
    step = best[0]
    loss = eval_loss_by_step[step]
    # The reason is in the user's language in training_summary.json too: it is a sentence for them, not a key.
    if overall and overall[0] != step:
        reason = tr("the lowest eval loss among the kept checkpoints ({loss:.4g}); the lowest of all {evaluated} "
                    "evaluations, {best:.4g} at step {best_step}, was not kept (keep_best_checkpoints)", loss=loss,
                    evaluated=evaluated, best=eval_loss_by_step[overall[0]], best_step=overall[0])
    elif step == last_step:
        reason = tr("the lowest eval loss ({loss:.4g}) of {evaluated} evaluations was at the last step", loss=loss,
                    evaluated=evaluated)
    else:
        reason = tr("the lowest eval loss ({loss:.4g}) of {evaluated} evaluations; the last step {last_step} had "
                    "{last_loss:.4g} (training further made it worse)", loss=loss, evaluated=evaluated,
                    last_step=last_step, last_loss=eval_loss_by_step.get(last_step, float("nan")))
    return ChosenAdapter(step, loss, found[step], reason)


def save_adapter(chosen: ChosenAdapter, model, tokenizer, settings, base_dir: Path) -> None:
    """peft's adapter files (copied byte for byte from the chosen checkpoint, or saved from the model), the
    tokenizer and the base-model record merge-lora checks, built under a temporary name."""
    with atomic_folder(settings.adapter_dir) as tmp:
        if chosen.source is None:
            model.save_pretrained(str(tmp))
        else:
            for name in ADAPTER_FILES:
                shutil.copy2(chosen.source / name, tmp / name)
        tokenizer.save_pretrained(str(tmp))
        write_base_model_record(tmp, base_dir)
        settings.save_json(tmp / SETTINGS_FILE)
        (tmp / "chosen_checkpoint.json").write_text(json.dumps(chosen.to_dict(), indent=2), encoding="utf-8")


def summary_path(settings) -> Path:
    return settings.path(settings.output_dir) / SUMMARY_FILE


def write_summary(settings, parts, train_data, eval_data, machine, precision, status: str, schedule=None,
                  chosen: ChosenAdapter | None = None) -> dict:
    from gemma_kit.training.callbacks import best_checkpoints, eval_losses_by_step

    state = parts.trainer.state
    found = list_checkpoints(settings.checkpoints_dir)
    losses = eval_losses_by_step(state.log_history)
    train_losses = [(e["step"], e["loss"]) for e in state.log_history if "loss" in e]
    speeds = sorted(parts.metrics.tokens_per_second)
    summary = {
        "status": status, "step": state.global_step, "max_steps": state.max_steps, "epoch": state.epoch,
        "first_train_loss": train_losses[0][1] if train_losses else None,
        "last_train_loss": train_losses[-1][1] if train_losses else None,
        "eval_loss_by_step": {str(s): v for s, v in sorted(losses.items())},
        "best_checkpoints": [{"step": s, "eval_loss": losses[s], "path": str(found[s])}
                             for s in best_checkpoints({s: losses.get(s) for s in found},
                                                       settings.keep_best_checkpoints)],
        "latest_checkpoint": str(found[max(found)]) if found else None,
        "adapter": chosen.to_dict() if chosen else None,
        "schedule": schedule_record(schedule) if schedule else None,
        "skipped_nonfinite_steps": parts.guard.skipped_steps,
        "train_examples": len(train_data.examples), "train_examples_truncated": train_data.truncated,
        "train_lines_skipped_too_long": train_data.dropped_lines,
        "train_tokens": train_data.total_tokens, "train_reply_tokens": train_data.trained_tokens,
        "eval_examples": len(eval_data.examples), "eval_lines_skipped_too_long": eval_data.dropped_lines,
        "padding_fraction": parts.collator.padding_fraction, "input_tokens_this_session": parts.collator.real_tokens,
        "tokens_per_second_median": speeds[len(speeds) // 2] if speeds else None,
        "train_seconds": parts.metrics.train_seconds, "device": machine.gpu_name or "cpu",
        "compute_dtype": precision.compute_dtype, "adapter_dir": str(settings.adapter_dir),
        "tensorboard_dir": str(parts.run_dir), "last_sample_replies": parts.samples.last_replies,
        # The estimate next to the measured peak: how far off the memory plan is on a real GPU (dev_log.txt).
        "gpu_memory_estimate_bytes": parts.memory_estimate if machine.cuda_available else None,
        "gpu_memory_peak_bytes": gpu_peak_memory() if machine.cuda_available else None,
    }
    with atomic_file(summary_path(settings)) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
    return summary


def schedule_record(schedule) -> dict:
    return {"optimizer_steps": schedule.optimizer_steps, "evaluations": schedule.evaluations,
            "eval_every": schedule.eval_every, "effective_batch": schedule.effective_batch, "epochs": schedule.epochs,
            "warmup_steps": schedule.warmup_steps, "notes": list(schedule.notes)}


def measured_seconds_per_update(settings, device_name: str, tokens_per_update: float) -> tuple[float | None, str]:
    """From the last run's training_summary.json on the same device: its median training speed. None without."""
    path = summary_path(settings)
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, ""
    speed = earlier.get("tokens_per_second_median") if isinstance(earlier, dict) else None
    if not isinstance(speed, (int, float)) or speed <= 0 or earlier.get("device") != device_name:
        return None, ""
    return tokens_per_update / speed, tr("measured in the last run on {device}: {speed:,.0f} tokens/s",
                                         device=device_name, speed=speed)


def gpu_peak_memory() -> int:
    """The most this process held in tensors on the GPU (the caching allocator's view, beyond the CUDA context)."""
    import torch

    return int(torch.cuda.max_memory_allocated())


def describe_result(summary: dict) -> str:
    lines = [tr("Trained {steps} steps: train loss {first:.4g} -> {last:.4g}; padding {padding:.1f}% of the batch "
                "tokens.", steps=summary["step"], first=summary["first_train_loss"], last=summary["last_train_loss"],
                padding=100 * summary["padding_fraction"])]
    if summary["best_checkpoints"]:
        best = ", ".join(tr("step {step} (eval loss {loss:.4g})", step=b["step"], loss=b["eval_loss"])
                         for b in summary["best_checkpoints"])
        lines.append(tr("Best checkpoints kept: {best}.", best=best))
    chosen = summary.get("adapter")
    if chosen:
        lines.append(tr("The adapter is step {step}'s: {reason}.", step=chosen["step"], reason=chosen["reason"]))
        if chosen["step"] != summary["step"] and summary.get("latest_checkpoint"):
            lines.append(tr('The last step\'s adapter stays in {folder} (merge_lora.bat --adapter "{folder}" merges '
                            'it instead).', folder=summary["latest_checkpoint"]))
    if summary.get("gpu_memory_peak_bytes") and summary.get("gpu_memory_estimate_bytes"):
        peak, estimate = summary["gpu_memory_peak_bytes"] / 1024**3, summary["gpu_memory_estimate_bytes"] / 1024**3
        lines.append(tr("GPU memory: peak {peak:.2f} GB in tensors (the estimate was {estimate:.2f} GB).", peak=peak,
                        estimate=estimate))
    if summary["skipped_nonfinite_steps"]:
        skipped = summary["skipped_nonfinite_steps"]
        lines.append(tr_n(len(skipped), "Skipped {n} update(s) with NaN/infinite values (steps {steps}).",
                          "Skipped {n} update(s) with NaN/infinite values (steps {steps}).", steps=skipped))
    return "\n".join(lines)


def non_finite_error(settings, parts) -> UserError:
    guard = parts.guard
    streak = guard.skipped_steps[-guard.in_a_row:]
    good = {s: p for s, p in list_checkpoints(settings.checkpoints_dir).items() if s < streak[0]}
    message = tr("Training stopped at step {step}: the loss or the gradients were NaN or infinite {count} steps in "
                 "a row (steps {first}-{last}). ", step=parts.trainer.state.global_step, count=len(streak),
                 first=streak[0], last=streak[-1])
    if not good:
        return UserError(message + tr("No checkpoint was saved before that."),
                         tr("Lower learning_rate (e.g. --set learning_rate=5e-5) and run finetune_gemma.bat "
                            "--restart. If it happens again, check the dataset for very long or odd examples."))
    return UserError(
        message + tr("The last good checkpoint is {folder} (step {step}).", folder=good[max(good)], step=max(good)),
        tr("Lower learning_rate (e.g. --set learning_rate=5e-5) and run finetune_gemma.bat --resume (the updates with "
           "NaN were skipped, so the latest checkpoint still holds that step's weights), or --restart. If it happens "
           "again, check the dataset for very long or odd examples."))
