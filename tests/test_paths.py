"""Atomic writes: a crash or a locked file never leaves a result that looks finished, nor loses the old one."""
import os

import pytest

from gemma_kit.core import paths
from gemma_kit.core.console import UserError
from gemma_kit.core.paths import atomic_file, atomic_folder


def test_atomic_file_appears_only_when_complete(tmp_path):
    dest = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_file(dest) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert not dest.exists() and not list(tmp_path.iterdir())
    with atomic_file(dest) as tmp:
        tmp.write_text("whole")
    assert dest.read_text() == "whole" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_folder_replaces_the_old_result_only_at_the_end(tmp_path):
    dest = tmp_path / "merged"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_folder(dest) as tmp:
            (tmp / "new.txt").write_text("new")
            raise RuntimeError("crash")
    assert (dest / "old.txt").exists() and not (tmp_path / "merged.partial").exists()
    with atomic_folder(dest) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in dest.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged"]


def test_a_locked_folder_keeps_the_old_result_and_explains(tmp_path, monkeypatch):
    dest = tmp_path / "merged"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    real_replace = os.replace
    calls = []

    def second_rename_locked(src, dst):
        calls.append((src, dst))
        if len(calls) == 2:  # the new folder onto its final name: Windows Defender holds a file in it
            raise PermissionError(13, "Access is denied", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(paths.os, "replace", second_rename_locked)
    with pytest.raises(UserError) as e:
        with atomic_folder(dest) as tmp:
            (tmp / "new.txt").write_text("new")
    assert "another program is using it" in e.value.message and "Explorer" in e.value.hint
    assert (dest / "old.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged"]


def test_a_file_held_open_by_lm_studio_is_a_plain_error(tmp_path, monkeypatch):
    def locked(src, dst):
        raise PermissionError(13, "Access is denied", str(dst))

    monkeypatch.setattr(paths.os, "replace", locked)
    with pytest.raises(UserError) as e:
        with atomic_file(tmp_path / "model.gguf") as tmp:
            tmp.write_bytes(b"GGUF")
    assert "LM Studio" in e.value.hint and not list(tmp_path.iterdir())
