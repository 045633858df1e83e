"""Reading a peft LoRA adapter folder without building a model: which checkpoint weight each A/B pair
changes, and by what scale.

peft's `save_pretrained` writes `adapter_config.json` and `adapter_model.safetensors`, whose keys carry the
names of the model it wrapped, e.g. `base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight` for
`Gemma3nForCausalLM`. The multimodal checkpoint calls that weight
`model.language_model.layers.3.self_attn.q_proj.weight`. Everything here is checked before the merge writes a
byte: a key that maps to nothing, a shape that does not fit, or a LoRA variant whose merge is not
W + scale * B @ A is a UserError. Pure Python (json, re): the arithmetic lives in lora_math.py.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.adapter_folders import ADAPTER_WEIGHTS_FILE
from ..core.console import UserError
from ..core.json_files import read_json_object
from ..core.language import N_, tr, tr_marked
from ..core.model_files import MULTIMODAL_TEXT_PREFIX, TensorInfo, read_safetensors_header

ADAPTER_CONFIG = "adapter_config.json"
PEFT_PREFIX = "base_model.model."
LORA_KEY = re.compile(r"^(?P<module>.+)\.lora_(?P<half>[AB])\.weight$")
FLOAT_DTYPES = {"F32", "F16", "BF16"}

# Names of the text model (Gemma3nForCausalLM) -> names in the multimodal checkpoint. transformers does the
# reverse when it loads the text model from the multimodal folder (docs/gemma3n_facts.md "The obvious merge").
TEXT_MODEL_PREFIX = "model."

# adapter_config.json keys whose truthy value means the merge is not plain W + scale * B @ A (peft 0.21
# LoraConfig fields tagged `is_lora_variant`, plus the ones that store or change other tensors).
# Bare method names are the same in every language (tr_marked leaves a name no table has as it is).
UNSUPPORTED_FEATURES = {
    "use_dora": N_("DoRA (weight-decomposed LoRA)"),
    "alora_invocation_tokens": N_("Activated LoRA (aLoRA), which peft itself cannot merge"),
    "use_qalora": "QA-LoRA",
    "velora_config": "VeLoRA",
    "monteclora_config": "MonteCLoRA",
    "use_bdlora": N_("block-diagonal LoRA"),
    "arrow_config": N_("Arrow routing"),
    "kasa_config": "KaSA",
    "lora_bias": N_("a trained LoRA bias"),
    "fan_in_fan_out": N_("transposed (fan_in_fan_out) weights"),
    "modules_to_save": N_("full copies of some modules (modules_to_save)"),
    "trainable_token_indices": N_("trained token embeddings (trainable_token_indices)"),
    "layer_replication": N_("layer replication"),
    "target_parameters": N_("LoRA on parameters (target_parameters)"),
}
# These initialisations also change the base weights, so the adapter alone does not describe the change.
BASE_CHANGING_INITS = ("pissa", "olora", "corda", "loftq")

PLAIN_LORA_HINT = N_("Train a plain LoRA adapter (finetune_gemma.bat does), then run merge_lora.bat again.")


@dataclass(frozen=True)
class LoraPair:
    module: str      # peft's module name, e.g. model.layers.3.self_attn.q_proj
    a: TensorInfo    # [rank, in_features]
    b: TensorInfo    # [out_features, rank]
    scale: float     # alpha / rank, or alpha / sqrt(rank) for rsLoRA


@dataclass(frozen=True)
class LoraTarget:
    weight: TensorInfo   # the checkpoint tensor that gets W + scale * B @ A
    pair: LoraPair


@dataclass(frozen=True)
class LoraAdapter:
    folder: Path
    config: dict
    pairs: list[LoraPair]


def read_lora_adapter(folder: Path) -> LoraAdapter:
    config = read_adapter_config(folder)
    check_is_plain_lora(config, folder / ADAPTER_CONFIG)
    weights = find_adapter_weights(folder)
    pairs = [pair_with_scale(module, a, b, config, folder) for module, (a, b) in pair_lora_tensors(weights).items()]
    if not pairs:
        raise UserError(tr("{path} holds no LoRA weights.", path=weights),
                        tr("Train the adapter again with finetune_gemma.bat, or pick another checkpoint with "
                           "--adapter."))
    return LoraAdapter(folder, config, pairs)


def read_adapter_config(folder: Path) -> dict:
    path = folder / ADAPTER_CONFIG
    if not path.exists():
        raise UserError(tr("{folder} is not a LoRA adapter folder: it has no {config_file}.", folder=folder,
                           config_file=ADAPTER_CONFIG),
                        tr("Point --adapter to the folder finetune_gemma.bat wrote (output/lora_adapter) or to one "
                           "of output/checkpoints/checkpoint-N."))
    config = read_json_object(path, tr("Use another checkpoint with --adapter, or train again with "
                                       "finetune_gemma.bat."))
    missing = [key for key in ("r", "lora_alpha") if not isinstance(config.get(key), (int, float))]
    if missing:
        raise UserError(tr("{path} has no number for {keys}, so the LoRA scale is unknown.", path=path,
                           keys=", ".join(missing)),
                        tr("Use another checkpoint with --adapter, or train again with finetune_gemma.bat."))
    return config


def check_is_plain_lora(config: dict, path: Path) -> None:
    """Refuse, by name, every adapter whose merge is not W + scale * B @ A."""
    if config.get("peft_type", "LORA") != "LORA":
        raise UserError(tr("{path}: this is a {peft_type} adapter, not LoRA; merge-lora merges LoRA only.",
                           path=path, peft_type=config.get("peft_type")),
                        tr_marked(PLAIN_LORA_HINT))
    for key, feature in UNSUPPORTED_FEATURES.items():
        if config.get(key):
            raise UserError(tr("{path}: the adapter uses {feature} ({key} = {value}), which "
                               "merge-lora cannot merge; it merges plain LoRA only.", path=path,
                               feature=tr_marked(feature), key=key, value=json.dumps(config[key])),
                            tr_marked(PLAIN_LORA_HINT))
    init = str(config.get("init_lora_weights", True)).lower()
    if init.startswith(BASE_CHANGING_INITS):
        raise UserError(tr("{path}: the adapter was initialised with '{init}', which also changes the base "
                           "weights, so merging it into the original model would be wrong.", path=path, init=init),
                        tr_marked(PLAIN_LORA_HINT))


def find_adapter_weights(folder: Path) -> Path:
    path = folder / ADAPTER_WEIGHTS_FILE
    if path.exists():
        return path
    if (folder / "adapter_model.bin").exists():
        raise UserError(tr("{folder} holds its weights as adapter_model.bin, a pickle file, which this kit never "
                           "loads (a pickle can run code).", folder=folder),
                        tr("Save the adapter again with peft's save_pretrained (it writes "
                           "adapter_model.safetensors)."))
    raise UserError(tr("{folder} has {config_file} but no {weights_file}: the adapter was not saved completely.",
                       folder=folder, config_file=ADAPTER_CONFIG, weights_file=ADAPTER_WEIGHTS_FILE),
                    tr("Use another checkpoint with --adapter, or train again with finetune_gemma.bat."))


def index_adapter_tensors(path: Path) -> list[TensorInfo]:
    header, data_start = read_safetensors_header(path)
    return [TensorInfo(name, meta["dtype"], tuple(meta["shape"]), path, data_start + meta["data_offsets"][0],
                       meta["data_offsets"][1] - meta["data_offsets"][0]) for name, meta in header.items()]


def pair_lora_tensors(path: Path) -> dict[str, tuple[TensorInfo, TensorInfo]]:
    """Group lora_A / lora_B by module; any other tensor (DoRA magnitudes, embedding LoRA, saved modules)
    means the adapter is more than plain LoRA and is refused rather than silently dropped."""
    halves: dict[str, dict[str, TensorInfo]] = {}
    others = []
    for info in index_adapter_tensors(path):
        match = LORA_KEY.match(info.name.removeprefix(PEFT_PREFIX))
        if match and len(info.shape) == 2 and info.dtype in FLOAT_DTYPES:
            halves.setdefault(match["module"], {})[match["half"]] = info
        else:
            others.append(info.name)
    if others:
        raise UserError(tr("{path} holds {count} tensor(s) that are not plain LoRA A/B weights "
                           "(first: {first}); merge-lora merges plain LoRA only.", path=path, count=len(others),
                           first=sorted(others)[0]), tr_marked(PLAIN_LORA_HINT))
    incomplete = sorted(m for m, h in halves.items() if set(h) != {"A", "B"})
    if incomplete:
        raise UserError(tr("{path} is damaged: {count} module(s) have only one of lora_A / lora_B "
                           "(first: {first}).", path=path, count=len(incomplete), first=incomplete[0]),
                        tr("Use another checkpoint with --adapter, or train again with finetune_gemma.bat."))
    return {module: (h["A"], h["B"]) for module, h in sorted(halves.items())}


def find_pattern_key(patterns: dict, module: str) -> str | None:
    """The first rank_pattern / alpha_pattern key that names this module, matched as peft 0.21 does
    (peft/utils/other.py `get_pattern_key`: the key as a regex for the end of the dotted module name)."""
    for key in patterns:
        if re.match(rf"(.*\.)?({key})$", module):
            return key
    return None


def lora_rank_and_alpha(config: dict, module: str) -> tuple[int, float]:
    rank_pattern = config.get("rank_pattern") or {}
    alpha_pattern = config.get("alpha_pattern") or {}
    rank_key = find_pattern_key(rank_pattern, module)
    alpha_key = find_pattern_key(alpha_pattern, module)
    rank = rank_pattern[rank_key] if rank_key is not None else config["r"]
    alpha = alpha_pattern[alpha_key] if alpha_key is not None else config["lora_alpha"]
    return rank, alpha


def pair_with_scale(module: str, a: TensorInfo, b: TensorInfo, config: dict, folder: Path) -> LoraPair:
    rank, alpha = lora_rank_and_alpha(config, module)
    if a.shape[0] != rank or b.shape[1] != rank:
        raise UserError(tr("{path} gives {module} rank {rank}, but its weights have rank "
                           "{weights_rank} (lora_A {a_shape}, lora_B {b_shape}).", path=folder / ADAPTER_CONFIG,
                           module=module, rank=rank, weights_rank=a.shape[0], a_shape=list(a.shape),
                           b_shape=list(b.shape)),
                        tr("The adapter's files do not belong together: use another checkpoint with --adapter, or "
                           "train again with finetune_gemma.bat."))
    # peft LoraLayer.update_layer: scaling = alpha / sqrt(r) with use_rslora, else alpha / r.
    scale = alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank
    return LoraPair(module, a, b, scale)


def checkpoint_names_for(module: str) -> list[str]:
    """Where a peft module's weight may live in the checkpoint: the same name (adapter made on the full
    model, or a text-only checkpoint), else under the multimodal checkpoint's language_model prefix."""
    names = [module + ".weight"]
    if module.startswith(TEXT_MODEL_PREFIX) and not module.startswith(MULTIMODAL_TEXT_PREFIX):
        names.append(MULTIMODAL_TEXT_PREFIX + module.removeprefix(TEXT_MODEL_PREFIX) + ".weight")
    return names


def map_onto_checkpoint(adapter: LoraAdapter, tensors: dict[str, TensorInfo], base: Path) -> list[LoraTarget]:
    """Every LoRA pair onto exactly one checkpoint weight of a matching shape, or a UserError."""
    targets, unmapped = [], []
    for pair in adapter.pairs:
        name = next((n for n in checkpoint_names_for(pair.module) if n in tensors), None)
        if name is None:
            unmapped.append(pair.module)
            continue
        check_shape_fits(pair, tensors[name], adapter.folder, base)
        targets.append(LoraTarget(tensors[name], pair))
    if unmapped:
        looked_for = " or ".join(checkpoint_names_for(unmapped[0]))
        raise UserError(tr("The adapter in {adapter} changes {count} weight(s) that the model in {base} "
                           "does not have (first: {first}, looked for {looked_for}).", adapter=adapter.folder,
                           count=len(unmapped), base=base, first=unmapped[0], looked_for=looked_for),
                        tr("The adapter was made for another model. Merge it into the model it was trained on "
                           "(--base), or train a new adapter on this one with finetune_gemma.bat."))
    return targets


def check_shape_fits(pair: LoraPair, weight: TensorInfo, adapter_dir: Path, base: Path) -> None:
    out_features, in_features = pair.b.shape[0], pair.a.shape[1]
    if weight.shape != (out_features, in_features):
        raise UserError(tr("The adapter in {adapter} does not fit the model in {base}: {weight} has shape "
                           "{shape}, but the adapter's {module} changes a [{out_features}, {in_features}] weight.",
                           adapter=adapter_dir, base=base, weight=weight.name, shape=list(weight.shape),
                           module=pair.module, out_features=out_features, in_features=in_features),
                        tr("The adapter was trained on another model (E2B and E4B differ). Merge it into the model "
                           "it was trained on (--base), or train a new adapter on this one with finetune_gemma.bat."))
    if weight.dtype not in FLOAT_DTYPES:
        raise UserError(tr("{weight} in {file} is stored as {dtype}, not as plain floating-point "
                           "numbers (a quantised model?), so the adapter cannot be added to it.", weight=weight.name,
                           file=weight.file, dtype=weight.dtype),
                        tr("Merge into the original bf16 model that download_model.bat fetches (--base)."))
