"""A Hugging Face model folder, read without building a model: config, safetensors shards, tensor index.

Pure Python (json + struct): merge and convert stream tensors one at a time from what this returns, so
peak memory stays at about one tensor and nothing the transformers class does not know is lost.
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from math import prod
from pathlib import Path

from .console import UserError
from .json_files import read_json_object
from .language import N_, tr, tr_marked, tr_n

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
        raise UserError(tr("{folder} has no config.json, so it is not a model checkpoint folder.", folder=folder),
                        tr("Point to the folder that holds config.json and the .safetensors files "
                           "(download_model.bat puts it under models/)."))
    config = read_json_object(path, tr("Download the model again (download_model.bat)."),
                              holds=N_("one JSON object of settings"))
    if not isinstance(config.get("text_config") or {}, dict):
        raise UserError(tr("{path} is damaged (it should hold {holds}).", path=path,
                           holds=tr("one JSON object of settings")),
                        tr("Download the model again (download_model.bat)."))
    return config


def text_config_of(config: dict) -> dict:
    """The language model's hyper-parameters: `text_config` of a multimodal checkpoint, else the config."""
    return config.get("text_config") or config


def check_is_gemma3n(config: dict, folder: Path) -> None:
    model_type = config.get("model_type", "")
    text_type = text_config_of(config).get("model_type", "")
    if model_type not in GEMMA3N_MODEL_TYPES and text_type not in GEMMA3N_MODEL_TYPES:
        arch = ", ".join(config.get("architectures") or []) or model_type or tr("unknown")
        raise UserError(tr("{folder} holds a '{arch}' model, not Gemma 3n.", folder=folder, arch=arch),
                        tr("This kit works only with Gemma 3n (google/gemma-3n-E2B-it or -E4B-it)."))


# The safetensors library refuses headers above 100 MB; a real Gemma 3n shard's header is ~100 KB.
MAX_HEADER_BYTES = 100 * 1024 * 1024
# Types a valid file may hold besides the ones this kit converts (their sizes check the byte ranges).
HEADER_DTYPE_SIZES = {**DTYPE_SIZES, "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1}
DAMAGED_HINT = N_("The file is damaged or not a .safetensors file: download the model again (download_model.bat), "
                "or run the step that wrote it again (merge-lora, finetune).")


@dataclass(frozen=True)
class SafetensorsHeader:
    entries: dict        # tensor name -> {"dtype", "shape", "data_offsets"}, all checked
    metadata: dict | None
    raw: bytes           # u64 length + JSON, exactly as in the file
    data_start: int


def damaged(path: Path, problem: str) -> UserError:
    """`problem` is already in the user's language."""
    return UserError(tr("{path} is damaged: {problem}.", path=path, problem=problem), tr_marked(DAMAGED_HINT))


def parse_safetensors_header(path: Path) -> SafetensorsHeader:
    """The header of a .safetensors file (u64 length + JSON), checked before anything trusts it: length, text,
    shape of the JSON, every entry's type, shape and byte range against the file size. One plain error for
    every step that reads weights (merge-lora, convert-gguf, finetune, doctor)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            raw_len = f.read(8)
            if len(raw_len) != 8:
                raise UserError(tr("{path} is empty or cut short.", path=path),
                                tr("Download or write the model again."))
            (header_len,) = struct.unpack("<Q", raw_len)
            if header_len > MAX_HEADER_BYTES or 8 + header_len > size:
                raise damaged(path, tr("its first 8 bytes announce a header of {header_len:,} bytes in a file of "
                                       "{size:,} bytes", header_len=header_len, size=size))
            header_bytes = f.read(header_len)
    except OSError as e:
        raise UserError(tr("Cannot read {path}: {reason}.", path=path, reason=e.strerror or e),
                        tr("Check that the file is there and readable.")) from e
    if len(header_bytes) != header_len:
        raise UserError(tr("{path} is cut short (its header is incomplete).", path=path),
                        tr("Download or write the model again."))
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise damaged(path, tr("its header is not UTF-8 text")) from None
    except (ValueError, RecursionError):
        raise damaged(path, tr("its header is not valid JSON")) from None
    if not isinstance(header, dict):
        raise damaged(path, tr("its header is a JSON {kind}, not an object of tensors", kind=type(header).__name__))
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not isinstance(metadata, dict):
        raise damaged(path, tr("its __metadata__ is not an object"))
    data_start = 8 + header_len
    for name, entry in header.items():
        problem = entry_problem(entry)
        if problem:
            raise damaged(path, tr("tensor {name!r} {problem}", name=name, problem=problem))
    data_end = data_start + max((entry["data_offsets"][1] for entry in header.values()), default=0)
    if size < data_end:
        raise cut_short(path, size, data_end)
    return SafetensorsHeader(header, metadata, raw_len + header_bytes, data_start)


def cut_short(path: Path, size: int, data_end: int) -> UserError:
    return UserError(tr("{path} is cut short: {size:,} bytes of the {data_end:,} its header lists (an interrupted "
                        "download or copy).", path=path, size=size, data_end=data_end),
                     tr("Run download_model.bat again (it fetches what is missing), or copy the file again."))


def entry_problem(entry: object) -> str | None:
    if not isinstance(entry, dict):
        return tr("is not described by an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if dtype not in HEADER_DTYPE_SIZES:
        return tr("has an unknown number type {dtype!r}", dtype=dtype)
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        return tr("has no valid shape (a list of whole numbers)")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(n) is int for n in offsets)
            or not 0 <= offsets[0] <= offsets[1]):
        return tr("has no valid data_offsets (two whole numbers, start <= end)")
    if offsets[1] - offsets[0] != prod(shape) * HEADER_DTYPE_SIZES[dtype]:
        return tr("takes {nbytes:,} bytes, but its shape {shape} in {dtype} needs a different size",
                  nbytes=offsets[1] - offsets[0], shape=shape, dtype=dtype)
    return None


def read_safetensors_header(path: Path) -> tuple[dict, int]:
    """The checked tensor entries of a .safetensors file and where its data starts."""
    header = parse_safetensors_header(path)
    return header.entries, header.data_start


def read_weight_map(folder: Path) -> dict[str, str]:
    """tensor name -> shard file name, from the index; a damaged index is a plain error, not a traceback."""
    path = folder / INDEX_FILE
    try:
        weight_map = json.loads(path.read_text(encoding="utf-8")).get("weight_map", {})
    except (ValueError, AttributeError, RecursionError):  # not JSON, not UTF-8, or not an object
        weight_map = None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) and "/" not in v and "\\" not in v
                                                   for v in weight_map.values()):
        raise UserError(tr("{path} is damaged: it should map each tensor name to a .safetensors file of this "
                           "folder.", path=path), tr_marked(DAMAGED_HINT))
    return weight_map


def shard_files(folder: Path) -> list[Path]:
    """The checkpoint's .safetensors files in order, checked against the index (missing ones are named)."""
    index_path = folder / INDEX_FILE
    if index_path.exists():
        names = sorted(set(read_weight_map(folder).values()))
        missing = [n for n in names if not (folder / n).exists()]
        if missing:
            raise UserError(tr_n(len(missing), "{folder} is incomplete: {n} weight file(s) listed in {index} are "
                                 "missing: {names}.", "{folder} is incomplete: {n} weight file(s) listed in {index} "
                                 "are missing: {names}.", folder=folder, index=INDEX_FILE, names=", ".join(missing)),
                            tr("Run download_model.bat again (it resumes), or copy the missing files in."))
        return [folder / n for n in names]
    if (folder / SINGLE_FILE).exists():
        return [folder / SINGLE_FILE]
    found = sorted(folder.glob("*.safetensors"))
    if found:
        return found
    raise UserError(tr("{folder} has no .safetensors weight files.", folder=folder),
                    tr("Point to a folder with the model's .safetensors files (download_model.bat puts them under "
                       "models/)."))


def checkpoint_size(folder: Path) -> int:
    """Bytes of all the checkpoint's shards (transcription picks its CPU dtype by it)."""
    return sum(p.stat().st_size for p in shard_files(folder))


def index_tensors(folder: Path) -> dict[str, TensorInfo]:
    """Every tensor of the checkpoint with its file, dtype, shape and byte range; nothing is loaded."""
    tensors: dict[str, TensorInfo] = {}
    for path in shard_files(folder):
        header, data_start = read_safetensors_header(path)
        data_end = data_start + max((meta["data_offsets"][1] for meta in header.values()), default=0)
        if path.stat().st_size < data_end:
            raise cut_short(path, path.stat().st_size, data_end)
        for name, meta in header.items():
            begin, end = meta["data_offsets"]
            tensors[name] = TensorInfo(name, meta["dtype"], tuple(meta["shape"]), path, data_start + begin, end - begin)
    index_path = folder / INDEX_FILE
    if index_path.exists():
        listed = set(read_weight_map(folder))
        absent = sorted(listed - set(tensors))
        if absent:
            raise UserError(tr_n(len(absent), "{folder}: {n} tensor(s) listed in {index} are not in the weight "
                                 "files (first: {first}).", "{folder}: {n} tensor(s) listed in {index} are not in "
                                 "the weight files (first: {first}).", folder=folder, index=INDEX_FILE,
                                 first=absent[0]),
                            tr("Download or write the model again."))
    return tensors


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


def find_checkpoint_problems(folder: Path) -> list[str]:
    """Everything that keeps `folder` from being a usable Gemma 3n checkpoint, in plain words (empty = fine).

    Used by download-model (after a download and for --from-folder) and by doctor; needs no network.
    """
    if not folder.is_dir():
        return [tr("the folder {folder} does not exist", folder=folder)]
    problems: list[str] = []
    try:
        config = read_config(folder)
        check_is_gemma3n(config, folder)
    except UserError as e:
        return [e.message]
    if not (folder / "tokenizer.model").exists():
        problems.append(tr("tokenizer.model is missing (the GGUF step needs the SentencePiece tokenizer)"))
    try:
        index_tensors(folder)
    except UserError as e:
        problems.append(e.message)
    return problems
