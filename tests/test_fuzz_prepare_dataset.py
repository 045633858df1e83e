"""Fuzzing prepare-dataset with damaged copies of every fixture export (issue 19).

Each mutation is one a real file meets: cut short (full disk, interrupted copy), spliced (two downloads
mixed), a field of another type (a hand edit, another exporter's version), nested (a generated file), saved
in another encoding (Notepad, PowerShell). Whatever the input, the step must end with exit 0 or 1 and never a
traceback. The step runs in-process (`cli.main`), so a few hundred runs take seconds; the seed is fixed, so a
failure names the case that reproduces it.
"""
from __future__ import annotations

import codecs
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from gemma_kit.cli import main
from gemma_kit.readers.common import SKIP_ODD_ITEM

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"
EXPORTS = sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*.json*"))
MUTATIONS_PER_EXPORT = 200
ODD_VALUES: list[Any] = ["", "text", 0, -1, 2**70, 1.5, float("1e308"), None, True, [], {}, [None], {"": ""},
                         ["a", {"text": 1}], {"type": "message"}, "9" * 40]


def nodes_of(value: Any, path: tuple = ()) -> list[tuple]:
    """Paths to every value inside a parsed JSON document (the document itself is path ())."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += nodes_of(child, path + (key,))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += nodes_of(child, path + (i,))
    return found


def replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    parent = value
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new
    return value


def node_at(value: Any, path: tuple) -> Any:
    for step in path:
        value = value[step]
    return value


UNFORESEEN = re.compile(r"\b[A-Z]\w*(Error|Exception)\b")  # describe_unexpected's exception name
NEST_MARK = "\u2063nested here\u2063"  # replaced by the nested text after `json` wrote the rest


def mutate_document(document: Any, rng: random.Random) -> tuple[Any, str]:
    """The document with one node changed, and the text that replaces NEST_MARK (if it was nested)."""
    path = rng.choice(nodes_of(document))
    kind = rng.choice(["retype", "retype", "nest", "drop", "duplicate"])
    if kind == "retype":
        return replaced(document, path, json.loads(json.dumps(rng.choice(ODD_VALUES)))), ""
    if kind == "nest":
        depth = rng.choice([1, 3, 50, 600, 3000])
        opener, closer = ("[", "]") if rng.random() < 0.5 else ('{"k": ', "}")
        inner = json.dumps(node_at(document, path), ensure_ascii=False)
        return replaced(document, path, NEST_MARK), opener * depth + inner + closer * depth
    if not path:
        return document, ""
    parent = node_at(document, path[:-1])
    if kind == "drop":
        del parent[path[-1]]
    elif isinstance(parent, list):
        parent.insert(path[-1], json.loads(json.dumps(parent[path[-1]])))
    return document, ""


def dumps(document: Any, nested: str) -> bytes:
    text = json.dumps(document, ensure_ascii=False)
    if nested:
        text = text.replace(json.dumps(NEST_MARK, ensure_ascii=False), nested, 1)
    return text.encode("utf-8", "surrogatepass")


def mutate_json(raw: bytes, is_jsonl: bool, rng: random.Random) -> bytes:
    if is_jsonl:
        lines = raw.split(b"\n")
        i = rng.randrange(len(lines))
        try:
            lines[i] = dumps(*mutate_document(json.loads(lines[i]), rng))
        except ValueError:  # a blank or broken line of the fixture: reverse it instead
            lines[i] = lines[i][::-1]
        return b"\n".join(lines)
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except ValueError:  # the fixtures of broken files: damage them further, byte-wise
        return raw[::-1]
    return dumps(*mutate_document(document, rng))


def mutate(raw: bytes, is_jsonl: bool, rng: random.Random) -> bytes:
    kind = rng.choice(["truncate", "splice", "json", "json", "json", "encoding", "bytes"])
    if kind == "truncate":
        return raw[:rng.randrange(len(raw))]
    if kind == "splice":
        start, end = sorted(rng.randrange(len(raw)) for _ in range(2))
        at = rng.randrange(len(raw))
        return raw[:at] + raw[start:end] + raw[at:]
    if kind == "json":
        return mutate_json(raw, is_jsonl, rng)
    if kind == "encoding":
        text = raw.decode("utf-8")
        encoding = rng.choice(["utf-16", "utf-16-le", "cp1251", "latin-1", "utf-8-sig", "utf-32"])
        return text.encode(encoding, "replace") if encoding != "utf-16-le" else codecs.BOM_UTF16_LE + text.encode(
            encoding)
    data = bytearray(raw)
    for _ in range(rng.randint(1, 8)):  # stray bytes: a disk error, a bad download
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


@pytest.mark.parametrize("rel", EXPORTS)
def test_prepare_dataset_survives_damaged_copies_of_each_fixture(tmp_path, capsys, rel):
    rng = random.Random(f"issue-19:{rel}")
    raw = (FIXTURES / rel).read_bytes()
    target = tmp_path / "dataset" / Path(rel).name
    target.parent.mkdir()
    outcomes = []
    for case in range(MUTATIONS_PER_EXPORT):
        damaged = mutate(raw, rel.endswith(".jsonl"), rng)
        target.write_bytes(damaged)
        extra = ["--set", "include_group_chats=true"] if case % 3 == 0 else []
        mode = "conversational" if case % 2 else "instruct"
        code = main(["--root", str(tmp_path), *extra, "prepare-dataset", "--mode", mode])
        captured = capsys.readouterr()
        assert code in (0, 1), f"case {case}: exit {code}"
        assert "Traceback" not in captured.out + captured.err, f"case {case}"
        # Reader errors nobody foresaw are caught per file and per record; the fuzz also asserts none is left.
        assert "did not expect" not in captured.err, f"case {case}: {captured.err}"
        if code == 0:
            report = json.loads((tmp_path / "data" / "dataset_report.json").read_text(encoding="utf-8"))
            odd = report["skipped"].get(SKIP_ODD_ITEM, {}).get("where", [])
            assert not [w for w in odd if UNFORESEEN.search(w)], f"case {case}: {odd}"
        outcomes.append(code)
    # Both outcomes occur: the damage is neither always fatal nor always harmless.
    assert set(outcomes) == {0, 1} or rel.startswith(("bad/", "openai/single_conversation"))
