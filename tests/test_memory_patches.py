"""Issue 11's memory patches, on the tiny Gemma 3n through the real 4-bit + peft path (CPU, float32):
the per-layer table looked up in CPU RAM, the chunked loss, and the memory model's decisions in finetune.

On the CPU the table "moves" nowhere, but the patched lookup path runs; accelerate's offload hook (what a GPU
load with the table mapped to "cpu" gets) is attached for real and taken off by the patch.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import set_seed

from gemma_kit.cli import main
from gemma_kit.core.console import UserError
from gemma_kit.core.model_files import read_config
from gemma_kit.core.settings import load_settings
from gemma_kit.steps import finetune
from gemma_kit.training import device, model_loading, per_layer_offload
from gemma_kit.training.chunked_loss import chunked_causal_lm_loss, compute_chunked_loss
from gemma_kit.training.device import Machine
from gemma_kit.training.memory_plan import (AUTO_TABLE_ON_GPU_SHARE, CHUNKED_LOSS_BYTES_PER_LOGIT, CUDA_CONTEXT_BYTES,
                                            GIB, PLAIN_LOSS_BYTES_PER_LOGIT, REFUSE_MARGIN, REFUSED,
                                            choose_table_on_gpu, judge_memory, plan_memory, reference_text_config)
from gemma_kit.training.memory_probe import measure_peak_tensor_bytes

CPU_FLOAT32 = device.choose_precision(cuda_available=False, bf16_supported=False)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)   # dev_log 2026-11-22: on the shared 2-core machine more threads only wait
    yield
    torch.set_num_threads(before)


def load_model(model_dir: Path, table_on_gpu: bool):
    config = model_loading.load_text_config(read_config(model_dir))
    return model_loading.load_text_model(model_dir, config, CPU_FLOAT32, "cpu", per_layer_table_on_gpu=table_on_gpu)


def with_trained_looking_lora(model):
    """LoRA as finetune adds it, with lora_B drawn at random (it starts at zero, which would leave every lora_A
    gradient zero and the comparison weak), activation checkpointing on, in training mode."""
    set_seed(0)
    model = model_loading.add_lora(model, rank=8, alpha=16, dropout=0.0)
    generator = torch.Generator().manual_seed(1)
    for name, param in model.named_parameters():
        if "lora_B" in name:
            param.data.copy_(torch.randn(param.shape, generator=generator) * 0.05)
    model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    return model


def make_batch(masked: bool) -> dict:
    """Two rows of 24 tokens; masked: the first 9 positions are prompt (-100) and row 2 ends in 5 padding tokens."""
    generator = torch.Generator().manual_seed(2)
    ids = torch.randint(10, 500, (2, 24), generator=generator)
    mask = torch.ones_like(ids)
    labels = ids.clone()
    if masked:
        labels[:, :9] = -100
        ids[1, -5:], mask[1, -5:], labels[1, -5:] = 0, 0, -100
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def lora_gradients(model) -> dict[str, torch.Tensor]:
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


@pytest.fixture(scope="module")
def lora_model(tiny_model_dir_f32):
    return with_trained_looking_lora(load_model(tiny_model_dir_f32, table_on_gpu=True))


# ---- the per-layer table in CPU RAM ----------------------------------------------------------------------------
def forward_backward(model, batch: dict):
    causal_lm = model.get_base_model()
    with torch.no_grad():
        hidden = causal_lm.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    model.zero_grad(set_to_none=True)
    out = model(**batch)
    out.loss.backward()
    return hidden, out.logits.detach(), lora_gradients(model)


def test_per_layer_lookup_in_cpu_ram_gives_identical_hidden_states_logits_and_lora_gradients(tiny_model_dir_f32,
                                                                                               lora_model, capsys):
    patched = with_trained_looking_lora(load_model(tiny_model_dir_f32, table_on_gpu=False))
    assert "Gemma 3n patch: the per-layer embedding table (0.01 GB, float32) stays in CPU RAM" in capsys.readouterr().out
    assert per_layer_offload.is_table_on_cpu_patched(patched.get_base_model())
    assert not per_layer_offload.is_table_on_cpu_patched(lora_model.get_base_model())
    seen = []
    per_layer_offload.find_table(patched.get_base_model()).register_forward_hook(
        lambda module, args, rows: seen.append((args[0].device.type, rows.device.type)))

    batch = make_batch(masked=True)
    hidden, logits, grads = forward_backward(lora_model, batch)
    hidden_p, logits_p, grads_p = forward_backward(patched, batch)
    assert seen == [("cpu", "cpu"), ("cpu", "cpu")]   # the patched lookup ran, once per forward
    assert torch.equal(hidden_p, hidden) and torch.equal(logits_p, logits)
    assert grads.keys() == grads_p.keys() and len(grads) == 2 * (5 * 22 + 2 * 20)
    assert all(g.abs().max() > 0 for g in grads.values())
    for name in grads:
        assert torch.equal(grads_p[name], grads[name]), name


def test_a_float32_run_keeps_a_bfloat16_table_in_ram_as_bfloat16_with_identical_results(tiny_model_dir, capsys):
    """A GPU without bfloat16 (and the CPU) trains in float32; the table came from bfloat16, so RAM holds it as
    bfloat16 (half the RAM) and widens the looked-up rows: the numbers are the float32 table's, bit for bit."""
    plain = with_trained_looking_lora(load_model(tiny_model_dir, table_on_gpu=True))
    patched = with_trained_looking_lora(load_model(tiny_model_dir, table_on_gpu=False))
    assert "(0.01 GB, bfloat16) stays in CPU RAM" in capsys.readouterr().out
    assert per_layer_offload.find_table(patched.get_base_model()).weight.dtype == torch.bfloat16
    assert per_layer_offload.find_table(plain.get_base_model()).weight.dtype == torch.float32

    batch = make_batch(masked=True)
    hidden, logits, grads = forward_backward(plain, batch)
    hidden_p, logits_p, grads_p = forward_backward(patched, batch)
    assert hidden_p.dtype == torch.float32
    assert torch.equal(hidden_p, hidden) and torch.equal(logits_p, logits)
    for name in grads:
        assert torch.equal(grads_p[name], grads[name]), name


def test_the_two_device_load_of_a_gpu_run_places_the_table_in_ram_without_accelerate_hooks(tiny_model_dir, tmp_path):
    """On a GPU the device map names two devices ({"": "cuda", table: "cpu"}), which makes from_pretrained call
    accelerate's dispatch_model. "cpu:0" as the main device takes that same path on this GPU-less machine (two
    different device strings); without no_accelerate_dispatch the dispatch itself fails here (and on a GPU it
    would move the whole table to the GPU). peft's adapter loading (Trainer resume, the report) must then leave
    the placement alone: it re-dispatches models whose map names "cpu"."""
    from peft import PeftModel

    plain = load_model(tiny_model_dir, table_on_gpu=True)
    config = model_loading.load_text_config(read_config(tiny_model_dir))
    model = model_loading.load_text_model(tiny_model_dir, config, CPU_FLOAT32, "cpu:0", per_layer_table_on_gpu=False)
    assert [n for n, m in model.named_modules() if hasattr(m, "_hf_hook")] == []
    assert model.hf_device_map == {"": "cpu:0"}
    table = per_layer_offload.find_table(model)
    assert (table.weight.device.type, table.weight.dtype) == ("cpu", torch.bfloat16)
    ids = make_batch(masked=False)["input_ids"]
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, plain(input_ids=ids).logits)

    model_loading.add_lora(load_model(tiny_model_dir, table_on_gpu=True), rank=4, alpha=8, dropout=0.0) \
        .save_pretrained(str(tmp_path / "adapter"))
    with_adapter = PeftModel.from_pretrained(model, str(tmp_path / "adapter"))
    assert with_adapter.get_base_model().hf_device_map == {"": "cpu:0"}
    assert [n for n, m in with_adapter.named_modules() if hasattr(m, "_hf_hook")] == []
    assert table.weight.device.type == "cpu" and per_layer_offload.find_table(with_adapter.get_base_model()) is table
    with torch.no_grad():
        with_adapter(input_ids=ids)


def test_the_patch_takes_the_table_back_from_accelerates_offload_hook(tiny_model_dir_f32):
    """A GPU load with the table mapped to "cpu" goes through accelerate's dispatch_model, which hooks the table as
    offloaded: its weights become "meta" and each forward copies the whole table to the GPU. The same hook,
    attached here for real, must be gone after the patch, with the weights back in RAM."""
    from accelerate.hooks import AlignDevicesHook, add_hook_to_module

    model = load_model(tiny_model_dir_f32, table_on_gpu=True)
    table = per_layer_offload.find_table(model)
    original = table.weight.detach().clone()
    ids = make_batch(masked=False)["input_ids"]
    with torch.no_grad():
        expected = model.model.get_per_layer_inputs(ids)
    add_hook_to_module(table, AlignDevicesHook(execution_device="cpu", offload=True, io_same_device=False,
                                               place_submodules=True))
    assert table.weight.device.type == "meta"

    per_layer_offload.keep_per_layer_table_on_cpu(model)
    assert not hasattr(table, "_hf_hook") and table.weight.device.type == "cpu"
    assert torch.equal(table.weight, original)
    with torch.no_grad():
        assert torch.equal(model.model.get_per_layer_inputs(ids), expected)
    with pytest.raises(RuntimeError, match="applied twice"):
        per_layer_offload.keep_per_layer_table_on_cpu(model)


def test_the_patch_refuses_a_model_without_the_table():
    class NotGemma(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = torch.nn.Module()
            self.model.embed_tokens_per_layer = torch.nn.Linear(4, 4)   # renamed or replaced upstream
    with pytest.raises(RuntimeError, match="has no embedding 'model.embed_tokens_per_layer' \\(found Linear\\)"):
        per_layer_offload.keep_per_layer_table_on_cpu(NotGemma())


def test_the_load_device_map_puts_only_the_table_in_cpu_ram_and_only_on_a_gpu():
    assert per_layer_offload.load_device_map("cuda", table_on_gpu=False) == {
        "": "cuda", "model.embed_tokens_per_layer": "cpu"}
    assert per_layer_offload.load_device_map("cuda", table_on_gpu=True) == {"": "cuda"}
    assert per_layer_offload.load_device_map("cpu", table_on_gpu=False) == {"": "cpu"}


# ---- the chunked loss ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("masked", [True, False], ids=["masked", "all_labels"])
@pytest.mark.parametrize("cap", [None, 30.0, 0.1], ids=["no_softcap", "softcap30", "softcap0.1_saturating"])
@pytest.mark.parametrize("num_items", [None, 57], ids=["mean", "num_items_in_batch"])
def test_chunked_loss_equals_the_plain_loss_and_its_gradients(lora_model, masked, cap, num_items):
    """Reference: transformers' own path (Gemma3nForCausalLM.forward soft-caps, ForCausalLMLoss shifts and divides
    by num_items_in_batch, the gradient-accumulation count the Trainer passes). Chunks of 7: ragged last chunk.
    The tiny model's logits stay within +-0.7, so Gemma's cap of 30 changes little; a cap of 0.1 saturates them."""
    config = lora_model.get_base_model().config
    saved_cap = config.final_logit_softcapping
    # object.__setattr__: the config's validator refuses None, which Gemma3nForCausalLM.forward reads as "no cap".
    object.__setattr__(config, "final_logit_softcapping", cap)
    try:
        batch = make_batch(masked)
        extra = {} if num_items is None else {"num_items_in_batch": torch.tensor(num_items)}
        lora_model.zero_grad(set_to_none=True)
        plain = lora_model(**batch, **extra).loss
        plain.backward()
        expected = lora_gradients(lora_model)
        lora_model.zero_grad(set_to_none=True)
        chunked = compute_chunked_loss(lora_model, batch, extra.get("num_items_in_batch"), chunk_tokens=7)
        chunked.backward()
        got = lora_gradients(lora_model)
    finally:
        object.__setattr__(config, "final_logit_softcapping", saved_cap)
    torch.testing.assert_close(chunked, plain, rtol=1e-6, atol=1e-6)
    if cap == 0.1:
        with torch.no_grad():
            assert abs(plain.item() - lora_model(**batch, **extra).loss.item()) > 1e-3   # the cap was in effect
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-4, atol=1e-7, msg=name)


def test_a_batch_without_label_tokens_still_has_a_backward():
    hidden = torch.randn(1, 6, 8, requires_grad=True)
    head = torch.nn.Linear(8, 32, bias=False)
    labels = torch.full((1, 6), -100)
    loss = chunked_causal_lm_loss(hidden, labels, head, 30.0, num_items_in_batch=torch.tensor(4))
    loss.backward()
    assert loss.item() == 0.0 and hidden.grad.abs().max() == 0


def test_chunked_loss_peak_memory_is_a_fraction_of_the_plain_one_at_a_larger_vocabulary():
    vocab, width, tokens = 32_768, 64, 512
    torch.manual_seed(0)
    head = torch.nn.Linear(width, vocab, bias=False).requires_grad_(False)
    hidden, labels = torch.randn(1, tokens + 1, width), torch.randint(0, vocab, (1, tokens + 1))

    def plain():
        from transformers.loss.loss_utils import ForCausalLMLoss

        h = hidden.clone().requires_grad_(True)
        loss = ForCausalLMLoss(torch.tanh(head(h) / 30.0) * 30.0, labels, vocab)
        loss.backward()
        return loss.detach(), h.grad

    def chunked():
        h = hidden.clone().requires_grad_(True)
        loss = chunked_causal_lm_loss(h, labels, head, 30.0, chunk_tokens=64)
        loss.backward()
        return loss.detach(), h.grad

    (plain_peak, (plain_loss, plain_grad)), (chunked_peak, (chunked_loss, chunked_grad)) = (
        measure_peak_tensor_bytes(plain), measure_peak_tensor_bytes(chunked))
    # The memory model's constants (training/memory_plan.py) are these measurements: 4 float32 copies of the logits.
    assert plain_peak / (tokens * vocab) == pytest.approx(PLAIN_LOSS_BYTES_PER_LOGIT[4], rel=0.05)
    assert chunked_peak / (64 * vocab) == pytest.approx(CHUNKED_LOSS_BYTES_PER_LOGIT[4], rel=0.10)
    assert chunked_peak < 0.2 * plain_peak, (chunked_peak, plain_peak)   # chunks of 64 of 512 tokens
    torch.testing.assert_close(chunked_loss, plain_loss)
    torch.testing.assert_close(chunked_grad, plain_grad, rtol=1e-4, atol=1e-8)


def test_the_activation_estimate_matches_the_tiny_model_measured_on_the_cpu(lora_model):
    """training/memory_plan.activation_values_per_token was fitted to 8 tiny widths (dev_log 2026-11-22); here the
    shipped tiny model, float32: the peak grows per token as the estimate says, within 10%."""
    from gemma_kit.training.memory_plan import activation_values_per_token

    peaks = {}
    for tokens in (128, 256):
        ids = torch.randint(10, 500, (1, tokens), generator=torch.Generator().manual_seed(3))
        batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids}

        def step():
            loss = compute_chunked_loss(lora_model, batch, chunk_tokens=64)
            loss.backward()
        lora_model.zero_grad(set_to_none=True)
        peaks[tokens], _ = measure_peak_tensor_bytes(step)
    measured = (peaks[256] - peaks[128]) / 128 / 4          # float32 values per token
    estimated = activation_values_per_token(lora_model.get_base_model().config.to_dict())
    assert estimated == pytest.approx(measured, rel=0.10), (estimated, measured)


# ---- through the Trainer: same adapter, gradient accumulation included ------------------------------------------
def write_dataset(root: Path) -> None:
    data = root / "data"
    data.mkdir(parents=True)
    pairs = [("What is your name?", "My name is Gemma Kit."), ("Where do you live?", "I live in the park near here."),
             ("What do you drink?", "Tea."), ("When do we meet?", "We meet at six o'clock at the subway.")]
    lines = [json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]})
             for q, a in pairs]
    (data / "train_dataset.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data / "eval_dataset.jsonl").write_text(lines[0] + "\n", encoding="utf-8")


def test_training_with_the_patches_gives_the_adapter_of_training_without(tiny_model_dir, tmp_path, capsys):
    """Replies of different lengths and gradient accumulation 2: the loss must be divided by the label tokens of
    both batches together (num_items_in_batch), as the model's own loss is."""
    adapters, out = {}, {}
    for name, sets in (("patched", ["per_layer_table_on_gpu=no", "chunked_loss=true"]),
                       ("plain", ["per_layer_table_on_gpu=yes", "chunked_loss=false"])):
        root = tmp_path / name
        write_dataset(root)
        argv = ["--root", str(root), "finetune", "--max-steps", "3", "--set", f"model_path={tiny_model_dir}",
                "--set", "max_seq_length=64", "--set", "batch_size=1", "--set", "gradient_accumulation_steps=2",
                "--set", "learning_rate=5e-3", "--set", "lora_dropout=0.0", "--set", "eval_steps=3",
                "--set", "after_training=stop", "--set", "report_examples=0"]
        for pair in sets:
            argv += ["--set", pair]
        assert main(argv) == 0
        out[name] = capsys.readouterr().out
        adapters[name] = load_file(str(root / "output" / "lora_adapter" / "adapter_model.safetensors"))
    assert "Gemma 3n patch: the loss is computed 128 tokens at a time" in out["patched"]
    assert "stays in CPU RAM" in out["patched"] and "stays in CPU RAM" not in out["plain"]
    assert ("  (no GPU here: these figures are what an NVIDIA GPU with bfloat16 would need; on this computer the "
            "run uses ordinary RAM and nothing is refused)") in out["patched"]
    assert any(t.abs().max() > 0 for k, t in adapters["plain"].items() if "lora_B" in k)
    for key, expected in adapters["plain"].items():
        torch.testing.assert_close(adapters["patched"][key], expected, rtol=1e-4, atol=1e-6, msg=key)


# ---- the memory model's decisions ----------------------------------------------------------------------------------
def test_judge_memory_every_case():
    total, free = 12 * GIB, 10 * GIB
    assert judge_memory(5 * GIB, None, None) == "no_gpu"
    assert judge_memory(10 * GIB, free, total) == "fits"                            # exactly the free memory
    assert judge_memory(10 * GIB * REFUSE_MARGIN, free, total) == "tight"           # over, within the margin
    assert judge_memory(14 * GIB, 3 * GIB, total) == "busy"                          # an idle 12 GB GPU would try
    assert judge_memory((total - CUDA_CONTEXT_BYTES) * REFUSE_MARGIN + 1, free, total) == "too_small"
    assert judge_memory(40 * GIB, free, total) == "too_small"
    assert REFUSED == ("busy", "too_small")


def test_choose_table_on_gpu_every_case():
    with_table = plan_memory(reference_text_config("E4B"), lora_rank=8, max_seq_length=768, chunked_loss=True)
    need = with_table.to_allocate
    for setting, expected in (("yes", True), ("no", False)):
        for free, total in ((None, None), (1 * GIB, 4 * GIB), (80 * GIB, 80 * GIB)):
            assert choose_table_on_gpu(setting, free, total, with_table) is expected   # as told, even if it won't fit
    assert choose_table_on_gpu("auto", None, None, with_table) is False                  # no GPU: the RAM code path
    assert choose_table_on_gpu("auto", need / AUTO_TABLE_ON_GPU_SHARE, 24 * GIB, with_table) is True   # just room
    assert choose_table_on_gpu("auto", need / AUTO_TABLE_ON_GPU_SHARE - 1, 24 * GIB, with_table) is False
    assert choose_table_on_gpu("auto", 7 * GIB, 8 * GIB, with_table) is False            # an 8 GB GPU: RAM
    with pytest.raises(AssertionError):
        choose_table_on_gpu("maybe", 7 * GIB, 8 * GIB, with_table)


@pytest.fixture
def e4b_folder(tmp_path) -> Path:
    """A folder with only the real E4B config.json's text part (check_memory reads nothing else)."""
    folder = tmp_path / "gemma-3n-E4B-it"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gemma3n", "text_config": {
        "model_type": "gemma3n_text", **reference_text_config("E4B")}}))
    return folder


def gpu(name: str, total_gb: float, free_gb: float, bf16: bool = True) -> Machine:
    return Machine(cuda_available=True, bf16_supported=bf16, gpu_name=name, gpu_memory_bytes=int(total_gb * GIB),
                   gpu_free_bytes=int(free_gb * GIB))


def settings_for(tmp_path, *pairs):
    return load_settings(tmp_path, cli_pairs=list(pairs))


def test_an_8gb_gpu_trains_e4b_with_the_table_in_ram(e4b_folder, tmp_path, capsys):
    assert finetune.check_memory(settings_for(tmp_path), e4b_folder, gpu("RTX 4060", 8, 7.4)).table_on_gpu is False
    out = capsys.readouterr().out
    assert "Estimated GPU memory for gemma-3n-E4B-it, preset standard (LoRA rank 8, 768 tokens x batch 1):" in out
    assert "  per-layer table (bf16)            0    (in CPU RAM: 4.38 GB of RAM instead)" in out
    assert "  per-layer table: in CPU RAM (per_layer_table_on_gpu = 'auto'); loss: computed 128 tokens at a time" in out
    assert "are free: fits." in out


def test_a_24gb_gpu_keeps_the_table_on_the_gpu(e4b_folder, tmp_path, capsys):
    assert finetune.check_memory(settings_for(tmp_path), e4b_folder, gpu("RTX 4090", 24, 23)).table_on_gpu is True
    assert "per-layer table: on the GPU (per_layer_table_on_gpu = 'auto')" in capsys.readouterr().out


def test_a_gpu_too_small_is_refused_before_loading_with_what_to_change(e4b_folder, tmp_path):
    settings = settings_for(tmp_path, "preset=thorough", "per_layer_table_on_gpu=yes", "chunked_loss=false")
    with pytest.raises(UserError) as caught:
        finetune.check_memory(settings, e4b_folder, gpu("GTX 1650", 4, 3.6, bf16=False))
    need = plan_memory(reference_text_config("E4B"), lora_rank=16, max_seq_length=1024, weights_bytes=4).to_allocate
    assert caught.value.message == (f"Training needs about {need / GIB:.1f} GB of GPU memory, more than GTX 1650 has "
                                    "(4.0 GB, 3.6 GB free).")
    assert caught.value.hint == (
        'Use a lighter setup in settings.toml or on the command line: per_layer_table_on_gpu = "auto", '
        'chunked_loss = true, --preset quick, a smaller max_seq_length (e.g. --set max_seq_length=512), '
        'model = "E2B". To try anyway: finetune_gemma.bat --ignore-memory-check.')


def test_a_busy_gpu_is_refused_with_close_other_programs_and_the_flag_overrides(e4b_folder, tmp_path, capsys):
    settings = settings_for(tmp_path)
    with pytest.raises(UserError) as caught:
        finetune.check_memory(settings, e4b_folder, gpu("RTX 3060", 12, 2.0))
    assert caught.value.message.endswith("but only 2.0 GB of the 12.0 GB on RTX 3060 are free: other programs are "
                                         "using the rest.")
    assert caught.value.hint.startswith("Close programs that use the GPU")
    capsys.readouterr()
    assert finetune.check_memory(settings, e4b_folder, gpu("RTX 3060", 12, 2.0), ignore=True).table_on_gpu is False
    captured = capsys.readouterr()
    assert "Starting anyway (--ignore-memory-check)." in captured.out + captured.err


def test_the_ignore_memory_check_flag_is_on_the_command_line():
    from gemma_kit.cli import build_parser

    assert build_parser().parse_args(["finetune", "--ignore-memory-check"]).ignore_memory_check is True


def test_a_restart_refused_by_the_memory_check_keeps_the_old_checkpoints(e4b_folder, tmp_path, monkeypatch):
    """--restart deletes the old run; a run that is refused before loading anything must not have done so.
    (There is no GPU here: the machine detection is replaced by a 4 GB card.)"""
    root = tmp_path / "project"
    write_dataset(root)
    old = root / "output" / "checkpoints" / "checkpoint-5"
    old.mkdir(parents=True)
    (old / "trainer_state.json").write_text("{}")
    (old / "adapter_model.safetensors").write_text("{}")
    small = gpu("GTX 1650", 4, 3.6, bf16=False)
    monkeypatch.setattr(finetune, "choose_machine",
                        lambda: (small, device.choose_precision(True, small.bf16_supported)))
    assert main(["--root", str(root), "finetune", "--restart", "--base", str(e4b_folder)]) == 1
    assert old.is_dir()
