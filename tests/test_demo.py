"""The demo never deletes a folder it did not make."""
from gemma_kit.cli import main


def test_demo_refuses_a_folder_with_the_users_files(tmp_path, capsys):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "my_notes.txt").write_text("keep me")
    assert main(["--root", str(tmp_path), "demo", "--output", str(precious)]) == 1
    assert (precious / "my_notes.txt").read_text() == "keep me"
    assert "will not delete them" in capsys.readouterr().err
