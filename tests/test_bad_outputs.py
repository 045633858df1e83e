"""Issue 19, the other side of bad input: outputs that cannot be written, half-done folder swaps, settings
files from Windows Notepad, damaged safetensors headers and checkpoints. Each ends in exit 0 or a plain
`Error:` naming the file, never a traceback.
"""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest

from gemma_kit.cli import main
from gemma_kit.core.paths import atomic_folder, finish_interrupted_swap


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.out, captured.err


def small_dataset(root: Path) -> None:
    records = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
               for i in range(4)]
    (root / "dataset").mkdir(parents=True)
    (root / "dataset" / "chat.json").write_text(json.dumps(records), encoding="utf-8")


def read_only_folder(tmp_path: Path) -> Path:
    """A folder nothing can be written into. root ignores file modes, so for root: /sys, read-only to everyone."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


# ---- outputs that cannot be written -----------------------------------------------------------------------------
def test_prepare_dataset_output_that_is_an_existing_file_is_a_user_error(tmp_path, capsys):
    small_dataset(tmp_path)
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    code, _, err = run(capsys, "--root", str(tmp_path), "prepare-dataset", "--mode", "instruct",
                       "--output", str(tmp_path / "notes.txt"))
    assert code == 1
    assert f"Error: Cannot create the folder {tmp_path / 'notes.txt'}: {tmp_path / 'notes.txt'} is a file" in err
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("inside", [False, True])
def test_prepare_dataset_into_a_read_only_folder_is_a_user_error(tmp_path, capsys, inside):
    small_dataset(tmp_path)
    locked = read_only_folder(tmp_path)
    out = locked / "data" if inside else locked
    code, _, err = run(capsys, "--root", str(tmp_path), "prepare-dataset", "--mode", "instruct", "--output", str(out))
    assert code == 1
    assert f"Error: Cannot {'create' if inside else 'write into'} the folder {out}: " in err
    assert "What to do: Choose another output folder (--output)" in err


def test_convert_gguf_output_that_cannot_be_written_is_a_user_error(tmp_path, capsys):
    merged = tmp_path / "merged"
    merged.mkdir()
    (tmp_path / "a_file").write_text("x", encoding="utf-8")
    for dest, words in ((tmp_path / "a_file" / "model.gguf", "is a file, not a folder"),
                        (read_only_folder(tmp_path) / "model.gguf", "Cannot write into the folder")):
        code, _, err = run(capsys, "--root", str(tmp_path), "convert-gguf", "--input", str(merged),
                           "--output", str(dest))
        assert code == 1
        assert words in err and err.startswith("Error: ")


# ---- a kill between the two renames of a folder output -----------------------------------------------------------
def make_folder(path: Path, marker: str) -> Path:
    path.mkdir(parents=True)
    (path / "model.safetensors").write_text(marker, encoding="utf-8")
    return path


def test_an_interrupted_swap_with_the_new_folder_complete_is_finished(tmp_path):
    dest = tmp_path / "merged_model"
    make_folder(tmp_path / "merged_model.old", "old")
    make_folder(tmp_path / "merged_model.partial", "new")
    assert "Finished replacing" in finish_interrupted_swap(dest)
    assert (dest / "model.safetensors").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged_model"]


def test_an_interrupted_swap_without_the_new_folder_puts_the_old_one_back(tmp_path):
    dest = tmp_path / "merged_model"
    make_folder(tmp_path / "merged_model.old", "old")
    assert "Put " in finish_interrupted_swap(dest)
    assert (dest / "model.safetensors").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged_model"]


def test_an_old_copy_left_beside_the_result_is_removed_by_the_next_write(tmp_path, capsys):
    dest = make_folder(tmp_path / "merged_model", "current")
    make_folder(tmp_path / "merged_model.old", "old")
    with atomic_folder(dest) as tmp:
        (tmp / "model.safetensors").write_text("newer", encoding="utf-8")
    assert "Removed" in capsys.readouterr().out
    assert (dest / "model.safetensors").read_text(encoding="utf-8") == "newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged_model"]


def test_atomic_folder_finishes_a_half_done_swap_before_clearing_its_temporary_name(tmp_path, capsys):
    dest = tmp_path / "merged_model"
    make_folder(tmp_path / "merged_model.old", "old")
    make_folder(tmp_path / "merged_model.partial", "new")
    with atomic_folder(dest) as tmp:
        assert not any(tmp.iterdir())
        (tmp / "model.safetensors").write_text("newest", encoding="utf-8")
    assert "Finished replacing" in capsys.readouterr().out
    assert (dest / "model.safetensors").read_text(encoding="utf-8") == "newest"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merged_model"]


def test_convert_gguf_finds_the_merged_model_of_an_interrupted_swap(tmp_path, capsys):
    make_folder(tmp_path / "output" / "merged_model.old", "old")
    make_folder(tmp_path / "output" / "merged_model.partial", "new")
    code, out, err = run(capsys, "--root", str(tmp_path), "convert-gguf")
    assert "Finished replacing" in out
    assert code == 1 and "does not exist" not in err
    assert "has no config.json" in err  # the (fake) model itself is what is missing now


# ---- settings -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pair, words", [
    ("seed=-5", "'seed' must be a whole number from 0 to 4294967295, not -5"),
    ("seed=4294967296", "'seed' must be a whole number from 0 to 4294967295, not 4294967296"),
    ("weight_decay=inf", "'weight_decay' must be 0 or more (a finite number), not inf"),
    ("weight_decay=nan", "'weight_decay' must be 0 or more (a finite number), not nan"),
    ("max_grad_norm=inf", "'max_grad_norm' must be 0 (no clipping) or more (a finite number), not inf"),
    ("learning_rate=nan", "'learning_rate' must be above 0 and below 1"),
    ("max_seq_length=100000000", "'max_seq_length' must be from 32 to 32768"),
])
def test_numeric_settings_out_of_range_are_refused_at_load(tmp_path, capsys, pair, words):
    code, _, err = run(capsys, "--root", str(tmp_path), "--set", pair, "prepare-dataset")
    assert code == 1
    assert f"command line: {words}" in err


def test_a_settings_file_out_of_range_names_the_file(tmp_path, capsys):
    (tmp_path / "settings.toml").write_text("[dataset]\nseed = -5\n[training]\nweight_decay = inf\n", encoding="utf-8")
    code, _, err = run(capsys, "--root", str(tmp_path), "prepare-dataset")
    assert code == 1
    assert f"{tmp_path / 'settings.toml'}: 'seed' must be" in err
    assert f"{tmp_path / 'settings.toml'}: 'weight_decay' must be" in err


def test_a_settings_file_saved_in_cp1251_is_read_and_the_encoding_named(tmp_path, capsys):
    small_dataset(tmp_path)
    (tmp_path / "settings.toml").write_bytes('# Мои настройки\n[dataset]\ntelegram_owner = "Саша"\n'
                                             'data_mode = "instruct"\n'.encode("cp1251"))
    code, _, err = run(capsys, "--root", str(tmp_path), "prepare-dataset")
    assert code == 0
    assert "saved in the Windows Cyrillic encoding (cp1251), not UTF-8; it was read as cp1251" in err
    report = json.loads((tmp_path / "data" / "dataset_report.json").read_text(encoding="utf-8"))
    assert report["settings"]["telegram_owner"] == "Саша"


def test_a_settings_file_in_no_known_encoding_is_explained(tmp_path, capsys):
    (tmp_path / "settings.toml").write_bytes(b'telegram_owner = "\x98"\n')  # 0x98 is the one byte cp1251 lacks
    code, _, err = run(capsys, "--root", str(tmp_path), "prepare-dataset")
    assert code == 1
    assert f"Error: {tmp_path / 'settings.toml'} is not text in UTF-8" in err and "save it with the encoding UTF-8" in err


def test_a_settings_path_that_is_a_folder_is_a_user_error(tmp_path, capsys):
    (tmp_path / "conf").mkdir()
    code, _, err = run(capsys, "--root", str(tmp_path), "--settings", "conf", "prepare-dataset")
    assert code == 1
    assert f"Error: The settings path {tmp_path / 'conf'} is a folder, not a file." in err
