"""The one entry point: `gemma-kit <step>` or `python -m gemma_kit <step>`; each .bat calls one step.

Errors the user can fix (UserError) are caught here once: a plain message, exit code 1, no traceback
unless --debug. Bad usage exits 2 (argparse). The help lists the steps from pipeline.STEPS without importing
them; only the step named on the command line is imported (for its flags), so `prepare-dataset` never pays
for importing torch or any other step.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Iterable

from .core.console import UserError, report_error, say, set_verbose
from .core.language import as_language_setting, set_language, tr
from .core.paths import SETTINGS_FILE_NAME, find_project_root
from .core.settings import language_of_settings_file, load_settings
from .pipeline import STEPS, STEPS_BY_NAME, load_step, run_step

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
                        help="show the full traceback of an error (and every setting, as --verbose)")
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="print every effective setting, not only the ones this step uses or you changed")
    return common


def named_step(argv: list[str]) -> str | None:
    """The step the command line asks for, found before argparse runs so that only it is imported."""
    # What follows a common option that takes a value (--root, --set...) is never the step's name.
    taking_a_value = {flag for action in _common_options()._actions if action.nargs != 0
                      for flag in action.option_strings}
    words = iter(argv)
    for word in words:
        if word in taking_a_value:
            next(words, None)
        elif not word.startswith("-"):
            return word if word in STEPS_BY_NAME else None
    return None


def build_parser(steps_to_load: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The parser with every step's name and summary; the full flags of `steps_to_load` (default: all steps)."""
    loaded = set(STEPS_BY_NAME if steps_to_load is None else steps_to_load)
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="gemma-kit", parents=[common],
        description="Fine-tune Gemma 3n on your own chats and get a .gguf for LM Studio.",
        epilog="Steps in order: download-model, prepare-dataset, finetune, merge-lora, convert-gguf. "
               "Try `gemma-kit demo` first: it runs everything on a tiny model in a few minutes.",
    )
    sub = parser.add_subparsers(dest="step", metavar="<step>", required=True)
    for step in STEPS:
        if step.name not in loaded:
            sub.add_parser(step.name, parents=[common], help=step.summary, description=step.summary)
            continue
        module = load_step(step.name)
        p = sub.add_parser(step.name, parents=[common], help=step.summary, description=module.__doc__,
                           epilog=getattr(module, "EPILOG", None), formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
    return parser


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


def language_asked_on_command_line(set_pairs: list[str] | None) -> str | None:
    """`--set language=ru`, read before the settings so that their own problems are told in that language."""
    for pair in set_pairs or []:
        key, _, value = pair.partition("=")
        if key.strip() == "language" and (asked := as_language_setting(value.strip().strip("\"'"))):
            return asked
    return None


def main(argv: list[str] | None = None) -> int:
    make_output_safe()
    # cuda:0 is then the first GPU nvidia-smi lists, the one prepare_venv.bat chose the PyTorch build for (CUDA's
    # default order is fastest first); read when CUDA starts, so it must be set before any step touches the GPU.
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    argv = sys.argv[1:] if argv is None else argv
    named = named_step(argv)
    parser = build_parser([named] if named else [])
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or bad usage (2)
        return int(e.code or 0)
    debug = getattr(args, "debug", False)
    quiet_developer_hints(debug)
    set_verbose(debug or getattr(args, "verbose", False))
    asked = language_asked_on_command_line(getattr(args, "set_pairs", None))
    set_language(asked or "auto")
    try:
        root = find_project_root(getattr(args, "root", None))
        settings_file = getattr(args, "settings", None)
        # The settings' own problems (a mistyped key) are told in the language the file asks for.
        if not asked:
            set_language(language_of_settings_file(root / (settings_file or SETTINGS_FILE_NAME)))
        overrides = {"preset": args.preset} if getattr(args, "preset", None) else {}
        settings = load_settings(root, root / settings_file if settings_file else None, overrides,
                                 getattr(args, "set_pairs", None))
        set_language(settings.language)
        return run_step(args.step, settings, args)
    except UserError as e:
        if debug:
            traceback.print_exc()
        report_error(e)
        return 1
    except KeyboardInterrupt:
        say("\n" + tr("Stopped by the user (Ctrl+C)."))
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
