"""Speech -> text with the Gemma 3n checkpoint the user already has: its audio encoder and its language model.

`Gemma3nForConditionalGeneration` is built once without its vision tower (MobileNetV5 needs timm, which the kit
does not install, and pictures are not transcribed): the checkpoint's vision tensors simply stay on disk. On a
GPU the language model is 4-bit like in training, with the same layers kept out of 4-bit, and the audio
encoder stays in bf16 (it is small, and 4-bit noise in a Conformer costs words). On the CPU it runs in float32.
Each piece of audio is one prompt: the instruction, 188 audio soft tokens, and the model turn; greedy decoding.
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .decode import SAMPLE_RATE

PROMPT = "Transcribe this audio verbatim, in the language spoken. Write only the words said."
# Speech runs at 2-3 words (~5-8 tokens) a second; room for twice that, and a floor for short messages.
NEW_TOKENS_PER_SECOND = 12
MIN_NEW_TOKENS = 24
# A transcript longer than this for its audio was not heard, it was made up (a fast speaker says ~15 chars/s).
MAX_CHARS_PER_SECOND = 40
MIN_CHARS_ALLOWED = 60
AUDIO_LEFT_IN_HIGH_PRECISION = ["audio_tower", "embed_audio", "embed_vision"]
SMALL_CHECKPOINT_BYTES = 2 * 1024 ** 3


@dataclass
class Heard:
    text: str
    status: str  # "ok", "empty" or "made_up"


def judge_transcript(text: str, seconds: float, ran_out_of_tokens: bool) -> Heard:
    """Empty, or a hallucination (a loop of the same words, or more text than the audio can hold): not kept."""
    text = " ".join(text.split())
    if not text:
        return Heard("", "empty")
    if ran_out_of_tokens or len(text) > MAX_CHARS_PER_SECOND * seconds + MIN_CHARS_ALLOWED or repeats_itself(text):
        return Heard(text, "made_up")
    return Heard(text, "ok")


def repeats_itself(text: str, n: int = 3) -> bool:
    """A loop: one word group said over and over (decoders fall into these on noise or silence)."""
    if re.search(r"(.{2,}?)\1{4,}", text):  # the same characters 5+ times in a row ("ха-ха" counts only at 5)
        return True
    words = text.casefold().split()
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return len(grams) >= 6 and len(set(grams)) < len(grams) / 2


@contextlib.contextmanager
def vision_tower_left_out():
    """Build Gemma3nModel with an empty module where the vision tower would be (see the module docstring)."""
    import torch
    from transformers.models.gemma3n import modeling_gemma3n

    real = modeling_gemma3n.AutoModel

    class WithoutVision:
        @staticmethod
        def from_config(config, *args, **kwargs):
            if getattr(config, "model_type", "") == "gemma3n_vision":
                return torch.nn.Module()
            return real.from_config(config, *args, **kwargs)

    modeling_gemma3n.AutoModel = WithoutVision
    try:
        yield
    finally:
        modeling_gemma3n.AutoModel = real


def weights_dtype(device: str, bf16: bool, checkpoint_bytes: int) -> str:
    """The dtype of everything not in 4-bit. A GPU without bfloat16 gets float32, as training does: Gemma 3n's
    activations overflow float16 (inf/NaN, then an empty or garbled transcript). The CPU: float32 for the test
    model, bfloat16 for a real one (E4B in float32 would need ~32 GB of RAM)."""
    if device == "cuda":
        return "bfloat16" if bf16 else "float32"
    return "float32" if checkpoint_bytes < SMALL_CHECKPOINT_BYTES else "bfloat16"


class Transcriber:
    """The model, its feature extractor and tokenizer, loaded once; `transcribe` takes a batch of pieces."""

    def __init__(self, model_dir: Path, device: str, bf16: bool, table_on_gpu: bool = False):
        import torch
        from transformers import AutoTokenizer, Gemma3nAudioFeatureExtractor, Gemma3nForConditionalGeneration

        from ..core.model_files import MULTIMODAL_TEXT_PREFIX, checkpoint_size, index_tensors
        from ..training import per_layer_offload
        from ..training.model_loading import quiet_transformers

        self.device = device
        self.features = Gemma3nAudioFeatureExtractor.from_pretrained(str(model_dir))
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        dtype = getattr(torch, weights_dtype(device, bf16, checkpoint_size(model_dir)))
        # The per-layer table is placed as in training (audio/transcription_plan.py decides): in CPU RAM unless the
        # GPU has room to spare; on a CPU-only machine the same lookup path runs, with nothing to move.
        device_map = per_layer_offload.load_device_map(device, table_on_gpu, multimodal=True)
        two_devices = len(set(device_map.values())) > 1
        options: dict = {"dtype": dtype, "device_map": device_map}
        if device == "cuda":
            options["quantization_config"] = self._four_bit(model_dir, bf16, table_in_cpu_ram=two_devices)
        with quiet_transformers(), vision_tower_left_out(), per_layer_offload.no_accelerate_dispatch(two_devices):
            self.model = Gemma3nForConditionalGeneration.from_pretrained(str(model_dir), **options).eval()
        if not table_on_gpu:
            stored = index_tensors(model_dir).get(MULTIMODAL_TEXT_PREFIX + "embed_tokens_per_layer.weight")
            per_layer_offload.keep_per_layer_table_on_cpu(self.model, stored_as_bf16=stored is not None
                                                          and stored.dtype == "BF16")
        self.input_device = next(self.model.model.audio_tower.parameters()).device
        config = self.model.config
        self.audio_token_id = config.audio_token_id
        self.soft_tokens = config.audio_soft_tokens_per_image
        self.prompt_ids = self._prompt_ids(config.boa_token_id, config.eoa_token_id)
        self.end_ids = {self.tokenizer.eos_token_id, self.tokenizer.convert_tokens_to_ids("<end_of_turn>")}

    @staticmethod
    def _four_bit(model_dir: Path, bf16: bool, table_in_cpu_ram: bool):
        from ..training import patches
        from ..training.device import choose_precision
        from ..training.model_loading import load_text_config, quantization_config
        from ..core.model_files import read_config

        skip = patches.keep_sensitive_layers_out_of_4bit(load_text_config(read_config(model_dir)))
        return quantization_config(choose_precision(True, bf16), skip + AUDIO_LEFT_IN_HIGH_PRECISION,
                                   table_in_cpu_ram=table_in_cpu_ram)

    def _prompt_ids(self, boa: int, eoa: int) -> list[int]:
        """Gemma 3n's chat template with one audio item, as its processor expands it."""
        encode = self.tokenizer.encode
        head = encode(f"<start_of_turn>user\n{PROMPT}\n\n", add_special_tokens=False)
        tail = encode("\n\n<end_of_turn>\n<start_of_turn>model\n", add_special_tokens=False)
        return [self.tokenizer.bos_token_id, *head, boa, *[self.audio_token_id] * self.soft_tokens, eoa, *tail]

    def transcribe(self, pieces: list[np.ndarray]) -> list[tuple[str, bool]]:
        """(text, ran out of tokens) per piece; the pieces should be of similar length (less padding)."""
        import torch

        longest = max(len(p) for p in pieces) / SAMPLE_RATE
        max_new = MIN_NEW_TOKENS + int(NEW_TOKENS_PER_SECOND * longest)
        features = self.features([p for p in pieces], sampling_rate=SAMPLE_RATE, padding="longest",
                                 return_tensors="pt")
        dtype = next(self.model.model.audio_tower.parameters()).dtype
        ids = torch.tensor([self.prompt_ids] * len(pieces), device=self.input_device)
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids),
                input_features=features["input_features"].to(self.input_device, dtype),
                input_features_mask=features["input_features_mask"].to(self.input_device),
                max_new_tokens=max_new, do_sample=False, top_p=None, top_k=None,
                pad_token_id=self.tokenizer.pad_token_id, eos_token_id=sorted(self.end_ids))
        results = []
        for row in out[:, ids.shape[1]:].tolist():
            ended = any(t in self.end_ids for t in row)
            kept = row[:next((i for i, t in enumerate(row) if t in self.end_ids), len(row))]
            results.append((self.tokenizer.decode(kept, skip_special_tokens=True), not ended))
        return results
