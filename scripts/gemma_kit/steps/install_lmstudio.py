"""Put the finished .gguf where LM Studio finds it, and write an Ollama Modelfile beside it.

LM Studio's models folder is the one LM Studio itself uses (core/lmstudio.py: its own settings, its home
pointer, then the defaults). The file is hard-linked when that folder is on the same drive (no extra disk space,
instant), otherwise copied; running this again after a new conversion replaces the old file.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..core.console import UserError, human_size, say
from ..core.language import tr, tr_marked
from ..core.lmstudio import (HANDOFF_WORDS, MODEL_FOLDER, PUBLISHER, RUNTIME_ADVICE, ModelsFolder, find_models_folder,
                             link_or_copy, lmstudio_file_for, record_handoff)
from ..core.paths import atomic_file
from ..core.settings import Settings

EPILOG = ("Example: gemma-kit install-lmstudio\n"
          "Then open LM Studio: the model is listed under My Models as gemma-kit/finetuned-gemma-3n.")

LMS_IDENTIFIER = "gemma-kit-try"
TRY_QUESTION = "Привет! How are you today?"
LOAD_TIMEOUT = 600     # seconds: a first load of an 8 GB file from a hard disk
REPLY_TIMEOUT = 300
UNLOAD_TIMEOUT = 60

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
        raise UserError(tr("There is no GGUF file at {path} yet.", path=gguf), tr("Run convert_to_gguf.bat first."))
    modelfile = write_ollama_modelfile(gguf)
    say(tr('Wrote {modelfile} (for Ollama: `ollama create my-gemma -f "{modelfile}"`).', modelfile=modelfile))
    explicit = getattr(args, "lmstudio_dir", None) or getattr(args, "output", None)
    folder = ModelsFolder(settings.path(explicit), tr("given on the command line")) if explicit \
        else find_models_folder(settings)
    if folder is None:
        say(tr("LM Studio's models folder was not found (is LM Studio installed and started once?)."))
        say(tr("Import the file by hand: in LM Studio open My Models -> Import, and choose {path}", path=gguf))
        say(tr("Or set lmstudio_models_dir in settings.toml and run this again."))
        return 0
    say(tr("LM Studio's models folder: {path} ({reason}).", path=folder.path, reason=folder.reason))
    dest = lmstudio_file_for(folder.path, gguf)
    how = link_or_copy(gguf, dest)
    record_handoff(gguf, dest)
    say(f"{tr_marked(HANDOFF_WORDS[how]).capitalize()}: {dest} ({human_size(dest.stat().st_size)})")
    say(tr("Open LM Studio: the model is under My Models as {publisher}/{model}. "
           "If LM Studio was open, press the refresh button in My Models.", publisher=PUBLISHER, model=MODEL_FOLDER))
    say(tr_marked(RUNTIME_ADVICE))
    if settings.lmstudio_try_reply:
        try_in_lmstudio(folder.path, dest)
    return 0


def try_in_lmstudio(models_dir: Path, dest: Path) -> None:
    """lmstudio_try_reply: load the model in LM Studio itself and ask one question — the one check that runs the
    very runtime the user will chat with. `lms load <path> --identifier <id> --yes`, then `lms chat <id>
    --prompt <question>`, then `lms unload <id>` (lmstudio-ai/lms: src/subcommands/load.ts, chat.ts)."""
    # LM Studio installs lms in ~/.lmstudio/bin and puts that on PATH only after `lms bootstrap`.
    lms = shutil.which("lms") or shutil.which("lms", path=str(Path.home() / ".lmstudio" / "bin"))
    if lms is None:
        say(tr("lmstudio_try_reply is on, but LM Studio's `lms` command was found neither on PATH nor in "
               "~/.lmstudio/bin, so the model was not tried in LM Studio: load it there by hand."))
        return
    # The folder, not the file: lms matches this against its model paths as a fuzzy pattern.
    model_path = dest.parent.relative_to(models_dir).as_posix()
    say(tr("Loading {model} in LM Studio to ask it {question!r} (lmstudio_try_reply)...", model=model_path,
           question=TRY_QUESTION))
    try:
        loaded = run_lms(lms, ["load", model_path, "--identifier", LMS_IDENTIFIER, "--yes"], LOAD_TIMEOUT)
        if loaded.returncode != 0:
            output = loaded.stdout + loaded.stderr
            runtime_too_old = "unknown model architecture" in output   # LM Studio's words, in every language
            raise UserError(tr("LM Studio could not load {path}: {output}", path=dest, output=last_lines(output)),
                            tr_marked(RUNTIME_ADVICE) if runtime_too_old else
                            tr("Open LM Studio and load the model by hand to see the whole message."))
        chat = run_lms(lms, ["chat", LMS_IDENTIFIER, "--prompt", TRY_QUESTION], REPLY_TIMEOUT)
        if chat.returncode != 0:
            raise UserError(tr("LM Studio loaded {path} but did not answer: {output}", path=dest,
                               output=last_lines(chat.stdout + chat.stderr)),
                            tr("Open LM Studio and chat with the model by hand to see the whole message."))
    finally:
        unload(lms)
    reply = " ".join(chat.stdout.split())[:200]
    say(tr("LM Studio loaded the model and answered: {reply!r}", reply=reply))


def run_lms(lms: str, args: list[str], timeout: int) -> subprocess.CompletedProcess:
    # stdin closed: `lms chat --prompt` appends whatever stdin holds and waits for its end when it is not a TTY.
    try:
        return subprocess.run([lms, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              encoding="utf-8", errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise UserError(tr("LM Studio's `lms {command}` did not finish within {timeout} s.", command=args[0],
                           timeout=timeout),
                        tr("Open LM Studio and load the model by hand; set lmstudio_try_reply = false to skip "
                           "this.")) from e
    except OSError as e:
        raise UserError(tr("Could not run LM Studio's `lms` command ({lms}): {error}.", lms=lms, error=e),
                        tr("Set lmstudio_try_reply = false in settings.toml, or reinstall LM Studio.")) from e


def unload(lms: str) -> None:
    try:
        subprocess.run([lms, "unload", LMS_IDENTIFIER], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=UNLOAD_TIMEOUT)
    except (subprocess.TimeoutExpired, OSError):
        pass   # nothing was loaded, or LM Studio is busy: it frees the model itself when it closes


def last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines[-count:]) or tr("no message")
