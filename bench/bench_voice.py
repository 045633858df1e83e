"""Benchmark the voice path on the CPU: decoding + feature extraction, and the tiny model's transcription speed.

    python bench/bench_voice.py                 # 10 min of synthetic speech-like Opus audio, best of 3
    python bench/bench_voice.py --minutes 30 --repeat 1

Writes OGG/Opus files as Telegram does (16 kHz mono Opus; Telegram's are 48 kHz Opus, which libsndfile also
decodes, then soxr resamples), in messages of 5-60 s. Prints minutes of audio per second of wall time for:
  1. decode (soundfile) + resample (soxr) + cut into <= 30 s pieces,
  2. the same + Gemma 3n's log-mel feature extraction (what a real model would get),
  3. transcription with the tiny with_audio model (core/tiny_gemma.py; the model load is timed apart).
The tiny model's figure is the pipeline's overhead floor, not a real model's speed (see README / dev_log).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from gemma_kit.audio.decode import SAMPLE_RATE, decode_audio, split_at_quiet_points  # noqa: E402


def speech_like(seconds: float, rng: np.random.Generator, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    pitch = rng.uniform(110, 240)
    signal = 0.3 * np.sin(2 * np.pi * pitch * t) * (0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(3, 6) * t))
    return (signal + 0.02 * rng.standard_normal(len(t))).astype(np.float32)


def write_messages(folder: Path, minutes: float, rate: int, seed: int = 0) -> list[Path]:
    import soundfile

    rng = np.random.default_rng(seed)
    paths, total = [], 0.0
    while total < minutes * 60:
        seconds = float(rng.uniform(5, 60))
        path = folder / f"audio_{len(paths)}.ogg"
        soundfile.write(str(path), speech_like(seconds, rng, rate), rate, format="OGG", subtype="OPUS")
        paths.append(path)
        total += seconds
    return paths


def best_of(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rate", type=int, default=48_000, help="sample rate of the written Opus files")
    parser.add_argument("--transcribe-minutes", type=float, default=1.0,
                        help="audio the tiny model transcribes (it is slow on a shared CPU)")
    args = parser.parse_args()
    from transformers import Gemma3nAudioFeatureExtractor

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = write_messages(folder, args.minutes, args.rate)
        audio_minutes = sum(len(decode_audio(p)) for p in paths) / SAMPLE_RATE / 60
        extractor = Gemma3nAudioFeatureExtractor()

        def decode_only():
            for p in paths:
                split_at_quiet_points(decode_audio(p))

        def decode_and_features():
            for p in paths:
                for piece in split_at_quiet_points(decode_audio(p)):
                    extractor([piece], sampling_rate=SAMPLE_RATE, return_tensors="np")

        t_decode = best_of(args.repeat, decode_only)
        t_features = best_of(args.repeat, decode_and_features)
        print(f"{len(paths)} Opus messages at {args.rate} Hz, {audio_minutes:.1f} min of audio")
        for label, seconds in (("decode + resample + cut", t_decode), ("... + log-mel features", t_features)):
            print(f"{label:<26} {seconds:6.2f} s = {audio_minutes / seconds:6.1f} min of audio per second")
        transcribe_tiny(folder, paths, args.transcribe_minutes)


def transcribe_tiny(folder: Path, paths: list[Path], minutes: float) -> None:
    from gemma_kit.audio.transcriber import Transcriber
    from gemma_kit.core.tiny_gemma import build_tiny_gemma3n

    model_dir = build_tiny_gemma3n(folder / "tiny", dtype="float32", num_shards=1, with_audio=True)
    start = time.perf_counter()
    transcriber = Transcriber(model_dir, "cpu", False)
    load = time.perf_counter() - start
    pieces, total = [], 0.0
    for p in paths:
        for piece in split_at_quiet_points(decode_audio(p)):
            if total >= minutes * 60:
                break
            pieces.append(piece)
            total += len(piece) / SAMPLE_RATE
    pieces.sort(key=len)
    start = time.perf_counter()
    for i in range(0, len(pieces), 4):
        transcriber.transcribe(pieces[i:i + 4])
    spent = time.perf_counter() - start
    print(f"tiny model: load {load:.1f} s; transcribed {total / 60:.1f} min ({len(pieces)} pieces, batches of 4) "
          f"in {spent:.1f} s = {total / spent:.1f} s of audio/s")


if __name__ == "__main__":
    main()
