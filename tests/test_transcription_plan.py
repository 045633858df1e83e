"""Transcription's memory and time, known before the model loads: the figures behind doctor and the voice question."""
from __future__ import annotations

import json

import pytest
import torch
from transformers import Gemma3nAudioConfig, Gemma3nTextConfig
from transformers.models.gemma3n import modeling_gemma3n

from gemma_kit.audio import transcription_plan as plan
from gemma_kit.core import language
from gemma_kit.core.model_files import index_tensors
from gemma_kit.training.memory_plan import GIB, GpuMemory, reference_text_config


def test_the_audio_encoder_size_is_the_real_checkpoints():
    """transformers' default audio config is E2B/E4B's; rebuilding it on the meta device gives the constant."""
    with torch.device("meta"):
        encoder = modeling_gemma3n.Gemma3nAudioEncoder(Gemma3nAudioConfig())
        embedder = modeling_gemma3n.Gemma3nMultimodalEmbedder(Gemma3nAudioConfig(), Gemma3nTextConfig(hidden_size=2048))
    counted = sum(p.numel() for p in encoder.parameters()) + sum(p.numel() for p in embedder.parameters())
    assert counted == plan.AUDIO_PARAMETERS


def test_the_audio_encoder_is_counted_from_the_checkpoint_index(tmp_path):
    from gemma_kit.audio.transcriber import vision_tower_left_out
    from gemma_kit.core.tiny_gemma import build_tiny_gemma3n
    from transformers import Gemma3nForConditionalGeneration

    folder = build_tiny_gemma3n(tmp_path / "tiny", dtype="float32", num_shards=1, with_audio=True)
    with vision_tower_left_out():  # as transcription loads it (the vision tower would need timm)
        model = Gemma3nForConditionalGeneration.from_pretrained(str(folder))
    loaded = sum(p.numel() for name, p in model.named_parameters() if name.startswith(plan.AUDIO_PREFIXES))
    assert loaded > 0
    assert plan.audio_parameters(index_tensors(folder)) == loaded


@pytest.mark.parametrize("model", ["E2B", "E4B"])
def test_the_plan_adds_up_and_follows_the_placement_and_the_gpu(model):
    config = reference_text_config(model)
    on_gpu = plan.plan_transcription_memory(config, plan.AUDIO_PARAMETERS, batch=8, table_on_gpu=True)
    in_ram = plan.plan_transcription_memory(config, plan.AUDIO_PARAMETERS, batch=8, table_on_gpu=False)
    assert on_gpu.total == pytest.approx(sum(on_gpu.parts.values()))
    # The table (3.75 / 4.38 GiB) leaves the GPU with its share of the allocator slack, and goes to RAM.
    assert on_gpu.total - in_ram.total == pytest.approx(in_ram.cpu_ram * 1.10, rel=1e-6)
    assert in_ram.cpu_ram / GIB == pytest.approx({"E2B": 3.75, "E4B": 4.38}[model], abs=0.01)
    one_piece = plan.plan_transcription_memory(config, plan.AUDIO_PARAMETERS, batch=1, table_on_gpu=False)
    assert one_piece.total < in_ram.total
    fp32 = plan.plan_transcription_memory(config, plan.AUDIO_PARAMETERS, batch=8, table_on_gpu=False, weights_bytes=4)
    assert fp32.total > in_ram.total  # a GPU without bfloat16 keeps the non-4-bit layers in float32
    # The encoder stays out of 4-bit: 1.28 GiB in bf16, which is why transcription can need more than training.
    assert in_ram.parts["audio encoder (bf16)"] / GIB == pytest.approx(1.276, abs=0.001)


def test_auto_placement_and_verdicts_on_real_card_sizes():
    config = reference_text_config("E4B")

    def on(card_gb: float, bf16: bool = True):
        gpu = GpuMemory("card", card_gb * GIB, (card_gb - 0.9) * GIB, bf16)
        return plan.plan_transcription(config, plan.AUDIO_PARAMETERS, gpu, batch=8)

    assert [on(gb).verdict for gb in (4, 8, 24)] == ["too_small", "fits", "fits"]
    assert on(8).table_on_gpu is False and on(24).table_on_gpu is True
    assert on(8, bf16=False).plan.total > on(8).plan.total
    without_gpu = plan.plan_transcription(config, plan.AUDIO_PARAMETERS, None, batch=8)
    assert without_gpu.verdict == "no_gpu" and "CPU" in plan.describe_transcription_memory(without_gpu, "E4B")


def test_a_measured_pace_replaces_the_guess(tmp_path):
    assert plan.read_pace(tmp_path, "cuda", "RTX 3060") is None
    guess = plan.describe_duration(3600, "cuda", "RTX 3060", None)
    assert "guess" in guess and "RTX 3060" in guess
    plan.record_pace(tmp_path, "cuda", "RTX 3060", audio_seconds=30, spent_seconds=2)   # too little to judge by
    assert plan.read_pace(tmp_path, "cuda", "RTX 3060") is None
    plan.record_pace(tmp_path, "cuda", "RTX 3060", audio_seconds=1200, spent_seconds=60)
    assert plan.read_pace(tmp_path, "cuda", "RTX 3060") == 20.0
    assert plan.read_pace(tmp_path, "cuda", "RTX 4090") is None   # another card's pace is not this one's
    assert plan.expected_duration(3600, "cuda", 20.0) == (180.0, 180.0)
    assert plan.describe_duration(3600, "cuda", "RTX 3060", 20.0) == \
        "about 3 min on RTX 3060 (the pace measured here last time)"
    (tmp_path / plan.SPEED_FILE_NAME).write_text("{broken", encoding="utf-8")
    assert plan.read_pace(tmp_path, "cuda", "RTX 3060") is None
    plan.record_pace(tmp_path, "cpu", "", audio_seconds=120, spent_seconds=600)   # a damaged file is rewritten
    assert json.loads((tmp_path / plan.SPEED_FILE_NAME).read_text())["cpu"]["audio_seconds_per_second"] == 0.2


def test_the_guess_is_a_range_and_the_cpu_is_much_slower():
    gpu_low, gpu_high = plan.expected_duration(3600, "cuda", None)
    cpu_low, cpu_high = plan.expected_duration(3600, "cpu", None)
    assert gpu_low < gpu_high < cpu_low < cpu_high


def test_the_estimates_speak_russian(monkeypatch):
    monkeypatch.setattr(language, "_current", "ru")
    text = plan.describe_duration(5400, "cpu", "", None)
    assert "процессоре" in text and "примерно" in text
    gpu = GpuMemory("RTX 3060", 12 * GIB, 11 * GIB, True)
    run = plan.plan_transcription(reference_text_config("E2B"), plan.AUDIO_PARAMETERS, gpu, batch=8)
    assert "помещается" in plan.describe_transcription_memory(run, "E2B")


def test_the_question_uses_this_machines_measured_pace(tmp_path):
    assert "guess" in plan.estimate_for_question(600, tmp_path, ("cuda", "RTX 3060"))
    plan.record_pace(tmp_path, "cuda", "RTX 3060", audio_seconds=600, spent_seconds=30)
    assert plan.estimate_for_question(600, tmp_path, ("cuda", "RTX 3060")) == \
        "about 30 s on RTX 3060 (the pace measured here last time)"
    # This machine has no NVIDIA GPU (CI): nvidia-smi is missing or lists none, so the CPU is assumed.
    assert "CPU" in plan.estimate_for_question(600, tmp_path)


@pytest.mark.parametrize("device, bf16, size_gb, expected", [
    ("cuda", True, 10, "bfloat16"),
    ("cuda", False, 10, "float32"),    # float16 would overflow in Gemma 3n: the training rule
    ("cpu", False, 10, "bfloat16"),    # a real model on the CPU: float32 would need ~32 GB of RAM
    ("cpu", False, 0.01, "float32"),   # the tiny test model
])
def test_transcription_weights_dtype_per_machine(device, bf16, size_gb, expected):
    from gemma_kit.audio.transcriber import weights_dtype

    assert weights_dtype(device, bf16, int(size_gb * GIB)) == expected


def test_a_gpu_too_small_is_refused_before_the_model_loads(tmp_path, capsys):
    from gemma_kit.core.console import UserError
    from gemma_kit.core.tiny_gemma import build_tiny_gemma3n

    folder = build_tiny_gemma3n(tmp_path / "tiny", dtype="float32", num_shards=1, with_audio=True)
    tiny_card = GpuMemory("tiny card", 0.5 * GIB, 0.01 * GIB, True)   # less than the CUDA context alone
    with pytest.raises(UserError, match="does not fit"):
        plan.check_transcription_memory(folder, tiny_card, batch=8, table_setting="auto")
    assert "does NOT fit on this GPU" in capsys.readouterr().out
    roomy = GpuMemory("big card", 24 * GIB, 23 * GIB, True)
    assert plan.check_transcription_memory(folder, roomy, batch=8, table_setting="auto") is True
    assert plan.check_transcription_memory(folder, roomy, batch=8, table_setting="no") is False


def test_the_per_layer_table_in_ram_hears_the_same_words(tmp_path):
    """The training patch on the multimodal model: lookups from CPU RAM change no transcript."""
    import numpy as np

    from gemma_kit.audio.transcriber import Transcriber
    from gemma_kit.core.tiny_gemma import build_tiny_gemma3n
    from gemma_kit.training.per_layer_offload import is_table_on_cpu_patched

    folder = build_tiny_gemma3n(tmp_path / "tiny", dtype="float32", num_shards=1, with_audio=True)
    pieces = [np.random.default_rng(seed).normal(0, 0.1, 16000 * seconds).astype(np.float32)
              for seed, seconds in ((0, 2), (1, 3))]
    in_ram = Transcriber(folder, "cpu", bf16=False, table_on_gpu=False)
    in_place = Transcriber(folder, "cpu", bf16=False, table_on_gpu=True)
    assert is_table_on_cpu_patched(in_ram.model) and not is_table_on_cpu_patched(in_place.model)
    assert in_ram.transcribe(pieces) == in_place.transcribe(pieces)
    # The tiny model is wired to answer one word, so compare what decides it: the logits of the prompt.
    features = in_ram.features(pieces, sampling_rate=16000, padding="longest", return_tensors="pt")
    ids = torch.tensor([in_ram.prompt_ids] * len(pieces))
    logits = [t.model(input_ids=ids, attention_mask=torch.ones_like(ids), input_features=features["input_features"],
                      input_features_mask=features["input_features_mask"]).logits for t in (in_ram, in_place)]
    assert logits[0].abs().max() > 0
    torch.testing.assert_close(logits[0], logits[1], rtol=0, atol=0)
