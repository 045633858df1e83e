"""The run's length in optimizer updates: the presets applied to small, personal-sized and huge datasets."""
from __future__ import annotations

import pytest

from gemma_kit.core.settings import PRESET_LIMITS, PRESETS, load_settings
from gemma_kit.training.schedule import MIN_UPDATES, plan_schedule, updates_per_epoch

# (examples, preset) -> (updates, evaluations, effective batch, passes) worked out by hand from the presets:
# quick = 16 per update x 1 pass (up to 3, at most 250 updates), standard = 8 x 2 (4, 1000), thorough = 8 x 3 (5, 2500).
EXPECTED = {
    (50, "quick"): (12, 6, 16, 3), (50, "standard"): (28, 10, 8, 4), (50, "thorough"): (35, 9, 8, 5),
    (1400, "quick"): (88, 10, 16, 1), (1400, "standard"): (350, 10, 8, 2), (1400, "thorough"): (525, 10, 8, 3),
    (50000, "quick"): (250, 10, 16, 1), (50000, "standard"): (1000, 10, 8, 1), (50000, "thorough"): (2500, 10, 8, 1),
}


def settings_for(tmp_path, preset, *pairs):
    return load_settings(tmp_path, overrides={"preset": preset}, cli_pairs=list(pairs))


@pytest.mark.parametrize("examples,preset", sorted(EXPECTED))
def test_plan_arithmetic_per_preset(tmp_path, examples, preset):
    schedule = plan_schedule(settings_for(tmp_path, preset), examples)
    assert (schedule.optimizer_steps, schedule.evaluations, schedule.effective_batch, schedule.epochs) == \
        EXPECTED[examples, preset]
    assert schedule.machine_line() == (f"plan: optimizer_steps={schedule.optimizer_steps} "
                                       f"evaluations={schedule.evaluations} effective_batch={schedule.effective_batch} "
                                       f"epochs={schedule.epochs}")


@pytest.mark.parametrize("examples", [50, 1400, 50000])
def test_quick_standard_thorough_increase_in_updates(tmp_path, examples):
    updates = [plan_schedule(settings_for(tmp_path, p), examples).optimizer_steps for p in ("quick", "standard",
                                                                                          "thorough")]
    assert updates[0] < updates[1] < updates[2], updates


def test_small_data_gets_more_passes_within_the_cap_and_says_so(tmp_path):
    schedule = plan_schedule(settings_for(tmp_path, "standard"), 50)
    assert schedule.epochs == PRESET_LIMITS["standard"].max_epochs > PRESETS["standard"]["num_epochs"]
    (note,) = schedule.notes
    assert note.startswith("Small dataset: 14 updates would barely change the model, so it makes 4 passes instead of 2")
    # Enough data: no change and no note.
    assert plan_schedule(settings_for(tmp_path, "standard"), 1400).notes == ()


def test_raising_stops_as_soon_as_the_minimum_is_reached(tmp_path):
    schedule = plan_schedule(settings_for(tmp_path, "quick"), 400)   # 25 updates a pass: 2 passes reach 50
    assert (schedule.epochs, schedule.optimizer_steps) == (2, 50)


def test_huge_data_is_capped_in_updates_and_says_so(tmp_path):
    schedule = plan_schedule(settings_for(tmp_path, "standard"), 50000)
    assert schedule.optimizer_steps == PRESET_LIMITS["standard"].max_updates
    (note,) = schedule.notes
    assert note.startswith("Large dataset: the run stops after 1,000 updates instead of 12,500 (8,000 examples seen")


def test_values_the_user_set_are_not_adjusted(tmp_path):
    own_epochs = plan_schedule(settings_for(tmp_path, "standard", "num_epochs=1"), 50)
    assert (own_epochs.epochs, own_epochs.optimizer_steps, own_epochs.notes) == (1, 7, ())
    own_steps = plan_schedule(settings_for(tmp_path, "standard", "max_steps=5000"), 50000)
    assert own_steps.optimizer_steps == 5000 and "max_steps = 5000 decides the length" in own_steps.notes[0]
    own_eval = plan_schedule(settings_for(tmp_path, "standard", "eval_steps=100"), 1400)
    assert (own_eval.eval_every, own_eval.evaluations) == (100, 4)   # 100, 200, 300 and the end (350)
    own_accumulation = plan_schedule(settings_for(tmp_path, "standard", "gradient_accumulation_steps=4",
                                                  "batch_size=2"), 1400)
    assert own_accumulation.effective_batch == 8 and own_accumulation.updates_per_epoch == 175


def test_batch_size_keeps_the_effective_batch(tmp_path):
    one = plan_schedule(settings_for(tmp_path, "standard"), 1400)
    four = plan_schedule(settings_for(tmp_path, "standard", "batch_size=4"), 1400)
    assert (four.accumulation, four.effective_batch, four.optimizer_steps) == (2, 8, one.optimizer_steps)


@pytest.mark.parametrize("preset", ["quick", "standard", "thorough"])
def test_evaluations_are_at_least_five_whenever_the_run_has_fifty_updates(tmp_path, preset):
    settings = settings_for(tmp_path, preset)
    for examples in list(range(1, 3000, 7)) + [9999, 33333, 123456]:
        schedule = plan_schedule(settings, examples)
        if schedule.optimizer_steps >= MIN_UPDATES:
            assert 5 <= schedule.evaluations <= 12, (examples, schedule)
        assert 0 < schedule.warmup_steps < max(2, schedule.optimizer_steps) or schedule.optimizer_steps == 1


def test_updates_per_epoch_counts_a_last_partial_group_as_the_trainer_does():
    assert updates_per_epoch(9, 1, 2) == 5 and updates_per_epoch(8, 1, 2) == 4 and updates_per_epoch(9, 2, 2) == 3
    assert updates_per_epoch(1, 1, 16) == 1


def test_readme_presets_tables_say_what_the_plan_does(tmp_path):
    """Both languages' tables: examples per update, passes, their cap, updates per 1,000 examples."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for preset in PRESETS:
        rows = re.findall(rf"^\| `{preset}`[^|]*\| (\d+) \| (\d+) \((?:до|up to) (\d+)[^|]*\| (\d+) \|", readme, re.M)
        assert len(rows) == 2, (preset, rows)   # Russian and English
        schedule = plan_schedule(settings_for(tmp_path, preset), 1000)
        expected = (str(schedule.effective_batch), str(PRESETS[preset]["num_epochs"]),
                    str(PRESET_LIMITS[preset].max_epochs), str(schedule.optimizer_steps))
        assert rows == [expected, expected]


def test_the_plan_counts_evaluation_time_when_the_speed_is_known(tmp_path):
    from gemma_kit.training.schedule import describe_schedule

    settings = settings_for(tmp_path, "standard")
    schedule = plan_schedule(settings, 1400)   # 350 updates of 8, 10 evaluations
    text = describe_schedule(schedule, settings, 80000, 36000, 2.0, "measured", eval_examples=240)
    # 350 x 2 s + 10 x 240 examples x (2 s / 8) / 3 = 700 + 200 s = 15 min
    assert "about 2.0 s per update (measured), about 15 min in all, evaluations included." in text
    assert "10 evaluations of 240 held-out examples" in text
