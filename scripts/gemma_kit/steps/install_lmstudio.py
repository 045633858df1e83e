"""Put the finished .gguf where LM Studio finds it, and write an Ollama Modelfile beside it.

LM Studio's models folder is the one LM Studio itself uses (core/lmstudio.py: its own settings, its home
pointer, then the defaults). The file is hard-linked when that folder is on the same drive (no extra disk space,
instant), otherwise copied; running this again after a new conversion replaces the old file.
"""
from __future__ import annotations

from pathlib import Path

from ..core.console import UserError, human_size, say
from ..core.lmstudio import (MODEL_FOLDER, PUBLISHER, RUNTIME_ADVICE, ModelsFolder, find_models_folder,
                             link_or_copy, lmstudio_file_for)
from ..core.paths import atomic_file
from ..core.settings import Settings

EPILOG = ("Example: gemma-kit install-lmstudio\n"
          "Then open LM Studio: the model is listed under My Models as gemma-kit/finetuned-gemma-3n.")

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


def write_ollama_modelfile(gguf: Path) -> Path:
    modelfile = gguf.with_name("Modelfile")
    text = (f"FROM ./{gguf.name}\n"
            f'TEMPLATE """{OLLAMA_TEMPLATE}"""\n'
            'PARAMETER stop "<end_of_turn>"\n'
            "PARAMETER temperature 1\nPARAMETER top_k 64\nPARAMETER top_p 0.95\n")
    with atomic_file(modelfile) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return modelfile


def run(settings: Settings, args) -> int:
    gguf = settings.path(args.input) if getattr(args, "input", None) else settings.gguf_file
    if not gguf.exists():
        raise UserError(f"There is no GGUF file at {gguf} yet.", "Run convert_to_gguf.bat first.")
    modelfile = write_ollama_modelfile(gguf)
    say(f"Wrote {modelfile} (for Ollama: `ollama create my-gemma -f \"{modelfile}\"`).")
    explicit = getattr(args, "lmstudio_dir", None) or getattr(args, "output", None)
    folder = ModelsFolder(settings.path(explicit), "given on the command line") if explicit \
        else find_models_folder(settings)
    if folder is None:
        say("LM Studio's models folder was not found (is LM Studio installed and started once?).")
        say(f"Import the file by hand: in LM Studio open My Models -> Import, and choose {gguf}")
        say("Or set lmstudio_models_dir in settings.toml and run this again.")
        return 0
    say(f"LM Studio's models folder: {folder.path} ({folder.reason}).")
    dest = lmstudio_file_for(folder.path, gguf)
    how = link_or_copy(gguf, dest)
    say(f"{how.capitalize()}: {dest} ({human_size(dest.stat().st_size)})")
    say(f"Open LM Studio: the model is under My Models as {PUBLISHER}/{MODEL_FOLDER}. "
        "If LM Studio was open, press the refresh button in My Models.")
    for line in RUNTIME_ADVICE:
        say(line)
    return 0
