"""Benchmark: `gemma-kit merge-lora` (streams tensors, numpy only) vs peft `merge_and_unload()` +
`save_pretrained()` (the obvious path, which also loses tensors: docs/gemma3n_facts.md), on a ~700 MB bf16 model.

Each path runs in its own subprocess; peak RSS is that child's ru_maxrss (os.wait4), wall time is measured
around it. The page cache is warmed first (every input file read once), then the two run side by side.

    .venv/bin/python bench/bench_merge_lora.py [--workdir DIR] [--repeat N]

The model and the adapter are built once into the work folder (~20 s + ~15 s) and reused by later runs.
Target (issue 5): peak RSS below 0.35x of the peft path, wall time no worse.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# E2B's real widths (hidden 2048, intermediate 8192, 8 heads x 256) so every targeted tensor has the real
# size, with 4 layers instead of 30 to land near 700 MB. tokenizer_vocab stays small because the factory
# trains its SentencePiece model on a tiny corpus (it refuses more than ~1,300 pieces); extra_vocab makes
# embed_tokens as large as a 32k vocabulary would. Per-layer width 256 and laurel rank 64 are the defaults.
SPEC_SIZES = dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=4, num_kv_shared_layers=2,
                  num_attention_heads=8, num_key_value_heads=2, head_dim=256, tokenizer_vocab=1024,
                  extra_vocab=30000)
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

# The step without cli.main: cli builds its parser by importing every step module, so a step that imports
# torch at module level makes every command pay ~650 MiB; this row shows merge-lora's own cost.
STEP_ONLY = """
import argparse, sys
from pathlib import Path
from gemma_kit.core.settings import load_settings
from gemma_kit.steps import merge_lora
root, adapter, base, out = sys.argv[1:5]
args = argparse.Namespace(adapter=adapter, base=base, out=out, dtype="keep")
sys.exit(merge_lora.run(load_settings(Path(root)), args))
"""

PEFT_PATH = """
import sys, torch
from peft import PeftModel
from transformers import Gemma3nForCausalLM
base, adapter, out = sys.argv[1:4]
model = Gemma3nForCausalLM.from_pretrained(base, dtype=torch.bfloat16)
model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
model.save_pretrained(out)
"""


def build_inputs(work: Path) -> tuple[Path, Path]:
    """The bf16 model and a rank-8 adapter with random non-zero B, made once."""
    base, adapter = work / "gemma-3n-bench", work / "adapter"
    if not (base / "config.json").exists():
        from gemma_kit.core.tiny_gemma import TinyGemmaSpec, build_tiny_gemma3n

        shutil.rmtree(base, ignore_errors=True)
        print("building the bench model (once) ...", flush=True)
        build_tiny_gemma3n(base, TinyGemmaSpec(**SPEC_SIZES), dtype="bfloat16", num_shards=3)
    if not (adapter / "base_model.json").exists():
        make_adapter(base, adapter)
    return base, adapter


def make_adapter(base: Path, adapter: Path) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import Gemma3nForCausalLM

    from gemma_kit.core.adapter_folders import write_base_model_record

    print("making the bench adapter (once) ...", flush=True)
    model = Gemma3nForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=TARGETS))
    torch.manual_seed(0)
    for name, parameter in peft_model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(parameter, std=0.02)
    peft_model.save_pretrained(str(adapter))
    write_base_model_record(adapter, base)


def warm_page_cache(*folders: Path) -> None:
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                with open(path, "rb") as f:
                    while f.read(4 * 1024 * 1024):
                        pass


def measure(command: list[str], log: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process."""
    env = {**os.environ, "GEMMA_KIT_NO_PROGRESS": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(log, "w") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"{command[:4]} failed with code {child.returncode}; see {log}")
    return wall, usage.ru_maxrss / 1024  # Linux reports KiB


def count_tensors(folder: Path) -> int:
    from gemma_kit.core.model_files import index_tensors

    return len(index_tensors(folder))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "gemma_kit_bench_merge_lora"))
    parser.add_argument("--repeat", type=int, default=1, help="measured runs of each path (best is reported)")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    if args.build_only:
        build_inputs(work)
        return
    # Build in a child: this process must stay small, because a child's ru_maxrss starts from the parent's
    # peak (Linux records the pre-exec memory of the fork in it), which inflated both paths to 3.3 GB.
    subprocess.run([sys.executable, __file__, "--workdir", str(work), "--build-only"], check=True)
    base, adapter = work / "gemma-3n-bench", work / "adapter"
    ours_out, peft_out = work / "merged_ours", work / "merged_peft"
    ours = [sys.executable, "-m", "gemma_kit", "--root", str(work), "merge-lora", "--adapter", str(adapter),
            "--base", str(base), "--out", str(ours_out)]
    step_only = [sys.executable, "-c", STEP_ONLY, str(work), str(adapter), str(base), str(work / "merged_step")]
    peft = [sys.executable, "-c", PEFT_PATH, str(base), str(adapter), str(peft_out)]

    warm_page_cache(base, adapter)
    subprocess.run([sys.executable, "-c", "import torch, transformers, peft, numpy"], check=True)  # library pages
    results = {"merge-lora": [], "step only": [], "peft": []}
    for _ in range(args.repeat):
        results["merge-lora"].append(measure(ours, work / "ours.log"))
        results["step only"].append(measure(step_only, work / "step.log"))
        shutil.rmtree(peft_out, ignore_errors=True)
        results["peft"].append(measure(peft, work / "peft.log"))
    best = {name: (min(r[0] for r in runs), min(r[1] for r in runs)) for name, runs in results.items()}

    size = sum(p.stat().st_size for p in base.glob("*.safetensors"))
    print(f"\nmodel: {size / 1e6:.0f} MB bf16, {count_tensors(base)} tensors in "
          f"{len(list(base.glob('*.safetensors')))} shards; adapter rank 8 on {', '.join(TARGETS)}")
    print(f"{'path':<12}{'wall s':>9}{'peak RSS MiB':>15}{'tensors written':>17}")
    for name, folder in (("merge-lora", ours_out), ("step only", work / "merged_step"), ("peft", peft_out)):
        wall, rss = best[name]
        print(f"{name:<12}{wall:>9.2f}{rss:>15.0f}{count_tensors(folder):>17}")
    wall_ratio = best["merge-lora"][0] / best["peft"][0]
    rss_ratio = best["merge-lora"][1] / best["peft"][1]
    print(f"(this bench process peaked at {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB, "
          "a floor under both figures)")
    print(f"ratio merge-lora / peft: wall {wall_ratio:.2f}x, peak RSS {rss_ratio:.2f}x "
          f"(target: RSS < 0.35x, wall <= 1x) -> {'OK' if rss_ratio < 0.35 and wall_ratio <= 1 else 'MISSED'}")
    step_wall, step_rss = best["step only"][0] / best["peft"][0], best["step only"][1] / best["peft"][1]
    print(f"ratio step only / peft:  wall {step_wall:.2f}x, peak RSS {step_rss:.2f}x")


if __name__ == "__main__":
    main()
