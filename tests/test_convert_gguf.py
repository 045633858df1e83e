"""convert-gguf on the tiny Gemma 3n: same file as llama.cpp's converter, runs in llama.cpp, refuses clearly.

The reference is llama.cpp's own convert_hf_to_gguf.py of the installed llama-cpp-python's version, run as a
separate program (tests/reference/llama_cpp_reference.py fetches it from PyPI once and caches it).
"""
from __future__ import annotations

import json
import shutil
import tracemalloc
from pathlib import Path

import gguf
import numpy as np
import pytest

from gemma_kit.cli import main
from gemma_kit.core.raw_floats import bf16_bits_to_f32
from gemma_kit.gguf_gemma3n import tensor_stream
from gemma_kit.gguf_gemma3n.model_keys import rope_settings
from reference.llama_cpp_reference import run_reference

# Keys we set on purpose, unlike llama.cpp's converter, which names the model after its folder.
OURS_DIFFERENT = {"general.name", "general.basename", "general.finetune"}
ONLY_OURS = {"general.description"}
KV_SHARED_K_NORMS = [f"model.language_model.layers.{i}.self_attn.k_norm.weight" for i in (20, 21)]
PROMPT = "Привет! Как дела? Hi! How are you doing tonight?"


def convert(root: Path, model: Path, out: Path, *extra: str) -> int:
    return main(["--root", str(root), "convert-gguf", "--input", str(model), "--output", str(out), *extra])


@pytest.fixture(scope="module")
def q8_files(tiny_model_dir, tmp_path_factory) -> tuple[Path, Path]:
    """(ours, llama.cpp's) Q8_0 GGUF of the bf16 tiny model."""
    folder = tmp_path_factory.mktemp("q8")
    assert convert(folder, tiny_model_dir, folder / "ours.gguf") == 0
    run_reference(tiny_model_dir, folder / "reference.gguf", "q8_0")
    return folder / "ours.gguf", folder / "reference.gguf"


def read_keys(path: Path) -> dict:
    reader = gguf.GGUFReader(path)
    return {k: (tuple(int(t) for t in f.types), f.contents()) for k, f in reader.fields.items()
            if not k.startswith("GGUF.")}


def load_llama(path: Path):
    from llama_cpp import Llama

    return Llama(model_path=str(path), logits_all=True, n_ctx=64, n_threads=2, verbose=False)


def prompt_ids(model_dir: Path) -> list[int]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model_dir / "tokenizer.model"))
    return [sp.bos_id()] + sp.encode(PROMPT)


def llama_logits(path: Path, ids: list[int]) -> np.ndarray:
    llm = load_llama(path)
    try:
        llm.eval(ids)
        return np.array(llm.scores[:len(ids)], dtype=np.float32)
    finally:
        llm.close()


# ---- the same file as llama.cpp's converter ------------------------------------------------------------

@pytest.mark.slow
def test_q8_0_keys_equal_the_reference_converters(q8_files):
    ours, reference = map(read_keys, q8_files)
    assert set(ours) - set(reference) == ONLY_OURS
    assert set(reference) <= set(ours)
    different = {k for k in reference if ours[k] != reference[k]}
    assert different == OURS_DIFFERENT, {k: (ours[k], reference[k]) for k in different - OURS_DIFFERENT}
    assert ours["general.architecture"][1] == "gemma3n"
    assert ours["gemma3n.attention.sliding_window_pattern"][1][18:20] == [True, False]
    assert len(ours["tokenizer.ggml.tokens"][1]) == 768 and ours["tokenizer.ggml.tokens"][1][767] == "[PAD767]"


@pytest.mark.slow
def test_q8_0_tensors_equal_the_reference_converters(q8_files):
    ours, reference = (gguf.GGUFReader(p) for p in q8_files)
    ref_by_name = {t.name: t for t in reference.tensors}
    assert [t.name for t in ours.tensors] == [t.name for t in reference.tensors]
    for tensor in ours.tensors:
        ref = ref_by_name[tensor.name]
        assert (tensor.tensor_type, list(tensor.shape)) == (ref.tensor_type, list(ref.shape)), tensor.name
        assert np.array_equal(tensor.data, ref.data), tensor.name
    types = {t.name: t.tensor_type.name for t in ours.tensors}
    assert types["blk.0.altup_correct_coef.weight"] == types["blk.0.attn_norm.weight"] == "F32"
    assert types["per_layer_token_embd.weight"] == types["altup_proj.weight"] == "Q8_0"
    shapes = {t.name: list(t.shape) for t in ours.tensors}
    assert shapes["altup_proj.weight"] == [64, 64, 3]                 # ggml order: stacked on the last axis
    assert shapes["per_layer_token_embd.weight"] == [22 * 256, 768]    # 512 rows padded to vocab_size


@pytest.mark.slow
def test_q8_0_logits_equal_the_reference_files(q8_files, tiny_model_dir):
    ids = prompt_ids(tiny_model_dir)
    ours, reference = (llama_logits(p, ids) for p in q8_files)
    assert np.array_equal(ours, reference)


# ---- it runs in llama.cpp -----------------------------------------------------------------------------

@pytest.mark.slow
def test_f32_logits_agree_with_transformers(tiny_model_dir_f32, tmp_path):
    import torch
    from transformers import Gemma3nForCausalLM

    assert convert(tmp_path, tiny_model_dir_f32, tmp_path / "f32.gguf", "--type", "f32") == 0
    ids = prompt_ids(tiny_model_dir_f32)
    ours = llama_logits(tmp_path / "f32.gguf", ids)
    model = Gemma3nForCausalLM.from_pretrained(str(tiny_model_dir_f32), dtype=torch.float32).eval()
    with torch.no_grad():
        expected = model(torch.tensor([ids])).logits[0].numpy()
    cosine = (ours * expected).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(expected, axis=1)
    assert (ours.argmax(1) == expected.argmax(1)).all()
    assert cosine.min() >= 0.99, cosine


def test_tokenizer_gives_sentencepiece_ids_for_russian_and_english(q8_files, tiny_model_dir):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(tiny_model_dir / "tokenizer.model"))
    llm = load_llama(q8_files[0])
    try:
        for text in ("Съешь же ещё этих мягких французских булок, да выпей чаю.",
                     "The quick brown fox jumps over the lazy dog 1234567890.", PROMPT):
            assert llm.tokenize(text.encode(), add_bos=False, special=False) == sp.encode(text), text
        assert (llm.token_bos(), llm.token_eos()) == (sp.bos_id(), sp.eos_id())
    finally:
        llm.close()


def test_chat_template_renders_and_tokenizes_like_sentencepiece(tiny_model_dir, tmp_path, capsys):
    """With the hub's kind of tokenizer_config.json (turn markers in added_tokens_decoder, as the factory writes
    it), LM Studio's view of a rendered conversation is exactly SentencePiece's."""
    import sentencepiece as spm
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    assert convert(tmp_path, tiny_model_dir, tmp_path / "chat.gguf") == 0
    captured = capsys.readouterr()
    assert "Warning" not in captured.err and "Self-check: the file works" in captured.out
    llm = load_llama(tmp_path / "chat.gguf")
    try:
        render = Jinja2ChatFormatter(llm.metadata["tokenizer.chat_template"], eos_token="<eos>", bos_token="<bos>")
        prompt = render(messages=[{"role": "user", "content": "Привет!"}, {"role": "assistant", "content": "Hi!"},
                                  {"role": "user", "content": "How are you?"}]).prompt
        assert prompt == ("<bos><start_of_turn>user\nПривет!<end_of_turn>\n<start_of_turn>model\nHi!"
                          "<end_of_turn>\n<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n")
        sp = spm.SentencePieceProcessor(model_file=str(tiny_model_dir / "tokenizer.model"))
        tokens = llm.tokenize(prompt.encode(), add_bos=False, special=True)
        assert tokens == [sp.bos_id()] + sp.encode(prompt.removeprefix("<bos>"))
    finally:
        llm.close()


def test_turn_markers_that_are_not_special_tokens_are_warned_and_fail_the_self_check(tiny_model_dir, tmp_path,
                                                                                     capsys):
    # transformers 5 drops added_tokens_decoder when it re-saves a tokenizer_config.json (dev_log 2026-11-22).
    model = copy_model(tiny_model_dir, tmp_path / "model")
    config = json.loads((model / "tokenizer_config.json").read_text())
    del config["added_tokens_decoder"]
    (model / "tokenizer_config.json").write_text(json.dumps(config))
    assert convert(tmp_path, model, tmp_path / "plain.gguf") == 1
    captured = capsys.readouterr()
    assert "does not mark <start_of_turn> and <end_of_turn> as special tokens" in captured.err
    assert "but llama.cpp's check found that it would not work in LM Studio" in captured.err
    assert "<start_of_turn> is read as plain text, not as Gemma's turn markers" in captured.err
    assert "Next: run install_to_lmstudio.bat" not in captured.out


def test_self_check_names_a_missing_chat_template(tiny_model_dir, tmp_path, capsys):
    model = copy_model(tiny_model_dir, tmp_path / "model")
    config = json.loads((model / "tokenizer_config.json").read_text())
    del config["chat_template"]
    (model / "tokenizer_config.json").write_text(json.dumps(config))
    (model / "chat_template.jinja").unlink()
    assert convert(tmp_path, model, tmp_path / "no_template.gguf") == 1
    err = capsys.readouterr().err
    assert "would not work in LM Studio" in err and "the file has no chat template" in err


# ---- what the user sees -------------------------------------------------------------------------------

def test_converts_the_merged_model_by_default_and_reports(tiny_model_dir, tmp_path, capsys):
    copy_model(tiny_model_dir, tmp_path / "output" / "merged_model")
    assert main(["--root", str(tmp_path), "convert-gguf", "--type", "f16"]) == 0
    out = capsys.readouterr().out
    gguf_file = tmp_path / "output" / "finetuned_gemma.gguf"
    size = gguf_file.stat().st_size
    assert f"Wrote {gguf_file} (" in out and "F16, 535 tensors" in out
    assert "Left out 14 image/audio tensors" in out
    assert "install_to_lmstudio.bat" in out and "LM Studio" in out
    assert out.rstrip().endswith("Next: run install_to_lmstudio.bat  (or: gemma-kit install-lmstudio)")
    assert "gguf_type = 'f16'" in out   # the effective settings, --type included
    saved = json.loads((tmp_path / "output" / "finetuned_gemma.settings.json").read_text())
    assert saved["gguf_type"] == "f16"
    keys = read_keys(gguf_file)
    assert keys["general.file_type"][1] == 1 and keys["general.name"][1] == "Gemma 3n fine-tuned"
    assert size > 0 and not list(tmp_path.glob("output/*.partial"))


def test_replaces_an_existing_output_and_says_so(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "model.gguf"
    out.write_bytes(b"old")
    assert convert(tmp_path, tiny_model_dir, out) == 0
    assert f"{out} already exists: it will be replaced" in capsys.readouterr().out
    assert gguf.GGUFReader(out).fields["general.architecture"].contents() == "gemma3n"


def test_memory_stays_far_below_the_largest_tensor(tiny_model_dir, tmp_path, monkeypatch):
    """Streams in row blocks: the per-layer table is never held whole (llama.cpp's converter turns it into f32
    at once). Blocks are shrunk so that the tiny model's table spans many of them."""
    assert convert(tmp_path, tiny_model_dir, tmp_path / "warm.gguf") == 0   # imports outside the measurement
    monkeypatch.setattr(tensor_stream, "BLOCK_VALUES", 1 << 16)
    tracemalloc.start()
    try:
        assert convert(tmp_path, tiny_model_dir, tmp_path / "measured.gguf") == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    largest_as_f32 = 768 * 22 * 256 * 4   # per_layer_token_embd padded, 17 MB
    assert peak < largest_as_f32 / 2, f"peak {peak / 2**20:.1f} MiB"
    assert (tmp_path / "measured.gguf").read_bytes() == (tmp_path / "warm.gguf").read_bytes()


@pytest.mark.parametrize("rows, row_length", [(7, 96), (3, 32), (64, 5632), (1, 4096)])
def test_q8_0_blocks_equal_gguf_quants_whatever_the_cut(rows, row_length):
    values = np.random.default_rng(rows).standard_normal((rows, row_length)).astype(np.float32)
    values[0, :8] = [0.5, -0.5, 1.5, 127.0, -127.0, 0.0, 2.5, -2.5]   # ties and extremes of the rounding
    raw = (values.view(np.uint32) >> 16).astype(np.uint16)            # as bf16
    as_f32 = bf16_bits_to_f32(raw.reshape(-1)).reshape(rows, row_length)
    expected = gguf.quants.quantize(as_f32, gguf.GGMLQuantizationType.Q8_0).reshape(-1)
    got = tensor_stream.encode_block(raw.view(np.uint8).reshape(-1), "BF16", gguf.GGMLQuantizationType.Q8_0,
                                     row_length)
    assert np.array_equal(got, expected)


def test_a_text_only_checkpoint_converts_to_the_same_tensors(q8_files, tiny_model_dir, tmp_path):
    """Gemma3nForCausalLM saved alone: "model.*" names, no text_config, no vision/audio (KV-shared k/v kept)."""
    from safetensors.torch import load_file, save_file

    model = tmp_path / "text_only"
    model.mkdir()
    for name in ("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        shutil.copy(tiny_model_dir / name, model / name)
    config = json.loads((tiny_model_dir / "config.json").read_text())["text_config"]
    (model / "config.json").write_text(json.dumps({**config, "architectures": ["Gemma3nForCausalLM"]}))
    tensors = {}
    for shard in sorted(tiny_model_dir.glob("*.safetensors")):
        tensors.update(load_file(shard))
    save_file({"model." + k.removeprefix("model.language_model."): v for k, v in tensors.items()
               if k.startswith("model.language_model.")}, model / "model.safetensors", metadata={"format": "pt"})
    assert convert(tmp_path, model, tmp_path / "text_only.gguf") == 0
    ours, multimodal = (gguf.GGUFReader(p) for p in (tmp_path / "text_only.gguf", q8_files[0]))
    by_name = {t.name: t for t in multimodal.tensors}
    assert sorted(by_name) == sorted(t.name for t in ours.tensors)
    assert all(np.array_equal(t.data, by_name[t.name].data) for t in ours.tensors)


def test_rope_bases_read_from_either_config_style():
    nested = {"rope_parameters": {"full_attention": {"rope_type": "default", "rope_theta": 1e6},
                                  "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}}}
    flat = {"rope_theta": 1e6, "rope_local_base_freq": 1e4, "rope_scaling": None}   # the hub's config.json
    assert rope_settings(nested)[0]["rope_theta"] == rope_settings(flat)[0]["rope_theta"] == 1e6
    assert rope_settings(nested)[1] == rope_settings(flat)[1] == 1e4


# ---- refusals ------------------------------------------------------------------------------------------

def copy_model(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest)
    return dest


def assert_refused(root: Path, model: Path, capsys, message: str, hint: str) -> str:
    out = root / "refused.gguf"
    assert convert(root, model, out) == 1
    err = capsys.readouterr().err
    assert f"Error: {message}" in err, err
    assert f"What to do: {hint}" in err, err
    assert not out.exists() and not list(root.glob("refused.gguf*"))
    return err


def test_refuses_when_there_is_no_merged_model_yet(tmp_path, capsys):
    assert main(["--root", str(tmp_path), "convert-gguf"]) == 1
    err = capsys.readouterr().err
    assert f"Error: {tmp_path / 'output' / 'merged_model'} does not exist, so there is no merged model" in err
    assert "What to do: Run merge_lora.bat first" in err
    assert not (tmp_path / "output").exists()


def test_refuses_a_model_that_is_not_gemma3n(tiny_model_dir, tmp_path, capsys):
    model = copy_model(tiny_model_dir, tmp_path / "llama")
    (model / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}))
    assert_refused(tmp_path, model, capsys, f"{model} holds a 'LlamaForCausalLM' model, not Gemma 3n.",
                   "This kit works only with Gemma 3n")


def test_refuses_a_checkpoint_without_tokenizer_model(tiny_model_dir, tmp_path, capsys):
    model = copy_model(tiny_model_dir, tmp_path / "no_tokenizer")
    (model / "tokenizer.model").unlink()
    assert_refused(tmp_path, model, capsys, f"{model} has no tokenizer.model, so the GGUF would have no vocabulary.",
                   "Copy tokenizer.model from the base model's folder")


def test_refuses_a_checkpoint_without_the_kv_shared_layers_k_norm(tiny_model_dir, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    model = copy_model(tiny_model_dir, tmp_path / "no_k_norm")
    index_path = model / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    for shard in {index["weight_map"][name] for name in KV_SHARED_K_NORMS}:
        tensors = load_file(model / shard)
        save_file({k: v for k, v in tensors.items() if k not in KV_SHARED_K_NORMS}, model / shard,
                  metadata={"format": "pt"})
    for name in KV_SHARED_K_NORMS:
        del index["weight_map"][name]
    index_path.write_text(json.dumps(index))
    assert_refused(tmp_path, model, capsys,
                   f"{model} lacks 2 tensor(s) that llama.cpp needs to load Gemma 3n: {', '.join(KV_SHARED_K_NORMS)}.",
                   "These belong to the KV-shared layers, which transformers ignores and peft's merge_and_unload() "
                   "+ save_pretrained() drops; llama.cpp still requires them. Run merge_lora.bat again")


@pytest.mark.parametrize("change, named", [
    ({"laurel_rank": 32}, "laurel_rank is 32; llama.cpp always uses 64"),
    ({"num_kv_shared_layers": 3}, "num_hidden_layers - num_kv_shared_layers is 22 - 3; llama.cpp always shares "
                                  "the KV cache from layer 20 on"),
    ({"activation_sparsity_pattern": [0.95] * 11 + [0.0] * 11},
     "activation_sparsity_pattern[10] is 0.95; llama.cpp applies sparsity 0.95 to exactly layers 0-9"),
])
def test_refuses_values_that_llama_cpp_hard_codes(tiny_model_dir, tmp_path, capsys, change, named):
    model = copy_model(tiny_model_dir, tmp_path / "odd")
    config = json.loads((model / "config.json").read_text())
    config["text_config"].update(change)
    (model / "config.json").write_text(json.dumps(config))
    err = assert_refused(tmp_path, model, capsys, f"{model / 'config.json'}: this Gemma 3n differs from what "
                         "llama.cpp", "Fine-tune google/gemma-3n-E2B-it or google/gemma-3n-E4B-it")
    assert named in err


def test_names_each_hard_coded_value_it_refuses(tiny_model_dir, tmp_path, capsys):
    model = copy_model(tiny_model_dir, tmp_path / "odd")
    config = json.loads((model / "config.json").read_text())
    config["text_config"].update({"laurel_rank": 32, "hidden_size_per_layer_input": 128})
    config["text_config"]["layer_types"][19] = "sliding_attention"
    (model / "config.json").write_text(json.dumps(config))
    assert convert(tmp_path, model, tmp_path / "odd.gguf") == 1
    err = capsys.readouterr().err
    assert "hidden_size_per_layer_input is 128; llama.cpp always uses 256" in err
    assert "laurel_rank is 32; llama.cpp always uses 64" in err
    assert "layer 19 is 'sliding_attention'; llama.cpp's KV-shared layers reuse layer 19 as full_attention" in err


def test_convert_to_gguf_bat_offers_lm_studio_and_takes_the_default_without_a_terminal(tiny_model_dir, tmp_path,
                                                                                      capsys, monkeypatch):
    home = tmp_path / "home"
    (home / ".lmstudio" / "models").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr("sys.stdin", open("/dev/null"))
    assert convert(tmp_path, tiny_model_dir, tmp_path / "offered.gguf", "--offer-lmstudio") == 0
    out = capsys.readouterr().out
    assert "Put the model into LM Studio now? -> using the default 'yes'" in out
    assert (home / ".lmstudio" / "models" / "gemma-kit" / "finetuned-gemma-3n" / "offered.gguf").exists()


def test_no_check_skips_loading_the_file_and_says_so(tiny_model_dir, tmp_path, capsys):
    assert convert(tmp_path, tiny_model_dir, tmp_path / "fast.gguf", "--no-check") == 0
    out = capsys.readouterr().out
    assert "Self-check skipped (--no-check)." in out and "Self-check: the file works" not in out


def test_a_merge_older_than_its_adapter_is_pointed_out(tiny_model_dir, tmp_path, capsys):
    """Trained again but not merged again: the GGUF would silently lack the new training."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Gemma3nForCausalLM

    from gemma_kit.core.adapter_folders import MERGE_RECORD
    from gemma_kit.steps.convert_gguf import stale_merge_warning

    adapter = tmp_path / "output" / "lora_adapter"
    model = Gemma3nForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj"]))
    peft_model.save_pretrained(str(adapter))
    assert main(["--root", str(tmp_path), "merge-lora", "--base", str(tiny_model_dir)]) == 0
    merged = tmp_path / "output" / "merged_model"
    assert json.loads((merged / MERGE_RECORD).read_text())["adapter_fingerprint"]
    assert stale_merge_warning(merged) is None
    assert stale_merge_warning(tiny_model_dir) is None            # not written by merge-lora: nothing to say

    with torch.no_grad():
        next(p for n, p in peft_model.named_parameters() if "lora_B" in n).add_(0.5)   # "trained again"
    peft_model.save_pretrained(str(adapter))
    assert stale_merge_warning(merged) == (
        f"{merged} was merged from the adapter in {adapter}, which has changed since (trained again?). This GGUF "
        "does not include that newer training: run merge_lora.bat, then convert again.")
    capsys.readouterr()
    assert main(["--root", str(tmp_path), "convert-gguf", "--no-check"]) == 0
    assert capsys.readouterr().err.count("which has changed since (trained again?)") == 2   # at the start and the end


def test_the_self_check_prints_no_llama_cpp_developer_notes(q8_files, capfd):
    from gemma_kit.gguf_gemma3n.self_check import check_gguf

    ours, _ = q8_files
    capfd.readouterr()
    result = check_gguf(ours)
    assert result.works
    captured = capfd.readouterr()
    assert "llama_kv_cache" not in captured.err + captured.out
