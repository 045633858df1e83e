"""The training recipe side by side: the three presets and the old recipe (accumulation 64, 1 pass, last step
kept) on the same persona dataset, on the learnable tiny Gemma 3n, on the CPU (issue 16).

The persona writes in a recognisable style: lower case, every reply opens with "ok so" and ends with "lol 🙂".
About 1,400 training examples (instruct mode), held-out eval examples of the same persona. Per recipe it prints
the optimizer updates, evaluations, the final and best eval loss, and how many greedy replies to held-out prompts
carry a persona marker ("ok so" or "lol"), base model vs the adapter the recipe ships (the best checkpoint for the presets, the
last step for the old recipe). Each recipe runs in its own process with one torch thread (dev_log 2026-11-22).

    .venv/bin/python bench/bench_training_recipe.py [--examples 1400] [--max-updates N] [--only quick,old]

--max-updates caps every recipe (the preset's own plan otherwise) so the whole bench fits a few minutes.
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

MARKERS = ("ok so", "lol")
TOPICS = ["the weather", "dinner", "the new film", "work", "the weekend", "music", "the trip", "coffee", "the game",
          "the book", "my cat", "the party", "the bus", "the exam", "the shop", "the rain"]
QUESTIONS = ["What do you think about {t}?", "Any news about {t}?", "How was {t}?", "Did you hear about {t}?",
             "Tell me about {t}.", "Should we talk about {t}?"]
OPINIONS = ["{t} was fine", "{t} is too much", "i liked {t}", "{t} can wait", "no idea about {t}",
            "{t} made my day", "{t} was a mess"]
# A base model's style to compare with: what a generic assistant would say (the held-out replies are the persona's).
RECIPES = {
    "old": ["--set", "preset=standard", "--set", "effective_batch_size=64", "--set", "num_epochs=1",
            "--set", "eval_steps=50"],
    "quick": ["--set", "preset=quick"],
    "standard": ["--set", "preset=standard"],
    "thorough": ["--set", "preset=thorough"],
}
HELD_OUT_PROMPTS = 24


def persona_reply(rng: random.Random, topic: str) -> str:
    return f"ok so {rng.choice(OPINIONS).format(t=topic)} lol 🙂"


def write_persona_dataset(data: Path, examples: int, seed: int = 0) -> list[str]:
    """train/eval JSONL of the persona; returns the held-out prompts (eval questions)."""
    rng = random.Random(seed)
    data.mkdir(parents=True, exist_ok=True)
    prompts = []
    for name, count in (("train_dataset.jsonl", examples), ("eval_dataset.jsonl", max(40, examples // 20))):
        lines = []
        for _ in range(count):
            topic = rng.choice(TOPICS)
            question = rng.choice(QUESTIONS).format(t=topic)
            if name.startswith("eval"):
                prompts.append(question)
            lines.append(json.dumps({"messages": [{"role": "user", "content": question},
                                                  {"role": "assistant", "content": persona_reply(rng, topic)}]},
                                    ensure_ascii=False))
        (data / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return prompts[:HELD_OUT_PROMPTS]


def build_learnable_model(work: Path) -> Path:
    from gemma_kit.core.tiny_gemma import TinyGemmaSpec, build_tiny_gemma3n

    folder = work / "gemma-3n-tiny-learnable"
    if not (folder / "config.json").exists():
        build_tiny_gemma3n(folder, TinyGemmaSpec(embedding_scale=10.0), dtype="bfloat16", num_shards=2)
    return folder


# ---- inside a child process ------------------------------------------------------------------------------------
def child(work: Path, model_dir: Path, recipe: str, max_updates: int | None) -> None:
    import torch

    torch.set_num_threads(1)
    from gemma_kit.cli import main

    root = work / recipe
    write_persona_dataset(root / "data", int(os.environ["BENCH_EXAMPLES"]))
    argv = ["--root", str(root), "finetune", "--set", f"model_path={model_dir}", "--set", "batch_size=8",
            "--set", "max_seq_length=128", "--set", "after_training=stop", "--set", "report_examples=0",
            *RECIPES[recipe]]
    if max_updates:
        argv += ["--max-steps", str(max_updates)]
    started = time.perf_counter()
    code = main(argv)
    seconds = time.perf_counter() - started
    assert code == 0, f"{recipe}: finetune exited {code}"
    summary = json.loads((root / "output" / "training_summary.json").read_text())
    if recipe == "old":   # the old recipe shipped the last step
        adapter = Path(summary["latest_checkpoint"])
    else:
        adapter = root / "output" / "lora_adapter"
    losses = {int(k): v for k, v in summary["eval_loss_by_step"].items()}
    base_rate, tuned_rate, sample = marker_rates(root, model_dir, adapter)
    result = {"recipe": recipe, "updates": summary["step"], "evaluations": len(losses),
              "final_eval_loss": losses[max(losses)], "best_eval_loss": min(losses.values()),
              "shipped_step": summary["adapter"]["step"] if recipe != "old" else summary["step"],
              "base_marker_rate": base_rate, "tuned_marker_rate": tuned_rate, "seconds": seconds, "sample": sample}
    print("RESULT " + json.dumps(result, ensure_ascii=False))


def marker_rates(root: Path, model_dir: Path, adapter: Path) -> tuple[float, float, str]:
    from gemma_kit.core.settings import load_settings
    from gemma_kit.steps.report import load_models
    from gemma_kit.training.callbacks import generate_replies
    from gemma_kit.training.collate import render

    settings = load_settings(root, cli_pairs=[f"model_path={model_dir}"])
    model, tokenizer = load_models(settings, adapter)
    prompts = write_persona_dataset(Path(tempfile.mkdtemp()), int(os.environ["BENCH_EXAMPLES"]))
    ids = [tokenizer(render(tokenizer, [{"role": "user", "content": p}], add_generation_prompt=True),
                     add_special_tokens=False)["input_ids"] for p in prompts]
    with model.disable_adapter():
        base = generate_replies(model, tokenizer, ids, 24)
    tuned = generate_replies(model, tokenizer, ids, 24)

    def rate(replies):   # a reply in the persona's voice carries at least one of its marker phrases
        return sum(any(m in r.lower() for m in MARKERS) for r in replies) / len(replies)

    return rate(base), rate(tuned), tuned[0]


# ---- the parent ------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1400)
    parser.add_argument("--max-updates", type=int, default=None)
    parser.add_argument("--only", default=",".join(RECIPES))
    parser.add_argument("--child", nargs=3, metavar=("WORK", "MODEL", "RECIPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.child[2], args.max_updates)
        return
    work = Path(tempfile.mkdtemp(prefix="bench_recipe_"))
    model_dir = build_learnable_model(work)
    env = {**os.environ, "GEMMA_KIT_NO_PROGRESS": "1", "BENCH_EXAMPLES": str(args.examples)}
    results = []
    for recipe in args.only.split(","):
        command = [sys.executable, __file__, "--child", str(work), str(model_dir), recipe]
        if args.max_updates:
            command += ["--max-updates", str(args.max_updates)]
        done = subprocess.run(command, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            sys.exit(f"{recipe} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        results.append(json.loads(lines[-1][len("RESULT "):]))
        print(f"  done: {recipe} ({results[-1]['seconds']:.0f} s)", file=sys.stderr)
    print(f"{args.examples} persona examples, learnable tiny Gemma 3n, CPU, batch 8"
          + (f", every recipe capped at {args.max_updates} updates" if args.max_updates else ""))
    print(f"{'recipe':<9} {'updates':>7} {'evals':>5} {'final eval':>10} {'best eval':>9} {'shipped':>7} "
          f"{'markers base':>12} {'markers tuned':>13} {'seconds':>7}")
    for r in results:
        print(f"{r['recipe']:<9} {r['updates']:>7} {r['evaluations']:>5} {r['final_eval_loss']:>10.3f} "
              f"{r['best_eval_loss']:>9.3f} {r['shipped_step']:>7} {r['base_marker_rate']:>12.0%} "
              f"{r['tuned_marker_rate']:>13.0%} {r['seconds']:>7.0f}")
    old = next((r for r in results if r["recipe"] == "old"), None)
    if old:
        for r in results:
            if r is not old:
                print(f"{r['recipe']}: eval loss {r['best_eval_loss'] / old['final_eval_loss']:.2f}x the old recipe's, "
                      f"{r['updates'] / old['updates']:.1f}x its updates")
    for r in results:
        print(f"{r['recipe']} sample reply: {r['sample']!r}")


if __name__ == "__main__":
    main()
