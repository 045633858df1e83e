"""What transcribing voice messages costs before anything loads: GPU memory and time (pure arithmetic).

Memory follows training/memory_plan.py's accounting (the same 4-bit projections, layers kept out of 4-bit, CUDA
context and allocator slack), with the audio encoder (left out of 4-bit, like the kit's other sensitive layers)
and generation's working memory in place of LoRA, the optimizer and the loss. "auto" placement of the
per-layer table is the training rule (choose_table_on_gpu). The working-memory terms are sized from the model's
shapes, not measured on a GPU (none here): they are small next to the weights (dev_log.txt 2026-12-06).

Time: a pace measured by an earlier transcription on this machine (data/voice_speed.json, written after every
run) when there is one; otherwise a wide range, said to be a guess, that the progress bar soon replaces.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..core.language import tr, tr_marked
from ..core.paths import atomic_file
from ..training.memory_plan import (BF16, CONTEXT_PART, CUDA_CONTEXT_BYTES, FRAGMENTATION, GIB, NF4_BYTES_PER_PARAM,
                                    SLACK_PART, GpuMemory, MemoryPlan, choose_table_on_gpu, count_parameters,
                                    dtype_label, judge_memory, verdict_words, widest_intermediate)

# google/gemma-3n-E2B-it and -E4B-it share one audio encoder: Gemma3nAudioEncoder (681,348,640 parameters) and
# embed_audio (3,345,408 with E2B/E4B's text width 2048), counted on transformers 5.25's default
# Gemma3nAudioConfig, which is theirs (tests/test_transcription_plan.py rebuilds it on the meta device).
AUDIO_PARAMETERS = 681_348_640 + 3_345_408
AUDIO_PREFIXES = ("model.audio_tower.", "model.embed_audio.")
PIECE_SECONDS = 30               # audio/decode.py cuts longer messages into pieces of at most this
AUDIO_FRAMES_PER_SECOND = 25     # 100 log-mel frames a second, subsampled 4x by the encoder's convolutions
AUDIO_VALUES_PER_FRAME = 16      # of the encoder's width alive at once in a Conformer block (not measured)
AUDIO_WIDTH = 1536               # the encoder's hidden size in E2B and E4B
PROMPT_TOKENS = 220              # the instruction, 188 audio soft tokens and the turn markers
NEW_TOKENS_PER_PIECE = 24 + 12 * PIECE_SECONDS   # audio/transcriber.py's cap for a 30 s piece
SPEED_FILE_NAME = "voice_speed.json"
# Seconds of audio transcribed per second, before this machine measured it: greedy decoding with bitsandbytes
# 4-bit weights, 8 pieces a batch, on a consumer NVIDIA GPU; the CPU runs the real model in bfloat16. Wide on
# purpose (no GPU and no real weights here to measure them): the question says it is a guess.
GUESSED_PACE = {"cuda": (10.0, 40.0), "cpu": (0.1, 1.0)}


def audio_parameters(tensors: dict) -> int:
    """The audio encoder's parameters in a checkpoint, from its index (core.model_files.index_tensors)."""
    return sum(math.prod(info.shape) for name, info in tensors.items() if name.startswith(AUDIO_PREFIXES))


def plan_transcription_memory(config: dict, audio_params: int, *, batch: int, table_on_gpu: bool,
                              weights_bytes: int = BF16) -> MemoryPlan:
    """GPU memory of transcription with the language model in 4-bit, `batch` 30-second pieces at a time."""
    counts = count_parameters(config)
    h, layers = config["hidden_size"], config["num_hidden_layers"]
    tokens = PROMPT_TOKENS + NEW_TOKENS_PER_PIECE
    kv_layers = layers - config.get("num_kv_shared_layers", 0)  # the shared layers read earlier layers' cache
    kv_cache = tokens * kv_layers * 2 * config["num_key_value_heads"] * config["head_dim"] * weights_bytes
    inter = widest_intermediate(config)
    # The prompt's forward: 4 altup streams, the MLP's two wide halves, and every layer's per-layer inputs.
    prefill = tokens * (4 * config.get("altup_num_inputs", 4) * h + 3 * inter
                        + 2 * layers * config["hidden_size_per_layer_input"]) * weights_bytes
    audio = PIECE_SECONDS * AUDIO_FRAMES_PER_SECOND * AUDIO_VALUES_PER_FRAME * AUDIO_WIDTH * weights_bytes
    kind = dtype_label(weights_bytes)
    # English keys, as in training's plan (memory_plan.part_label shows them in the user's language).
    parts = {
        "4-bit projections": counts.projections * NF4_BYTES_PER_PARAM,
        f"altup/laurel/per-layer ({kind})": (counts.kept_linears + counts.norms_and_scales) * weights_bytes,
        f"embeddings + tied head ({kind})": counts.embed_tokens * weights_bytes,
        f"per-layer table ({kind})": counts.per_layer_table * weights_bytes if table_on_gpu else 0.0,
        f"audio encoder ({kind})": audio_params * weights_bytes,
        "generation working memory": batch * (kv_cache + prefill + audio),
    }
    parts[SLACK_PART] = sum(parts.values()) * (FRAGMENTATION - 1)
    parts[CONTEXT_PART] = CUDA_CONTEXT_BYTES
    in_ram = 0.0 if table_on_gpu else counts.per_layer_table * BF16
    return MemoryPlan(parts, sum(parts.values()), cpu_ram=in_ram)


@dataclass(frozen=True)
class TranscriptionMemory:
    plan: MemoryPlan
    table_on_gpu: bool
    verdict: str            # training/memory_plan.judge_memory's word
    gpu: GpuMemory | None


def plan_transcription(config: dict, audio_params: int, gpu: GpuMemory | None, batch: int,
                       table_setting: str = "auto") -> TranscriptionMemory:
    """The plan on this GPU, with the per-layer table placed as training places it."""
    free, total = (gpu.free, gpu.total) if gpu else (None, None)
    weights_bytes = 4 if gpu and not gpu.bf16 else BF16

    def plan(on_gpu: bool) -> MemoryPlan:
        return plan_transcription_memory(config, audio_params, batch=batch, table_on_gpu=on_gpu,
                                         weights_bytes=weights_bytes)

    on_gpu = choose_table_on_gpu(table_setting, free, total, plan(True))
    chosen = plan(on_gpu)
    return TranscriptionMemory(chosen, on_gpu, judge_memory(chosen.to_allocate, free, total), gpu)


def describe_transcription_memory(run: TranscriptionMemory, model_name: str) -> str:
    need = run.plan.to_allocate / GIB
    where = tr("on the GPU") if run.table_on_gpu else tr("in RAM, {size:.1f} GB", size=run.plan.cpu_ram / GIB)
    if run.gpu is None:
        return tr("Voice transcription with {model}: ~{need:.1f} GB of GPU memory on an NVIDIA GPU (per-layer table "
                  "{where}); without a GPU it runs on the CPU, slowly.", model=model_name, need=need, where=where)
    verdict = verdict_words(run.verdict)
    return tr("Voice transcription with {model}: ~{need:.1f} GB beyond the CUDA context (per-layer table {where}); "
              "{free:.1f} GB of the {total:.1f} GB on {gpu} are free: {verdict}", model=model_name, need=need,
              where=where, free=run.gpu.free / GIB, total=run.gpu.total / GIB, gpu=run.gpu.name, verdict=verdict)


# ---- time --------------------------------------------------------------------------------------------------
def expected_duration(audio_seconds: float, device: str, measured_pace: float | None) -> tuple[float, float]:
    """(shortest, longest) seconds the transcription of `audio_seconds` of audio should take, model loading aside."""
    if measured_pace:
        return audio_seconds / measured_pace, audio_seconds / measured_pace
    slow, fast = GUESSED_PACE[device]
    return audio_seconds / fast, audio_seconds / slow


def human_duration(seconds: float) -> str:
    if seconds < 90:
        return tr("{n} s", n=max(1, round(seconds)))
    if seconds < 90 * 60:
        return tr("{n} min", n=round(seconds / 60))
    return tr("{n:.1f} h", n=seconds / 3600)


def describe_duration(audio_seconds: float, device: str, gpu_name: str, measured_pace: float | None) -> str:
    shortest, longest = expected_duration(audio_seconds, device, measured_pace)
    machine = gpu_name or tr("this computer's CPU")
    if measured_pace:
        return tr("about {time} on {machine} (the pace measured here last time)", time=human_duration(shortest),
                  machine=machine)
    return tr("roughly {low} to {high} on {machine} (a guess until it has run once here)",
              low=human_duration(shortest), high=human_duration(longest), machine=machine)


def machine_key(device: str, gpu_name: str) -> str:
    return f"{device}:{gpu_name}" if device == "cuda" else "cpu"


def read_pace(out_dir: Path, device: str, gpu_name: str) -> float | None:
    """Seconds of audio per second measured on this device by an earlier run, or None."""
    try:
        paces = json.loads((out_dir / SPEED_FILE_NAME).read_text(encoding="utf-8"))
        pace = paces.get(machine_key(device, gpu_name), {}).get("audio_seconds_per_second")
    except (OSError, ValueError, AttributeError):  # none yet, or damaged: the guess applies
        return None
    return float(pace) if isinstance(pace, (int, float)) and pace > 0 else None


def record_pace(out_dir: Path, device: str, gpu_name: str, audio_seconds: float, spent_seconds: float) -> None:
    """Remember this run's pace (a run of under a minute of audio says little and is not kept)."""
    if audio_seconds < 60 or spent_seconds <= 0:
        return
    path = out_dir / SPEED_FILE_NAME
    try:
        paces = json.loads(path.read_text(encoding="utf-8"))
        paces = paces if isinstance(paces, dict) else {}
    except (OSError, ValueError):
        paces = {}
    paces[machine_key(device, gpu_name)] = {"audio_seconds_per_second": round(audio_seconds / spent_seconds, 3),
                                            "audio_seconds": round(audio_seconds, 1)}
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(paces, indent=1) + "\n", encoding="utf-8")


def gpu_as_nvidia_smi_sees_it() -> tuple[str, str]:
    """(device, GPU name) for the voice question, from nvidia-smi: prepare-dataset loads no torch to ask it."""
    from ..setup_plan import parse_nvidia_smi_csv, run_nvidia_smi

    text, problem = run_nvidia_smi()
    gpus, _ = parse_nvidia_smi_csv(text)
    return ("cuda", gpus[0].name) if gpus and not problem else ("cpu", "")


def estimate_for_question(audio_seconds: float, data_dir: Path, machine: tuple[str, str] | None = None) -> str:
    """How long transcribing `audio_seconds` should take here, for the question that offers it."""
    device, gpu_name = machine or gpu_as_nvidia_smi_sees_it()
    return describe_duration(audio_seconds, device, gpu_name, read_pace(data_dir, device, gpu_name))


def plan_for_model(model_dir: Path, gpu: GpuMemory | None, batch: int, table_setting: str) -> TranscriptionMemory:
    """The plan for the downloaded checkpoint: its own text config and its own audio encoder's size."""
    from ..core.model_files import index_tensors, read_config
    from ..training.model_loading import load_text_config

    config = load_text_config(read_config(model_dir)).to_dict()   # transformers' defaults filled in
    return plan_transcription(config, audio_parameters(index_tensors(model_dir)), gpu, batch, table_setting)


def check_transcription_memory(model_dir: Path, gpu: GpuMemory | None, batch: int, table_setting: str) -> bool:
    """Say what transcription needs on this GPU and refuse before loading when it clearly cannot fit; returns
    whether the per-layer table goes on the GPU."""
    from ..core.console import UserError, say
    from ..training.memory_plan import CLOSE_GPU_PROGRAMS, REFUSED

    run = plan_for_model(model_dir, gpu, batch, table_setting)
    say(describe_transcription_memory(run, model_dir.name))
    if run.verdict in REFUSED:
        what = tr_marked(CLOSE_GPU_PROGRAMS) if run.verdict == "busy" else \
            tr("use the E2B model (model = \"E2B\") or a smaller --batch-size (e.g. 1)")
        raise UserError(tr("Transcribing with {model} does not fit into the GPU's free memory.", model=model_dir.name),
                        tr("{what}, then run again; or set transcribe_voice = \"no\" to leave voice messages out.",
                           what=what))
    return run.table_on_gpu
