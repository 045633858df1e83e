"""Check a written .gguf without running it: pure Python (gguf.GGUFReader), so it works on every user's machine.

llama-cpp-python, which the llama.cpp self-check needs, must be compiled on Windows; most users do not have it.
This check reads the file the way llama.cpp would before running it and answers the same questions:
- every tensor the conversion plan promised is there, with its shape and type (llama.cpp refuses a file that
  lacks one, e.g. the KV-shared layers' attn_k: docs/gemma3n_facts.md, llama.cpp rule 2);
- a sample of rows of every tensor holds finite numbers (a NaN or inf weight gives garbage replies, and
  llama.cpp loads such a file without a word);
- the chat template renders Gemma's turns, bos/eos name <bos>/<eos>, and the turn markers are special tokens.

The file is memory-mapped: only the sampled rows and the header are read, whatever the file's size.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from gguf import GGUFReader, TokenType
from gguf.quants import dequantize

from ..core.language import tr, tr_n
from .conversion_plan import OutputTensor
from .gemma3n_table import TURN_MARKERS

SAMPLE_ROWS = 8                  # rows read per tensor, spread from the first to the last
MAX_NAMES_SHOWN = 12
SAMPLE_CHAT = [{"role": "user", "content": "Привет! How are you today?"}]
SPECIAL_TYPES = {int(TokenType.CONTROL), int(TokenType.USER_DEFINED)}   # what llama.cpp matches inside text
# llama.cpp promotes a token with this text to a control, end-of-generation token whatever its type in the
# file (llama-vocab.cpp, "auto-detect special tokens by text"), so only its presence matters.
PROMOTED_BY_TEXT = {"<end_of_turn>"}
EXPECTED_TEXT = {"bos": ("<bos>",), "eos": ("<eos>", "<end_of_turn>")}


def check_file(path: Path, expected: list[OutputTensor] | None, tensors_only: bool = False) -> list[str]:
    """Problems that would make the file fail in LM Studio, in plain words (empty: none found).
    `expected`: the conversion plan's tensors (None: a file from elsewhere, whose own table is trusted);
    `tensors_only`: leave the tokenizer and chat template to llama.cpp's own check."""
    try:
        reader = GGUFReader(path)
    except (ValueError, KeyError, OSError) as e:   # bad magic, cut short (a tensor runs past the end), duplicates
        return [tr("the file cannot be read as a GGUF ({error}); it is damaged or incomplete — convert again",
                   error=e)]
    # The reader and its memory map live only in this call: on Windows a mapped file cannot be replaced.
    problems = check_tensor_table(reader, expected) if expected is not None else []
    problems += check_tensor_values(reader)
    if not tensors_only:
        problems += check_tokenizer(reader)
    return problems


def check_tensor_table(reader: GGUFReader, expected: list[OutputTensor]) -> list[str]:
    found = {t.name: t for t in reader.tensors}
    missing = [t.name for t in expected if t.name not in found]
    problems = []
    if missing:
        problems.append(tr("{count} tensor(s) that should be in the file are missing: {names} "
                           "(llama.cpp refuses to load a Gemma 3n without them)", count=len(missing),
                           names=shorten(missing)))
    for planned in expected:
        tensor = found.get(planned.name)
        if tensor is None:
            continue
        shape = [int(n) for n in tensor.shape]
        if shape != list(reversed(planned.shape)) or tensor.tensor_type != planned.qtype:
            problems.append(tr("{name} is {type} {shape} in the file; it should be {planned_type} {planned_shape}",
                               name=planned.name, type=tensor.tensor_type.name, shape=shape,
                               planned_type=planned.qtype.name, planned_shape=list(reversed(planned.shape))))
    unplanned = sorted(set(found) - {t.name for t in expected})
    if unplanned:
        problems.append(tr("the file holds {count} tensor(s) that do not belong in it: {names}",
                           count=len(unplanned), names=shorten(unplanned)))
    return problems


def check_tensor_values(reader: GGUFReader) -> list[str]:
    bad = [tensor.name for tensor in reader.tensors if not is_sample_finite(tensor)]
    if not bad:
        return []
    return [tr("{names} hold(s) NaN or infinite values, so the model would answer with garbage (if "
               "converting again names them again, the merged model itself holds them: a damaged merge, or "
               "training that went wrong — see output/report.html)", names=shorten(bad))]


def sample_rows(n_rows: int) -> np.ndarray:
    """Row indices spread evenly over the tensor; the first and the last are always among them."""
    return np.unique(np.linspace(0, n_rows - 1, num=min(n_rows, SAMPLE_ROWS)).round().astype(np.int64))


def is_sample_finite(tensor) -> bool:
    data = tensor.data   # a view of the memory map, in bytes per row for quantised types
    rows = data.reshape(-1, data.shape[-1]) if data.ndim > 1 else data.reshape(1, -1)
    sample = np.ascontiguousarray(rows[sample_rows(rows.shape[0])])   # reads only these rows from disk
    return bool(np.isfinite(dequantize(sample, tensor.tensor_type)).all())


def check_tokenizer(reader: GGUFReader) -> list[str]:
    tokens = field_value(reader, "tokenizer.ggml.tokens") or []
    types = field_value(reader, "tokenizer.ggml.token_type") or []
    index = {text: i for i, text in enumerate(tokens)}
    problems = []
    for kind, texts in EXPECTED_TEXT.items():
        token_id = field_value(reader, f"tokenizer.ggml.{kind}_token_id")
        if token_id is None:
            problems.append(tr("the file names no {kind} token, so llama.cpp would guess its id (and guesses "
                               "wrong for Gemma)", kind=kind))
        elif not 0 <= token_id < len(tokens) or tokens[token_id] not in texts:
            got = repr(tokens[token_id]) if 0 <= token_id < len(tokens) else tr("no token at all")
            problems.append(tr("the {kind} token id {token_id} is {got}, not {wanted}", kind=kind,
                               token_id=token_id, got=got, wanted=tr(" or ").join(texts)))
    plain = [m for m in TURN_MARKERS if m in index and m not in PROMOTED_BY_TEXT
             and (index[m] >= len(types) or types[index[m]] not in SPECIAL_TYPES)]
    if plain:
        problems.append(read_as_plain_text(plain))
    absent = [m for m in TURN_MARKERS if m not in index]
    if absent:
        problems.append(tr_n(len(absent), "{markers} is not in the file's token list, so the chat turns cannot be "
                             "marked", "{markers} are not in the file's token list, so the chat turns cannot be "
                             "marked", markers=tr(" and ").join(absent)))
    problems += check_chat_template(field_value(reader, "tokenizer.chat_template"))
    return problems


def check_chat_template(template: str | None) -> list[str]:
    if not template:
        return [tr("the file has no chat template, so LM Studio would not know Gemma's turn format")]
    from jinja2 import TemplateError

    try:
        prompt = render_chat(template, SAMPLE_CHAT)
    except (TemplateError, ValueError, TypeError) as e:   # ValueError: the template's own raise_exception()
        return [tr("the chat template in the file does not render ({error_type}: {error})",
                   error_type=type(e).__name__, error=e)]
    if "<start_of_turn>user" not in prompt or not prompt.endswith("<start_of_turn>model\n"):
        return [tr("the chat template in the file does not render Gemma's turns")]
    return []


def render_chat(template: str, messages: list[dict]) -> str:
    """Render as llama-cpp-python's Jinja2ChatFormatter and transformers do: a sandbox, trimmed blocks.
    jinja2 comes with torch, which the kit requires."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise ValueError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(template).render(messages=messages, bos_token="<bos>", eos_token="<eos>",
                                            add_generation_prompt=True, raise_exception=raise_exception)


def field_value(reader: GGUFReader, key: str):
    field = reader.get_field(key)
    return None if field is None else field.contents()


def shorten(names: list[str]) -> str:
    more = len(names) - MAX_NAMES_SHOWN
    return ", ".join(names[:MAX_NAMES_SHOWN]) + (tr(" and {count} more", count=more) if more > 0 else "")


def read_as_plain_text(markers: list[str]) -> str:
    """Turn markers that are ordinary pieces (llama.cpp's self-check finds the same problem as this one)."""
    return tr_n(len(markers), "{markers} is read as plain text, not as Gemma's turn markers (the tokenizer's "
                "special-token list was lost)", "{markers} are read as plain text, not as Gemma's turn markers "
                "(the tokenizer's special-token list was lost)", markers=tr(" and ").join(markers))
