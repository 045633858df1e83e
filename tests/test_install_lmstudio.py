"""Hand-off to LM Studio under a temporary home folder: LM Studio's own folder, link, copy, refresh after a new
conversion, missing folder, Ollama Modelfile."""
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from gemma_kit.cli import main
from gemma_kit.core.lmstudio import RUNTIME_ADVICE, find_models_folder
from gemma_kit.core.settings import load_settings
from gemma_kit.core import lmstudio

INSTALLED = Path("gemma-kit") / "finetuned-gemma-3n" / "finetuned_gemma.gguf"


def use_home(monkeypatch, home: Path) -> None:
    """Path.home() reads HOME on Linux and USERPROFILE on Windows: both point at the temporary home."""
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    assert Path.home() == home


@pytest.fixture
def project(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    use_home(monkeypatch, home)
    gguf = tmp_path / "output" / "finetuned_gemma.gguf"
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF" + os.urandom(4096))
    return tmp_path, home, gguf


def test_links_into_the_lmstudio_layout_on_the_same_drive(project, capsys):
    root, home, gguf = project
    (home / ".lmstudio" / "models").mkdir(parents=True)
    assert main(["--root", str(root), "install-lmstudio"]) == 0
    dest = home / ".lmstudio" / "models" / "gemma-kit" / "finetuned-gemma-3n" / "finetuned_gemma.gguf"
    assert dest.read_bytes() == gguf.read_bytes()
    assert os.path.samefile(dest, gguf)  # a hard link: no second copy on disk
    out = capsys.readouterr().out
    assert "Linked:" in out
    assert f"LM Studio's models folder: {home / '.lmstudio' / 'models'} (LM Studio's default folder)." in out
    assert RUNTIME_ADVICE in out and "обновите" not in out   # one language at a time
    assert 'says "unknown model architecture: gemma3n", update the llama.cpp runtime' in RUNTIME_ADVICE
    assert main(["--root", str(root), "install-lmstudio"]) == 0  # twice is fine
    assert "Already there" in capsys.readouterr().out


def test_the_hand_off_speaks_russian_with_language_ru(project, capsys):
    """The folder LM Studio chose, why, and the runtime advice, in Russian only; LM Studio's own error text and
    the paths stay as they are."""
    root, home, gguf = project
    (home / ".lmstudio" / "models").mkdir(parents=True)
    assert main(["--root", str(root), "--set", "language=ru", "install-lmstudio"]) == 0
    out = capsys.readouterr().out
    folder = home / ".lmstudio" / "models"
    assert f"Папка моделей LM Studio: {folder} (папка LM Studio по умолчанию)." in out
    assert "Создана жёсткая ссылка: " in out
    assert ("Для Gemma 3n нужна свежая среда выполнения LM Studio: если LM Studio пишет «unknown model "
            "architecture: gemma3n», обновите среду llama.cpp") in out
    assert RUNTIME_ADVICE not in out and "Open LM Studio" not in out


def test_copies_when_a_link_is_impossible(project, capsys, monkeypatch):
    root, home, gguf = project
    (home / ".cache" / "lm-studio" / "models").mkdir(parents=True)  # the older location

    def refuse_link(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(lmstudio.os, "link", refuse_link)
    assert main(["--root", str(root), "install-lmstudio"]) == 0
    dest = home / ".cache" / "lm-studio" / "models" / "gemma-kit" / "finetuned-gemma-3n" / "finetuned_gemma.gguf"
    assert dest.read_bytes() == gguf.read_bytes() and not os.path.samefile(dest, gguf)
    assert "Copied:" in capsys.readouterr().out
    assert not list(dest.parent.glob("*.partial"))


def test_without_lmstudio_explains_the_manual_import(project, capsys):
    root, home, gguf = project
    assert main(["--root", str(root), "install-lmstudio"]) == 0
    out = capsys.readouterr().out
    assert "was not found" in out and "My Models -> Import" in out and str(gguf) in out
    assert RUNTIME_ADVICE not in out


def test_the_settings_folder_wins(project, tmp_path):
    root, home, gguf = project
    (home / ".lmstudio" / "models").mkdir(parents=True)
    write_lmstudio_settings(home / ".lmstudio", {"downloadsFolder": str(home / ".lmstudio" / "models")})
    settings = load_settings(root, cli_pairs=['lmstudio_models_dir="elsewhere"'])
    assert find_models_folder(settings).path == root / "elsewhere"


def write_lmstudio_settings(lmstudio_home: Path, values: dict) -> None:
    lmstudio_home.mkdir(parents=True, exist_ok=True)
    (lmstudio_home / "settings.json").write_text(json.dumps({"theme": "dark", **values}), encoding="utf-8")


def test_lm_studio_s_own_models_folder_setting_is_followed(project, capsys):
    """A user who moved My Models to another drive: LM Studio's settings.json names it (downloadsFolder)."""
    root, home, gguf = project
    (home / ".lmstudio" / "models").mkdir(parents=True)      # the default exists too, and must lose
    moved = root / "D" / "LLM models"
    moved.mkdir(parents=True)
    write_lmstudio_settings(home / ".lmstudio", {"downloadsFolder": str(moved)})
    assert main(["--root", str(root), "install-lmstudio"]) == 0
    assert (moved / INSTALLED).read_bytes() == gguf.read_bytes()
    assert not (home / ".lmstudio" / "models" / INSTALLED).exists()
    out = capsys.readouterr().out
    assert (f"LM Studio's models folder: {moved} (LM Studio's own setting: downloadsFolder in "
            f"{home / '.lmstudio' / 'settings.json'}).") in out


def test_a_moved_lm_studio_home_is_found_through_its_pointer_file(project, capsys):
    root, home, gguf = project
    moved_home = root / "E" / "lmstudio"
    (moved_home / "models").mkdir(parents=True)
    (home / ".lmstudio-home-pointer").write_text(f"{moved_home}\n", encoding="utf-8")
    assert main(["--root", str(root), "install-lmstudio"]) == 0
    assert (moved_home / "models" / INSTALLED).read_bytes() == gguf.read_bytes()
    assert f"LM Studio's home is {moved_home}, named in {home / '.lmstudio-home-pointer'}" in capsys.readouterr().out

    elsewhere = root / "F" / "models"                      # and the moved home's own settings.json wins over it
    elsewhere.mkdir(parents=True)
    write_lmstudio_settings(moved_home, {"downloadsFolder": str(elsewhere)})
    assert main(["--root", str(root), "install-lmstudio"]) == 0
    assert (elsewhere / INSTALLED).read_bytes() == gguf.read_bytes()


def test_a_models_folder_setting_that_is_gone_or_unreadable_is_said_and_the_default_used(project, capsys):
    root, home, gguf = project
    (home / ".lmstudio" / "models").mkdir(parents=True)
    write_lmstudio_settings(home / ".lmstudio", {"downloadsFolder": str(root / "unplugged drive" / "models")})
    assert main(["--root", str(root), "install-lmstudio"]) == 0
    captured = capsys.readouterr()
    assert f"name {root / 'unplugged drive' / 'models'} as its models folder, but that folder does not exist" \
        in captured.err
    assert (home / ".lmstudio" / "models" / INSTALLED).exists()

    (home / ".lmstudio" / "settings.json").write_text("{not json", encoding="utf-8")
    assert main(["--root", str(root), "install-lmstudio"]) == 0
    assert "could not read LM Studio's settings file" in capsys.readouterr().err

    (home / ".lmstudio-home-pointer").write_text(str(root / "gone"), encoding="utf-8")
    assert main(["--root", str(root), "install-lmstudio"]) == 0
    assert f"names {root / 'gone'} as LM Studio's home, but that folder does not exist" in capsys.readouterr().err
    assert (home / ".lmstudio" / "models" / INSTALLED).exists()


def test_the_hand_off_after_a_new_file_replaces_the_old_link(project, capsys):
    """The conversion renames a new file onto output/finetuned_gemma.gguf: the link in LM Studio's folder still
    has the old file's data until the hand-off replaces it."""
    root, home, gguf = project
    (home / ".lmstudio" / "models").mkdir(parents=True)
    assert main(["--root", str(root), "install-lmstudio"]) == 0
    dest = home / ".lmstudio" / "models" / INSTALLED
    new = gguf.with_name("new.partial")
    new.write_bytes(b"GGUF" + os.urandom(5000))
    os.replace(new, gguf)                                   # what atomic_file does at the end of a conversion
    assert dest.read_bytes() != gguf.read_bytes()
    (dest.parent / (dest.name + ".partial")).write_bytes(b"left by a crash")
    assert main(["--root", str(root), "install-lmstudio"]) == 0
    assert dest.read_bytes() == gguf.read_bytes() and os.path.samefile(dest, gguf)
    assert "Linked:" in capsys.readouterr().out


def test_modelfile_has_the_gemma_template_and_stop_token(project):
    root, home, gguf = project
    assert main(["--root", str(root), "install-lmstudio"]) == 0
    text = (gguf.parent / "Modelfile").read_text()
    assert text.startswith("FROM ./finetuned_gemma.gguf\n")
    assert "<start_of_turn>user" in text and "<start_of_turn>model" in text
    assert 'PARAMETER stop "<end_of_turn>"' in text


def test_missing_gguf_is_a_plain_error(tmp_path, capsys):
    assert main(["--root", str(tmp_path), "install-lmstudio"]) == 1
    assert "Run convert_to_gguf.bat first" in capsys.readouterr().err


def test_each_new_conversion_reaches_lm_studio_s_folder(tiny_model_dir, tmp_path, monkeypatch, capsys):
    """issue 18: LM Studio keeps its models on another drive (its settings.json says so); after the first
    hand-off, a new conversion by convert_to_gguf.bat (which offers the hand-off) or by convert_only.bat (which
    does not) leaves LM Studio with exactly the new file."""
    home = tmp_path / "home"
    use_home(monkeypatch, home)
    moved = tmp_path / "D" / "models"
    moved.mkdir(parents=True)
    write_lmstudio_settings(home / ".lmstudio", {"downloadsFolder": str(moved)})
    shutil.copytree(tiny_model_dir, tmp_path / "output" / "merged_model")
    monkeypatch.setattr("sys.stdin", open(os.devnull))
    root, gguf, installed = str(tmp_path), tmp_path / "output" / "finetuned_gemma.gguf", moved / INSTALLED

    assert main(["--root", root, "convert-gguf", "--no-check"]) == 0
    assert main(["--root", root, "install-lmstudio"]) == 0
    first = installed.read_bytes()
    assert first == gguf.read_bytes()

    assert main(["--root", root, "convert-gguf", "--no-check", "--type", "f16", "--offer-lmstudio"]) == 0
    second = gguf.read_bytes()
    assert second != first and installed.read_bytes() == second
    assert "Linked:" in capsys.readouterr().out

    assert main(["--root", root, "convert-gguf", "--no-check", "--type", "f32"]) == 0   # convert_only.bat
    third = gguf.read_bytes()
    assert third != second and installed.read_bytes() == third
    assert ("LM Studio's copy of the previous conversion was replaced with the new file (linked): "
            f"{installed}") in capsys.readouterr().out
    assert main(["--root", root, "install-lmstudio"]) == 0
    assert "Already there" in capsys.readouterr().out and installed.read_bytes() == third


def test_a_conversion_of_another_file_never_replaces_lm_studio_s_model(project, tiny_model_dir, capsys):
    """The demo writes output/demo/finetuned_gemma.gguf, a file of the same name as the real model's: LM Studio's
    copy follows only the file it was made from (output/finetuned_gemma.lmstudio.json records it)."""
    root, home, gguf = project
    (home / ".lmstudio" / "models").mkdir(parents=True)
    assert main(["--root", str(root), "install-lmstudio"]) == 0
    assert json.loads(gguf.with_name("finetuned_gemma.lmstudio.json").read_text()) == {
        "lmstudio_file": str(home / ".lmstudio" / "models" / INSTALLED)}
    demo = root / "output" / "demo" / "finetuned_gemma.gguf"
    assert main(["--root", str(root), "convert-gguf", "--input", str(tiny_model_dir), "--output", str(demo),
                 "--no-check"]) == 0
    assert (home / ".lmstudio" / "models" / INSTALLED).read_bytes() == gguf.read_bytes()
    assert "replaced with the new file" not in capsys.readouterr().out


# ---- lmstudio_try_reply: LM Studio's own `lms` loads the model and answers -----------------------------
# LM Studio cannot run here, so a stand-in `lms` on PATH records its arguments and answers as lms does
# (lmstudio-ai/lms: src/subcommands/load.ts, chat.ts).
FAKE_LMS = '''#!{python}
import json, os, sys
with open(os.environ["FAKE_LMS_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({{"args": sys.argv[1:], "stdin_closed": sys.stdin.read() == ""}}) + "\\n")
if sys.argv[1] == "load" and os.environ["FAKE_LMS_MODE"] == "old runtime":
    print("Loading gemma-kit/finetuned-gemma-3n/finetuned_gemma.gguf")
    print("Error: Failed to load model. error loading model architecture: unknown model architecture: 'gemma3n'",
          file=sys.stderr)
    sys.exit(1)
if sys.argv[1] == "chat":
    print("Hi! I am fine, thank you.")
'''


@pytest.fixture
def fake_lms(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    lms = bin_dir / "lms"
    lms.write_text(FAKE_LMS.format(python=sys.executable), encoding="utf-8")
    lms.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LMS_LOG", str(tmp_path / "lms_calls.jsonl"))
    monkeypatch.setenv("FAKE_LMS_MODE", "works")

    def calls() -> list[dict]:
        return [json.loads(line) for line in (tmp_path / "lms_calls.jsonl").read_text().splitlines()]
    return calls


def test_lm_studio_s_lms_loads_the_model_and_answers_when_asked_to(project, fake_lms, capsys):
    root, home, gguf = project
    (home / ".lmstudio" / "models").mkdir(parents=True)
    assert main(["--root", str(root), "install-lmstudio"]) == 0
    assert not (root / "lms_calls.jsonl").exists()                       # off by default
    assert main(["--root", str(root), "--set", "lmstudio_try_reply=true", "install-lmstudio"]) == 0
    assert [c["args"] for c in fake_lms()] == [
        ["load", "gemma-kit/finetuned-gemma-3n", "--identifier", "gemma-kit-try", "--yes"],
        ["chat", "gemma-kit-try", "--prompt", "Привет! How are you today?"],
        ["unload", "gemma-kit-try"]]
    assert all(c["stdin_closed"] for c in fake_lms())
    assert "LM Studio loaded the model and answered: 'Hi! I am fine, thank you.'" in capsys.readouterr().out


def test_an_lm_studio_too_old_for_gemma_3n_is_an_error_with_the_runtime_advice(project, fake_lms, capsys,
                                                                             monkeypatch):
    root, home, gguf = project
    (home / ".lmstudio" / "models").mkdir(parents=True)
    monkeypatch.setenv("FAKE_LMS_MODE", "old runtime")
    assert main(["--root", str(root), "--set", "lmstudio_try_reply=true", "install-lmstudio"]) == 1
    err = capsys.readouterr().err
    assert "unknown model architecture: 'gemma3n'" in err and "Error: LM Studio could not load " in err
    assert f"What to do: {RUNTIME_ADVICE}" in err
    assert [c["args"][0] for c in fake_lms()] == ["load", "unload"]


def test_without_lms_the_try_is_skipped_with_a_reason(project, capsys, monkeypatch, tmp_path):
    root, home, gguf = project
    (home / ".lmstudio" / "models").mkdir(parents=True)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert main(["--root", str(root), "--set", "lmstudio_try_reply=true", "install-lmstudio"]) == 0
    assert "the model was not tried in LM Studio: load it there by hand" in capsys.readouterr().out
