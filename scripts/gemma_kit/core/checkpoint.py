"""Reading a Hugging Face safetensors checkpoint without building a model: config, shards, tensor index.

Pure Python (json + struct): merge and convert stream tensors one at a time from what this returns, so
peak memory stays at about one tensor and nothing the transformers class does not know is lost.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

from .console import UserError

INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
# Where the text model's weights sit in a real (multimodal) Gemma 3n checkpoint
MULTIMODAL_TEXT_PREFIX = "model.language_model."
GEMMA3N_MODEL_TYPES = {"gemma3n", "gemma3n_text"}

# safetensors dtype names -> bytes per element
DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dtype: str           # safetensors name: "BF16", "F32", ...
    shape: tuple[int, ...]
    file: Path
    offset: int          # absolute byte offset of the data in `file`
    nbytes: int


def read_config(folder: Path) -> dict:
    path = folder / "config.json"
    if not path.exists():
        raise UserError(f"{folder} has no config.json, so it is not a model checkpoint folder.",
                        "Point to the folder that holds config.json and the .safetensors files "
                        "(download_model.bat puts it under models/).")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UserError(f"{path} is damaged (invalid JSON at line {e.lineno}, column {e.colno}).",
                        "Download the model again (download_model.bat).") from e


def text_config_of(config: dict) -> dict:
    """The language model's hyper-parameters: `text_config` of a multimodal checkpoint, else the config."""
    return config.get("text_config") or config


def check_is_gemma3n(config: dict, folder: Path) -> None:
    model_type = config.get("model_type", "")
    text_type = text_config_of(config).get("model_type", "")
    if model_type not in GEMMA3N_MODEL_TYPES and text_type not in GEMMA3N_MODEL_TYPES:
        arch = ", ".join(config.get("architectures") or []) or model_type or "unknown"
        raise UserError(f"{folder} holds a '{arch}' model, not Gemma 3n.",
                        "This kit works only with Gemma 3n (google/gemma-3n-E2B-it or -E4B-it).")


def read_safetensors_header(path: Path) -> tuple[dict, int]:
    """The JSON header of a .safetensors file and where its data starts (format: u64 length + JSON)."""
    with open(path, "rb") as f:
        raw_len = f.read(8)
        if len(raw_len) != 8:
            raise UserError(f"{path} is empty or cut short.", "Download or write the model again.")
        (header_len,) = struct.unpack("<Q", raw_len)
        header_bytes = f.read(header_len)
    if len(header_bytes) != header_len:
        raise UserError(f"{path} is cut short (its header is incomplete).", "Download or write the model again.")
    try:
        header = json.loads(header_bytes)
    except json.JSONDecodeError as e:
        raise UserError(f"{path} is not a valid .safetensors file.", "Download or write the model again.") from e
    header.pop("__metadata__", None)
    return header, 8 + header_len


def shard_files(folder: Path) -> list[Path]:
    """The checkpoint's .safetensors files in order, checked against the index (missing ones are named)."""
    index_path = folder / INDEX_FILE
    if index_path.exists():
        weight_map = json.loads(index_path.read_text(encoding="utf-8")).get("weight_map", {})
        names = sorted(set(weight_map.values()))
        missing = [n for n in names if not (folder / n).exists()]
        if missing:
            raise UserError(f"{folder} is incomplete: {len(missing)} weight file(s) listed in {INDEX_FILE} are "
                            f"missing: {', '.join(missing)}.",
                            "Run download_model.bat again (it resumes), or copy the missing files in.")
        return [folder / n for n in names]
    if (folder / SINGLE_FILE).exists():
        return [folder / SINGLE_FILE]
    found = sorted(folder.glob("*.safetensors"))
    if found:
        return found
    raise UserError(f"{folder} has no .safetensors weight files.",
                    "Point to a folder with the model's .safetensors files (download_model.bat puts them under models/).")


def index_tensors(folder: Path) -> dict[str, TensorInfo]:
    """Every tensor of the checkpoint with its file, dtype, shape and byte range; nothing is loaded."""
    tensors: dict[str, TensorInfo] = {}
    for path in shard_files(folder):
        header, data_start = read_safetensors_header(path)
        data_end = data_start + max((meta["data_offsets"][1] for meta in header.values()), default=0)
        if path.stat().st_size < data_end:
            raise UserError(f"{path} is cut short: {path.stat().st_size:,} bytes of the {data_end:,} its header "
                            "lists (an interrupted download or copy).",
                            "Run download_model.bat again (it fetches what is missing), or copy the file again.")
        for name, meta in header.items():
            begin, end = meta["data_offsets"]
            tensors[name] = TensorInfo(name, meta["dtype"], tuple(meta["shape"]), path, data_start + begin, end - begin)
    index_path = folder / INDEX_FILE
    if index_path.exists():
        listed = set(json.loads(index_path.read_text(encoding="utf-8")).get("weight_map", {}))
        absent = sorted(listed - set(tensors))
        if absent:
            raise UserError(f"{folder}: {len(absent)} tensor(s) listed in {INDEX_FILE} are not in the weight files "
                            f"(first: {absent[0]}).", "Download or write the model again.")
    return tensors


def checkpoint_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in shard_files(folder))


# The adapter folder carries this file, written by finetune and checked by merge-lora, so that an adapter is
# never merged into a different base model than the one it was trained on.
BASE_MODEL_RECORD = "base_model.json"
MERGE_RECORD = "merged_from.json"   # written by merge-lora into the merged model: which adapter, which base


def file_fingerprint(path: Path) -> str:
    """sha256 of a whole file (datasets, adapters: small next to a model)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_fingerprint(folder: Path) -> str:
    """A quick identity of a checkpoint: sha256 of config.json and every shard's header (names, dtypes,
    shapes, byte offsets). Reads a few KB, not gigabytes; two different downloads of one model agree."""
    import hashlib

    digest = hashlib.sha256()
    digest.update((folder / "config.json").read_bytes())
    for path in shard_files(folder):
        header, _ = read_safetensors_header(path)
        digest.update(path.name.encode())
        digest.update(json.dumps(header, sort_keys=True).encode())
    return digest.hexdigest()


def write_base_model_record(adapter_dir: Path, base_dir: Path) -> None:
    record = {"base_model_path": str(base_dir), "fingerprint": checkpoint_fingerprint(base_dir),
              "text_config": text_config_of(read_config(base_dir))}
    (adapter_dir / BASE_MODEL_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")


def read_base_model_record(adapter_dir: Path) -> dict | None:
    path = adapter_dir / BASE_MODEL_RECORD
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def find_checkpoint_problems(folder: Path) -> list[str]:
    """Everything that keeps `folder` from being a usable Gemma 3n checkpoint, in plain words (empty = fine).

    Used by download-model (after a download and for --from-folder) and by doctor; needs no network.
    """
    if not folder.is_dir():
        return [f"the folder {folder} does not exist"]
    problems: list[str] = []
    try:
        config = read_config(folder)
        check_is_gemma3n(config, folder)
    except UserError as e:
        return [e.message]
    if not (folder / "tokenizer.model").exists():
        problems.append("tokenizer.model is missing (the GGUF step needs the SentencePiece tokenizer)")
    try:
        index_tensors(folder)
    except UserError as e:
        problems.append(e.message)
    return problems


# ---- the Trainer's checkpoints (output/checkpoints/checkpoint-N): finetune resumes from them, merge-lora can merge
CHECKPOINT_PREFIX = "checkpoint-"
TRAINER_STATE_FILE = "trainer_state.json"   # the Trainer writes it last: a checkpoint without it is incomplete
ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors"


def list_checkpoints(folder: Path) -> dict[int, Path]:
    """Complete checkpoints by step. One without trainer_state.json (or without its adapter) was cut short while
    saving: skipped, by finetune's resume and merge-lora alike."""
    found = {}
    if folder.is_dir():
        for path in folder.glob(CHECKPOINT_PREFIX + "*"):
            step_text = path.name[len(CHECKPOINT_PREFIX):]
            if (step_text.isdigit() and (path / TRAINER_STATE_FILE).is_file()
                    and (path / ADAPTER_WEIGHTS_FILE).is_file()):
                found[int(step_text)] = path
    return found


def latest_checkpoint(folder: Path) -> Path | None:
    found = list_checkpoints(folder)
    return found[max(found)] if found else None
