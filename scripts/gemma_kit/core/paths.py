"""Where things live. Every path the steps use is resolved here, relative to the project root.

The project root is the folder holding `settings.toml`: `--root`, else $GEMMA_KIT_ROOT, else the checkout
this package sits in (scripts/gemma_kit -> two levels up), else the current folder. Tests point it at tmp_path.
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .console import UserError

SETTINGS_FILE_NAME = "settings.toml"


def find_project_root(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit).resolve()
    from_env = os.environ.get("GEMMA_KIT_ROOT")
    if from_env:
        return Path(from_env).resolve()
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / SETTINGS_FILE_NAME).exists():
        return checkout
    return Path.cwd().resolve()


def check_free_space(folder: Path, needed_bytes: int, what: str) -> None:
    """Refuse before writing rather than die half-way with a full disk."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    margin = 256 * 1024 * 1024
    if free < needed_bytes + margin:
        from .console import human_size

        raise UserError(
            f"Not enough free disk space for {what}: it needs about {human_size(needed_bytes)}, "
            f"{probe} has {human_size(free)} free.",
            "Free some space on that drive (or point the output to another drive with --output) and run again.",
        )


@contextmanager
def atomic_file(dest: Path) -> Iterator[Path]:
    """Yield a temporary path in the same folder; rename it onto `dest` only when the block succeeds.

    A crash or Ctrl-C never leaves a file that looks finished (the temp is removed).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    try:
        yield tmp
        replace_or_explain(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def atomic_folder(dest: Path) -> Iterator[Path]:
    """Build a folder under a temporary name and rename it onto `dest` at the end (old one replaced).

    If a rename fails (on Windows: Explorer, an antivirus or LM Studio holding a file), the old folder is put
    back and a UserError says why: at no point are both the old and the new result gone."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
        if not dest.exists():
            replace_or_explain(tmp, dest)
            return
        old = dest.with_name(dest.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        replace_or_explain(dest, old)
        try:
            replace_or_explain(tmp, dest)
        except UserError:
            os.replace(old, dest)  # the previous result stays usable
            raise
        shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def replace_or_explain(src: Path, dest: Path) -> None:
    try:
        os.replace(src, dest)
    except PermissionError as e:
        # On Windows a file or folder held open by another program (LM Studio, Explorer) cannot be replaced.
        raise UserError(
            f"Could not replace {dest}: another program is using it.",
            "Close the program or Explorer window that has it open (for example LM Studio), then run this step "
            "again.",
        ) from e
