"""How much GPU memory QLoRA training of a Gemma 3n needs, part by part, from its config alone.

Pure arithmetic on the config (no torch): doctor prints it for the user's GPU, finetune prints it at start
and refuses early when it clearly cannot fit. Parameter counts follow transformers' Gemma3nForCausalLM exactly
(tests/test_memory_plan.py compares them with the model built on the meta device); activation and overhead
terms are estimates, derived in dev_log.txt (2026-11-22) and not yet checked against a real GPU.
"""
from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3
NF4_BYTES_PER_PARAM = 0.5 + 1 / 64 + 4 / (64 * 256)  # 4-bit codes + 8-bit absmax per 64 + f32 per 256 blocks
BF16 = 2
LORA_BYTES_PER_PARAM = 4 + 4 + 8  # f32 weight, its gradient, AdamW's two moments
CUDA_CONTEXT_BYTES = 0.6 * GIB     # CUDA context + cuBLAS workspaces, before any tensor
FRAGMENTATION = 1.10               # the caching allocator never packs perfectly
LOSS_CHUNK_TOKENS = 256

PRESET_GPU_EXAMPLES = {"E2B": {"num_hidden_layers": 30, "num_kv_shared_layers": 10, "intermediate_size": 8192},
                       "E4B": {"num_hidden_layers": 35, "num_kv_shared_layers": 15, "intermediate_size": 16384}}


def reference_text_config(model: str) -> dict:
    """The text config of google/gemma-3n-<model>-it (the parts that size memory)."""
    return {"hidden_size": 2048, "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 256,
            "vocab_size": 262400, "vocab_size_per_layer_input": 262144, "hidden_size_per_layer_input": 256,
            "laurel_rank": 64, "altup_num_inputs": 4, **PRESET_GPU_EXAMPLES[model]}


@dataclass(frozen=True)
class ParameterCounts:
    projections: int        # q,k,v,o,gate,up,down: 4-bit
    kept_linears: int       # altup, laurel, per-layer gate/projections: bf16
    norms_and_scales: int
    embed_tokens: int       # tied with the output head
    per_layer_table: int    # embed_tokens_per_layer: a lookup, the largest single tensor

    @property
    def total(self) -> int:
        return (self.projections + self.kept_linears + self.norms_and_scales + self.embed_tokens
                + self.per_layer_table)


def _intermediate(config: dict, layer: int) -> int:
    size = config["intermediate_size"]
    return size[layer] if isinstance(size, list) else size


def count_parameters(config: dict) -> ParameterCounts:
    """Exact counts of transformers' Gemma3nForCausalLM (KV-shared layers have no k/v, lm_head is tied)."""
    h, layers = config["hidden_size"], config["num_hidden_layers"]
    heads, kv_heads, head_dim = config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"]
    first_shared = layers - config.get("num_kv_shared_layers", 0)
    per_layer_in, rank, altup = config["hidden_size_per_layer_input"], config["laurel_rank"], config["altup_num_inputs"]
    projections = kept = norms = 0
    for layer in range(layers):
        kv = 0 if layer >= first_shared else 2 * h * kv_heads * head_dim
        projections += 2 * h * heads * head_dim + kv + 3 * h * _intermediate(config, layer)
        kept += altup * altup * altup + altup * altup + altup * h  # prediction, correction, router
        kept += 2 * h * rank + 2 * h * per_layer_in                 # laurel left/right, per-layer gate/projection
        norms += 2 * head_dim + 4 * h + 2 * h + h + h               # q/k norms, 4 block norms, altup scale+router norm, laurel, per-layer
    kept += 2 * (altup - 1) * h * h + layers * per_layer_in * h     # altup (un)embed projections, per-layer model projection
    norms += h + per_layer_in + (0 if first_shared == layers else 0)
    return ParameterCounts(projections, kept, norms, config["vocab_size"] * h,
                           config["vocab_size_per_layer_input"] * layers * per_layer_in)


@dataclass(frozen=True)
class MemoryPlan:
    parts: dict[str, float]   # bytes per part, in display order
    total: float


def plan_memory(config: dict, *, lora_rank: int, max_seq_length: int, batch_size: int = 1,
                per_layer_table_on_gpu: bool = True, chunked_loss: bool = False) -> MemoryPlan:
    counts = count_parameters(config)
    h, layers, vocab = config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]
    tokens = max_seq_length * batch_size
    lora_params = lora_rank * sum(
        (h + out) for layer in range(layers) for out in _lora_outputs(config, layer)) + lora_rank * sum(
        (_intermediate(config, layer) + h) for layer in range(layers))
    # Gradient checkpointing keeps each layer's input (altup carries 4 streams of width h) plus one layer's
    # recomputed internals (MLP 3 x intermediate, attention q/k/v/o, per-layer inputs) at a time.
    saved_inputs = layers * tokens * config["altup_num_inputs"] * h * BF16
    one_layer = tokens * (3 * max(_intermediate(config, i) for i in range(layers)) + 6 * h
                          + config["hidden_size_per_layer_input"] * layers) * BF16 * 2
    loss_tokens = min(tokens, LOSS_CHUNK_TOKENS) if chunked_loss else tokens
    parts = {
        "4-bit projections": counts.projections * NF4_BYTES_PER_PARAM,
        "altup/laurel/per-layer (bf16)": (counts.kept_linears + counts.norms_and_scales) * BF16,
        "embeddings + tied head (bf16)": counts.embed_tokens * BF16,
        "per-layer table (bf16)": counts.per_layer_table * BF16 if per_layer_table_on_gpu else 0.0,
        "LoRA + optimizer": lora_params * LORA_BYTES_PER_PARAM,
        "activations": saved_inputs + one_layer,
        "loss (logits)": loss_tokens * vocab * 4 * 2,
    }
    subtotal = sum(parts.values()) * FRAGMENTATION
    parts["CUDA overhead"] = CUDA_CONTEXT_BYTES + subtotal - sum(parts.values())
    return MemoryPlan(parts, CUDA_CONTEXT_BYTES + subtotal)


def _lora_outputs(config: dict, layer: int) -> list[int]:
    """Output widths of the attention projections LoRA wraps in this layer (k/v absent on KV-shared layers)."""
    h, heads, kv_heads, head_dim = (config["hidden_size"], config["num_attention_heads"],
                                    config["num_key_value_heads"], config["head_dim"])
    first_shared = config["num_hidden_layers"] - config.get("num_kv_shared_layers", 0)
    outs = [heads * head_dim, h] + ([] if layer >= first_shared else [kv_heads * head_dim] * 2)
    outs += [_intermediate(config, layer)] * 2  # gate, up (down is counted with in=intermediate)
    return outs


def format_plan(plan: MemoryPlan, label: str, gpu_total: float | None) -> str:
    lines = [f"Estimated GPU memory for {label}:"]
    for name, size in plan.parts.items():
        lines.append(f"  {name:<32}{size / GIB:6.2f} GB")
    lines.append(f"  {'total':<32}{plan.total / GIB:6.2f} GB")
    if gpu_total:
        verdict = "fits" if plan.total <= gpu_total * 0.95 else "does NOT fit"
        lines.append(f"  -> ~{plan.total / GIB:.1f} GB of your {gpu_total / GIB:.0f} GB: {verdict}")
        if verdict != "fits":
            lines.append("     To fit: choose model = \"E2B\", preset \"quick\", or a smaller max_seq_length.")
    return "\n".join(lines)
