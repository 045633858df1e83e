"""Write the GGUF: header, keys and tensor table first, then the tensor data streamed in row blocks.

gguf.GGUFWriter normally holds every tensor in memory until `write_tensors_to_file`. Here each tensor's info
(name, shape, type, byte size) is registered up front with `add_tensor_info`, the writer puts the header, the
key/values and the tensor table down, and the data is appended block by block to `writer.fout` with the
writer's own alignment padding. Peak memory is a few blocks per worker, whatever the largest tensor (the real
per-layer embedding table has 2-2.4 B values; llama.cpp's converter turns it into f32 whole,
docs/gemma3n_facts.md "Costs").

Blocks are read with plain positioned reads rather than a memory map: mapped pages that were read count in the
process's resident memory until unmapped, so mapping a 4.7 GB shard shows as 4.7 GB of RAM; a read goes through
the OS file cache, which does not. Conversion and Q8_0 quantisation (gguf.quants, bit-exact with ggml) run on
a thread pool — numpy releases the GIL inside its loops — while the main thread reads and writes in order.
"""
from __future__ import annotations

import os
import sys
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from math import gcd, prod
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFWriter
from gguf.quants import quantize

from ..core.console import UserError
from ..core.language import tr
from ..core.model_files import DTYPE_SIZES, TensorInfo
from ..core.raw_floats import STORAGE, to_f32
from .conversion_plan import OutputTensor

Q = GGMLQuantizationType
BLOCK_VALUES = 1 << 20      # values per work item: 2 MB of bf16 in, 4 MB as f32, ~1.1 MB of Q8_0 out
MAX_WORKERS = 8             # more cores barely help: reading and writing stay on one thread
ZERO_CHUNK = 16 << 20       # padding rows are written as zero bytes, this many at a time
SAME_BYTES = {("F32", Q.F32), ("F16", Q.F16), ("BF16", Q.BF16)}   # copied as they are

Item = "Future[np.ndarray] | np.ndarray"


def register_tensor_infos(writer: GGUFWriter, tensors: list[OutputTensor]) -> None:
    for tensor in tensors:
        # shape in numpy order and the real type: the writer reverses it to ggml order in the tensor table
        writer.add_tensor_info(tensor.name, tensor.shape, np.dtype(np.float32), tensor.nbytes, raw_dtype=tensor.qtype)


def quantize_width(n_values: int, row_length: int) -> int:
    """Q8_0 works on independent runs of 32 values, so a block of rows may be cut into wider rows: the
    bytes are the same, and gguf.quants (which loops in Python over groups of 16 rows) runs faster."""
    return max(row_length, 32 * gcd(n_values // 32, 256))


def encode_block(raw: np.ndarray, dtype: str, qtype: GGMLQuantizationType, row_length: int) -> np.ndarray:
    """Bytes of `raw` (a run of whole rows stored as `dtype`) in the GGUF type `qtype`."""
    if (dtype, qtype) in SAME_BYTES:
        return raw
    values = to_f32(raw.view(STORAGE[dtype]), dtype)
    width = quantize_width(values.size, row_length) if qtype == Q.Q8_0 else row_length
    return quantize(values.reshape(-1, width), qtype).reshape(-1).view(np.uint8)


def output_row_bytes(row_length: int, qtype: GGMLQuantizationType) -> int:
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    return row_length // block_size * type_size


class ShardReader:
    """Reads row ranges of checkpoint tensors; one open file per shard for the whole run."""

    def __init__(self, stack: ExitStack):
        self.stack = stack
        self.files: dict[Path, BinaryIO] = {}

    def read(self, info: TensorInfo, first_row: int, n_rows: int) -> np.ndarray:
        row_bytes = info.shape[-1] * DTYPE_SIZES[info.dtype] if info.shape else DTYPE_SIZES[info.dtype]
        f = self.files.get(info.file) or self.files.setdefault(info.file, self.stack.enter_context(
            open(info.file, "rb", buffering=0)))
        f.seek(info.offset + first_row * row_bytes)
        buffer = np.empty(n_rows * row_bytes, dtype=np.uint8)
        got = f.readinto(memoryview(buffer))
        if got != buffer.size:
            # The header was checked against the file's size at planning: the file shrank since, or is failing.
            raise UserError(tr("{file} ended early while reading {name} ({got:,} of {size:,} bytes).",
                               file=info.file, name=info.name, got=got, size=buffer.size),
                            tr("Was the file changed or copied over while converting? Run the step again; if it "
                               "happens again, write that model folder again (merge_lora.bat)."))
        return buffer


def row_blocks(info: TensorInfo) -> Iterator[tuple[int, int]]:
    """(first row, row count) covering the tensor in blocks of about BLOCK_VALUES values."""
    row_length = info.shape[-1] if info.shape else 1
    n_rows = prod(info.shape[:-1]) if info.shape else 1
    step = max(1, BLOCK_VALUES // row_length)
    for first in range(0, n_rows, step):
        yield first, min(step, n_rows - first)


def zero_blocks(n_bytes: int) -> Iterator[np.ndarray]:
    for start in range(0, n_bytes, ZERO_CHUNK):
        yield np.zeros(min(ZERO_CHUNK, n_bytes - start), dtype=np.uint8)


def stream_tensor_data(writer: GGUFWriter, tensors: list[OutputTensor], on_bytes: Callable[[int], None],
                       workers: int | None = None) -> None:
    """Append every tensor's data after the tensor table (state TI_DATA), in the table's order."""
    assert sys.byteorder == "little", "safetensors and GGUF data are little-endian; this host is not"
    assert writer.fout is not None and len(writer.fout) == 1, "expected one open, unsplit GGUF file"
    fout = writer.fout[0]
    workers = workers or min(MAX_WORKERS, os.cpu_count() or 1)
    writer.write_padding(fout, fout.tell())   # the data section starts aligned
    with ExitStack() as stack:
        reader = ShardReader(stack)
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gguf-encode"))
        pending: deque[tuple[Item, int]] = deque()

        def flush(keep: int) -> None:
            while len(pending) > keep:
                item, expected = pending.popleft()
                data = item.result() if isinstance(item, Future) else item
                assert data.nbytes == expected, f"encoded {data.nbytes} bytes, expected {expected}"
                fout.write(memoryview(data))
                on_bytes(data.nbytes)

        for tensor in tensors:
            for item, expected in tensor_items(tensor, reader, pool):
                pending.append((item, expected))
                flush(keep=workers + 2)   # bounded: a few blocks in flight per worker
            # alignment padding goes through the queue too, so the pool never drains between tensors
            padding = GGUFWriter.ggml_pad(tensor.nbytes, writer.data_alignment) - tensor.nbytes
            pending.append((np.zeros(padding, dtype=np.uint8), padding))
        flush(keep=0)
    fout.flush()


def tensor_items(tensor: OutputTensor, reader: ShardReader, pool: ThreadPoolExecutor
                 ) -> Iterator[tuple[Item, int]]:
    """The tensor's byte pieces in order: encoded row blocks of each source, then zero padding rows."""
    row_bytes = output_row_bytes(tensor.shape[-1], tensor.qtype)
    total = 0
    for info in tensor.sources:
        for first, n_rows in row_blocks(info):
            raw = reader.read(info, first, n_rows)
            if (info.dtype, tensor.qtype) in SAME_BYTES:
                yield raw, n_rows * row_bytes
            else:
                yield pool.submit(encode_block, raw, info.dtype, tensor.qtype, tensor.shape[-1]), n_rows * row_bytes
            total += n_rows * row_bytes
    for zeros in zero_blocks(tensor.pad_rows * row_bytes):
        yield zeros, zeros.nbytes
        total += zeros.nbytes
    assert total == tensor.nbytes, f"{tensor.name}: planned {tensor.nbytes} bytes, produced {total}"
