"""The one entry point: `gemma-kit <step>` or `python -m gemma_kit <step>`; each .bat calls one step.

Errors the user can fix (UserError) are caught here once: a plain message, exit code 1, no traceback
unless --debug. Bad usage exits 2 (argparse). Step modules are imported only when their step runs, so
`prepare-dataset` never pays for importing torch.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from dataclasses import dataclass

from .core.console import UserError, report_error, say
from .core.paths import find_project_root
from .core.settings import load_settings


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


def step_module(step: Step):
    return importlib.import_module(f"gemma_kit.steps.{step.module}")


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS so that an option given before the sub-command is not reset by the sub-parser's default.
    common.add_argument("--root", default=argparse.SUPPRESS, help="project folder (default: where settings.toml is)")
    common.add_argument("--settings", default=argparse.SUPPRESS, help="settings file (default: <root>/settings.toml)")
    common.add_argument("--set", dest="set_pairs", action="append", metavar="KEY=VALUE", default=argparse.SUPPRESS,
                        help="change one setting for this run, e.g. --set lora_rank=16 (repeatable)")
    common.add_argument("--preset", choices=["quick", "standard", "thorough"], default=argparse.SUPPRESS,
                        help="training preset for this run")
    common.add_argument("--input", default=argparse.SUPPRESS, help="this step's input folder or file")
    common.add_argument("--output", default=argparse.SUPPRESS, help="this step's output folder or file")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="gemma-kit", parents=[common],
        description="Fine-tune Gemma 3n on your own chats and get a .gguf for LM Studio.",
        epilog="Steps in order: download-model, prepare-dataset, finetune, merge-lora, convert-gguf. "
               "Try `gemma-kit demo` first: it runs everything on a tiny model in a few minutes.",
    )
    sub = parser.add_subparsers(dest="step", metavar="<step>", required=True)
    for step in STEPS:
        module = step_module(step)
        p = sub.add_parser(step.name, parents=[common], help=step.summary, description=module.__doc__,
                           epilog=getattr(module, "EPILOG", None), formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
    return parser


def run_step(name: str, settings, **options) -> int:
    """Run another step with the same settings object, as if called with no flags (e.g. finetune's follow-up
    merge and convert); UserErrors propagate to the caller's `main`."""
    step = STEPS_BY_NAME[name]
    module = step_module(step)
    parser = argparse.ArgumentParser(add_help=False)
    module.add_arguments(parser)
    args = parser.parse_args([])
    for key, value in options.items():
        setattr(args, key, value)
    return int(module.run(settings, args) or 0)


def make_output_safe() -> None:
    """`finetune_gemma.bat > log.txt` on Windows writes in the ANSI code page (cp1251...): a chat's emoji must
    not crash a step hours in. Unencodable characters become '?' instead."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


# Library log lines that are hints for developers, not problems a user can act on (shown with --debug).
DEVELOPER_ONLY_LOGGERS = (
    "bitsandbytes.backends.cpu.ops",   # "Failed to load CPU gemm_4bit_forward from kernels-community": an optional
)                                      # faster CPU kernel, printed by every step on CPUs with AVX512-BF16


def quiet_developer_hints(debug: bool) -> None:
    import logging

    for name in DEVELOPER_ONLY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING if debug else logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    make_output_safe()
    # cuda:0 is then the first GPU nvidia-smi lists, the one prepare_venv.bat chose the PyTorch build for (CUDA's
    # default order is fastest first); read when CUDA starts, so it must be set before any step touches the GPU.
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or bad usage (2)
        return int(e.code or 0)
    debug = getattr(args, "debug", False)
    quiet_developer_hints(debug)
    try:
        root = find_project_root(getattr(args, "root", None))
        settings_file = getattr(args, "settings", None)
        overrides = {"preset": args.preset} if getattr(args, "preset", None) else {}
        settings = load_settings(root, root / settings_file if settings_file else None, overrides,
                                 getattr(args, "set_pairs", None))
        step = STEPS_BY_NAME[args.step]
        return int(step_module(step).run(settings, args) or 0)
    except UserError as e:
        if debug:
            traceback.print_exc()
        report_error(e)
        return 1
    except KeyboardInterrupt:
        say("\nStopped by the user (Ctrl+C).")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
