"""Download the Gemma 3n base model once into models/<name>/ (resumable), or check a folder you already have.

Gemma is a gated model: you need a free Hugging Face account, a "read" access token, and to accept Google's
licence on the model page once. This step explains each of those in plain words when they are missing.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

from ..core.console import UserError, ask_choice, is_interactive, next_step, say
from ..core.language import tr
from ..core.model_files import find_checkpoint_problems
from ..core.paths import check_free_space
from ..core.settings import MODEL_REPOS, Settings, replace

EPILOG = ("Examples:\n  gemma-kit download-model                 (the model named in settings.toml)\n"
          "  gemma-kit download-model --model E2B\n"
          "  gemma-kit download-model --from-folder D:\\models\\gemma-3n-E4B-it\n"
          "Next: prepare_dataset.bat")

# Only what the pipeline reads; the hub repo also holds the same weights in other formats.
NEEDED_FILES = ["*.safetensors", "model.safetensors.index.json", "config.json", "generation_config.json",
                "tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                "chat_template.jinja", "chat_template.json", "preprocessor_config.json", "processor_config.json"]
NEEDED_SUFFIXES = (".safetensors",)
NEEDED_NAMES = {n for n in NEEDED_FILES if not n.startswith("*")}

def add_arguments(parser) -> None:
    parser.add_argument("--model", choices=sorted(MODEL_REPOS), help="which Gemma 3n to get (default: settings)")
    parser.add_argument("--from-folder", metavar="PATH",
                        help="use a checkpoint you already have instead of downloading (it is checked, not copied)")


def model_page(repo_id: str) -> str:
    return f"https://huggingface.co/{repo_id}"


def is_needed_file(name: str) -> bool:
    return name.endswith(NEEDED_SUFFIXES) or Path(name).name in NEEDED_NAMES


def explain_hub_error(error: BaseException, repo_id: str) -> UserError:
    """Turn what huggingface_hub raised into words a non-expert can act on."""
    from huggingface_hub import errors as hub_errors

    page = model_page(repo_id)
    if isinstance(error, hub_errors.GatedRepoError):
        return UserError(tr("Access to {repo} is not granted yet: the Gemma licence has not been accepted with "
                            "this account.", repo=repo_id),
                         tr("Open {page}, sign in with the account of your token, press \"Acknowledge license\", "
                            "wait for the approval e-mail (usually instant), then run again.", page=page))
    if isinstance(error, hub_errors.RepositoryNotFoundError):
        status = _status_of(error)
        if status == 401:
            return _bad_token_error()
        return UserError(tr("The model {repo} was not found on Hugging Face (HTTP {status}).", repo=repo_id,
                            status=status or 404),
                         tr("Check the `model` setting (E2B or E4B) and your internet connection; if you use a "
                            "token, make sure it is valid."))
    if isinstance(error, hub_errors.HfHubHTTPError):
        status = _status_of(error)
        if status == 401:
            return _bad_token_error()
        if status == 403:
            return UserError(tr("Hugging Face refused access to {repo} (HTTP 403).", repo=repo_id),
                             tr("Accept the licence on {page} with the account of your token, and make sure the "
                                "token has the \"Read\" permission, then run again.", page=page))
        return UserError(tr("Hugging Face answered with an error (HTTP {status}): {error}", status=status,
                            error=error),
                         tr("Try again in a few minutes; if it persists, check https://status.huggingface.co"))
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return UserError(tr("The disk became full during the download."),
                         tr("Free some space (the model needs about 15 GB for E4B, 11 GB for E2B) and run again: "
                            "the download continues where it stopped."))
    if _looks_like_network_error(error):
        return UserError(tr("Could not reach Hugging Face: there seems to be no internet connection."),
                         tr("Check the connection (and proxy or firewall), then run again: the download resumes."))
    raise error  # unknown: our bug or an unforeseen case, stays loud


def _status_of(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def _bad_token_error() -> UserError:
    return UserError(tr("Hugging Face did not accept your access token (HTTP 401): it is wrong, expired or "
                        "revoked."),
                     tr("Create a new \"Read\" token at https://huggingface.co/settings/tokens and run again "
                        "(or set the HF_TOKEN environment variable to it)."))


def _looks_like_network_error(error: BaseException) -> bool:
    from huggingface_hub import errors as hub_errors

    if isinstance(error, hub_errors.LocalEntryNotFoundError):
        return True  # the hub's own "offline and not in the cache"
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"ConnectError", "ConnectionError", "ConnectTimeout", "Timeout", "TimeoutException",
                         "NetworkError", "ReadTimeout"})


def find_token() -> str | None:
    """HF_TOKEN or the stored login; the token itself is never printed or written by this kit."""
    from huggingface_hub import get_token

    return os.environ.get("HF_TOKEN") or get_token()


def ask_for_token(repo_id: str) -> str:
    say(tr("To download Gemma you need a free Hugging Face access token (one time):\n"
           "  1. Sign in (or sign up) at https://huggingface.co\n"
           "  2. Open {page} and press \"Acknowledge license\" / \"Agree and access repository\".\n"
           "  3. Open https://huggingface.co/settings/tokens, press \"Create new token\", type \"Read\", copy the "
           "token.", page=model_page(repo_id)))
    if not is_interactive():
        raise UserError(tr("No Hugging Face token is set, and there is no terminal to ask for one."),
                        tr("Set the HF_TOKEN environment variable to your token, or run download_model.bat by "
                           "double-click and paste it when asked."))
    import getpass

    from huggingface_hub import login

    token = getpass.getpass(tr("Paste your token here (it stays hidden): ")).strip()
    if not token:
        raise UserError(tr("No token was entered."), tr("Run download_model.bat again and paste the token."))
    # Stored by huggingface_hub in its own place (the user's HF home), never next to our outputs.
    login(token=token, add_to_git_credential=False)
    return token


def choose_model(settings: Settings, args) -> Settings:
    chosen = getattr(args, "model", None)
    if not chosen and is_interactive() and not settings.model_path:
        chosen = ask_choice(tr("Which Gemma 3n? e4b = better, ~15 GB; e2b = lighter, ~11 GB"), ["e4b", "e2b"],
                            settings.model.lower()).upper()
    if not chosen or chosen == settings.model:
        return settings
    remember_model_choice(settings.root / "settings.toml", chosen)
    return replace(settings, model=chosen)


def remember_model_choice(settings_file: Path, model: str) -> None:
    """The other steps read the model from settings.toml: a choice made here must land there, or every later
    step would look for the other model's folder."""
    import re

    text = settings_file.read_text(encoding="utf-8-sig") if settings_file.exists() else ""
    line = f'model = "{model}"'
    updated, found = re.subn(r'(?m)^model\s*=\s*"[^"\n]*"', line, text, count=1)
    if not found:
        updated = text + ("" if not text or text.endswith("\n") else "\n") + f"\n[model]\n{line}\n"
    settings_file.write_text(updated, encoding="utf-8")
    say(tr("Saved your choice in {file}: {line}", file=settings_file, line=line))


def use_existing_folder(folder: Path) -> int:
    problems = find_checkpoint_problems(folder)
    if problems:
        raise UserError(tr("{folder} is not a complete Gemma 3n checkpoint:", folder=folder) + "\n  - "
                        + "\n  - ".join(problems),
                        tr("Copy the whole model folder (config.json, tokenizer.model, all .safetensors files and "
                           "the index) or download it with download_model.bat."))
    say(tr("The model at {folder} is complete.", folder=folder))
    return 0


def listed_files(repo_id: str, token: str) -> dict[str, int]:
    """The files the pipeline needs from the repo, with their sizes in bytes."""
    from huggingface_hub import HfApi

    info = HfApi().model_info(repo_id, token=token, files_metadata=True)
    return {s.rfilename: s.size or 0 for s in info.siblings or [] if is_needed_file(s.rfilename)}


def bytes_still_needed(files: dict[str, int], dest: Path) -> int:
    """What a (resumed) download still writes: files already complete in `dest` need no more space."""
    return sum(size for name, size in files.items()
               if not ((dest / name).is_file() and (dest / name).stat().st_size == size))


def download(repo_id: str, dest: Path, token: str) -> None:
    from huggingface_hub import snapshot_download

    try:
        needed = bytes_still_needed(listed_files(repo_id, token), dest)
        check_free_space(dest, needed, tr("the {repo} download", repo=repo_id))
        say(tr("Downloading {repo} into {dest} (the download resumes if interrupted) ...", repo=repo_id, dest=dest))
        snapshot_download(repo_id, local_dir=str(dest), allow_patterns=NEEDED_FILES, token=token)
    except UserError:
        raise
    except Exception as e:  # narrowed inside: anything unknown is re-raised there
        raise explain_hub_error(e, repo_id) from e


def run(settings: Settings, args) -> int:
    from_folder = getattr(args, "from_folder", None) or getattr(args, "input", None)
    if from_folder:
        folder = settings.path(from_folder)
        use_existing_folder(folder)
        say(tr("To use it in every step, set in settings.toml:  model_path = \"{path}\"", path=folder.as_posix()))
        return 0
    settings = choose_model(settings, args)
    dest = settings.path(args.output) if getattr(args, "output", None) else settings.model_dir
    if not find_checkpoint_problems(dest):  # complete already: no network needed
        say(tr("The model is already complete at {dest}; nothing to download.", dest=dest))
        next_step("prepare_dataset.bat", "gemma-kit prepare-dataset")
        return 0
    if settings.model_path:
        return use_existing_folder(dest)
    repo_id = settings.model_repo
    token = find_token() or ask_for_token(repo_id)
    download(repo_id, dest, token)
    problems = find_checkpoint_problems(dest)
    if problems:
        raise UserError(tr("The download finished but the model at {dest} is incomplete:", dest=dest) + "\n  - "
                        + "\n  - ".join(problems), tr("Run download_model.bat again: it fetches only what is missing."))
    say(tr("Model ready at {dest}", dest=dest))
    next_step("prepare_dataset.bat", "gemma-kit prepare-dataset")
    return 0
