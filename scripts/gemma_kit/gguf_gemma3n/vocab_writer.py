"""The tokenizer part of the GGUF: SentencePiece pieces, scores and types, special tokens, chat template.

Same result as llama.cpp's converter for Gemma 3n (conversion/base.py `_create_vocab_sentencepiece`, then
gguf.SpecialVocab): the list is padded to `vocab_size` with "[PAD<id>]" pieces of type UNUSED (the real
model: 262,144 pieces, vocab_size 262,400), added tokens from added_tokens.json and tokenizer_config.json's
`added_tokens_decoder` override their ids, and no space is put in front of the text.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from gguf import GGUFWriter, SpecialVocab, TokenType

from ..core.console import UserError
from ..core.json_files import read_json_object
from ..core.language import tr
from .gemma3n_table import TURN_MARKERS

UNUSED_SCORE = -10000.0   # the "[PADn]" filler
ADDED_SCORE = -1000.0     # tokens from added_tokens.json / added_tokens_decoder
# Added tokens that are control tokens even when a tokenizer_config.json forgets to mark them "special"
# (llama.cpp's `does_token_look_special`).
LOOKS_SPECIAL = {"<pad>", "<mask>", "<2mass>", "[@BOS@]"}


@dataclass(frozen=True)
class VocabSummary:
    pieces: int               # in tokenizer.model
    padded: int               # "[PADn]" entries up to vocab_size
    has_chat_template: bool
    plain_turn_markers: tuple[str, ...]   # turn markers that llama.cpp will not match as one token


def looks_special(text: str) -> bool:
    return (text in LOOKS_SPECIAL or (text.startswith("<|") and text.endswith("|>"))
            or (text.startswith("<｜") and text.endswith("｜>"))
            or (text.startswith("<unused") and text.endswith(">")))


def load_sentencepiece(path: Path):
    import sentencepiece as spm

    try:
        return spm.SentencePieceProcessor(model_file=str(path))
    except (OSError, RuntimeError) as e:
        raise UserError(tr("{path} is not a valid SentencePiece tokenizer ({error}).", path=path, error=e),
                        tr("Copy tokenizer.model again from the base model's folder (under models/).")) from e


def read_pieces(sp, vocab_size: int) -> tuple[list[bytes], list[float], list[int]]:
    n = sp.vocab_size()
    ids = list(range(n))
    tokens = [f"[PAD{i}]".encode() for i in range(vocab_size)]
    scores = [UNUSED_SCORE] * vocab_size
    types = [int(TokenType.UNUSED)] * vocab_size
    flags = zip(sp.is_unknown(ids), sp.is_control(ids), sp.is_unused(ids), sp.is_byte(ids))
    for i, (piece, score, (unknown, control, unused, byte)) in enumerate(zip(sp.id_to_piece(ids), sp.get_score(ids),
                                                                             flags)):
        tokens[i], scores[i] = piece.encode("utf-8"), score
        types[i] = int(TokenType.UNKNOWN if unknown else TokenType.CONTROL if control else
                       TokenType.UNUSED if unused else TokenType.BYTE if byte else TokenType.NORMAL)
    return tokens, scores, types


def read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    return read_json_object(path, tr("Copy it again from the base model's folder (under models/)."))


def apply_added_tokens(folder: Path, tokens: list[bytes], scores: list[float], types: list[int]) -> None:
    """added_tokens.json, then tokenizer_config.json `added_tokens_decoder`, overwrite their ids."""
    for text, token_id in read_json(folder / "added_tokens.json").items():
        if token_id < len(tokens):
            tokens[token_id], scores[token_id] = text.encode("utf-8"), ADDED_SCORE
            types[token_id] = int(TokenType.USER_DEFINED)
    decoder = read_json(folder / "tokenizer_config.json").get("added_tokens_decoder", {})
    for key, entry in decoder.items():
        token_id, text = int(key), entry["content"]
        if token_id >= len(tokens):
            continue
        if entry.get("special") or looks_special(text):
            types[token_id] = int(TokenType.CONTROL)
        else:
            text = text.replace("\u2581", " ")  # user-defined pieces are matched against raw text
            types[token_id] = int(TokenType.USER_DEFINED)
        tokens[token_id], scores[token_id] = text.encode("utf-8"), ADDED_SCORE


def read_special_vocab(folder: Path, n_vocab: int) -> SpecialVocab:
    """Special-token ids, add_bos/add_eos and the chat template, read the library's way (tokenizer.json,
    tokenizer_config.json, config.json). Its warnings about Gemma's pair template are noise for the user."""
    vocab_logger = logging.getLogger("gguf.vocab")
    level = vocab_logger.level
    vocab_logger.setLevel(logging.ERROR)
    try:
        return SpecialVocab(folder, load_merges=False, n_vocab=n_vocab)
    finally:
        vocab_logger.setLevel(level)


def fill_missing_specials(special: SpecialVocab, sp, folder: Path) -> None:
    """Without bos/eos ids llama.cpp assumes bos=1, eos=2 — swapped for Gemma (docs/gemma3n_facts.md, llama.cpp
    rule 6). When neither tokenizer.json nor config.json names them, take them from tokenizer.model; the template
    from the .jinja."""
    for kind, token_id in (("bos", sp.bos_id()), ("eos", sp.eos_id())):
        if kind not in special.special_token_ids and token_id >= 0:
            special.special_token_ids[kind] = token_id
    jinja = folder / "chat_template.jinja"
    if special.chat_template is None and jinja.is_file():
        special.chat_template = jinja.read_text(encoding="utf-8")


def add_tokenizer(writer: GGUFWriter, folder: Path, vocab_size: int) -> VocabSummary:
    sp = load_sentencepiece(folder / "tokenizer.model")
    if sp.vocab_size() > vocab_size:
        raise UserError(tr("{path} has {pieces:,} pieces, more than the model's vocab_size {vocab_size:,}: it "
                           "belongs to another model.", path=folder / "tokenizer.model", pieces=sp.vocab_size(),
                           vocab_size=vocab_size),
                        tr("Copy tokenizer.model from the base model's folder (under models/)."))
    tokens, scores, types = read_pieces(sp, vocab_size)
    apply_added_tokens(folder, tokens, scores, types)
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    special = read_special_vocab(folder, len(tokens))
    fill_missing_specials(special, sp, folder)
    special.add_to_gguf(writer, quiet=True)
    writer.add_add_space_prefix(False)
    return VocabSummary(sp.vocab_size(), vocab_size - sp.vocab_size(), special.chat_template is not None,
                        find_plain_turn_markers(tokens, types))


def find_plain_turn_markers(tokens: list[bytes], types: list[int]) -> tuple[str, ...]:
    """Turn markers left as NORMAL pieces. llama.cpp matches a piece inside text only when it is CONTROL or
    USER_DEFINED; Gemma's tokenizer_config.json marks <start_of_turn>/<end_of_turn> so in added_tokens_decoder.
    A tokenizer_config.json re-saved by transformers 5 lacks that list, and the chat turns then fall apart
    into characters in LM Studio (the reference converter does the same; we say so)."""
    index = {token: i for i, token in enumerate(tokens)}
    return tuple(marker for marker in TURN_MARKERS
                 if marker.encode() in index and types[index[marker.encode()]] == TokenType.NORMAL)
