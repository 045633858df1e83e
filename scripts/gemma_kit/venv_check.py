"""Can the existing .venv be reused? prepare_venv.bat asks before it installs anything into it.

Standard library only (run as `python -S -m gemma_kit.venv_check .venv` by the base Python, whose own
packages are irrelevant); it speaks the language settings.toml asks for. Prints one word on stdout for the .bat, `ok` or `rebuild`, and the reason in plain
words on stderr, which the .bat's window shows.

`python -S -m gemma_kit.venv_check --interpreter` prints `ok` when the Python running it can install PyTorch
(64-bit, and on Windows x64 / AMD64), else its kind (`32-bit`, `ARM64`): PyTorch publishes no CUDA wheels for
those, and pip would only say "no matching distribution" on every run.

A venv is only a folder pointing at the Python it was made from (pyvenv.cfg `home` / `executable`) and at the
folder it was made in (`command`, Python 3.11+). Reusing one whose base Python was uninstalled, that was copied
from another PC or folder, or that an unsupported Python made, fails later with messages nobody can act on.
"""
from __future__ import annotations

import os
import struct
import sys
import sysconfig
from pathlib import Path

from .core.language import tr

SUPPORTED_PYTHONS = ((3, 11), (3, 12), (3, 13))


def supported_range_text() -> str:
    first, last = SUPPORTED_PYTHONS[0], SUPPORTED_PYTHONS[-1]
    return f"{first[0]}.{first[1]}-{last[0]}.{last[1]}"


# The Machine field of a Windows executable's PE header (Microsoft's PE format, "Machine Types").
PE_MACHINES = {0x8664: "ok", 0x014C: "32-bit", 0xAA64: "ARM64", 0x01C4: "ARM"}


def interpreter_kind(platform_tag: str, pointer_bits: int) -> str:
    """"ok", or the kind of Python PyTorch has no wheel for, from sysconfig.get_platform() and the pointer size."""
    if pointer_bits != 64 or platform_tag == "win32":
        return "32-bit"
    if platform_tag.startswith("win-") and platform_tag != "win-amd64":
        return platform_tag[4:].upper()
    return "ok"


def executable_kind(path: Path) -> str:
    """interpreter_kind of a python.exe read from its PE header, without running it ("ok" when not a PE file)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 64 or head[:2] != b"MZ":
                return "ok"
            f.seek(struct.unpack_from("<I", head, 0x3C)[0])
            pe = f.read(6)
    except OSError:
        return "ok"
    if len(pe) < 6 or pe[:4] != b"PE\0\0":
        return "ok"
    machine = struct.unpack_from("<H", pe, 4)[0]
    return PE_MACHINES.get(machine, f"machine-0x{machine:04x}")


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
        return tr("{cfg_file} is missing or unreadable, so {venv} is not a complete Python environment",
                  cfg_file=cfg_file, venv=venv)
    version_text = cfg.get("version_info") or cfg.get("version") or ""
    parts = version_text.split(".")
    version = (int(parts[0]), int(parts[1])) if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit() \
        else None
    if version is None:
        return tr("{cfg_file} does not say which Python made it", cfg_file=cfg_file)
    if version not in SUPPORTED_PYTHONS:
        return tr("it was made with Python {version}, and the kit needs Python {supported} "
                  "(its libraries do not install on other versions)", version=version_text,
                  supported=supported_range_text())
    base = cfg.get("executable") or ""
    home = cfg.get("home") or ""
    if base and not Path(base).is_file():
        return tr("the Python it was made from ({base}) no longer exists: it was uninstalled or updated, or "
                  "the folder comes from another computer", base=base)
    if not base and (not home or not Path(home).is_dir()):
        return tr("the Python it was made from (in {home}) no longer exists: it was "
                  "uninstalled or updated, or the folder comes from another computer",
                  home=home or tr("an unrecorded folder"))
    kind = executable_kind(Path(base)) if base else "ok"
    if kind != "ok":
        return tr("it was made with a {kind} Python ({base}), and PyTorch needs the 64-bit Python for x64 "
                  "(AMD64) Windows", kind=kind, base=base)
    made_in = folder_in_venv_command(cfg.get("command", ""))
    if made_in and not same_folder(made_in, venv):
        return tr("it was made in another folder ({made_in}): the kit was moved or copied, and an environment "
                  "only works where it was made", made_in=made_in)
    if not venv_interpreter(venv).is_file():
        return tr("its Python ({python}) is missing: the environment is incomplete", python=venv_interpreter(venv))
    return ""


def use_language_of_project() -> None:
    """The base Python that runs this may predate tomllib (3.11): then the setting is not read, and the
    language follows Windows (the "auto" choice)."""
    try:
        from .core.settings import use_language_of_project as use_language
    except ImportError:
        from .core.language import set_language

        set_language("auto")
        return
    use_language()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--interpreter"]:
        print(interpreter_kind(sysconfig.get_platform(), 8 * struct.calcsize("P")), flush=True)
        return 0
    use_language_of_project()
    venv = Path(args[0] if args else ".venv")
    problem = venv_problem(venv)
    if problem:
        print(tr("The existing {venv} cannot be used: {problem}. It will be removed and built again.", venv=venv,
                 problem=problem), file=sys.stderr, flush=True)
    print("rebuild" if problem else "ok", flush=True)  # same in every language: the .bat reads it
    return 0


if __name__ == "__main__":
    sys.exit(main())
