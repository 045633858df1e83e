"""Writes constraints.txt: the exact versions of everything the kit installs, as the test suite ran with them.

Run with the venv the tests passed in: .venv/bin/python tools/write_constraints.py
It walks the kit's requirements (pyproject.toml, with the [test] extra) through the installed packages'
own requirements, so a package that stays installed from an older dependency list is not pinned. Used by
prepare_venv.bat and .ci/run (`pip install -c constraints.txt -e ".[test]"`).

Left out on purpose: the packages that come with the chosen torch build (nvidia-*, cuda-*, triton). They differ
between torch's CUDA variants (cu126 / cu130 / cu132) and platforms, so pinning the Linux CI's set would make
pip refuse the build prepare_venv.bat installs on Windows. torch itself is pinned without its local label:
`torch==2.14.1` accepts 2.14.1+cu126 as well as 2.14.1+cpu.
"""
from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
BUILD_SPECIFIC = re.compile(r"^(nvidia-.*|cuda-.*|triton)$")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(requirements: list[str]) -> dict[str, str]:
    """{canonical name: installed version} of everything the requirements pull in here."""
    found: dict[str, str] = {}
    todo = [(Requirement(r), ()) for r in requirements]
    while todo:
        req, extras = todo.pop()
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (extras or ("",))):
            continue
        name = canonical(req.name)
        if name in found:
            continue
        try:
            dist = distribution(req.name)
        except PackageNotFoundError:
            sys.exit(f"{req.name} is required but not installed in {sys.prefix}: install the kit first")
        found[name] = dist.version.split("+")[0]
        todo += [(Requirement(r), tuple(req.extras)) for r in dist.requires or []]
    return found


def main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pinned = closure(project["dependencies"] + project["optional-dependencies"]["test"])
    lines = [f"{name}=={version}" for name, version in sorted(pinned.items()) if not BUILD_SPECIFIC.match(name)]
    header = ("# The exact versions the test suite ran with (Python 3.11). Written by tools/write_constraints.py;\n"
              "# torch's CUDA runtime packages (nvidia-*, cuda-*, triton) are left to the torch build.\n")
    (ROOT / "constraints.txt").write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote constraints.txt ({len(lines)} packages)")


if __name__ == "__main__":
    main()
