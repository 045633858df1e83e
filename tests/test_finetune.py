"""finetune on the tiny Gemma 3n, on the CPU, through the real 4-bit + peft + Trainer path.

Runs are driven as the user runs them (`main([...])`); where a test needs to act inside training (press
Ctrl+C at step 5, inject a NaN), it calls the step's `run` with an extra TrainerCallback instead.
"""
from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, TrainerCallback, get_cosine_schedule_with_warmup

from gemma_kit import pipeline
from gemma_kit.cli import build_parser, main
from gemma_kit.core.console import UserError
from gemma_kit.core.model_files import checkpoint_fingerprint, read_config
from gemma_kit.core.settings import load_settings
from gemma_kit.steps import finetune
from gemma_kit.training import resume
from gemma_kit.training import collate, device, model_loading, patches
from gemma_kit.training.callbacks import best_checkpoints, eval_losses_by_step

# Memorisable: four short question/answer pairs. The eval set asks the same questions but expects another
# question's answer, so the eval loss first falls (the model learns which words answers use) and then rises (it
# learns which answer goes with which question): the best checkpoints are then not simply the latest ones.
TRAIN_PAIRS = [("What is your name?", "My name is Gemma Kit."), ("Where do you live?", "I live in the park."),
               ("What do you drink?", "I drink tea with milk."), ("When do we meet?", "We meet at six o'clock.")]
EVAL_PAIRS = [(q, TRAIN_PAIRS[(i + 1) % 4][1]) for i, (q, _) in enumerate(TRAIN_PAIRS[:3])]
COMMON = ["--set", "max_seq_length=64", "--set", "batch_size=2", "--set", "gradient_accumulation_steps=1",
          "--set", "lora_dropout=0.0", "--set", "learning_rate=5e-3", "--set", "after_training=stop",
          "--set", "report_examples=0"]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The tiny model is too small to share out, and on a busy 2-core machine torch's threads only wait on each
    other: a training step took 0.35-0.48 s with 1 thread and up to 11.7 s with 2 (dev_log 2026-11-22)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def learnable_model_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny model with its (tied) embeddings scaled x10. The factory's embeddings (row norm 0.16) cap every
    logit at about |hidden| x 0.16 = 1.3, so no adapter can push the loss below ~5.4 from 6.7 (measured: 5.64
    after 40 steps, with the memorised replies already coming out greedily); x10 lifts that floor."""
    folder = tmp_path_factory.mktemp("learnable") / "gemma-3n-tiny"
    shutil.copytree(tiny_model_dir, folder)
    name = "model.language_model.embed_tokens.weight"
    shard = folder / json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"][name]
    tensors = load_file(str(shard))
    tensors[name] = (tensors[name].float() * 10).to(tensors[name].dtype)
    save_file(tensors, str(shard), metadata={"format": "pt"})
    return folder


def write_dataset(root: Path, train=TRAIN_PAIRS, eval_=EVAL_PAIRS) -> None:
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, pairs in (("train_dataset.jsonl", train), ("eval_dataset.jsonl", eval_)):
        lines = [json.dumps({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": q},
                                          {"role": "assistant", "content": a}]}, ensure_ascii=False) for q, a in pairs]
        (data / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def finetune_argv(root: Path, model_dir: Path, *extra: str) -> list[str]:
    return ["--root", str(root), "finetune", "--set", f"model_path={model_dir}", *COMMON, *extra]


def run_with_callbacks(argv: list[str], callbacks: list) -> int:
    """What cli.main does for the step, plus TrainerCallbacks that act inside training."""
    args = build_parser().parse_args(argv)
    settings = load_settings(Path(args.root), None, {}, getattr(args, "set_pairs", None))
    return pipeline.run_step("finetune", settings, args, extra_callbacks=callbacks)


def adapter_tensors(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "adapter_model.safetensors"))


def lora_weights(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


# ---- masking and length ----------------------------------------------------------------------------------------
def find_run(haystack: list[int], needle: list[int]) -> int:
    starts = [i for i in range(len(haystack) - len(needle) + 1) if haystack[i:i + len(needle)] == needle]
    assert len(starts) == 1, f"expected one occurrence of {needle}, found {len(starts)}"
    return starts[0]


@pytest.mark.parametrize("first_learned_elsewhere", [False, True])
def test_labels_equal_input_ids_exactly_on_the_replies_to_learn(tiny_model_dir, first_learned_elsewhere):
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    replies = ["Hi! How are you doing?", "Let us try it tomorrow."]
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Привет! Как дела?"},
                {"role": "assistant", "content": replies[0]}, {"role": "user", "content": "What now?"},
                {"role": "assistant", "content": replies[1]}]
    # When another example of the file ends with the first exchange (prepare-dataset's windows), that one learns it
    # and here it is context only; in a file of whole dialogs it is learned here.
    elsewhere = frozenset({("Привет! Как дела?", replies[0])}) if first_learned_elsewhere else frozenset()
    example = collate.tokenize_with_labels(tokenizer, messages, elsewhere)
    ids, labels = example["input_ids"], example["labels"]

    # Independent reference: each learned reply tokenised on its own, with the end-of-turn marker that closes it.
    learned = replies[1:] if first_learned_elsewhere else replies
    expected = [-100] * len(ids)
    for reply in learned:
        piece = tokenizer(reply + "<end_of_turn>", add_special_tokens=False)["input_ids"]
        start = find_run(ids, piece)
        expected[start:start + len(piece)] = piece
    assert labels == expected
    masked_text = tokenizer.decode([t for t, label in zip(ids, labels) if label == -100])
    assert masked_text.startswith("<bos><start_of_turn>user\nBe brief.\n\nПривет! Как дела?<end_of_turn>")
    assert masked_text.count("<start_of_turn>model\n") == 2 and "What now?" in masked_text
    assert (replies[0] + "<end_of_turn>" in masked_text) == first_learned_elsewhere
    assert ids.count(tokenizer.bos_token_id) == 1


def test_long_history_loses_oldest_turns_and_overlong_examples_are_dropped(tiny_model_dir, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    history = [{"role": "system", "content": "Be brief."}]
    for i in range(6):
        history += [{"role": "user", "content": f"Question number {i}?"},
                    {"role": "assistant", "content": f"Answer number {i}."}]
    last_only = history[:1] + history[-2:]
    fits = len(collate.tokenize_with_labels(tokenizer, last_only)["input_ids"])

    example, dropped = collate.fit_to_length(tokenizer, history, fits)
    assert dropped == 5
    text = tokenizer.decode(example["input_ids"])
    assert "Be brief." in text and "Question number 5?" in text and "Question number 4?" not in text
    assert tokenizer.decode([t for t in example["labels"] if t != -100]) == "Answer number 5.<end_of_turn>"
    assert collate.fit_to_length(tokenizer, history, fits - 1) == (None, 5)

    conversations = [collate.TrainingDialog(1, tuple(last_only)), collate.TrainingDialog(2, tuple(history)),
                     collate.TrainingDialog(3, tuple(history[:1] + [{"role": "user", "content": "x" * 300},
                                                                  history[-1]]))]
    data = collate.prepare_examples(tokenizer, conversations, fits, tmp_path / "train_dataset.jsonl")
    assert (len(data.examples), data.truncated, data.dropped_lines) == (2, 1, [3])


# ---- model loading and the patches ----------------------------------------------------------------------------
@pytest.mark.parametrize("machine", ["cpu", "bf16_gpu"])
def test_sensitive_layers_are_not_4bit_and_projections_are(tiny_model_dir, machine):
    import bitsandbytes as bnb

    precision = device.choose_precision(cuda_available=machine == "bf16_gpu", bf16_supported=machine == "bf16_gpu")
    config = read_config(tiny_model_dir)
    model = model_loading.load_text_model(tiny_model_dir, model_loading.load_text_config(config), precision, "cpu")
    dtype = getattr(torch, precision.weights_dtype)

    kinds: dict[str, int] = {}
    for name, module in model.named_modules():
        parts = name.split(".")
        if parts[-1].isdigit() and parts[-2].startswith("altup"):
            kind = parts[-2]                       # an item of altup_(un)embed_projections
        elif isinstance(module, torch.nn.ModuleList):
            continue
        else:
            kind = parts[-1]
        if kind in patches.LORA_TARGETS:
            assert isinstance(module, bnb.nn.Linear4bit), name
        elif kind in patches.SENSITIVE_LEAF_NAMES or kind in ("altup_projections", "altup_unembed_projections"):
            assert type(module) is torch.nn.Linear and module.weight.dtype == dtype, (name, type(module))
        else:
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds == {"q_proj": 22, "k_proj": 20, "v_proj": 20, "o_proj": 22, "gate_proj": 22, "up_proj": 22,
                     "down_proj": 22, "modality_router": 22, "prediction_coefs": 22, "correction_coefs": 22,
                     "linear_left": 22, "linear_right": 22, "per_layer_input_gate": 22, "per_layer_projection": 22,
                     "per_layer_model_projection": 1, "altup_projections": 3, "altup_unembed_projections": 3,
                     "lm_head": 1}
    embeddings = [model.model.embed_tokens, model.model.embed_tokens_per_layer]
    assert all(type(e.weight) is torch.nn.Parameter and e.weight.dtype == dtype for e in embeddings)
    assert model.lm_head.weight is model.model.embed_tokens.weight  # tied, so never quantised separately
    assert not [n for n, _ in model.named_modules() if "vision" in n or "audio" in n]
    stored = load_file(str(tiny_model_dir / json.loads((tiny_model_dir / "model.safetensors.index.json").read_text())
                           ["weight_map"]["model.language_model.layers.3.laurel.linear_left.weight"]))
    assert torch.equal(model.model.layers[3].laurel.linear_left.weight,
                       stored["model.language_model.layers.3.laurel.linear_left.weight"].to(dtype))


def test_naming_parent_modules_leaves_altup_in_4bit_and_the_check_catches_it(tiny_model_dir):
    """docs/gemma3n_facts.md "4-bit loading": llm_int8_skip_modules matches leaf names, so ["altup", "laurel"]
    keeps nothing out."""
    from transformers import Gemma3nForCausalLM

    precision = device.choose_precision(False, False)
    config = model_loading.load_text_config(read_config(tiny_model_dir))
    with model_loading.quiet_transformers():
        model = Gemma3nForCausalLM.from_pretrained(
            str(tiny_model_dir), config=config, device_map={"": "cpu"}, dtype=torch.float32,
            quantization_config=model_loading.quantization_config(precision, ["altup", "laurel", "lm_head"]))
    with pytest.raises(RuntimeError, match="'modality_router' layers were quantised to 4-bit anyway"):
        patches.check_sensitive_layers_kept_out(model, patches.keep_sensitive_layers_out_of_4bit(config))


# ---- a full run: learning, outputs, retention -----------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(learnable_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("trained")
    write_dataset(root)
    argv = finetune_argv(root, learnable_model_dir, "--set", "eval_steps=10", "--max-steps", "40")
    return root, argv, main(argv)


def test_forty_steps_halve_the_train_loss_and_write_the_adapter(trained, learnable_model_dir, capsys):
    root, _, code = trained
    assert code == 0
    summary = json.loads((root / "output" / "training_summary.json").read_text())
    losses = [e["loss"] for e in json.loads((Path(summary["latest_checkpoint"]) / "trainer_state.json")
                                             .read_text())["log_history"] if "loss" in e]
    assert len(losses) == 40
    assert sum(losses[-4:]) / 4 <= 0.5 * sum(losses[:4]) / 4, losses
    assert summary["status"] == "finished" and summary["skipped_nonfinite_steps"] == []
    assert 0.0 < summary["padding_fraction"] < 0.5 and summary["tokens_per_second_median"] > 0

    adapter = root / "output" / "lora_adapter"
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"], set(config["target_modules"])) == (8, 16, set(patches.LORA_TARGETS))
    keys = adapter_tensors(adapter)
    assert len(keys) == 2 * (5 * 22 + 2 * 20) and all(".lora_A." in k or ".lora_B." in k for k in keys)
    record = json.loads((adapter / "base_model.json").read_text())
    assert record["fingerprint"] == checkpoint_fingerprint(learnable_model_dir)
    assert (adapter / "tokenizer.json").is_file() and (adapter / "training_settings.json").is_file()


def test_checkpoints_keep_the_two_best_and_the_latest_and_no_base_weights(trained):
    root, _, _ = trained
    checkpoints = root / "output" / "checkpoints"
    kept = sorted(int(p.name.split("-")[1]) for p in checkpoints.glob("checkpoint-*"))
    history = json.loads((checkpoints / "checkpoint-40" / "trainer_state.json").read_text())["log_history"]
    losses = eval_losses_by_step(history)
    assert sorted(losses) == [10, 20, 30, 40]
    lowest_two = sorted(losses, key=losses.get)[:2]
    assert kept == sorted({40, *lowest_two})
    assert 40 not in lowest_two, f"eval losses {losses}: the test data should make an older checkpoint the best"
    summary = json.loads((root / "output" / "training_summary.json").read_text())
    assert [b["step"] for b in summary["best_checkpoints"]] == lowest_two == best_checkpoints(losses, 2)
    for step in kept:
        files = {p.name for p in (checkpoints / f"checkpoint-{step}").iterdir()}
        assert {"adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth", "base_model.json"} <= files
        assert not any(name.startswith("model") and name.endswith(".safetensors") for name in files)


def test_tensorboard_gets_losses_throughput_and_sample_replies(trained):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root, _, _ = trained
    (run_dir,) = (root / "output" / "runs").iterdir()
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"train/loss", "eval/loss", "train/learning_rate", "train/grad_norm", "train/tokens_per_second",
            "train/padding_fraction"} <= scalars
    assert len(events.Scalars("train/loss")) == 40
    samples = [t for t in events.Tags()["tensors"] if t.startswith("samples/prompt_")]
    assert len(samples) == 3 and len(events.Tensors(samples[0])) == 4   # one per evaluation


def test_running_again_after_the_end_says_it_is_finished(trained, capsys):
    root, argv, _ = trained
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "This training run already finished" in out and "Next: run merge_lora.bat" in out


def test_changed_settings_need_resume_or_restart(trained, capsys):
    root, argv, _ = trained
    assert main(argv + ["--set", "learning_rate=1e-3"]) == 1
    err = capsys.readouterr().err
    assert (f"Error: Since the last training run in {root / 'output' / 'checkpoints'} these changed: "
            "learning_rate: 0.005 -> 0.001.\n") in err
    assert "What to do: Run finetune_gemma.bat --resume to continue from checkpoint-40 with the new values, " in err


def test_a_refused_resume_is_told_in_russian_with_language_ru(trained, capsys):
    root, argv, _ = trained
    assert main(argv + ["--set", "learning_rate=1e-3", "--set", "language=ru"]) == 1
    err = capsys.readouterr().err
    assert (f"Ошибка: С прошлого запуска обучения в {root / 'output' / 'checkpoints'} изменилось: "
            "learning_rate: 0.005 -> 0.001.\n") in err
    assert "Что сделать: Запустите finetune_gemma.bat --resume, чтобы продолжить с checkpoint-40 с новыми " in err


def test_the_plan_prints_in_russian_with_language_ru_and_its_machine_line_stays(tiny_model_dir, tmp_path, capsys):
    write_dataset(tmp_path)
    assert main(finetune_argv(tmp_path, tiny_model_dir, "--plan", "--set", "language=ru")) == 0
    out = capsys.readouterr().out
    assert "План обучения (пресет standard): примеров для обучения — 4," in out
    assert "Примеры для обучения: 4 (токенов: " in out and "Проверочные примеры: 3 (токенов: " in out
    assert f"Оценка видеопамяти для {tiny_model_dir.name}, пресет standard" in out
    assert "Ничего не загружено и не записано (--plan)." in out
    assert "Дальше: запустите finetune_gemma.bat" in out
    assert "plan: optimizer_steps=" in out                                  # read by tools: the same in every language
    for english in ("Training plan", "Estimated GPU memory", "examples per update", "Evaluation and a checkpoint",
                    "Nothing was loaded"):
        assert english not in out


def test_the_adapter_is_the_best_checkpoint_bit_for_bit_and_the_merge_uses_it(trained, learnable_model_dir):
    root, _, _ = trained
    summary = json.loads((root / "output" / "training_summary.json").read_text())
    best = summary["best_checkpoints"][0]
    assert best["step"] != summary["step"] == 40     # the test data makes an earlier checkpoint the best
    adapter = root / "output" / "lora_adapter"
    best_folder = Path(best["path"])
    for name in ("adapter_model.safetensors", "adapter_config.json"):
        assert (adapter / name).read_bytes() == (best_folder / name).read_bytes(), name
    last = root / "output" / "checkpoints" / "checkpoint-40" / "adapter_model.safetensors"
    assert last.read_bytes() != (adapter / "adapter_model.safetensors").read_bytes()
    assert summary["adapter"]["step"] == best["step"] and summary["adapter"]["source"] == str(best_folder)
    text = finetune.run_summary.describe_result(summary)
    assert f"The adapter is step {best['step']}'s: the lowest eval loss ({best['eval_loss']:.4g}) of 4 evaluations" in text
    assert "The last step's adapter stays in" in text

    # The follow-up merge (merge_lora.bat with no arguments) takes output/lora_adapter, i.e. the best checkpoint.
    assert main(["--root", str(root), "merge-lora", "--set", f"model_path={learnable_model_dir}"]) == 0
    record = json.loads((root / "output" / "merged_model" / "merged_from.json").read_text())
    assert record["adapter_dir"] == str(adapter)
    assert record["adapter_fingerprint"] == checkpoint_file_sha256(best_folder / "adapter_model.safetensors")


def checkpoint_file_sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_summary_names_the_last_step_when_it_is_the_best(trained):
    root, _, _ = trained
    summary = json.loads((root / "output" / "training_summary.json").read_text())
    at_the_end = {**summary, "adapter": {**summary["adapter"], "step": summary["step"]}}
    assert "The last step's adapter stays in" not in finetune.run_summary.describe_result(at_the_end)


def test_on_a_gpu_the_summary_puts_the_measured_peak_next_to_the_estimate(trained):
    root, _, _ = trained
    summary = json.loads((root / "output" / "training_summary.json").read_text())
    assert summary["gpu_memory_peak_bytes"] is None and summary["gpu_memory_estimate_bytes"] is None   # CPU
    assert "GPU memory" not in finetune.run_summary.describe_result(summary)
    on_a_gpu = {**summary, "gpu_memory_peak_bytes": int(5.2 * 1024**3), "gpu_memory_estimate_bytes": 5.06 * 1024**3}
    assert "GPU memory: peak 5.20 GB in tensors (the estimate was 5.06 GB)." in finetune.run_summary.describe_result(on_a_gpu)


def test_resuming_a_finished_run_with_new_data_is_refused_and_keeps_its_record(trained, tmp_path, capsys):
    """Without the check the Trainer would resume at step 40 of 40, train nothing and call the old adapter new."""
    root, argv, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(root / "data", copy / "data")
    shutil.copytree(root / "output" / "checkpoints", copy / "output" / "checkpoints")
    write_dataset(copy, train=TRAIN_PAIRS[::-1] + [("Ещё вопрос?", "Ещё ответ.")])
    record = (copy / "output" / "checkpoints" / resume.RUN_STATE_FILE).read_text()
    argv = [str(copy) if a == str(root) else a for a in argv]
    assert main(argv + ["--resume"]) == 1
    err = capsys.readouterr().err
    assert ("Error: The checkpoint to continue from is at step 40, and this run has 40 steps in all: there is "
            "nothing left to train.") in err
    assert "run finetune_gemma.bat --restart" in err
    assert (copy / "output" / "checkpoints" / resume.RUN_STATE_FILE).read_text() == record
    assert main(argv + ["--resume", "--max-steps", "42"]) == 0       # training it longer is still possible
    assert "Trained 42 steps" in capsys.readouterr().out
    assert (copy / "output" / "checkpoints" / "checkpoint-42").is_dir()


# ---- resume ------------------------------------------------------------------------------------------------------
class PressCtrlC(TrainerCallback):
    """Sends a real SIGINT while step `at` runs, as a user pressing Ctrl+C would."""

    def __init__(self, at: int):
        self.at = at

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step + 1 == self.at:
            signal.raise_signal(signal.SIGINT)


def test_ctrl_c_saves_and_the_resumed_run_equals_an_uninterrupted_one(tiny_model_dir, tmp_path, capsys):
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    for root in (straight, interrupted):
        write_dataset(root, train=TRAIN_PAIRS + TRAIN_PAIRS[:2])   # 6 examples: 3 steps per epoch, so 10 steps
    extra = ("--set", "eval_steps=100", "--max-steps", "10")       # cross epochs and the resume lands mid-epoch
    assert main(finetune_argv(straight, tiny_model_dir, *extra)) == 0

    assert run_with_callbacks(finetune_argv(interrupted, tiny_model_dir, *extra), [PressCtrlC(at=5)]) == 130
    out = capsys.readouterr().out
    assert "Stopped by Ctrl+C at step 5 of 10" in out
    assert [p.name for p in (interrupted / "output" / "checkpoints").glob("checkpoint-*")] == ["checkpoint-5"]
    assert not (interrupted / "output" / "lora_adapter").exists()

    assert main(finetune_argv(interrupted, tiny_model_dir, *extra)) == 0
    assert "Continuing the run" in capsys.readouterr().out
    expected = adapter_tensors(straight / "output" / "lora_adapter")
    resumed = adapter_tensors(interrupted / "output" / "lora_adapter")
    assert expected.keys() == resumed.keys()
    assert any(t.abs().max() > 0 for k, t in expected.items() if "lora_B" in k)   # it did train
    for key in expected:
        torch.testing.assert_close(resumed[key], expected[key], rtol=1e-5, atol=1e-7, msg=key)


# ---- non-finite guard ------------------------------------------------------------------------------------------
class InjectNaN(TrainerCallback):
    """Makes the logits NaN during the given steps (so loss and gradients are NaN) and snapshots the LoRA weights
    after every step."""

    def __init__(self, steps: set[int]):
        self.steps = steps
        self.armed = False
        self.weights: dict[int, dict[str, torch.Tensor]] = {}
        self.model = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.model = model
        model.get_base_model().lm_head.register_forward_hook(
            lambda module, inputs, output: output * float("nan") if self.armed else None)

    def on_step_begin(self, args, state, control, **kwargs):
        self.armed = state.global_step + 1 in self.steps

    def on_step_end(self, args, state, control, **kwargs):
        self.armed = False
        self.weights[state.global_step] = lora_weights(self.model)


def test_nan_steps_are_skipped_counted_and_a_streak_stops_the_run(tiny_model_dir, tmp_path):
    write_dataset(tmp_path)
    injector = InjectNaN({2, 5, 6, 7, 8, 9})
    argv = finetune_argv(tmp_path, tiny_model_dir, "--set", "eval_steps=4", "--max-steps", "20")
    with pytest.raises(UserError) as caught:
        run_with_callbacks(argv, [injector])
    checkpoints = tmp_path / "output" / "checkpoints"
    assert caught.value.message == (
        "Training stopped at step 9: the loss or the gradients were NaN or infinite 5 steps in a row (steps 5-9). "
        f"The last good checkpoint is {checkpoints / 'checkpoint-4'} (step 4).")
    assert "--resume" in caught.value.hint

    same = {step: all(torch.equal(injector.weights[step][k], injector.weights[step - 1][k])
                      for k in injector.weights[step]) for step in range(2, 10)}
    assert same == {2: True, 3: False, 4: False, 5: True, 6: True, 7: True, 8: True, 9: True}
    assert all(torch.isfinite(w).all() for w in injector.weights[9].values())
    summary = json.loads((tmp_path / "output" / "training_summary.json").read_text())
    assert summary["status"] == "stopped: not finite" and summary["skipped_nonfinite_steps"] == [2, 5, 6, 7, 8, 9]
    assert not (tmp_path / "output" / "lora_adapter").exists()

    # As the hint says: a lower learning rate and --resume. The new values must win over the checkpoint's.
    argv[argv.index("20")] = "12"
    assert main(argv + ["--resume", "--set", "learning_rate=1e-3", "--set", "weight_decay=0.05"]) == 0
    state = json.loads((checkpoints / "checkpoint-12" / "trainer_state.json").read_text())
    logged = {e["step"]: e["learning_rate"] for e in state["log_history"] if "learning_rate" in e}
    reference = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-3)
    schedule = get_cosine_schedule_with_warmup(reference, num_warmup_steps=max(1, round(12 * 0.05)),
                                               num_training_steps=12)
    expected = {}
    for step in range(1, 13):
        expected[step] = schedule.get_last_lr()[0]
        reference.step()
        schedule.step()
    assert [logged[s] for s in range(9, 13)] == pytest.approx([expected[s] for s in range(9, 13)], rel=1e-6)
    optimizer = torch.load(checkpoints / "checkpoint-12" / "optimizer.pt", weights_only=True)
    assert [g["weight_decay"] for g in optimizer["param_groups"]] == [0.05, 0.0]


# ---- errors the user can fix -------------------------------------------------------------------------------------
def test_missing_dataset_says_to_run_prepare_dataset(tiny_model_dir, tmp_path, capsys):
    assert main(finetune_argv(tmp_path, tiny_model_dir)) == 1
    assert capsys.readouterr().err == (
        f"Error: {tmp_path / 'data' / 'train_dataset.jsonl'} does not exist.\n"
        "What to do: Run prepare_dataset.bat first: it turns your chat exports into the training files.\n")


class RaiseOutOfMemory(TrainerCallback):
    """Raises torch's real CUDA out-of-memory error in the forward of the given step, as a full GPU would."""

    def __init__(self, step: int):
        self.step, self.armed = step, False

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        def fail(module, inputs, output):
            if self.armed:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        model.get_base_model().lm_head.register_forward_hook(fail)

    def on_step_begin(self, args, state, control, **kwargs):
        self.armed = state.global_step + 1 == self.step


def test_running_out_of_gpu_memory_mid_training_is_a_plain_message_with_the_checkpoint_to_resume(
        tiny_model_dir, tmp_path):
    write_dataset(tmp_path)
    argv = finetune_argv(tmp_path, tiny_model_dir, "--set", "eval_steps=2", "--max-steps", "6")
    with pytest.raises(UserError) as caught:
        run_with_callbacks(argv, [RaiseOutOfMemory(step=4)])
    assert caught.value.message == "The GPU ran out of memory while training (at step 3)."
    assert caught.value.hint.startswith("Close programs that use the GPU")
    assert "--preset quick" in caught.value.hint
    assert caught.value.hint.endswith("finetune_gemma.bat --resume continues from checkpoint-2.")
