"""Benchmark the finetune step against a plain transformers + peft QLoRA recipe on the same data.

Both train a LoRA (r=8, alpha=16, q/k/v/o/gate/up/down) on a random-weight tiny Gemma 3n from the test-model
factory, 4-bit NF4 with double quantisation, float32 compute (what our step picks on a CPU), activation
checkpointing, batch 4, the same conversations of mixed length. What differs is what the step adds:
- ours: the finetune step itself (`finetune.run`): text model with altup/laurel/per-layer kept out of 4-bit,
  assistant-only loss, length-grouped batches, our callbacks (non-finite guard, metrics, retention, samples);
- plain: `prepare_model_for_kbit_training` + `get_peft_model` + `Trainer` with the default random sampler and
  `DataCollatorForLanguageModeling` (loss on every token). Plain 4-bit with only `lm_head` kept out cannot
  train Gemma 3n at all (altup's in-place clamp on packed 4-bit bytes; checked below), so the plain recipe
  keeps the two altup coefficient layers out of 4-bit, the least that runs.

Each variant runs in its own process (peak RSS from os.wait4), interleaved, after a warm-up round; training
throughput counts real (non-padding) input tokens over the time spent inside optimizer steps (loading, data
preparation and evaluation excluded), and the best round of each is compared. One torch thread each: on this
shared 2-core machine, two threads made single steps up to 30x slower (dev_log 2026-11-22).

    .venv/bin/python bench/bench_finetune.py [--steps 15] [--rounds 2] [--batch 4]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LORA = dict(r=8, lora_alpha=16, lora_dropout=0.05,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
MAX_TOKENS = 128
LEARNING_RATE = 2e-4
SENTENCES = ["Hi! How are you doing?", "What are you up to tonight?", "I think that is a great idea.",
             "Let us try it tomorrow.", "Thank you so much, you really helped me.", "The weather is nice today.",
             "Don't forget to buy bread, milk and some cheese.", "We will meet at six o'clock at the subway.",
             "Привет! Как дела?", "Спасибо большое, ты очень помог мне.",
             "Ладно, до завтра! Спокойной ночи."]


# ---- data and model ---------------------------------------------------------------------------------------------
def write_conversations(folder: Path, count: int, seed: int = 0) -> None:
    """Mixed lengths (1-4 exchanges of 1-3 sentences), so padding and length grouping matter."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train_dataset.jsonl", count), ("eval_dataset.jsonl", 3)):
        lines = []
        for _ in range(n):
            messages = []
            for _ in range(rng.randint(1, 4)):
                for role in ("user", "assistant"):
                    messages.append({"role": role, "content": " ".join(rng.sample(SENTENCES, rng.randint(1, 3)))})
            lines.append(json.dumps({"messages": messages}, ensure_ascii=False))
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def build_model_folder(work: Path) -> Path:
    from gemma_kit.core.tiny_gemma import build_tiny_gemma3n

    folder = work / "gemma-3n-tiny"
    if not (folder / "config.json").exists():
        build_tiny_gemma3n(folder, dtype="bfloat16", num_shards=2)
    return folder


# ---- measuring inside a child process ---------------------------------------------------------------------------
def step_timer():
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        """Time inside optimizer steps only, and the trained model's weight bytes at the end."""

        def __init__(self):
            self.seconds, self.started, self.weight_bytes = 0.0, None, 0

        def on_step_begin(self, args, state, control, **kwargs):
            self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.seconds += time.perf_counter() - self.started

        def on_train_end(self, args, state, control, model=None, **kwargs):
            tensors = list(model.parameters()) + list(model.buffers())
            self.weight_bytes = sum(t.numel() * t.element_size() for t in tensors)

    return StepTimer()


def run_ours(model_dir: Path, work: Path, steps: int, batch: int) -> dict:
    from gemma_kit.cli import build_parser
    from gemma_kit.core.settings import load_settings
    from gemma_kit.steps import finetune

    argv = ["finetune", "--set", f"model_path={model_dir}", "--set", f"max_seq_length={MAX_TOKENS}",
            "--set", f"batch_size={batch}", "--set", "gradient_accumulation_steps=1", "--set", "eval_steps=100000",
            "--set", f"learning_rate={LEARNING_RATE}", "--max-steps", str(steps), "--restart"]
    args = build_parser().parse_args(argv)
    timer = step_timer()
    finetune.run(load_settings(work, None, {}, args.set_pairs), args, extra_callbacks=[timer])
    summary = json.loads((work / "output" / "training_summary.json").read_text())
    return {"seconds": timer.seconds, "tokens": summary["input_tokens_this_session"],
            "padding": summary["padding_fraction"], "weight_bytes": timer.weight_bytes}


def plain_model(model_dir: Path, skip: list[str]):
    import torch
    from transformers import BitsAndBytesConfig, Gemma3nForCausalLM

    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=torch.float32, llm_int8_skip_modules=skip)
    return Gemma3nForCausalLM.from_pretrained(str(model_dir), quantization_config=quant, device_map={"": "cpu"},
                                              dtype=torch.float32)


def plain_dataset(model_dir: Path, data_dir: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    tokenizer.padding_side = "right"
    rows = [json.loads(line) for line in (data_dir / "train_dataset.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = [tokenizer.apply_chat_template(r["messages"], tokenize=False) for r in rows]
    encoded = tokenizer(texts, add_special_tokens=False, truncation=True, max_length=MAX_TOKENS)
    dataset = [{"input_ids": ids} for ids in encoded["input_ids"]]
    return tokenizer, dataset


def run_plain(model_dir: Path, work: Path, steps: int, batch: int) -> dict:
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

    tokenizer, dataset = plain_dataset(model_dir, work / "data")
    model = plain_model(model_dir, ["lm_head", "prediction_coefs", "correction_coefs"])
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True,
                                            gradient_checkpointing_kwargs={"use_reentrant": False})
    model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **LORA))
    args = TrainingArguments(output_dir=str(work / "plain"), per_device_train_batch_size=batch, max_steps=steps,
                             learning_rate=LEARNING_RATE, lr_scheduler_type="cosine", warmup_steps=0.03,
                             optim="adamw_torch", save_strategy="no", report_to="none", use_cpu=True,
                             logging_steps=1, disable_tqdm=True, include_num_input_tokens_seen="non_padding")
    timer = step_timer()
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=False)
    counter = {"real": 0, "padded": 0}

    def collate(features):
        batch_ = collator(features)
        counter["real"] += int(batch_["attention_mask"].sum())
        counter["padded"] += batch_["attention_mask"].numel()
        return batch_

    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collate, callbacks=[timer])
    trainer.train()
    return {"seconds": timer.seconds, "tokens": trainer.state.num_input_tokens_seen,
            "padding": 1 - counter["real"] / counter["padded"], "weight_bytes": timer.weight_bytes}


def run_plain_all_4bit(model_dir: Path, work: Path, steps: int, batch: int) -> dict:
    """The plain recipe with only lm_head kept out of 4-bit: does one training forward even run?"""
    import torch

    model = plain_model(model_dir, ["lm_head"])
    model.train()
    ids = torch.randint(10, 500, (1, 16))
    try:
        model(input_ids=ids, labels=ids)
    except RuntimeError as e:
        return {"error": str(e).splitlines()[0]}
    return {"error": None}


VARIANTS = {"ours": run_ours, "plain": run_plain, "plain-all-4bit": run_plain_all_4bit}


def child_main(variant: str, model_dir: Path, work: Path, steps: int, batch: int, out: Path) -> None:
    import torch

    torch.set_num_threads(1)
    os.environ["GEMMA_KIT_NO_PROGRESS"] = "1"
    out.write_text(json.dumps(VARIANTS[variant](model_dir, work, steps, batch)))


# ---- the parent: interleaved rounds, best of each, ratios ----------------------------------------------------------
def run_child(variant: str, model_dir: Path, work: Path, steps: int, batch: int) -> dict:
    out = work / f"{variant}.json"
    command = [sys.executable, __file__, "--child", variant, "--model", str(model_dir), "--work", str(work),
               "--steps", str(steps), "--batch", str(batch), "--out", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    stderr = process.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{variant} failed:\n{stderr[-3000:]}")
    result = json.loads(out.read_text())
    result.update(wall=time.perf_counter() - started, peak_rss=usage.ru_maxrss * 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--child", choices=list(VARIANTS))
    parser.add_argument("--model", type=Path)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child_main(args.child, args.model, args.work, args.steps, args.batch, args.out)
        return

    with tempfile.TemporaryDirectory(prefix="bench-finetune-") as tmp:
        work = Path(tmp)
        model_dir = build_model_folder(work)
        write_conversations(work / "data", args.examples)
        check = run_child("plain-all-4bit", model_dir, work, 1, args.batch)
        print(f"plain QLoRA with only lm_head kept out of 4-bit: "
              f"{'fails: ' + check['error'] if check['error'] else 'runs'}")
        for variant in ("ours", "plain"):   # warm-up: imports compiled, files in the page cache
            run_child(variant, model_dir, work, 2, args.batch)
        results: dict[str, list[dict]] = {"ours": [], "plain": []}
        for _ in range(args.rounds):
            for variant in results:
                results[variant].append(run_child(variant, model_dir, work, args.steps, args.batch))
    report(results, args)


def report(results: dict[str, list[dict]], args) -> None:
    best = {v: max(rs, key=lambda r: r["tokens"] / r["seconds"]) for v, rs in results.items()}
    print(f"\n{args.steps} steps x batch {args.batch}, max {MAX_TOKENS} tokens, {args.examples} conversations; "
          f"best of {args.rounds} interleaved rounds, CPU, 1 torch thread")
    print(f"{'':8} {'tokens/s':>9} {'s/step':>7} {'padding':>8} {'peak RSS':>9} {'weights':>8} {'wall':>6}")
    for variant, r in best.items():
        print(f"{variant:8} {r['tokens'] / r['seconds']:9.1f} {r['seconds'] / args.steps:7.3f} "
              f"{100 * r['padding']:7.1f}% {r['peak_rss'] / 2 ** 20:7.0f}MB {r['weight_bytes'] / 2 ** 20:6.1f}MB "
              f"{r['wall']:5.1f}s")
    ours, plain = best["ours"], best["plain"]
    speed = (ours["tokens"] / ours["seconds"]) / (plain["tokens"] / plain["seconds"])
    print(f"ratio ours/plain: tokens/s x{speed:.2f}, peak RSS x{ours['peak_rss'] / plain['peak_rss']:.2f}, "
          f"weights x{ours['weight_bytes'] / plain['weight_bytes']:.2f}")
    for variant, rs in results.items():
        print(f"  all rounds {variant}: " + ", ".join(f"{r['tokens'] / r['seconds']:.1f} tok/s" for r in rs))


if __name__ == "__main__":
    main()
