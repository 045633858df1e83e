"""Which PyTorch build this PC needs: the decision prepare_venv.bat acts on.

Standard library only, and nothing imported from the package beyond the kit's language and settings reader
(standard library too): it runs before any dependency is installed, as `python -S -m gemma_kit.setup_plan` with
scripts/ on PYTHONPATH, and speaks the language settings.toml asks for.

Input: what `nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader` prints (read from
`--nvidia-smi-csv FILE`, or by running nvidia-smi). Output: the line `torch_index=<cpu or index URL>`, then the
reason in plain words; `--plan-file FILE` also writes key=value lines for the .bat (see write_plan_file).
When nvidia-smi is there but that query fails, `--query-gpu=name,driver_version` (`--fallback-csv FILE`) tells
a driver too old to know compute_cap (it lists the card) from a broken one: neither gets the CPU build.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .core.language import N_, tr, tr_marked, tr_n
from .core.settings import use_language_of_project

# The torch release the kit pins (constraints.txt holds the same version). 2.14 is the last release with
# CUDA 12.x wheels, the only ones that still carry Pascal and Volta: "PyTorch 2.14 is the last release to ship
# any CUDA 12.x wheels" (https://dev-discuss.pytorch.org/t/notice-cuda-12-6-wheels-will-no-longer-be-published-from-pytorch-2-15-drops-maxwell-pascal-volta/3432,
# RFC https://github.com/pytorch/pytorch/issues/190385). Moving to 2.15 drops GTX 10xx and V100 users.
PINNED_TORCH = "2.14.1"
TORCH_INDEX_ROOT = "https://download.pytorch.org/whl/"
DRIVER_DOWNLOAD_URL = "https://www.nvidia.com/Download/index.aspx"
NVIDIA_SMI_QUERY = ["nvidia-smi", "--query-gpu=name,compute_cap,driver_version", "--format=csv,noheader"]
# Drivers before ~R510 have no compute_cap field: nvidia-smi exits 2 ('Field "compute_cap" is not a valid field
# to query.'). This query works on them too, so it tells an old driver from a broken one.
NVIDIA_SMI_FALLBACK_QUERY = ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"]


@dataclass(frozen=True)
class CudaVariant:
    tag: str                        # the folder on PyTorch's index: https://download.pytorch.org/whl/<tag>
    cuda: str                       # the CUDA version the wheels are built with
    min_driver: tuple[int, int]     # the oldest NVIDIA driver (Windows numbering) that runs these wheels
    archs: tuple[int, ...]          # compute capabilities with machine code in the wheels, 10*major + minor

    @property
    def index_url(self) -> str:
        return TORCH_INDEX_ROOT + self.tag


# THE table: torch 2.14's CUDA builds for Windows x86_64, newest first.
# - Which variants 2.14 ships (12.6 legacy, 13.0 stable, 13.2 default): PyTorch RFC for release 2.14,
#   https://github.com/pytorch/pytorch/issues/190355, and RELEASE.md "PyTorch CUDA Support Matrix" as updated
#   for 2.14 in https://github.com/pytorch/pytorch/pull/197555 and https://github.com/pytorch/pytorch/pull/194367.
# - Architectures, "Linux x86_64 and Windows" rows of the same matrix: 12.6.3 = Maxwell 5.0, Pascal 6.0,
#   Volta 7.0, Turing 7.5, Ampere 8.0/8.6, Hopper 9.0; 13.0.x and 13.2.x = Turing 7.5, Ampere 8.0/8.6,
#   Hopper 9.0, Blackwell 10.0/12.0 ("+PTX available on linux builds only": Windows wheels have no PTX, so a
#   card runs them only through machine code for its own major version, see arch_is_covered).
# - Minimum drivers: NVIDIA CUDA Toolkit release notes, Table 2 "Minimum Required Driver Version for CUDA Minor
#   Version Compatibility": 12.x >= 525, 13.x >= 580
#   (https://docs.nvidia.com/cuda/archive/13.2.2/cuda-toolkit-release-notes/index.html). PyTorch's wheels carry
#   their own CUDA runtime and rely on that compatibility (its CI checks it:
#   https://github.com/pytorch/pytorch/issues/82913). Table 3's per-toolkit drivers are not used: for 13.x it
#   gives no Windows figure at all ("N/A"; the Windows driver is no longer bundled since 13.1).
# cu130 has the same driver floor and architectures as cu132, so it is never chosen; it stays in the table so
# that doctor can judge a venv that already has it.
VARIANTS: tuple[CudaVariant, ...] = (
    CudaVariant("cu132", "13.2", (580, 0), (75, 80, 86, 90, 100, 120)),
    CudaVariant("cu130", "13.0", (580, 0), (75, 80, 86, 90, 100, 120)),
    CudaVariant("cu126", "12.6", (525, 0), (50, 60, 70, 75, 80, 86, 90)),
)
CPU_INDEX_URL = TORCH_INDEX_ROOT + "cpu"


def variant_for_cuda(cuda_version: str | None) -> CudaVariant | None:
    """The table row of an installed build, from torch.version.cuda ("13.2"), or None (CPU or unknown)."""
    if not cuda_version:
        return None
    major_minor = ".".join(cuda_version.split(".")[:2])
    return next((v for v in VARIANTS if v.cuda == major_minor), None)


def arch_is_covered(card: int, archs) -> bool:
    """Whether machine code built for `archs` runs on a card of compute capability `card` (10*major + minor).

    NVIDIA's rule: code for X.y runs on X.z when z >= y (same major only). So an RTX 4070 (8.9) runs the 8.6
    code and a GTX 1060 (6.1) the 6.0 code, but an RTX 5090 (12.0) needs 12.0 itself. `archs` are numbers, or
    torch.cuda.get_arch_list() strings such as "sm_86" ("compute_XY" is PTX, which the Windows wheels lack)."""
    numbers = []
    for arch in archs:
        if isinstance(arch, int):
            numbers.append(arch)
        elif isinstance(arch, str) and arch.startswith("sm_") and arch[3:].isdigit():
            numbers.append(int(arch[3:]))
    return any(a // 10 == card // 10 and a % 10 <= card % 10 for a in numbers)


def sm_name(card: int) -> str:
    return f"sm_{card}"


@dataclass(frozen=True)
class Gpu:
    name: str
    compute: int                    # 10*major + minor: 8.9 -> 89, 12.0 -> 120
    driver: tuple[int, int]
    driver_text: str

    @property
    def compute_text(self) -> str:
        return f"{self.compute // 10}.{self.compute % 10}"


def parse_version_pair(text: str) -> tuple[int, int] | None:
    parts = text.strip().split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])


def parse_nvidia_smi_csv(text: str) -> tuple[list[Gpu], list[str]]:
    """(GPUs in the order nvidia-smi lists them, lines that are not a GPU row)."""
    gpus, unreadable = [], []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = [f.strip() for f in line.rsplit(",", 2)]  # names could hold a comma; the numbers cannot
        compute = parse_version_pair(fields[1]) if len(fields) == 3 else None
        driver = parse_version_pair(fields[2]) if len(fields) == 3 else None
        if not fields[0] or compute is None or driver is None or compute[1] > 9:
            unreadable.append(line.strip())
            continue
        gpus.append(Gpu(fields[0], 10 * compute[0] + compute[1], driver, fields[2]))
    return gpus, unreadable


@dataclass
class Plan:
    outcome: str                    # "cuda", "no_gpu", "card_too_old" (CPU build); "driver_too_old",
                                    # "driver_broken" (the .bat stops)
    variant: CudaVariant | None
    gpu: Gpu | None
    reason: list[str] = field(default_factory=list)

    @property
    def torch_index(self) -> str:
        return self.variant.index_url if self.variant else "cpu"

    @property
    def index_url(self) -> str:
        return self.variant.index_url if self.variant else CPU_INDEX_URL


CPU_MEANING = N_("The CPU build of PyTorch will be installed: every step works, but training on the processor is "
               "very slow (days instead of hours).")


def parse_fallback_csv(text: str) -> list[tuple[str, str]]:
    """(name, driver) rows of the fallback query; lines that are not such a row are left out."""
    rows = []
    for line in text.splitlines():
        name, sep, driver = line.strip().rpartition(",")
        if sep and name.strip() and parse_version_pair(driver):
            rows.append((name.strip(), driver.strip()))
    return rows


def plan_when_nvidia_smi_failed(smi_problem: str, fallback: list[tuple[str, str]]) -> Plan:
    """nvidia-smi exists but its query failed: an old driver or a broken one, never "no GPU" (the CPU build)."""
    need = min(v.min_driver for v in VARIANTS)
    cards = ", ".join(tr("{name} (driver {driver})", name=name, driver=driver) for name, driver in fallback)
    if fallback and all(parse_version_pair(driver) < need for _, driver in fallback):
        return Plan("driver_too_old", None, None, [
            tr("NVIDIA GPU found: {cards}. The driver is too old: nvidia-smi cannot report the card's compute "
               "capability ({problem}), as with drivers before about version 510. Every PyTorch "
               "{torch} build for NVIDIA cards needs driver {need} or newer. Update the driver from "
               "{url}, restart Windows, then run prepare_venv.bat again.", cards=cards, problem=smi_problem,
               torch=PINNED_TORCH, need=need[0], url=DRIVER_DOWNLOAD_URL)])
    found = tr("nvidia-smi lists {cards}, but ", cards=cards) if fallback else ""
    return Plan("driver_broken", None, None, [
        tr("The NVIDIA driver does not work: {found}{problem}. The CPU build of PyTorch is not installed "
           "instead: this PC has an NVIDIA driver, and training on the processor would take days.", found=found,
           problem=smi_problem),
        tr("Reinstall the NVIDIA driver from {url} (in its installer choose \"Custom\", then "
           "\"Perform a clean installation\"), restart Windows, then run prepare_venv.bat again.",
           url=DRIVER_DOWNLOAD_URL)])


def plan_for(gpus: list[Gpu], unreadable: list[str], smi_problem: str = "", smi_failed: bool = False,
             fallback: list[tuple[str, str]] = ()) -> Plan:
    """smi_failed: nvidia-smi is there but its query exited non-zero; fallback: what the fallback query listed."""
    if smi_failed:
        return plan_when_nvidia_smi_failed(smi_problem, list(fallback))
    if not gpus:
        if smi_problem:
            why = tr("No NVIDIA GPU found: {problem}.", problem=smi_problem)
        elif unreadable:
            why = tr("No NVIDIA GPU found: nvidia-smi printed something this kit does not understand ({shown}). "
                     "A very old NVIDIA driver does this: if you have an NVIDIA card, update its driver from "
                     "{url} and run prepare_venv.bat again.", shown="; ".join(unreadable[:2]),
                     url=DRIVER_DOWNLOAD_URL)
        else:
            why = tr("No NVIDIA GPU found: nvidia-smi answered but listed no GPU.")
        return Plan("no_gpu", None, None, [why, tr_marked(CPU_MEANING)])

    gpu, others = gpus[0], gpus[1:]
    reason = []
    if unreadable:
        reason.append(tr_n(len(unreadable), "Note: {n} line(s) of nvidia-smi's answer were not understood and "
                           "ignored.", "Note: {n} line(s) of nvidia-smi's answer were not understood and ignored."))
    if others:
        names = ", ".join(tr("{name} (compute {compute})", name=g.name, compute=g.compute_text) for g in others)
        found = tr_n(len(gpus), "{n} NVIDIA GPUs found.", "{n} NVIDIA GPUs found.")
        reason.append(tr("{found} Training uses one GPU: the first listed, {name}. The build is chosen for it "
                         "(also here: {names}).", found=found, name=gpu.name, names=names))
    card = tr("{name} (compute capability {compute}, {arch}, driver {driver})", name=gpu.name,
              compute=gpu.compute_text, arch=sm_name(gpu.compute), driver=gpu.driver_text)

    for_card = [v for v in VARIANTS if arch_is_covered(gpu.compute, v.archs)]
    if not for_card:
        reason += [tr("The {card} is too old for PyTorch {torch}: its CUDA builds need compute capability "
                      "5.0 or newer.", card=card, torch=PINNED_TORCH), tr_marked(CPU_MEANING)]
        return Plan("card_too_old", None, gpu, reason)
    usable = [v for v in for_card if gpu.driver >= v.min_driver]
    if not usable:
        need = min(for_card, key=lambda v: v.min_driver)
        reason.append(tr("The NVIDIA driver {driver} is too old for the {name}: PyTorch {torch} "
                         "with CUDA {cuda} (the build this card needs) requires driver {need} or "
                         "newer. Update the driver from {url}, restart Windows, then run "
                         "prepare_venv.bat again.", driver=gpu.driver_text, name=gpu.name, torch=PINNED_TORCH,
                         cuda=need.cuda, need=need.min_driver[0], url=DRIVER_DOWNLOAD_URL))
        return Plan("driver_too_old", None, gpu, reason)
    # The newest build for the training GPU; among those, one every listed GPU can run, so it does not matter
    # which card CUDA numbers first.
    for_all = [v for v in usable if all(arch_is_covered(g.compute, v.archs) for g in others)]
    chosen = (for_all or usable)[0]
    why = (tr("the newest build that every GPU listed can run (on driver {driver})", driver=gpu.driver_text)
           if chosen is not usable[0] else
           tr("the newest build that has code for {arch} and runs on driver {driver}", arch=sm_name(gpu.compute),
              driver=gpu.driver_text))
    reason.append(tr("{card}: installing PyTorch {torch} with CUDA {cuda} ({tag}), {why}.", card=card,
                     torch=PINNED_TORCH, cuda=chosen.cuda, tag=chosen.tag, why=why))
    if chosen is not VARIANTS[0] and VARIANTS[0] in for_card and gpu.driver < VARIANTS[0].min_driver:
        reason.append(tr("(A driver {need} or newer would allow CUDA {cuda}; not needed for this kit.)",
                         need=VARIANTS[0].min_driver[0], cuda=VARIANTS[0].cuda))
    left_out = [g for g in others if not arch_is_covered(g.compute, chosen.archs)]
    if left_out:
        reason.append(tr("This build cannot use: {cards}. That does not matter for training, which runs on one GPU.",
                         cards=", ".join(f"{g.name} ({sm_name(g.compute)})" for g in left_out)))
    return Plan("cuda", chosen, gpu, reason)


@dataclass
class SmiAnswer:
    text: str = ""
    problem: str = ""               # in words; "" when the query answered
    failed: bool = False            # nvidia-smi ran and its query exited non-zero
    fallback: list[tuple[str, str]] = field(default_factory=list)


def run_query(query: list[str]) -> tuple[str, int | None, str]:
    """(output, exit code or None when it did not run, why it did not run)."""
    try:
        done = subprocess.run(query, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        return "", None, tr_marked(NOT_INSTALLED)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "", None, tr("nvidia-smi could not be run ({reason})", reason=e)
    return done.stdout + done.stderr, done.returncode, ""


def run_nvidia_smi() -> tuple[str, str]:
    """(its output, a problem in words or ""): the first query only, as doctor reads it."""
    answer = ask_nvidia_smi()
    return answer.text, answer.problem


def ask_nvidia_smi() -> SmiAnswer:
    """Both queries, as prepare_venv.bat runs them: the fallback only when the first failed."""
    text, code, why = run_query(NVIDIA_SMI_QUERY)
    if code is None:
        return SmiAnswer(problem=why)
    if code == 0:
        return SmiAnswer(text=text)
    fallback_text, fallback_code, _ = run_query(NVIDIA_SMI_FALLBACK_QUERY)
    return SmiAnswer(problem=problem_of_failed_run(code, text), failed=True,
                     fallback=parse_fallback_csv(fallback_text) if fallback_code == 0 else [])


# How cmd says a program does not exist: Windows' exit code and wording, then Wine's.
COMMAND_NOT_FOUND_EXIT = 9009
NOT_INSTALLED = N_("nvidia-smi is not installed (it comes with the NVIDIA driver)")
COMMAND_NOT_FOUND_WORDS = ("is not recognized as an internal or external command", "Can't recognize")


def command_not_found(exit_code: int, output: str) -> bool:
    return exit_code == COMMAND_NOT_FOUND_EXIT or any(w in output for w in COMMAND_NOT_FOUND_WORDS)


def problem_of_failed_run(exit_code: int, output: str) -> str:
    """In words: why nvidia-smi, run by the .bat with its output in a file, gave no answer."""
    if command_not_found(exit_code, output):
        return tr_marked(NOT_INSTALLED)
    said = output.strip().splitlines()
    return tr("nvidia-smi failed (exit code {code}{said})", code=exit_code,
              said=": " + said[0].strip() if said else "")


def read_csv_file(path: Path) -> tuple[str, str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace"), ""
    except OSError as e:
        return "", tr("the nvidia-smi answer {path} could not be read ({reason})", path=path,
                      reason=e.strerror or e)


def answer_from_files(args) -> SmiAnswer:
    """What the .bat's nvidia-smi runs left in files, read as run_nvidia_smi would have seen it."""
    text, problem = read_csv_file(args.nvidia_smi_csv)
    if problem:
        return SmiAnswer(problem=problem)
    if not args.nvidia_smi_exit_code:
        return SmiAnswer(text=text)
    problem = problem_of_failed_run(args.nvidia_smi_exit_code, text)
    if command_not_found(args.nvidia_smi_exit_code, text):
        return SmiAnswer(problem=problem)
    fallback = []
    if args.fallback_csv and not args.fallback_exit_code:
        fallback = parse_fallback_csv(read_csv_file(args.fallback_csv)[0])
    return SmiAnswer(problem=problem, failed=True, fallback=fallback)


def plan_lines(plan: Plan) -> dict[str, str]:
    """What the .bat reads: plain tokens only (no spaces or cmd special characters)."""
    return {
        "torch_index": plan.torch_index,
        "index_url": plan.index_url,
        "torch_version": PINNED_TORCH,
        "variant": plan.variant.tag if plan.variant else "cpu",
        "outcome": plan.outcome,
        "gpu_arch": sm_name(plan.gpu.compute) if plan.gpu else "none",
        "driver": plan.gpu.driver_text if plan.gpu and plan.gpu.driver_text.replace(".", "").isdigit() else "none",
    }


def write_plan_file(plan: Plan, path: Path) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text("".join(f"{k}={v}\n" for k, v in plan_lines(plan).items()), encoding="ascii")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -S -m gemma_kit.setup_plan",
                                     description="Choose the PyTorch build (CUDA variant or CPU) for this PC.")
    parser.add_argument("--nvidia-smi-csv", type=Path, metavar="FILE",
                        help="read nvidia-smi's CSV answer from FILE instead of running nvidia-smi")
    parser.add_argument("--nvidia-smi-exit-code", type=int, default=0, metavar="N",
                        help="the exit code of the nvidia-smi run that wrote --nvidia-smi-csv")
    parser.add_argument("--fallback-csv", type=Path, metavar="FILE",
                        help="nvidia-smi's answer to --query-gpu=name,driver_version, asked when the first failed")
    parser.add_argument("--fallback-exit-code", type=int, default=0, metavar="N")
    parser.add_argument("--plan-file", type=Path, metavar="FILE", help="also write key=value lines for the .bat")
    args = parser.parse_args(argv)
    use_language_of_project()
    answer = answer_from_files(args) if args.nvidia_smi_csv else ask_nvidia_smi()
    plan = plan_for(*parse_nvidia_smi_csv(answer.text), smi_problem=answer.problem, smi_failed=answer.failed,
                    fallback=answer.fallback)
    print(f"torch_index={plan.torch_index}")  # same in every language
    for line in plan.reason:
        print(line)
    if args.plan_file:
        write_plan_file(plan, args.plan_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
