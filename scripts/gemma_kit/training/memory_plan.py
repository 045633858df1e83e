"""How much GPU memory QLoRA training of a Gemma 3n needs, part by part, from its config alone.

Pure arithmetic on the config (no torch): doctor prints it for the user's GPU, finetune prints it at start with
its actual placement choices and refuses early when it clearly cannot fit (`judge_memory`); "auto" placement of
the per-layer table is decided here too (`choose_table_on_gpu`). Parameter counts follow transformers'
Gemma3nForCausalLM exactly (tests/test_memory_plan.py compares them with the model built on the meta device).
The activation and loss terms were fitted to measurements of tiny Gemma 3n models on the CPU (float32, tensor
bytes counted by training/memory_probe.py); how, and what is not verified on a GPU: dev_log.txt 2026-11-22
("finetune: the memory model").
"""
from __future__ import annotations

from dataclasses import dataclass

from gemma_kit.core.language import N_, tr, tr_marked

GIB = 1024**3
NF4_BYTES_PER_PARAM = 0.5 + 1 / 64 + 4 / (64 * 256)  # 4-bit codes + 8-bit absmax per 64 + f32 per 256 blocks
BF16 = 2
LORA_BYTES_PER_PARAM = 4 + 4 + 8  # f32 weight, its gradient, AdamW's two moments
CUDA_CONTEXT_BYTES = 0.6 * GIB     # CUDA context + cuBLAS/bitsandbytes workspaces, before any tensor (not measured)
FRAGMENTATION = 1.10               # the caching allocator never packs perfectly (not measured)
LOSS_CHUNK_TOKENS = 128            # training/chunked_loss.py: logits for this many tokens at a time
# Peak bytes per logit of the loss and its backward, measured on the CPU with training/memory_probe.py
# (bench/bench_memory_patches.py): plain = transformers' head + soft-cap + ForCausalLMLoss over all tokens,
# keyed by the logits' dtype size; chunked = per logit of one chunk.
PLAIN_LOSS_BYTES_PER_LOGIT = {2: 14.0, 4: 16.0}
CHUNKED_LOSS_BYTES_PER_LOGIT = {2: 16.1, 4: 16.1}
REFUSE_MARGIN = 1.25               # refuse only beyond 25% over the free memory: the estimate is not GPU-verified
AUTO_TABLE_ON_GPU_SHARE = 0.80     # "auto" keeps the table on the GPU only with 20% of the free memory to spare
REFUSED = ("busy", "too_small")
CONTEXT_PART = "CUDA context"
SLACK_PART = "allocator slack (10%)"
CLOSE_GPU_PROGRAMS = N_("Close programs that use the GPU (games, video, LM Studio or Ollama with a model loaded)")
# The parts' names (plan.parts keys, English; the number type in brackets is added to some), shown by format_plan.
PART_NAMES = (N_("4-bit projections"), N_("altup/laurel/per-layer"), N_("embeddings + tied head"),
              N_("per-layer table"), N_("LoRA + optimizer"), N_("activations"), N_("loss (logits)"),
              N_("allocator slack (10%)"), N_("CUDA context"), N_("total"),
              N_("audio encoder"), N_("generation working memory"))  # the last two: audio/transcription_plan.py

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


def widest_intermediate(config: dict) -> int:
    """The widest MLP of any layer (Gemma 3n may give each layer its own width)."""
    return max(_intermediate(config, i) for i in range(config["num_hidden_layers"]))


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
    cpu_ram: float = 0.0      # bytes kept in CPU RAM instead (the per-layer table when it is off the GPU)

    @property
    def to_allocate(self) -> float:
        """What the run still allocates once CUDA is up (free memory is measured after the context exists)."""
        return self.total - self.parts[CONTEXT_PART]


def dtype_label(weights_bytes: int) -> str:
    return {2: "bf16", 4: "f32"}[weights_bytes]


def activation_values_per_token(config: dict) -> float:
    """Values alive at the peak of one training step, per token (activation checkpointing on every layer).

    The largest of three moments, fitted to tiny Gemma 3n models on the CPU (float32, 9 variants of hidden,
    intermediate, per-layer width and layer count; all within 3.5%): the per-layer inputs being built (5 copies of
    [layers x 256]); the backward of one layer (the saved inputs of every layer, 4 altup streams of width h, plus
    that layer's recomputed internals, 7 x intermediate + 16 x h, and 2.7 copies of the per-layer inputs); the
    end of the forward (saved inputs + 70 x h, from one variant only). E4B peaks in the second, E2B in the third."""
    h, layers, altup = config["hidden_size"], config["num_hidden_layers"], config["altup_num_inputs"]
    per_layer = layers * config["hidden_size_per_layer_input"]
    inter = widest_intermediate(config)
    saved = layers * altup * h
    return max(5 * per_layer + saved + 13 * h, saved + 2.7 * per_layer + 7 * inter + 16 * h, saved + per_layer + 70 * h)


def loss_bytes(config: dict, tokens: int, chunked: bool, weights_bytes: int) -> float:
    """Peak bytes of the loss over the vocabulary (logits, soft-capping, log-softmax and their gradients)."""
    vocab = config["vocab_size"]
    if not chunked:
        return tokens * vocab * PLAIN_LOSS_BYTES_PER_LOGIT[weights_bytes]
    chunk = min(tokens, LOSS_CHUNK_TOKENS)
    selected_hidden = tokens * config["hidden_size"] * 4 * 2   # the label positions' hidden states and gradient
    return chunk * vocab * CHUNKED_LOSS_BYTES_PER_LOGIT[weights_bytes] + selected_hidden


def lora_parameters(config: dict, lora_rank: int) -> int:
    """r x (in + out) per wrapped projection: q, o, k, v, gate, up take h in; down takes the intermediate."""
    h, layers = config["hidden_size"], config["num_hidden_layers"]
    wide_in = sum(h + out for layer in range(layers) for out in _lora_outputs(config, layer))
    down = sum(_intermediate(config, layer) + h for layer in range(layers))
    return lora_rank * (wide_in + down)


def plan_memory(config: dict, *, lora_rank: int, max_seq_length: int, batch_size: int = 1,
                per_layer_table_on_gpu: bool = True, chunked_loss: bool = False,
                weights_bytes: int = BF16) -> MemoryPlan:
    """The defaults are the plain recipe (table on the GPU, full logits); `weights_bytes` 4 for a GPU without
    bf16, where everything that is not 4-bit is float32 (training/device.py)."""
    counts = count_parameters(config)
    h = config["hidden_size"]
    tokens = max_seq_length * batch_size
    kind = dtype_label(weights_bytes)
    table = counts.per_layer_table * weights_bytes
    # bitsandbytes dequantises a 4-bit weight for each matmul: the largest (gate/up) twice in the backward.
    dequantised = 2 * h * widest_intermediate(config) * weights_bytes
    parts = {
        "4-bit projections": counts.projections * NF4_BYTES_PER_PARAM,
        f"altup/laurel/per-layer ({kind})": (counts.kept_linears + counts.norms_and_scales) * weights_bytes,
        f"embeddings + tied head ({kind})": counts.embed_tokens * weights_bytes,
        f"per-layer table ({kind})": table if per_layer_table_on_gpu else 0.0,
        "LoRA + optimizer": lora_parameters(config, lora_rank) * LORA_BYTES_PER_PARAM,
        "activations": tokens * activation_values_per_token(config) * weights_bytes + dequantised,
        "loss (logits)": loss_bytes(config, tokens, chunked_loss, weights_bytes),
    }
    parts[SLACK_PART] = sum(parts.values()) * (FRAGMENTATION - 1)
    parts[CONTEXT_PART] = CUDA_CONTEXT_BYTES
    # In RAM the table stays bfloat16 even for a float32 run (lossless: training/per_layer_offload.py).
    in_ram = 0.0 if per_layer_table_on_gpu else counts.per_layer_table * BF16
    return MemoryPlan(parts, sum(parts.values()), cpu_ram=in_ram)


# ---- decisions (pure; finetune applies them) ------------------------------------------------------------------
def judge_memory(estimate: float, free_vram: float | None, total_vram: float | None) -> str:
    """Whether a run needing `estimate` bytes (beyond the CUDA context) can start on this GPU:
    "no_gpu"; "fits"; "tight" (over the free memory by less than the estimate's uncertainty: try);
    "busy" (clearly over the free memory, but an idle GPU of this size would do: other programs hold it);
    "too_small" (clearly over even on an idle GPU). The last two refuse (`REFUSED`)."""
    if free_vram is None or total_vram is None:
        return "no_gpu"
    if estimate <= free_vram:
        return "fits"
    if estimate <= free_vram * REFUSE_MARGIN:
        return "tight"
    if estimate <= (total_vram - CUDA_CONTEXT_BYTES) * REFUSE_MARGIN:
        return "busy"
    return "too_small"


def verdict_words(verdict: str) -> str:
    """judge_memory's word for a GPU, as the user reads it (training's plan and transcription's)."""
    return {"fits": tr("fits."), "tight": tr("tight (within the estimate's error): it will try."),
            "busy": tr("does NOT fit while other programs use the GPU."),
            "too_small": tr("does NOT fit on this GPU.")}[verdict]


def choose_table_on_gpu(setting: str, free_vram: float | None, total_vram: float | None,
                        plan_with_table: MemoryPlan) -> bool:
    """The per-layer table's place: "yes"/"no" as told; "auto" keeps it on the GPU only when the whole run,
    table included, needs at most AUTO_TABLE_ON_GPU_SHARE of the free memory (it costs nothing to keep it in
    RAM: ~14 MB of rows per step). Without a GPU, "auto" means RAM (the same code path as a small GPU)."""
    if setting in ("yes", "no"):
        return setting == "yes"
    assert setting == "auto", setting
    if free_vram is None or total_vram is None:
        return False
    return plan_with_table.to_allocate <= free_vram * AUTO_TABLE_ON_GPU_SHARE


def _lora_outputs(config: dict, layer: int) -> list[int]:
    """Output widths of the attention projections LoRA wraps in this layer (k/v absent on KV-shared layers)."""
    h, heads, kv_heads, head_dim = (config["hidden_size"], config["num_attention_heads"],
                                    config["num_key_value_heads"], config["head_dim"])
    first_shared = config["num_hidden_layers"] - config.get("num_kv_shared_layers", 0)
    outs = [heads * head_dim, h] + ([] if layer >= first_shared else [kv_heads * head_dim] * 2)
    outs += [_intermediate(config, layer)] * 2  # gate, up (down is counted with in=intermediate)
    return outs


def part_label(name: str) -> str:
    """A part's name in the user's language ("per-layer table (bf16)": the words translated, the type kept)."""
    words, bracket, kind = name.partition(" (")
    if kind in ("bf16)", "f32)"):
        return tr_marked(words) + bracket + kind
    return tr_marked(name)


def format_plan(plan: MemoryPlan, label: str) -> str:
    lines = [tr("Estimated GPU memory for {label}:", label=label)]
    gb = tr("GB")
    for name, size in plan.parts.items():
        if name.startswith("per-layer table") and plan.cpu_ram:
            lines.append(f"  {part_label(name):<32}  0    "
                         + tr("(in CPU RAM: {size:.2f} GB of RAM instead)", size=plan.cpu_ram / GIB))
        else:
            lines.append(f"  {part_label(name):<32}{size / GIB:6.2f} {gb}")
    lines.append(f"  {tr_marked('total'):<32}{plan.total / GIB:6.2f} {gb}")
    return "\n".join(lines)


# ---- one run: the settings on this GPU (finetune and doctor print the same thing) -----------------------------
@dataclass(frozen=True)
class GpuMemory:
    name: str
    total: float   # bytes
    free: float    # bytes free now (a CUDA context of ours, if any, already counted as used)
    bf16: bool     # native bfloat16; without it the parts not in 4-bit are float32 (training/device.py)


@dataclass(frozen=True)
class RunMemory:
    plan: MemoryPlan
    table_on_gpu: bool
    verdict: str            # judge_memory's word
    gpu: GpuMemory | None   # None: no GPU


def plan_run_memory(config: dict, settings, gpu: GpuMemory | None) -> RunMemory:
    """The memory plan of a training run with these settings on this GPU, "auto" placement decided."""
    free, total = (gpu.free, gpu.total) if gpu else (None, None)
    weights_bytes = 4 if gpu and not gpu.bf16 else BF16

    def plan(table_on_gpu: bool) -> MemoryPlan:
        return plan_memory(config, lora_rank=settings.lora_rank, max_seq_length=settings.max_seq_length,
                           batch_size=settings.batch_size, per_layer_table_on_gpu=table_on_gpu,
                           chunked_loss=settings.chunked_loss, weights_bytes=weights_bytes)

    table_on_gpu = choose_table_on_gpu(settings.per_layer_table_on_gpu, free, total, plan(True))
    chosen = plan(table_on_gpu)
    return RunMemory(chosen, table_on_gpu, judge_memory(chosen.to_allocate, free, total), gpu)


def lighter_setups(settings) -> str:
    """What to change, cheapest first, when a run does not fit."""
    savers = ['per_layer_table_on_gpu = "auto"'] if settings.per_layer_table_on_gpu == "yes" else []
    savers += [] if settings.chunked_loss else ["chunked_loss = true"]
    savers += [] if settings.preset == "quick" else ["--preset quick"]
    savers += [tr("a smaller max_seq_length (e.g. --set max_seq_length=512)")]
    savers += ['model = "E2B"'] if settings.model == "E4B" else []
    return ", ".join(savers)


def describe_run_memory(run: RunMemory, settings, model_name: str) -> str:
    """The table, the placement chosen and a one-line verdict for the user's GPU (with what to change)."""
    label = tr("{model}, preset {preset} (LoRA rank {rank}, {length} tokens x batch {batch})", model=model_name,
               preset=settings.preset, rank=settings.lora_rank, length=settings.max_seq_length,
               batch=settings.batch_size)
    where = tr("on the GPU") if run.table_on_gpu else (tr("in CPU RAM") if run.gpu
                                                       else tr("in RAM, looked up as it would be beside a GPU"))
    loss = (tr("computed {chunk} tokens at a time, assistant tokens only", chunk=LOSS_CHUNK_TOKENS)
            if settings.chunked_loss else tr("over all logits at once (chunked_loss = false)"))
    lines = [format_plan(run.plan, label),
             "  " + tr("per-layer table: {where} (per_layer_table_on_gpu = {setting}); loss: {loss}.", where=where,
                       setting=repr(settings.per_layer_table_on_gpu), loss=loss)]
    if run.gpu is None:
        lines.append("  " + tr("(no GPU here: these figures are what an NVIDIA GPU with bfloat16 would need; on this "
                               "computer the run uses ordinary RAM and nothing is refused)"))
        return "\n".join(lines)
    need, free, total = run.plan.to_allocate / GIB, run.gpu.free / GIB, run.gpu.total / GIB
    verdict = verdict_words(run.verdict)
    lines.append("  -> " + tr("{model}, {preset}: ~{need:.1f} GB beyond the CUDA context; {free:.1f} GB of the "
                              "{total:.1f} GB on {gpu} are free: {verdict}", model=model_name,
                              preset=settings.preset, need=need, free=free, total=total, gpu=run.gpu.name,
                              verdict=verdict))
    if run.verdict == "busy":
        lines.append(f"     {tr_marked(CLOSE_GPU_PROGRAMS)}.")
    elif run.verdict in ("too_small", "tight"):
        lines.append("     " + tr("To fit: {setups}.", setups=lighter_setups(settings)))
    if run.verdict == "tight":
        # The Windows driver's default "sysmem fallback" then lends ordinary RAM instead of failing: no error,
        # only steps many times slower.
        lines.append("     " + tr("If the steps are very slow, the GPU is borrowing ordinary RAM: use one of these."))
    return "\n".join(lines)
