"""The finetune step's decisions as pure functions: device and precision, which checkpoints to delete, when to
resume, what a data line may look like, what the checkpoint leaves out, how batches are padded."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from gemma_kit.core.adapter_folders import latest_checkpoint, list_checkpoints
from gemma_kit.core.console import UserError
from gemma_kit.core.model_files import TensorInfo
from gemma_kit.core.settings import Settings
from gemma_kit.training import collate, device, model_loading, resume
from gemma_kit.training.callbacks import best_checkpoints, checkpoints_to_delete, eval_losses_by_step


# ---- device and precision ------------------------------------------------------------------------------------
def test_bf16_gpu_trains_in_bf16_with_paged_adamw():
    precision = device.choose_precision(cuda_available=True, bf16_supported=True)
    assert (precision.compute_dtype, precision.weights_dtype, precision.autocast_bf16) == ("bfloat16", "bfloat16", True)
    assert device.choose_optimizer(cuda_available=True) == "paged_adamw_32bit"
    assert device.choose_device(cuda_available=True) == "cuda"


def test_gpu_without_bf16_uses_float32_never_float16():
    precision = device.choose_precision(cuda_available=True, bf16_supported=False)
    assert (precision.compute_dtype, precision.weights_dtype, precision.autocast_bf16) == ("float32", "float32", False)
    assert "float16" in precision.note and "65,504" in precision.note
    assert device.choose_optimizer(cuda_available=True) == "paged_adamw_32bit"


def test_cpu_uses_float32_and_plain_adamw():
    precision = device.choose_precision(cuda_available=False, bf16_supported=False)
    assert (precision.compute_dtype, precision.weights_dtype, precision.autocast_bf16) == ("float32", "float32", False)
    assert device.choose_precision(cuda_available=False, bf16_supported=True) == precision  # no GPU: flag irrelevant
    assert device.choose_optimizer(cuda_available=False) == "adamw_torch"
    assert device.choose_device(cuda_available=False) == "cpu"


def test_no_choice_ever_computes_in_float16():
    for cuda in (True, False):
        for bf16 in (True, False):
            precision = device.choose_precision(cuda, bf16)
            assert "float16" not in (precision.compute_dtype, precision.weights_dtype)


def test_describe_machine_names_the_gpu_and_its_bf16():
    gpu = device.Machine(cuda_available=True, bf16_supported=False, gpu_name="Tesla T4",
                         gpu_memory_bytes=15 * 1024 ** 3)
    assert device.describe_machine(gpu) == "GPU Tesla T4, 15.0 GB, no bf16"
    assert device.describe_machine(device.Machine(cuda_available=False)) == "CPU (no CUDA GPU found)"


# ---- checkpoint retention ----------------------------------------------------------------------------------------
def test_keeps_the_two_lowest_eval_losses_and_the_latest():
    losses = {10: 2.0, 20: 1.5, 30: 1.7, 40: 1.6, 50: 1.9}
    assert best_checkpoints(losses, 2) == [20, 40]
    assert checkpoints_to_delete(losses, 2) == [10, 30]


def test_latest_among_the_best_leaves_two_checkpoints():
    assert checkpoints_to_delete({10: 3.0, 20: 2.0, 30: 1.0}, 2) == [10]


def test_checkpoint_without_eval_loss_survives_only_as_the_latest():
    # step 37 was saved by Ctrl+C (no evaluation); once step 50 exists it is just an old checkpoint
    assert checkpoints_to_delete({10: 2.0, 20: 1.0, 37: None}, 2) == []
    assert checkpoints_to_delete({10: 2.0, 20: 1.0, 37: None, 50: 1.5}, 2) == [10, 37]


def test_non_finite_eval_loss_never_counts_as_best():
    assert best_checkpoints({10: float("nan"), 20: 2.0, 30: float("inf"), 40: 3.0}, 2) == [20, 40]
    assert checkpoints_to_delete({10: float("nan"), 20: 2.0, 30: float("inf"), 40: 3.0, 50: 4.0}, 2) == [10, 30]


def test_ties_keep_the_earlier_checkpoint_and_zero_best_keeps_only_the_latest():
    assert best_checkpoints({10: 1.0, 20: 1.0, 30: 1.0}, 1) == [10]
    assert checkpoints_to_delete({10: 1.0, 20: 0.5, 30: 2.0}, 0) == [10, 20]
    assert checkpoints_to_delete({}, 2) == []


def test_eval_losses_are_read_from_the_trainer_log_history():
    history = [{"step": 1, "loss": 5.0}, {"step": 2, "eval_loss": 4.0}, {"step": 4, "eval_loss": 3.5, "epoch": 1}]
    assert eval_losses_by_step(history) == {2: 4.0, 4: 3.5}


# ---- resume decisions ----------------------------------------------------------------------------------------------
def run_record(**settings_changes) -> dict:
    settings = {key: getattr(Settings(), key) for key in resume.TRAINING_SETTINGS}
    settings.update(settings_changes)
    return {"run_name": "run-a", "settings": settings, "train_data": "t1", "eval_data": "e1", "base_model": "b1",
            "finished_step": None}


LATEST = Path("/proj/output/checkpoints/checkpoint-50")


def test_no_checkpoint_or_restart_starts_fresh():
    current = run_record()
    assert resume.plan_start(None, current, None, restart=False, resume=False).action == "fresh"
    assert resume.plan_start(run_record(), current, LATEST, restart=True, resume=False).action == "fresh"


def test_unchanged_run_resumes_from_the_latest_checkpoint_with_its_run_name():
    current = dict(run_record(), run_name="run-b")
    plan = resume.plan_start(run_record(), current, LATEST, restart=False, resume=False)
    assert (plan.action, plan.checkpoint, plan.run_name, plan.changes) == ("resume", LATEST, "run-a", ())


def test_changed_setting_or_data_needs_a_choice():
    current = dict(run_record(learning_rate=1e-4), train_data="t2")
    with pytest.raises(UserError) as caught:
        resume.plan_start(run_record(), current, LATEST, restart=False, resume=False)
    assert caught.value.message == ("Since the last training run in /proj/output/checkpoints these changed: "
                                    "learning_rate: 0.0002 -> 0.0001; the training data (data/train_dataset.jsonl) "
                                    "changed.")
    assert caught.value.hint.startswith("Run finetune_gemma.bat --resume to continue from checkpoint-50")
    plan = resume.plan_start(run_record(), current, LATEST, restart=False, resume=True)
    assert plan.action == "resume" and [c.key for c in plan.changes] == ["learning_rate", "train_data"]


def test_other_rank_or_base_model_allows_only_restart():
    for current in (run_record(lora_rank=16), dict(run_record(), base_model="b2")):
        with pytest.raises(UserError) as caught:
            resume.plan_start(run_record(), current, LATEST, restart=False, resume=True)
        assert "cannot continue with this run" in caught.value.message and "--restart" in caught.value.hint


def test_finished_run_is_reported_not_retrained_unless_something_changed():
    recorded = dict(run_record(), finished_step=50)
    assert resume.plan_start(recorded, run_record(), LATEST, restart=False, resume=False).action == "finished"
    more = run_record(max_steps=100)
    assert resume.plan_start(recorded, more, LATEST, restart=False, resume=True).action == "resume"


def test_checkpoints_without_a_record_need_resume():
    with pytest.raises(UserError, match="holds checkpoints but no record"):
        resume.plan_start(None, run_record(), LATEST, restart=False, resume=False)
    assert resume.plan_start(None, run_record(), LATEST, restart=False, resume=True).action == "resume"


def test_incomplete_checkpoints_are_not_resumed_from(tmp_path):
    # checkpoint-30: cut short before the Trainer wrote its state (last); 40: the adapter is missing.
    for step, files in ((10, ("trainer_state.json", "adapter_model.safetensors")),
                        (20, ("trainer_state.json", "adapter_model.safetensors")),
                        (30, ("adapter_model.safetensors",)), (40, ("trainer_state.json",))):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        for name in files:
            (folder / name).write_text("{}")
    (tmp_path / "checkpoint-x").mkdir()
    assert sorted(list_checkpoints(tmp_path)) == [10, 20]
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoint-20"
    assert latest_checkpoint(tmp_path / "missing") is None


# ---- data lines ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("record, problem", [
    ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}, None),
    ({"text": "hi"}, 'it has no "messages" list'),
    ({"messages": []}, '"messages" is empty'),
    ({"messages": [{"role": "bot", "content": "hi"}]}, 'message 1 has no role "system", "user" or "assistant"'),
    ({"messages": [{"role": "user", "content": ["hi"]}]}, 'message 1 has no text "content"'),
    ({"messages": [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "hey"}]},
     "the last message is not an assistant reply, so there is nothing to learn from it"),
])
def test_problem_with_record(record, problem):
    assert collate.problem_with_record(record) == problem


def test_a_bad_line_is_named_with_its_file_and_number(tmp_path):
    path = tmp_path / "train_dataset.jsonl"
    good = json.dumps({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})
    path.write_text(good + "\n\n" + '{"messages": [}\n', encoding="utf-8")
    with pytest.raises(UserError) as caught:
        collate.read_conversations(path)
    assert caught.value.message.startswith(f"{path}, line 3: not valid JSON (")
    path.write_text(good + "\n", encoding="utf-8")
    assert [c.line for c in collate.read_conversations(path)] == [1]


# ---- what the text model leaves out ------------------------------------------------------------------------------
def test_left_out_groups_count_tensors_and_parameters():
    def info(name, *shape):
        return TensorInfo(name, "BF16", shape, Path("x"), 0, 0)

    tensors = {t.name: t for t in [
        info("model.language_model.layers.0.self_attn.k_proj.weight", 4, 8),
        info("model.language_model.layers.20.self_attn.k_proj.weight", 4, 8),
        info("model.language_model.layers.21.self_attn.v_proj.weight", 4, 8),
        info("model.language_model.layers.21.self_attn.k_norm.weight", 4),
        info("model.language_model.layers.21.self_attn.q_proj.weight", 8, 8),
        info("model.vision_tower.timm_model.conv_stem.conv.weight", 16, 3, 3, 3),
        info("model.audio_tower.conformer.0.attention.attn.q_proj.weight", 32, 32),
        info("model.embed_vision.embedding.weight", 10, 32),
    ]}
    groups = model_loading.summarize_left_out(tensors, {"num_hidden_layers": 22, "num_kv_shared_layers": 2})
    assert groups == {"unused k/v of the KV-shared layers": (3, 68), "vision tower": (1, 432),
                      "audio tower": (1, 1024), "vision embedder": (1, 320)}
    assert model_loading.describe_left_out(groups).startswith(
        "Left out of memory (not needed to train the text model): unused k/v of the KV-shared layers (3 tensors")


# ---- batches -------------------------------------------------------------------------------------------------------
def test_collator_pads_right_and_counts_padding_of_training_batches_only():
    collator = collate.PaddingCollator(pad_token_id=0)
    batch = collator([{"input_ids": [5, 6, 7], "labels": [-100, 6, 7]}, {"input_ids": [8], "labels": [8]}])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert (collator.real_tokens, collator.padding_tokens) == (4, 2)
    collator([{"input_ids": [1, 2, 3, 4], "labels": [1, 2, 3, 4], collate.EVAL_MARK: True},
              {"input_ids": [1], "labels": [1], collate.EVAL_MARK: True}])
    assert collator.padding_fraction == pytest.approx(2 / 6)


# ---- the step's own settings checks --------------------------------------------------------------------------------
def test_a_max_steps_flag_out_of_range_is_named_like_a_setting():
    from argparse import Namespace

    from gemma_kit.steps.finetune import apply_flags

    assert apply_flags(Settings(), Namespace(max_steps=5)).max_steps == 5
    with pytest.raises(UserError) as caught:
        apply_flags(Settings(), Namespace(max_steps=0))
    assert caught.value.message == ("Problems in the settings:\n"
                                    "  --max-steps: 'max_steps' must be -1 (use num_epochs) or 1 or more, not 0")


def test_flags_override_the_folders_the_base_model_and_max_steps():
    from argparse import Namespace

    from gemma_kit.steps.finetune import apply_flags

    settings = Settings(root=Path("/proj"))
    changed = apply_flags(settings, Namespace(input="other_data", output="/elsewhere", base="models/mine",
                                              max_steps=7))
    assert changed.train_file == Path("/proj/other_data/train_dataset.jsonl")
    assert changed.adapter_dir == Path("/elsewhere/lora_adapter")
    assert changed.model_dir == Path("/proj/models/mine") and changed.max_steps == 7
    assert apply_flags(settings, Namespace()) is settings


def test_one_gpu_whatever_the_machine_has(tmp_path, monkeypatch):
    """The Trainer must not multiply the batch by the number of GPUs (a 4-bit model stays on one)."""
    import torch
    import transformers

    from gemma_kit.core.settings import load_settings
    from gemma_kit.training.device import Machine, choose_precision
    from gemma_kit.training.schedule import plan_schedule
    from gemma_kit.training.trainer import training_arguments

    def four_gpus(self):  # what the Trainer's device setup (run once, then cached) finds on a 4-GPU computer
        if not hasattr(self, "_n_gpu"):
            self._n_gpu = 4
        return torch.device("cpu")

    # On this CPU-only machine the real setup finds no GPU, and the test would pass without the fix.
    monkeypatch.setattr(transformers.TrainingArguments, "_setup_devices", property(four_gpus))
    settings = load_settings(tmp_path)
    # (A bf16 GPU cannot be described here: TrainingArguments(bf16=True) checks for one.)
    for machine in (Machine(cuda_available=True, bf16_supported=False), Machine(cuda_available=False)):
        args = training_arguments(settings, plan_schedule(settings, 100), machine,
                                  choose_precision(machine.cuda_available, machine.bf16_supported))
        assert args.n_gpu == 1 and args.train_batch_size == settings.batch_size
