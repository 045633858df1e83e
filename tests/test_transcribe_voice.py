"""Telegram voice messages -> text (issue 21): found, cut, transcribed by the tiny model's audio tower, cached.

The export is generated here with real OGG/Opus files written by soundfile; the tiny model (with_audio=True)
runs its Conformer on them and answers " да" (core/tiny_gemma.py says why it always says that word).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gemma_kit.audio.decode import SAMPLE_RATE, Undecodable, decode_audio, split_at_quiet_points
from gemma_kit.audio.transcriber import Transcriber, judge_transcript
from gemma_kit.cli import main
from gemma_kit.readers.voice import SKIP_VOICE_NO_FILE, SKIP_VOICE_NOT_ASKED, SKIP_VOICE_UNDECODABLE, \
    audio_path_of

soundfile = pytest.importorskip("soundfile")

OWNER, PARTNER = ("Alex", "user111"), ("Masha", "user222")
LONG_SECONDS = 70


@pytest.fixture(scope="module")
def tiny_audio_model(tmp_path_factory) -> Path:
    from gemma_kit.core.tiny_gemma import build_tiny_gemma3n

    return build_tiny_gemma3n(tmp_path_factory.mktemp("tiny_audio") / "gemma-3n-tiny", dtype="float32",
                              num_shards=1, with_audio=True)


def speech_like(seconds: float, pauses_at: tuple[float, ...] = (), seed: int = 0) -> np.ndarray:
    """Voiced bursts (a 180 Hz buzz with syllable-rate loudness) with a 0.6 s silence at each pause."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    rng = np.random.default_rng(seed)
    signal = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    signal += 0.02 * rng.standard_normal(len(t))
    for at in pauses_at:
        signal[int(at * SAMPLE_RATE):int((at + 0.6) * SAMPLE_RATE)] *= 0.001
    return signal.astype(np.float32)


def write_opus(path: Path, samples: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), samples, SAMPLE_RATE, format="OGG", subtype="OPUS")


def voice(msg_id: int, who: tuple[str, str], file: str, seconds: int, clock: int) -> dict:
    return {"id": msg_id, "type": "message", "date": "2024-01-01T00:00:00", "date_unixtime": str(clock),
            "from": who[0], "from_id": who[1], "file": file, "media_type": "voice_message",
            "mime_type": "audio/ogg", "duration_seconds": seconds, "text": ""}


def make_export(root: Path, model_dir: Path) -> Path:
    """One chat: text, the owner's voice messages (3 s, 70 s, one whose file is missing, one not exported),
    and one of the partner's."""
    chat = root / "dataset" / "ChatExport_2024-01-01"
    write_opus(chat / "voice_messages" / "audio_1@01-01-2024_10-00-00.ogg", speech_like(3, seed=1))
    write_opus(chat / "voice_messages" / "audio_2@01-01-2024_10-02-00.ogg",
               speech_like(LONG_SECONDS, pauses_at=(27.0, 53.5), seed=2))
    write_opus(chat / "voice_messages" / "audio_3@01-01-2024_10-03-00.ogg", speech_like(4, seed=3))
    texts = [(PARTNER, "привет! как ты?"), (OWNER, None, "audio_1@01-01-2024_10-00-00.ogg", 3),
             (PARTNER, "расскажи подробнее"), (OWNER, None, "audio_2@01-01-2024_10-02-00.ogg", LONG_SECONDS),
             (PARTNER, None, "audio_3@01-01-2024_10-03-00.ogg", 4), (PARTNER, "понятно, а потом?"),
             (OWNER, None, "audio_9@01-01-2024_10-05-00.ogg", 5), (OWNER, "потом домой"),
             (PARTNER, "ок"), (OWNER, None, "(File not included. Change data exporting settings to download.)", 6),
             (PARTNER, "до завтра"), (OWNER, "пока!")]
    messages, clock = [], 1_700_000_000
    for i, item in enumerate(texts, start=1):
        clock += 30
        if item[1] is None:
            file = item[2] if item[2].startswith("(") else f"voice_messages/{item[2]}"
            messages.append(voice(i, item[0], file, item[3], clock))
        else:
            messages.append({"id": i, "type": "message", "date": "2024-01-01T00:00:00", "date_unixtime": str(clock),
                             "from": item[0][0], "from_id": item[0][1], "text": item[1]})
    # A second dialog a day later, so there is one to keep aside for evaluation.
    for i, (who, text) in enumerate([(PARTNER, "доброе утро"), (OWNER, "привет")], start=len(messages) + 1):
        messages.append({"id": i, "type": "message", "date": "2024-01-02T09:00:00",
                         "date_unixtime": str(clock + 86_400 + i), "from": who[0], "from_id": who[1], "text": text})
    export = {"name": PARTNER[0], "type": "personal_chat", "id": 222, "messages": messages}
    (chat / "result.json").write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    (root / "settings.toml").write_text(f"[model]\nmodel_path = '{model_dir}'\n", encoding="utf-8")
    return root


def prepare(root: Path, capsys, *extra: str) -> tuple[int, str]:
    code = main(["--root", str(root), "prepare-dataset", "--mode", "instruct", *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def cache_lines(root: Path) -> list[dict]:
    path = root / "data" / "voice_transcripts.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def all_turns(root: Path) -> list[tuple[str, str]]:
    turns = []
    for name in ("train_dataset.jsonl", "eval_dataset.jsonl"):
        for line in (root / "data" / name).read_text(encoding="utf-8").splitlines():
            turns += [(m["role"], m["content"]) for m in json.loads(line)["messages"]]
    return turns


@pytest.mark.slow
def test_owner_voice_messages_become_assistant_turns_and_the_cache_is_reused(tiny_audio_model, tmp_path, capsys):
    root = make_export(tmp_path, tiny_audio_model)
    code, out = prepare(root, capsys, "--set", "transcribe_voice=mine")
    assert code == 0, out

    entries = cache_lines(root)
    assert sorted(e["pieces"] for e in entries) == [1, 3]  # the 70 s message in 3 pieces; the partner's not there
    assert all(e["status"] == "ok" for e in entries)
    assert sorted(e["text"] for e in entries) == ["да", "да да да"]  # one word per piece, in order
    assert sorted(e["file"] for e in entries) == ["audio_1@01-01-2024_10-00-00.ogg", "audio_2@01-01-2024_10-02-00.ogg"]
    turns = all_turns(root)
    assert ("assistant", "да") in turns  # the 3 s message alone between two of the partner's texts
    assert ("assistant", "да да да") in turns
    assert sum(c.count("да") for r, c in turns if r == "assistant") == 4
    assert not any("да" == c for r, c in turns if r == "user")

    report = json.loads((root / "data" / "dataset_report.json").read_text(encoding="utf-8"))
    assert report["voice"]["found"] == 5 and report["voice"]["with_files"] == 3
    assert report["voice"]["transcribed"] == 2
    assert report["voice"]["skipped"] == {SKIP_VOICE_NO_FILE: 2, SKIP_VOICE_NOT_ASKED: 1}
    assert report["voice"]["minutes"] == round((3 + LONG_SECONDS + 4 + 5 + 6) / 60, 1)
    assert report["messages"]["read"] == report["messages"]["kept"] + report["messages"]["skipped"]
    assert "Voice messages: 5 found" in out and "2 transcribed and used as text" in out
    assert "'Voice messages' ticked" in out

    before = (root / "data" / "voice_transcripts.jsonl").read_bytes()
    code, out = prepare(root, capsys, "--set", "transcribe_voice=mine")
    assert code == 0, out
    assert "already in voice_transcripts.jsonl; the model is not loaded" in out
    assert (root / "data" / "voice_transcripts.jsonl").read_bytes() == before
    assert sum(c.count("да") for r, c in all_turns(root) if r == "assistant") == 4


@pytest.mark.slow
def test_an_interrupted_transcription_resumes_where_it_stopped(tiny_audio_model, tmp_path, capsys, monkeypatch):
    root = make_export(tmp_path, tiny_audio_model)
    code, out = prepare(root, capsys, "--set", "transcribe_voice=no")
    assert code == 0 and not cache_lines(root)
    assert (root / "data" / "voice_messages.json").exists()

    real = Transcriber.transcribe
    calls = []

    def ctrl_c_on_the_second_batch(self, pieces):
        calls.append(len(pieces))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, pieces)

    monkeypatch.setattr(Transcriber, "transcribe", ctrl_c_on_the_second_batch)
    step = ["--root", str(root), "transcribe-voice", "--set", "transcribe_voice=mine", "--batch-size", "1"]
    assert main(step) == 130
    assert "run again to continue" in capsys.readouterr().out
    assert [e["file"] for e in cache_lines(root)] == ["audio_1@01-01-2024_10-00-00.ogg"]  # the shortest first

    monkeypatch.setattr(Transcriber, "transcribe", real)
    assert main(step) == 0
    assert "1 voice messages are already transcribed (voice_transcripts.jsonl); 1 to go." in capsys.readouterr().out
    assert sorted(e["pieces"] for e in cache_lines(root)) == [1, 3]


def test_a_long_message_is_cut_at_its_pauses_into_pieces_of_at_most_30_s():
    pieces = split_at_quiet_points(speech_like(LONG_SECONDS, pauses_at=(27.0, 53.5)))
    lengths = [len(p) / SAMPLE_RATE for p in pieces]
    assert len(pieces) == 3 and max(lengths) <= 30
    assert abs(lengths[0] - 27.3) < 0.35 and abs(sum(lengths[:2]) - 53.8) < 0.35  # inside each pause
    assert sum(len(p) for p in pieces) == LONG_SECONDS * SAMPLE_RATE  # nothing lost at the cuts


def test_opus_is_decoded_to_16_khz_mono_and_a_round_video_mp4_is_undecodable(tmp_path):
    path = tmp_path / "a.ogg"
    soundfile.write(str(path), np.stack([speech_like(2)] * 2, axis=1), 48_000, format="OGG", subtype="OPUS")
    samples = decode_audio(path)
    assert samples.ndim == 1 and samples.dtype == np.float32
    assert abs(len(samples) / SAMPLE_RATE - 2 / 3) < 0.05  # 2 s of samples written at 48 kHz = 2/3 s
    mp4 = tmp_path / "round.mp4"
    mp4.write_bytes(b"\x00\x00\x00\x20ftypisom" + bytes(200))
    with pytest.raises(Undecodable):
        decode_audio(mp4)


@pytest.mark.parametrize("text, seconds, ran_out, status", [
    ("", 5, False, "empty"),
    ("   ", 5, False, "empty"),
    ("ну я короче завтра приду к тебе", 4, False, "ok"),
    ("спасибо спасибо спасибо спасибо спасибо спасибо", 5, False, "made_up"),
    ("и вот и вот и вот и вот и вот и вот и вот и вот и вот", 10, False, "made_up"),
    ("слово " * 60, 2, False, "made_up"),  # 360 characters for 2 s of audio
    ("нормальная фраза", 3, True, "made_up"),  # never reached the end of its turn
])
def test_transcript_checks(text, seconds, ran_out, status):
    assert judge_transcript(text, seconds, ran_out).status == status


def test_audio_path_is_taken_only_inside_the_export_and_only_when_the_file_is_there(tmp_path):
    (tmp_path / "voice_messages").mkdir()
    (tmp_path / "voice_messages" / "a.ogg").write_bytes(b"x")
    assert audio_path_of("voice_messages/a.ogg", tmp_path) == tmp_path / "voice_messages" / "a.ogg"
    for value in ("voice_messages/missing.ogg", "(File not included. Change data exporting settings to download.)",
                  "../outside.ogg", str(tmp_path / "voice_messages" / "a.ogg"), None, 42, "bad\x00name"):
        assert audio_path_of(value, tmp_path) is None, value


def test_the_gguf_plan_leaves_the_runnable_audio_tower_out(tiny_audio_model):
    from gemma_kit.core.model_files import index_tensors
    from gemma_kit.gguf_gemma3n.conversion_plan import plan_conversion

    audio = {n for n in index_tensors(tiny_audio_model) if n.startswith(("model.audio_tower.", "model.embed_audio."))}
    assert len(audio) > 50  # a real Conformer, not the six stub tensors
    plan = plan_conversion(tiny_audio_model, "f32")
    assert audio <= set(plan.skipped)
    assert not any("audio" in t.name for t in plan.tensors)


def test_without_a_terminal_the_question_takes_no_and_says_so(tiny_audio_model, tmp_path, capsys):
    root = make_export(tmp_path, tiny_audio_model)
    code, out = prepare(root, capsys)
    assert code == 0, out
    assert "3 voice messages with audio (1.3 min, 1.2 min of them yours)" in out
    # How long each answer would take here: no GPU in CI, no earlier run, so a range for the CPU, said to be a guess.
    assert "they become your replies; roughly " in out and "on this computer's CPU (a guess" in out
    assert "using the default 'no' (no terminal to ask)" in out
    assert not cache_lines(root)
    report = json.loads((root / "data" / "dataset_report.json").read_text(encoding="utf-8"))
    assert report["voice"]["skipped"] == {SKIP_VOICE_NOT_ASKED: 3, SKIP_VOICE_NO_FILE: 2}
    assert 'Set transcribe_voice = "mine"' not in out  # missing files: the export hint comes first


@pytest.mark.slow
def test_a_round_video_that_cannot_be_decoded_is_counted_not_fatal(tiny_audio_model, tmp_path, capsys):
    root = make_export(tmp_path, tiny_audio_model)
    chat = root / "dataset" / "ChatExport_2024-01-01"
    export = json.loads((chat / "result.json").read_text(encoding="utf-8"))
    (chat / "round_video_messages").mkdir()
    (chat / "round_video_messages" / "file_1.mp4").write_bytes(b"\x00\x00\x00\x20ftypisom" + bytes(500))
    export["messages"].insert(1, {**voice(99, OWNER, "round_video_messages/file_1.mp4", 7, 1_700_000_010),
                                  "media_type": "video_message", "mime_type": "video/mp4"})
    (chat / "result.json").write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    code, out = prepare(root, capsys, "--set", "transcribe_voice=mine")
    assert code == 0, out
    assert "1 audio files could not be decoded (round videos are MP4" in out
    report = json.loads((root / "data" / "dataset_report.json").read_text(encoding="utf-8"))
    assert report["voice"]["skipped"][SKIP_VOICE_UNDECODABLE] == 1
    assert report["voice"]["transcribed"] == 2


def test_a_made_up_transcript_in_the_cache_is_counted_and_not_retried(tmp_path, capsys):
    from gemma_kit.readers.voice import SKIP_VOICE_UNUSABLE, file_digest

    root = make_export(tmp_path, tmp_path / "no-model-needed")
    audio = sorted((root / "dataset" / "ChatExport_2024-01-01" / "voice_messages").glob("audio_[12]@*.ogg"))
    lines = [{"sha256": file_digest(audio[0]), "status": "ok", "text": "ну привет", "pieces": 1},
             {"sha256": file_digest(audio[1]), "status": "made_up", "text": "спасибо " * 50, "pieces": 3}]
    (root / "data").mkdir()
    (root / "data" / "voice_transcripts.jsonl").write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines) + '{"sha256": "cut sho', "utf-8")
    code, out = prepare(root, capsys, "--set", "transcribe_voice=mine")
    assert code == 0, out
    assert "the model is not loaded" in out  # the model folder does not even exist
    report = json.loads((root / "data" / "dataset_report.json").read_text(encoding="utf-8"))
    assert report["voice"]["transcribed"] == 1
    assert report["voice"]["skipped"][SKIP_VOICE_UNUSABLE] == 1
    assert ("assistant", "ну привет") in all_turns(root)
    assert not any("спасибо" in c for _, c in all_turns(root))
