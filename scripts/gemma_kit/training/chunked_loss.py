"""The causal-LM loss without the full logits: Gemma 3n's 262k-word head, a few hundred tokens at a time.

The plain path (transformers' Gemma3nForCausalLM.forward + ForCausalLMLoss) builds logits for every position of
the batch, soft-caps them and upcasts them to float32: at 768 tokens that is 768 x 262,400 values, 0.8 GB in
float32, and autograd keeps several copies of that size for the backward (measured on the CPU: 5.3 float32
copies at the peak, bench/bench_memory_patches.py). Here:
- only positions whose (shifted) label is not -100 are used: the assistant tokens, not the prompt or padding;
- logits are made for `chunk_tokens` of them at a time, soft-capped (tanh(x / cap) * cap, Gemma's
  `final_logit_softcapping`) in float32 and turned into a summed cross-entropy;
- each chunk runs under torch.utils.checkpoint, so its logits are not kept for the backward: the backward
  recomputes one chunk at a time.
The result is the same loss and the same gradients (tests/test_memory_patches.py, allclose at float32). It is
divided like transformers' ForCausalLMLoss: by `num_items_in_batch` (label tokens over the whole accumulated
batch, which the Trainer counts) when given, else by this batch's label tokens (a mean).

Soft-capping in float32 (transformers soft-caps in the model's dtype, then upcasts): equal at float32, and under
bf16 the tanh is computed more exactly here; the training and eval losses both come from this function.
"""
from __future__ import annotations

from gemma_kit.training.collate import IGNORE_INDEX
from gemma_kit.training.memory_plan import LOSS_CHUNK_TOKENS


def softcap_logits(logits, cap: float | None):
    """Gemma's final logit soft-capping: tanh(x / cap) * cap (None or 0: no capping)."""
    import torch

    return torch.tanh(logits / cap) * cap if cap else logits


def select_label_positions(hidden, labels):
    """Hidden states of the positions that predict a label (after the causal shift) and those labels.

    hidden: [batch, seq, h]; labels: [batch, seq]. Position t predicts labels[t + 1]; the last position predicts
    nothing (ForCausalLMLoss pads the labels with -100 there)."""
    targets = labels[:, 1:].to(hidden.device)
    keep = targets != IGNORE_INDEX
    return hidden[:, :-1][keep], targets[keep]


def _chunk_loss_sum(hidden_chunk, targets_chunk, head, cap):
    import torch

    logits = softcap_logits(head(hidden_chunk).float(), cap)
    return torch.nn.functional.cross_entropy(logits, targets_chunk, reduction="sum")


def chunked_causal_lm_loss(hidden, labels, head, cap: float | None, num_items_in_batch=None,
                           chunk_tokens: int = LOSS_CHUNK_TOKENS):
    """Cross-entropy of `head(hidden)` against the shifted `labels`, never holding more than one chunk of logits.

    `head` is the output layer (Gemma 3n: lm_head, tied to the embeddings); it is called as a module, so hooks on
    it see every chunk."""
    import torch
    from torch.utils.checkpoint import checkpoint

    assert chunk_tokens >= 1, chunk_tokens
    selected, targets = select_label_positions(hidden, labels)
    # Starts from a zero that is part of the graph: a batch without label tokens still has a backward.
    total = (selected.sum() * 0).float()
    for start in range(0, selected.shape[0], chunk_tokens):
        end = start + chunk_tokens
        total = total + checkpoint(_chunk_loss_sum, selected[start:end], targets[start:end], head, cap,
                                   use_reentrant=False)
    if num_items_in_batch is None:
        return total / selected.shape[0]           # a mean, like cross_entropy(reduction="mean"): NaN if empty
    if torch.is_tensor(num_items_in_batch):
        num_items_in_batch = num_items_in_batch.to(total.device)
    return total / num_items_in_batch


def causal_lm_of(model):
    """The Gemma3nForCausalLM inside a peft model (or the model itself)."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    if not (hasattr(inner, "model") and hasattr(inner, "lm_head")):
        raise RuntimeError(f"chunked loss: expected a causal LM with .model and .lm_head, found "
                           f"{type(inner).__name__}; transformers' Gemma 3n layout changed, update the patch.")
    return inner


def compute_chunked_loss(model, inputs: dict, num_items_in_batch=None, chunk_tokens: int = LOSS_CHUNK_TOKENS):
    """The loss of one batch ({input_ids, attention_mask, labels}) through the text model and chunked head."""
    causal_lm = causal_lm_of(model)
    model_inputs = {k: v for k, v in inputs.items() if k != "labels"}
    hidden = causal_lm.model(**model_inputs).last_hidden_state
    return chunked_causal_lm_loss(hidden, inputs["labels"], causal_lm.lm_head,
                                  causal_lm.config.final_logit_softcapping, num_items_in_batch, chunk_tokens)


def chunked_loss_trainer_class():
    """A Trainer whose compute_loss is `compute_chunked_loss` (built on demand: transformers is heavy to import)."""
    from transformers import Trainer
    from transformers.modeling_outputs import CausalLMOutputWithPast

    class ChunkedLossTrainer(Trainer):
        """Trainer.compute_loss with the chunked loss, for training and evaluation alike.

        The loss is normalised exactly as the model's own loss would be (num_items_in_batch), so the Trainer's
        gradient-accumulation scaling (`loss_is_scaled_for_ga`, decided from the model accepting loss kwargs)
        stays right. `on_train_loss` receives each training loss (the non-finite guard): the model's forward
        hooks do not see it, because the loss is not part of the model's output any more."""

        def __init__(self, *args, chunk_tokens: int = LOSS_CHUNK_TOKENS, on_train_loss=None, **kwargs):
            super().__init__(*args, **kwargs)
            self.chunk_tokens = chunk_tokens
            self.on_train_loss = on_train_loss

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            # accelerate puts autocast around the outer model's forward only; this path enters the inner model.
            with self.accelerator.autocast():
                loss = compute_chunked_loss(self.accelerator.unwrap_model(model), inputs, num_items_in_batch,
                                            self.chunk_tokens)
            if (self.args.average_tokens_across_devices and self.model_accepts_loss_kwargs
                    and num_items_in_batch is not None):   # as Trainer.compute_loss does; 1 on one GPU
                loss = loss * (self.accelerator.num_processes // self.get_tp_size())
            if model.training and self.on_train_loss is not None:
                self.on_train_loss(loss)
            return (loss, CausalLMOutputWithPast(loss=loss)) if return_outputs else loss

    return ChunkedLossTrainer
