"""The kit speaks Russian or English: every message has both, and the language follows the setting or the machine.

The tables are read from the code itself (every `tr("...")` and `tr_n(n, "...", "...")` call), so a message added
in English without its Russian, or a Russian entry left behind after the English changed, fails here.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gemma_kit.core import language
from gemma_kit.core.language import choose_language, placeholders, russian_plural_form, table, tr, tr_n

PACKAGE = Path(__file__).resolve().parents[1] / "scripts" / "gemma_kit"
SCRIPTS = PACKAGE.parent
SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if "translations" not in p.parts and p.name != "language.py")
# Calls whose text a user reads; text given to them as a literal (or f-string) has skipped the tables.
USER_FACING_CALLS = {"say", "warn", "UserError", "ask_choice", "print", "progress", "byte_bar", "note"}
SAME_IN_EVERY_LANGUAGE = "# same in every language"  # a pragma for machine-read lines (plan: optimizer_steps=...)
LETTERS = re.compile(r"[A-Za-z]{2}")


def call_name(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")


def message_ids() -> dict[str, list[str]]:
    """Every English message the code passes to tr/tr_n -> where it is used."""
    found: dict[str, list[str]] = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or call_name(node) not in ("tr", "tr_n", "N_"):
                continue
            texts = node.args[1:3] if call_name(node) == "tr_n" else node.args[:1]
            where = f"{path.relative_to(PACKAGE).as_posix()}:{node.lineno}"
            for text in texts:
                assert isinstance(text, ast.Constant) and isinstance(text.value, str), \
                    f"{where}: tr's message must be a literal string, so that its translation can be checked"
                found.setdefault(text.value, []).append(where)
    return found


def plural_singulars() -> set[str]:
    singulars = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and call_name(node) == "tr_n":
                singulars.add(node.args[1].value)
    return singulars


def untranslated_literals(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    bad = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or call_name(node) not in USER_FACING_CALLS:
            continue
        if any(SAME_IN_EVERY_LANGUAGE in lines[i - 1] for i in range(node.lineno, node.end_lineno + 1)):
            continue
        arguments = [*node.args, *(k.value for k in node.keywords if k.arg in (None, "desc", "hint", "message"))]
        for argument in arguments:
            literal = first_untranslated(argument)
            if literal is not None:
                bad.append(f"{path.relative_to(PACKAGE).as_posix()}:{node.lineno}: {literal[:60]!r}")
    return bad


def first_untranslated(node: ast.AST) -> str | None:
    """A literal with words in `node` outside any tr call (what is inside one is its message id)."""
    if isinstance(node, ast.Call) and call_name(node) in ("tr", "tr_n", "tr_marked"):
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and LETTERS.search(node.value):
        return node.value
    for child in ast.iter_child_nodes(node):
        found = first_untranslated(child)
        if found is not None:
            return found
    return None


def test_every_message_has_its_russian_and_no_russian_entry_is_stale():
    used = message_ids()
    russian = table("ru")
    missing = sorted(f"{where[0]}: {text[:70]!r}" for text, where in used.items() if text not in russian)
    stale = sorted(text[:70] for text in russian if text not in used)
    assert missing == [], "messages without Russian"
    assert stale == [], "Russian entries no code uses (the English changed?)"


def test_a_message_has_one_russian_text_across_the_part_tables():
    import importlib
    import pkgutil

    from gemma_kit.core import translations

    first: dict[str, tuple[str, object]] = {}
    repeated = []
    for info in pkgutil.iter_modules(translations.__path__):
        for english, russian in importlib.import_module(f"{translations.__name__}.{info.name}").MESSAGES.items():
            if english in first:
                repeated.append(f"{english[:50]!r}: {first[english][0]} and {info.name}")
            first.setdefault(english, (info.name, russian))
    assert repeated == []   # one place to correct a translation


def test_both_languages_fill_in_the_same_placeholders():
    plurals = plural_singulars()
    wrong = []
    for english, russian in table("ru").items():
        forms = russian if isinstance(russian, tuple) else (russian,)
        if english in plurals:
            assert isinstance(russian, tuple) and len(russian) == 3, f"{english!r} needs Russian's three forms"
        for form in forms:
            if placeholders(form) - placeholders(english) - ({"n"} if english in plurals else set()):
                wrong.append(english[:70])
            if not re.search("[А-Яа-яЁё]", form) and re.search("[A-Za-z]{3}", form.format_map(_Blank())):
                wrong.append(f"not Russian: {form[:70]}")
        if not isinstance(russian, tuple) and placeholders(russian) != placeholders(english):
            wrong.append(english[:70])
    assert wrong == []


class _Blank(dict):
    def __missing__(self, key):
        return ""


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_every_user_line_goes_through_the_tables(path):
    assert untranslated_literals(path) == []


def test_the_scanner_sees_an_untranslated_line(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('say(f"Wrote {n} files")\nsay(tr("Wrote {n} files", n=n))\nwarn(": " + tr("x"))\n'
                      'raise UserError(tr("Bad"), "Fix it")\nsay(tr("a") + " more words")\n', encoding="utf-8")
    original = PACKAGE
    try:
        globals()["PACKAGE"] = tmp_path
        assert [line.split(":")[1] for line in untranslated_literals(sample)] == ["1", "4", "5"]
    finally:
        globals()["PACKAGE"] = original


@pytest.mark.parametrize("setting, langid, env, expected", [
    ("ru", None, {}, "ru"),
    ("en", 0x0419, {"LANG": "ru_RU.UTF-8"}, "en"),
    ("auto", 0x0419, {"LANG": "en_US.UTF-8"}, "ru"),       # Windows UI in Russian wins over the locale
    ("auto", 0x0409, {"LANG": "ru_RU.UTF-8"}, "en"),       # English Windows
    ("auto", None, {"LANG": "ru_RU.UTF-8"}, "ru"),
    ("auto", None, {"LANGUAGE": "en:ru", "LANG": "ru_RU.UTF-8"}, "en"),
    ("auto", None, {"LC_ALL": "ru_UA.UTF-8"}, "ru"),
    ("auto", None, {"LANG": "C.UTF-8"}, "en"),
    ("auto", None, {}, "en"),
])
def test_the_language_follows_the_setting_then_windows_then_the_locale(setting, langid, env, expected):
    assert choose_language(setting, langid, env) == expected


def test_russian_counts_take_their_three_forms(monkeypatch):
    assert [russian_plural_form(n) for n in (1, 2, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111)] == \
        [0, 1, 1, 2, 2, 2, 2, 0, 1, 2, 0, 2]
    monkeypatch.setattr(language, "_current", "ru")
    monkeypatch.setitem(table("ru"), "{n} file", ("{n} файл", "{n} файла", "{n} файлов"))
    assert [tr_n(n, "{n} file", "{n} files") for n in (1, 3, 7)] == ["1 файл", "3 файла", "7 файлов"]
    monkeypatch.setattr(language, "_current", "en")
    assert [tr_n(n, "{n} file", "{n} files") for n in (1, 3)] == ["1 file", "3 files"]


def test_a_message_missing_from_the_table_falls_back_to_english(monkeypatch):
    monkeypatch.setattr(language, "_current", "ru")
    assert tr("Error:") == "Ошибка:"
    assert tr("A sentence nobody translated {x}", x=1) == "A sentence nobody translated 1"


def run_kit(args: list[str], cwd: Path, env_changes: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = {**os.environ, "GEMMA_KIT_NO_PROGRESS": "1", "PYTHONPATH": str(SCRIPTS)}
    for name, value in env_changes.items():
        env.pop(name, None) if value is None else env.__setitem__(name, value)
    return subprocess.run([sys.executable, "-m", "gemma_kit", "--root", str(cwd), *args], capture_output=True,
                          text=True, encoding="utf-8", timeout=120, cwd=cwd, env=env)


@pytest.fixture
def unrecognised_export(tmp_path) -> Path:
    (tmp_path / "dataset").mkdir()
    (tmp_path / "dataset" / "export.json").write_text(json.dumps({"something": [1, 2, 3]}), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("choice, error, hint", [("ru", "Ошибка:", "Что сделать:"), ("en", "Error:", "What to do:")])
def test_prepare_dataset_fails_in_the_chosen_language(unrecognised_export, choice, error, hint):
    done = run_kit(["prepare-dataset", "--mode", "instruct", "--set", f"language={choice}"], unrecognised_export, {})
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert any(line.startswith(error) for line in lines) and any(line.startswith(hint) for line in lines), done.stderr
    cyrillic = [line for line in lines if re.search("[А-Яа-я]{4}", line.removeprefix(error).removeprefix(hint))]
    assert len(cyrillic) == (2 if choice == "ru" else 0), done.stderr  # the problem and what to do about it
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("locale, marker", [("ru_RU.UTF-8", "Ошибка:"), ("en_GB.UTF-8", "Error:")])
def test_language_auto_follows_the_environment(unrecognised_export, locale, marker):
    done = run_kit(["prepare-dataset", "--mode", "instruct"], unrecognised_export,
                   {"LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": locale})
    assert done.returncode == 1
    assert marker in done.stderr, done.stderr


@pytest.mark.parametrize("args", [
    ["prepare-dataset", "--set", "lora_rnk=4"],                       # a mistyped setting
    ["finetune"],                                                      # no dataset yet
    ["merge-lora"],                                                    # no adapter yet
    ["convert-gguf"],                                                  # no merged model yet
])
def test_a_sample_of_failures_speaks_russian(tmp_path, args):
    done = run_kit([*args, "--set", "language=ru"], tmp_path, {})
    assert done.returncode == 1, done.stderr
    error = [line.removeprefix("Ошибка:") for line in done.stderr.splitlines() if line.startswith("Ошибка:")]
    hint = [line.removeprefix("Что сделать:") for line in done.stderr.splitlines() if line.startswith("Что сделать:")]
    assert error and re.search("[А-Яа-я]{4}", error[0]), done.stderr
    assert hint and re.search("[А-Яа-я]{4}", hint[0]), done.stderr


def test_a_step_prints_its_own_settings_and_names_the_others_you_set(tmp_path, monkeypatch):
    from gemma_kit.core import console
    from gemma_kit.core.settings import SETTING_NAMES, load_settings

    settings = load_settings(tmp_path, None, None, ["lora_rank=16", "seed=7"])
    quiet = settings.describe(("gguf_type", "lora_rank"))
    assert quiet.splitlines() == ["  lora_rank = 16 (yours)", "  gguf_type = 'q8_0'",
                                  "  also set by you: seed (all settings: --verbose)"]
    monkeypatch.setattr(console, "_verbose", True)
    assert len(settings.describe(("gguf_type",)).splitlines()) == len(SETTING_NAMES)
    monkeypatch.setattr(console, "_verbose", False)
    monkeypatch.setattr(language, "_current", "ru")
    assert settings.describe(("lora_rank",)).splitlines()[-1] == "  ещё вы задали: seed (все настройки: --verbose)"


def test_finetune_with_verbose_prints_every_setting(tmp_path):
    quiet = run_kit(["finetune", "--plan"], tmp_path, {})
    loud = run_kit(["finetune", "--plan", "--verbose"], tmp_path, {})
    assert quiet.returncode == loud.returncode == 1   # no dataset yet: the settings are printed before that
    assert "window_size" not in quiet.stdout and "window_size = 8" in loud.stdout


def test_russian_numbers_use_a_space_and_a_decimal_comma(monkeypatch):
    monkeypatch.setattr(language, "_current", "ru")
    monkeypatch.setitem(table("ru"), "{n:,} examples, {x:.1f} min, lr {lr}", "{n:,} примеров, {x:.1f} мин, lr {lr}")
    assert tr("{n:,} examples, {x:.1f} min, lr {lr}", n=12345, x=0.5, lr=0.0002) == \
        "12\u00a0345 примеров, 0,5 мин, lr 0.0002"   # a value as typed in settings.toml keeps its dot
    monkeypatch.setattr(language, "_current", "en")
    assert tr("{n:,} examples, {x:.1f} min, lr {lr}", n=12345, x=0.5, lr=0.0002) == "12,345 examples, 0.5 min, lr 0.0002"


def test_a_yes_no_question_takes_a_russian_answer(monkeypatch):
    from gemma_kit.core import console

    monkeypatch.setattr(console, "is_interactive", lambda: True)
    answers = iter(["Да", "н"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    assert console.ask_choice("Объединить?", ["yes", "no"], "no") == "yes"
    assert console.ask_choice("Объединить?", ["yes", "no"], "yes") == "no"
