"""The walls of docs/architecture.md, each checked by running or reading the real code.

A careless top-level import would break a wall silently (prepare-dataset would load torch, the CLI would load
every step): these tests are what notices.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import transformers

from gemma_kit.cli import main
from test_merge_lora import make_adapter

PACKAGE = Path(__file__).resolve().parents[1] / "scripts" / "gemma_kit"
SCRIPTS = PACKAGE.parent
MAX_LINES = 400


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GEMMA_KIT_NO_PROGRESS": "1", "PYTHONPATH": str(SCRIPTS)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env=env)


def loaded_after(argv: list[str], cwd: Path) -> dict:
    """Runs cli.main(argv) in a fresh interpreter; its exit code and the modules it left loaded."""
    code = ("import json, sys; from gemma_kit.cli import main; rc = main(" + repr(argv) + "); "
            "print(json.dumps({'rc': rc, 'modules': sorted(sys.modules)}))")
    done = run_python(code, cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_prepare_dataset_help_loads_no_other_step(tmp_path):
    result = loaded_after(["prepare-dataset", "--help"], tmp_path)
    assert result["rc"] == 0
    steps = [m for m in result["modules"] if m.startswith("gemma_kit.steps.")]
    assert steps == ["gemma_kit.steps.prepare_dataset"]


def test_prepare_dataset_end_to_end_loads_no_torch_transformers_or_numpy(tmp_path):
    (tmp_path / "dataset").mkdir()
    pairs = [{"instruction": f"question {i}", "output": f"answer {i}"} for i in range(6)]
    (tmp_path / "dataset" / "pairs.json").write_text(json.dumps(pairs), encoding="utf-8")
    result = loaded_after(["--root", str(tmp_path), "prepare-dataset", "--mode", "instruct"], tmp_path)
    assert result["rc"] == 0
    assert (tmp_path / "data" / "train_dataset.jsonl").stat().st_size > 0
    heavy = {m.split(".")[0] for m in result["modules"]} & {"torch", "transformers", "numpy"}
    assert heavy == set()


def test_merge_and_convert_build_no_transformers_model(tiny_model_dir, tmp_path, monkeypatch):
    """Both stream tensors from the files; a model object would cost the whole model's size in RAM."""
    adapter = make_adapter(tiny_model_dir, tmp_path / "adapter").folder
    built = []
    original_init = transformers.PreTrainedModel.__init__

    def remember(self, *args, **kwargs):
        built.append(type(self).__name__)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(transformers.PreTrainedModel, "__init__", remember)
    transformers.GPT2LMHeadModel(transformers.GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=16))
    assert "GPT2LMHeadModel" in built  # the recorder sees a model being built
    built.clear()
    root = tmp_path / "project"
    assert main(["--root", str(root), "merge-lora", "--input", str(adapter), "--base", str(tiny_model_dir)]) == 0
    assert main(["--root", str(root), "convert-gguf", "--set", "gguf_type=q8_0"]) == 0
    assert (root / "output" / "finetuned_gemma.gguf").stat().st_size > 0
    assert built == []


def imports_of(path: Path) -> list[str]:
    """Every module a file imports (at any depth, inside functions too), as absolute gemma_kit names."""
    package = ".".join(path.relative_to(SCRIPTS).with_suffix("").parts[:-1])
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names += [module] + [f"{module}.{alias.name}" for alias in node.names]
    return names


def importers_of(folder: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        bad = sorted({n for n in imports_of(path) if n.startswith(forbidden)})
        if bad:
            found[path.relative_to(PACKAGE).as_posix()] = bad
    return found


def test_the_import_reader_sees_relative_and_absolute_imports():
    # pipeline.py imports from .core; cli.py from .pipeline: both must show up, or the walls below prove nothing.
    assert "gemma_kit.core.step_results" in imports_of(PACKAGE / "pipeline.py")
    assert "gemma_kit.pipeline" in imports_of(PACKAGE / "cli.py")
    assert "gemma_kit.core.console" in imports_of(PACKAGE / "steps" / "prepare_dataset.py")


def test_core_imports_no_step_wing_pipeline_or_cli():
    wings = ("gemma_kit.steps", "gemma_kit.training", "gemma_kit.merge", "gemma_kit.readers", "gemma_kit.gguf_gemma3n",
             "gemma_kit.audio", "gemma_kit.pipeline", "gemma_kit.cli")
    assert importers_of("core", wings) == {}


def test_no_step_imports_the_cli_the_pipeline_or_another_step():
    for path in sorted((PACKAGE / "steps").glob("*.py")):
        own = f"gemma_kit.steps.{path.stem}"
        bad = [n for n in imports_of(path) if n.startswith(("gemma_kit.cli", "gemma_kit.pipeline"))
               or (n.startswith("gemma_kit.steps.") and not n.startswith(own))]
        assert bad == [], path.name


def test_wings_import_no_step_pipeline_or_cli():
    upper = ("gemma_kit.steps", "gemma_kit.pipeline", "gemma_kit.cli")
    for wing in ("readers", "training", "merge", "gguf_gemma3n", "audio"):
        assert importers_of(wing, upper) == {}, wing


def test_no_file_in_scripts_is_over_400_lines():
    long = {p.relative_to(SCRIPTS).as_posix(): n for p in SCRIPTS.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


# A note a reader could go looking for: any *.md named in the product (URLs aside), and any path that climbs out of
# the repository into a folder or a note beside it.
MARKDOWN_NAME = re.compile(r"(?<![\w.-])(?:[\w.-]+/)*([\w.-]+\.md)\b")
CLIMBS_OUT = re.compile(r"(?<![.\w])\.\.[/\\][\w.-]+(?:[/\\]|\.md\b)")
URL = re.compile(r"https?://\S+")
# Other projects' files the code cites for a fact, named with their project beside them (not notes of ours).
CITED_FILES_OF_OTHER_PROJECTS = {"RELEASE.md",      # pytorch/pytorch: the CUDA support matrix (setup_plan.py)
                                 "llama-cpp.md"}    # lmstudio-ai/docs: the runtime settings page (core/lmstudio.py)


def pointers_outside(text: str, own_notes: set[str]) -> list[str]:
    text = URL.sub("", text)
    named = {m.group(1) for m in MARKDOWN_NAME.finditer(text)} - own_notes - CITED_FILES_OF_OTHER_PROJECTS
    return sorted(named | {m.group(0) for m in CLIMBS_OUT.finditer(text)})


def test_the_pointer_reader_sees_notes_outside_and_paths_climbing_out():
    own = {"README.md", "architecture.md"}
    assert pointers_outside("see docs/architecture.md and README.md, https://x.org/y/notes.md", own) == []
    assert pointers_outside("see PLAN.md", own) == ["PLAN.md"]
    assert pointers_outside("as ../team/guide says, or ..\\team\\x", own) == ["../team/", "..\\team\\"]
    assert pointers_outside('path "../outside.ogg" is refused; /tmp/.../x', own) == []


def test_nothing_in_the_product_points_outside_the_repository():
    """Facts a reader needs are in docs/ and dev_log.txt, which ship with the kit (docs/architecture.md,
    "Pointers stay inside the repository"): a note the product names is one of the repository's own."""
    root = SCRIPTS.parent
    own_notes = {p.name for p in root.rglob("*.md") if ".venv" not in p.parts}
    files = [*SCRIPTS.rglob("*.py"), *root.glob("*.bat"), *root.glob("*.md"), *(root / "docs").glob("*.md"),
             root / "settings.toml", root / "dev_log.txt", *(root / "tests").rglob("*.py"), *(root / "bench").glob("*.py")]
    me = Path(__file__).resolve()   # its reader's own samples above
    pointing = {p.relative_to(root).as_posix(): found for p in files if p.resolve() != me
                and (found := pointers_outside(p.read_text(encoding="utf-8", errors="replace"), own_notes))}
    assert pointing == {}
