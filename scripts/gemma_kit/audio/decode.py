"""Audio files -> 16 kHz mono float32, cut into pieces the model takes (at most 30 s each).

Telegram voice messages are OGG/Opus; soundfile's wheels bundle libsndfile with Opus, so nothing else is needed
on Windows. Round videos are MP4 (AAC), which libsndfile cannot read: they raise `Undecodable`, and the caller
counts them as skipped (no ffmpeg is installed by the kit).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000       # what Gemma 3n's feature extractor expects
MAX_PIECE_SECONDS = 30.0   # the audio encoder's 188 soft tokens cover 30 s; longer audio would be cut off
QUIET_SEARCH_SECONDS = 6.0  # a cut is placed at the quietest moment of the last 6 s before the limit
FRAME_SECONDS = 0.05       # loudness is measured over 50 ms frames: shorter than a word, longer than a pitch period


class Undecodable(Exception):
    """An audio file this kit cannot read (a round video's MP4, a damaged file)."""


def decode_audio(path: Path) -> np.ndarray:
    """The file's audio as 16 kHz mono float32 in [-1, 1]."""
    import soundfile
    import soxr

    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError) as e:
        raise Undecodable(f"{Path(path).name}: {e}") from e
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE)
    return np.ascontiguousarray(mono, dtype=np.float32)


def split_at_quiet_points(samples: np.ndarray, rate: int = SAMPLE_RATE, max_seconds: float = MAX_PIECE_SECONDS,
                          search_seconds: float = QUIET_SEARCH_SECONDS) -> list[np.ndarray]:
    """Pieces of at most `max_seconds`, each cut where the speaker is quietest shortly before the limit, so a
    word is rarely split in two (a split word is lost or misheard on both sides)."""
    limit, search, frame = int(max_seconds * rate), int(search_seconds * rate), max(1, int(FRAME_SECONDS * rate))
    pieces, start = [], 0
    while len(samples) - start > limit:
        window_start = start + limit - search
        frames = samples[window_start:window_start + search // frame * frame].reshape(-1, frame)
        quietest = int(np.argmin(np.square(frames).mean(axis=1)))
        cut = window_start + quietest * frame + frame // 2
        pieces.append(samples[start:cut])
        start = cut
    pieces.append(samples[start:])
    return pieces
