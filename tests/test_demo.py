"""The demo never deletes a folder it did not make."""
from gemma_kit.cli import main


def test_demo_refuses_a_folder_with_the_users_files(tmp_path, capsys):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "my_notes.txt").write_text("keep me")
    assert main(["--root", str(tmp_path), "demo", "--output", str(precious)]) == 1
    assert (precious / "my_notes.txt").read_text() == "keep me"
    assert "will not delete them" in capsys.readouterr().err


def test_the_demo_runs_its_steps_with_the_callers_settings_file(tmp_path):
    """The steps get the settings object the demo was given, its own small values on top: a --settings file
    (here, seed 7) holds for every step, where re-reading settings.toml per step used to drop it."""
    import argparse

    from gemma_kit.core.settings import load_settings
    from gemma_kit.steps import demo

    (tmp_path / "mine.toml").write_text("[training]\nseed = 7\n", encoding="utf-8")
    settings = load_settings(tmp_path, tmp_path / "mine.toml")
    prepared = demo.run(settings, argparse.Namespace(output=str(tmp_path / "demo"), keep=False))
    assert prepared.settings.seed == 7 and prepared.settings.max_steps == 12
    assert prepared.settings.path(prepared.settings.dataset_dir) == tmp_path / "demo" / "dataset"
    assert (tmp_path / "demo" / "dataset" / "sample_telegram.json").is_file()
    assert prepared.gguf == tmp_path / "demo" / "finetuned_gemma.gguf"
