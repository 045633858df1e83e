"""Questions: never block without a terminal; with one, an unanswered question takes its default in time."""
import os

from gemma_kit.core import console
from gemma_kit.core.console import ask_choice


def test_without_a_terminal_the_default_is_taken_and_said(monkeypatch, capsys):
    monkeypatch.setattr(console, "is_interactive", lambda: False)
    assert ask_choice("Merge now?", ["yes", "no"], "yes") == "yes"
    assert "Merge now? -> using the default 'yes' (no terminal to ask)." in capsys.readouterr().out


def test_an_unanswered_question_times_out_to_its_default(monkeypatch, capsys):
    read_end, write_end = os.pipe()  # a terminal nobody types into
    monkeypatch.setattr(console, "is_interactive", lambda: True)
    monkeypatch.setattr("sys.stdin", os.fdopen(read_end))
    try:
        assert ask_choice("Merge now?", ["yes", "no"], "no", timeout=0.3) == "no"
    finally:
        os.close(write_end)
    assert "No answer in 0 s -> using the default 'no'." in capsys.readouterr().out


def test_a_typed_answer_is_used(monkeypatch):
    monkeypatch.setattr(console, "is_interactive", lambda: True)
    answers = iter(["maybe", "NO"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    assert ask_choice("Merge now?", ["yes", "no"], "yes", timeout=5) == "no"
