"""Patch 4: Gemma 3n's per-layer embedding table stays in CPU RAM; each step looks up only its tokens' rows.

`embed_tokens_per_layer` is the largest tensor of Gemma 3n (E2B 2.01 B parameters = 3.75 GiB in bf16, E4B 2.35 B
= 4.38 GiB) and bitsandbytes never quantises embeddings, yet training only reads the rows of the batch's tokens
(768 tokens x 35 layers x 256 values x 2 bytes = 13.8 MB per step for E4B). So the table is placed on the CPU
and the lookup runs there: the token ids go to the CPU, the rows come back to the model's device. The table is
frozen (LoRA does not train it), so logits and gradients are unchanged (tests/test_memory_patches.py compares
hidden states, logits and every LoRA gradient with the unpatched model).

How it is placed: `load_device_map` asks from_pretrained to load the table straight into CPU RAM, and
`no_accelerate_dispatch` skips the accelerate dispatch that from_pretrained runs after loading with two devices
(it would move the whole table to the GPU once, then copy it there at every forward). So the GPU never holds
the table, not even while loading. `keep_per_layer_table_on_cpu` gives the table a forward that looks up on the
CPU and sends the rows to the model's device (and removes an accelerate hook if one is there after all), and
load_text_model then records a one-device map so that peft and accelerate leave the placement alone. No library
source is changed. Evidence and limits: dev_log.txt 2026-11-22 ("finetune: the per-layer table in CPU RAM").
"""
from __future__ import annotations

import contextlib

from gemma_kit.core.console import say
from gemma_kit.core.language import tr

TABLE_MODULE = "model.embed_tokens_per_layer"   # in Gemma3nForCausalLM (transformers 5.23)
PROJECTION_MODULE = "model.per_layer_model_projection"   # its rows are added to this layer's output
# In Gemma3nForConditionalGeneration (voice transcription) the text model sits one level down.
MULTIMODAL_PREFIX = "model.language_model."
MARK = "_gemma_kit_lookup_on_cpu"


def module_names(multimodal: bool) -> tuple[str, str]:
    """(the table's module name, the per-layer projection's) in the text model or the multimodal one."""
    if not multimodal:
        return TABLE_MODULE, PROJECTION_MODULE
    return (MULTIMODAL_PREFIX + TABLE_MODULE.removeprefix("model."),
            MULTIMODAL_PREFIX + PROJECTION_MODULE.removeprefix("model."))


def load_device_map(device: str, table_on_gpu: bool, multimodal: bool = False) -> dict[str, str]:
    """from_pretrained's device_map: everything on `device`, the per-layer table in CPU RAM unless told not to."""
    if table_on_gpu or device == "cpu":
        return {"": device}
    return {"": device, module_names(multimodal)[0]: "cpu"}


@contextlib.contextmanager
def no_accelerate_dispatch(active: bool):
    """from_pretrained with a device map naming two devices places every weight on its device while loading, and
    then calls accelerate's dispatch_model, which would (accelerate 1.15) put an AlignDevicesHook on the root that
    first moves *every* tensor to the main device - the whole table onto the GPU, next to the weights - and then
    empty the table onto "meta" with an offload hook that copies it to the GPU at each forward. Skipping that call
    is all this does: the placement from loading is the one wanted."""
    if not active:
        yield
        return
    import transformers.modeling_utils as modeling_utils

    if not callable(getattr(modeling_utils, "accelerate_dispatch", None)):
        raise RuntimeError("Gemma 3n patch no_accelerate_dispatch: transformers.modeling_utils has no "
                           "accelerate_dispatch any more; this transformers version loads differently, update the patch.")
    original = modeling_utils.accelerate_dispatch
    modeling_utils.accelerate_dispatch = lambda *args, **kwargs: None
    try:
        yield
    finally:
        modeling_utils.accelerate_dispatch = original


def find_table(model):
    """The per-layer embedding module, checked: a frozen-able nn.Embedding where this patch expects it."""
    import torch

    modules = dict(model.named_modules())
    table_name, projection_name = module_names(MULTIMODAL_PREFIX + "embed_tokens_per_layer" in modules)
    table = modules.get(table_name)
    if table is None or not isinstance(table, torch.nn.Embedding):
        raise RuntimeError(f"Gemma 3n patch keep_per_layer_table_on_cpu: the model has no embedding "
                           f"'{table_name}' (found {type(table).__name__}); this transformers version changed "
                           "Gemma 3n, update the patch.")
    if projection_name not in modules:
        raise RuntimeError(f"Gemma 3n patch keep_per_layer_table_on_cpu: no '{projection_name}'; update the patch.")
    return table


def keep_per_layer_table_on_cpu(model, stored_as_bf16: bool = False) -> int:
    """Patch 4 on a loaded Gemma3nForCausalLM: the table in CPU RAM, its lookups moved to and from it.

    Works wherever the table was loaded: in CPU RAM through `load_device_map` (accelerate's offload hook is
    removed), or on the GPU (it is moved). On a CPU-only machine nothing moves, but the same code path runs.
    `stored_as_bf16`: the checkpoint holds the table in bfloat16 (every real Gemma 3n does). A run in float32
    (a GPU without bfloat16, the CPU) then keeps it in RAM as bfloat16, losslessly: 3.75-4.4 GB of RAM instead of
    7.5-8.8 GB, which a 16 GB computer needs. Rows are widened to float32 before Gemma's scale is applied, so
    the result is the float32 lookup's, bit for bit. Returns the bytes of the table now in CPU RAM."""
    import torch
    from accelerate.hooks import remove_hook_from_module

    table = find_table(model)
    if getattr(table, MARK, False):
        raise RuntimeError("keep_per_layer_table_on_cpu was applied twice to the same model")
    # Detaching accelerate's offload hook puts the weights it had moved to "meta" back on the CPU.
    remove_hook_from_module(table, recurse=True)
    if table.weight.device.type == "meta":
        raise RuntimeError("the per-layer table is still on the meta device after removing accelerate's hook; "
                           "accelerate changed how it offloads modules, update the patch.")
    if not hasattr(table, "embed_scale"):
        raise RuntimeError("Gemma 3n patch keep_per_layer_table_on_cpu: the per-layer table has no embed_scale; "
                           "transformers changed Gemma3nTextScaledWordEmbedding, update the patch.")
    output_dtype = table.weight.dtype
    table.to("cpu")
    if stored_as_bf16 and output_dtype == torch.float32:
        table.weight.data = table.weight.data.to(torch.bfloat16)   # exact: these values came from bfloat16
    multimodal = MULTIMODAL_PREFIX + "embed_tokens_per_layer" in dict(model.named_modules())
    output_device = dict(model.named_modules())[module_names(multimodal)[1]].weight.device
    cpu = torch.device("cpu")

    def lookup_on_cpu(input_ids):
        # Gemma3nTextScaledWordEmbedding.forward, with the rows widened to the model's dtype before scaling.
        if table.weight.device.type != "cpu":
            raise RuntimeError(f"the per-layer table was moved to {table.weight.device} after the patch kept it in "
                               "CPU RAM (something re-dispatched the model); the lookup would fail or use the GPU.")
        rows = torch.nn.functional.embedding(input_ids.to(cpu), table.weight, table.padding_idx)
        rows = rows.to(output_device, dtype=output_dtype, non_blocking=True)
        return rows * table.embed_scale.to(output_device, dtype=output_dtype)

    table.forward = lookup_on_cpu
    setattr(table, MARK, True)
    size = table.weight.numel() * table.weight.element_size()
    say(tr("Gemma 3n patch: the per-layer embedding table ({size:.2f} GB, {dtype}) stays in CPU RAM; each step "
           "looks up only its tokens' rows and sends them to {device}.", size=size / 1024 ** 3,
           dtype=str(table.weight.dtype).removeprefix("torch."), device=output_device))
    return size


def is_table_on_cpu_patched(model) -> bool:
    return bool(getattr(find_table(model), MARK, False))
