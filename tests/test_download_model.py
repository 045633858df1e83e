"""download-model without any network: local folders, completeness, and the hub's real error classes."""
import errno
import shutil

try:  # the HTTP library huggingface_hub raises its errors with: httpx2 from 2.x, httpx before
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx
import pytest
from huggingface_hub import errors as hub_errors

from gemma_kit.cli import main
from gemma_kit.steps.download_model import bytes_still_needed, explain_hub_error, is_needed_file

REPO = "google/gemma-3n-E4B-it"


def response(status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", f"https://huggingface.co/api/models/{REPO}"))


def copy_model(src, tmp_path):
    dest = tmp_path / "models" / "gemma-3n-E4B-it"
    shutil.copytree(src, dest)
    return dest


def test_complete_model_is_detected_without_network(tiny_model_dir, tmp_path, capsys, monkeypatch):
    copy_model(tiny_model_dir, tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert main(["--root", str(tmp_path), "download-model", "--model", "E4B"]) == 0
    out = capsys.readouterr().out
    assert "already complete" in out and "prepare_dataset.bat" in out


def test_from_folder_accepts_a_valid_checkpoint(tiny_model_dir, tmp_path, capsys):
    assert main(["--root", str(tmp_path), "download-model", "--from-folder", str(tiny_model_dir)]) == 0
    out = capsys.readouterr().out
    assert "is complete" in out and "model_path" in out


def test_from_folder_names_a_missing_shard(tiny_model_dir, tmp_path, capsys):
    dest = copy_model(tiny_model_dir, tmp_path)
    (dest / "model-00001-of-00002.safetensors").unlink()
    assert main(["--root", str(tmp_path), "download-model", "--from-folder", str(dest)]) == 1
    err = capsys.readouterr().err
    assert "is not a complete Gemma 3n checkpoint" in err and "model-00001-of-00002.safetensors" in err


def test_from_folder_refuses_another_architecture(tiny_model_dir, tmp_path, capsys):
    dest = copy_model(tiny_model_dir, tmp_path)
    (dest / "config.json").write_text('{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}')
    assert main(["--root", str(tmp_path), "download-model", "--from-folder", str(dest)]) == 1
    assert "holds a 'LlamaForCausalLM' model, not Gemma 3n" in capsys.readouterr().err


def test_from_folder_names_a_missing_tokenizer(tiny_model_dir, tmp_path, capsys):
    dest = copy_model(tiny_model_dir, tmp_path)
    (dest / "tokenizer.model").unlink()
    assert main(["--root", str(tmp_path), "download-model", "--from-folder", str(dest)]) == 1
    assert "tokenizer.model is missing" in capsys.readouterr().err


def test_no_token_and_no_terminal_explains_instead_of_waiting(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))  # no stored login there
    monkeypatch.setattr("sys.stdin", open("/dev/null"))
    assert main(["--root", str(tmp_path), "download-model", "--model", "E2B"]) == 1
    captured = capsys.readouterr()
    assert "huggingface.co/google/gemma-3n-E2B-it" in captured.out  # the licence page to open
    assert "there is no terminal to ask" in captured.err and "HF_TOKEN" in captured.err


def test_gated_repo_error_points_at_the_licence_page():
    error = hub_errors.GatedRepoError("gated", response=response(403))
    message = explain_hub_error(error, REPO)
    assert "licence has not been accepted" in message.message
    assert f"https://huggingface.co/{REPO}" in message.hint


def test_bad_token_401():
    error = hub_errors.HfHubHTTPError("unauthorized", response=response(401))
    assert "did not accept your access token (HTTP 401)" in explain_hub_error(error, REPO).message


def test_forbidden_403_without_gating():
    error = hub_errors.HfHubHTTPError("forbidden", response=response(403))
    message = explain_hub_error(error, REPO)
    assert "refused access" in message.message and "Read" in message.hint


def test_repository_not_found_404():
    error = hub_errors.RepositoryNotFoundError("missing", response=response(404))
    assert "was not found on Hugging Face (HTTP 404)" in explain_hub_error(error, REPO).message


def test_no_network():
    error = httpx.ConnectError("[Errno -3] Temporary failure in name resolution")
    assert "no internet connection" in explain_hub_error(error, REPO).message
    offline = hub_errors.LocalEntryNotFoundError("offline")
    assert "no internet connection" in explain_hub_error(offline, REPO).message


def test_disk_full():
    error = OSError(errno.ENOSPC, "No space left on device")
    message = explain_hub_error(error, REPO)
    assert "disk became full" in message.message and "continues where it stopped" in message.hint


def test_an_unknown_error_stays_loud():
    bug = ZeroDivisionError("bug")
    with pytest.raises(ZeroDivisionError) as raised:
        explain_hub_error(bug, REPO)
    assert raised.value is bug  # itself, with its traceback: not dressed up as a UserError


@pytest.mark.parametrize("name,needed", [("model-00001-of-00004.safetensors", True), ("tokenizer.model", True),
                                         ("config.json", True), ("README.md", False), ("onnx/model.onnx", False)])
def test_only_pipeline_files_are_downloaded(name, needed):
    assert is_needed_file(name) is needed


def test_a_model_chosen_here_is_saved_for_the_other_steps(tiny_model_dir, tmp_path, capsys, monkeypatch):
    (tmp_path / "settings.toml").write_text('[model]\nmodel = "E4B"   # comment kept\n', encoding="utf-8")
    dest = tmp_path / "models" / "gemma-3n-E2B-it"
    shutil.copytree(tiny_model_dir, dest)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["--root", str(tmp_path), "download-model", "--model", "E2B"]) == 0
    assert (tmp_path / "settings.toml").read_text() == '[model]\nmodel = "E2B"   # comment kept\n'
    assert 'Saved your choice' in capsys.readouterr().out
    from gemma_kit.core.settings import load_settings

    assert load_settings(tmp_path).model_dir == dest


def test_a_resumed_download_needs_space_only_for_what_is_missing(tmp_path):
    files = {"config.json": 10, "model-00001-of-00002.safetensors": 1000, "model-00002-of-00002.safetensors": 500}
    assert bytes_still_needed(files, tmp_path / "not-yet") == 1510
    (tmp_path / "config.json").write_bytes(b"x" * 10)                          # complete
    (tmp_path / "model-00001-of-00002.safetensors").write_bytes(b"x" * 1000)  # complete
    (tmp_path / "model-00002-of-00002.safetensors").write_bytes(b"x" * 200)   # cut short: written again
    assert bytes_still_needed(files, tmp_path) == 500


def test_a_download_model_failure_is_told_in_russian(tiny_model_dir, tmp_path, capsys):
    dest = copy_model(tiny_model_dir, tmp_path)
    (dest / "tokenizer.model").unlink()
    args = ["--root", str(tmp_path), "download-model", "--from-folder", str(dest), "--set", "language=ru"]
    assert main(args) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"Ошибка: В папке {dest} неполная модель Gemma 3n:"
    assert err[1] == "  - нет файла tokenizer.model (он нужен для шага GGUF: это токенизатор SentencePiece)"
    assert err[2].startswith("Что сделать: Скопируйте папку модели целиком")


def test_the_token_help_is_in_one_language(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))  # no stored login there
    monkeypatch.setattr("sys.stdin", open("/dev/null"))
    printed = {}
    for language in ("en", "ru"):
        assert main(["--root", str(tmp_path), "download-model", "--model", "E2B", "--set", f"language={language}"]) == 1
        printed[language] = capsys.readouterr()
    assert "Hugging Face access token" in printed["en"].out and "токен" not in printed["en"].out
    assert "токен доступа Hugging Face" in printed["ru"].out and "press" not in printed["ru"].out
    assert "Ошибка: Токен Hugging Face не задан" in printed["ru"].err
