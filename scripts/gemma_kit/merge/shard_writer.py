"""The merged checkpoint's shards: planned in full before anything is written (every tensor's type, size and
place), then streamed shard by shard, each tensor merged block by block, re-encoded or copied raw.

Planning first is what lets merge-lora check the free space and write each safetensors header before its data.
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..core.console import UserError, progress
from ..core.language import tr
from ..core.model_files import DTYPE_SIZES, TensorInfo, index_tensors, parse_safetensors_header, shard_files
from .lora_adapter import FLOAT_DTYPES, LoraPair, LoraTarget

COPY_BUFFER_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class MergedTensor:
    source: TensorInfo
    dtype: str                  # safetensors type in the merged checkpoint
    lora: LoraPair | None       # None: copied (or only re-encoded for --dtype)

    @property
    def nbytes(self) -> int:
        return math.prod(self.source.shape) * DTYPE_SIZES[self.dtype]


@dataclass(frozen=True)
class MergedShard:
    source: Path
    tensors: list[MergedTensor]   # in the source file's byte order
    header: bytes                 # u64 length + JSON, exactly as it goes into the file

    @property
    def size(self) -> int:
        return len(self.header) + sum(t.nbytes for t in self.tensors)


def plan_shards(base_dir: Path, tensors: dict[str, TensorInfo], targets: list[LoraTarget],
                out_dtype: str | None) -> list[MergedShard]:
    lora_by_name = {t.weight.name: t.pair for t in targets}
    shards = []
    for path in shard_files(base_dir):
        infos = sorted((t for t in tensors.values() if t.file == path), key=lambda t: t.offset)
        planned = [MergedTensor(t, output_dtype(t.dtype, out_dtype), lora_by_name.get(t.name)) for t in infos]
        source_header = parse_safetensors_header(path)
        if all(t.dtype == t.source.dtype for t in planned):
            header = source_header.raw  # same types, same offsets: keep the header byte for byte
        else:
            header = build_header(planned, source_header.metadata)
        shards.append(MergedShard(path, planned, header))
    return shards


def output_dtype(source_dtype: str, out_dtype: str | None) -> str:
    return out_dtype if out_dtype and source_dtype in FLOAT_DTYPES else source_dtype


def build_header(tensors: list[MergedTensor], metadata: dict | None) -> bytes:
    """A safetensors header for re-encoded tensors: same order, new offsets, padded to 8 bytes like the
    reference writer (huggingface/safetensors: the data then starts aligned)."""
    entries: dict = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for t in tensors:
        entries[t.source.name] = {"dtype": t.dtype, "shape": list(t.source.shape),
                                  "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
    text = json.dumps(entries, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


# ---- writing ------------------------------------------------------------------------------------------

def write_shards(shards: list[MergedShard], folder: Path) -> None:
    """One bar over all tensors; each shard is written header first, then its tensors in byte order."""
    items = [(shard, tensor) for shard in shards for tensor in shard.tensors]
    writer: ShardWriter | None = None
    try:
        for shard, tensor in progress(items, total=len(items), desc=tr("Merging"), unit="tensor"):
            if writer is None or writer.shard is not shard:
                if writer is not None:
                    writer.close()
                writer = ShardWriter(shard, folder / shard.source.name)
            writer.write(tensor)
    finally:
        if writer is not None:
            writer.close()


class ShardWriter:
    """Streams one output shard: the header (known in advance, since every output tensor's type and shape
    is), then each tensor's bytes: merged block by block, re-encoded, or copied raw in chunks."""

    def __init__(self, shard: MergedShard, dest: Path):
        self.shard = shard
        self.source: BinaryIO = open(shard.source, "rb")
        self.dest: BinaryIO = open(dest, "wb")
        self.buffer = bytearray(COPY_BUFFER_BYTES)
        self.dest.write(shard.header)

    def write(self, tensor: MergedTensor) -> None:
        from . import lora_math  # numpy is imported only when a merge runs

        start = self.dest.tell()
        if tensor.lora is not None:
            a, b = lora_math.read_f32(tensor.lora.a), lora_math.read_f32(tensor.lora.b)
            for block in lora_math.merged_blocks(self.source, tensor.source, a, b, tensor.lora.scale, tensor.dtype):
                self.dest.write(memoryview(block).cast("B"))
        elif tensor.dtype == tensor.source.dtype:
            self.copy_raw(tensor.source.offset, tensor.source.nbytes)
        else:
            for block in lora_math.converted_blocks(self.source, tensor.source, tensor.dtype):
                self.dest.write(memoryview(block).cast("B"))
        written = self.dest.tell() - start
        assert written == tensor.nbytes, f"{tensor.source.name}: wrote {written} bytes, planned {tensor.nbytes}"

    def copy_raw(self, offset: int, nbytes: int) -> None:
        view = memoryview(self.buffer)
        self.source.seek(offset)
        left = nbytes
        while left:
            got = self.source.readinto(view[:min(left, len(view))])
            if not got:
                raise UserError(tr("{file} is cut short: it ends inside a tensor.", file=self.shard.source),
                                tr("Download the model again (download_model.bat)."))
            self.dest.write(view[:got])
            left -= got

    def close(self) -> None:
        self.source.close()
        self.dest.close()


def check_written(folder: Path, shards: list[MergedShard]) -> None:
    """Read back the headers just written (and the index, if any): every tensor is there, in its shard,
    with its planned type and shape."""
    written = index_tensors(folder)
    planned = {t.source.name: (s.source.name, t.dtype, t.source.shape) for s in shards for t in s.tensors}
    found = {name: (info.file.name, info.dtype, info.shape) for name, info in written.items()}
    assert found == planned, f"merged checkpoint differs from the plan: {len(found)} tensors vs {len(planned)} planned"
