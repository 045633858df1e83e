"""Reading the small JSON files that the kit or a library wrote (config.json, adapter_config.json, the run
state, tokenizer files): one way, so that a damaged one is always a plain error naming the file."""
from __future__ import annotations

import json
from pathlib import Path

from .console import UserError
from .language import N_, tr, tr_marked


def read_json_object(path: Path, hint: str, holds: str = N_("one JSON object")) -> dict:
    """The file's JSON object; invalid JSON, text that is not UTF-8, absurd nesting or another JSON value is a
    UserError "<path> is damaged (...)" with `hint` as the way on. `holds` is marked with N_ by the caller."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UserError(tr("{path} is damaged (invalid JSON at line {line}, column {column}).", path=path,
                           line=e.lineno, column=e.colno), hint) from e
    except (UnicodeDecodeError, RecursionError) as e:
        raise UserError(tr("{path} is damaged (not UTF-8 JSON text).", path=path), hint) from e
    if not isinstance(value, dict):
        raise UserError(tr("{path} is damaged (it should hold {holds}).", path=path, holds=tr_marked(holds)),
                        hint)
    return value
