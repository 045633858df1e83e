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

from .console import UserError, say
from .language import N_, tr, tr_marked

SETTINGS_FILE_NAME = "settings.toml"


def show_path(path: Path, root: Path) -> str:
    """Paths in messages and reports are relative to the project folder when they are inside it."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


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
            tr("Not enough free disk space for {what}: it needs about {needed}, {folder} has {free} free.",
               what=what, needed=human_size(needed_bytes), folder=probe, free=human_size(free)),
            tr("Free some space on that drive (or point the output to another drive with --output) and run again."),
        )


OUTPUT_HINT = N_("Choose another output folder (--output), or make this one writable: not on a read-only or full "
               "drive, not inside a protected folder such as C:\\Program Files, not marked read-only.")


def ensure_folder(folder: Path) -> None:
    """Create `folder` and its parents, or say in plain words why it cannot be (instead of an OSError traceback)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return
    except FileExistsError:
        pass  # `folder` itself, or a parent, is a file: named below
    except NotADirectoryError:
        pass
    except OSError as e:
        raise UserError(tr("Cannot create the folder {folder}: {reason}.", folder=folder, reason=e.strerror or e),
                        tr_marked(OUTPUT_HINT)) from e
    blocking = folder
    while not blocking.exists() and blocking != blocking.parent:
        blocking = blocking.parent
    raise UserError(tr("Cannot create the folder {folder}: {blocking} is a file, not a folder.", folder=folder,
                       blocking=blocking),
                    tr("Point --output at a folder (for prepare-dataset) or a new file name, or move that file away."))


def check_writable_folder(folder: Path) -> None:
    """Refuse before the work starts when nothing can be written into `folder` (read-only drive, no permission)."""
    ensure_folder(folder)
    probe = folder / f".gemma-kit-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UserError(tr("Cannot write into the folder {folder}: {reason}.", folder=folder, reason=e.strerror or e),
                        tr_marked(OUTPUT_HINT)) from e


@contextmanager
def atomic_file(dest: Path) -> Iterator[Path]:
    """Yield a temporary path in the same folder; rename it onto `dest` only when the block succeeds.

    A crash or Ctrl-C never leaves a file that looks finished (the temp is removed).
    """
    if dest.is_dir():
        raise UserError(tr("Cannot write {dest}: a folder of that name is in the way.", dest=dest),
                        tr("Move or rename that folder, or choose another output (--output)."))
    check_writable_folder(dest.parent)
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
    check_writable_folder(dest.parent)
    done = finish_interrupted_swap(dest)  # before the stale `.partial` below is removed: it may be the result
    if done:
        say(done)
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


def finish_interrupted_swap(dest: Path) -> str | None:
    """Repair what a kill between atomic_folder's steps left, and say what was done (None: nothing to repair).

    The two renames start only once the new folder is complete, so `X.old` with `X.partial` and no `X` means
    the new result is whole: it goes in place. `X.old` alone is put back. `X.old` beside `X` is the previous
    result the last run did not get to delete (15 GB for an E4B merge).
    """
    old, partial = dest.with_name(dest.name + ".old"), dest.with_name(dest.name + ".partial")
    if not old.is_dir():
        return None
    if dest.exists():
        shutil.rmtree(old, ignore_errors=True)
        return tr("Removed {old}, the previous version an interrupted run left behind.", old=old)
    if partial.is_dir():
        replace_or_explain(partial, dest)
        shutil.rmtree(old, ignore_errors=True)
        return tr("Finished replacing {dest}: a run was stopped after the new version was complete.", dest=dest)
    replace_or_explain(old, dest)
    return tr("Put {dest} back from {old_name}: a run was stopped while replacing it.", dest=dest, old_name=old.name)


def replace_or_explain(src: Path, dest: Path) -> None:
    try:
        os.replace(src, dest)
    except (IsADirectoryError, NotADirectoryError, FileExistsError) as e:
        raise UserError(tr("Could not put the new {name} in place: {dest} is in the way ({reason}).",
                           name=dest.name, dest=dest, reason=e.strerror),
                        tr("Move or rename it, or choose another output (--output), then run this step again.")) \
            from e
    except PermissionError as e:
        # On Windows a file or folder held open by another program (LM Studio, Explorer) cannot be replaced.
        raise UserError(
            tr("Could not replace {dest}: another program is using it.", dest=dest),
            tr("Close the program or Explorer window that has it open (for example LM Studio), then run this step "
               "again."),
        ) from e
