"""Where LM Studio looks for models on this computer, and putting a .gguf there (shared by two steps).

LM Studio scans <models folder>/<publisher>/<model>/<file>.gguf. Its models folder is, in the order LM Studio
itself decides it:
1. `downloadsFolder` in settings.json in LM Studio's home (set when the user moves "My Models" to another
   drive);
2. `<LM Studio home>/models`. The home is `~/.lmstudio` unless `~/.lmstudio-home-pointer` names another: the file
   LM Studio writes on its first start and reads before anything else. It holds one line, the absolute path of
   the home (UTF-8, surrounding whitespace ignored): lmstudio-ai/lmstudio-js,
   packages/lms-common-server/src/findLMStudioHome.ts (`findLMStudioHome`);
3. without a pointer, the defaults: `~/.lmstudio/models`, then `~/.cache/lm-studio/models` (older versions).
The setting `lmstudio_models_dir` overrides all of this.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .console import byte_bar, warn
from .language import N_, tr
from .paths import atomic_file, check_free_space
from .settings import Settings

PUBLISHER = "gemma-kit"
MODEL_FOLDER = "finetuned-gemma-3n"
HOME_POINTER = ".lmstudio-home-pointer"

# Shown whenever LM Studio is found: Gemma 3n came to llama.cpp in mid-2025, and an LM Studio whose llama.cpp
# runtime predates it refuses the file with exactly this message. The runtime page is Ctrl+Shift+R
# (lmstudio-ai/docs: 0_app/2_runtimes/llama-cpp.md, "open Runtime settings (⌘⇧R)"). Shown with tr_marked, in the
# user's language only; LM Studio's own message stays quoted in English, as LM Studio prints it.
RUNTIME_ADVICE = N_('Gemma 3n needs an up-to-date LM Studio runtime: if LM Studio says "unknown model architecture: '
                    'gemma3n", update the llama.cpp runtime (Ctrl+Shift+R opens LM Studio\'s runtime settings), '
                    "then load the model again.")
# What link_or_copy did, in words (its return values stay machine words: callers compare them).
HANDOFF_WORDS = {"linked": N_("linked"), "copied": N_("copied"), "already there": N_("already there")}


@dataclass(frozen=True)
class ModelsFolder:
    path: Path
    reason: str   # why this folder, in the user's words


def find_models_folder(settings: Settings, home: Path | None = None) -> ModelsFolder | None:
    if settings.lmstudio_models_dir:
        return ModelsFolder(settings.path(settings.lmstudio_models_dir), tr("lmstudio_models_dir in settings.toml"))
    home = home or Path.home()
    default_home = home / ".lmstudio"
    pointed_home = read_home_pointer(home / HOME_POINTER)
    settings_file = (pointed_home or default_home) / "settings.json"   # LM Studio reads only its current home's
    chosen = read_downloads_folder(settings_file)
    if chosen is not None:
        return ModelsFolder(chosen, tr("LM Studio's own setting: downloadsFolder in {path}", path=settings_file))
    candidates = [(pointed_home / "models", tr("LM Studio's home is {home}, named in {pointer}", home=pointed_home,
                                               pointer=home / HOME_POINTER))] if pointed_home else []
    candidates += [(default_home / "models", tr("LM Studio's default folder")),
                   (home / ".cache" / "lm-studio" / "models", tr("the folder of older LM Studio versions"))]
    for folder, reason in candidates:
        if folder.is_dir():
            return ModelsFolder(folder, reason)
    return None


def read_home_pointer(pointer: Path) -> Path | None:
    """The LM Studio home named in ~/.lmstudio-home-pointer (None: no pointer, LM Studio uses its defaults)."""
    try:
        named = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        warn(tr("could not read {pointer} ({error}); looking in LM Studio's default folders instead.",
                pointer=pointer, error=e))
        return None
    if not named:
        return None
    home = Path(named).expanduser()
    if not home.is_dir():
        warn(tr("{pointer} names {home} as LM Studio's home, but that folder does not exist; looking in LM "
                "Studio's default folders instead.", pointer=pointer, home=home))
        return None
    return home


def read_downloads_folder(settings_file: Path) -> Path | None:
    """LM Studio's chosen models folder from its settings.json, if it names one that exists."""
    try:
        value = json.loads(settings_file.read_text(encoding="utf-8")).get("downloadsFolder")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError, AttributeError) as e:
        warn(tr("could not read LM Studio's settings file {path} ({error}); its models-folder setting is "
                "ignored.", path=settings_file, error=e))
        return None
    if not isinstance(value, str) or not value.strip():
        return None
    folder = Path(value.strip()).expanduser()
    if not folder.is_absolute():
        folder = settings_file.parent / folder
    if not folder.is_dir():
        warn(tr("LM Studio's settings ({path}) name {folder} as its models folder, but that folder does "
                "not exist (a drive that is not connected?); looking in LM Studio's default folders instead.",
                path=settings_file, folder=folder))
        return None
    return folder


def lmstudio_file_for(models_dir: Path, gguf: Path) -> Path:
    return models_dir / PUBLISHER / MODEL_FOLDER / gguf.name


def handoff_record(gguf: Path) -> Path:
    return gguf.with_name(gguf.stem + ".lmstudio.json")


def record_handoff(gguf: Path, installed: Path) -> None:
    """Remember which LM Studio file was made from `gguf`, so that a new conversion of this very file (and of no
    other: the demo writes a file of the same name) replaces it."""
    with atomic_file(handoff_record(gguf)) as tmp:
        tmp.write_text(json.dumps({"lmstudio_file": str(installed)}, indent=1), encoding="utf-8")


def recorded_handoff(gguf: Path) -> Path | None:
    """The LM Studio file an earlier hand-off made from `gguf`, if it is still there."""
    try:
        installed = Path(json.loads(handoff_record(gguf).read_text(encoding="utf-8"))["lmstudio_file"])
    except (OSError, ValueError, KeyError, TypeError):
        return None   # never handed off (or the record is unreadable: the hand-off step writes it again)
    return installed if installed.is_file() else None


def link_or_copy(source: Path, dest: Path) -> str:
    """Hard link on the same drive (instant, no space); a copy with a progress bar otherwise.

    An older link or copy at `dest` is replaced in one rename: a hard link made before the last conversion
    still holds the previous file's data (the conversion renamed a new file into place), so "it exists" is not
    "it is current" — only the same file is."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and os.path.samefile(source, dest):
        return "already there"
    with atomic_file(dest) as tmp:
        tmp.unlink(missing_ok=True)   # left by a crash: os.link refuses an existing name
        try:
            os.link(source, tmp)
            return "linked"
        except OSError:
            pass  # another drive, or a file system without hard links: copy instead
        size = source.stat().st_size
        check_free_space(dest.parent, size, tr("the copy for LM Studio"))
        with open(source, "rb") as src, open(tmp, "wb") as out, byte_bar(size, tr("Copying to LM Studio")) as bar:
            while chunk := src.read(16 * 1024 * 1024):
                out.write(chunk)
                bar.update(len(chunk))
        return "copied"
