"""Put the finished .gguf where LM Studio finds it, and write an Ollama Modelfile beside it.

LM Studio scans <models folder>/<publisher>/<model>/<file>.gguf. The file is hard-linked when LM Studio's
folder is on the same drive (no extra disk space, instant), otherwise copied.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..core.console import UserError, byte_bar, human_size, say
from ..core.paths import atomic_file, check_free_space
from ..core.settings import Settings

EPILOG = ("Example: gemma-kit install-lmstudio\n"
          "Then open LM Studio: the model is listed under My Models as gemma-kit/finetuned-gemma-3n.")

PUBLISHER = "gemma-kit"
MODEL_FOLDER = "finetuned-gemma-3n"

# Ollama's Gemma 3n template (ollama.com/library/gemma3n): system and user share the user turn, and
# generation must stop at <end_of_turn> or the model talks on for the user.
OLLAMA_TEMPLATE = """\
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if or (eq .Role "user") (eq .Role "system") }}<start_of_turn>user
{{ .Content }}<end_of_turn>
{{ if $last }}<start_of_turn>model
{{ end }}
{{- else if eq .Role "assistant" }}<start_of_turn>model
{{ .Content }}{{ if not $last }}<end_of_turn>
{{ end }}
{{- end }}
{{- end }}"""


def add_arguments(parser) -> None:
    parser.add_argument("--lmstudio-dir", metavar="PATH", help="LM Studio's models folder (default: found)")


def find_lmstudio_models_dir(settings: Settings, home: Path | None = None) -> Path | None:
    if settings.lmstudio_models_dir:
        return settings.path(settings.lmstudio_models_dir)
    home = home or Path.home()
    for candidate in (home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"):
        if candidate.is_dir():
            return candidate
    return None


def write_ollama_modelfile(gguf: Path) -> Path:
    modelfile = gguf.with_name("Modelfile")
    text = (f"FROM ./{gguf.name}\n"
            f'TEMPLATE """{OLLAMA_TEMPLATE}"""\n'
            'PARAMETER stop "<end_of_turn>"\n'
            "PARAMETER temperature 1\nPARAMETER top_k 64\nPARAMETER top_p 0.95\n")
    with atomic_file(modelfile) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return modelfile


def link_or_copy(source: Path, dest: Path) -> str:
    """Hard link on the same drive (instant, no space); a copy with a progress bar otherwise."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and os.path.samefile(source, dest):
        return "already there"
    with atomic_file(dest) as tmp:
        try:
            os.link(source, tmp)
            return "linked"
        except OSError:
            pass  # another drive, or a file system without hard links: copy instead
        size = source.stat().st_size
        check_free_space(dest.parent, size, "the copy for LM Studio")
        with open(source, "rb") as src, open(tmp, "wb") as out, byte_bar(size, "Copying to LM Studio") as bar:
            while chunk := src.read(16 * 1024 * 1024):
                out.write(chunk)
                bar.update(len(chunk))
        return "copied"


def run(settings: Settings, args) -> int:
    gguf = settings.path(args.input) if getattr(args, "input", None) else settings.gguf_file
    if not gguf.exists():
        raise UserError(f"There is no GGUF file at {gguf} yet.", "Run convert_to_gguf.bat first.")
    modelfile = write_ollama_modelfile(gguf)
    say(f"Wrote {modelfile} (for Ollama: `ollama create my-gemma -f \"{modelfile}\"`).")
    explicit = getattr(args, "lmstudio_dir", None) or getattr(args, "output", None)
    models_dir = settings.path(explicit) if explicit else find_lmstudio_models_dir(settings)
    if models_dir is None:
        say("LM Studio's models folder was not found (is LM Studio installed and started once?).")
        say(f"Import the file by hand: in LM Studio open My Models -> Import, and choose {gguf}")
        say("Or set lmstudio_models_dir in settings.toml and run this again.")
        return 0
    dest = models_dir / PUBLISHER / MODEL_FOLDER / gguf.name
    how = link_or_copy(gguf, dest)
    say(f"{how.capitalize()}: {dest} ({human_size(dest.stat().st_size)})")
    say(f"Open LM Studio: the model is under My Models as {PUBLISHER}/{MODEL_FOLDER}. "
        "If LM Studio was open, press the refresh button in My Models.")
    return 0
