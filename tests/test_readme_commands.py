"""The README's two developer commands are the ones CI runs."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_COMMAND = ".venv/bin/python -m pytest -q"
SETUP_COMMAND = ('python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e ".[test]" && '
                 '.venv/bin/gemma-kit demo')


def test_readme_shows_the_setup_and_test_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```bash\n{SETUP_COMMAND}\n```" in readme
    assert f"```bash\n{TEST_COMMAND}\n```" in readme


def test_ci_runs_the_readme_test_command_after_installing_the_project():
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert lines[-1] == TEST_COMMAND
    assert '.venv/bin/pip install -q -c constraints.txt -e ".[test]"' in lines


def test_readme_is_bilingual_and_names_every_bat():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "## Русский" in readme and "## English" in readme
    for bat in ROOT.glob("*.bat"):
        assert bat.name in readme, f"README does not mention {bat.name}"


def test_readme_names_every_command_line_step():
    from gemma_kit.cli import STEPS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for step in STEPS:
        assert f"`{step.name}`" in readme, f"README does not name the step {step.name}"
