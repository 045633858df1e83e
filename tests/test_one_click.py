"""finetune's follow-up: merge and convert right after training (issue 9, "one click from data to GGUF")."""
import json

import torch

from gemma_kit.cli import main


def write_tiny_dataset(root):
    data = root / "data"
    data.mkdir(parents=True)
    line = {"messages": [{"role": "user", "content": "Привет!"}, {"role": "assistant", "content": "Hi there."}]}
    for name in ("train_dataset.jsonl", "eval_dataset.jsonl"):
        (data / name).write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")


def finetune(root, model_dir, after, report_examples=0):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny model gains nothing from threads on a busy 2-core machine
    try:
        return main(["--root", str(root), "finetune", "--max-steps", "2", "--set", f"model_path={model_dir}",
                     "--set", "max_seq_length=64", "--set", "gradient_accumulation_steps=1",
                     "--set", f"after_training={after}", "--set", "eval_steps=2",
                     "--set", f"report_examples={report_examples}", "--set", "report_max_new_tokens=8"])
    finally:
        torch.set_num_threads(threads)


def test_training_then_merge_and_convert_without_asking(tiny_model_dir, tmp_path, capsys):
    write_tiny_dataset(tmp_path)
    assert finetune(tmp_path, tiny_model_dir, "merge_and_convert", report_examples=1) == 0
    out = capsys.readouterr().out
    assert "===== report: before / after =====" in out and (tmp_path / "output" / "report.html").exists()
    assert "===== merge-lora =====" in out and "===== convert-gguf =====" in out
    assert (tmp_path / "output" / "merged_model" / "config.json").exists()
    assert (tmp_path / "output" / "finetuned_gemma.gguf").stat().st_size > 1_000_000
    assert out.rstrip().endswith("Next: run install_to_lmstudio.bat  (or: gemma-kit install-lmstudio)")


def test_without_a_terminal_the_question_takes_its_default_and_says_so(tiny_model_dir, tmp_path, capsys,
                                                                        monkeypatch):
    monkeypatch.setattr("sys.stdin", open("/dev/null"))
    write_tiny_dataset(tmp_path)
    assert finetune(tmp_path, tiny_model_dir, "ask") == 0
    out = capsys.readouterr().out
    assert "Merge the adapter and convert to GGUF now? -> using the default 'yes' (no terminal to ask)." in out
    assert (tmp_path / "output" / "finetuned_gemma.gguf").exists()


def test_stop_leaves_merging_to_the_next_bat(tiny_model_dir, tmp_path, capsys):
    write_tiny_dataset(tmp_path)
    assert finetune(tmp_path, tiny_model_dir, "stop") == 0
    assert capsys.readouterr().out.rstrip().endswith("Next: run merge_lora.bat  (or: gemma-kit merge-lora)")
    assert not (tmp_path / "output" / "merged_model").exists()


def test_the_trained_model_is_released_before_the_follow_up_loads_its_own(tiny_model_dir, tmp_path, monkeypatch):
    """On a GPU, report / merge / convert after training would otherwise share the GPU with the trained model."""
    import gc
    import weakref

    import bitsandbytes.backends.cpu.ops  # noqa: F401
    # ^ imported here, not inside build_model: on a CPU with AVX512-BF16 it logs an exception object, whose
    #   traceback would pin build_model's frame (and the model) in pytest's log capture. Only tests keep log records.
    from gemma_kit import pipeline
    from gemma_kit.steps import finetune as step

    models, alive_at_follow_up = [], []
    build_model, follow_up = step.build_model, pipeline.after_training

    def build_and_remember(*args, **kwargs):
        model = build_model(*args, **kwargs)
        models.append(weakref.ref(model))
        return model

    def follow_up_after_checking(settings):
        gc.collect()
        alive_at_follow_up.append(models[0]() is not None)
        return follow_up(settings)

    monkeypatch.setattr(step, "build_model", build_and_remember)
    monkeypatch.setattr(pipeline, "after_training", follow_up_after_checking)
    write_tiny_dataset(tmp_path)
    assert finetune(tmp_path, tiny_model_dir, "stop") == 0
    assert alive_at_follow_up == [False]
