"""The self-check on a machine without llama-cpp-python (most Windows users: it needs a compiler): convert-gguf
reads the written file in pure Python, names what is wrong, and agrees with llama.cpp's own check."""
from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import tracemalloc
from pathlib import Path

import gguf
import numpy as np
import pytest

from gemma_kit.cli import main
from gemma_kit.gguf_gemma3n.conversion_plan import plan_conversion
from gemma_kit.gguf_gemma3n.self_check import check_gguf
from gemma_kit.gguf_gemma3n.static_check import SAMPLE_ROWS, check_file, check_tensor_values, sample_rows
from gemma_kit.steps import convert_gguf

# llama.cpp requires it although it never uses it (docs/gemma3n_facts.md, llama.cpp rule 2)
KV_SHARED_K = "blk.20.attn_k.weight"
Q8_MATRIX = "blk.3.ffn_down.weight"
F32_NORM = "blk.5.attn_norm.weight"


def convert(root: Path, model: Path, out: Path, *extra: str) -> int:
    return main(["--root", str(root), "convert-gguf", "--input", str(model), "--output", str(out), *extra])


@pytest.fixture
def without_llama_cpp(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)   # what an install without llama-cpp-python looks like


@pytest.fixture(scope="module")
def good_file(tiny_model_dir, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("good")
    assert convert(folder, tiny_model_dir, folder / "good.gguf", "--no-check") == 0
    return folder / "good.gguf"


def damage_after_writing(monkeypatch, damage) -> None:
    """The real writer, then `damage` on the finished file, before the self-check reads it."""
    write_file = convert_gguf.write_file

    def write_then_damage(writer, plan, dest):
        write_file(writer, plan, dest)
        damage(dest)

    monkeypatch.setattr(convert_gguf, "write_file", write_then_damage)


def write_nan_block(path: Path, name: str) -> None:
    """A NaN into the first block of `name` (the check's sample always includes the first row): for Q8_0 the
    block's f16 scale, for F32 the first value."""
    reader = gguf.GGUFReader(path)
    tensor = next(t for t in reader.tensors if t.name == name)
    offset, qtype = tensor.data_offset, tensor.tensor_type
    del reader, tensor   # the memory map is closed before the file is written
    nan = np.float16(np.nan) if qtype == gguf.GGMLQuantizationType.Q8_0 else np.float32(np.nan)
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(nan.tobytes())


def rewrite_without(path: Path, name: str) -> None:
    """The same file with one tensor left out, written by gguf's own writer (keys and data copied as they are)."""
    reader = gguf.GGUFReader(path)
    out = path.with_name(path.name + ".rewritten")
    writer = gguf.GGUFWriter(out, arch=reader.get_field("general.architecture").contents())
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        sub_type = field.types[-1] if field.types[0] == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), field.types[0], sub_type=sub_type)
    for tensor in reader.tensors:
        if tensor.name != name:
            writer.add_tensor(tensor.name, np.array(tensor.data), raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    del reader
    out.replace(path)


# ---- what the user sees --------------------------------------------------------------------------------

def test_without_llama_cpp_convert_reports_the_file_check_verdict(tiny_model_dir, tmp_path, capsys,
                                                                  without_llama_cpp):
    assert convert(tmp_path, tiny_model_dir, tmp_path / "checked.gguf") == 0
    captured = capsys.readouterr()
    assert ("Self-check: the file is complete (all 535 tensors with their planned shapes and types, finite values "
            "in a sample of every tensor, a chat template that renders Gemma's turns, the right <bos>/<eos> and "
            "turn-marker tokens).") in captured.out
    assert "Checked without running it (llama.cpp is not installed here); LM Studio will run it." in captured.out
    assert "pip install" not in captured.out + captured.err and "skipped" not in captured.out


@pytest.mark.parametrize("damage, named", [
    (lambda path: rewrite_without(path, KV_SHARED_K),
     f"1 tensor(s) that should be in the file are missing: {KV_SHARED_K} (llama.cpp refuses"),
    (lambda path: write_nan_block(path, Q8_MATRIX), f"{Q8_MATRIX} hold(s) NaN or infinite values"),
    (lambda path: write_nan_block(path, F32_NORM), f"{F32_NORM} hold(s) NaN or infinite values"),
])
def test_a_damaged_file_is_an_error_naming_the_tensor(tiny_model_dir, tmp_path, capsys, monkeypatch,
                                                      without_llama_cpp, damage, named):
    damage_after_writing(monkeypatch, damage)
    assert convert(tmp_path, tiny_model_dir, tmp_path / "damaged.gguf") == 1
    captured = capsys.readouterr()
    assert f"Error: {tmp_path / 'damaged.gguf'} was written, but the check of the file found that it would not " \
           "work in LM Studio:" in captured.err
    assert named in captured.err
    assert "What to do: Run convert_only.bat again" in captured.err
    assert "Next: run install_to_lmstudio.bat" not in captured.out


@pytest.mark.parametrize("damage, named", [
    (lambda path: rewrite_without(path, KV_SHARED_K),
     f"в файле нет тензоров, которые должны там быть (всего 1): {KV_SHARED_K} (без них llama.cpp не загрузит"),
    (lambda path: write_nan_block(path, Q8_MATRIX), f"в {Q8_MATRIX} есть NaN или бесконечные значения"),
])
def test_the_file_check_verdict_speaks_russian(tiny_model_dir, tmp_path, capsys, monkeypatch, without_llama_cpp,
                                               damage, named):
    """The user who reads Russian is told in Russian which tensor is wrong and what to do; the tensor's name, the
    path and the .bat to run stay as they are, and no English sentence is left."""
    damage_after_writing(monkeypatch, damage)
    assert convert(tmp_path, tiny_model_dir, tmp_path / "damaged.gguf", "--set", "language=ru") == 1
    captured = capsys.readouterr()
    assert f"Ошибка: {tmp_path / 'damaged.gguf'} записан, но проверка файла показала, что в LM Studio он работать " \
           "не будет:" in captured.err
    assert named in captured.err
    assert "Что сделать: Снова запустите convert_only.bat" in captured.err
    assert "Error:" not in captured.err and "What to do:" not in captured.err and "should be" not in captured.err
    assert "Проверка записанного файла..." in captured.out and "Checking" not in captured.out


def test_with_llama_cpp_a_nan_weight_is_caught_before_loading(tiny_model_dir, tmp_path, capsys, monkeypatch):
    """llama.cpp loads a file with NaN weights without a word: the file check runs first either way."""
    damage_after_writing(monkeypatch, lambda path: write_nan_block(path, Q8_MATRIX))
    assert convert(tmp_path, tiny_model_dir, tmp_path / "nan.gguf") == 1
    assert f"{Q8_MATRIX} hold(s) NaN or infinite values" in capsys.readouterr().err


# ---- the same verdicts as llama.cpp's check -------------------------------------------------------------

def drop_added_tokens_decoder(model: Path) -> None:
    config = json.loads((model / "tokenizer_config.json").read_text())
    del config["added_tokens_decoder"]
    (model / "tokenizer_config.json").write_text(json.dumps(config))


def drop_chat_template(model: Path) -> None:
    config = json.loads((model / "tokenizer_config.json").read_text())
    del config["chat_template"]
    (model / "tokenizer_config.json").write_text(json.dumps(config))
    (model / "chat_template.jinja").unlink()


@pytest.mark.parametrize("spoil", [None, drop_added_tokens_decoder, drop_chat_template])
def test_the_file_check_finds_what_llama_cpp_finds(tiny_model_dir, tmp_path, spoil):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    if spoil:
        spoil(model)
    out = tmp_path / "file.gguf"
    assert convert(tmp_path, model, out, "--no-check") == 0
    expected = plan_conversion(model, "q8_0").tensors
    in_llama_cpp = check_gguf(out, expected)
    assert in_llama_cpp.ran_in_llama_cpp
    assert check_file(out, expected) == in_llama_cpp.problems
    assert bool(in_llama_cpp.problems) == (spoil is not None)


def test_bos_and_eos_must_name_gemma_s_tokens(good_file, tmp_path):
    swapped = tmp_path / "swapped.gguf"
    shutil.copy(good_file, swapped)
    reader = gguf.GGUFReader(swapped, "r+")
    field = reader.get_field("tokenizer.ggml.bos_token_id")
    field.parts[field.data[0]][0] = 1      # llama.cpp's guess without the key: Gemma's <eos> (llama.cpp rule 6)
    reader.data.flush()
    del reader, field
    assert check_file(swapped, None) == ["the bos token id 1 is '<eos>', not <bos>"]


def test_a_tensor_of_another_type_or_one_not_planned_is_named(good_file, tiny_model_dir):
    planned = plan_conversion(tiny_model_dir, "q8_0").tensors
    as_f16 = [dataclasses.replace(t, qtype=gguf.GGMLQuantizationType.F16) if t.name == Q8_MATRIX else t
              for t in planned if t.name != F32_NORM]
    shape = list(reversed(next(t.shape for t in planned if t.name == Q8_MATRIX)))
    assert check_file(good_file, as_f16, tensors_only=True) == [
        f"{Q8_MATRIX} is Q8_0 {shape} in the file; it should be F16 {shape}",
        f"the file holds 1 tensor(s) that do not belong in it: {F32_NORM}"]


# ---- reading little ------------------------------------------------------------------------------------

def test_a_cut_short_file_is_named_damaged(good_file, tmp_path):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good_file.read_bytes()[: good_file.stat().st_size // 2])
    (problem,) = check_file(cut, None)
    assert problem.startswith("the file cannot be read as a GGUF (") and "damaged or incomplete" in problem


def test_the_sample_spans_each_tensor_and_stays_small():
    assert list(sample_rows(1)) == [0]
    assert list(sample_rows(3)) == [0, 1, 2]
    rows = sample_rows(262_400)
    assert rows[0] == 0 and rows[-1] == 262_399 and len(rows) == SAMPLE_ROWS


def test_the_values_check_reads_far_less_than_the_largest_tensor(good_file, tiny_model_dir):
    """Rows are sampled from the memory map: what is read stays far below one tensor, whatever the file size.
    (The header is another matter: gguf.GGUFReader makes numpy views for every token; dev_log 2026-12-06.)"""
    largest = max(t.nbytes for t in plan_conversion(tiny_model_dir, "q8_0").tensors)   # per_layer_token_embd
    reader = gguf.GGUFReader(good_file)
    assert check_tensor_values(reader) == []          # imports and caches outside the measurement
    tracemalloc.start()
    try:
        assert check_tensor_values(reader) == []
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < largest / 4, f"peak {peak / 2**20:.2f} MiB of a {largest / 2**20:.1f} MiB tensor"
