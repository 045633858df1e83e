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
    assert f"Error: {tmp_path / 'settings.toml'} is not text in UTF-8" in err
    assert "save it with the encoding UTF-8" in err


def test_a_settings_path_that_is_a_folder_is_a_user_error(tmp_path, capsys):
    (tmp_path / "conf").mkdir()
    code, _, err = run(capsys, "--root", str(tmp_path), "--settings", "conf", "prepare-dataset")
    assert code == 1
    assert f"Error: The settings path {tmp_path / 'conf'} is a folder, not a file." in err


# ---- damaged safetensors files ------------------------------------------------------------------------------------
def safetensors_bytes(header, data: bytes = b"", length: int | None = None) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode("utf-8")
    return struct.pack("<Q", len(text) if length is None else length) + text + data


GOOD_ENTRY = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
DAMAGED_SAFETENSORS = {
    "not UTF-8": (safetensors_bytes(b"\xff\xfe\x00garbage"), "its header is not UTF-8 text"),
    "length near 2**64": (safetensors_bytes({"w": GOOD_ENTRY}, bytes(8), length=2**64 - 9),
                          "its first 8 bytes announce a header of 18,446,744,073,709,551,607 bytes"),
    "a JSON list": (safetensors_bytes([1, 2, 3]), "its header is a JSON list, not an object of tensors"),
    "not JSON": (safetensors_bytes(b'{"w": {"dtype": '), "its header is not valid JSON"),
    "no data_offsets": (safetensors_bytes({"w": {"dtype": "F32", "shape": [2]}}, bytes(8)),
                        "tensor 'w' has no valid data_offsets"),
    "an unknown type": (safetensors_bytes({"w": {**GOOD_ENTRY, "dtype": "F7"}}, bytes(8)),
                        "tensor 'w' has an unknown number type 'F7'"),
    "a text shape": (safetensors_bytes({"w": {**GOOD_ENTRY, "shape": "2"}}, bytes(8)), "tensor 'w' has no valid shape"),
    "size against shape": (safetensors_bytes({"w": {**GOOD_ENTRY, "shape": [3]}}, bytes(8)),
                           "tensor 'w' takes 8 bytes, but its shape [3] in F32 needs a different size"),
    "offsets beyond the file": (safetensors_bytes({"w": {"dtype": "F32", "shape": [10**6],
                                                         "data_offsets": [0, 4 * 10**6]}}, bytes(8)),
                                "is cut short: "),
    "an entry that is a list": (safetensors_bytes({"w": [0, 8]}, bytes(8)), "tensor 'w' is not described by an object"),
}


@pytest.mark.parametrize("case", list(DAMAGED_SAFETENSORS))
def test_a_damaged_safetensors_header_is_a_plain_error_naming_the_file(tmp_path, case):
    from gemma_kit.core.console import UserError
    from gemma_kit.core.model_files import parse_safetensors_header

    content, words = DAMAGED_SAFETENSORS[case]
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(UserError) as e:
        parse_safetensors_header(path)
    assert str(path) in e.value.message and words in e.value.message


def test_a_valid_header_passes_with_its_metadata(tmp_path):
    from gemma_kit.core.model_files import parse_safetensors_header

    path = tmp_path / "model.safetensors"
    content = safetensors_bytes({"__metadata__": {"format": "pt"}, "w": GOOD_ENTRY}, bytes(8))
    path.write_bytes(content)
    header = parse_safetensors_header(path)
    assert (header.entries, header.metadata) == ({"w": GOOD_ENTRY}, {"format": "pt"})
    assert header.raw == content[:-8] and header.data_start == len(content) - 8


@pytest.fixture(scope="module")
def damaged_copies(tiny_model_dir, tmp_path_factory) -> dict[str, Path]:
    """The tiny checkpoint with its second shard replaced by each damaged file."""
    import shutil

    copies = {}
    for case in ("not UTF-8", "length near 2**64", "a JSON list", "no data_offsets", "offsets beyond the file"):
        folder = tmp_path_factory.mktemp("damaged") / "merged_model"
        shutil.copytree(tiny_model_dir, folder)
        (folder / "model-00002-of-00002.safetensors").write_bytes(DAMAGED_SAFETENSORS[case][0])
        copies[case] = folder
    return copies


@pytest.mark.parametrize("case", ["not UTF-8", "length near 2**64", "a JSON list", "no data_offsets",
                                  "offsets beyond the file"])
def test_convert_gguf_and_merge_lora_refuse_a_damaged_shard_by_name(damaged_copies, tmp_path, capsys, case):
    folder = damaged_copies[case]
    shard = folder / "model-00002-of-00002.safetensors"
    code, _, err = run(capsys, "--root", str(tmp_path), "convert-gguf", "--input", str(folder),
                       "--output", str(tmp_path / "model.gguf"))
    assert code == 1 and f"Error: {shard} is " in err
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 4, "lora_alpha": 8,
                                                             "target_modules": ["q_proj"]}), encoding="utf-8")
    (adapter / "adapter_model.safetensors").write_bytes(safetensors_bytes({}))
    code, _, err = run(capsys, "--root", str(tmp_path), "merge-lora", "--adapter", str(adapter), "--base", str(folder))
    assert code == 1 and f"Error: {shard} is " in err


def test_merge_lora_refuses_a_damaged_adapter_file_by_name(tiny_model_dir, tmp_path, capsys):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 4, "lora_alpha": 8,
                                                             "target_modules": ["q_proj"]}), encoding="utf-8")
    (adapter / "adapter_model.safetensors").write_bytes(DAMAGED_SAFETENSORS["no data_offsets"][0])
    code, _, err = run(capsys, "--root", str(tmp_path), "merge-lora", "--adapter", str(adapter),
                       "--base", str(tiny_model_dir), "--out", str(tmp_path / "merged"))
    assert code == 1
    assert f"Error: {adapter / 'adapter_model.safetensors'} is damaged: tensor 'w' has no valid data_offsets" in err


@pytest.mark.parametrize("content", [b"[1, 2]", b"\xff\xfe{}", b'{"text_config": 5}'])
def test_a_damaged_config_json_is_a_plain_error(tmp_path, capsys, content):
    folder = tmp_path / "merged"
    folder.mkdir()
    (folder / "config.json").write_bytes(content)
    code, _, err = run(capsys, "--root", str(tmp_path), "convert-gguf", "--input", str(folder),
                       "--output", str(tmp_path / "m.gguf"))
    assert code == 1 and f"Error: {folder / 'config.json'} is damaged" in err


def test_a_shard_that_shrinks_after_planning_is_a_plain_error(tmp_path):
    from contextlib import ExitStack

    from gemma_kit.core.console import UserError
    from gemma_kit.core.model_files import TensorInfo
    from gemma_kit.gguf_gemma3n.tensor_stream import ShardReader

    shard = tmp_path / "model.safetensors"
    shard.write_bytes(bytes(20))  # the planned tensor needs bytes 8..48
    with ExitStack() as stack, pytest.raises(UserError) as e:
        ShardReader(stack).read(TensorInfo("w", "F32", (10,), shard, 8, 40), 0, 1)
    assert e.value.message == f"{shard} ended early while reading w (12 of 40 bytes)."
