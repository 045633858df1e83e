"""merge-lora, driven as the user runs it (`main([...])`), checked against real peft and the base files.

Adapters are made with real peft on the tiny checkpoint (Gemma3nForCausalLM, as finetune does), with
lora_B set to random non-zero values so the merge changes something measurable.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from gemma_kit.cli import main
from gemma_kit.core.adapter_folders import write_base_model_record
from gemma_kit.core.model_files import read_safetensors_header
from gemma_kit.merge import lora_math

ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
INPUT_IDS = torch.randint(0, 512, (1, 24), generator=torch.Generator().manual_seed(7))


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The tiny model is too small to share out, and on a busy 2-core machine torch's threads only wait on
    each other: one forward took 8 s with 2 threads, 0.15 s with 1 (2026-11-22, dev_log)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@dataclass
class Adapter:
    folder: Path
    base_logits: torch.Tensor | None = None
    peft_merged_logits: torch.Tensor | None = None


def logits_of(model) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(input_ids=INPUT_IDS).logits


def load_text_model(folder: Path):
    from transformers import Gemma3nForCausalLM

    return Gemma3nForCausalLM.from_pretrained(str(folder), dtype=torch.float32)


def wrap_save(model, dest: Path, b_std: float = 0.02, seed: int = 0, **lora_kwargs):
    """peft LoRA with random non-zero B (a fresh adapter has B = 0, which would merge to nothing)."""
    from peft import LoraConfig, get_peft_model

    lora_kwargs.setdefault("target_modules", ALL_PROJECTIONS)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, **lora_kwargs))
    torch.manual_seed(seed)
    for name, parameter in peft_model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(parameter, std=b_std)
    peft_model.save_pretrained(str(dest))
    return peft_model


def make_adapter(base: Path, dest: Path, with_logits: bool = False, **kwargs) -> Adapter:
    model = load_text_model(base)
    base_logits = logits_of(model) if with_logits else None
    peft_model = wrap_save(model, dest, **kwargs)
    write_base_model_record(dest, base)
    merged_logits = logits_of(peft_model.merge_and_unload()) if with_logits else None
    return Adapter(dest, base_logits, merged_logits)


def text_model_like(base: Path, **changes):
    """A random in-memory Gemma 3n text model shaped like `base` but with some sizes changed (an adapter
    "made elsewhere", for another model)."""
    from transformers import Gemma3nForCausalLM, Gemma3nTextConfig

    text = json.loads((base / "config.json").read_text())["text_config"]
    for derived in ("layer_types", "activation_sparsity_pattern", "intermediate_size", "model_type"):
        text.pop(derived, None)
    text.update({"intermediate_size": 512, **changes})
    return Gemma3nForCausalLM(Gemma3nTextConfig(**text))


@pytest.fixture(scope="module")
def f32_adapter(tiny_model_dir_f32, tmp_path_factory) -> Adapter:
    return make_adapter(tiny_model_dir_f32, tmp_path_factory.mktemp("adapters") / "f32", with_logits=True)


@pytest.fixture(scope="module")
def bf16_adapter(tiny_model_dir, tmp_path_factory) -> Adapter:
    return make_adapter(tiny_model_dir, tmp_path_factory.mktemp("adapters") / "bf16")


def run_merge(root: Path, *args: str) -> int:
    return main(["--root", str(root), "merge-lora", *args])


def tensors_of(folder: Path) -> dict[str, torch.Tensor]:
    """All tensors via the safetensors library (independent of the step's own reader)."""
    tensors = {}
    for path in sorted(folder.glob("*.safetensors")):
        with safe_open(str(path), framework="pt") as f:
            tensors.update({name: f.get_tensor(name) for name in f.keys()})
    return tensors


def raw_bytes(tensor: torch.Tensor) -> bytes:
    return tensor.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def merged_names(out: Path) -> set[str]:
    return set(json.loads((out / "merged_from.json").read_text())["merged_tensors"])


def assert_no_output(root: Path) -> None:
    output = root / "output"
    assert not (output / "merged_model").exists()
    assert not (output / "merged_model.partial").exists()


def assert_same_layout_and_untouched_bytes(base: Path, out: Path, changed: set[str]) -> None:
    base_tensors, out_tensors = tensors_of(base), tensors_of(out)
    assert set(out_tensors) == set(base_tensors)
    untouched = sorted(set(base_tensors) - changed)
    for name in untouched:
        assert raw_bytes(out_tensors[name]) == raw_bytes(base_tensors[name]), name
    # The parts the transformers text model would lose (docs/gemma3n_facts.md) are among the untouched ones.
    for must_keep in ("model.language_model.layers.21.self_attn.k_proj.weight",
                      "model.language_model.layers.21.self_attn.v_proj.weight",
                      "model.language_model.layers.20.self_attn.k_norm.weight",
                      "model.vision_tower.timm_model.conv_stem.conv.weight",
                      "model.audio_tower.conformer.0.attention.attn.q_proj.weight",
                      "model.embed_audio.embedding.weight"):
        assert must_keep in untouched
    for path in base.iterdir():  # same shard names, config, index, tokenizer, chat template, generation config
        assert (out / path.name).exists(), path.name
        if path.suffix != ".safetensors":
            assert (out / path.name).read_bytes() == path.read_bytes(), path.name
    weight_map = json.loads((out / "model.safetensors.index.json").read_text())["weight_map"]
    in_files = {name: path.name for path in out.glob("*.safetensors") for name in read_safetensors_header(path)[0]}
    assert weight_map == in_files


def test_merge_matches_peft_merge_and_unload_at_f32(tiny_model_dir_f32, f32_adapter, tmp_path, capsys):
    code = run_merge(tmp_path, "--adapter", str(f32_adapter.folder), "--base", str(tiny_model_dir_f32))

    out = tmp_path / "output" / "merged_model"
    printed = capsys.readouterr().out
    assert code == 0
    assert "The base model is the one the adapter was trained on." in printed
    assert "Adding 150 LoRA weight pairs (rank 4, scale 2) into 553 tensors in 2 shard(s)." in printed
    assert (f"Wrote {out} (" in printed and "553 tensors in 2 shard(s); 150 changed by the adapter, "
            "403 copied unchanged." in printed)
    assert printed.rstrip().endswith("Next: run convert_to_gguf.bat  (or: gemma-kit convert-gguf)")
    merged_logits = logits_of(load_text_model(out))
    assert not torch.allclose(merged_logits, f32_adapter.base_logits, atol=1e-3)  # the adapter did something
    torch.testing.assert_close(merged_logits, f32_adapter.peft_merged_logits, rtol=1e-5, atol=1e-5)
    assert len(merged_names(out)) == 150
    assert_same_layout_and_untouched_bytes(tiny_model_dir_f32, out, merged_names(out))
    assert json.loads((out / "merge_settings.json").read_text())["lora_rank"] == 8  # the run's settings


def test_merge_writes_bf16_targets_rounded_from_float32(tiny_model_dir, bf16_adapter, tmp_path, monkeypatch):
    monkeypatch.setattr(lora_math, "BLOCK_ELEMENTS", 1000)  # many blocks per tensor, ragged last ones
    assert run_merge(tmp_path, "--input", str(bf16_adapter.folder), "--base", str(tiny_model_dir)) == 0

    out = tmp_path / "output" / "merged_model"
    changed = merged_names(out)
    assert_same_layout_and_untouched_bytes(tiny_model_dir, out, changed)
    base, merged = tensors_of(tiny_model_dir), tensors_of(out)
    with safe_open(str(bf16_adapter.folder / "adapter_model.safetensors"), framework="pt") as f:
        lora = {name: f.get_tensor(name) for name in f.keys()}
    not_nearest = 0
    for name in changed:
        module = "base_model.model.model." + name.removeprefix("model.language_model.").removesuffix(".weight")
        b, a = lora[module + ".lora_B.weight"].double(), lora[module + ".lora_A.weight"].double()
        weight, delta = base[name].double(), (b @ a) * 2.0  # alpha 8 / r 4
        exact, ours = weight + delta, merged[name]
        assert ours.dtype == torch.bfloat16 and not torch.equal(ours, base[name])
        # Correctly rounded to bf16, up to float32 noise: within half a bf16 step of the exact sum.
        step = ((ours.view(torch.int16) + 1).view(torch.bfloat16).double() - ours.double()).abs()
        noise = 1e-6 * (weight.abs() + delta.abs())
        error = (ours.double() - exact).abs()
        assert (error <= step / 2 + noise).all(), name
        not_nearest += int((error > step / 2).sum())
    assert not_nearest < 0.001 * sum(merged[n].numel() for n in changed)


def test_merge_honours_rslora_rank_and_alpha_patterns(tiny_model_dir_f32, tmp_path, capsys):
    adapter = make_adapter(tiny_model_dir_f32, tmp_path / "adapter", with_logits=True, use_rslora=True,
                           rank_pattern={"q_proj": 8}, alpha_pattern={r"layers\.3\.mlp\.down_proj": 32})
    assert run_merge(tmp_path, "--adapter", str(adapter.folder), "--base", str(tiny_model_dir_f32)) == 0

    # q_proj: 8/sqrt(8); the rest 8/sqrt(4); layer 3 down_proj 32/sqrt(4)
    assert "Adding 150 LoRA weight pairs (ranks 4, 8, scales 2.82843, 4, 16)" in capsys.readouterr().out
    merged_logits = logits_of(load_text_model(tmp_path / "output" / "merged_model"))
    torch.testing.assert_close(merged_logits, adapter.peft_merged_logits, rtol=1e-5, atol=1e-5)


def test_merge_replaces_previous_output_and_says_so(tiny_model_dir, bf16_adapter, tmp_path, capsys):
    args = ["--input", str(bf16_adapter.folder), "--base", str(tiny_model_dir), "--output", "elsewhere/merged"]
    assert run_merge(tmp_path, *args) == 0
    first = capsys.readouterr().out
    assert run_merge(tmp_path, *args) == 0

    second = capsys.readouterr().out
    out = tmp_path / "elsewhere" / "merged"
    assert "exists already" not in first
    assert f"{out} exists already: it will be replaced by this merge" in second
    assert f"Replaced the previous merged model in {out}." in second
    assert sorted(p.name for p in out.parent.iterdir()) == ["merged"]  # no .partial, no .old left behind


def test_merge_summary_speaks_russian_with_language_ru(tiny_model_dir, bf16_adapter, tmp_path, capsys):
    """The merge's own lines in Russian (counts and paths as they are), with the ranks in their Russian form."""
    args = ["--adapter", str(bf16_adapter.folder), "--base", str(tiny_model_dir), "--set", "language=ru"]
    assert run_merge(tmp_path, *args) == 0
    printed = capsys.readouterr().out
    out = tmp_path / "output" / "merged_model"
    assert "merge-lora: объединение LoRA-адаптера с исходной моделью. Настройки:" in printed
    assert "Добавление пар весов LoRA в модель: 150 (ранг 4, масштаб 2); тензоров в модели: 553" in printed
    assert (f"Записано: {out} (" in printed and "тензоров: 553, частей (shards): 2; изменено адаптером: 150, "
            "остальные (403) скопированы без изменений." in printed)
    assert "Adding" not in printed and "Wrote" not in printed
    assert "Дальше: запустите convert_to_gguf.bat" in printed


def test_merge_dtype_bf16_rounds_like_torch_and_updates_config(tiny_model_dir_f32, f32_adapter, tmp_path,
                                                               monkeypatch):
    monkeypatch.setattr(lora_math, "BLOCK_ELEMENTS", 1000)
    assert run_merge(tmp_path, "--adapter", str(f32_adapter.folder), "--base", str(tiny_model_dir_f32),
                     "--dtype", "bf16") == 0

    out = tmp_path / "output" / "merged_model"
    base, merged = tensors_of(tiny_model_dir_f32), tensors_of(out)
    for name in set(base) - merged_names(out):
        assert torch.equal(merged[name].view(torch.int16), base[name].to(torch.bfloat16).view(torch.int16)), name
    config = json.loads((out / "config.json").read_text())
    assert config["dtype"] == config["text_config"]["dtype"] == "bfloat16"
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert index["metadata"]["total_size"] == sum(t.numel() * 2 for t in merged.values())
    torch.testing.assert_close(logits_of(load_text_model(out)), f32_adapter.peft_merged_logits, rtol=0.1, atol=0.1)


def test_merge_dtype_f16_converts_like_torch(tiny_model_dir, bf16_adapter, tmp_path):
    assert run_merge(tmp_path, "--adapter", str(bf16_adapter.folder), "--base", str(tiny_model_dir),
                     "--dtype", "f16") == 0

    out = tmp_path / "output" / "merged_model"
    base, merged = tensors_of(tiny_model_dir), tensors_of(out)
    assert {t.dtype for t in merged.values()} == {torch.float16}
    for name in set(base) - merged_names(out):
        assert torch.equal(merged[name], base[name].to(torch.float16)), name
    assert json.loads((out / "config.json").read_text())["text_config"]["dtype"] == "float16"


def test_f32_to_bf16_matches_torch_on_edge_values():
    import numpy as np

    from gemma_kit.core.raw_floats import bf16_bits_to_f32, f32_to_bf16_bits

    edges = torch.tensor([0.0, -0.0, 1.0, 1.00390625, 1.01171875, 1.0 + 2 ** -9, 3.3895314e38, 3.4028235e38,
                          float("inf"), float("-inf"), 1e-40, -1e-45, 65504.0, -2.5e-3])
    generator = torch.Generator().manual_seed(3)
    values = torch.cat([edges, torch.randn(100_000, generator=generator)
                        * 10.0 ** torch.randint(-30, 30, (100_000,), generator=generator)])
    ours = f32_to_bf16_bits(values.numpy())
    assert np.array_equal(ours, values.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16))
    assert np.array_equal(bf16_bits_to_f32(ours), values.to(torch.bfloat16).float().numpy())
    # NaN stays NaN (torch's own bit pattern for it differs between its scalar and vector paths).
    assert np.isnan(bf16_bits_to_f32(f32_to_bf16_bits(np.array([np.nan, -np.nan], np.float32)))).all()


def test_pattern_keys_match_like_peft():
    from peft.utils.other import get_pattern_key

    from gemma_kit.merge.lora_adapter import find_pattern_key

    patterns = {"q_proj": 8, r"layers\.3\.mlp\.down_proj": 16, "mlp.up_proj": 2}
    for module in ("model.layers.3.self_attn.q_proj", "model.layers.3.mlp.down_proj", "model.layers.13.mlp.down_proj",
                   "model.layers.0.mlp.up_proj", "model.layers.0.mlp.gate_proj", "q_proj"):
        expected = get_pattern_key(patterns.keys(), module)
        assert find_pattern_key(patterns, module) == (expected if expected in patterns else None), module


def test_merge_step_runs_without_importing_torch(tiny_model_dir, bf16_adapter, tmp_path):
    """Importing torch alone costs ~650 MiB of RSS; the merge must stream with numpy only. The step is run
    directly (not through cli.main, which imports every step module to build its parser)."""
    code = ("import argparse, sys; from pathlib import Path; from gemma_kit.core.settings import load_settings; "
            "from gemma_kit.steps import merge_lora; "
            f"args = argparse.Namespace(adapter={str(bf16_adapter.folder)!r}, base={str(tiny_model_dir)!r}, "
            "out=None, dtype='keep'); "
            f"rc = merge_lora.run(load_settings(Path({str(tmp_path)!r})), args); "
            "print('torch imported' if 'torch' in sys.modules else 'no torch'); sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "GEMMA_KIT_NO_PROGRESS": "1"})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "output" / "merged_model" / "merged_from.json").exists()
    assert done.stdout.rstrip().endswith("no torch")


# ---- refusals: a clear message, and no output folder (nor a .partial one) ----------------------------------

def test_missing_adapter_folder_is_refused(tiny_model_dir, tmp_path, capsys):
    assert run_merge(tmp_path, "--base", str(tiny_model_dir)) == 1

    err = capsys.readouterr().err
    assert f"Error: There is no LoRA adapter at {tmp_path / 'output' / 'lora_adapter'}.\n" in err
    assert "What to do: Run finetune_gemma.bat first (it saves the adapter there)" in err
    assert_no_output(tmp_path)


def test_missing_adapter_hint_names_latest_checkpoint(tiny_model_dir, bf16_adapter, tmp_path, capsys):
    import shutil

    for step in (50, 200, 100, 300):
        shutil.copytree(bf16_adapter.folder, tmp_path / "output" / "checkpoints" / f"checkpoint-{step}")
        if step != 300:   # checkpoint-300 was cut short while saving: the Trainer writes its state last
            (tmp_path / "output" / "checkpoints" / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert run_merge(tmp_path, "--base", str(tiny_model_dir)) == 1

    latest = tmp_path / "output" / "checkpoints" / "checkpoint-200"
    assert (f"What to do: Run finetune_gemma.bat to finish training, or merge a saved checkpoint: --adapter {latest}"
            in capsys.readouterr().err)
    assert_no_output(tmp_path)


def test_adapter_key_without_checkpoint_tensor_is_refused(tiny_model_dir, tmp_path, capsys):
    # An adapter made elsewhere for a deeper model: layers 22 and 23 do not exist in the 22-layer checkpoint.
    wrap_save(text_model_like(tiny_model_dir, num_hidden_layers=24), tmp_path / "adapter")
    assert run_merge(tmp_path, "--adapter", str(tmp_path / "adapter"), "--base", str(tiny_model_dir)) == 1

    err = capsys.readouterr().err
    assert f"Warning: {tmp_path / 'adapter'} has no base_model.json" in err
    assert (f"Error: The adapter in {tmp_path / 'adapter'} changes 10 weight(s) that the model in {tiny_model_dir} "
            "does not have (first: model.layers.22.mlp.down_proj, looked for model.layers.22.mlp.down_proj.weight or "
            "model.language_model.layers.22.mlp.down_proj.weight).\n") in err
    assert_no_output(tmp_path)


def test_adapter_shape_mismatch_is_refused(tiny_model_dir, tmp_path, capsys):
    wrap_save(text_model_like(tiny_model_dir, intermediate_size=256), tmp_path / "adapter")
    assert run_merge(tmp_path, "--adapter", str(tmp_path / "adapter"), "--base", str(tiny_model_dir)) == 1

    assert (f"Error: The adapter in {tmp_path / 'adapter'} does not fit the model in {tiny_model_dir}: "
            "model.language_model.layers.0.mlp.down_proj.weight has shape [64, 512], but the adapter's "
            "model.layers.0.mlp.down_proj changes a [64, 256] weight.\n") in capsys.readouterr().err
    assert_no_output(tmp_path)


def test_adapter_trained_on_another_base_is_refused(tiny_model_dir, tiny_model_dir_f32, f32_adapter, tmp_path,
                                                    capsys):
    assert run_merge(tmp_path, "--adapter", str(f32_adapter.folder), "--base", str(tiny_model_dir)) == 1

    err = capsys.readouterr().err
    assert (f"Error: The adapter in {f32_adapter.folder} was trained on a different base model than {tiny_model_dir} "
            '(its settings differ: dtype "float32" at training, "bfloat16" here).\n') in err
    assert f'What to do: Merge it into the model it was trained on (--base "{tiny_model_dir_f32}")' in err
    assert_no_output(tmp_path)


def test_dora_adapter_is_refused(tiny_model_dir, tmp_path, capsys):
    make_adapter(tiny_model_dir, tmp_path / "adapter", target_modules=["q_proj"], use_dora=True)
    assert run_merge(tmp_path, "--adapter", str(tmp_path / "adapter"), "--base", str(tiny_model_dir)) == 1

    assert (f"Error: {tmp_path / 'adapter' / 'adapter_config.json'}: the adapter uses DoRA (weight-decomposed LoRA) "
            "(use_dora = true), which merge-lora cannot merge; it merges plain LoRA only.\n"
            in capsys.readouterr().err)
    assert_no_output(tmp_path)


def test_adapter_with_saved_full_layers_is_refused(tiny_model_dir, tmp_path, capsys):
    # LoRA on the tied lm_head makes peft save the embedding table too: more than A/B, so refused by name.
    make_adapter(tiny_model_dir, tmp_path / "adapter", target_modules=["q_proj", "lm_head"])
    assert run_merge(tmp_path, "--adapter", str(tmp_path / "adapter"), "--base", str(tiny_model_dir)) == 1

    assert ("holds 1 tensor(s) that are not plain LoRA A/B weights (first: base_model.model.lm_head.base_layer.weight)"
            in capsys.readouterr().err)
    assert_no_output(tmp_path)


def test_failure_while_writing_leaves_no_partial_folder(tiny_model_dir, tmp_path, capsys):
    # Huge B (a diverged run) overflows float16 once shards are being written: the half-built folder goes.
    make_adapter(tiny_model_dir, tmp_path / "adapter", b_std=1e6)
    code = run_merge(tmp_path, "--adapter", str(tmp_path / "adapter"), "--base", str(tiny_model_dir), "--dtype", "f16")

    assert code == 1
    err = capsys.readouterr().err
    assert "has values too large to store as F16.\nWhat to do: Use --dtype bf16 or --dtype keep" in err
    assert_no_output(tmp_path)


def test_foreign_output_folder_is_not_replaced(tiny_model_dir, bf16_adapter, tmp_path, capsys):
    precious = tmp_path / "output" / "merged_model" / "notes.txt"
    precious.parent.mkdir(parents=True)
    precious.write_text("mine")
    assert run_merge(tmp_path, "--adapter", str(bf16_adapter.folder), "--base", str(tiny_model_dir)) == 1

    assert (f"Error: {precious.parent} exists and is not a merged model written by merge-lora, so it is not replaced."
            in capsys.readouterr().err)
    assert precious.read_text() == "mine"
