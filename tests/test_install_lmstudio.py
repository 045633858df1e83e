"""Hand-off to LM Studio under a temporary home folder: link, copy, missing folder, Ollama Modelfile."""
import os

import pytest

from gemma_kit.cli import main
from gemma_kit.core.settings import load_settings
from gemma_kit.steps import install_lmstudio
from gemma_kit.steps.install_lmstudio import find_lmstudio_models_dir


@pytest.fixture
def project(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
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
    assert "Linked:" in capsys.readouterr().out
    assert main(["--root", str(root), "install-lmstudio"]) == 0  # twice is fine
    assert "Already there" in capsys.readouterr().out


def test_copies_when_a_link_is_impossible(project, capsys, monkeypatch):
    root, home, gguf = project
    (home / ".cache" / "lm-studio" / "models").mkdir(parents=True)  # the older location

    def refuse_link(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(install_lmstudio.os, "link", refuse_link)
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


def test_the_settings_folder_wins(project, tmp_path):
    root, home, gguf = project
    (home / ".lmstudio" / "models").mkdir(parents=True)
    settings = load_settings(root, cli_pairs=['lmstudio_models_dir="elsewhere"'])
    assert find_lmstudio_models_dir(settings) == root / "elsewhere"


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
