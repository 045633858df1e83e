"""Run inside the new .venv by prepare_venv.bat: is the installed PyTorch the one the plan chose, and does it work?

`python -m gemma_kit.setup_check torch-action --variant cu126 --arch sm_61` prints one word for the .bat:
`install` (no torch), `reinstall` (a CPU build, another release, or a build without code for this card: pip
would call it "already satisfied", so the .bat adds --force-reinstall) or `keep`. It reads the installed
version's local label (2.14.1+cu126) and does not import torch.

`python -m gemma_kit.setup_check verify --outcome cuda --arch sm_61 --driver 566.36` checks what training
needs: CUDA starts, the build has code for the card, a matmul runs on the GPU, bitsandbytes quantizes to 4 bits.
The .bat says "Done" only when this exits 0; otherwise it printed Error: / What to do: naming the cause.
The decisions are pure functions of the facts gathered (tests/test_setup_check.py covers each case).
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

# cli imports only the standard library at module level (its steps are imported when its parser is built).
from .cli import quiet_developer_hints
from .core.console import UserError, report_error, say
from .core.language import N_, tr, tr_marked
from .core.settings import use_language_of_project
from .setup_plan import (DRIVER_DOWNLOAD_URL, PINNED_TORCH, VARIANTS, arch_is_covered, parse_version_pair,
                         variant_for_cuda)

RERUN = N_("run prepare_venv.bat again: it replaces the installed PyTorch with the right build")
GPU_ORDER_VARIABLES = ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER")


def card_number(arch: str) -> int | None:
    """"sm_61" -> 61."""
    return int(arch[3:]) if arch.startswith("sm_") and arch[3:].isdigit() else None


def torch_action(installed: str | None, variant: str, arch: str, platform: str = sys.platform,
                 pinned: str = PINNED_TORCH) -> tuple[str, str]:
    """(install | reinstall | keep, why) for the torch version string pip recorded (None: not installed)."""
    if not installed:
        return "install", tr("PyTorch is not installed yet")
    release, _, label = installed.partition("+")
    if release != pinned:
        return "reinstall", tr("PyTorch {installed} is installed; the kit is tested with {pinned}",
                               installed=installed, pinned=pinned)
    if variant == "cpu":
        return "keep", tr("PyTorch {installed} is installed", installed=installed)
    # PyPI's Windows wheel carries no label and is CPU-only; its Linux wheel is the default CUDA build.
    if not label:
        label = "cpu" if platform == "win32" else VARIANTS[0].tag
    if label == "cpu":
        return "reinstall", tr("PyTorch {installed} is the CPU-only build", installed=installed)
    have = next((v for v in VARIANTS if v.tag == label), None)
    card = card_number(arch)
    if have is None or card is None or not arch_is_covered(card, have.archs):
        return "reinstall", tr("PyTorch {installed} has no code for this card ({arch})", installed=installed,
                               arch=arch)
    return "keep", tr("PyTorch {installed} has code for this card ({arch})", installed=installed, arch=arch)


@dataclass
class TorchFacts:
    """What the installed PyTorch says about this PC (gathered by gather_facts, or written by a test)."""
    torch_error: str = ""               # import torch failed
    cuda_build: str | None = None       # torch.version.cuda: None for a CPU-only build
    cuda_available: bool = False
    device_name: str = ""
    capability: int | None = None       # 10*major + minor of cuda:0
    arch_list: tuple[str, ...] = ()     # torch.cuda.get_arch_list()
    matmul_error: str = ""
    bnb_error: str = ""                 # bitsandbytes import or 4-bit round trip failed


def diagnose(facts: TorchFacts, outcome: str, arch: str, driver: str = "") -> list[UserError]:
    """Everything that stops training with this setup, cause first ([] = ready)."""
    if facts.torch_error:
        return [UserError(tr("PyTorch does not load: {error}", error=facts.torch_error),
                          tr("delete the .venv folder and run prepare_venv.bat again"))]
    problems = []
    if outcome == "cuda":
        if facts.cuda_build is None:
            problems.append(UserError(tr("The installed PyTorch is the CPU-only build, although this PC has an "
                                         "NVIDIA GPU."), tr_marked(RERUN)))
        elif not facts.cuda_available:
            need = variant_for_cuda(facts.cuda_build)
            have = parse_version_pair(driver) if driver else None
            if need and have and have < need.min_driver:
                problems.append(UserError(
                    tr("The NVIDIA driver {driver} is too old for PyTorch with CUDA {cuda} (it needs "
                       "{need} or newer).", driver=driver, cuda=facts.cuda_build, need=need.min_driver[0]),
                    tr("update the driver from {url}, restart Windows, then run prepare_venv.bat again",
                       url=DRIVER_DOWNLOAD_URL)))
            else:
                problems.append(UserError(
                    tr("PyTorch (CUDA {cuda}) cannot use the GPU: CUDA did not start.", cuda=facts.cuda_build),
                    tr("restart Windows; if that does not help, install the newest driver from "
                       "{url} and run prepare_venv.bat again", url=DRIVER_DOWNLOAD_URL)))
        elif not_the_planned_card(facts, arch):
            settings = ", ".join(f"{k}={os.environ[k]}" for k in GPU_ORDER_VARIABLES if k in os.environ)
            problems.append(UserError(
                tr("PyTorch's first GPU is the {device} (sm_{capability}), but the build was chosen "
                   "for the first GPU nvidia-smi lists ({arch}), and it has no code for the {device} "
                   "(it has {archs}). GPU order settings here: {settings}.", device=facts.device_name,
                   capability=facts.capability, arch=arch, archs=", ".join(facts.arch_list),
                   settings=settings or tr("none")),
                tr("remove CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER from Windows' environment variables (Start > "
                   "\"Edit the system environment variables\" > Environment Variables), open a new window and run "
                   "prepare_venv.bat again")))
        elif facts.capability is not None and not arch_is_covered(facts.capability, facts.arch_list):
            name = f"{facts.device_name} (sm_{facts.capability})"
            if facts.capability < 50:
                problems.append(UserError(tr("The {name} is too old for PyTorch {torch}.", name=name,
                                             torch=PINNED_TORCH),
                                          tr("training needs an NVIDIA GPU of compute capability 5.0 or newer; "
                                             "without one it runs on the CPU (very slowly)")))
            else:
                problems.append(UserError(
                    tr("This PyTorch build has no code for the {name}: it has {archs}.", name=name,
                       archs=", ".join(facts.arch_list)),
                    tr_marked(RERUN)))
        elif facts.matmul_error:
            no_code_for_card = "no kernel image" in facts.matmul_error  # CUDA's words, in every language
            problems.append(UserError(tr("A test calculation on the {device} failed: {error}",
                                         device=facts.device_name, error=facts.matmul_error),
                                      tr_marked(RERUN) if no_code_for_card else
                                      tr("restart Windows, update the driver from {url}, then run "
                                         "prepare_venv.bat again", url=DRIVER_DOWNLOAD_URL)))
    if facts.bnb_error:
        old = facts.capability is not None and facts.capability < 60
        problems.append(UserError(
            tr("bitsandbytes (the 4-bit part of training) does not work: {error}", error=facts.bnb_error),
            tr("the {device} is too old for 4-bit training; a GPU of compute capability 6.0 or newer "
               "is needed", device=facts.device_name) if old else
            tr("run prepare_venv.bat again; if it repeats, delete the .venv folder first")))
    return problems


def not_the_planned_card(facts: TorchFacts, arch: str) -> bool:
    """cuda:0 is another card than the plan's, one the build cannot run: running prepare_venv.bat again would
    pick the same build for the planned card and fail here again."""
    planned = card_number(arch)
    return (planned is not None and facts.capability is not None and facts.capability != planned
            and not arch_is_covered(facts.capability, facts.arch_list))


def gather_facts(use_gpu: bool) -> TorchFacts:
    facts = TorchFacts()
    try:
        import torch
    except Exception as e:  # a broken install raises ImportError, OSError (a DLL) and others
        facts.torch_error = f"{type(e).__name__}: {e}"
        return facts
    facts.cuda_build = torch.version.cuda
    facts.cuda_available = bool(torch.cuda.is_available())
    if facts.cuda_available:
        major, minor = torch.cuda.get_device_capability(0)
        facts.capability = 10 * major + minor
        facts.device_name = torch.cuda.get_device_name(0)
        facts.arch_list = tuple(torch.cuda.get_arch_list())
        try:
            a = torch.ones(64, 64, device="cuda:0")
            if float((a @ a).sum().item()) != 64.0 * 64 * 64:
                facts.matmul_error = tr("the result was wrong")
        except Exception as e:  # "no kernel image is available", out of memory, driver errors
            facts.matmul_error = f"{type(e).__name__}: {e}"
    try:
        import bitsandbytes.functional as bnb_functional

        if use_gpu and facts.cuda_available:
            x = torch.linspace(-1, 1, 256, device="cuda:0", dtype=torch.float16)
            packed, state = bnb_functional.quantize_4bit(x, quant_type="nf4")
            back = bnb_functional.dequantize_4bit(packed, state, quant_type="nf4")
            if float((back.float() - x.float()).abs().max()) > 0.2:
                facts.bnb_error = tr("a 4-bit round trip gave wrong numbers")
    except Exception as e:
        facts.bnb_error = f"{type(e).__name__}: {e}"
    return facts


def installed_torch_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gemma_kit.setup_check")
    sub = parser.add_subparsers(dest="command", required=True)
    action = sub.add_parser("torch-action", help="install, reinstall or keep the installed PyTorch")
    verify = sub.add_parser("verify", help="check that PyTorch, the GPU and bitsandbytes work together")
    for p in (action, verify):
        p.add_argument("--variant", default="cpu")
        p.add_argument("--arch", default="none")
    verify.add_argument("--outcome", default="no_gpu")
    verify.add_argument("--driver", default="")
    verify.add_argument("--debug", action="store_true", help="also show libraries' hints for developers")
    args = parser.parse_args(argv)
    use_language_of_project()
    # cuda:0 must be the first GPU nvidia-smi lists, as in the kit's CLI: the plan chose the build for that one.
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    if args.command == "torch-action":
        word, why = torch_action(installed_torch_version(), args.variant, args.arch)
        print(f"{why}.", file=sys.stderr, flush=True)
        print(word, flush=True)  # same in every language: the .bat reads it
        return 0
    quiet_developer_hints(args.debug)
    facts = gather_facts(use_gpu=args.outcome == "cuda")
    problems = diagnose(facts, args.outcome, args.arch, args.driver)
    for problem in problems:
        report_error(problem)
    if problems:
        return 1
    if args.outcome == "cuda":
        say(tr("Checked: PyTorch uses the {device} (sm_{capability}, CUDA {cuda}), "
               "a test calculation ran on it, and 4-bit quantization works.", device=facts.device_name,
               capability=facts.capability, cuda=facts.cuda_build))
        if card_number(args.arch) not in (None, facts.capability):
            say(tr("Note: the build was chosen for the first GPU nvidia-smi lists ({arch}); it also runs on "
                   "the {device}, which training will use.", arch=args.arch, device=facts.device_name))
    else:
        say(tr("Checked: PyTorch and bitsandbytes load. There is no usable NVIDIA GPU, so training will run on the "
               "CPU (very slowly)."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
