"""Issue 16, end to end on the tiny model: the printed plan is what the Trainer runs, `--plan` loads and writes
nothing, each reply is learned once, sample prompts are cut at turn boundaries, and a checkpoint that cannot be
deleted (Windows: Explorer, an antivirus) never ends training."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from transformers import AutoTokenizer

from gemma_kit.cli import main
from gemma_kit.training import callbacks, collate
from gemma_kit.training.callbacks import eval_losses_by_step

from test_finetune import TRAIN_PAIRS, finetune_argv, one_torch_thread, write_dataset  # noqa: F401 (fixture)

NINE_PAIRS = TRAIN_PAIRS + [(f"Question {i}?", f"Answer {i}.") for i in range(5)]
# 9 examples, 1 per batch, 2 accumulated: 5 updates a pass (the last one of 1 example); quick makes 1 pass, raised
# to its cap of 3 for so small a dataset: 15 updates, evaluated every 2 (ceil(15 / 10)) and at the end: 8.
PLANNED = ["--set", "preset=quick", "--set", "batch_size=1", "--set", "gradient_accumulation_steps=0",
           "--set", "effective_batch_size=2"]


def test_the_printed_plan_is_what_the_trainer_runs(tiny_model_dir, tmp_path, capsys):
    write_dataset(tmp_path, train=NINE_PAIRS)
    assert main(finetune_argv(tmp_path, tiny_model_dir, *PLANNED)) == 0
    out = capsys.readouterr().out
    assert "plan: optimizer_steps=15 evaluations=8 effective_batch=2 epochs=3\n" in out
    assert "Small dataset: 5 updates would barely change the model, so it makes 3 passes instead of 1" in out
    state = json.loads((tmp_path / "output" / "checkpoints" / "checkpoint-15" / "trainer_state.json").read_text())
    assert state["max_steps"] == 15 and state["global_step"] == 15
    assert sorted(eval_losses_by_step(state["log_history"])) == [2, 4, 6, 8, 10, 12, 14, 15]
    summary = json.loads((tmp_path / "output" / "training_summary.json").read_text())
    assert summary["schedule"]["optimizer_steps"] == 15 and summary["schedule"]["evaluations"] == 8


def test_plan_flag_loads_no_model_and_writes_nothing(tiny_model_dir, tmp_path):
    write_dataset(tmp_path, train=NINE_PAIRS)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    argv = finetune_argv(tmp_path, tiny_model_dir, *PLANNED, "--plan")
    probe = ("import sys; from gemma_kit.cli import main; code = main(sys.argv[1:]); "
             "loaded = sorted(m for m in sys.modules if m.startswith(('transformers.models.gemma3n.modeling', "
             "'bitsandbytes', 'peft'))); print('LOADED', loaded); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "GEMMA_KIT_NO_PROGRESS": "1"}, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert "plan: optimizer_steps=15 evaluations=8 effective_batch=2 epochs=3\n" in done.stdout
    assert "9 training examples" in done.stdout and "Nothing was loaded or written (--plan)." in done.stdout
    assert "LOADED []" in done.stdout
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def write_openai_chats(folder: Path, dialogs: int, exchanges: int) -> list[str]:
    """Long conversations whose every reply is unique; returns the replies."""
    folder.mkdir(parents=True, exist_ok=True)
    replies, lines = [], []
    for d in range(dialogs):
        messages = []
        for e in range(exchanges):
            reply = f"reply {e} of dialog {d}, ok"
            messages += [{"role": "user", "content": f"message {e} of dialog {d}?"},
                         {"role": "assistant", "content": reply}]
            replies.append(reply)
        lines.append(json.dumps({"messages": messages}))
    (folder / "chats.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return replies


def test_in_conversational_mode_each_reply_is_in_the_loss_exactly_once(tiny_model_dir, tmp_path):
    replies = write_openai_chats(tmp_path / "dataset", dialogs=6, exchanges=7)
    assert main(["--root", str(tmp_path), "prepare-dataset", "--set", "data_mode=conversational",
                 "--set", "window_size=8", "--set", "eval_fraction=0.2", "--set", f"model_path={tiny_model_dir}"]) == 0
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    learned, labelled, expected_tokens, context_replies = Counter(), 0, 0, 0
    for name in ("train_dataset.jsonl", "eval_dataset.jsonl"):
        path = tmp_path / "data" / name
        conversations = collate.read_conversations(path)
        data = collate.prepare_examples(tokenizer, conversations, 4096, path)
        for conversation, example in zip(conversations, data.examples):
            ids = [t for t in example["labels"] if t != collate.IGNORE_INDEX]
            learned[tokenizer.decode(ids)] += 1
            last = conversation.messages[-1]["content"]
            expected_tokens += len(tokenizer(last + "<end_of_turn>", add_special_tokens=False)["input_ids"])
            context_replies += sum(m["role"] == "assistant" for m in conversation.messages[:-1])
        labelled += data.trained_tokens
    assert learned == Counter(reply + "<end_of_turn>" for reply in replies)   # every reply, each once
    assert labelled == expected_tokens
    assert context_replies > len(replies)   # the windows do carry earlier replies, as context only


def test_sample_prompts_are_cut_at_a_turn_boundary_keeping_bos_and_markers(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    messages = [{"role": "system", "content": "Be brief."}]
    for i in range(8):
        messages += [{"role": "user", "content": f"Question number {i}, asked at some length to take room?"},
                     {"role": "assistant", "content": f"Answer number {i}, also long enough to matter."}]
    full = collate.fit_prompt(tokenizer, messages[:-1], 10_000)
    limit = len(full) // 2
    (cut,) = collate.sample_prompt_ids(tokenizer, [collate.TrainingDialog(1, tuple(messages))], 3, limit)
    text = tokenizer.decode(cut)
    assert len(cut) <= limit < len(full)
    assert text.startswith("<bos><start_of_turn>user\nBe brief.\n\nQuestion number ")
    assert text.endswith("Question number 7, asked at some length to take room?<end_of_turn>\n<start_of_turn>model\n")
    assert text.count("<start_of_turn>") == text.count("<end_of_turn>") + 1   # only the reply's turn is open
    assert "Question number 0," not in text
    # A last message too long on its own is left out instead of being cut mid-turn.
    assert collate.sample_prompt_ids(tokenizer, [collate.TrainingDialog(1, tuple(messages))], 3, 8) == []


def test_a_checkpoint_that_cannot_be_deleted_leaves_training_running(tiny_model_dir, tmp_path, capsys, monkeypatch):
    held = tmp_path / "output" / "checkpoints" / "checkpoint-1"
    real_rmtree = callbacks.shutil.rmtree
    attempts = []

    def rmtree_as_on_windows(path, *args, **kwargs):
        if Path(path) == held:   # what Windows says while Explorer or an antivirus holds a file inside
            attempts.append(path)
            raise PermissionError(13, "The process cannot access the file because it is being used by another "
                                      "process", str(held / "optimizer.pt"))
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(callbacks.shutil, "rmtree", rmtree_as_on_windows)
    monkeypatch.setattr(callbacks.ManageBestCheckpointsCallback, "RETRY_PAUSE_SECONDS", 0.01)
    write_dataset(tmp_path)
    argv = finetune_argv(tmp_path, tiny_model_dir, "--set", "eval_steps=1", "--max-steps", "4",
                         "--set", "keep_best_checkpoints=0")
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err.count(f"could not delete the old checkpoint {held}") == 1   # said once, retried quietly
    assert "Training goes on; the next save tries again" in captured.err
    assert f"these old checkpoints could not be deleted and take disk space; delete them when no program uses them: " \
           f"{held}" in captured.err
    assert len(attempts) == 3 * 3   # 3 tries at each of the saves at steps 2, 3 and 4
    kept = sorted(p.name for p in held.parent.glob("checkpoint-*"))
    assert kept == ["checkpoint-1", "checkpoint-4"]   # 2 and 3 went as planned
    assert (tmp_path / "output" / "lora_adapter" / "adapter_model.safetensors").is_file()


def test_a_folder_released_later_is_deleted_at_the_next_save(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoint-3"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "optimizer.pt").write_bytes(b"x")
    real_rmtree, calls = callbacks.shutil.rmtree, []

    def busy_twice(path, *args, **kwargs):
        calls.append(path)
        if len(calls) <= 2:
            raise PermissionError(13, "Access is denied", str(path))
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(callbacks.shutil, "rmtree", busy_twice)
    assert callbacks.remove_folder(folder, tries=2, pause=0) == "Access is denied"
    assert folder.exists()
    assert callbacks.remove_folder(folder, tries=2, pause=0) is None
    assert not folder.exists() and len(calls) == 3


def test_a_damaged_checkpoint_is_named_before_resuming_and_restart_deletes_only_after_the_checks(
        tiny_model_dir, tmp_path, capsys):
    write_dataset(tmp_path)
    argv = finetune_argv(tmp_path, tiny_model_dir, "--set", "eval_steps=1", "--max-steps", "2")
    assert main(argv) == 0
    latest = tmp_path / "output" / "checkpoints" / "checkpoint-2"
    (latest / "rng_state.pth").write_bytes(b"not a torch file")
    capsys.readouterr()
    assert main(argv[:-1] + ["4", "--resume"]) == 1
    err = capsys.readouterr().err
    assert f"Error: The checkpoint {latest} is damaged: rng_state.pth" in err
    assert "weights_only" not in err and "Traceback" not in err
    # --restart refused by a later check (here: a base model folder that is not there) deletes nothing.
    before = sorted(p.name for p in latest.parent.iterdir())
    assert main(argv + ["--restart", "--base", str(tmp_path / "no-such-model")]) == 1
    assert sorted(p.name for p in latest.parent.iterdir()) == before


def test_a_run_stopped_after_its_last_update_writes_its_adapter_on_the_next_start(tiny_model_dir, tmp_path, capsys):
    """Ctrl+C during the final evaluation or save, or an adapter folder Explorer held: the checkpoint is at the
    last step but the run never wrote its adapter. Running again must write it, not send the user to --restart."""
    write_dataset(tmp_path)
    argv = finetune_argv(tmp_path, tiny_model_dir, "--set", "eval_steps=1", "--max-steps", "2")
    assert main(argv) == 0
    checkpoints = tmp_path / "output" / "checkpoints"
    state = json.loads((checkpoints / "run_state.json").read_text())
    state["finished_step"] = None
    (checkpoints / "run_state.json").write_text(json.dumps(state))
    adapter = tmp_path / "output" / "lora_adapter"
    expected = (adapter / "adapter_model.safetensors").read_bytes()
    import shutil
    shutil.rmtree(adapter)
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "The checkpoint is at the run's last step (2): nothing left to train; writing the adapter." in out
    assert (adapter / "adapter_model.safetensors").read_bytes() == expected
    assert json.loads((checkpoints / "run_state.json").read_text())["finished_step"] == 2


def test_a_changed_plan_needs_resume_or_restart(tiny_model_dir, tmp_path, capsys):
    write_dataset(tmp_path, train=NINE_PAIRS)
    extra = (*PLANNED, "--set", "eval_steps=100", "--max-steps", "3")
    assert main(finetune_argv(tmp_path, tiny_model_dir, *extra)) == 0
    capsys.readouterr()
    # Same settings but a longer plan (max_steps is a setting: caught as one); a plan change the settings do not show:
    checkpoints = tmp_path / "output" / "checkpoints"
    state = json.loads((checkpoints / "run_state.json").read_text())
    assert state["plan"] == {"optimizer_steps": 3, "effective_batch": 2, "epochs": 1, "eval_every": 3,
                             "warmup_steps": 1}
    state["plan"]["eval_every"] = 2          # as if the kit's rules had planned it differently
    state["finished_step"] = None
    (checkpoints / "run_state.json").write_text(json.dumps(state))
    assert main(finetune_argv(tmp_path, tiny_model_dir, *extra)) == 1
    err = capsys.readouterr().err
    assert "its plan changed: updates between evaluations: 2 -> 3." in err and "--resume" in err


def test_a_file_of_whole_dialogs_learns_every_reply(tiny_model_dir, tmp_path):
    """Not written by prepare-dataset: one line per conversation. No other example ends with its earlier replies,
    so they are learned here (each once)."""
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    replies = ["First answer.", "Second answer.", "Third answer."]
    messages = []
    for i, reply in enumerate(replies):
        messages += [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": reply}]
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"messages": messages}) + "\n", encoding="utf-8")
    data = collate.prepare_examples(tokenizer, collate.read_conversations(path), 4096, path)
    (example,) = data.examples
    learned = tokenizer.decode([t for t in example["labels"] if t != collate.IGNORE_INDEX])
    assert learned == "".join(r + "<end_of_turn>" for r in replies)


def test_the_adapter_is_chosen_among_whole_kept_checkpoints_and_says_so(tmp_path):
    from gemma_kit.training.summary import choose_adapter

    def checkpoint(step, complete=True):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "trainer_state.json").write_text("{}")
        (folder / "adapter_model.safetensors").write_bytes(b"w")
        if complete:
            (folder / "adapter_config.json").write_text("{}")
        return folder

    losses = {10: 1.0, 20: 0.8, 30: 0.9, 40: 1.1}
    checkpoint(30), checkpoint(40)
    held = checkpoint(20, complete=False)       # half deleted: Windows held its weights, its config went first
    chosen = choose_adapter(tmp_path, losses, 40)
    assert chosen.step == 30 and chosen.source == tmp_path / "checkpoint-30"
    assert chosen.reason == ("the lowest eval loss among the kept checkpoints (0.9); the lowest of all 4 evaluations, "
                             "0.8 at step 20, was not kept (keep_best_checkpoints)")
    (held / "adapter_config.json").write_text("{}")   # whole again, but retention failed to delete it: no choice
    assert choose_adapter(tmp_path, losses, 40, exclude={held}).step == 30
    assert choose_adapter(tmp_path, losses, 40).step == 20
    assert "training further made it worse" in choose_adapter(tmp_path, losses, 40).reason


def test_evaluation_reads_an_evenly_spread_subset():
    data = collate.PreparedData([{"input_ids": [i], "labels": [i, -100]} for i in range(1000)], 3, [7], 1000)
    subset = collate.spread_subset(data, 4)
    assert [e["input_ids"][0] for e in subset.examples] == [0, 250, 500, 750]
    assert (subset.trained_tokens, subset.truncated, subset.dropped_lines) == (4, 3, [7])
    assert collate.spread_subset(data, 2000) is data


def test_tensorboard_shows_a_long_prompt_from_a_turn_marker():
    turns = "".join(f"<start_of_turn>user\nmessage {i} {'x' * 80}<end_of_turn>\n" for i in range(40))
    text = "<bos>" + turns + "<start_of_turn>model\n"
    shown = callbacks.shown_prompt(text, limit=400)
    assert shown.startswith("<bos>[...]\n<start_of_turn>user\nmessage ") and shown.endswith("<start_of_turn>model\n")
    assert len(shown) <= 400 + len("<bos>[...]\n") and callbacks.shown_prompt("<bos>short") == "<bos>short"
