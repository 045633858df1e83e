"""The GGUF key/value pairs that describe the model: general.* and the gemma3n.* hyper-parameters.

The keys, their types and their defaults follow llama.cpp's converter for Gemma 3n (conversion/base.py
`TextModel.set_gguf_parameters`, conversion/gemma.py `Gemma3Model` / `Gemma3NModel`), through the same
gguf.GGUFWriter `add_*` methods, so the types match too. Only the naming keys differ on purpose: llama.cpp
names the model after its folder ("merged_model"); we name it after what it is (see `describe_model`).
"""
from __future__ import annotations

from math import inf
from pathlib import Path
from statistics import NormalDist

import gguf
from gguf import GGUFWriter, LlamaFileType, RopeScalingType

from ..core.console import UserError
from ..core.language import tr
from ..core.settings import MODEL_REPOS
from .gemma3n_table import VARIANT_BY_LAYERS

# Gemma3Model's defaults for keys a config may leave out.
DEFAULT_CONTEXT = 131072
DEFAULT_HEADS, DEFAULT_KV_HEADS, DEFAULT_HEAD_DIM = 8, 4, 256
DEFAULT_RMS_EPS = 1e-6
DEFAULT_ROPE_THETA = 1_000_000.0
# Names a flat (pre-"rope_parameters") config uses for the local/sliding and global rope bases.
LOCAL_ROPE_KEYS = ("local_rope_theta", "rope_local_theta", "rope_theta_local", "swa_rope_theta",
                   "rope_local_base_freq")
GLOBAL_ROPE_KEYS = ("global_rope_theta", "rope_global_theta", "rope_theta_global", "rope_theta", "rotary_emb_base")


def add_hyperparameters(writer: GGUFWriter, hp: dict, file_type: LlamaFileType) -> None:
    head_dim = hp.get("head_dim", DEFAULT_HEAD_DIM)
    writer.add_block_count(hp["num_hidden_layers"])
    writer.add_context_length(hp.get("max_position_embeddings", DEFAULT_CONTEXT))
    writer.add_embedding_length(hp["hidden_size"])
    writer.add_feed_forward_length(hp["intermediate_size"])  # one per layer in Gemma 3n configs
    writer.add_head_count(hp.get("num_attention_heads", DEFAULT_HEADS))
    writer.add_head_count_kv(hp.get("num_key_value_heads", DEFAULT_KV_HEADS))
    add_rope_keys(writer, hp)
    writer.add_layer_norm_rms_eps(hp.get("rms_norm_eps", DEFAULT_RMS_EPS))
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_file_type(file_type)
    if hp.get("final_logit_softcapping"):
        writer.add_final_logit_softcapping(hp["final_logit_softcapping"])
    writer.add_sliding_window(hp["sliding_window"])
    writer.add_altup_active_idx(hp["altup_active_idx"])
    writer.add_altup_num_inputs(hp["altup_num_inputs"])
    writer.add_embedding_length_per_layer_input(hp["hidden_size_per_layer_input"])
    writer.add_shared_kv_layers(hp["num_kv_shared_layers"])
    writer.add_activation_sparsity_scale([std_multiplier(s) for s in hp["activation_sparsity_pattern"]])
    writer.add_sliding_window_pattern([t == "sliding_attention" for t in hp["layer_types"]])


def std_multiplier(sparsity: float) -> float:
    """How many standard deviations above the mean keep the top (1 - sparsity) of activations: the normal
    quantile of `sparsity` (0.95 -> 1.6448536 in float32, as llama.cpp's converter writes; 0 -> -inf)."""
    if sparsity <= 0.0:
        return -inf
    if sparsity >= 1.0:
        return inf
    return NormalDist().inv_cdf(sparsity)


def rope_settings(hp: dict) -> tuple[dict, float | None]:
    """(the global layers' rope parameters, the sliding layers' base) from either config style:
    transformers 5's nested `rope_parameters` or the flat rope_theta / rope_local_base_freq of the hub files."""
    params = dict(hp.get("rope_parameters") or hp.get("rope_scaling") or {})
    if "full_attention" in params or "sliding_attention" in params:
        return params.get("full_attention", params), params.get("sliding_attention", {}).get("rope_theta")
    global_theta = next((hp[k] for k in GLOBAL_ROPE_KEYS if k in hp), None)
    if global_theta is not None:
        params.setdefault("rope_theta", global_theta)
    if "rope_type" not in params and params.get("type") is not None:
        params["rope_type"] = params["type"]
    return params, next((hp[k] for k in LOCAL_ROPE_KEYS if k in hp), None)


def add_rope_keys(writer: GGUFWriter, hp: dict) -> None:
    full, sliding_theta = rope_settings(hp)
    rope_type = full.get("rope_type")
    if rope_type == "linear" and full.get("factor") is not None:
        writer.add_rope_scaling_type(RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(full["factor"])
    elif rope_type not in (None, "default"):
        raise UserError(tr("config.json asks for '{rope_type}' rope scaling, which Gemma 3n does not use and "
                           "this converter does not write.", rope_type=rope_type),
                        tr("Convert an unmodified Gemma 3n fine-tune."))
    writer.add_rope_freq_base(full.get("rope_theta", DEFAULT_ROPE_THETA))
    if sliding_theta is not None:
        writer.add_rope_freq_base_swa(sliding_theta)


def model_variant(hp: dict) -> str:
    return VARIANT_BY_LAYERS.get(hp.get("num_hidden_layers"), "")


def describe_model(hp: dict, type_name: str) -> tuple[str, str]:
    """(general.name, general.description): what LM Studio shows in its model list and details."""
    variant = model_variant(hp)
    name = f"Gemma 3n {variant} fine-tuned".replace("  ", " ")
    base = f" (base: {MODEL_REPOS[variant]})" if variant in MODEL_REPOS else ""
    description = (f"Gemma 3n{' ' + variant if variant else ''}{base} fine-tuned with a LoRA adapter on the "
                   f"owner's own chat messages, merged and converted to {type_name} by gemma-kit. "
                   "Chat format: Gemma turns (<start_of_turn>user ... <start_of_turn>model).")
    return name, description


def add_general_keys(writer: GGUFWriter, folder: Path, hp: dict, type_name: str) -> None:
    """general.*: the library's reading of the folder (model card, generation_config.json sampling, size
    label), with our own name and description instead of the folder-name guess. Call after the tensor infos
    are added: the size label counts their parameters."""
    counts = writer.get_total_parameter_count()
    meta = gguf.Metadata.load(None, folder, None, counts[0])
    meta.name, meta.description = describe_model(hp, type_name)
    meta.basename, meta.finetune = "gemma-3n", "gemma-kit"
    if meta.size_label is None and counts[0] > 0:
        meta.size_label = gguf.size_label(*counts)
    writer.add_type(gguf.GGUFType.MODEL)
    meta.set_gguf_meta_model(writer)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
