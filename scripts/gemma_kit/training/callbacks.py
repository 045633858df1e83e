"""Trainer callbacks of the finetune step: checkpoint retention, the non-finite guard, sample replies,
throughput metrics, the Ctrl+C save, the final evaluation and the progress bar.

Deletion is where data is lost, so which checkpoints go is decided by a pure function
(`checkpoints_to_delete`), tested on its own; the callback only applies it.
"""
from __future__ import annotations

import math
import os
import shutil
import signal
import time
from pathlib import Path

from transformers import TrainerCallback

from gemma_kit.core.console import UserError, say, warn
from gemma_kit.core.language import tr
from gemma_kit.core.adapter_folders import list_checkpoints


# ---- which checkpoints to keep ------------------------------------------------------------------------------
def best_checkpoints(eval_loss_by_step: dict[int, float | None], keep_best: int) -> list[int]:
    """Steps of the `keep_best` checkpoints with the lowest finite eval loss, best first (ties: earlier)."""
    scored = sorted((loss, step) for step, loss in eval_loss_by_step.items()
                    if loss is not None and math.isfinite(loss))
    return [step for _, step in scored[:keep_best]]


def checkpoints_to_delete(eval_loss_by_step: dict[int, float | None], keep_best: int) -> list[int]:
    """Every checkpoint except the latest (needed to resume) and the `keep_best` best by eval loss.

    A checkpoint saved without an evaluation (Ctrl+C) can only survive as the latest."""
    if not eval_loss_by_step:
        return []
    keep = {max(eval_loss_by_step)} | set(best_checkpoints(eval_loss_by_step, keep_best))
    return sorted(step for step in eval_loss_by_step if step not in keep)


def eval_losses_by_step(log_history: list[dict]) -> dict[int, float]:
    return {entry["step"]: entry["eval_loss"] for entry in log_history if "eval_loss" in entry}


class ManageBestCheckpointsCallback(TrainerCallback):
    """After each save, delete what `checkpoints_to_delete` names.

    On Windows, Explorer, an antivirus scan or a search indexer may hold a file of an old checkpoint for a moment:
    a failed deletion is retried briefly, then left for the next save with a warning. Hours of training must
    never end over a folder that could not be removed yet."""

    RETRIES = 3
    RETRY_PAUSE_SECONDS = 0.5

    def __init__(self, keep_best: int):
        self.keep_best = keep_best
        self.deleted: list[int] = []
        self.undeletable: dict[Path, str] = {}   # folder -> why, retried at every save

    def on_save(self, args, state, control, **kwargs):
        found = list_checkpoints(Path(args.output_dir))
        losses = eval_losses_by_step(state.log_history)
        doomed = {found[step]: step for step in checkpoints_to_delete({s: losses.get(s) for s in found},
                                                                        self.keep_best)}
        # A half-deleted folder may no longer count as a checkpoint (its trainer_state.json went first): keep trying.
        doomed.update({path: None for path in self.undeletable if path not in doomed and path.exists()})
        for path, step in doomed.items():
            problem = remove_folder(path, self.RETRIES, self.RETRY_PAUSE_SECONDS)
            if problem is None:
                self.undeletable.pop(path, None)
                if step is not None:
                    self.deleted.append(step)
            elif path not in self.undeletable:
                self.undeletable[path] = problem
                warn(tr("could not delete the old checkpoint {path} ({problem}); another program (Explorer, an "
                        "antivirus) may be using it. Training goes on; the next save tries again, or delete it "
                        "yourself later.", path=path, problem=problem))
            else:
                self.undeletable[path] = problem

    def on_train_end(self, args, state, control, **kwargs):
        left = [p for p in self.undeletable if p.exists()]
        if left:
            warn(tr("these old checkpoints could not be deleted and take disk space; delete them when no program "
                    "uses them: {folders}", folders=", ".join(map(str, left))))


def remove_folder(path: Path, tries: int, pause: float) -> str | None:
    """Delete `path`; None when done, else the last error in words."""
    problem = None
    for attempt in range(tries):
        try:
            shutil.rmtree(path)
            return None
        except FileNotFoundError:
            return None
        except OSError as e:
            problem = e.strerror or str(e)
            if attempt + 1 < tries:
                time.sleep(pause)
    return problem


class RecordBaseModelCallback(TrainerCallback):
    """Each checkpoint gets the base-model record too, so merge-lora can check any kept checkpoint
    (`gemma-kit merge-lora --adapter output/checkpoints/checkpoint-N`) as it checks the final adapter."""

    def __init__(self, base_dir: Path):
        self.base_dir = base_dir

    def on_save(self, args, state, control, **kwargs):
        from gemma_kit.core.adapter_folders import write_base_model_record

        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if folder.is_dir():
            write_base_model_record(folder, self.base_dir)


# ---- non-finite loss or gradients --------------------------------------------------------------------------
class NonFiniteGuard(TrainerCallback):
    """Skips an optimizer step whose loss or gradients are not finite, counts it, and stops the run after
    `max_in_a_row` such steps in a row.

    Skipping works by dropping the gradients just before `optimizer.step()`: torch's AdamW and bitsandbytes'
    paged AdamW pass over parameters without a gradient, so neither the weights nor the Adam moments move.
    The learning-rate schedule still advances one step."""

    def __init__(self, max_in_a_row: int = 5):
        self.max_in_a_row = max_in_a_row
        self.skipped_steps: list[int] = []
        self.in_a_row = 0
        self.stopped = False
        self._loss_finite = None   # a tensor flag, kept on the device until the step is checked (no sync per batch)

    def watch(self, model) -> None:
        """For a model that returns its loss (the plain path); the chunked loss calls `record_loss` itself."""
        model.register_forward_hook(self._record_output_loss)

    def _record_output_loss(self, module, inputs, output) -> None:
        loss = getattr(output, "loss", None)
        if module.training and loss is not None:
            self.record_loss(loss)

    def record_loss(self, loss) -> None:
        import torch

        finite = torch.isfinite(loss.detach()).all()
        self._loss_finite = finite if self._loss_finite is None else self._loss_finite & finite

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        import torch

        params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        checks = [torch.isfinite(p.grad).all() for p in params]
        if self._loss_finite is not None:
            checks.append(self._loss_finite.to(checks[0].device) if checks else self._loss_finite)
        self._loss_finite = None
        if not checks or bool(torch.stack(checks).all()):
            self.in_a_row = 0
            return
        for p in params:
            p.grad = None
        step = state.global_step + 1
        self.skipped_steps.append(step)
        self.in_a_row += 1
        warn(tr("step {step}: the loss or the gradients were not finite (NaN or infinity); this update was skipped "
                "({in_a_row} in a row, {in_run} in this run).", step=step, in_a_row=self.in_a_row,
                in_run=len(self.skipped_steps)))
        if self.in_a_row >= self.max_in_a_row:
            self.stopped = True
            control.should_training_stop = True


# ---- logs: throughput, padding, memory -----------------------------------------------------------------------
class TrainingMetricsCallback(TrainerCallback):
    """Adds tokens per second (training time only, evaluation excluded), the padding fraction, skipped steps
    and peak GPU memory to each training log, before TensorBoard writes it (so it must come first)."""

    def __init__(self, collator, guard: NonFiniteGuard):
        self.collator = collator
        self.guard = guard
        self.train_seconds = 0.0
        self.tokens_per_second: list[float] = []
        self._step_started = None
        self._logged = (0.0, 0)

    def on_step_begin(self, args, state, control, **kwargs):
        self._step_started = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if self._step_started is not None:
            self.train_seconds += time.perf_counter() - self._step_started

    def on_log(self, args, state, control, logs=None, **kwargs):
        import torch

        if logs is None or "loss" not in logs:
            return
        seconds, tokens = self.train_seconds - self._logged[0], self.collator.real_tokens - self._logged[1]
        if seconds > 0:
            logs["tokens_per_second"] = tokens / seconds
            self.tokens_per_second.append(tokens / seconds)
        self._logged = (self.train_seconds, self.collator.real_tokens)
        logs["padding_fraction"] = self.collator.padding_fraction
        logs["skipped_nonfinite_steps"] = len(self.guard.skipped_steps)
        if torch.cuda.is_available():
            logs["gpu_memory_gb"] = torch.cuda.max_memory_allocated() / 1024 ** 3


# ---- sample replies ------------------------------------------------------------------------------------------
def generate_replies(model, tokenizer, prompt_ids: list[list[int]], max_new_tokens: int) -> list[str]:
    """Greedy replies (no randomness, so the training RNG is untouched and replies compare across evaluations).

    All prompts go in one left-padded batch: one forward pass per new token instead of one per prompt and token."""
    import torch

    was_training = model.training
    model.eval()
    device = next(p for p in model.parameters()).device
    longest = max(len(ids) for ids in prompt_ids)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([[pad] * (longest - len(ids)) + ids for ids in prompt_ids], device=device)
    mask = torch.tensor([[0] * (longest - len(ids)) + [1] * len(ids) for ids in prompt_ids], device=device)
    try:
        with torch.no_grad():
            out = model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                                 do_sample=False, use_cache=True, pad_token_id=pad)
    finally:
        model.train(was_training)
    return [tokenizer.decode(row[longest:], skip_special_tokens=True).strip() for row in out]


class SampleRepliesCallback(TrainerCallback):
    """At each evaluation, the model answers a few fixed eval prompts; the replies go to TensorBoard as text."""

    def __init__(self, tokenizer, prompt_ids: list[list[int]], writer, max_new_tokens: int):
        self.tokenizer = tokenizer
        self.prompt_ids = prompt_ids
        self.writer = writer
        self.max_new_tokens = max_new_tokens
        self.last_replies: list[str] = []

    def on_evaluate(self, args, state, control, model=None, **kwargs):
        if not self.prompt_ids or model is None:
            return
        self.last_replies = generate_replies(model, self.tokenizer, self.prompt_ids, self.max_new_tokens)
        for i, (ids, reply) in enumerate(zip(self.prompt_ids, self.last_replies), start=1):
            prompt = shown_prompt(self.tokenizer.decode(ids, skip_special_tokens=False))
            self.writer.add_text(f"samples/prompt_{i}", f"```\n{prompt}\n```\n\n**{tr('Reply:')}** {reply}",
                                 state.global_step)
        self.writer.flush()


SHOWN_PROMPT_CHARS = 1200


def shown_prompt(text: str, limit: int = SHOWN_PROMPT_CHARS) -> str:
    """The end of a long prompt for TensorBoard, starting at a turn marker (never mid-turn), after "<bos>"."""
    if len(text) <= limit:
        return text
    start = text.find("<start_of_turn>", len(text) - limit)
    if start < 0:   # one turn longer than the limit: show it whole rather than cut it
        start = text.rfind("<start_of_turn>")
    return "<bos>[...]\n" + text[start:]


# ---- Ctrl+C, the final evaluation, the bar -------------------------------------------------------------------
class SaveOnCtrlC(TrainerCallback):
    """The first Ctrl+C lets the current step finish, saves a checkpoint and stops; a second one stops at once."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def on_train_begin(self, args, state, control, **kwargs):
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: leave Ctrl+C as it is
            self._previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        say("\n" + tr("Ctrl+C: finishing this step, then saving a checkpoint. Press Ctrl+C again to stop at once "
                      "(without saving)."))

    def on_step_end(self, args, state, control, **kwargs):
        if self.requested:
            control.should_save = True
            control.should_training_stop = True

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def on_train_end(self, args, state, control, **kwargs):
        self.restore()


class StartCheck(TrainerCallback):
    """Runs first, once the Trainer knows where it starts and how many steps this run has.

    A checkpoint already at the run's last step: when the data or settings changed since (`--resume`), refuse
    (the Trainer would train 0 steps and present the old adapter as trained on the new data). When nothing changed,
    the run was stopped after its last update but before its adapter was written (Ctrl+C during the final
    evaluation or save, a locked output folder): let the Trainer train 0 steps, so finetune chooses and writes the
    adapter now. Then `on_start` (finetune records the run only now, so a refused resume leaves the old run's
    record as it was)."""

    def __init__(self, on_start, changed: bool = False):
        self.on_start = on_start
        self.changed = changed

    def on_train_begin(self, args, state, control, **kwargs):
        if state.global_step and state.global_step >= state.max_steps:
            if self.changed:
                raise UserError(tr("The checkpoint to continue from is at step {step}, and this run has {total} "
                                   "steps in all: there is nothing left to train.", step=state.global_step,
                                   total=state.max_steps),
                                tr("To train a new adapter on the new data or settings, run finetune_gemma.bat "
                                   "--restart. To train the finished adapter longer, raise num_epochs (or max_steps) "
                                   "and use --resume."))
            say(tr("The checkpoint is at the run's last step ({step}): nothing left to train; writing the adapter.",
                   step=state.global_step))
        self.on_start()


class ApplySettingsOnResume(TrainerCallback):
    """On resume, loading the optimizer and scheduler state brings back the checkpoint's learning rate and weight
    decay (torch's `load_state_dict` restores param_groups and `base_lrs`), so `--resume --set learning_rate=...`
    would silently keep the old one. Put this run's values back, at the resumed point of the schedule. The
    schedule's shape (max_steps, warmup) is rebuilt from this run's settings anyway."""

    def on_train_begin(self, args, state, control, optimizer=None, lr_scheduler=None, **kwargs):
        import torch

        if state.global_step == 0:
            return
        assert isinstance(lr_scheduler, torch.optim.lr_scheduler.LambdaLR), type(lr_scheduler)
        # Trainer.create_optimizer makes two groups: [decayed weights, no-decay weights (biases, norms)].
        assert len(optimizer.param_groups) == 2, len(optimizer.param_groups)
        optimizer.param_groups[0]["weight_decay"] = args.weight_decay
        lr_scheduler.base_lrs = [args.learning_rate] * len(optimizer.param_groups)
        for group, factor in zip(optimizer.param_groups, lr_scheduler.lr_lambdas):
            group["initial_lr"] = args.learning_rate
            group["lr"] = args.learning_rate * factor(lr_scheduler.last_epoch)
        lr_scheduler._last_lr = [group["lr"] for group in optimizer.param_groups]


class EvaluateAtEndCallback(TrainerCallback):
    """Evaluate and save at the last step too, so the final adapter has an eval loss and takes part in best-2."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.max_steps and state.global_step >= state.max_steps:
            control.should_evaluate = True
            control.should_save = True


class TrainingBar(TrainerCallback):
    """One bar for the whole run, with ETA, starting where a resumed run starts; loss in its postfix."""

    def __init__(self):
        self.bar = None

    def on_train_begin(self, args, state, control, **kwargs):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc=tr("Training"), unit=tr("step"),
                        dynamic_ncols=True, disable=bool(os.environ.get("GEMMA_KIT_NO_PROGRESS")))

    def on_step_end(self, args, state, control, **kwargs):
        self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):
        shown = {k: f"{logs[k]:.4g}" for k in ("loss", "eval_loss") if isinstance((logs or {}).get(k), float)}
        if shown and self.bar is not None:
            self.bar.set_postfix(shown)

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
