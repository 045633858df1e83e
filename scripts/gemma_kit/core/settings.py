"""One typed `Settings` object for every step: dataclass defaults < preset < settings.toml < command line.

settings.toml groups keys in sections ([paths], [model], [dataset], [training], [gguf]) for the reader;
the key names are unique, so a section is only a heading. A key the code does not know, or a value of the
wrong type, is an error that names the file and the key — a typo must never quietly train on defaults.
"""
from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from .console import UserError, is_verbose
from .language import N_, as_language_setting, tr, tr_marked

import tomllib

# The prepare-dataset step writes these into data_dir (or its --output folder); finetune and report read them.
TRAIN_FILE_NAME = "train_dataset.jsonl"
EVAL_FILE_NAME = "eval_dataset.jsonl"
DATASET_REPORT_FILE_NAME = "dataset_report.json"  # what prepare-dataset kept and skipped; the report step shows it
REPORT_FILE_NAME = "report.html"  # the report step's before/after page, in output_dir
MODEL_REPOS = {"E2B": "google/gemma-3n-E2B-it", "E4B": "google/gemma-3n-E4B-it"}

# The three presets of the kit; each is a handful of overrides (nanoGPT-style config files). They are defined by
# what they do to the model: examples per optimizer update (effective batch 8-16 and lr 2e-4 are the LoRA / QLoRA
# range: the QLoRA paper's batch 16 and lr 2e-4 for 7-13B models, Unsloth's Gemma 3n notebooks' 1-2 x 4) and passes
# over the data. quick < standard < thorough in updates on the same data (training/schedule.py turns them into a
# run; README "Presets"). With accumulation 32-128 the old presets gave 22-44 updates on 1,400 examples: a model
# that barely moved (dev_log.txt 2026-12-06).
PRESETS: dict[str, dict[str, Any]] = {
    "quick": {"lora_rank": 4, "lora_alpha": 8, "effective_batch_size": 16, "num_epochs": 1, "max_seq_length": 512},
    "standard": {"lora_rank": 8, "lora_alpha": 16, "effective_batch_size": 8, "num_epochs": 2, "max_seq_length": 768},
    "thorough": {"lora_rank": 16, "lora_alpha": 32, "effective_batch_size": 8, "num_epochs": 3,
                 "max_seq_length": 1024},
}


@dataclass(frozen=True)
class PresetLimits:
    max_epochs: int    # a small dataset gets up to this many passes, to reach about 50 updates
    max_updates: int   # a huge dataset's run stops after this many updates (hours, not days)


PRESET_LIMITS = {"quick": PresetLimits(3, 250), "standard": PresetLimits(4, 1000), "thorough": PresetLimits(5, 2500)}


@dataclass(frozen=True)
class Settings:
    language: Literal["auto", "ru", "en"] = "auto"  # the messages' language; auto = Windows' (else the locale's)

    # [paths] — relative paths are taken from the project root
    dataset_dir: str = "dataset"
    data_dir: str = "data"
    output_dir: str = "output"
    models_dir: str = "models"
    model_path: str = ""  # empty: models/<repo name> of `model`

    # [model]
    model: Literal["E2B", "E4B"] = "E4B"

    # [dataset]
    data_mode: Literal["ask", "instruct", "conversational"] = "ask"
    telegram_owner: str = ""
    include_group_chats: bool = False
    min_dialog_messages: int = 2
    max_message_length: int = 0
    max_dialog_length: int = 0
    window_size: int = 8
    transcribe_voice: Literal["no", "mine", "all"] = "no"
    eval_fraction: float = 0.05
    seed: int = 42

    # [training]
    preset: Literal["quick", "standard", "thorough"] = "standard"
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    effective_batch_size: int = 8          # examples per optimizer update
    gradient_accumulation_steps: int = 0   # 0: effective_batch_size / batch_size
    num_epochs: int = 2
    max_seq_length: int = 768
    batch_size: int = 1
    learning_rate: float = 2e-4
    warmup_ratio: float = 0.05
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    eval_steps: int = 0                    # 0: about 10 evaluations per run
    max_steps: int = -1
    keep_best_checkpoints: int = 2
    after_training: Literal["ask", "merge_and_convert", "stop"] = "ask"
    per_layer_table_on_gpu: Literal["auto", "yes", "no"] = "auto"
    chunked_loss: bool = True

    # [report]
    report_examples: int = 12
    report_max_new_tokens: int = 80

    # [gguf]
    gguf_type: Literal["q8_0", "f16", "bf16", "f32"] = "q8_0"
    gguf_file_name: str = "finetuned_gemma.gguf"
    lmstudio_models_dir: str = ""  # empty: LM Studio's own setting (its settings.json), else its default folders
    lmstudio_try_reply: bool = False  # after the hand-off, load the model with LM Studio's lms and ask one question

    # Where these settings came from (not settings): the project root every relative path hangs off, and the keys
    # the user set himself (settings.toml or --set), which the run's automatic adjustments leave alone.
    root: Path = field(default=Path("."), compare=False, repr=False)
    explicit: frozenset = field(default=frozenset(), compare=False, repr=False)

    # ---- derived paths -------------------------------------------------------------------------
    def path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.root / p

    @property
    def model_repo(self) -> str:
        return MODEL_REPOS[self.model]

    @property
    def model_dir(self) -> Path:
        if self.model_path:
            return self.path(self.model_path)
        return self.path(self.models_dir) / self.model_repo.split("/")[-1]

    @property
    def train_file(self) -> Path:
        return self.path(self.data_dir) / TRAIN_FILE_NAME

    @property
    def eval_file(self) -> Path:
        return self.path(self.data_dir) / EVAL_FILE_NAME

    @property
    def adapter_dir(self) -> Path:
        return self.path(self.output_dir) / "lora_adapter"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path(self.output_dir) / "checkpoints"

    @property
    def runs_dir(self) -> Path:
        return self.path(self.output_dir) / "runs"

    @property
    def merged_dir(self) -> Path:
        return self.path(self.output_dir) / "merged_model"

    @property
    def gguf_file(self) -> Path:
        return self.path(self.output_dir) / self.gguf_file_name

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in NOT_SETTINGS}

    def describe(self, keys: tuple[str, ...] = ()) -> str:
        """The settings `keys` of one step (those the user set marked), and in one line the names of the other
        ones he set; every setting with --verbose. A 40-line dump before every step buries the line that
        matters; the saved JSON keeps them all."""
        everything = self.to_dict()
        shown = [k for k in everything if is_verbose() or k in keys]
        mine = tr(" (yours)")
        lines = [f"  {k} = {everything[k]!r}{mine if k in self.explicit else ''}" for k in shown]
        others = [k for k in everything if k in self.explicit and k not in shown]
        if others:
            lines.append(tr("  also set by you: {names} (all settings: --verbose)", names=", ".join(others)))
        return "\n".join(lines)

    def save_json(self, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")


NOT_SETTINGS = ("root", "explicit")
SETTING_NAMES = tuple(f.name for f in fields(Settings) if f.name not in NOT_SETTINGS)

# Values every step would otherwise reject with a traceback, or quietly misread (eval_fraction 1.5 puts
# everything into evaluation): key -> (check, what is allowed, in the user's words).
VALUE_RULES = {
    "min_dialog_messages": (lambda v: v >= 2, N_("2 or more (a message and its reply)")),
    "max_message_length": (lambda v: v >= 0, N_("0 (no limit) or more")),
    "max_dialog_length": (lambda v: v == 0 or v >= 2, N_("0 (no cutting) or 2 or more")),
    "window_size": (lambda v: v >= 2, N_("2 or more")),
    "eval_fraction": (lambda v: 0 < v < 0.5, N_("above 0 and below 0.5, e.g. 0.05")),
    "seed": (lambda v: 0 <= v <= 2**32 - 1, N_("a whole number from 0 to 4294967295")),
    "lora_rank": (lambda v: v >= 1, N_("a whole number of 1 or more")),
    "lora_alpha": (lambda v: v >= 1, N_("a whole number of 1 or more")),
    "lora_dropout": (lambda v: 0 <= v < 1, N_("from 0 up to (not including) 1")),
    "batch_size": (lambda v: v >= 1, N_("1 or more")),
    "effective_batch_size": (lambda v: v >= 1, N_("1 or more")),
    "gradient_accumulation_steps": (lambda v: v >= 0, N_("0 (from effective_batch_size) or 1 or more")),
    "num_epochs": (lambda v: v >= 1, N_("1 or more")),
    "max_seq_length": (lambda v: 32 <= v <= 32768, N_("from 32 to 32768 (Gemma 3n reads at most 32K tokens)")),
    "learning_rate": (lambda v: 0 < v < 1, N_("above 0 and below 1, e.g. 0.0002")),
    "warmup_ratio": (lambda v: 0 <= v < 1, N_("from 0 up to (not including) 1, e.g. 0.03")),
    "weight_decay": (lambda v: 0 <= v < math.inf, N_("0 or more (a finite number)")),
    "max_grad_norm": (lambda v: 0 <= v < math.inf, N_("0 (no clipping) or more (a finite number)")),
    "eval_steps": (lambda v: v >= 0, N_("0 (about 10 evaluations per run) or 1 or more")),
    "max_steps": (lambda v: v == -1 or v >= 1, N_("-1 (use num_epochs) or 1 or more")),
    "keep_best_checkpoints": (lambda v: v >= 0, N_("0 or more")),
    "report_examples": (lambda v: v >= 0, N_("0 (no report) or more")),
    "report_max_new_tokens": (lambda v: v >= 1, N_("1 or more")),
}
_TYPE_HINTS = typing.get_type_hints(Settings)


def out_of_range(key: str, value: Any, source: str) -> str | None:
    """VALUE_RULES' sentence for a value outside its range, else None."""
    if key in VALUE_RULES and not VALUE_RULES[key][0](value):
        return tr("{source}: '{key}' must be {allowed}, not {value!r}", source=source, key=key,
                  allowed=tr_marked(VALUE_RULES[key][1]), value=value)
    return None


def _check_value(name: str, value: Any, source: str) -> tuple[Any, str | None]:
    """Return (value converted, None) or (None, a problem sentence)."""
    hint = _TYPE_HINTS[name]
    if typing.get_origin(hint) is Literal:
        allowed = typing.get_args(hint)
        if value in allowed:
            return value, None
        if isinstance(value, str):
            for option in allowed:
                if value.lower() == option.lower():
                    return option, None
        return None, tr("{source}: '{name}' must be one of {allowed}, not {value!r}", source=source, name=name,
                        allowed=", ".join(map(repr, allowed)), value=value)
    if hint is bool:
        if isinstance(value, bool):
            return value, None
        return None, tr("{source}: '{name}' must be true or false, not {value!r}", source=source, name=name,
                        value=value)
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        return None, tr("{source}: '{name}' must be a whole number, not {value!r}", source=source, name=name,
                        value=value)
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value), None
        return None, tr("{source}: '{name}' must be a number, not {value!r}", source=source, name=name,
                        value=value)
    if hint is str:
        if isinstance(value, str):
            return value, None
        return None, tr("{source}: '{name}' must be text in quotes, not {value!r}", source=source, name=name,
                        value=value)
    raise TypeError(f"no checker for setting {name} of type {hint}")  # our bug, stays loud


def _parse_cli_value(name: str, text: str) -> Any:
    """`--set key=value`: read the value as TOML so numbers, booleans and quoted text all work."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        # A bare word (E2B, quick) or a Windows path with backslashes, quoted or not: the text itself.
        return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'" else text


def flatten_toml(data: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def read_settings_text(path: Path) -> str:
    """The text of settings.toml as Windows Notepad may have saved it: UTF-8 (with or without a byte-order
    mark), or the Cyrillic ANSI code page cp1251 that older Notepad writes by default (read, and said so)."""
    if path.is_dir():
        raise UserError(tr("The settings path {path} is a folder, not a file.", path=path),
                        tr("Point --settings at the settings.toml file itself (or leave --settings out)."))
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(tr("Cannot read the settings file {path}: {reason}.", path=path, reason=e.strerror or e),
                        tr("Close the program that holds it, check its permissions, or restore it from the kit.")) \
            from e
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1251")
    except UnicodeDecodeError as e:
        raise UserError(tr("{path} is not text in UTF-8 (nor in the Windows Cyrillic encoding): byte {start:,} "
                           "cannot be read.", path=path, start=e.start),
                        tr("Open it in Notepad and save it with the encoding UTF-8.")) from e
    from .console import warn

    warn(tr("{path} is saved in the Windows Cyrillic encoding (cp1251), not UTF-8; it was read as cp1251. "
            "To be sure it reads the same everywhere, open it in Notepad and save it with the encoding UTF-8.",
            path=path))
    return text


def language_of_settings_file(path: Path) -> str:
    """The `language` key of a settings file, for messages printed before (or without) the whole settings:
    prepare_venv.bat's setup scripts, and the settings' own problems. "auto" when the file, the key or a usable
    value is missing; the file's problems are told later, by load_settings, in the language chosen here."""
    try:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1251")
        value = flatten_toml(tomllib.loads(text)).get("language", "auto")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return "auto"
    return as_language_setting(value) or "auto"


def use_language_of_project() -> str:
    """For the setup scripts prepare_venv.bat runs outside the CLI (setup_plan, setup_check, venv_check): speak
    the language the project's settings.toml asks for; returns the one chosen."""
    from .language import set_language
    from .paths import SETTINGS_FILE_NAME, find_project_root

    return set_language(language_of_settings_file(find_project_root() / SETTINGS_FILE_NAME))


def load_settings(root: Path, settings_file: Path | None = None, overrides: dict[str, Any] | None = None,
                  cli_pairs: list[str] | None = None) -> Settings:
    """Build the effective settings; every problem (file, key, value) is reported at once."""
    if settings_file is not None and not settings_file.exists():
        raise UserError(tr("The settings file {path} does not exist.", path=settings_file),
                        tr("Check the --settings path, or leave --settings out to use settings.toml."))
    settings_file = settings_file or root / "settings.toml"
    problems: list[str] = []
    from_file: dict[str, Any] = {}
    if settings_file.exists():
        try:
            from_file = flatten_toml(tomllib.loads(read_settings_text(settings_file)))
        except tomllib.TOMLDecodeError as e:
            raise UserError(tr("{path} is not valid TOML: {problem}", path=settings_file, problem=e),
                            tr("Fix the line it names: text values need \"quotes\", and Windows paths need single "
                               "quotes (model_path = 'D:\\models\\gemma-3n-E4B-it'). Or restore the file from "
                               "the kit's download.")) from e
    from_cli: dict[str, Any] = dict(overrides or {})
    for pair in cli_pairs or []:
        if "=" not in pair:
            problems.append(tr("--set {pair!r}: write it as key=value, e.g. --set lora_rank=16", pair=pair))
            continue
        key, text = pair.split("=", 1)
        from_cli[key.strip()] = _parse_cli_value(key.strip(), text.strip())

    checked: dict[str, Any] = {}
    for source, values in ((str(settings_file), from_file), (tr("command line"), from_cli)):
        for key, value in values.items():
            if key not in SETTING_NAMES:
                close = [n for n in SETTING_NAMES if n.split("_")[0] == key.split("_")[0]][:3]
                suggestion = tr(" (did you mean {names}?)", names=", ".join(close)) if close else ""
                problems.append(tr("{source}: unknown setting '{key}'{suggestion}", source=source, key=key,
                                   suggestion=suggestion))
                continue
            converted, problem = _check_value(key, value, source)
            problem = problem or out_of_range(key, converted, source)
            if problem:
                problems.append(problem)
            else:
                checked[key] = converted  # later sources win
    if problems:
        raise UserError(tr("Problems in the settings:") + "\n  " + "\n  ".join(problems),
                        tr("Correct these keys (settings.toml lists every key with a comment) and run again."))

    preset = checked.get("preset", Settings.preset)
    values = {**PRESETS[preset], **checked}
    return Settings(**values, root=root, explicit=frozenset(checked) - {"preset"})


def replace(settings: Settings, **changes: Any) -> Settings:
    return dataclasses.replace(settings, **changes)


def replace_checked(settings: Settings, source: str, **changes: Any) -> Settings:
    """`replace` for values a user typed elsewhere (a step's flags): the same range rules as settings.toml."""
    problems = [p for key, value in changes.items() if (p := out_of_range(key, value, source))]
    if problems:
        raise UserError(tr("Problems in the settings:") + "\n  " + "\n  ".join(problems),
                        tr("Correct these values and run again."))
    return replace(settings, **changes, explicit=settings.explicit | set(changes))
