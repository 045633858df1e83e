"""Benchmark the two memory patches of issue 11 on the CPU: the chunked loss and the per-layer table in RAM.

1. Loss memory, plain vs chunked, for Gemma 3n's head: 262,144-word vocabulary, hidden size 2048, 768 label
   tokens, float32 (CPU). plain = lm_head over all tokens + soft-cap + transformers' ForCausalLMLoss, then the
   backward; chunked = training/chunked_loss.py. Each variant runs in its own process: peak RSS above the RSS
   before the loss (the peak is reset through /proc/self/clear_refs first; the head's weights are excluded), and
   the peak bytes of the tensors the loss creates (training/memory_probe.py), in the same process.
2. Training speed on the tiny Gemma 3n (the finetune step itself, 4-bit + LoRA, batch 4, one torch thread):
   patches on (per_layer_table_on_gpu = "no", chunked_loss = true) vs off ("yes", false); each run in its own
   process, interleaved, after a warm-up; the best round of each is compared (tokens per CPU second of the
   training thread inside optimizer steps).
   Then both models in one process, alternating optimizer steps timed in CPU time (less exposed to the shared
   machine's load: whole runs vary by +-15% here).
3. The memory model's estimate for E2B and E4B with each preset, with and without the patches.

    .venv/bin/python bench/bench_memory_patches.py [--rounds 3] [--steps 15] [--skip-loss] [--skip-speed]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_finetune import MAX_TOKENS, build_model_folder, write_conversations  # noqa: E402

VOCAB, HIDDEN, TOKENS, CAP = 262_144, 2048, 768, 30.0
PATCHES = {"on": {"per_layer_table_on_gpu": "no", "chunked_loss": "true"},
           "off": {"per_layer_table_on_gpu": "yes", "chunked_loss": "false"}}


# ---- 1. loss memory, one variant per process ---------------------------------------------------------------------
def rss_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def loss_child(variant: str) -> dict:
    import torch
    from transformers.loss.loss_utils import ForCausalLMLoss

    from gemma_kit.training.chunked_loss import chunked_causal_lm_loss
    from gemma_kit.training.memory_probe import measure_peak_tensor_bytes

    torch.manual_seed(0)
    head = torch.nn.Linear(HIDDEN, VOCAB, bias=False)
    head.weight.requires_grad_(False)
    torch.nn.init.normal_(head.weight, std=0.02)
    hidden = torch.randn(1, TOKENS + 1, HIDDEN)
    labels = torch.randint(0, VOCAB, (1, TOKENS + 1))

    def plain():
        h = hidden.clone().requires_grad_(True)
        logits = head(h)
        logits = torch.tanh(logits / CAP) * CAP          # as Gemma3nForCausalLM.forward
        loss = ForCausalLMLoss(logits, labels, VOCAB, num_items_in_batch=TOKENS)
        del logits                                        # the Trainer drops the outputs before the backward
        loss.backward()
        return float(loss), h.grad

    def chunked():
        h = hidden.clone().requires_grad_(True)
        loss = chunked_causal_lm_loss(h, labels, head, CAP, TOKENS)
        loss.backward()
        return float(loss), h.grad

    fn = {"plain": plain, "chunked": chunked}[variant]
    Path("/proc/self/clear_refs").write_text("5")       # resets VmHWM to the current RSS
    before = rss_bytes("VmRSS")
    started = time.perf_counter()
    loss, grad = fn()
    seconds = time.perf_counter() - started
    rss_peak = rss_bytes("VmHWM") - before
    tensor_peak, _ = measure_peak_tensor_bytes(fn)
    return {"loss": loss, "grad_norm": float(grad.norm()), "rss_peak": rss_peak, "tensor_peak": tensor_peak,
            "seconds": seconds}


# ---- 2. training speed, one run per process ------------------------------------------------------------------------
def cpu_step_timer():
    """CPU time of the training thread inside optimizer steps (one torch thread, data loading in the same thread):
    time slices taken by other processes on this shared machine do not count."""
    from transformers import TrainerCallback

    class CpuStepTimer(TrainerCallback):
        def __init__(self):
            self.seconds, self.started = 0.0, None

        def on_step_begin(self, args, state, control, **kwargs):
            self.started = time.thread_time()

        def on_step_end(self, args, state, control, **kwargs):
            self.seconds += time.thread_time() - self.started

    return CpuStepTimer()


def speed_child(variant: str, model_dir: Path, work: Path, steps: int, batch: int) -> dict:
    import torch

    from gemma_kit.cli import build_parser
    from gemma_kit.core.settings import load_settings
    from gemma_kit.steps import finetune

    torch.set_num_threads(1)
    os.environ["GEMMA_KIT_NO_PROGRESS"] = "1"
    sets = {"model_path": str(model_dir), "max_seq_length": MAX_TOKENS, "batch_size": batch,
            "gradient_accumulation_steps": 1, "eval_steps": 100000, "after_training": "stop", "report_examples": 0,
            **PATCHES[variant]}
    argv = ["finetune", "--max-steps", str(steps), "--restart"]
    for key, value in sets.items():
        argv += ["--set", f"{key}={value}"]
    args = build_parser().parse_args(argv)
    timer = cpu_step_timer()
    finetune.run(load_settings(work, None, {}, args.set_pairs), args, extra_callbacks=[timer])
    summary = json.loads((work / "output" / "training_summary.json").read_text())
    return {"seconds": timer.seconds, "tokens": summary["input_tokens_this_session"],
            "last_loss": summary["last_train_loss"]}


def alternating_child(model_dir: Path, steps: int, batch: int) -> dict:
    """Both models in one process, one optimizer step each in turn on the same batch: the machine's load
    drifts alike for both (on this shared 2-core machine whole runs vary by +-15%)."""
    import contextlib
    import io

    import torch
    from transformers import set_seed

    from gemma_kit.core.model_files import read_config
    from gemma_kit.training import device, model_loading
    from gemma_kit.training.chunked_loss import compute_chunked_loss

    torch.set_num_threads(1)
    precision = device.choose_precision(False, False)

    def build(table_on_gpu: bool):
        config = model_loading.load_text_config(read_config(model_dir))
        with contextlib.redirect_stdout(io.StringIO()):
            model = model_loading.load_text_model(model_dir, config, precision, "cpu", table_on_gpu)
        set_seed(0)
        model = model_loading.add_lora(model, 8, 16, 0.0)
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        model.train()
        return model, torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    models = {"on": build(False), "off": build(True)}
    ids = torch.randint(10, 500, (batch, MAX_TOKENS), generator=torch.Generator().manual_seed(0))
    labels = ids.clone()
    labels[:, :MAX_TOKENS // 2] = -100           # the prompt half carries no labels, as in chat data
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}

    def step(variant: str) -> float:
        """CPU time of this (single-threaded) step: time slices lost to other processes do not count."""
        model, optimizer = models[variant]
        started = time.thread_time()
        loss = compute_chunked_loss(model, inputs) if variant == "on" else model(**inputs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return time.thread_time() - started

    times: dict[str, list[float]] = {"on": [], "off": []}
    for i in range(steps + 2):
        for variant in (("on", "off") if i % 2 else ("off", "on")):
            seconds = step(variant)
            if i >= 2:                                # two warm-up steps each
                times[variant].append(seconds)
    return {"tokens_per_step": batch * MAX_TOKENS, "times": times}


def run_child(argv: list[str], out: Path) -> dict:
    process = subprocess.run([sys.executable, __file__, *argv, "--out", str(out)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    if process.returncode != 0:
        raise RuntimeError(f"{argv} failed:\n{process.stderr[-3000:]}")
    return json.loads(out.read_text())


def bench_loss(work: Path) -> None:
    results = {v: run_child(["--loss-child", v], work / f"loss-{v}.json") for v in ("plain", "chunked")}
    plain, chunked = results["plain"], results["chunked"]
    print(f"1. Loss + backward, vocabulary {VOCAB:,}, hidden {HIDDEN}, {TOKENS} label tokens, float32, CPU, "
          f"chunks of the finetune step's size:")
    print(f"   {'':8} {'peak RSS':>10} {'tensors':>10} {'bytes/logit':>12} {'time':>7}   loss")
    logits = TOKENS * VOCAB
    for name, r in results.items():
        print(f"   {name:8} {r['rss_peak'] / 2**20:8.0f}MB {r['tensor_peak'] / 2**20:8.0f}MB "
              f"{r['tensor_peak'] / logits:12.2f} {r['seconds']:6.1f}s   {r['loss']:.6f}")
    print(f"   chunked/plain: peak RSS x{chunked['rss_peak'] / plain['rss_peak']:.3f}, tensors "
          f"x{chunked['tensor_peak'] / plain['tensor_peak']:.3f}, time x{chunked['seconds'] / plain['seconds']:.2f}; "
          f"loss difference {abs(chunked['loss'] - plain['loss']):.2e}, input-gradient norm "
          f"{chunked['grad_norm']:.6e} vs {plain['grad_norm']:.6e}")


def bench_speed(work: Path, rounds: int, steps: int, batch: int) -> None:
    model_dir = build_model_folder(work)
    write_conversations(work / "data", 64)

    def one(variant: str, n_steps: int) -> dict:
        return run_child(["--speed-child", variant, "--model", str(model_dir), "--work", str(work), "--steps",
                          str(n_steps), "--batch", str(batch)], work / f"speed-{variant}.json")

    for variant in PATCHES:   # warm-up: imports compiled, files in the page cache
        one(variant, 2)
    results: dict[str, list[dict]] = {v: [] for v in PATCHES}
    for i in range(rounds):
        for variant in (("on", "off") if i % 2 == 0 else ("off", "on")):   # neither always goes first
            results[variant].append(one(variant, steps))
    best = {v: max(rs, key=lambda r: r["tokens"] / r["seconds"]) for v, rs in results.items()}
    print(f"\n2. Training on the tiny Gemma 3n (CPU, 1 torch thread, {steps} steps x batch {batch}, max "
          f"{MAX_TOKENS} tokens), best of {rounds} interleaved rounds, tokens per CPU second inside steps:")
    for variant, r in best.items():
        rounds_text = ", ".join(f"{x['tokens'] / x['seconds']:.1f}" for x in results[variant])
        print(f"   patches {variant:3}: {r['tokens'] / r['seconds']:6.1f} tokens/s (all rounds: {rounds_text}); "
              f"last loss {r['last_loss']:.4f}")
    on, off = best["on"], best["off"]
    print(f"   on/off tokens/s: x{(on['tokens'] / on['seconds']) / (off['tokens'] / off['seconds']):.3f}")
    ab = run_child(["--alternating-child", "--model", str(model_dir), "--steps", str(2 * steps), "--batch",
                    str(batch)], work / "alternating.json")
    print(f"   in one process, {2 * steps} optimizer steps each, alternating, CPU time per step (batch {batch} x "
          f"{MAX_TOKENS} tokens, half of them labelled):")
    for variant, seconds in ab["times"].items():
        print(f"   patches {variant:3}: best {ab['tokens_per_step'] / min(seconds):6.1f} tokens/s, median "
              f"{ab['tokens_per_step'] / statistics.median(seconds):6.1f}")
    on_s, off_s = ab["times"]["on"], ab["times"]["off"]
    print(f"   on/off tokens/s: best x{min(off_s) / min(on_s):.3f}, median "
          f"x{statistics.median(off_s) / statistics.median(on_s):.3f}")


def print_memory_table() -> None:
    from gemma_kit.core.settings import PRESETS
    from gemma_kit.training.memory_plan import GIB, plan_memory, reference_text_config

    print("\n3. The memory model (training/memory_plan.py), bf16 GPU, batch 1: GB without -> with the patches")
    print(f"   {'':14}" + "".join(f"{preset:>18}" for preset in PRESETS))
    for model in ("E2B", "E4B"):
        config = reference_text_config(model)
        cells = []
        for values in PRESETS.values():
            plain, patched = (plan_memory(config, lora_rank=values["lora_rank"],
                                          max_seq_length=values["max_seq_length"], per_layer_table_on_gpu=not on,
                                          chunked_loss=on) for on in (False, True))
            cells.append(f"{plain.total / GIB:6.2f} -> {patched.total / GIB:5.2f}")
        print(f"   {model:14}" + "".join(f"{c:>18}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--skip-loss", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--loss-child", choices=["plain", "chunked"])
    parser.add_argument("--speed-child", choices=list(PATCHES))
    parser.add_argument("--alternating-child", action="store_true")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.loss_child:
        import torch

        torch.set_num_threads(1)
        args.out.write_text(json.dumps(loss_child(args.loss_child)))
        return
    if args.alternating_child:
        args.out.write_text(json.dumps(alternating_child(args.model, args.steps, args.batch)))
        return
    if args.speed_child:
        args.out.write_text(json.dumps(speed_child(args.speed_child, args.model, args.work, args.steps, args.batch)))
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        work = Path(tmp)
        if not args.skip_loss:
            bench_loss(work)
        if not args.skip_speed:
            bench_speed(work, args.rounds, args.steps, args.batch)
    print_memory_table()
    print(f"\n(bench wall time {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}; "
          f"parent peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
