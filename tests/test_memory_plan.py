"""The memory model's parameter counts are exact (meta-device models); its verdict reads plainly."""
import pytest
import torch

from gemma_kit.training.memory_plan import GIB, count_parameters, format_plan, plan_memory, reference_text_config


@pytest.mark.parametrize("model", ["E2B", "E4B"])
def test_weight_counts_match_the_transformers_model_built_on_meta(model):
    from transformers import Gemma3nForCausalLM, Gemma3nTextConfig

    config = reference_text_config(model)
    with torch.device("meta"):
        built = Gemma3nForCausalLM(Gemma3nTextConfig(**config))
    exact = dict(built.named_parameters())
    counts = count_parameters(config)
    assert counts.total == pytest.approx(sum(p.numel() for p in exact.values()), rel=0.01)
    table = exact["model.embed_tokens_per_layer.weight"].numel()
    assert counts.per_layer_table == table
    projections = sum(p.numel() for n, p in exact.items()
                      if n.rsplit(".", 2)[-2] in {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                                  "down_proj"})
    assert counts.projections == projections


def test_the_issue_table_figures():
    e2b, e4b = count_parameters(reference_text_config("E2B")), count_parameters(reference_text_config("E4B"))
    assert round(e2b.per_layer_table / 1e9, 2) == 2.01 and round(e4b.per_layer_table / 1e9, 2) == 2.35
    # The issue's 1.82 B / 3.87 B matched names by substring, so "altup_projections" counted as "up_proj"; exact: 1.80 B / 3.86 B.
    assert round(e2b.projections / 1e9, 2) == 1.80 and round(e4b.projections / 1e9, 2) == 3.86


def test_keeping_the_table_off_the_gpu_and_chunking_the_loss_save_what_they_should():
    config = reference_text_config("E4B")
    plain = plan_memory(config, lora_rank=8, max_seq_length=768)
    patched = plan_memory(config, lora_rank=8, max_seq_length=768, per_layer_table_on_gpu=False, chunked_loss=True)
    assert plain.parts["per-layer table (bf16)"] == pytest.approx(2.35e9 * 2, rel=0.01)
    assert patched.parts["per-layer table (bf16)"] == 0
    assert patched.parts["loss (logits)"] < plain.parts["loss (logits)"]
    assert plain.total - patched.total > 4.4 * GIB


def test_table_text_names_every_part_and_the_total():
    plan = plan_memory(reference_text_config("E4B"), lora_rank=16, max_seq_length=1024)
    lines = format_plan(plan, "E4B, thorough").splitlines()
    assert lines[0] == "Estimated GPU memory for E4B, thorough:"
    assert [line.split("  ")[1].strip() for line in lines[1:-1]] == list(plan.parts)
    assert lines[-1] == f"  {'total':<32}{plan.total / GIB:6.2f} GB"


def test_the_readme_table_is_the_memory_plan_of_each_model_and_preset(tmp_path):
    """The user-facing figures in README.md (both languages) are what doctor and finetune compute."""
    from pathlib import Path

    from gemma_kit.core.settings import load_settings
    from gemma_kit.training.memory_plan import GpuMemory, plan_run_memory

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    roomy_bf16_gpu = GpuMemory("any", 24 * GIB, 6 * GIB, bf16=True)   # 6 GB free: "auto" keeps the table in RAM
    for model in ("E2B", "E4B"):
        row = []
        for preset in ("quick", "standard", "thorough"):
            settings = load_settings(tmp_path, cli_pairs=[f"preset={preset}"])
            run = plan_run_memory(reference_text_config(model), settings, roomy_bf16_gpu)
            row.append(f"{run.plan.total / GIB:.1f}")
        assert readme.count(f"| {model} | {' | '.join(row)} |") == 2, (model, row)
