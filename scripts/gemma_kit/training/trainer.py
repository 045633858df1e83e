"""The Trainer of the finetune step, assembled: arguments from the run's schedule, our callbacks, the loss.

Everything here is decided elsewhere (the schedule in training/schedule.py, the device and precision in
training/device.py, retention and guards in training/callbacks.py); this module only puts the parts together in
the order the Trainer needs them, so the recipe in steps/finetune.py reads top to bottom.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gemma_kit.core.adapter_folders import CHECKPOINT_PREFIX
from gemma_kit.core.console import say
from gemma_kit.core.language import tr
from gemma_kit.training import collate
from gemma_kit.training.schedule import Schedule

SAMPLE_NEW_TOKENS = 48
MAX_NONFINITE_IN_A_ROW = 5                  # then stop, pointing at the last good checkpoint


@dataclass
class RunParts:
    trainer: object
    collator: collate.PaddingCollator
    guard: object
    ctrl_c: object
    samples: object
    metrics: object
    writer: object
    run_dir: Path
    schedule: Schedule
    retention: object                      # ManageBestCheckpointsCallback: what it could not delete
    memory_estimate: float | None = None   # bytes the memory plan expected beyond the CUDA context


def training_arguments(settings, schedule, machine, precision):
    from transformers import TrainingArguments

    from gemma_kit.training.device import choose_optimizer

    args = TrainingArguments(
        output_dir=str(settings.checkpoints_dir),
        per_device_train_batch_size=settings.batch_size, per_device_eval_batch_size=settings.batch_size,
        # The schedule's numbers, exactly: what `--plan` printed is what runs.
        gradient_accumulation_steps=schedule.accumulation,
        num_train_epochs=schedule.epochs, max_steps=schedule.optimizer_steps,
        learning_rate=settings.learning_rate, lr_scheduler_type="cosine", warmup_steps=schedule.warmup_steps,
        weight_decay=settings.weight_decay, max_grad_norm=settings.max_grad_norm,
        optim=choose_optimizer(machine.cuda_available), bf16=precision.autocast_bf16, fp16=False,
        activation_checkpointing=True, activation_checkpointing_kwargs={"use_reentrant": False},
        eval_strategy="steps", eval_steps=schedule.eval_every, save_strategy="steps", save_steps=schedule.eval_every,
        save_total_limit=None,             # ManageBestCheckpointsCallback decides (best 2 + latest)
        logging_strategy="steps", logging_steps=1, report_to="none", disable_tqdm=True,
        train_sampling_strategy="group_by_length", seed=settings.seed, use_cpu=not machine.cuda_available,
        remove_unused_columns=False, label_names=["labels"], prediction_loss_only=True,
        dataloader_pin_memory=machine.cuda_available,
    )
    # One GPU, whatever the machine has: the 4-bit model lives on cuda:0 and is never copied to other GPUs
    # (Trainer does not DataParallel a 4-bit model), but with n_gpu = device_count() the Trainer would multiply the
    # batch by the number of GPUs and run it all on cuda:0 - beyond the memory plan and the step count.
    _ = args.device          # sets up the devices (and n_gpu) once; n_gpu is read from _n_gpu afterwards
    args._n_gpu = min(args._n_gpu, 1)
    return args


def build_trainer(settings, model, tokenizer, train_data, eval_data, prompts, machine, precision, plan, schedule,
                  extra_callbacks, on_start=lambda: None) -> RunParts:
    """`on_start` runs when training begins, after the check that there is something left to train."""
    from torch.utils.tensorboard import SummaryWriter
    from transformers.integrations import TensorBoardCallback
    from transformers.trainer_callback import PrinterCallback

    from gemma_kit.training import callbacks as cb

    run_dir = settings.runs_dir / plan.run_name
    start_step = checkpoint_step(plan.checkpoint) if plan.action == "resume" else 0
    # purge_step: a resumed run rewrites the curve after its checkpoint (points logged after the checkpoint, before
    # the stop, are dropped), instead of drawing over it; the checkpoint's own step is kept: nothing logs it again.
    writer = SummaryWriter(log_dir=str(run_dir), purge_step=start_step + 1 if start_step else None)
    collator = collate.PaddingCollator(tokenizer.pad_token_id)
    guard = cb.NonFiniteGuard(MAX_NONFINITE_IN_A_ROW)
    metrics = cb.TrainingMetricsCallback(collator, guard)
    samples = cb.SampleRepliesCallback(tokenizer, prompts, writer, SAMPLE_NEW_TOKENS)
    ctrl_c = cb.SaveOnCtrlC()
    retention = cb.ManageBestCheckpointsCallback(settings.keep_best_checkpoints)
    callbacks = [cb.StartCheck(on_start, changed=bool(plan.changes)), metrics, TensorBoardCallback(tb_writer=writer),
                 samples, guard, cb.ApplySettingsOnResume(), cb.EvaluateAtEndCallback(), ctrl_c, retention,
                 cb.RecordBaseModelCallback(settings.model_dir), cb.TrainingBar(), *extra_callbacks]
    trainer_class, loss_options = choose_trainer(settings, model, guard)
    # processing_class=None: checkpoints then hold no tokenizer copy (33 MB each for the real one).
    trainer = trainer_class(model=model, args=training_arguments(settings, schedule, machine, precision),
                            train_dataset=train_data.examples, eval_dataset=eval_data.examples,
                            data_collator=collator, callbacks=callbacks, **loss_options)
    trainer.remove_callback(PrinterCallback)   # it prints every log line; the bar and TensorBoard show them
    return RunParts(trainer, collator, guard, ctrl_c, samples, metrics, writer, run_dir, schedule, retention)


def choose_trainer(settings, model, guard):
    """The Trainer with the chunked loss (issue 11), or the plain one; the non-finite guard sees the loss either
    way."""
    from transformers import Trainer

    from gemma_kit.training.chunked_loss import chunked_loss_trainer_class
    from gemma_kit.training.memory_plan import LOSS_CHUNK_TOKENS

    if not settings.chunked_loss:
        guard.watch(model)
        return Trainer, {}
    say(tr("Gemma 3n patch: the loss is computed {chunk} tokens at a time over the assistant tokens only, without "
           "holding the logits of the whole batch (same loss and gradients).", chunk=LOSS_CHUNK_TOKENS))
    return chunked_loss_trainer_class(), {"chunk_tokens": LOSS_CHUNK_TOKENS, "on_train_loss": guard.record_loss}


def checkpoint_step(checkpoint: Path | None) -> int:
    return int(checkpoint.name[len(CHECKPOINT_PREFIX):]) if checkpoint else 0
