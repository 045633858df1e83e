"""How long a run trains, counted in optimizer updates: the presets' recipe applied to this dataset.

A preset says what it does to the model (the effective batch, the passes over the data), not a raw gradient
accumulation: with accumulation 64 at batch 1, 1,400 examples gave 22 updates, too few to move a LoRA (issue 16,
dev_log.txt 2026-12-06). From the number of training examples this module derives the updates, how often to
evaluate (about TARGET_EVALUATIONS times per run, so "the best checkpoints" is a real choice) and the warmup.
Small datasets get more passes (within the preset's cap) so the run has at least MIN_UPDATES updates; huge ones
are capped in updates so a run ends in hours, not days. Every such change is a note the user reads.

Pure arithmetic, no torch: `finetune --plan` prints it without loading a model, and the Trainer is given exactly
these numbers (max_steps, eval/save steps, warmup steps), so what was printed is what runs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from gemma_kit.core.language import tr, tr_n
from gemma_kit.core.settings import PRESET_LIMITS

MIN_UPDATES = 50           # below this a LoRA barely moves and the eval curve has too few points to pick from
TARGET_EVALUATIONS = 10    # evaluations (each with a checkpoint) per run, the final one included


@dataclass(frozen=True)
class Schedule:
    examples: int
    batch_size: int
    accumulation: int
    epochs: int                 # passes the run makes (a capped run may stop inside one)
    updates_per_epoch: int
    optimizer_steps: int        # what the Trainer runs (its max_steps)
    eval_every: int             # evaluate and save every this many updates
    warmup_steps: int
    notes: tuple[str, ...] = ()  # what was changed from the preset for this dataset, and why

    @property
    def effective_batch(self) -> int:
        return self.batch_size * self.accumulation

    @property
    def evaluations(self) -> int:
        """Evaluation points: every eval_every updates, plus the final one (finetune always evaluates the end)."""
        return self.optimizer_steps // self.eval_every + (1 if self.optimizer_steps % self.eval_every else 0)

    def machine_line(self) -> str:
        return (f"plan: optimizer_steps={self.optimizer_steps} evaluations={self.evaluations} "
                f"effective_batch={self.effective_batch} epochs={self.epochs}")


def updates_per_epoch(examples: int, batch_size: int, accumulation: int) -> int:
    """As the Trainer counts them: batches per pass, then one update per `accumulation` batches, a last partial
    group included (transformers' `num_update_steps_per_epoch`)."""
    batches = math.ceil(examples / batch_size)
    return max(1, math.ceil(batches / accumulation))


def accumulation_for(settings) -> int:
    """gradient_accumulation_steps 0 (the default) means: whatever reaches the effective batch."""
    if settings.gradient_accumulation_steps:
        return settings.gradient_accumulation_steps
    return max(1, math.ceil(settings.effective_batch_size / settings.batch_size))


def plan_schedule(settings, examples: int) -> Schedule:
    """The run's length for `examples` training examples. A value the user set himself (num_epochs, max_steps,
    eval_steps in settings.toml or --set) is taken as it is; the preset's adjustments apply to the rest."""
    limits = PRESET_LIMITS[settings.preset]
    chosen = getattr(settings, "explicit", frozenset())
    accumulation = accumulation_for(settings)
    per_epoch = updates_per_epoch(examples, settings.batch_size, accumulation)
    epochs, notes = settings.num_epochs, []
    if settings.max_steps > 0:
        total = settings.max_steps
        epochs = math.ceil(total / per_epoch)
        notes.append(tr("max_steps = {total} decides the length ({passes:.1f} passes over the data).", total=total,
                        passes=total / per_epoch))
    else:
        if per_epoch * epochs < MIN_UPDATES and "num_epochs" not in chosen and epochs < limits.max_epochs:
            raised = min(limits.max_epochs, math.ceil(MIN_UPDATES / per_epoch))
            notes.append(tr("Small dataset: {updates} updates would barely change the model, so it makes {raised} "
                            "passes instead of {epochs} (the most for '{preset}'; set num_epochs to choose "
                            "yourself).", updates=per_epoch * epochs, raised=raised, epochs=epochs,
                            preset=settings.preset))
            epochs = raised
        total = per_epoch * epochs
        if total > limits.max_updates:
            notes.append(tr("Large dataset: the run stops after {cap:,} updates instead of {total:,} ({seen:,} "
                            "examples seen, about {passes:.2f} passes) so it ends in hours, not days; set max_steps "
                            "to train longer.", cap=limits.max_updates, total=total,
                            seen=limits.max_updates * accumulation * settings.batch_size,
                            passes=limits.max_updates / per_epoch))
            total = limits.max_updates
            epochs = math.ceil(total / per_epoch)
    eval_every = settings.eval_steps or max(1, math.ceil(total / TARGET_EVALUATIONS))
    warmup = round(settings.warmup_ratio * total)
    warmup = max(1, warmup) if settings.warmup_ratio > 0 else 0
    return Schedule(examples=examples, batch_size=settings.batch_size, accumulation=accumulation, epochs=epochs,
                    updates_per_epoch=per_epoch, optimizer_steps=total, eval_every=min(eval_every, total),
                    warmup_steps=min(warmup, total - 1) if total > 1 else 0, notes=tuple(notes))


# An evaluation example costs a forward pass, no backward: about a third of a training example.
EVAL_COST_PER_TRAINING_EXAMPLE = 1 / 3


def describe_schedule(schedule: Schedule, settings, total_tokens: int, reply_tokens: int,
                      seconds_per_update: float | None, speed_source: str = "", eval_examples: int = 0) -> str:
    """The machine-readable line, then the plan in plain words (printed by `finetune --plan` and before training)."""
    s = schedule
    lines = [s.machine_line(),
             tr("Training plan ({preset} preset): {examples:,} training examples, {tokens:,} tokens, {replies:,} of "
                "them in the replies the model learns (each reply once).", preset=settings.preset,
                examples=s.examples, tokens=total_tokens, replies=reply_tokens),
             "  " + tr("{batch} examples per update ({size} x {accumulation} accumulated), ", batch=s.effective_batch,
                       size=s.batch_size, accumulation=s.accumulation)
             + tr_n(s.epochs, "{n} pass over the data", "{n} passes over the data")
             + tr(": {updates:,} updates; learning rate {rate:g}, warming up over the first {warmup} updates.",
                  updates=s.optimizer_steps, rate=settings.learning_rate, warmup=s.warmup_steps),
             "  " + tr("Evaluation and a checkpoint every {every} updates: {evaluations} evaluations of {count:,} "
                       "held-out examples. The checkpoint with the lowest eval loss becomes the adapter.",
                       every=s.eval_every, evaluations=s.evaluations, count=eval_examples)]
    lines += [f"  {note}" for note in s.notes]
    if seconds_per_update:
        evaluating = (seconds_per_update / s.effective_batch * eval_examples * EVAL_COST_PER_TRAINING_EXAMPLE
                      * s.evaluations)
        total = seconds_per_update * s.optimizer_steps + evaluating
        lines.append("  " + tr("Time: about {seconds:.1f} s per update ({source}), about {duration} in all, "
                               "evaluations included.", seconds=seconds_per_update, source=speed_source,
                               duration=format_duration(total)))
    else:
        lines.append("  " + tr("Time: the progress bar shows it after the first updates (no earlier run on this "
                               "machine to measure from)."))
    return "\n".join(lines)


def format_duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return tr("{minutes} min", minutes=max(1, minutes))
    return tr("{hours} h {minutes:02d} min", hours=minutes // 60, minutes=minutes % 60)
