from pathlib import Path

import pytest

from gemma_kit.core.console import UserError
from gemma_kit.core.settings import PRESETS, Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]


def write_settings(tmp_path: Path, text: str) -> Path:
    (tmp_path / "settings.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_defaults_without_a_settings_file_use_the_standard_preset(tmp_path):
    s = load_settings(tmp_path)
    assert s.preset == "standard"
    assert (s.lora_rank, s.lora_alpha, s.effective_batch_size, s.num_epochs, s.max_seq_length) == (8, 16, 8, 2, 768)
    assert s.gradient_accumulation_steps == 0 and s.eval_steps == 0   # derived from the run's plan
    assert s.root == tmp_path and s.explicit == frozenset()


@pytest.mark.parametrize("preset,expected", [
    ("quick", (4, 8, 16, 1, 512)), ("standard", (8, 16, 8, 2, 768)), ("thorough", (16, 32, 8, 3, 1024))])
def test_each_preset_sets_rank_alpha_effective_batch_epochs_and_length(tmp_path, preset, expected):
    s = load_settings(write_settings(tmp_path, f'preset = "{preset}"\n'))
    assert (s.lora_rank, s.lora_alpha, s.effective_batch_size, s.num_epochs, s.max_seq_length) == expected


def test_the_keys_the_user_set_are_known_to_the_run(tmp_path):
    s = load_settings(write_settings(tmp_path, '[training]\npreset = "quick"\nnum_epochs = 1\n'),
                      cli_pairs=["eval_steps=7"])
    assert s.explicit == {"num_epochs", "eval_steps"}


def test_presets_share_learning_rate_warmup_and_weight_decay(tmp_path):
    values = {(load_settings(tmp_path, overrides={"preset": p}).learning_rate,
               load_settings(tmp_path, overrides={"preset": p}).warmup_ratio,
               load_settings(tmp_path, overrides={"preset": p}).weight_decay) for p in PRESETS}
    assert len(values) == 1


def test_a_value_written_in_the_file_beats_the_preset(tmp_path):
    s = load_settings(write_settings(tmp_path, '[training]\npreset = "quick"\nlora_rank = 32\n'))
    assert s.lora_rank == 32 and s.lora_alpha == 8


def test_command_line_beats_the_file(tmp_path):
    write_settings(tmp_path, '[training]\npreset = "quick"\nlearning_rate = 0.001\n')
    s = load_settings(tmp_path, overrides={"preset": "thorough"}, cli_pairs=["learning_rate=5e-5", "model=e2b"])
    assert s.preset == "thorough" and s.lora_rank == 16
    assert s.learning_rate == 5e-5
    assert s.model == "E2B"  # choices are matched without regard to case


def test_unknown_keys_and_wrong_types_are_all_reported_at_once(tmp_path):
    write_settings(tmp_path, '[training]\nlora_rnak = 8\nnum_epochs = "two"\n[model]\nmodel = "E9B"\n')
    with pytest.raises(UserError) as e:
        load_settings(tmp_path)
    text = e.value.message
    assert "unknown setting 'lora_rnak' (did you mean lora_rank, lora_alpha, lora_dropout?)" in text
    assert "'num_epochs' must be a whole number, not 'two'" in text
    assert "'model' must be one of 'E2B', 'E4B', not 'E9B'" in text
    assert str(tmp_path / "settings.toml") in text


def test_bad_command_line_pair_names_the_problem(tmp_path):
    with pytest.raises(UserError) as e:
        load_settings(tmp_path, cli_pairs=["lora_rank"])
    assert "write it as key=value" in e.value.message


def test_invalid_toml_names_the_file(tmp_path):
    write_settings(tmp_path, "model = E4B\n")
    with pytest.raises(UserError) as e:
        load_settings(tmp_path)
    assert "settings.toml is not valid TOML" in e.value.message
    assert "quotes" in e.value.hint


def test_the_shipped_settings_file_loads_and_lists_every_setting():
    s = load_settings(REPO_ROOT)
    text = (REPO_ROOT / "settings.toml").read_text(encoding="utf-8")
    for name in s.to_dict():
        assert name in text, f"settings.toml does not mention {name}"


def test_paths_resolve_against_the_project_root(tmp_path):
    s = load_settings(tmp_path, cli_pairs=['model=E2B'])
    assert s.model_dir == tmp_path / "models" / "gemma-3n-E2B-it"
    assert s.train_file == tmp_path / "data" / "train_dataset.jsonl"
    s2 = load_settings(tmp_path, cli_pairs=[f'model_path="{tmp_path / "elsewhere"}"'])
    assert s2.model_dir == tmp_path / "elsewhere"


def test_settings_are_saved_as_json_next_to_outputs(tmp_path):
    import json

    s = load_settings(tmp_path)
    s.save_json(tmp_path / "out" / "settings.json")
    saved = json.loads((tmp_path / "out" / "settings.json").read_text())
    assert saved["lora_rank"] == 8 and "root" not in saved
    assert isinstance(Settings(), Settings)


def test_values_out_of_range_are_named_with_what_is_allowed(tmp_path):
    write_settings(tmp_path, "[dataset]\neval_fraction = 1.5\nwindow_size = 0\n[training]\nlora_rank = 0\n")
    with pytest.raises(UserError) as e:
        load_settings(tmp_path)
    assert "'eval_fraction' must be above 0 and below 0.5, e.g. 0.05, not 1.5" in e.value.message
    assert "'window_size' must be 2 or more, not 0" in e.value.message
    assert "'lora_rank' must be a whole number of 1 or more, not 0" in e.value.message


def test_windows_paths_work_in_single_quotes_and_on_the_command_line(tmp_path):
    write_settings(tmp_path, "model_path = 'D:\\models\\gemma-3n-E4B-it'\n")
    assert load_settings(tmp_path).model_path == "D:\\models\\gemma-3n-E4B-it"
    s = load_settings(tmp_path, cli_pairs=['model_path="D:\\models\\gemma"'])
    assert s.model_path == "D:\\models\\gemma"


def test_backslashes_in_double_quotes_get_a_hint_about_single_quotes(tmp_path):
    write_settings(tmp_path, 'model_path = "D:\\models\\gemma"\n')
    with pytest.raises(UserError) as e:
        load_settings(tmp_path)
    assert "Windows paths need single quotes" in e.value.hint


def test_a_byte_order_mark_from_notepad_is_accepted(tmp_path):
    (tmp_path / "settings.toml").write_bytes('\ufeffmodel = "E2B"\n'.encode("utf-8"))
    assert load_settings(tmp_path).model == "E2B"


def test_an_explicit_settings_file_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(UserError) as e:
        load_settings(tmp_path, tmp_path / "nope.toml")
    assert "nope.toml does not exist" in e.value.message


def test_settings_problems_are_told_in_russian_with_language_ru(tmp_path, capsys):
    from gemma_kit.cli import main

    write_settings(tmp_path, '[training]\nlora_rank = 0\nnum_epochs = "two"\n')
    assert main(["--root", str(tmp_path), "doctor", "--set", "lora_rnk=4", "--set", "language=ru"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "Ошибка: Ошибки в настройках:"
    assert f"  {tmp_path / 'settings.toml'}: значение 'lora_rank' должно быть целым числом не меньше 1, а не 0" in err
    assert f"  {tmp_path / 'settings.toml'}: значение 'num_epochs' должно быть целым числом, а не 'two'" in err
    assert "  командная строка: неизвестная настройка 'lora_rnk' (может быть, вы имели в виду lora_rank, " \
           "lora_alpha, lora_dropout?)" in err
    assert err[-1].startswith("Что сделать: Исправьте эти настройки")


def test_the_language_of_settings_toml_tells_the_files_own_problems(tmp_path, capsys):
    """A mistyped key must not make the kit forget the language the same file asks for."""
    from gemma_kit.cli import main

    write_settings(tmp_path, 'language = "ru"\n[training]\nlora_rnak = 8\n')
    assert main(["--root", str(tmp_path), "doctor"]) == 1
    err = capsys.readouterr().err
    assert "неизвестная настройка 'lora_rnak'" in err and "Что сделать:" in err
    assert main(["--root", str(tmp_path), "doctor", "--set", "language=en"]) == 1  # the command line wins
    assert "unknown setting 'lora_rnak'" in capsys.readouterr().err


@pytest.mark.parametrize("text, expected", [
    ('language = "ru"\n', "ru"), ('language = "EN"\n', "en"), ("", "auto"), ('language = "de"\n', "auto"),
    ('language = "ru"\nlora_rank = \n', "auto"),  # not TOML: load_settings names the line, in the auto language
])
def test_the_setup_scripts_read_the_language_alone(tmp_path, text, expected):
    from gemma_kit.core.settings import language_of_settings_file

    assert language_of_settings_file(write_settings(tmp_path, text) / "settings.toml") == expected
    assert language_of_settings_file(tmp_path / "missing.toml") == "auto"
