"""Check a Gemma 3n checkpoint against llama.cpp's needs and plan every GGUF tensor before writing any.

The plan fixes each output tensor's name, shape, type, byte size and source byte ranges, so the writer can
put the whole GGUF header down first and then stream the data (and the free-space check knows the size).
Every refusal here happens before the output file is touched.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from pathlib import Path

from gguf import GGML_QUANT_SIZES, TENSOR_NAMES, GGMLQuantizationType, LlamaFileType

from ..core.console import UserError
from ..core.language import tr
from ..core.model_files import TensorInfo, check_is_gemma3n, index_tensors, read_config
from . import gemma3n_table as table

Q = GGMLQuantizationType

# settings.gguf_type -> (type of the big matrices, general.file_type), as llama.cpp's --outtype.
OUTPUT_TYPES: dict[str, tuple[GGMLQuantizationType, LlamaFileType]] = {
    "q8_0": (Q.Q8_0, LlamaFileType.MOSTLY_Q8_0),
    "f16": (Q.F16, LlamaFileType.MOSTLY_F16),
    "bf16": (Q.BF16, LlamaFileType.MOSTLY_BF16),
    "f32": (Q.F32, LlamaFileType.ALL_F32),
}
READABLE_DTYPES = {"BF16", "F16", "F32"}
MAX_NAMES_SHOWN = 12


@dataclass(frozen=True)
class OutputTensor:
    name: str                          # GGUF name, e.g. "blk.3.attn_q.weight"
    qtype: GGMLQuantizationType
    shape: tuple[int, ...]             # numpy order (rows first), after stacking and padding
    sources: tuple[TensorInfo, ...]    # written one after another (several = stacked on a new first axis)
    pad_rows: int = 0                  # zero rows appended after the sources

    @property
    def nbytes(self) -> int:
        return tensor_nbytes(self.shape, self.qtype)


@dataclass
class ConversionPlan:
    folder: Path
    hparams: dict                      # config.json with text_config on top, as llama.cpp's converter reads it
    out_type: str                      # "q8_0", "f16", "bf16" or "f32"
    tensors: list[OutputTensor] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # vision/audio tensors left out

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)

    @property
    def file_type(self) -> LlamaFileType:
        return OUTPUT_TYPES[self.out_type][1]


def tensor_nbytes(shape: tuple[int, ...], qtype: GGMLQuantizationType) -> int:
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    assert shape[-1] % block_size == 0, f"{qtype.name} needs rows of a multiple of {block_size}, got {shape}"
    return prod(shape[:-1]) * (shape[-1] // block_size) * type_size


def merged_hparams(config: dict) -> dict:
    """llama.cpp's converter reads a multimodal config as its top level overlaid with text_config."""
    return {**config, **(config.get("text_config") or {})}


def plan_conversion(folder: Path, out_type: str) -> ConversionPlan:
    config = read_config(folder)
    check_is_gemma3n(config, folder)
    hparams = merged_hparams(config)
    check_config_complete(hparams, folder)
    check_llama_cpp_constants(hparams, folder)
    check_tokenizer_present(folder)
    tensors = index_tensors(folder)
    plan = ConversionPlan(folder, hparams, out_type)
    sources = route_tensors(tensors, folder, plan.skipped)
    check_required_tensors(sources, hparams, folder, tensors)
    check_source_dtypes(sources, folder)
    plan.tensors = build_output_tensors(sources, hparams, out_type, folder)
    return plan


# ---- refusals ----------------------------------------------------------------------------------------

def check_tokenizer_present(folder: Path) -> None:
    if not (folder / "tokenizer.model").is_file():
        raise UserError(tr("{folder} has no tokenizer.model, so the GGUF would have no vocabulary.", folder=folder),
                        tr("Copy tokenizer.model from the base model's folder (under models/) into it, "
                           "or run merge_lora.bat again (it copies the tokenizer)."))


def check_config_complete(hp: dict, folder: Path) -> None:
    missing = [key for key in table.REQUIRED_CONFIG_KEYS if key not in hp]
    if missing:
        raise UserError(tr("{config} lacks {keys}, which a Gemma 3n config always has.",
                           config=folder / "config.json", keys=", ".join(missing)),
                        tr("Copy config.json from the base model's folder (under models/), or run merge_lora.bat "
                           "again."))


def find_constant_problems(hp: dict) -> list[str]:
    """Each value of the checkpoint that differs from what llama.cpp hard-codes for Gemma 3n."""
    problems = [tr("{key} is {value!r}; llama.cpp always uses {fixed}", key=key, value=hp.get(key), fixed=fixed)
                for key, fixed in table.LLAMA_CPP_FIXED.items() if hp.get(key) != fixed]
    problems += find_kv_sharing_problems(hp)
    problems += find_sparsity_problems(hp.get("activation_sparsity_pattern"), hp.get("num_hidden_layers"))
    return problems


def find_kv_sharing_problems(hp: dict) -> list[str]:
    """llama.cpp shares the KV cache from layer 20 on, reusing layer 18 (sliding) and 19 (full)."""
    problems = []
    n_layers, n_shared = hp.get("num_hidden_layers"), hp.get("num_kv_shared_layers")
    if not isinstance(n_layers, int) or not isinstance(n_shared, int) \
            or n_layers - n_shared != table.FIRST_KV_SHARED_LAYER:
        problems.append(tr("num_hidden_layers - num_kv_shared_layers is {n_layers} - {n_shared}; llama.cpp always "
                           "shares the KV cache from layer {first} on", n_layers=n_layers, n_shared=n_shared,
                           first=table.FIRST_KV_SHARED_LAYER))
    layer_types = hp.get("layer_types") or []
    if len(layer_types) != n_layers:
        problems.append(tr("layer_types has {count} entries for {n_layers} layers", count=len(layer_types),
                           n_layers=n_layers))
    for layer, wanted in table.LAST_OWN_KV_LAYER_TYPES.items():
        found = layer_types[layer] if layer < len(layer_types) else None
        if found != wanted:
            problems.append(tr("layer {layer} is {found!r}; llama.cpp's KV-shared layers reuse layer {layer} "
                               "as {wanted}", layer=layer, found=found, wanted=wanted))
    return problems


def find_sparsity_problems(pattern, n_layers) -> list[str]:
    n_sparse, target = table.SPARSE_LAYERS, table.SPARSITY_TARGET
    if not isinstance(pattern, list) or len(pattern) != n_layers:
        return [tr("activation_sparsity_pattern is {pattern!r}; llama.cpp needs one value per layer",
                   pattern=pattern)]
    for layer, value in enumerate(pattern):
        wanted = target if layer < n_sparse else 0.0
        if value != wanted:
            return [tr("activation_sparsity_pattern[{layer}] is {value}; llama.cpp applies sparsity {target} to "
                       "exactly layers 0-{last} and none after", layer=layer, value=value, target=target,
                       last=n_sparse - 1)]
    return []


def check_llama_cpp_constants(hp: dict, folder: Path) -> None:
    problems = find_constant_problems(hp)
    if problems:
        raise UserError(tr("{config}: this Gemma 3n differs from what llama.cpp (and so LM Studio) hard-codes, "
                           "and would compute wrong answers:\n  {problems}", config=folder / "config.json",
                           problems="\n  ".join(problems)),
                        tr("Fine-tune google/gemma-3n-E2B-it or google/gemma-3n-E4B-it (their values match); "
                           "a checkpoint with other sizes cannot run in llama.cpp."))


def check_required_tensors(sources: dict[str, tuple[TensorInfo, ...]], hp: dict, folder: Path,
                           tensors: dict[str, TensorInfo]) -> None:
    """Name every tensor llama.cpp needs that the checkpoint lacks (it would refuse to load the GGUF)."""
    prefix = text_prefix_of(tensors)
    wanted = list(table.GLOBAL_TENSORS) + [n for names in table.STACKED_TENSORS.values() for n in names]
    wanted += [f"layers.{bid}.{suffix}" for bid in range(hp["num_hidden_layers"]) for suffix in table.LAYER_TENSORS]
    present = {info.name for group in sources.values() for info in group}
    missing = [prefix + name for name in wanted if prefix + name not in present]
    if not missing:
        return
    shown = ", ".join(missing[:MAX_NAMES_SHOWN]) + (tr(" and {count} more", count=len(missing) - MAX_NAMES_SHOWN)
                                                     if len(missing) > MAX_NAMES_SHOWN else "")
    hint = tr("Run merge_lora.bat again, or download the base model again if it came incomplete.")
    if all(is_kv_shared_layer_tensor(name, hp) for name in missing):
        hint = tr("These belong to the KV-shared layers, which transformers ignores and peft's "
                  "merge_and_unload() + save_pretrained() drops; llama.cpp still requires them. "
                  "Run merge_lora.bat again (it keeps them).")
    raise UserError(tr("{folder} lacks {count} tensor(s) that llama.cpp needs to load Gemma 3n: {names}.",
                       folder=folder, count=len(missing), names=shown), hint)


def is_kv_shared_layer_tensor(name: str, hp: dict) -> bool:
    parts = name.split(".layers.", 1)[-1].split(".", 1)
    first_shared = hp["num_hidden_layers"] - hp["num_kv_shared_layers"]
    return parts[0].isdecimal() and int(parts[0]) >= first_shared and parts[1].startswith("self_attn.")


def check_source_dtypes(sources: dict[str, tuple[TensorInfo, ...]], folder: Path) -> None:
    odd = [info for group in sources.values() for info in group if info.dtype not in READABLE_DTYPES]
    if odd:
        raise UserError(tr("{folder}: {count} tensor(s) are stored as {dtype} (first: {first}), not as "
                           "bf16/f16/f32 weights — a quantized (4-bit/8-bit) checkpoint cannot be converted.",
                           folder=folder, count=len(odd), dtype=odd[0].dtype, first=odd[0].name),
                        tr("Convert the merged model written by merge_lora.bat (it saves bf16), not a 4-bit one."))


# ---- naming and routing -------------------------------------------------------------------------------

def text_prefix_of(tensors: dict[str, TensorInfo]) -> str:
    multimodal = table.TEXT_PREFIXES[0]
    return multimodal if any(n.startswith(multimodal) for n in tensors) else table.TEXT_PREFIXES[1]


def gguf_name_of(local_name: str) -> str | None:
    """The GGUF name of a text tensor given its name under the text prefix (None: not in the table)."""
    if local_name in table.GLOBAL_TENSORS:
        return TENSOR_NAMES[table.GLOBAL_TENSORS[local_name]] + ".weight"
    for kind, names in table.STACKED_TENSORS.items():
        if local_name in names:
            return TENSOR_NAMES[kind] + ".weight"
    head, _, suffix = local_name.partition(".")
    bid, _, suffix = suffix.partition(".")
    if head == "layers" and bid.isdecimal() and suffix in table.LAYER_TENSORS:
        return TENSOR_NAMES[table.LAYER_TENSORS[suffix]].format(bid=int(bid)) + ".weight"
    return None


def route_tensors(tensors: dict[str, TensorInfo], folder: Path, skipped: list[str]
                  ) -> dict[str, tuple[TensorInfo, ...]]:
    """GGUF name -> its source tensors, in checkpoint order (shards in order, names sorted within a shard,
    as llama.cpp's converter reads them). Vision/audio go to `skipped`; anything else unknown is refused."""
    routed: dict[str, list[TensorInfo]] = {}
    unknown = []
    for info in ordered_like_llama_cpp(tensors):
        gguf_name = route_one(info.name)
        if gguf_name is None:
            (skipped if info.name.startswith(table.SKIPPED_PREFIXES) else unknown).append(info.name)
            continue
        group = routed.setdefault(gguf_name, [])
        if group and (not is_stacked(gguf_name) or stack_index(info) in map(stack_index, group)):
            raise UserError(tr("{folder} holds two tensors for {gguf_name}: {first} and {second}.", folder=folder,
                               gguf_name=gguf_name, first=group[0].name, second=info.name),
                            tr("The folder mixes two checkpoints; write the merged model into an empty folder."))
        group.append(info)
    if unknown:
        raise UserError(tr("{folder} holds {count} tensor(s) that are not part of Gemma 3n's text model "
                           "(first: {names}).", folder=folder, count=len(unknown), names=", ".join(unknown[:3])),
                        tr("Convert the folder written by merge_lora.bat; LoRA adapter tensors must be merged "
                           "first."))
    return {name: order_stack(name, tuple(group)) for name, group in routed.items()}


def route_one(name: str) -> str | None:
    if name == table.OPTIONAL_OUTPUT[0]:
        return TENSOR_NAMES[table.OPTIONAL_OUTPUT[1]] + ".weight"
    for prefix in table.TEXT_PREFIXES:
        if name.startswith(prefix) and not name.startswith(table.SKIPPED_PREFIXES):
            return gguf_name_of(name[len(prefix):])
    return None


def is_stacked(gguf_name: str) -> bool:
    return any(gguf_name == TENSOR_NAMES[kind] + ".weight" for kind in table.STACKED_TENSORS)


def stack_index(info: TensorInfo) -> int:
    """0, 1 or 2 for "...altup_projections.<i>.weight" (0 for anything not stacked)."""
    part = info.name.rsplit(".", 2)[-2]
    return int(part) if part.isdecimal() else 0


def order_stack(gguf_name: str, group: tuple[TensorInfo, ...]) -> tuple[TensorInfo, ...]:
    """Stacked sources go in index order (.0, .1, .2), whatever shard each one sits in."""
    return tuple(sorted(group, key=stack_index)) if is_stacked(gguf_name) else group


def ordered_like_llama_cpp(tensors: dict[str, TensorInfo]) -> list[TensorInfo]:
    by_file: dict[Path, list[TensorInfo]] = {}
    for info in tensors.values():
        by_file.setdefault(info.file, []).append(info)
    return [info for path in sorted(by_file) for info in sorted(by_file[path], key=lambda i: i.name)]


# ---- shapes and types ----------------------------------------------------------------------------------

def build_output_tensors(sources: dict[str, tuple[TensorInfo, ...]], hp: dict, out_type: str,
                         folder: Path) -> list[OutputTensor]:
    vocab_size = hp["vocab_size"]
    padded = {TENSOR_NAMES[kind] + ".weight" for kind in table.PADDED_TO_VOCAB}
    result = []
    for name, group in sources.items():
        shape, pad_rows = stacked_shape(name, group, folder), 0
        if name in padded:
            pad_rows = vocab_size - shape[0]
            if pad_rows < 0:
                raise UserError(tr("{folder}: {name} has {rows} rows, more than vocab_size {vocab_size} in "
                                   "config.json.", folder=folder, name=group[0].name, rows=shape[0],
                                   vocab_size=vocab_size),
                                tr("The config does not belong to these weights; run merge_lora.bat again."))
            shape = (vocab_size, *shape[1:])
        result.append(OutputTensor(name, choose_type(name, shape, out_type), shape, group, pad_rows))
    return result


def stacked_shape(name: str, group: tuple[TensorInfo, ...], folder: Path) -> tuple[int, ...]:
    if len(group) == 1 and not is_stacked(name):
        return group[0].shape
    if len({info.shape for info in group}) != 1:
        raise UserError(tr("{folder}: the tensors stacked into {name} differ in shape: {shapes}.", folder=folder,
                           name=name, shapes=", ".join(f"{i.name} {list(i.shape)}" for i in group)),
                        tr("The checkpoint is damaged; run merge_lora.bat again."))
    return (len(group), *group[0].shape)


def choose_type(gguf_name: str, shape: tuple[int, ...], out_type: str) -> GGMLQuantizationType:
    """llama.cpp's converter rules: 1-D tensors, norms and the altup coefficients stay F32; a matrix whose
    rows do not split into Q8_0's 32-value blocks falls back to F16."""
    wanted = OUTPUT_TYPES[out_type][0]
    f32_names = {TENSOR_NAMES[kind].split(".")[-1] for kind in table.ALWAYS_F32}
    if len(shape) <= 1 or gguf_name.endswith("_norm.weight") or gguf_name.split(".")[-2] in f32_names:
        return Q.F32
    if shape[-1] % GGML_QUANT_SIZES[wanted][0] != 0:
        return Q.F16
    return wanted
