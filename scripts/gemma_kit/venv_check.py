"""Can the existing .venv be reused? prepare_venv.bat asks before it installs anything into it.

Standard library only (run as `python -S -m gemma_kit.venv_check .venv` by the base Python, whose own
packages are irrelevant). Prints one word on stdout for the .bat, `ok` or `rebuild`, and the reason in plain
words on stderr, which the .bat's window shows.

A venv is only a folder pointing at the Python it was made from (pyvenv.cfg `home` / `executable`) and at the
folder it was made in (`command`, Python 3.11+). Reusing one whose base Python was uninstalled, that was copied
from another PC or folder, or that an unsupported Python made, fails later with messages nobody can act on.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

SUPPORTED_PYTHONS = ((3, 11), (3, 12), (3, 13))


def supported_range_text() -> str:
    first, last = SUPPORTED_PYTHONS[0], SUPPORTED_PYTHONS[-1]
    return f"{first[0]}.{first[1]}-{last[0]}.{last[1]}"


def read_pyvenv_cfg(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip().lower()] = value.strip()
    return values


def venv_interpreter(venv: Path) -> Path:
    return venv / "Scripts" / "python.exe" if os.name == "nt" else venv / "bin" / "python"


def same_folder(a: str | Path, b: str | Path) -> bool:
    def norm(p):
        return os.path.normcase(os.path.normpath(os.path.abspath(str(p))))
    return norm(a) == norm(b)


def folder_in_venv_command(command: str) -> str:
    """The target folder of `<python> -m venv <folder>` as pyvenv.cfg's `command` records it ("" if unknown)."""
    _, sep, rest = command.partition(" -m venv ")
    if not sep:
        return ""
    words = rest.strip().split(" ")
    # Options (--without-pip, --upgrade-deps...) come before the folder; the folder may contain spaces.
    while words and words[0].startswith("--"):
        words.pop(0)
    folder = " ".join(words).strip()
    return folder[1:-1] if folder.startswith('"') and folder.endswith('"') else folder


def venv_problem(venv: Path) -> str:
    """Why `venv` cannot be reused, in words a user understands; "" when it can."""
    cfg_file = venv / "pyvenv.cfg"
    try:
        cfg = read_pyvenv_cfg(cfg_file.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return f"{cfg_file} is missing or unreadable, so {venv} is not a complete Python environment"
    version_text = cfg.get("version_info") or cfg.get("version") or ""
    parts = version_text.split(".")
    version = (int(parts[0]), int(parts[1])) if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit() \
        else None
    if version is None:
        return f"{cfg_file} does not say which Python made it"
    if version not in SUPPORTED_PYTHONS:
        return (f"it was made with Python {version_text}, and the kit needs Python {supported_range_text()} "
                "(its libraries do not install on other versions)")
    base = cfg.get("executable") or ""
    home = cfg.get("home") or ""
    if base and not Path(base).is_file():
        return (f"the Python it was made from ({base}) no longer exists: it was uninstalled or updated, or "
                "the folder comes from another computer")
    if not base and (not home or not Path(home).is_dir()):
        return (f"the Python it was made from (in {home or 'an unrecorded folder'}) no longer exists: it was "
                "uninstalled or updated, or the folder comes from another computer")
    made_in = folder_in_venv_command(cfg.get("command", ""))
    if made_in and not same_folder(made_in, venv):
        return (f"it was made in another folder ({made_in}): the kit was moved or copied, and an environment "
                "only works where it was made")
    if not venv_interpreter(venv).is_file():
        return f"its Python ({venv_interpreter(venv)}) is missing: the environment is incomplete"
    return ""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    venv = Path(args[0] if args else ".venv")
    problem = venv_problem(venv)
    if problem:
        print(f"The existing {venv} cannot be used: {problem}. It will be removed and built again.",
              file=sys.stderr, flush=True)
    print("rebuild" if problem else "ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
