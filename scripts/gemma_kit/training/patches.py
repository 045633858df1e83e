"""The Gemma 3n patches: what QLoRA on Gemma 3n needs beyond plain transformers + peft, one function each.

Each patch is called explicitly by the finetune step, says what it did, and raises if its target is missing
(a transformers release that renamed a module must fail loudly, not train a different model). None of them
rewrites library code; they choose arguments and check the result. Evidence for each: dev_log.txt 2026-11-22
("finetune: ...") and the test named in its docstring. Tested with transformers 5.23.0, peft 0.21.2,
bitsandbytes 0.50.2. The two memory patches of issue 11 have modules of their own: patch 4, the per-layer table
in CPU RAM (per_layer_offload.py), and patch 5, the chunked loss (chunked_loss.py).
"""
from __future__ import annotations

from gemma_kit.core.console import say
from gemma_kit.core.language import tr

# Leaf names of the Linear layers that stay out of 4-bit (docs/gemma3n_facts.md "4-bit loading on a CPU"):
# bitsandbytes' skip list matches a module's own name, so naming the parents ("altup", "laurel") keeps nothing
# out. Why each one: altup's coefficients are clamped in place during training, which fails on packed 4-bit
# bytes ("RuntimeError: result type Float can't be cast to the desired output type unsigned char", transformers
# modeling_gemma3n.py `Gemma3nTextAltUp.predict`); altup, laurel and the per-layer gate/projections are small,
# low-rank or mixing matrices that 4-bit rounding distorts most, for little memory saved (E4B sizes: 90 M
# parameters, 2% of the 3.9 B in the projections; bf16 instead of 4-bit costs about 135 MB).
SENSITIVE_LEAF_NAMES = (
    "modality_router", "prediction_coefs", "correction_coefs",          # altup, in every layer
    "linear_left", "linear_right",                                       # laurel, in every layer
    "per_layer_input_gate", "per_layer_projection",                      # per-layer input, in every layer
    "per_layer_model_projection",                                        # per-layer input, once
    "lm_head",                                                           # the output head (tied to embeddings)
)
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
MULTIMODAL_WORDS = ("vision", "audio")


def keep_sensitive_layers_out_of_4bit(text_config) -> list[str]:
    """Patch 1: the skip list for BitsAndBytesConfig(llm_int8_skip_modules=...), by leaf name.

    The altup (un)embedding projections are ModuleList items named "0", "1", ...: they are named with their
    list, "altup_projections.0", which matches as a suffix. Test: test_sensitive_layers_are_not_4bit.
    """
    extra = [f"{parent}.{i}" for parent in ("altup_projections", "altup_unembed_projections")
             for i in range(text_config.altup_num_inputs - 1)]
    names = list(SENSITIVE_LEAF_NAMES) + extra
    say(tr("Gemma 3n patch: keeping {count} kinds of layers out of 4-bit (altup, laurel, per-layer input, output "
           "head); embeddings are never 4-bit.", count=len(names)))
    return names


def check_sensitive_layers_kept_out(model, skip_names: list[str]) -> dict[str, int]:
    """Check patch 1 on the loaded model: every skipped name exists and is not Linear4bit, and every LoRA
    target is Linear4bit (else this would not be QLoRA). Returns how many layers of each kind there are."""
    import bitsandbytes as bnb
    import torch

    modules = dict(model.named_modules())
    found: dict[str, int] = {}
    for name in skip_names:
        matches = [m for full, m in modules.items() if full == name or full.endswith("." + name)]
        if not matches:
            raise RuntimeError(f"Gemma 3n patch keep_sensitive_layers_out_of_4bit: the model has no layer named "
                               f"'{name}'; this transformers version changed Gemma 3n, update the patch.")
        in_4bit = [m for m in matches if isinstance(m, bnb.nn.Linear4bit)]
        if in_4bit:
            raise RuntimeError(f"Gemma 3n patch keep_sensitive_layers_out_of_4bit failed: {len(in_4bit)} of "
                               f"{len(matches)} '{name}' layers were quantised to 4-bit anyway.")
        if not all(isinstance(m, torch.nn.Linear) for m in matches):
            raise RuntimeError(f"'{name}' is no longer a Linear layer in Gemma 3n; update the patch.")
        found[name] = len(matches)
    targets = [(full, m) for full, m in modules.items() if full.rsplit(".", 1)[-1] in LORA_TARGETS]
    not_4bit = [full for full, m in targets if not isinstance(m, bnb.nn.Linear4bit)]
    if not targets or not_4bit:
        raise RuntimeError(f"expected every attention/MLP projection in 4-bit; {len(not_4bit)} of {len(targets)} "
                           f"are not (first: {not_4bit[:1]})")
    return found


def check_text_model_only(model, missing_keys: list[str]) -> None:
    """Patch 2: the text model (Gemma3nForCausalLM) is loaded from the multimodal checkpoint. transformers maps
    `model.language_model.*` onto it; if a release stops doing that, every weight would silently stay random, so
    any missing weight is an error. The vision/audio towers must not exist in memory at all (they produced
    infinities under QLoRA and hold about 1 B parameters). Test: test_load_keeps_only_the_text_model."""
    missing = [k for k in missing_keys if not k.startswith("lm_head.")]  # lm_head is tied to embed_tokens
    if missing:
        raise RuntimeError(f"loading the text model from the multimodal checkpoint left {len(missing)} weights "
                           f"uninitialised (first: {missing[0]}); transformers' Gemma 3n key mapping changed.")
    towers = [name for name, _ in model.named_modules() if any(w in name for w in MULTIMODAL_WORDS)]
    if towers:
        raise RuntimeError(f"the vision/audio parts were built although only the text model was asked for: "
                           f"{towers[:3]}")
    say(tr("Gemma 3n patch: loaded only the text model (Gemma3nForCausalLM); vision and audio are not in memory."))


def turn_off_kv_cache_for_training(model) -> None:
    """Patch 3: the generation KV cache is useless in training and conflicts with activation checkpointing
    (transformers turns it off with a warning on every step otherwise). Sample replies turn it back on."""
    if not hasattr(model.config, "use_cache"):
        raise RuntimeError("the Gemma 3n config has no 'use_cache' any more; update the patch.")
    model.config.use_cache = False
    say(tr("Gemma 3n patch: KV cache off while training (activation checkpointing recomputes instead)."))
