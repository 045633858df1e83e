"""Loading the Gemma 3n text model in 4-bit from the multimodal checkpoint, and adding the LoRA adapter.

Only `Gemma3nForCausalLM` is built: the vision and audio towers of the checkpoint are never read into memory
(`summarize_left_out` says what stayed on disk). The projections go to 4-bit NF4 with double quantisation; the
layers named by `patches.keep_sensitive_layers_out_of_4bit` stay in `precision.weights_dtype`.
"""
from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

from gemma_kit.core.language import N_, tr, tr_marked
from gemma_kit.core.model_files import MULTIMODAL_TEXT_PREFIX, TensorInfo, index_tensors, text_config_of

from . import patches, per_layer_offload
from .device import Precision

LEFT_OUT_GROUPS = (  # checkpoint prefix -> what the user reads
    ("model.vision_tower.", N_("vision tower")),
    ("model.audio_tower.", N_("audio tower")),
    ("model.embed_vision.", N_("vision embedder")),
    ("model.embed_audio.", N_("audio embedder")),
)
KV_SHARED_UNUSED = ("self_attn.k_proj.", "self_attn.v_proj.", "self_attn.k_norm.")


def summarize_left_out(tensors: dict[str, TensorInfo], text_config: dict) -> dict[str, tuple[int, int]]:
    """What of the checkpoint the text model does not load: {group: (tensors, parameters)}.

    Besides the multimodal parts, the KV-shared layers' k/v/k_norm are stored but unused (those layers reuse an
    earlier layer's keys and values; docs/gemma3n_facts.md "The obvious merge loses tensors")."""
    first_shared = text_config["num_hidden_layers"] - text_config.get("num_kv_shared_layers", 0)
    groups: dict[str, tuple[int, int]] = {}
    for name, info in tensors.items():
        group = next((label for prefix, label in LEFT_OUT_GROUPS if name.startswith(prefix)), None)
        if group is None and is_unused_kv_shared_tensor(name, first_shared):
            group = N_("unused k/v of the KV-shared layers")
        if group is None and not name.startswith(MULTIMODAL_TEXT_PREFIX):
            group = N_("other non-text tensors")
        if group:
            count, params = groups.get(group, (0, 0))
            numel = 1
            for dim in info.shape:
                numel *= dim
            groups[group] = (count + 1, params + numel)
    return groups


def is_unused_kv_shared_tensor(name: str, first_shared_layer: int) -> bool:
    if not name.startswith(MULTIMODAL_TEXT_PREFIX + "layers."):
        return False
    layer_text, _, rest = name[len(MULTIMODAL_TEXT_PREFIX + "layers."):].partition(".")
    return layer_text.isdigit() and int(layer_text) >= first_shared_layer and rest.startswith(KV_SHARED_UNUSED)


def describe_left_out(groups: dict[str, tuple[int, int]]) -> str:
    if not groups:
        return tr("Nothing of the checkpoint was left out.")
    parts = [tr("{label} ({count} tensors, {millions:,.1f} M parameters)", label=tr_marked(label), count=count,
                millions=params / 1e6) for label, (count, params) in groups.items()]
    return tr("Left out of memory (not needed to train the text model): {parts}.", parts="; ".join(parts))


def load_text_config(config: dict):
    """The text model's config from the multimodal config.json (its `text_config`)."""
    from transformers import Gemma3nTextConfig

    return Gemma3nTextConfig(**text_config_of(config))


def quantization_config(precision: Precision, skip_names: list[str], table_in_cpu_ram: bool = False):
    """`table_in_cpu_ram`: the device map names "cpu" for the per-layer table, which bitsandbytes refuses unless
    llm_int8_enable_fp32_cpu_offload is set (transformers quantizer_bnb_4bit.validate_environment). The flag only
    keeps modules mapped to "cpu" out of 4-bit, and the table is an embedding, never 4-bit anyway."""
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=getattr(torch, precision.compute_dtype),
                              llm_int8_skip_modules=skip_names, llm_int8_enable_fp32_cpu_offload=table_in_cpu_ram)


@contextlib.contextmanager
def quiet_transformers():
    """transformers prints a table of the checkpoint's vision/audio keys as UNEXPECTED: true but alarming for a
    non-expert, and `describe_left_out` says it plainly instead. Its loading bar stays unless bars are off.
    Deprecation notices of transformers' own internals (FutureWarning "`is_gradient_checkpointing` is deprecated",
    transformers 5.23) are for its developers: every caller of load_text_model is spared them, not only the steps
    that filter them themselves."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    bars_off = bool(os.environ.get("GEMMA_KIT_NO_PROGRESS"))
    if bars_off:
        hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            yield
    finally:
        hf_logging.set_verbosity(level)
        if bars_off:
            hf_logging.enable_progress_bar()


def load_text_model(model_dir: Path, text_config, precision: Precision, device: str,
                    per_layer_table_on_gpu: bool = True):
    """4-bit Gemma3nForCausalLM on `device`, checked by the patches (module types, nothing left random).

    per_layer_table_on_gpu=False: the per-layer embedding table is loaded into CPU RAM and looked up there
    (patch 4, per_layer_offload.py); on a CPU-only machine the same lookup path runs, with nothing to move."""
    import torch
    from transformers import Gemma3nForCausalLM

    skip_names = patches.keep_sensitive_layers_out_of_4bit(text_config)
    device_map = per_layer_offload.load_device_map(device, per_layer_table_on_gpu)
    two_devices = len(set(device_map.values())) > 1
    quantization = quantization_config(precision, skip_names, table_in_cpu_ram=two_devices)
    with quiet_transformers(), per_layer_offload.no_accelerate_dispatch(two_devices):
        model, info = Gemma3nForCausalLM.from_pretrained(
            str(model_dir), config=text_config, quantization_config=quantization,
            dtype=getattr(torch, precision.weights_dtype), device_map=device_map, output_loading_info=True)
    patches.check_text_model_only(model, list(info.get("missing_keys", [])))
    patches.check_sensitive_layers_kept_out(model, skip_names)
    patches.turn_off_kv_cache_for_training(model)
    if not per_layer_table_on_gpu:
        stored = index_tensors(model_dir).get(MULTIMODAL_TEXT_PREFIX + "embed_tokens_per_layer.weight")
        per_layer_offload.keep_per_layer_table_on_cpu(model, stored_as_bf16=stored is not None
                                                      and stored.dtype == "BF16")
    # What later code reads to decide placement: peft's load_adapter (Trainer resume, the report) re-dispatches a
    # model whose map names "cpu" (device_map="auto": the table back on the GPU or offloaded again), and
    # accelerate's prepare_model calls model.to(device) on a model without a map (the whole table to the GPU).
    # One device: neither happens; the table's own forward (if in RAM) does the moving.
    model.hf_device_map = {"": device}
    return model


def add_lora(model, rank: int, alpha: int, dropout: float):
    """LoRA on the language model's attention and MLP projections (the only ones in a text-only model).

    Not `prepare_model_for_kbit_training`: it casts every non-4-bit weight to float32, which for Gemma 3n means
    the 2.9 B-parameter embedding tables of E4B (+5.8 GB); peft keeps the adapter itself in float32 anyway."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(patches.LORA_TARGETS),
                        bias="none", task_type="CAUSAL_LM")
    with warnings.catch_warnings():   # peft reads transformers' deprecated is_gradient_checkpointing (peft 0.21)
        warnings.filterwarnings("ignore", category=FutureWarning)
        return get_peft_model(model, config)


def count_parameters(model) -> tuple[int, int]:
    """(trainable, total); a 4-bit weight stores two values per byte, so its numel counts half."""
    trainable = total = 0
    for param in model.parameters():
        n = param.numel() * (2 if param.__class__.__name__ == "Params4bit" else 1)
        total += n
        if param.requires_grad:
            trainable += n
    return trainable, total


def describe_lora(model, rank: int, alpha: int) -> str:
    trainable, total = count_parameters(model)
    return tr("LoRA rank {rank}, alpha {alpha} on {targets}: {trainable:,} trainable parameters of {total:,} "
              "({share:.2f}%).", rank=rank, alpha=alpha, targets=", ".join(patches.LORA_TARGETS),
              trainable=trainable, total=total, share=100 * trainable / total)

