"""The tiny test model's ears (`build_tiny_gemma3n(..., with_audio=True)`): a runnable Gemma 3n audio tower.

Kept apart from tiny_gemma.py, whose default model (with six audio stub tensors) the GGUF and merge tests know
by fingerprint and tensor count; only transcribe-voice's tests and bench build this one.
"""
from __future__ import annotations

from pathlib import Path

from .model_files import MULTIMODAL_TEXT_PREFIX
from .tiny_gemma import END_OF_TURN_ID, TinyGemmaSpec

# with_audio=True: the soft-token ids have to fall inside the tiny vocabulary (the real ones, 256000 and up, do
# not). Like the real model: <end_of_audio> is the audio block's first id, the audio soft token the next one; the
# start marker is a text piece (the tokenizer's "<audio_soft_token>", id 8, which nothing else uses).
TINY_BOA_TOKEN_ID = 8


def tiny_audio_config(spec: TinyGemmaSpec):
    """A runnable Conformer at toy sizes, with the real model's strides: 30 s of audio -> 188 soft tokens."""
    from transformers import Gemma3nAudioConfig

    return Gemma3nAudioConfig(hidden_size=32, vocab_size=spec.extra_vocab // 2,
                              vocab_offset=spec.tokenizer_vocab + spec.extra_vocab // 2,
                              conf_num_attention_heads=2, conf_num_hidden_layers=2, sscp_conv_channel_size=(8, 8))


def audio_tensors(spec: TinyGemmaSpec, text_config) -> dict:
    """The audio tower and its embedder with random weights, under the checkpoint's real names."""
    import torch
    from transformers.models.gemma3n.modeling_gemma3n import Gemma3nAudioEncoder, Gemma3nMultimodalEmbedder

    torch.manual_seed(spec.seed + 2)
    audio_config = tiny_audio_config(spec)
    tensors = {f"model.audio_tower.{n}": t.detach().clone()
               for n, t in Gemma3nAudioEncoder(audio_config).state_dict().items()}
    tensors.update({f"model.embed_audio.{n}": t.detach().clone()
                    for n, t in Gemma3nMultimodalEmbedder(audio_config, text_config).state_dict().items()})
    return tensors


# The reply the with_audio model gives to any prompt that ends in "\n" (as the model turn's header does): " да"
# then <end_of_turn>. A random model answers with a loop of byte pieces, which the transcript checks rightly
# reject; a fixed short word lets the tests follow a transcript all the way into the dataset.
FIXED_REPLY = " да"


def make_it_answer_a_fixed_word(tensors: dict, folder: Path) -> None:
    """A two-state machine in two embedding dimensions: "\n" -> " да" -> <end_of_turn>.

    The final norm keeps only dimensions 0 and 1, so a logit is the dot product of the current token's
    embedding (carried by the residual stream, which the 0.3 post-norm scale keeps dominant) with each token's
    row there: "\n" (1, 0) picks " да" (2, 3) over itself; " да" picks <end_of_turn> (0, 6): 18 > 13."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    (newline,), (reply,) = (tokenizer.encode(t, add_special_tokens=False) for t in ("\n", FIXED_REPLY))
    embed = tensors[MULTIMODAL_TEXT_PREFIX + "embed_tokens.weight"]
    embed[:, :2] = 0
    embed[newline, :2] = embed.new_tensor([1.0, 0.0])
    embed[reply, :2] = embed.new_tensor([2.0, 3.0])
    embed[END_OF_TURN_ID, :2] = embed.new_tensor([0.0, 6.0])
    norm = tensors[MULTIMODAL_TEXT_PREFIX + "norm.weight"]
    norm.zero_()
    norm[:2] = 1.0


def write_audio_files(folder: Path, spec: TinyGemmaSpec, config: dict) -> None:
    """config.json's audio part made consistent with the tiny vocabulary, and the feature extractor's file."""
    from transformers import Gemma3nAudioFeatureExtractor

    audio = tiny_audio_config(spec).to_dict()
    audio.pop("transformers_version", None)
    config["audio_config"] = audio
    config.update(boa_token_id=TINY_BOA_TOKEN_ID, eoa_token_id=audio["vocab_offset"],
                  audio_token_id=audio["vocab_offset"] + 1)
    Gemma3nAudioFeatureExtractor().save_pretrained(str(folder))
