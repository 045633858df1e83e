"""The data of the Gemma 3n conversion: tensor names, F32 exceptions, and llama.cpp's fixed constants.

Everything here was read off llama.cpp 0c1e57098 (the one inside llama-cpp-python 0.3.36):
conversion/gemma.py (`Gemma3NModel`), gguf-py/gguf/tensor_mapping.py and src/models/gemma3n.cpp.
GGUF names come from the gguf library (`gguf.TENSOR_NAMES`), so only the Hugging Face side is spelled here.
"""
from __future__ import annotations

from gguf import MODEL_TENSOR as T

from ..core.model_files import MULTIMODAL_TEXT_PREFIX

GGUF_ARCHITECTURE = "gemma3n"

# Where the text model's tensors live: the multimodal checkpoint (google/gemma-3n-*-it) or a text-only save
# of Gemma3nForCausalLM. Stripped before looking a name up below.
TEXT_PREFIXES = (MULTIMODAL_TEXT_PREFIX, "model.")

# The vision and audio towers: llama.cpp's text model does not use them (they go to a separate mmproj file).
SKIPPED_PREFIXES = ("model.vision_tower.", "model.audio_tower.", "model.embed_vision.", "model.embed_audio.")

# Model-wide tensors, by their name under the text prefix.
GLOBAL_TENSORS: dict[str, T] = {
    "embed_tokens.weight": T.TOKEN_EMBD,
    "embed_tokens_per_layer.weight": T.PER_LAYER_TOKEN_EMBD,
    "per_layer_model_projection.weight": T.PER_LAYER_MODEL_PROJ,
    "per_layer_projection_norm.weight": T.PER_LAYER_PROJ_NORM,
    "norm.weight": T.OUTPUT_NORM,
}

# Tensors that are several Hugging Face matrices stacked on a new first axis, in this order
# (llama.cpp: altup_proj {n_embd, n_embd, n_altup - 1}).
STACKED_TENSORS: dict[T, tuple[str, ...]] = {
    T.ALTUP_PROJ: tuple(f"altup_projections.{i}.weight" for i in range(3)),
    T.ALTUP_UNEMBD_PROJ: tuple(f"altup_unembed_projections.{i}.weight" for i in range(3)),
}

# Gemma 3n ties the output to token_embd, so checkpoints store no lm_head; if one is there it is kept as
# `output` (llama.cpp uses it when present), as the reference converter does. Its name has no text prefix.
OPTIONAL_OUTPUT = ("lm_head.weight", T.OUTPUT)

# Per-layer tensors, by their name under "layers.{bid}.". llama.cpp requires every one of them in every layer,
# including the KV-shared layers' k_proj/v_proj/k_norm that it never uses (docs/gemma3n_facts.md, llama.cpp rule 2).
# `correct_output_scale` has no ".weight" in the checkpoint; GGUF names always end in ".weight".
LAYER_TENSORS: dict[str, T] = {
    "input_layernorm.weight": T.ATTN_NORM,
    "self_attn.q_proj.weight": T.ATTN_Q,
    "self_attn.k_proj.weight": T.ATTN_K,
    "self_attn.v_proj.weight": T.ATTN_V,
    "self_attn.o_proj.weight": T.ATTN_OUT,
    "self_attn.q_norm.weight": T.ATTN_Q_NORM,
    "self_attn.k_norm.weight": T.ATTN_K_NORM,
    "post_attention_layernorm.weight": T.ATTN_POST_NORM,
    "pre_feedforward_layernorm.weight": T.FFN_PRE_NORM,
    "post_feedforward_layernorm.weight": T.FFN_POST_NORM,
    "mlp.gate_proj.weight": T.FFN_GATE,
    "mlp.up_proj.weight": T.FFN_UP,
    "mlp.down_proj.weight": T.FFN_DOWN,
    "per_layer_input_gate.weight": T.PER_LAYER_INP_GATE,
    "per_layer_projection.weight": T.PER_LAYER_PROJ,
    "post_per_layer_input_norm.weight": T.PER_LAYER_POST_NORM,
    "altup.correction_coefs.weight": T.ALTUP_CORRECT_COEF,
    "altup.correct_output_scale": T.ALTUP_CORRECT_SCALE,
    "altup.prediction_coefs.weight": T.ALTUP_PREDICT_COEF,
    "altup.modality_router.weight": T.ALTUP_ROUTER,
    "altup.router_norm.weight": T.ALTUP_ROUTER_NORM,
    "laurel.linear_left.weight": T.LAUREL_L,
    "laurel.linear_right.weight": T.LAUREL_R,
    "laurel.post_laurel_norm.weight": T.LAUREL_POST_NORM,
}

# Padded with zero rows up to `vocab_size` (the vision/audio soft-token ids get their embeddings from the
# towers; llama.cpp still wants one row per token id).
PADDED_TO_VOCAB = {T.TOKEN_EMBD, T.PER_LAYER_TOKEN_EMBD}

# Stay F32 whatever the output type: 1-D tensors and "*_norm.weight" (ggml's norm kernels want F32), and the
# tiny altup coefficient matrices (llama.cpp's quantizer keeps them F32 too).
ALWAYS_F32 = {T.ALTUP_CORRECT_COEF, T.ALTUP_PREDICT_COEF}

# llama.cpp's Gemma 3n constants: hard-coded in src/models/gemma3n.cpp, models.h and llama-hparams.h; the GGUF
# keys of the same meaning are written but not read. A checkpoint with other values converts "fine" and then
# computes garbage, so they are checked up front. Keys are config.json (text_config) names.
LLAMA_CPP_FIXED = {
    "hidden_size_per_layer_input": 256,   # n_embd_altup
    "laurel_rank": 64,
    "altup_num_inputs": 4,                # n_altup
    "altup_active_idx": 0,                # i_altup_act
}
FIRST_KV_SHARED_LAYER = 20                # n_layer_kv_from_start: shared layers reuse layers 18 and 19
LAST_OWN_KV_LAYER_TYPES = {18: "sliding_attention", 19: "full_attention"}
SPARSE_LAYERS = 10                        # n_layer_sparsity: activation sparsity on layers 0..9 only
SPARSITY_TARGET = 0.95                    # f_sparsity_std_mul = 1.6448533 = normal quantile of 0.95

# config.json (text_config) keys the conversion reads without a default.
REQUIRED_CONFIG_KEYS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_kv_shared_layers",
                        "sliding_window", "layer_types", "activation_sparsity_pattern", "altup_active_idx",
                        "altup_num_inputs", "hidden_size_per_layer_input", "laurel_rank")

# Gemma 3n sizes by layer count, for the model's display name (llama.cpp's own llm_type table: 30 / 35).
VARIANT_BY_LAYERS = {30: "E2B", 35: "E4B"}

# Gemma's chat turn markers: they must reach llama.cpp as single special tokens (see vocab_writer).
TURN_MARKERS = ("<start_of_turn>", "<end_of_turn>")
