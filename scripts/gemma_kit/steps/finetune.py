"""Train a LoRA adapter for Gemma 3n (QLoRA) on data/train_dataset.jsonl, evaluating on data/eval_dataset.jsonl.

Only the text part of the model is loaded, in 4-bit; the loss covers each assistant reply once. How long it
trains is planned in optimizer updates from the preset and the number of examples (training/schedule.py; `--plan`
prints the plan and stops). About 10 times per run it evaluates, saves a checkpoint and writes a few sample
replies to TensorBoard; it keeps the 2 best checkpoints (lowest eval loss) plus the latest. Ctrl+C saves a
checkpoint and stops; running it again continues where it stopped (if the data or settings changed since, choose
--resume or --restart). The checkpoint with the lowest eval loss becomes output/lora_adapter/; a summary goes to
output/training_summary.json.

Before loading anything it prints how much GPU memory the run needs (part by part) and stops, in plain words,
when that clearly exceeds the free GPU memory (--ignore-memory-check starts anyway). To fit 6-12 GB GPUs the
per-layer embedding table stays in ordinary RAM and the loss is computed 128 tokens at a time
(per_layer_table_on_gpu, chunked_loss in settings.toml); neither changes the result.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import warnings
from datetime import datetime
from pathlib import Path

from gemma_kit.core.adapter_folders import ADAPTER_WEIGHTS_FILE, CHECKPOINT_PREFIX, latest_checkpoint
from gemma_kit.core.console import UserError, next_step, say, warn
from gemma_kit.core.language import tr, tr_marked, tr_n
from gemma_kit.core.model_files import check_is_gemma3n, checkpoint_fingerprint, index_tensors, read_config
from gemma_kit.core.settings import replace_checked
from gemma_kit.core.step_results import TrainingFinished
from gemma_kit.training import collate, resume, schedule as run_schedule, summary as run_summary  # light: no torch
from gemma_kit.training.memory_check import check_memory
from gemma_kit.training.trainer import RunParts, build_trainer

EPILOG = """examples:
  gemma-kit finetune                          train, or continue the interrupted run
  gemma-kit finetune --plan                   print how many updates and evaluations the run makes, then stop
  gemma-kit finetune --max-steps 200          stop after 200 optimizer steps
  gemma-kit finetune --resume --set learning_rate=1e-4   continue with a changed setting
  gemma-kit finetune --restart --preset quick            start over (deletes the old checkpoints)

next: merge_lora.bat  (or: gemma-kit merge-lora)"""

SAMPLE_PROMPTS = 3                          # fixed eval prompts answered at each evaluation (TensorBoard text)
# Held-out examples read at each evaluation. 5% of a 50,000-example dataset is ~2,600: ten evaluations of those
# would take longer than the capped training itself; 256 evenly spread examples measure the curve well enough.
MAX_EVAL_EXAMPLES = 256
EXIT_INTERRUPTED = 130                      # Ctrl+C, like cli.main

# What decides the run: a user reading the console sees these first (the full set is in the saved JSON).
TRAINING_SETTINGS = ("model", "preset", "lora_rank", "learning_rate", "effective_batch_size", "num_epochs",
                     "max_seq_length", "batch_size")

def add_arguments(parser) -> None:
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--restart", action="store_true",
                        help="start over: delete the old checkpoints and train a new adapter from the beginning")
    choice.add_argument("--resume", action="store_true",
                        help="continue from the latest checkpoint even though the data or settings changed since")
    parser.add_argument("--max-steps", type=int, metavar="N", help="stop after N optimizer steps "
                                                                   "(same as --set max_steps=N)")
    parser.add_argument("--base", metavar="PATH", help="the base model folder (default: the model setting's folder "
                                                       "under models/)")
    parser.add_argument("--ignore-memory-check", action="store_true",
                        help="start even when the GPU memory estimate says the run clearly does not fit")
    parser.add_argument("--plan", action="store_true",
                        help="read the data and the tokenizer, print the training plan (updates, evaluations, memory) "
                             "and stop: no model is loaded, nothing is written")


def run(settings, args, extra_callbacks=()) -> int:
    """The recipe, top to bottom. `extra_callbacks` (TrainerCallbacks) are for tests and the demo."""
    # ---- settings
    settings = apply_flags(settings, args)
    plan_only = bool(getattr(args, "plan", False))
    say(tr("finetune: training a LoRA adapter (QLoRA) on Gemma 3n. Settings:"))
    say(settings.describe(TRAINING_SETTINGS))
    base_dir = check_inputs(settings)
    start = None if plan_only else decide_start(settings, args, base_dir)
    if start is not None and start.action == "finished":
        return report_already_finished(settings, start)
    with warnings.catch_warnings():
        # transformers/peft deprecation notices are for developers; a user can do nothing about them.
        warnings.filterwarnings("ignore", category=FutureWarning)
        machine, precision = choose_machine()
        # ---- data and the plan: how many updates, how often to evaluate, how much memory
        tokenizer = load_tokenizer(base_dir)
        train_data, eval_data, prompts = prepare_data(settings, tokenizer)
        schedule = run_schedule.plan_schedule(settings, len(train_data.examples))
        say(describe_plan(settings, schedule, train_data, eval_data, machine))
        if start is not None and start.action == "resume":
            start = check_plan_unchanged(settings, start, schedule, bool(getattr(args, "resume", False)))
        memory = check_memory(settings, base_dir, machine, ignore=bool(getattr(args, "ignore_memory_check", False)),
                              refuse=not plan_only)
        if plan_only:
            say(tr("Nothing was loaded or written (--plan)."))
            next_step("finetune_gemma.bat", "gemma-kit finetune")
            return 0
        # ---- model
        model = build_model(settings, base_dir, machine, precision, memory.table_on_gpu)
        if start.action == "fresh":   # only now: a run refused or failed above must not have deleted the old one
            clear_old_run(settings.checkpoints_dir)
        # ---- trainer
        parts = build_trainer(settings, model, tokenizer, train_data, eval_data, prompts, machine, precision, start,
                              schedule, list(extra_callbacks),
                              on_start=lambda: record_run(settings, start, base_dir, schedule))
        parts.memory_estimate = memory.plan.to_allocate
        # ---- train
        train(settings, parts, start)
    # ---- report
    stopped_early = report(settings, parts, model, tokenizer, base_dir, train_data, eval_data, machine, precision)
    if stopped_early is not None:
        return stopped_early
    # The report, merge and convert load models of their own: the trained one must not hold the GPU meanwhile.
    del parts, model
    release_memory()
    return TrainingFinished(settings.adapter_dir)  # the pipeline runs report / merge / convert next


# ---- settings ---------------------------------------------------------------------------------------------
def apply_flags(settings, args):
    changes = {}
    if getattr(args, "input", None):
        changes["data_dir"] = args.input
    if getattr(args, "output", None):
        changes["output_dir"] = args.output
    if getattr(args, "base", None):
        changes["model_path"] = args.base
    if getattr(args, "max_steps", None) is not None:
        changes["max_steps"] = args.max_steps
    return replace_checked(settings, "--max-steps", **changes) if changes else settings


def check_inputs(settings) -> Path:
    for path in (settings.train_file, settings.eval_file):
        if not path.is_file():
            raise UserError(tr("{path} does not exist.", path=path),
                            tr("Run prepare_dataset.bat first: it turns your chat exports into the training files."))
    base_dir = settings.model_dir
    if not base_dir.is_dir():
        raise UserError(tr("The base model folder {folder} does not exist.", folder=base_dir),
                        tr("Run download_model.bat first, or point to your copy with --base or model_path in "
                           "settings.toml."))
    check_is_gemma3n(read_config(base_dir), base_dir)
    return base_dir


def decide_start(settings, args, base_dir: Path) -> resume.StartPlan:
    run_name = f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{settings.preset}"
    current = resume.run_identity(settings, settings.train_file, settings.eval_file,
                                  checkpoint_fingerprint(base_dir), run_name)
    plan = resume.plan_start(resume.read_run_state(settings.checkpoints_dir), current,
                             latest_checkpoint(settings.checkpoints_dir),
                             restart=bool(getattr(args, "restart", False)), resume=bool(getattr(args, "resume", False)))
    if plan.action == "resume":
        # Read it as the Trainer will, before anything loads: a damaged file is a plain error now, not hours in.
        resume.check_checkpoint_loadable(plan.checkpoint)
        say(tr("Continuing the run '{run_name}' from {checkpoint}.", run_name=plan.run_name,
               checkpoint=plan.checkpoint))
        for change in plan.changes:
            say(tr("  changed since: {change} (the new value is used)", change=change.describe()))
    return plan


def clear_old_run(checkpoints_dir: Path) -> None:
    """A fresh start removes the old run's checkpoints and record (only those: nothing else in the folder)."""
    old = [p for p in checkpoints_dir.glob(CHECKPOINT_PREFIX + "*") if p.is_dir()]
    for path in old:
        shutil.rmtree(path)
    (checkpoints_dir / resume.RUN_STATE_FILE).unlink(missing_ok=True)
    if old:
        say(tr_n(len(old), "Starting over: deleted {n} old checkpoint(s) in {folder}.",
                 "Starting over: deleted {n} old checkpoint(s) in {folder}.", folder=checkpoints_dir))


def choose_machine():
    from gemma_kit.training.device import choose_precision, describe_machine, detect_machine

    machine = detect_machine()
    precision = choose_precision(machine.cuda_available, machine.bf16_supported)
    say(tr("Device: {device}. Precision: 4-bit NF4 weights, {dtype} compute; why: {why}.",
           device=describe_machine(machine), dtype=precision.compute_dtype, why=tr_marked(precision.note)))
    if not machine.cuda_available:
        warn(tr("no CUDA GPU found: training runs on the CPU. That is fine for the demo's tiny model and far too "
                "slow for the real Gemma 3n (days). Install the CUDA build of PyTorch on a machine with an NVIDIA "
                "GPU."))
    return machine, precision


# ---- data -------------------------------------------------------------------------------------------------
def load_tokenizer(base_dir: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    if not tokenizer.chat_template:
        raise UserError(tr("{folder} has no chat template (tokenizer_config.json / chat_template.jinja).",
                           folder=base_dir),
                        tr("Download the instruction-tuned model (gemma-3n-E2B-it or -E4B-it) with "
                           "download_model.bat."))
    return tokenizer


def prepare_data(settings, tokenizer):
    train_conv = collate.read_conversations(settings.train_file)
    eval_conv = collate.read_conversations(settings.eval_file)
    limit = settings.max_seq_length
    train_data = collate.prepare_examples(tokenizer, train_conv, limit, settings.train_file)
    eval_data = collate.prepare_examples(tokenizer, eval_conv, limit, settings.eval_file, for_eval=True)
    for label, data, path in ((tr("Training examples"), train_data, settings.train_file),
                              (tr("Evaluation examples"), eval_data, settings.eval_file)):
        say(describe_data(label, data, limit))
        if not data.examples:
            raise UserError(tr("Every example in {path} is longer than max_seq_length = {limit} tokens.",
                               path=path, limit=limit),
                            tr("Raise max_seq_length in settings.toml (more memory), or prepare the dataset with "
                               "shorter dialogs (window_size / max_message_length)."))
    if len(eval_data.examples) > MAX_EVAL_EXAMPLES:
        say(tr("Each evaluation reads {used} of the {count:,} evaluation examples, spread evenly over the file (all "
               "of them would take longer than training).", used=MAX_EVAL_EXAMPLES, count=len(eval_data.examples)))
        eval_data = collate.spread_subset(eval_data, MAX_EVAL_EXAMPLES)
    prompts = collate.sample_prompt_ids(tokenizer, eval_conv, SAMPLE_PROMPTS, limit)
    return train_data, eval_data, prompts


def describe_data(label: str, data: collate.PreparedData, limit: int) -> str:
    """`label`: "Training examples" or "Evaluation examples", already in the user's language."""
    text = tr("{label}: {count:,} ({tokens:,} tokens; {trained:,} of them in the replies the loss covers, each "
              "reply once)", label=label, count=len(data.examples), tokens=data.total_tokens,
              trained=data.trained_tokens)
    if data.truncated:
        text += tr("; {count:,} lost their oldest turns to fit {limit} tokens", count=data.truncated, limit=limit)
    if data.dropped_lines:
        lines = ", ".join(map(str, data.dropped_lines[:10])) + (" ..." if len(data.dropped_lines) > 10 else "")
        text += tr("; {count:,} skipped as longer than {limit} tokens even alone (lines {lines})",
                   count=len(data.dropped_lines), limit=limit, lines=lines)
    return text + "."


def describe_plan(settings, schedule, train_data: collate.PreparedData, eval_data: collate.PreparedData,
                  machine) -> str:
    tokens_per_update = train_data.total_tokens / max(1, len(train_data.examples)) * schedule.effective_batch
    seconds, source = run_summary.measured_seconds_per_update(settings, machine.gpu_name or "cpu", tokens_per_update)
    return run_schedule.describe_schedule(schedule, settings, train_data.total_tokens, train_data.trained_tokens,
                                          seconds, source, eval_examples=len(eval_data.examples))


# ---- model ------------------------------------------------------------------------------------------------
def build_model(settings, base_dir: Path, machine, precision, table_on_gpu: bool = True):
    from transformers import set_seed

    from gemma_kit.training.device import choose_device, memory_errors_in_plain_words
    from gemma_kit.training.model_loading import (add_lora, describe_left_out, describe_lora, load_text_config,
                                                  load_text_model, summarize_left_out)

    config = read_config(base_dir)
    say(tr("Loading {name} (text model only, 4-bit) ...", name=base_dir.name))
    with memory_errors_in_plain_words(tr("loading {name}", name=base_dir.name),
                                      tr('use the smaller model (model = "E2B" in settings.toml, then '
                                         'download_model.bat)')):
        model = load_text_model(base_dir, load_text_config(config), precision,
                                choose_device(machine.cuda_available), per_layer_table_on_gpu=table_on_gpu)
    left_out = summarize_left_out(index_tensors(base_dir), config.get("text_config") or config)
    say(describe_left_out(left_out))
    set_seed(settings.seed)   # the LoRA initialisation draws random numbers: same seed, same start
    model = add_lora(model, settings.lora_rank, settings.lora_alpha, settings.lora_dropout)
    say(describe_lora(model, settings.lora_rank, settings.lora_alpha))
    return model


def check_plan_unchanged(settings, start: resume.StartPlan, schedule, resume_anyway: bool) -> resume.StartPlan:
    """The same settings can plan another run (a setting now written by the user is no longer adjusted, the kit's
    rules changed): continuing would quietly change the schedule mid-run, so it is a choice, as for settings."""
    changes = resume.compare_plans(resume.read_run_state(settings.checkpoints_dir), plan_record(schedule))
    if changes and not resume_anyway:
        raise UserError(tr("Since the last training run in {folder} its plan changed: {changes}.",
                           folder=settings.checkpoints_dir, changes="; ".join(c.describe() for c in changes)),
                        tr("Run finetune_gemma.bat --resume to continue from {checkpoint} with the new plan, or "
                           "--restart to start over (the old checkpoints are deleted).",
                           checkpoint=start.checkpoint.name))
    for change in changes:
        say(tr("  changed since: {change} (the new value is used)", change=change.describe()))
    return dataclasses.replace(start, changes=start.changes + tuple(changes))


def plan_record(schedule) -> dict:
    return {key: getattr(schedule, key) for key in resume.PLAN_NAMES}


def record_run(settings, plan, base_dir: Path, schedule) -> None:
    current = resume.run_identity(settings, settings.train_file, settings.eval_file, checkpoint_fingerprint(base_dir),
                                  plan.run_name)
    current["plan"] = plan_record(schedule)
    resume.write_run_state(settings.checkpoints_dir, current)
    settings.save_json(settings.checkpoints_dir / run_summary.SETTINGS_FILE)


# ---- train ------------------------------------------------------------------------------------------------
def train(settings, parts: RunParts, plan) -> None:
    from gemma_kit.training.device import OutOfMemory, memory_errors_in_plain_words
    from gemma_kit.training.memory_plan import lighter_setups

    say(tr("TensorBoard: {folder} (check_tensorboard_runs.bat shows it). Ctrl+C saves a checkpoint and stops.",
           folder=parts.run_dir))
    try:
        with memory_errors_in_plain_words(tr("training"), tr("use a lighter setup: {setups}",
                                                             setups=lighter_setups(settings))):
            parts.trainer.train(resume_from_checkpoint=str(plan.checkpoint) if plan.action == "resume" else None)
    except OutOfMemory as e:
        latest = latest_checkpoint(Path(parts.trainer.args.output_dir))
        e.message = e.message.rstrip(".") + tr(" (at step {step}).", step=parts.trainer.state.global_step)
        if latest:
            e.hint += tr(" finetune_gemma.bat --resume continues from {checkpoint}.", checkpoint=latest.name)
        raise
    finally:
        parts.ctrl_c.restore()
        parts.writer.close()


# ---- report -----------------------------------------------------------------------------------------------
def report(settings, parts: RunParts, model, tokenizer, base_dir: Path, train_data, eval_data, machine,
           precision) -> int | None:
    """Summary and adapter; an exit code if the run stopped early, None when it finished (the pipeline's
    after-training chain comes next)."""
    from gemma_kit.training.callbacks import eval_losses_by_step

    state = parts.trainer.state
    if parts.guard.stopped:
        write_summary(settings, parts, train_data, eval_data, machine, precision, "stopped: not finite")
        raise run_summary.non_finite_error(settings, parts)
    if parts.ctrl_c.requested and state.global_step < state.max_steps:   # a Ctrl+C after the last update: done
        write_summary(settings, parts, train_data, eval_data, machine, precision, "interrupted")
        say(tr("Stopped by Ctrl+C at step {step} of {total}; saved {checkpoint}.", step=state.global_step,
               total=state.max_steps, checkpoint=latest_checkpoint(settings.checkpoints_dir)))
        say(tr("Run finetune_gemma.bat again to continue from there."))
        return EXIT_INTERRUPTED
    chosen = run_summary.choose_adapter(settings.checkpoints_dir, eval_losses_by_step(state.log_history),
                                        state.global_step, exclude=set(parts.retention.undeletable))
    run_summary.save_adapter(chosen, model, tokenizer, settings, base_dir)
    mark_finished(settings, state.global_step)
    summary = write_summary(settings, parts, train_data, eval_data, machine, precision, "finished", chosen)
    say(run_summary.describe_result(summary))
    say(tr("Wrote the LoRA adapter to {folder} and the summary to {summary}.",
           folder=f"{settings.adapter_dir}{os.sep}", summary=run_summary.summary_path(settings)))
    return None


def write_summary(settings, parts: RunParts, train_data, eval_data, machine, precision, status: str,
                  chosen=None) -> dict:
    return run_summary.write_summary(settings, parts, train_data, eval_data, machine, precision, status,
                                     parts.schedule, chosen)


def release_memory() -> None:
    """Give back what the finished run held (the caller has dropped its references): Python objects, then the
    CUDA caching allocator's blocks, so the next step's model finds the GPU empty."""
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def mark_finished(settings, step: int) -> None:
    state = resume.read_run_state(settings.checkpoints_dir) or {}
    state["finished_step"] = step
    resume.write_run_state(settings.checkpoints_dir, state)


def report_already_finished(settings, plan) -> int:
    say(tr("This training run already finished (latest checkpoint: {checkpoint}).", checkpoint=plan.checkpoint))
    if (settings.adapter_dir / ADAPTER_WEIGHTS_FILE).is_file():
        say(tr("The adapter is in {folder}.", folder=settings.adapter_dir))
    else:
        warn(tr('{folder} is missing; the latest checkpoint holds the same adapter: merge it with gemma-kit '
                'merge-lora --adapter "{checkpoint}".', folder=settings.adapter_dir, checkpoint=plan.checkpoint))
    say(tr("To train again from the start, run finetune_gemma.bat --restart; to train further, raise max_steps or "
           "num_epochs and run it with --resume."))
    next_step("merge_lora.bat", "gemma-kit merge-lora")
    return 0
