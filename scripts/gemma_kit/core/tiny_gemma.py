"""The test-model factory: a tiny random Gemma 3n checkpoint on disk with the real checkpoint layout.

Used by the tests, the demo and bench/. What makes it "real layout" (docs/gemma3n_facts.md):
- `Gemma3nForConditionalGeneration` config with `text_config`; text weights under `model.language_model.*`,
  small `model.vision_tower.*`, `model.audio_tower.*`, `model.embed_vision.*`, `model.embed_audio.*` tensors;
- `k_proj`/`v_proj`/`k_norm` on the KV-shared layers too (the transformers text model does not create them);
- no `lm_head` (tied to `embed_tokens`); `embed_tokens` has `vocab_size` rows, the per-layer table
  `vocab_size_per_layer_input` rows (the real model: 262,400 vs 262,144);
- a SentencePiece `tokenizer.model` trained on the fly with Gemma's special ids, plus `tokenizer.json` and
  `tokenizer_config.json` carrying Gemma 3n's chat template.
Default sizes respect llama.cpp's hard-coded Gemma 3n constants: 20 layers before KV sharing (so 22 layers, 2
shared), per-layer input width 256, laurel rank 64 (= hidden 64 here), 4 altup inputs, sparsity on the first 10.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from .model_files import MULTIMODAL_TEXT_PREFIX

# Gemma 3n's chat template (google/gemma-3n-E2B-it tokenizer_config.json): no system role — a system turn is
# folded into the first user turn; the assistant is called "model"; each turn ends with <end_of_turn>.
GEMMA3N_CHAT_TEMPLATE = (
    "{{ bos_token }}\n"
    "{%- if messages[0]['role'] == 'system' -%}\n"
    "    {%- if messages[0]['content'] is string -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}\n"
    "    {%- else -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}\n"
    "    {%- endif -%}\n"
    "    {%- set loop_messages = messages[1:] -%}\n"
    "{%- else -%}\n"
    "    {%- set first_user_prefix = \"\" -%}\n"
    "    {%- set loop_messages = messages -%}\n"
    "{%- endif -%}\n"
    "{%- for message in loop_messages -%}\n"
    "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n"
    "        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n"
    "    {%- endif -%}\n"
    "    {%- if (message['role'] == 'assistant') -%}\n"
    "        {%- set role = \"model\" -%}\n"
    "    {%- else -%}\n"
    "        {%- set role = message['role'] -%}\n"
    "    {%- endif -%}\n"
    "    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else \"\") }}\n"
    "    {%- if message['content'] is string -%}\n"
    "        {{ message['content'] | trim }}\n"
    "    {%- elif message['content'] is iterable -%}\n"
    "        {%- for item in message['content'] -%}\n"
    "            {%- if item['type'] == 'audio' -%}\n"
    "                {{ '<audio_soft_token>' }}\n"
    "            {%- elif item['type'] == 'image' -%}\n"
    "                {{ '<image_soft_token>' }}\n"
    "            {%- elif item['type'] == 'text' -%}\n"
    "                {{ item['text'] | trim }}\n"
    "            {%- endif -%}\n"
    "        {%- endfor -%}\n"
    "    {%- else -%}\n"
    "        {{ raise_exception(\"Invalid content type\") }}\n"
    "    {%- endif -%}\n"
    "    {{ '<end_of_turn>\\n' }}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "    {{'<start_of_turn>model\\n'}}\n"
    "{%- endif -%}\n"
)

# Gemma's fixed ids for the first four pieces; the turn markers follow as user-defined pieces so that they
# are matched inside rendered text, as in the real tokenizer.
SPECIAL_PIECES = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3}
TURN_PIECES = ["<mask>", "<start_of_turn>", "<end_of_turn>", "<image_soft_token>", "<audio_soft_token>"]
START_OF_TURN_ID, END_OF_TURN_ID = 5, 6  # the real tokenizer: <mask> 4 as here, turns at 105 / 106

_CORPUS_SEED_TEXT = """\
Привет! Как дела? Что делаешь сегодня вечером?
Hi! How are you doing? What are you up to tonight?
Я думаю, что это отличная идея, давай попробуем завтра.
I think that is a great idea, let us try it tomorrow.
Спасибо большое, ты очень помог мне с этим проектом.
Thank you so much, you really helped me with this project.
Сегодня хорошая погода, пойдём гулять в парк после работы.
The weather is nice today, let's go for a walk in the park after work.
Не забудь купить хлеб, молоко и немного сыра.
Don't forget to buy bread, milk and some cheese.
Мы встретимся в шесть часов у входа в метро.
We will meet at six o'clock at the entrance to the subway.
Модель учится говорить в моём стиле по моим сообщениям.
The model learns to talk in my style from my own messages.
Съешь же ещё этих мягких французских булок, да выпей чаю.
The quick brown fox jumps over the lazy dog 1234567890.
Ладно, до завтра! Спокойной ночи.
Okay, see you tomorrow! Good night.
"""


@dataclass(frozen=True)
class TinyGemmaSpec:
    """Sizes of the test model. Defaults: llama.cpp-compatible and tamed for fidelity tests (docs/gemma3n_facts.md)."""
    hidden_size: int = 64
    intermediate_size: int = 512
    num_hidden_layers: int = 22
    num_kv_shared_layers: int = 2
    num_attention_heads: int = 2
    num_key_value_heads: int = 1
    head_dim: int = 32
    tokenizer_vocab: int = 512       # SentencePiece pieces = vocab_size_per_layer_input
    extra_vocab: int = 256           # vision + audio soft-token ids on top (the real model: 128 + 128)
    hidden_size_per_layer_input: int = 256
    laurel_rank: int = 64
    sliding_window: int = 64
    max_position_embeddings: int = 2048
    # A random 22-layer Gemma 3n amplifies kernel noise; scaling the post-branch norms down keeps it calm
    # (docs/gemma3n_facts.md "The tiny test model must be tamed": min cosine 0.83 -> 0.999998 vs llama.cpp at f32).
    post_norm_scale: float = 0.3
    # The factory's embeddings (row norm 0.16) cap every logit near 1.3, so no adapter can bring the loss far down:
    # 10 makes a "learnable" model for training tests and benchmarks (the loss can fall, replies change visibly).
    embedding_scale: float = 1.0
    seed: int = 0

    @property
    def vocab_size(self) -> int:
        return self.tokenizer_vocab + self.extra_vocab


def train_tiny_tokenizer(dest: Path, vocab_size: int = 512) -> Path:
    """A SentencePiece model shaped like Gemma's: fixed special ids, byte fallback, no dummy prefix."""
    import io

    import sentencepiece as spm

    rng = random.Random(1234)
    lines = [line for line in _CORPUS_SEED_TEXT.splitlines() if line.strip()]
    corpus = [" ".join(rng.sample(lines, 3)) for _ in range(400)] + lines
    if vocab_size > 1000:  # the seed text supports ~1,300 pieces; benchmarks want real-sized tables
        corpus += _synthetic_lines(rng, vocab_size)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_writer=model, vocab_size=vocab_size, model_type="bpe",
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
        unk_piece="<unk>", user_defined_symbols=TURN_PIECES, byte_fallback=True, add_dummy_prefix=False,
        remove_extra_whitespaces=False, normalization_rule_name="identity", split_digits=True,
        character_coverage=1.0, hard_vocab_limit=True, minloglevel=2, num_threads=1,
    )
    dest.write_bytes(model.getvalue())
    return dest


def _synthetic_lines(rng: random.Random, vocab_size: int) -> list[str]:
    """Pseudo-words from Latin and Cyrillic syllables: enough distinct merges for a large BPE vocabulary."""
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + [c + v for c in "бвгдклмнпрст" for v in "аеиоу"]
    words = ["".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(vocab_size * 2)]
    return [" ".join(rng.choices(words, k=12)) for _ in range(vocab_size * 2)]


def _text_config(spec: TinyGemmaSpec):
    from transformers import Gemma3nTextConfig

    return Gemma3nTextConfig(
        vocab_size=spec.vocab_size, vocab_size_per_layer_input=spec.tokenizer_vocab,
        hidden_size=spec.hidden_size, intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.num_hidden_layers, num_kv_shared_layers=spec.num_kv_shared_layers,
        num_attention_heads=spec.num_attention_heads, num_key_value_heads=spec.num_key_value_heads,
        head_dim=spec.head_dim, hidden_size_per_layer_input=spec.hidden_size_per_layer_input,
        laurel_rank=spec.laurel_rank, sliding_window=spec.sliding_window,
        max_position_embeddings=spec.max_position_embeddings,
        pad_token_id=0, eos_token_id=[1, END_OF_TURN_ID], bos_token_id=2,
    )


def _full_config_dict(spec: TinyGemmaSpec, text_config, dtype: str) -> dict:
    """config.json as the real multimodal checkpoint has it (architecture, text/vision/audio sub-configs)."""
    from transformers import Gemma3nAudioConfig, Gemma3nVisionConfig

    vision = Gemma3nVisionConfig(hidden_size=32, vocab_size=spec.extra_vocab // 2,
                                 vocab_offset=spec.tokenizer_vocab).to_dict()
    audio = Gemma3nAudioConfig(hidden_size=32, vocab_size=spec.extra_vocab // 2,
                               vocab_offset=spec.tokenizer_vocab + spec.extra_vocab // 2).to_dict()
    text = text_config.to_dict()
    text["dtype"] = dtype
    # The hub's config.json has the flat rope keys of its time, not transformers 5's nested rope_parameters.
    rope = text.pop("rope_parameters")
    text["rope_theta"] = rope["full_attention"]["rope_theta"]
    text["rope_local_base_freq"] = rope["sliding_attention"]["rope_theta"]
    text["rope_scaling"] = None
    for d in (text, vision, audio):
        d.pop("transformers_version", None)
    return {
        "architectures": ["Gemma3nForConditionalGeneration"],
        "model_type": "gemma3n",
        "dtype": dtype,
        "text_config": text,
        "vision_config": vision,
        "audio_config": audio,
        "audio_soft_tokens_per_image": 188,
        "vision_soft_tokens_per_image": 256,
        "boi_token_id": 255999,
        "eoi_token_id": 262144,
        "image_token_id": 262145,
        "boa_token_id": 256000,
        "eoa_token_id": 262272,
        "audio_token_id": 262273,
        "initializer_range": 0.02,
        "tie_word_embeddings": True,
    }


def _multimodal_stub_tensors(spec: TinyGemmaSpec, generator) -> dict:
    """A few vision/audio tensors under the real prefixes: enough for merge/convert to prove they pass
    through (merge) or are left out (convert), without building the MobileNet or Conformer towers."""
    import torch

    h, half = spec.hidden_size, spec.extra_vocab // 2

    def rand(*shape):
        return torch.randn(*shape, generator=generator) * 0.02

    return {
        "model.vision_tower.timm_model.conv_stem.conv.weight": rand(16, 3, 3, 3),
        "model.vision_tower.timm_model.conv_stem.bn.weight": torch.ones(16),
        "model.vision_tower.timm_model.msfa.ffn.pw_proj.conv.weight": rand(32, 16, 1, 1),
        "model.audio_tower.subsample_conv_projection.conv_0.conv.weight": rand(8, 1, 3, 3),
        "model.audio_tower.conformer.0.attention.attn.q_proj.weight": rand(32, 32),
        "model.audio_tower.conformer.0.ffw_layer_start.ffw_layer_1.weight": rand(64, 32),
        "model.embed_vision.embedding.weight": rand(half, 32),
        "model.embed_vision.hard_embedding_norm.weight": torch.ones(32),
        "model.embed_vision.soft_embedding_norm.weight": torch.ones(32),
        "model.embed_vision.embedding_projection.weight": rand(h, 32),
        "model.embed_audio.embedding.weight": rand(half, 32),
        "model.embed_audio.hard_embedding_norm.weight": torch.ones(32),
        "model.embed_audio.soft_embedding_norm.weight": torch.ones(32),
        "model.embed_audio.embedding_projection.weight": rand(h, 32),
    }


def build_text_state_dict(spec: TinyGemmaSpec, text_config) -> dict:
    """Random text weights under the multimodal checkpoint's names, KV-shared k/v/k_norm included."""
    import torch
    from transformers import Gemma3nForCausalLM

    torch.manual_seed(spec.seed)
    model = Gemma3nForCausalLM(text_config).eval()
    generator = torch.Generator().manual_seed(spec.seed + 1)
    tensors = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            continue  # tied to embed_tokens; real checkpoints do not store it
        tensor = tensor.detach().clone()
        if any(part in name for part in ("post_attention_layernorm", "post_feedforward_layernorm",
                                          "post_per_layer_input_norm", "post_laurel_norm")):
            tensor = tensor * spec.post_norm_scale
        if name == "model.embed_tokens.weight":
            tensor = tensor * spec.embedding_scale
        tensors[MULTIMODAL_TEXT_PREFIX + name[len("model."):]] = tensor
    first_shared = spec.num_hidden_layers - spec.num_kv_shared_layers
    kv_out = spec.num_key_value_heads * spec.head_dim
    for layer in range(first_shared, spec.num_hidden_layers):
        prefix = f"model.language_model.layers.{layer}.self_attn."
        tensors[prefix + "k_proj.weight"] = torch.randn(kv_out, spec.hidden_size, generator=generator) * 0.02
        tensors[prefix + "v_proj.weight"] = torch.randn(kv_out, spec.hidden_size, generator=generator) * 0.02
        tensors[prefix + "k_norm.weight"] = torch.ones(spec.head_dim)
    tensors.update(_multimodal_stub_tensors(spec, generator))
    return tensors


def _write_shards(tensors: dict, folder: Path, num_shards: int) -> None:
    """Sharded like the hub checkpoints: model-0000i-of-0000n.safetensors plus the index."""
    from safetensors.torch import save_file

    names = sorted(tensors)
    if num_shards <= 1:
        save_file({n: tensors[n].contiguous() for n in names}, str(folder / "model.safetensors"),
                  metadata={"format": "pt"})
        return
    sizes = [tensors[n].numel() * tensors[n].element_size() for n in names]
    budget = sum(sizes) / num_shards
    shards: list[list[str]] = [[]]
    filled = 0.0
    for name, size in zip(names, sizes):
        if filled >= budget and len(shards) < num_shards:
            shards.append([])
            filled = 0.0
        shards[-1].append(name)
        filled += size
    weight_map = {}
    for i, shard in enumerate(shards, start=1):
        file_name = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        save_file({n: tensors[n].contiguous() for n in shard}, str(folder / file_name), metadata={"format": "pt"})
        weight_map.update({n: file_name for n in shard})
    index = {"metadata": {"total_size": sum(sizes)}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))


def _added_tokens_decoder() -> dict:
    """The real tokenizer_config.json lists every control piece as special; llama.cpp's converter (and ours)
    read this list to mark <start_of_turn>/<end_of_turn> as special, or they become plain text in the GGUF."""
    pieces = list(SPECIAL_PIECES) + TURN_PIECES
    return {str(i): {"content": piece, "lstrip": False, "normalized": False, "rstrip": False,
                     "single_word": False, "special": True} for i, piece in enumerate(pieces)}


def _write_tokenizer_files(folder: Path, spec: TinyGemmaSpec) -> None:
    """tokenizer.model first; transformers converts it to tokenizer.json exactly as for a hub checkpoint."""
    from transformers import AutoTokenizer

    train_tiny_tokenizer(folder / "tokenizer.model", spec.tokenizer_vocab)
    minimal = {"tokenizer_class": "GemmaTokenizer", "add_bos_token": True, "add_eos_token": False,
               "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>",
               "mask_token": "<mask>", "added_tokens_decoder": _added_tokens_decoder()}
    (folder / "tokenizer_config.json").write_text(json.dumps(minimal, indent=2))
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    assert len(tokenizer) == spec.tokenizer_vocab, f"tokenizer grew to {len(tokenizer)} (an added piece?)"
    tokenizer.chat_template = GEMMA3N_CHAT_TEMPLATE
    tokenizer.save_pretrained(str(folder))
    config_path = folder / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["chat_template"] = GEMMA3N_CHAT_TEMPLATE  # older readers look for it here, newer in the .jinja
    config["added_tokens_decoder"] = _added_tokens_decoder()  # transformers 5 drops it when saving
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False))


def build_tiny_gemma3n(folder: Path, spec: TinyGemmaSpec = TinyGemmaSpec(), dtype: str = "bfloat16",
                       num_shards: int = 2, with_audio: bool = False) -> Path:
    """Write the checkpoint into `folder` (created) and return it.

    with_audio: a runnable audio tower (transcribe-voice's tests and bench) instead of the six audio stub tensors;
    off by default, so the fingerprints and tensor counts other tests know stay as they are."""
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    text_config = _text_config(spec)
    torch_dtype = {"bfloat16": torch.bfloat16, "float32": torch.float32, "float16": torch.float16}[dtype]
    tensors = build_text_state_dict(spec, text_config)
    if with_audio:
        from .tiny_gemma_audio import audio_tensors, make_it_answer_a_fixed_word, write_audio_files

        tensors = {n: t for n, t in tensors.items() if not n.startswith(("model.audio_tower.", "model.embed_audio."))}
        tensors.update(audio_tensors(spec, text_config))
        _write_tokenizer_files(folder, spec)
        make_it_answer_a_fixed_word(tensors, folder)
    tensors = {n: t.to(torch_dtype) for n, t in tensors.items()}
    _write_shards(tensors, folder, num_shards)
    config = _full_config_dict(spec, text_config, dtype)
    if with_audio:
        write_audio_files(folder, spec, config)
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    generation = {"bos_token_id": 2, "eos_token_id": [1, END_OF_TURN_ID], "pad_token_id": 0, "do_sample": True,
                  "top_k": 64, "top_p": 0.95, "cache_implementation": "hybrid"}
    (folder / "generation_config.json").write_text(json.dumps(generation, indent=2))
    if not with_audio:
        _write_tokenizer_files(folder, spec)
    return folder
