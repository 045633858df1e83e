"""Check this computer for the kit: Python, PyTorch and the GPU, bitsandbytes, free disk, the model.

Prints what was found and, plainly, what is missing and how to fix it. Changes nothing.
"""
from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass

from ..core.console import human_size, say
from ..core.language import N_, tr, tr_marked
from ..core.model_files import find_checkpoint_problems, read_config
from ..core.settings import Settings
from ..setup_plan import (DRIVER_DOWNLOAD_URL, Gpu, arch_is_covered, parse_nvidia_smi_csv, run_nvidia_smi,
                          variant_for_cuda)
from ..training.memory_plan import describe_run_memory, plan_run_memory, reference_text_config
from ..venv_check import SUPPORTED_PYTHONS, supported_range_text

EPILOG = "Example: gemma-kit doctor\nRun it after prepare_venv.bat, or whenever a step fails and you don't know why."

MIN_RAM = 14 * 1024**3        # a "16 GB" computer reports less than 16 GiB (memory reserved by the hardware)
MIN_FREE_DISK = 40 * 1024**3  # model (~15 GB for E4B) + merged copy + GGUF + checkpoints


@dataclass
class Finding:
    name: str           # English (marked with N_ where it is a word); shown with tr_marked
    value: str
    problem: str = ""  # empty: fine


def add_arguments(parser) -> None:
    pass


def check_python() -> Finding:
    version = platform.python_version()
    ok = sys.version_info[:2] in SUPPORTED_PYTHONS
    return Finding("Python", version, "" if ok else tr(
        "Python {versions} is needed (the kit's libraries do not install on other versions); run prepare_venv.bat, "
        "which offers to install Python 3.12 and rebuilds .venv with it", versions=supported_range_text()))


def nvidia_gpus() -> tuple[list[Gpu], str]:
    """What nvidia-smi says (GPUs, problem in words): the driver side, which torch cannot report without CUDA."""
    text, problem = run_nvidia_smi()
    gpus, _ = parse_nvidia_smi_csv(text)
    return gpus, problem


def judge_torch_build(cuda_build: str | None, cuda_available: bool, capability: int | None, arch_list,
                      gpus: list[Gpu], smi_problem: str) -> str:
    """The problem with the installed PyTorch build on this PC, with advice that matches it ("" = fine).

    Only a wrong build is a reason to re-run prepare_venv.bat (it now replaces one); a right build that cannot
    start CUDA is the driver's or the card's problem, and re-installing would change nothing."""
    gpu = gpus[0] if gpus else None
    if cuda_available:
        if capability is not None and not arch_is_covered(capability, arch_list):
            return tr("this PyTorch build has no code for the GPU (sm_{capability}; it has {archs}): run "
                      "prepare_venv.bat again, it installs the build for this card", capability=capability,
                      archs=", ".join(arch_list))
        return ""
    if gpu is None:
        return tr("no NVIDIA GPU answered ({why}): training will run on the CPU and be very slow. With an NVIDIA "
                  "GPU, install its driver from {url}", why=smi_problem or tr("nvidia-smi lists none"),
                  url=DRIVER_DOWNLOAD_URL)
    if cuda_build is None:
        return tr("the CPU-only PyTorch build is installed, but the PC has an {gpu}: run prepare_venv.bat again, it "
                  "replaces the CPU build with the CUDA build for this card", gpu=gpu.name)
    variant = variant_for_cuda(cuda_build)
    if variant and gpu.driver < variant.min_driver:
        return tr("the NVIDIA driver {driver} is too old for this PyTorch build (CUDA {cuda} needs {needed} or "
                  "newer): update it from {url} and restart Windows", driver=gpu.driver_text, cuda=cuda_build,
                  needed=variant.min_driver[0], url=DRIVER_DOWNLOAD_URL)
    if variant and not arch_is_covered(gpu.compute, variant.archs):
        return tr("this PyTorch build (CUDA {cuda}) has no code for the {gpu} (sm_{capability}): run "
                  "prepare_venv.bat again, it installs the build for this card", cuda=cuda_build, gpu=gpu.name,
                  capability=gpu.compute)
    return tr("PyTorch's CUDA {cuda} build is right for the {gpu}, but CUDA did not start: restart Windows; if that "
              "does not help, install the newest driver from {url}", cuda=cuda_build, gpu=gpu.name,
              url=DRIVER_DOWNLOAD_URL)


def check_torch_and_gpu() -> list[Finding]:
    try:
        import torch
    except ImportError:
        return [Finding("PyTorch", tr("not installed"), tr("run prepare_venv.bat"))]
    build = tr("CUDA {cuda} build", cuda=torch.version.cuda) if torch.version.cuda else tr("CPU-only build")
    findings = [Finding("PyTorch", f"{torch.__version__} ({build})")]
    gpus, smi_problem = nvidia_gpus()
    if not torch.cuda.is_available():
        problem = judge_torch_build(torch.version.cuda, False, None, (), gpus, smi_problem)
        findings.append(Finding(N_("GPU"), tr("none usable ({build})", build=build), problem))
        return findings
    major, minor = torch.cuda.get_device_capability(0)
    capability = 10 * major + minor
    props = torch.cuda.get_device_properties(0)
    free, total = torch.cuda.mem_get_info(0)
    bf16 = tr("bf16 yes") if torch.cuda.is_bf16_supported() else tr("bf16 no (fp16 only)")
    problem = judge_torch_build(torch.version.cuda, True, capability, tuple(torch.cuda.get_arch_list()), gpus,
                                smi_problem)
    findings.append(Finding(N_("GPU"), tr("{name} (sm_{capability}), {total} VRAM, {free} free, {bf16}",
                                          name=props.name, capability=capability, total=human_size(total),
                                          free=human_size(free), bf16=bf16), problem))
    return findings


def check_bitsandbytes() -> Finding:
    try:
        import bitsandbytes
    except ImportError:
        return Finding("bitsandbytes", tr("not installed"), tr("run prepare_venv.bat (4-bit training needs it)"))
    except Exception as e:  # bnb raises RuntimeError and others when its native library fails to load
        return Finding("bitsandbytes", tr("fails to load"), f"{type(e).__name__}: {e}")
    return Finding("bitsandbytes", bitsandbytes.__version__)


def check_disk(settings: Settings) -> Finding:
    folder = settings.root
    free = shutil.disk_usage(folder).free
    problem = "" if free >= MIN_FREE_DISK else tr("the kit needs about {size} free for the model, checkpoints, the "
                                                  "merged model and the .gguf; free some space",
                                                  size=human_size(MIN_FREE_DISK))
    return Finding(N_("Free disk"), tr("{size} on {folder}", size=human_size(free), folder=folder), problem)


def total_ram() -> int | None:
    """Physical memory in bytes (None if the system will not say)."""
    if sys.platform == "win32":
        import ctypes

        class MemoryStatus(ctypes.Structure):
            _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                        ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                        ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                        ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                        ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

        status = MemoryStatus(dwLength=ctypes.sizeof(MemoryStatus))
        return status.ullTotalPhys if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)) else None
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_ram(total: int | None, model: str) -> Finding:
    """Training keeps Gemma 3n's per-layer table in RAM (issue 11) and loading passes the weights through RAM."""
    if total is None:
        return Finding(N_("RAM"), tr("unknown"))
    problem = "" if total >= MIN_RAM else tr(
        "{size} of RAM or more is recommended: training keeps the model's {table} GB per-layer table in RAM. With "
        "less, close other programs while training, choose model = \"E2B\", and let Windows manage the paging "
        "file size", size=human_size(MIN_RAM), table="4.4" if model == "E4B" else "3.75")
    return Finding(N_("RAM"), human_size(total), problem)


def check_model(settings: Settings) -> Finding:
    folder = settings.model_dir
    problems = find_checkpoint_problems(folder)
    if not problems:
        return Finding(N_("Model"), tr("{model} at {folder}: complete", model=settings.model, folder=folder))
    if not folder.exists():
        return Finding(N_("Model"), tr("not downloaded yet ({folder})", folder=folder), tr("run download_model.bat"))
    return Finding(N_("Model"), tr("{folder}: incomplete", folder=folder),
                   tr("{problems} — run download_model.bat again", problems="; ".join(problems)))


def detect_gpu_memory():
    """The GPU as the memory plan sees it (free memory now), or None: no GPU, or no PyTorch yet."""
    try:
        import torch  # noqa: F401  (only to know it is installed)
    except ImportError:
        return None
    from ..training.device import detect_machine, gpu_memory_of

    return gpu_memory_of(detect_machine())


def memory_plan_text(settings: Settings, gpu) -> str:
    """The training memory estimate for the chosen model and settings on this GPU, exactly as finetune will
    print it (same placement of the per-layer table, same loss), from the downloaded config if present."""
    config_file = settings.model_dir / "config.json"
    if config_file.exists():
        from ..training.model_loading import load_text_config

        config = load_text_config(read_config(settings.model_dir)).to_dict()  # transformers' defaults filled in
        name = settings.model_dir.name
    else:
        config, name = reference_text_config(settings.model), settings.model
    return describe_run_memory(plan_run_memory(config, settings, gpu), settings, name)


def transcription_plan_text(settings: Settings, gpu) -> str:
    """What transcribing voice messages (transcribe_voice) needs on this GPU, as transcribe-voice will check it."""
    from ..audio.transcription import BATCH_SIZE
    from ..audio.transcription_plan import (AUDIO_PARAMETERS, describe_transcription_memory, plan_for_model,
                                            plan_transcription)

    batch = BATCH_SIZE["cuda"]
    if (settings.model_dir / "config.json").exists():
        run = plan_for_model(settings.model_dir, gpu, batch, settings.per_layer_table_on_gpu)
        name = settings.model_dir.name
    else:
        run = plan_transcription(reference_text_config(settings.model), AUDIO_PARAMETERS, gpu, batch,
                                 settings.per_layer_table_on_gpu)
        name = settings.model
    return describe_transcription_memory(run, name)


def collect_findings(settings: Settings) -> list[Finding]:
    return [check_python(), *check_torch_and_gpu(), check_bitsandbytes(), check_ram(total_ram(), settings.model),
            check_disk(settings), check_model(settings)]


def run(settings: Settings, args) -> int:
    findings = collect_findings(settings)
    width = max(len(tr_marked(f.name)) for f in findings)
    for f in findings:
        mark = "ok " if not f.problem else "!! "
        say(f"{mark}{tr_marked(f.name).ljust(width)}  {f.value}")
    say("")
    gpu = detect_gpu_memory()
    say(memory_plan_text(settings, gpu))
    say(transcription_plan_text(settings, gpu))
    problems = [f for f in findings if f.problem]
    if problems:
        say("\n" + tr("What to fix:"))
        for f in problems:
            say(f"  - {tr_marked(f.name)}: {f.problem}")
    else:
        say("\n" + tr("Everything needed is in place."))
    return 0
