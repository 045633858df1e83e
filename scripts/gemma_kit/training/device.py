"""Which device, number types and optimizer a training run uses.

The decisions are small pure functions of what the machine can do (passed in, so every case is tested on a
machine without a GPU); `detect_machine()` is the one place that asks torch.

Why these choices (dev_log.txt 2026-11-22, "finetune: precision"):
- bf16 GPU (Ampere and newer): 4-bit matmuls and the layers kept out of 4-bit in bfloat16, autocast bf16.
- GPU without native bf16 (T4, V100, GTX 16xx, RTX 20xx): Gemma 3 / 3n activations exceed float16's 65,504
  (unslothai/unsloth#4014: ~800k) and turn into inf/NaN, and float16 autocast over float32 weights overflows just
  the same (unslothai/unsloth#7867). So everything that is not 4-bit runs in float32, with no autocast: slower and
  about twice the memory for those parts, but the numbers are right.
- CPU: float32. Measured here (tiny model, 4-bit + LoRA, forward+backward, 12 interleaved runs): float32 median
  0.89 s vs bfloat16 1.00 s, so float32 is both faster and exact on this CPU.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

from gemma_kit.core.console import UserError
from gemma_kit.core.language import N_, tr, tr_marked
from gemma_kit.training.memory_plan import CLOSE_GPU_PROGRAMS

BF16_GPU_NOTE = N_("this GPU computes in bfloat16 natively")
FP16_GPU_NOTE = N_("this GPU has no native bfloat16, and Gemma 3n overflows in float16 (activations beyond 65,504 "
                   "become inf/NaN), so the parts that are not 4-bit run in float32: slower, and they take twice "
                   "the memory")
CPU_NOTE = N_("on a CPU float32 is faster than bfloat16, and exact")


@dataclass(frozen=True)
class Machine:
    """What the training run can use; `detect_machine()` fills it in, tests build it by hand."""
    cuda_available: bool
    bf16_supported: bool = False      # native bf16 (compute capability 8.0+), not emulated
    gpu_name: str = ""
    gpu_memory_bytes: int = 0
    gpu_free_bytes: int = 0           # free when the run starts (our CUDA context already counted as used)


@dataclass(frozen=True)
class Precision:
    compute_dtype: str    # what bitsandbytes dequantises the 4-bit weights to for each matmul
    weights_dtype: str    # the layers kept out of 4-bit (embeddings, altup, laurel, per-layer, head)
    autocast_bf16: bool   # Trainer(bf16=True): run the LoRA matmuls under bf16 autocast
    note: str             # one plain sentence saying why


def choose_device(cuda_available: bool) -> str:
    return "cuda" if cuda_available else "cpu"


def choose_precision(cuda_available: bool, bf16_supported: bool) -> Precision:
    if cuda_available and bf16_supported:
        return Precision("bfloat16", "bfloat16", autocast_bf16=True, note=BF16_GPU_NOTE)
    if cuda_available:
        return Precision("float32", "float32", autocast_bf16=False, note=FP16_GPU_NOTE)
    return Precision("float32", "float32", autocast_bf16=False, note=CPU_NOTE)


def choose_optimizer(cuda_available: bool) -> str:
    """paged AdamW moves optimizer state to CPU RAM when the GPU is short of memory; it needs CUDA."""
    return "paged_adamw_32bit" if cuda_available else "adamw_torch"


def describe_machine(machine: Machine) -> str:
    if not machine.cuda_available:
        return tr("CPU (no CUDA GPU found)")
    memory = tr(", {size:.1f} GB", size=machine.gpu_memory_bytes / 1024 ** 3) if machine.gpu_memory_bytes else ""
    bf16 = "bf16" if machine.bf16_supported else tr("no bf16")
    return tr("GPU {name}{memory}, {bf16}", name=machine.gpu_name, memory=memory, bf16=bf16)


def detect_machine() -> Machine:
    import torch

    if not torch.cuda.is_available():
        return Machine(cuda_available=False)
    props = torch.cuda.get_device_properties(0)
    free, _ = torch.cuda.mem_get_info(0)
    # including_emulation=False: torch otherwise says True on pre-Ampere GPUs, where bf16 is emulated and slow.
    return Machine(cuda_available=True, bf16_supported=torch.cuda.is_bf16_supported(including_emulation=False),
                   gpu_name=props.name, gpu_memory_bytes=int(props.total_memory), gpu_free_bytes=int(free))


def gpu_memory_of(machine: Machine):
    """The memory plan's view of the GPU (training/memory_plan.py), or None without one."""
    from gemma_kit.training.memory_plan import GpuMemory

    if not machine.cuda_available:
        return None
    return GpuMemory(machine.gpu_name, machine.gpu_memory_bytes, machine.gpu_free_bytes, machine.bf16_supported)


class OutOfMemory(UserError):
    """GPU memory, RAM or Windows' paging file ran out (memory_errors_in_plain_words)."""


WINDOWS_PAGING_FILE_TOO_SMALL = 1455   # ERROR_COMMITMENT_LIMIT, what torch/safetensors see when RAM + swap run out


@contextlib.contextmanager
def memory_errors_in_plain_words(doing: str, lighter: str):
    """Out-of-memory errors inside the block become a UserError naming which memory ran out and what to do.

    `doing`: "loading the model", ...; `lighter`: the settings change that needs less memory for this step; both
    already in the user's language (in Russian `doing` is a noun phrase in the nominative: "загрузка модели")."""
    import torch

    try:
        yield
    except torch.cuda.OutOfMemoryError as e:
        raise OutOfMemory(tr("The GPU ran out of memory while {doing}.", doing=doing),
                          tr("{close}, or {lighter}; then run this step again.", close=tr_marked(CLOSE_GPU_PROGRAMS),
                             lighter=lighter)) from e
    except (MemoryError, RuntimeError) as e:
        # torch's CPU allocator raises RuntimeError("DefaultCPUAllocator: not enough memory ..."), not MemoryError.
        if isinstance(e, RuntimeError) and "DefaultCPUAllocator" not in str(e):
            raise
        raise OutOfMemory(tr("The computer ran out of memory (RAM) while {doing}.", doing=doing),
                          tr("Close other programs, or {lighter}; then run this step again.", lighter=lighter)) from e
    except OSError as e:
        # winerror from Python's own calls; safetensors (Rust, via PyO3) only says "(os error 1455)" in the text.
        if (getattr(e, "winerror", None) != WINDOWS_PAGING_FILE_TOO_SMALL
                and f"os error {WINDOWS_PAGING_FILE_TOO_SMALL}" not in str(e)):
            raise
        raise OutOfMemory(tr("Windows ran out of memory while {doing} (RAM plus the paging file is too small).",
                             doing=doing),
                          tr("Close other programs, or let Windows manage the paging file size (System > About > "
                             "Advanced system settings > Performance > Advanced > Virtual memory), with at least 20 "
                             "GB free on drive C:; then run this step again.")) from e
