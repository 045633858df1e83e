"""The merge arithmetic on raw safetensors bytes, with numpy only.

No torch on purpose: `import torch` alone costs ~650 MiB of RSS here (measured 2026-11-22, dev_log), more than
the whole merge needs. bf16 is not a numpy type, so it is handled as its uint16 bit pattern: widening is a
16-bit shift, narrowing rounds to nearest-even as torch does (the tests compare the two bit for bit; only NaN's
bit pattern may differ, torch's own differs between its scalar and vector code).
W + scale * B @ A is computed in float32 a block of rows at a time, so memory stays at one block (~1 MB)
whatever the size of the model or of its largest tensor.
"""
from __future__ import annotations

from typing import BinaryIO, Iterator

import numpy as np

from ..core.console import UserError
from ..core.language import tr
from ..core.model_files import DTYPE_SIZES, TensorInfo
from ..core.raw_floats import STORAGE, from_f32, to_f32

BLOCK_ELEMENTS = 256 * 1024  # 1 MB of float32: on the bench model 0.9 s / 60 MiB vs 2.2 s / 140 MiB at 4M (cache)

def read_raw(file: BinaryIO, offset: int, count: int, dtype: str) -> np.ndarray:
    """`count` elements of `dtype` at byte `offset`, read (not memory-mapped: mapped pages count in RSS)."""
    array = np.empty(count, dtype=STORAGE[dtype])
    file.seek(offset)
    got = file.readinto(memoryview(array).cast("B"))
    if got != array.nbytes:
        raise UserError(tr("{file} is cut short: expected {expected} bytes at offset {offset}, got {got}.",
                           file=getattr(file, "name", None) or tr("a weight file"), expected=array.nbytes,
                           offset=offset, got=got), tr("Download or write the model again."))
    return array


def read_f32(info: TensorInfo) -> np.ndarray:
    """A whole (small) tensor as float32 in its shape: for LoRA A and B."""
    with open(info.file, "rb") as f:
        raw = read_raw(f, info.offset, info.nbytes // DTYPE_SIZES[info.dtype], info.dtype)
    return to_f32(raw, info.dtype).reshape(info.shape)


def is_all_finite(encoded: np.ndarray, dtype: str) -> bool:
    if dtype == "BF16":  # exponent bits all ones = inf or NaN
        return not ((encoded & 0x7F80) == 0x7F80).any()
    return bool(np.isfinite(encoded).all())


def encode_fitting(values: np.ndarray, dtype: str, name: str, may_have_nan: bool = True) -> np.ndarray:
    """Encode float32 values; a finite one that overflows the target type (float16 tops at 65504) is refused."""
    encoded = from_f32(values, dtype, may_have_nan)
    if not is_all_finite(encoded, dtype) and np.isfinite(values).all():
        raise UserError(tr("{name} has values too large to store as {dtype}.", name=name, dtype=dtype),
                        tr("Use --dtype bf16 or --dtype keep (float16 cannot hold them)."))
    return encoded


def merged_blocks(file: BinaryIO, weight: TensorInfo, a: np.ndarray, b: np.ndarray, scale: float,
                  out_dtype: str) -> Iterator[np.ndarray]:
    """W + scale * B @ A for a [out, in] weight, computed in float32 and yielded in `out_dtype` storage,
    a block of rows at a time. Same order of operations as peft's merge: (B @ A) * scale, then add."""
    rows, cols = weight.shape
    block_rows = max(1, BLOCK_ELEMENTS // cols)
    element_size = DTYPE_SIZES[weight.dtype]
    for start in range(0, rows, block_rows):
        stop = min(rows, start + block_rows)
        raw = read_raw(file, weight.offset + start * cols * element_size, (stop - start) * cols, weight.dtype)
        merged = to_f32(raw, weight.dtype).reshape(stop - start, cols)  # a fresh array: safe to add into
        # einsum, not `@`: for a rank-r product OpenBLAS's threads only wait on each other, and on a busy
        # machine (2 cores, load 4) `@` took 2.5 s where einsum took 0.16 s (2026-11-22, dev_log).
        delta = np.einsum("ik,kj->ij", b[start:stop], a)
        delta *= np.float32(scale)
        merged += delta
        if not np.isfinite(merged).all():
            raise UserError(tr("Adding the adapter gives NaN or infinite values in {weight}: the training went "
                               "wrong (diverged).", weight=weight.name),
                            tr("Merge an earlier checkpoint (--adapter output/checkpoints/checkpoint-N), or train "
                               "again with a lower learning_rate."))
        yield encode_fitting(merged, out_dtype, weight.name, may_have_nan=False)


def converted_blocks(file: BinaryIO, info: TensorInfo, out_dtype: str) -> Iterator[np.ndarray]:
    """An untouched tensor re-encoded in another float type (--dtype), block by block."""
    count = info.nbytes // DTYPE_SIZES[info.dtype]
    element_size = DTYPE_SIZES[info.dtype]
    for start in range(0, count, BLOCK_ELEMENTS):
        stop = min(count, start + BLOCK_ELEMENTS)
        raw = read_raw(file, info.offset + start * element_size, stop - start, info.dtype)
        yield encode_fitting(to_f32(raw, info.dtype), out_dtype, info.name)
