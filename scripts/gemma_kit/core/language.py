"""The user's language: every line a user reads goes through `tr` (or `tr_n` for counts).

The gettext convention: the English text is the message id, and each other language has one table from that
id to its own text (`core/translations/ru_*.py`, one file per part of the kit, merged into one table). A message
missing from a table falls back to English; tests/test_language.py makes sure none is missing, none is stale and
both sides name the same {placeholders}.

Which language: the `language` setting ("auto", "ru", "en"). "auto" is the Windows display language (what the
user reads every day, even when the system locale is set differently for old programs), else the locale in the
environment (LANGUAGE, LC_ALL, LC_MESSAGES, LANG: gettext's order). Until the settings are read (a broken
settings.toml), "auto" applies.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
import string
from collections.abc import Mapping

LANGUAGES = ("en", "ru")
SETTING_CHOICES = ("auto", *LANGUAGES)   # what the `language` setting may say
# Windows LANGID primary language numbers (winnt.h LANG_*): the kit speaks Russian to these users.
WINDOWS_RUSSIAN_PRIMARY = {0x19}
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

_current = "en"
_tables: dict[str, dict[str, str | tuple[str, ...]]] = {}


def choose_language(setting: str, windows_ui_langid: int | None, env: Mapping[str, str]) -> str:
    """'ru' or 'en' for the `language` setting on a machine with this Windows UI language (None off Windows)."""
    if setting in LANGUAGES:
        return setting
    if windows_ui_langid is not None:
        return "ru" if windows_ui_langid & 0x3FF in WINDOWS_RUSSIAN_PRIMARY else "en"
    for name in LOCALE_VARIABLES:
        value = env.get(name, "")
        if value:
            # LANGUAGE may list several ("ru:en"); the first one counts, as gettext reads it.
            first = value.split(":")[0].lower()
            return "ru" if first.startswith("ru") else "en"
    return "en"


def as_language_setting(value: object) -> str | None:
    """A `language` value as a user may write it ("RU", "auto"), or None when it is not one."""
    return value.lower() if isinstance(value, str) and value.lower() in SETTING_CHOICES else None


def windows_ui_langid() -> int | None:
    if os.name != "nt":
        return None
    try:
        import ctypes

        return int(ctypes.windll.kernel32.GetUserDefaultUILanguage())
    except (AttributeError, OSError):  # not a real Windows (or a very unusual one): the locale decides
        return None


def set_language(setting: str) -> str:
    """Make `setting` ("auto", "ru", "en") the language of every later message; returns the one chosen."""
    global _current
    _current = choose_language(setting, windows_ui_langid(), os.environ)
    return _current


def current_language() -> str:
    return _current


def table(language: str) -> dict[str, str | tuple[str, ...]]:
    """The whole message table of `language` (English has none: its ids are its text)."""
    if language not in _tables:
        merged: dict[str, str | tuple[str, ...]] = {}
        if language != "en":
            from . import translations

            for info in sorted(pkgutil.iter_modules(translations.__path__), key=lambda i: i.name):
                if info.name.startswith(f"{language}_"):
                    module = importlib.import_module(f"{translations.__name__}.{info.name}")
                    merged.update(module.MESSAGES)
        _tables[language] = merged
    return _tables[language]


class RussianNumbers(string.Formatter):
    """Numbers formatted for display ({n:,} {x:.1f}) the Russian way: 2 391 and 0,1, not 2,391 and 0.1.
    A number with no format spec (a setting's value, a step number) stays as it is typed in settings.toml."""

    def format_field(self, value, format_spec):
        text = format(value, format_spec)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and ("," in format_spec
                                                                                  or "." in format_spec):
            text = text.replace(",", "\u00a0").replace(".", ",")
        return text


_RUSSIAN_NUMBERS = RussianNumbers()


def fill_in(text: str, values: dict) -> str:
    return _RUSSIAN_NUMBERS.vformat(text, (), values) if _current == "ru" else text.format(**values)


def tr(message: str, **values: object) -> str:
    """`message` (English, with {placeholders}; a literal brace is doubled) in the user's language, filled in."""
    text = table(_current).get(message, message) if _current != "en" else message
    if isinstance(text, tuple):  # a plural entry used without a count: its first form
        text = text[0]
    return fill_in(text, values)


def N_(message: str) -> str:
    """Marks an English message kept in a table or a constant (a skip reason's words) for the translation
    tables, as gettext's N_ does; `tr_marked` translates it where it is shown."""
    return message


def tr_marked(message: str, **values: object) -> str:
    """`tr` for a message that was marked with N_ where it was written (tests check the mark, not this call)."""
    return tr(message, **values)


def tr_n(count: int, singular: str, plural: str, **values: object) -> str:
    """A message that depends on a number; {n} is the number. Russian has three forms (1 файл, 2 файла, 5 файлов)."""
    values = {"n": count, **values}
    forms = table(_current).get(singular) if _current != "en" else None
    if isinstance(forms, tuple):
        text = forms[russian_plural_form(count)]
    else:
        text = singular if count == 1 else plural
    return fill_in(text, values)


def russian_plural_form(count: int) -> int:
    """0: 1, 21, 101 ...; 1: 2-4, 22-24 ...; 2: 0, 5-20, 25-30 ... (the rule gettext's Russian catalogues use)."""
    count = abs(count)
    if count % 10 == 1 and count % 100 != 11:
        return 0
    if 2 <= count % 10 <= 4 and not 12 <= count % 100 <= 14:
        return 1
    return 2


def placeholders(text: str) -> set[str]:
    """The {names} a message fills in (what a translation must keep)."""
    return {field.split(".")[0].split("[")[0] for _, field, _, _ in string.Formatter().parse(text) if field}
