"""The voice wing's transcription: turn the Telegram voice messages prepare-dataset found into text, with Gemma 3n's own audio encoder.

Reads the list prepare-dataset wrote (data/voice_messages.json), and for each message of the side(s) the
transcribe_voice setting names ("mine" = yours, "all" = both) decodes the audio, cuts it into pieces of at
most 30 s at quiet moments, and asks the model what was said. Every result goes to data/voice_transcripts.jsonl
as soon as it is known, keyed by the audio's content hash: a second run (or one after Ctrl+C) only does what is
left, and loads no model when nothing is. Empty or made-up transcripts are kept there too, marked, so they are
counted as skipped and not tried again. Used by the transcribe-voice step, and by prepare-dataset (audio/voice_stage.py) when the setting asks.
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..core.console import UserError, say, warn
from ..core.language import tr, tr_n
from ..core.settings import Settings
from ..readers.voice import ROLES_TO_TRANSCRIBE, TRANSCRIPTS_FILE_NAME, VOICE_LIST_FILE_NAME, VoiceMessage, \
    file_digest, load_transcripts

# Audio decoded at a time: pieces are batched by length inside this much, and RAM stays at ~40 MB of samples.
DECODE_CHUNK_SECONDS = 600
BATCH_SIZE = {"cuda": 8, "cpu": 4}


@dataclass
class Job:
    """One audio file to transcribe (several voice messages may share it, e.g. the same file exported twice)."""

    digest: str
    voice: VoiceMessage
    texts: list[str] = field(default_factory=list)
    ran_out: bool = False
    pieces_left: int = 0
    seconds: float = 0.0


def transcribe_voices(settings: Settings, out_dir: Path, batch_size: int | None = None) -> int:
    """Transcribe what data/voice_messages.json lists for the setting's side(s) and is not in the cache yet."""
    voices = wanted_voices(settings, out_dir)
    cache_path = out_dir / TRANSCRIPTS_FILE_NAME
    cache = load_transcripts(cache_path)
    jobs: dict[str, Job] = {}
    reused = 0
    for voice in voices:
        digest = file_digest(Path(voice.file))
        if digest in cache:
            reused += 1
        else:
            jobs.setdefault(digest, Job(digest, voice))
    if not jobs:
        say(tr_n(len(voices), "All {n:,} voice messages to transcribe are already in {cache}; the model is not loaded.",
                 "All {n:,} voice messages to transcribe are already in {cache}; the model is not loaded.",
                 cache=cache_path.name))
        return 0
    if reused:
        say(tr_n(reused, "{n:,} voice messages are already transcribed ({cache}); {left:,} to go.",
                 "{n:,} voice messages are already transcribed ({cache}); {left:,} to go.", cache=cache_path.name,
                 left=len(jobs)))
    transcribe_jobs(settings, list(jobs.values()), cache_path, batch_size)
    return 0


def wanted_voices(settings: Settings, out_dir: Path) -> list[VoiceMessage]:
    listing = out_dir / VOICE_LIST_FILE_NAME
    if settings.transcribe_voice == "no":
        raise UserError(tr("The transcribe_voice setting is \"no\", so there is nothing to transcribe."),
                        tr("Set transcribe_voice = \"mine\" (your voice messages) or \"all\" in settings.toml, or run "
                           "gemma-kit transcribe-voice --set transcribe_voice=mine"))
    if not listing.exists():
        raise UserError(tr("There is no list of voice messages yet ({file} in {folder}).", file=listing.name,
                           folder=out_dir),
                        tr("Run prepare_dataset.bat first: it finds the voice messages in your Telegram export."))
    try:
        voices = [VoiceMessage(**entry) for entry in json.loads(listing.read_text(encoding="utf-8"))]
    except (json.JSONDecodeError, TypeError) as e:
        raise UserError(tr("{file} is damaged ({error}).", file=listing, error=e),
                        tr("Run prepare_dataset.bat again; it writes it anew.")) from e
    roles = ROLES_TO_TRANSCRIBE[settings.transcribe_voice]
    wanted = [v for v in voices if v.file and v.role in roles]
    missing = [v for v in wanted if not Path(v.file).is_file()]
    if missing:
        warn(tr_n(len(missing), "{n:,} voice messages' audio files are gone since prepare-dataset listed them "
                  "(first: {first}); they are left out.", "{n:,} voice messages' audio files are gone since "
                  "prepare-dataset listed them (first: {first}); they are left out.", first=missing[0].file))
    return [v for v in wanted if Path(v.file).is_file()]


def transcribe_jobs(settings: Settings, jobs: list[Job], cache_path: Path, batch_size: int | None) -> None:
    from ..audio.decode import SAMPLE_RATE, Undecodable, decode_audio, split_at_quiet_points
    from ..audio.transcriber import Transcriber, judge_transcript
    from ..audio.transcription_plan import check_transcription_memory, record_pace
    from ..training.device import choose_device, detect_machine, gpu_memory_of, memory_errors_in_plain_words

    check_model_has_ears(settings.model_dir)
    machine = detect_machine()
    device = choose_device(machine.cuda_available)
    minutes = sum(j.voice.seconds for j in jobs) / 60
    if device == "cuda":
        say(tr_n(len(jobs), "Transcribing {n:,} voice messages ({minutes:,.1f} min of audio) on the GPU {gpu}; "
                 "loading the model {model}.", "Transcribing {n:,} voice messages ({minutes:,.1f} min of audio) on "
                 "the GPU {gpu}; loading the model {model}.", minutes=minutes, gpu=machine.gpu_name,
                 model=settings.model_dir.name))
    else:
        say(tr_n(len(jobs), "Transcribing {n:,} voice messages ({minutes:,.1f} min of audio) on the CPU; loading "
                 "the model {model}.", "Transcribing {n:,} voice messages ({minutes:,.1f} min of audio) on the CPU; "
                 "loading the model {model}.", minutes=minutes, model=settings.model_dir.name))
    started = time.monotonic()
    batch = batch_size or BATCH_SIZE[device]
    # Both phrases end up inside training/device.py's out-of-memory message ("... while {doing}", "or {lighter}").
    lighter = tr("use --batch-size {n}", n=max(1, batch // 2)) if batch > 1 else \
        tr("use the E2B model (model = \"E2B\")")
    table_on_gpu = check_transcription_memory(settings.model_dir, gpu_memory_of(machine), batch,
                                              settings.per_layer_table_on_gpu)
    with memory_errors_in_plain_words(tr("loading the model for transcription"), lighter):
        transcriber = Transcriber(settings.model_dir, device, machine.bf16_supported, table_on_gpu=table_on_gpu)
    done_seconds = 0.0
    statuses: Counter = Counter()
    jobs = sorted(jobs, key=lambda j: j.voice.seconds)  # similar lengths end up in one chunk, then one batch
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    with open(cache_path, "a", encoding="utf-8") as cache, \
            audio_bar(round(minutes * 60)) as bar:
        try:
            for chunk in chunks_by_seconds(jobs, DECODE_CHUNK_SECONDS):
                pieces = []
                for job in chunk:
                    try:
                        samples = decode_audio(Path(job.voice.file))
                    except Undecodable as e:
                        write_entry(cache, job, "", "undecodable", detail=str(e))
                        statuses["undecodable"] += 1
                        bar.update(round(job.voice.seconds))
                        continue
                    job.seconds = len(samples) / SAMPLE_RATE
                    cut = split_at_quiet_points(samples)
                    job.texts, job.pieces_left = [""] * len(cut), len(cut)
                    pieces += [(job, i, piece) for i, piece in enumerate(cut)]
                pieces.sort(key=lambda p: len(p[2]))
                for start in range(0, len(pieces), batch):
                    group = pieces[start:start + batch]
                    with memory_errors_in_plain_words(tr("transcribing voice messages"), lighter):
                        heard_pieces = transcriber.transcribe([p[2] for p in group])
                    for (job, i, piece), (text, ran_out) in zip(group, heard_pieces):
                        job.texts[i], job.ran_out = text, job.ran_out or ran_out
                        job.pieces_left -= 1
                        bar.update(round(len(piece) / SAMPLE_RATE))
                        if job.pieces_left == 0:
                            heard = judge_transcript(" ".join(job.texts), job.seconds, job.ran_out)
                            write_entry(cache, job, heard.text, heard.status)
                            statuses[heard.status] += 1
                            done_seconds += job.seconds
        except KeyboardInterrupt:
            say("\n" + tr("Stopped: the transcripts done so far are kept in {cache}; run again to continue.",
                          cache=cache_path.name))
            raise
    spent = time.monotonic() - started
    record_pace(cache_path.parent, device, machine.gpu_name, done_seconds, spent)   # the next question's estimate
    say_outcome(statuses)
    say(tr("Transcribed {minutes:,.1f} min of audio in {spent:,.0f} s ({speed:,.1f} s of audio per second, model "
           "loading included).", minutes=done_seconds / 60, spent=spent, speed=done_seconds / max(spent, 1e-9)))


def say_outcome(statuses: Counter) -> None:
    kept, empty, made_up, undecodable = (statuses[s] for s in ("ok", "empty", "made_up", "undecodable"))
    say(tr("Transcripts kept: {kept:,}.", kept=kept))
    if empty + made_up:
        say(tr("Left out: {empty:,} empty and {made_up:,} that looked made up (repeated words, or far more text "
               "than the recording can hold); they are counted in the dataset report.", empty=empty,
               made_up=made_up))
    if undecodable:
        say(tr_n(undecodable, "{n:,} audio files could not be decoded (round videos are MP4, which needs ffmpeg, and "
                 "the kit does not install it); they are counted as skipped.", "{n:,} audio files could not be "
                 "decoded (round videos are MP4, which needs ffmpeg, and the kit does not install it); they are "
                 "counted as skipped."))


def check_model_has_ears(model_dir: Path) -> None:
    """The model folder must hold the audio encoder's feature-extractor settings (every Gemma 3n -it download
    does); a folder without them is an incomplete download or a text-only copy."""
    if not (model_dir / "config.json").exists():
        raise UserError(tr("The model is not in {folder} yet, and transcribing voice messages needs it.",
                           folder=model_dir),
                        tr("Run download_model.bat first (or set transcribe_voice = \"no\" to leave voice messages "
                           "out for now)."))
    if not (model_dir / "preprocessor_config.json").exists():
        raise UserError(tr("{folder} has no preprocessor_config.json, the settings of the model's audio input.",
                           folder=model_dir),
                        tr("Run download_model.bat again: it completes the download."))


def audio_bar(total_seconds: int):
    """Seconds of audio done / left, and the time left at the speed so far."""
    from tqdm.auto import tqdm

    return tqdm(total=total_seconds, desc=tr("Transcribing"), unit=tr(" s of audio"), dynamic_ncols=True,
                disable=bool(os.environ.get("GEMMA_KIT_NO_PROGRESS")))


def chunks_by_seconds(jobs: list[Job], limit: float):
    chunk, total = [], 0.0
    for job in jobs:
        if chunk and total + job.voice.seconds > limit:
            yield chunk
            chunk, total = [], 0.0
        chunk.append(job)
        total += job.voice.seconds
    if chunk:
        yield chunk


def write_entry(cache, job: Job, text: str, status: str, detail: str = "") -> None:
    """One line per audio file, flushed at once: Ctrl+C or a crash loses at most the messages in progress."""
    entry = {"sha256": job.digest, "status": status, "text": text, "seconds": round(job.seconds, 2),
             "pieces": len(job.texts), "file": Path(job.voice.file).name}
    if detail:
        entry["detail"] = detail
    cache.write(json.dumps(entry, ensure_ascii=False) + "\n")
    cache.flush()
