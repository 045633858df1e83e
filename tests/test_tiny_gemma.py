"""The factory's checkpoint must look like a real Gemma 3n to every step (docs/gemma3n_facts.md)."""
import json

import pytest
import torch

from gemma_kit.core.model_files import checkpoint_fingerprint, find_checkpoint_problems, index_tensors


def test_checkpoint_has_the_real_multimodal_layout(tiny_model_dir):
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert config["architectures"] == ["Gemma3nForConditionalGeneration"]
    text = config["text_config"]
    assert text["num_hidden_layers"] - text["num_kv_shared_layers"] == 20  # llama.cpp's hard-coded start
    assert text["layer_types"][18] == "sliding_attention" and text["layer_types"][19] == "full_attention"
    assert text["hidden_size_per_layer_input"] == 256 and text["laurel_rank"] == 64 and text["altup_num_inputs"] == 4
    assert text["activation_sparsity_pattern"][:10] == [0.95] * 10 and set(text["activation_sparsity_pattern"][10:]) == {0.0}
    tensors = index_tensors(tiny_model_dir)
    names = set(tensors)
    assert len(list(tiny_model_dir.glob("model-*-of-00002.safetensors"))) == 2
    assert all(n.startswith(("model.language_model.", "model.vision_tower.", "model.audio_tower.",
                             "model.embed_vision.", "model.embed_audio.")) for n in names)
    assert not any("lm_head" in n for n in names)
    for layer in (20, 21):  # KV-shared layers still carry k/v/k_norm, as the real checkpoints do
        for part in ("k_proj.weight", "v_proj.weight", "k_norm.weight"):
            assert f"model.language_model.layers.{layer}.self_attn.{part}" in names
    assert tensors["model.language_model.embed_tokens.weight"].shape == (text["vocab_size"], text["hidden_size"])
    assert tensors["model.language_model.embed_tokens_per_layer.weight"].shape == (
        text["vocab_size_per_layer_input"], 22 * 256)
    assert {t.dtype for t in tensors.values()} == {"BF16"}
    assert find_checkpoint_problems(tiny_model_dir) == []


def test_text_model_loads_from_the_multimodal_folder_and_runs(tiny_model_dir):
    from transformers import AutoTokenizer, Gemma3nForCausalLM

    model = Gemma3nForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = tokenizer("Привет, как дела? Hello!", return_tensors="pt")
    with torch.no_grad():
        logits = model(**ids).logits
    assert logits.shape == (1, ids.input_ids.shape[1], 768)
    assert torch.isfinite(logits).all()
    assert logits.abs().max() <= 30.0 + 1e-3  # final logit soft-capping is active


@pytest.mark.parametrize("text", ["Привет, как дела? Всё хорошо.", "Hello there, see you at 6 o'clock!"])
def test_tokenizer_round_trips_russian_and_english(tiny_model_dir, text):
    import sentencepiece as spm
    from transformers import AutoTokenizer

    sp = spm.SentencePieceProcessor(model_file=str(tiny_model_dir / "tokenizer.model"))
    assert sp.decode(sp.encode(text)) == text
    assert sp.unk_id() not in sp.encode(text)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = tokenizer(text, add_special_tokens=False).input_ids
    assert ids == sp.encode(text)
    assert tokenizer.decode(ids) == text


def test_special_tokens_have_gemma_ids(tiny_model_dir):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(tiny_model_dir / "tokenizer.model"))
    assert [sp.id_to_piece(i) for i in range(7)] == ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>",
                                                     "<end_of_turn>"]
    assert sp.encode("<start_of_turn>user\n")[0] == 5


def test_chat_template_folds_system_into_the_first_user_turn(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = tokenizer.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
         {"role": "assistant", "content": "Hello!"}], tokenize=False)
    assert text == ("<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
                    "<start_of_turn>model\nHello!<end_of_turn>\n")


def test_fingerprint_changes_with_the_weights_layout(tiny_model_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    assert checkpoint_fingerprint(copy) == checkpoint_fingerprint(tiny_model_dir)
    config = json.loads((copy / "config.json").read_text())
    config["text_config"]["rms_norm_eps"] = 1e-5
    (copy / "config.json").write_text(json.dumps(config))
    assert checkpoint_fingerprint(copy) != checkpoint_fingerprint(tiny_model_dir)


def test_missing_shard_is_named(tiny_model_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    (copy / "model-00002-of-00002.safetensors").unlink()
    problems = find_checkpoint_problems(copy)
    assert len(problems) == 1 and "model-00002-of-00002.safetensors" in problems[0]


def test_a_truncated_shard_is_named_with_its_sizes(tiny_model_dir, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    shard = copy / "model-00002-of-00002.safetensors"
    with open(shard, "r+b") as f:
        f.truncate(shard.stat().st_size - 1000)
    problems = find_checkpoint_problems(copy)
    assert len(problems) == 1 and "model-00002-of-00002.safetensors is cut short" in problems[0]
