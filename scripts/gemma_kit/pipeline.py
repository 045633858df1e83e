"""The pipeline floor, between the CLI and the steps: the table of steps, running one step with a settings
object, and the chains that run several (finetune -> report -> merge -> convert, convert -> LM Studio, the demo).

The table names each step's module without importing it, so `gemma-kit prepare-dataset` loads that step alone
(and never torch). A step's `run(settings, args)` returns an exit code, or one of the small results of
core/step_results.py when more is to follow; only this module decides what follows, so no step imports the CLI
or another step. Chained steps get the caller's settings object itself: a `--settings` file or `--set` given to
the first step holds for every step after it.
"""
from __future__ import annotations

import argparse
import importlib
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .core.console import UserError, ask_choice, next_step, report_error, say, warn
from .core.language import tr
from .core.settings import Settings
from .core.step_results import DemoPrepared, GgufWritten, TrainingFinished

ANSWER_TIMEOUT_SECONDS = 120  # training often ends overnight: nobody should have to be there to answer
# The answers a question takes are these words in every language (the console also accepts да / нет).
YES, NO = "yes", "no"


@dataclass(frozen=True)
class Step:
    name: str
    module: str
    bat: str
    summary: str


STEPS = [
    Step("download-model", "download_model", "download_model.bat", "get the Gemma 3n base model into models/"),
    Step("prepare-dataset", "prepare_dataset", "prepare_dataset.bat",
         "turn chat exports in dataset/ into data/train_dataset.jsonl and data/eval_dataset.jsonl"),
    Step("transcribe-voice", "transcribe_voice", "",
         "Telegram voice messages -> text with the model (prepare-dataset runs it when transcribe_voice asks)"),
    Step("finetune", "finetune", "finetune_gemma.bat", "train a LoRA adapter (QLoRA, resumable)"),
    Step("merge-lora", "merge_lora", "merge_lora.bat", "add the adapter into the base model -> output/merged_model/"),
    Step("convert-gguf", "convert_gguf", "convert_to_gguf.bat", "write output/finetuned_gemma.gguf for LM Studio"),
    Step("report", "report", "make_report.bat",
         "before/after replies on held-out dialogs -> output/report.html"),
    Step("install-lmstudio", "install_lmstudio", "install_to_lmstudio.bat",
         "put the .gguf into LM Studio's models folder (and write an Ollama Modelfile)"),
    Step("tensorboard", "tensorboard", "check_tensorboard_runs.bat", "show training curves in the browser"),
    Step("doctor", "doctor", "", "check Python, GPU, libraries, disk space and the model"),
    Step("demo", "demo", "", "run the whole pipeline on a tiny built-in model and sample chat (CPU, minutes)"),
]
STEPS_BY_NAME = {s.name: s for s in STEPS}
DEMO_CHAIN = ("prepare-dataset", "finetune", "merge-lora", "convert-gguf")  # finetune writes the report


def load_step(name: str) -> ModuleType:
    return importlib.import_module(f"gemma_kit.steps.{STEPS_BY_NAME[name].module}")


def default_args(name: str, **options: Any) -> argparse.Namespace:
    """The step's own flags at their defaults (as if run with none), then `options` on top."""
    parser = argparse.ArgumentParser(add_help=False)
    load_step(name).add_arguments(parser)
    args = parser.parse_args([])
    for key, value in options.items():
        setattr(args, key, value)
    return args


def run_step(name: str, settings: Settings, args: argparse.Namespace | None = None, **step_keywords: Any) -> int:
    """Run one step and whatever its result says comes next; UserErrors reach the caller (the CLI's `main`)."""
    result = load_step(name).run(settings, args if args is not None else default_args(name), **step_keywords)
    return follow(settings, result)


def follow(settings: Settings, result: Any) -> int:
    if isinstance(result, TrainingFinished):
        return after_training(settings)
    if isinstance(result, GgufWritten):
        return offer_lmstudio(settings, result)
    if isinstance(result, DemoPrepared):
        return run_demo(result)
    return int(result or 0)


def after_training(settings: Settings) -> int:
    """One click from data to GGUF (as the original kit did): merge and convert right after training, unless
    the settings say to stop. The separate .bat files stay for re-running one step."""
    if settings.report_examples > 0:
        say("\n" + tr("===== report: before / after ====="))
        try:
            run_step("report", settings)
        except UserError as e:  # the adapter is saved; a failed report must not block merging
            warn(tr("the before/after report failed: {problem} (make_report.bat retries it)", problem=e.message))
    if settings.after_training == "stop":
        next_step("merge_lora.bat", "gemma-kit merge-lora")
        return 0
    if settings.after_training == "ask":
        answer = ask_choice(tr("Training finished. Merge the adapter and convert to GGUF now?"), [YES, NO], YES,
                            timeout=ANSWER_TIMEOUT_SECONDS)
        if answer != YES:
            next_step("merge_lora.bat", "gemma-kit merge-lora")
            return 0
    say("\n===== merge-lora =====")  # same in every language
    code = run_step("merge-lora", settings)
    if code != 0:
        return code
    say("\n===== convert-gguf =====")  # same in every language
    return run_step("convert-gguf", settings)


def offer_lmstudio(settings: Settings, written: GgufWritten) -> int:
    """convert_to_gguf.bat's hand-off: install-lmstudio prints its own next step when it runs."""
    if ask_choice(tr("Put the model into LM Studio now?"), [YES, NO], YES) != YES:
        next_step("install_to_lmstudio.bat", "gemma-kit install-lmstudio")
        return 0
    say("\n===== install-lmstudio =====")  # same in every language
    return run_step("install-lmstudio", settings, default_args("install-lmstudio", input=str(written.gguf)))


def run_demo(prepared: DemoPrepared) -> int:
    """Each step as a user would run it, one after the other, with the demo's settings."""
    for name in DEMO_CHAIN:
        say("\n" + tr("===== demo: {step} =====", step=name))
        code = run_reporting_errors(name, prepared.settings)
        if code != 0:
            raise UserError(tr("The demo stopped at the '{step}' step (exit code {code}); its message is above.",
                               step=name, code=code),
                            tr("Fix what it says, or run `gemma-kit doctor` to check this computer."))
    say("\n" + tr("Demo finished in {seconds:.0f} s. The GGUF is at {gguf}",
                  seconds=time.monotonic() - prepared.started, gguf=prepared.gguf))
    say(tr("The before/after report is at {report}; the GGUF self-check verdict is printed above.",
           report=prepared.report))
    say(tr("Next: put your own chat exports into dataset/ and run prepare_dataset.bat"))
    return 0


def run_reporting_errors(name: str, settings: Settings) -> int:
    """A step's error is printed as the CLI prints it, so the demo can name the step it stopped at."""
    try:
        return run_step(name, settings)
    except UserError as e:
        report_error(e)
        return 1
    except KeyboardInterrupt:
        say("\n" + tr("Stopped by the user (Ctrl+C)."))
        return 130
