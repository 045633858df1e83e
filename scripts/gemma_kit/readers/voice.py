"""Voice and round-video messages of a Telegram export: found by the reader, turned into text when transcribed.

Telegram Desktop writes each one as a message with `media_type` "voice_message" / "video_message", a `file`
path relative to result.json (only when "Voice messages" / "Round video messages" was ticked in the export;
otherwise the text "(File not included. Change data exporting settings to download.)") and `duration_seconds`.
The reader records every one in a `VoiceBook`; a message whose audio has a usable transcript in the cache
(data/voice_transcripts.jsonl, keyed by the audio's content hash) is read as if its text had been typed.
No torch and no audio library here: the dataset step stays fast and runs anywhere.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.language import N_, tr
from ..core.model_files import file_fingerprint

VOICE_MEDIA_TYPES = {"voice_message": "voice", "video_message": "round video"}
TRANSCRIBE_CHOICES = ("no", "mine", "all")
ROLES_TO_TRANSCRIBE = {"no": set(), "mine": {"assistant"}, "all": {"assistant", "user"}}
TRANSCRIPTS_FILE_NAME = "voice_transcripts.jsonl"
VOICE_LIST_FILE_NAME = "voice_messages.json"

SKIP_VOICE_NO_FILE = N_("voice message without its audio file (export without 'Voice messages' ticked)")
SKIP_VOICE_NOT_ASKED = N_("voice message not transcribed (transcribe_voice setting)")
SKIP_VOICE_PENDING = N_("voice message not transcribed yet (transcribe-voice did not finish)")
SKIP_VOICE_UNUSABLE = N_("voice message whose transcript was empty or looked made up")
SKIP_VOICE_UNDECODABLE = N_("voice or round video message whose audio could not be decoded")
VOICE_SKIPS = (SKIP_VOICE_NO_FILE, SKIP_VOICE_NOT_ASKED, SKIP_VOICE_PENDING, SKIP_VOICE_UNUSABLE,
               SKIP_VOICE_UNDECODABLE)
# Cache statuses that are final: the message is not tried again, and is counted under this reason.
UNUSABLE_STATUSES = {"empty": SKIP_VOICE_UNUSABLE, "made_up": SKIP_VOICE_UNUSABLE,
                     "undecodable": SKIP_VOICE_UNDECODABLE}


@dataclass
class VoiceMessage:
    where: str          # "dataset/result.json: chat 'Masha', message 42", for people
    chat: str
    role: str           # "assistant" (the owner's) or "user"
    kind: str           # "voice" or "round video"
    seconds: float
    file: str = ""      # absolute path of the audio, "" when the export does not include it

    def to_json(self) -> dict[str, Any]:
        return {"where": self.where, "chat": self.chat, "role": self.role, "kind": self.kind,
                "seconds": self.seconds, "file": self.file}


def file_digest(path: Path) -> str:
    """The cache key: the audio's content (sha256), so a renamed or re-exported file keeps its transcript."""
    return file_fingerprint(path)


def load_transcripts(path: Path) -> dict[str, dict[str, Any]]:
    """digest -> the cache entry; a last line cut short by Ctrl+C or a crash is ignored (that message is redone)."""
    entries: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return entries
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
                entries[entry["sha256"]] = entry
    return entries


@dataclass
class VoiceBook:
    """What the Telegram reader needs to handle voice messages, and what it found."""

    transcribe: str = "no"                         # the transcribe_voice setting
    transcripts: dict[str, dict[str, Any]] = field(default_factory=dict)  # the cache, by digest
    found: list[VoiceMessage] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    transcribed: int = 0
    _digests: dict[str, str] = field(default_factory=dict)

    def note(self, m: dict, base_dir: Path, role: str, where: str, chat: str) -> tuple[str, str]:
        """Record a voice message; return (its transcript, "") to keep it, or ("", the skip reason)."""
        seconds = m.get("duration_seconds")
        seconds = float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else 0.0
        audio = audio_path_of(m.get("file"), base_dir)
        voice = VoiceMessage(where, chat, role, VOICE_MEDIA_TYPES[m["media_type"]], seconds,
                             str(audio) if audio else "")
        self.found.append(voice)
        reason = self._reason(voice, audio)
        if reason:
            self.skipped[reason] += 1
            return "", reason
        self.transcribed += 1
        return self.transcripts[self._digests[voice.file]]["text"], ""

    def _reason(self, voice: VoiceMessage, audio: Path | None) -> str:
        if audio is None:
            return SKIP_VOICE_NO_FILE
        if voice.role not in ROLES_TO_TRANSCRIBE[self.transcribe]:
            return SKIP_VOICE_NOT_ASKED
        if voice.file not in self._digests:
            try:
                self._digests[voice.file] = file_digest(audio)
            except OSError:  # locked or unreadable: this message is lost, not the whole export
                return SKIP_VOICE_UNDECODABLE
        entry = self.transcripts.get(self._digests[voice.file])
        if entry is None:
            return SKIP_VOICE_PENDING
        if entry.get("status") != "ok":
            return UNUSABLE_STATUSES.get(entry.get("status"), SKIP_VOICE_UNUSABLE)
        return ""

    def for_one_file(self) -> VoiceBook:
        """An empty book with the same setting and cache, merged in only once its file was read to the end."""
        return VoiceBook(self.transcribe, self.transcripts, _digests=self._digests)

    def merge(self, other: VoiceBook) -> None:
        self.found += other.found
        self.skipped.update(other.skipped)
        self.transcribed += other.transcribed

    def to_transcribe(self) -> list[VoiceMessage]:
        wanted = ROLES_TO_TRANSCRIBE[self.transcribe]
        return [v for v in self.found if v.file and v.role in wanted]

    def report(self) -> dict[str, Any]:
        per_chat: dict[str, dict[str, Any]] = {}
        for v in self.found:
            chat = per_chat.setdefault(v.chat, {"found": 0, "with_files": 0, "minutes": 0.0})
            chat["found"] += 1
            chat["with_files"] += bool(v.file)
            chat["minutes"] += v.seconds / 60
        for chat in per_chat.values():
            chat["minutes"] = round(chat["minutes"], 1)
        return {"setting": self.transcribe, "found": len(self.found), "with_files": sum(1 for v in self.found if v.file),
                "transcribed": self.transcribed, "skipped": dict(self.skipped.most_common()),
                "minutes": round(sum(v.seconds for v in self.found) / 60, 1),
                "minutes_with_files": round(sum(v.seconds for v in self.found if v.file) / 60, 1),
                "per_chat": per_chat}


def audio_path_of(value: Any, base_dir: Path) -> Path | None:
    """The audio beside result.json, or None: "File not included..." text, no `file` key, or missing on disk."""
    if not isinstance(value, str) or not value or value.startswith("(File"):
        return None
    try:
        path = Path(value)
        if path.is_absolute() or ".." in path.parts:
            return None  # an export only points inside its own folder; anything else is not ours to open
        path = base_dir / path
        return path if path.is_file() else None
    except (OSError, ValueError):  # a name Windows cannot hold, a NUL byte: no file to read
        return None


def voice_summary(report: dict[str, Any]) -> str:
    """The console line: what is there, and what ticking the export option (or the setting) would add."""
    found, with_files, minutes = report["found"], report["with_files"], report["minutes"]
    if not found:
        return ""
    line = tr("Voice messages: {found:,} found ({minutes:,.1f} min of audio), {with_files:,} with their audio file",
              found=found, minutes=minutes, with_files=with_files)
    if report["transcribed"]:
        line += tr(", {transcribed:,} transcribed and used as text", transcribed=report["transcribed"])
    line += "."
    if with_files < found:
        line += tr(" {missing:,} have no audio file: export again in Telegram Desktop with 'Voice messages' ticked "
                   "to add them (about {minutes:,.1f} min).", missing=found - with_files,
                   minutes=minutes - report["minutes_with_files"])
    elif not report["transcribed"] and with_files:
        line += tr(" Set transcribe_voice = \"mine\" (or \"all\") in settings.toml to turn them into text.")
    return line
