"""prepare-dataset's part in voice messages: list them for transcription, ask whether to transcribe, run it.

Kept apart from the step so that it stays about text; the transcription itself (torch, the model) is
audio/transcription.py, imported only when it runs, so prepare-dataset stays torch-free otherwise.
"""
from __future__ import annotations

import gc
import json
from pathlib import Path

from ..core.console import ask_choice, say
from ..core.language import tr
from ..core.paths import atomic_file
from ..core.settings import Settings, replace
from ..readers.voice import TRANSCRIBE_CHOICES, VOICE_LIST_FILE_NAME, VoiceBook


def write_voice_list(voice: VoiceBook, out_dir: Path) -> Path:
    """data/voice_messages.json: every voice message found, so transcribe-voice can run on its own later."""
    dest = out_dir / VOICE_LIST_FILE_NAME
    with atomic_file(dest) as tmp:
        tmp.write_text(json.dumps([v.to_json() for v in voice.found], indent=1, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    return dest


def choose_transcription(settings: Settings, voice: VoiceBook) -> str:
    if "transcribe_voice" in settings.explicit:
        return settings.transcribe_voice
    with_files = [v for v in voice.found if v.file]
    if not with_files:
        return settings.transcribe_voice
    minutes = sum(v.seconds for v in with_files) / 60
    mine = sum(v.seconds for v in with_files if v.role == "assistant") / 60
    from .transcription_plan import estimate_for_question

    return ask_choice(tr("The export has {n:,} voice messages with audio ({minutes:,.1f} min, {mine:,.1f} min of "
                         "them yours). Turn them into text with the model? mine = only yours (they become your "
                         "replies; {mine_time}), all = the other side's too ({all_time}), no = leave them out "
                         "(transcribe_voice in settings.toml fixes the answer)", n=len(with_files), minutes=minutes,
                         mine=mine, mine_time=estimate_for_question(mine * 60, settings.path(settings.data_dir)),
                         all_time=estimate_for_question(minutes * 60, settings.path(settings.data_dir))),
                      list(TRANSCRIBE_CHOICES), settings.transcribe_voice)


def transcribe_if_asked(settings: Settings, voice: VoiceBook, out_dir: Path) -> str:
    """Run transcribe-voice when the setting (or the answer) asks; return the choice if the exports must be
    read again with the new transcripts, "" if the first reading stands."""
    if any(v.file for v in voice.found):  # without audio files there is nothing transcribe-voice could do
        write_voice_list(voice, out_dir)
    choice = choose_transcription(settings, voice)
    if choice == "no":
        return ""
    pending = VoiceBook(choice, voice.transcripts, found=voice.found).to_transcribe()
    if not pending:
        return ""
    from .transcription import transcribe_voices  # imported only when it runs: it needs torch

    # prepare-dataset pauses the cycle collector while it builds millions of small objects; torch and the
    # model make reference cycles, so during a long transcription it must run.
    gc_was_paused = not gc.isenabled()
    gc.enable()
    try:
        transcribe_voices(replace(settings, transcribe_voice=choice), out_dir)
    finally:
        if gc_was_paused:
            gc.disable()
    say(tr("Reading the exports again with the voice transcripts."))
    return choice
