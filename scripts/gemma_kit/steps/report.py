"""Before/after report: does the model talk like you now? Writes output/report.html.

For held-out dialogs of data/eval_dataset.jsonl (never trained on), the base model (adapter off) and the
fine-tuned model (adapter on) answer the same last message with the same greedy decoding; the page shows both
next to what you actually wrote, with the eval loss of each model, the training time, preset and dataset size.
One self-contained page: it opens by double-click, with no network.
"""
from __future__ import annotations

import html
import json
import math
import random
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..core.console import UserError, progress, say
from ..core.language import N_, current_language, tr, tr_marked
from ..core.paths import atomic_file
from ..core.settings import DATASET_REPORT_FILE_NAME, REPORT_FILE_NAME, Settings

EPILOG = ("Example: gemma-kit report --examples 20\n"
          "It runs by itself at the end of finetune_gemma.bat; run it again after choosing another adapter.")

BATCH = 4  # prompts generated together: one forward pass per new token for the whole batch


@dataclass
class Sample:
    line: int            # line in eval_dataset.jsonl
    context: list        # the messages before the reply (last one: the user's message)
    actual: str          # what the person wrote
    base: str = ""
    tuned: str = ""


def add_arguments(parser) -> None:
    parser.add_argument("--adapter", metavar="PATH", help="adapter folder (default output/lora_adapter, or a "
                                                          "checkpoint folder such as output/checkpoints/checkpoint-200)")
    parser.add_argument("--examples", type=int, metavar="N", help="how many held-out dialogs (default: "
                                                                 "report_examples in settings.toml)")


def pick_samples(conversations, count: int, seed: int) -> list[Sample]:
    """A fixed, seeded choice of eval dialogs, in file order."""
    chosen = sorted(random.Random(seed).sample(range(len(conversations)), min(count, len(conversations))))
    samples = []
    for i in chosen:
        messages = list(conversations[i].messages)
        samples.append(Sample(conversations[i].line, messages[:-1], messages[-1]["content"]))
    return samples


def find_adapter(settings: Settings, args) -> Path:
    chosen = getattr(args, "adapter", None) or getattr(args, "input", None)
    adapter = settings.path(chosen) if chosen else settings.adapter_dir
    if not (adapter / "adapter_config.json").exists():
        raise UserError(tr("There is no trained adapter in {folder}.", folder=adapter),
                        tr("Run finetune_gemma.bat first (or point --adapter at a checkpoint folder)."))
    return adapter


def load_models(settings: Settings, adapter: Path):
    """The base model in 4-bit as in training, with the adapter on top (switchable off for 'before')."""
    from peft import PeftModel
    from transformers import AutoTokenizer

    from ..core.model_files import read_config
    from ..training.device import choose_device, choose_precision, detect_machine
    from ..training.model_loading import load_text_config, load_text_model

    machine = detect_machine()
    precision = choose_precision(machine.cuda_available, machine.bf16_supported)
    base_dir = settings.model_dir
    if not (base_dir / "config.json").exists():
        raise UserError(tr("There is no base model at {folder}.", folder=base_dir),
                        tr("Run download_model.bat first."))
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    say(tr("Loading {name} (4-bit) with the adapter {adapter} ...", name=base_dir.name, adapter=adapter))
    # The per-layer table in RAM unless told otherwise: replies need only a few rows, and right after training
    # the GPU may still hold the trainer's memory.
    model = load_text_model(base_dir, load_text_config(read_config(base_dir)), precision,
                            choose_device(machine.cuda_available),
                            per_layer_table_on_gpu=settings.per_layer_table_on_gpu == "yes")
    with warnings.catch_warnings():   # peft reads transformers' deprecated is_gradient_checkpointing (peft 0.21)
        warnings.filterwarnings("ignore", category=FutureWarning)
        model = PeftModel.from_pretrained(model, str(adapter))
    model.eval()
    return model, tokenizer


def prompt_ids(tokenizer, sample: Sample, limit: int) -> list[int]:
    """The rendered context, oldest exchanges dropped whole until it fits (a cut mid-turn would lose <bos> and
    the turn markers, and the replies would be garbage)."""
    from ..training.collate import fit_prompt, render

    ids = fit_prompt(tokenizer, list(sample.context), limit)
    if ids is not None:
        return ids
    # One message too long on its own: keep <bos> and the end, where the question usually is.
    head = [m for m in sample.context[:1] if m["role"] == "system"]
    text = render(tokenizer, head + list(sample.context[-1:]), add_generation_prompt=True)
    ids = tokenizer(text, add_special_tokens=False).input_ids
    return ids[:1] + ids[-(limit - 1):]


def generate_all(model, tokenizer, samples: list[Sample], settings: Settings) -> None:
    from ..training.callbacks import generate_replies

    limit = max(16, settings.max_seq_length - settings.report_max_new_tokens)
    batches = [samples[i:i + BATCH] for i in range(0, len(samples), BATCH)]
    for batch in progress(batches, total=len(batches), desc=tr("Generating replies"), unit=tr("batch")):
        ids = [prompt_ids(tokenizer, s, limit) for s in batch]
        with model.disable_adapter():
            base = generate_replies(model, tokenizer, ids, settings.report_max_new_tokens)
        tuned = generate_replies(model, tokenizer, ids, settings.report_max_new_tokens)
        for sample, b, t in zip(batch, base, tuned):
            sample.base, sample.tuned = b, t


def mean_eval_losses(model, tokenizer, settings: Settings) -> tuple[float, float]:
    """Token-weighted loss over the assistant replies of the eval file: (base, fine-tuned)."""
    import torch

    from ..training.chunked_loss import compute_chunked_loss
    from ..training.collate import IGNORE_INDEX, prepare_examples, read_conversations

    data = prepare_examples(tokenizer, read_conversations(settings.eval_file), settings.max_seq_length,
                            settings.eval_file, for_eval=True)
    device = next(model.parameters()).device

    def loss_of(ids, labels):
        if settings.chunked_loss:   # as in training: never the whole example's 262k-word logits at once
            return compute_chunked_loss(model, {"input_ids": ids, "labels": labels})
        return model(input_ids=ids, labels=labels).loss

    totals = {"base": [0.0, 0], "tuned": [0.0, 0]}
    for example in progress(data.examples, total=len(data.examples), desc=tr("Eval loss"), unit=tr("ex")):
        ids = torch.tensor([example["input_ids"]], device=device)
        labels = torch.tensor([example["labels"]], device=device)
        counted = int((labels[:, 1:] != IGNORE_INDEX).sum())
        for key in totals:
            with torch.no_grad():
                if key == "base":
                    with model.disable_adapter():
                        loss = loss_of(ids, labels)
                else:
                    loss = loss_of(ids, labels)
            totals[key][0] += float(loss) * counted
            totals[key][1] += counted
    return tuple(total / max(count, 1) for total, count in totals.values())


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}  # the report still shows the replies; missing facts print as "?"


def run(settings: Settings, args) -> int:
    if getattr(args, "examples", None) is not None:
        from ..core.settings import replace

        settings = replace(settings, report_examples=args.examples)
    adapter = find_adapter(settings, args)
    from ..training.collate import read_conversations

    from ..training.device import memory_errors_in_plain_words

    conversations = read_conversations(settings.eval_file)
    samples = pick_samples(conversations, max(settings.report_examples, 1), settings.seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)  # library deprecations: nothing to act on
        with memory_errors_in_plain_words(tr("writing the before/after report"),
                                          tr("lower report_max_new_tokens or report_examples in settings.toml")):
            model, tokenizer = load_models(settings, adapter)
            generate_all(model, tokenizer, samples, settings)
            base_loss, tuned_loss = mean_eval_losses(model, tokenizer, settings)
    facts = collect_facts(settings, adapter, base_loss, tuned_loss)
    dest = settings.path(getattr(args, "output", None) or Path(settings.output_dir) / REPORT_FILE_NAME)
    with atomic_file(dest) as tmp:
        tmp.write_text(render_page(samples, facts), encoding="utf-8")
    print_summary(samples, facts, dest)
    return 0


def collect_facts(settings: Settings, adapter: Path, base_loss: float, tuned_loss: float) -> dict:
    summary = read_json(settings.path(settings.output_dir) / "training_summary.json")
    dataset = read_json(settings.path(settings.data_dir) / DATASET_REPORT_FILE_NAME)
    return {"base_loss": base_loss, "tuned_loss": tuned_loss, "adapter": str(adapter),
            "preset": settings.preset, "steps": summary.get("step"), "train_seconds": summary.get("train_seconds"),
            "train_examples": summary.get("train_examples"), "eval_examples": summary.get("eval_examples"),
            "device": summary.get("device"), "dataset": dataset.get("examples") or {}}


def format_duration(seconds) -> str:
    if not isinstance(seconds, (int, float)):
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return tr("{hours} h {minutes} min", hours=hours, minutes=minutes)
    return tr("{minutes} min {seconds} s", minutes=minutes, seconds=secs)


def perplexity_change(base_loss: float, tuned_loss: float) -> str:
    """The loss as a plain comparison: how much more likely your real replies became."""
    ratio = math.exp(base_loss - tuned_loss)
    if ratio >= 1:
        return tr("{ratio:.1f}x more likely", ratio=ratio)
    return tr("{ratio:.1f}x less likely", ratio=1 / ratio)


PAGE_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;
padding:0 1rem;color:#1d1d1f;background:#fafafa}
h1{font-size:1.6rem} h2{font-size:1.1rem;margin-top:2rem}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:.6rem}
.fact{background:#fff;border:1px solid #ddd;border-radius:8px;padding:.6rem .8rem}
.fact b{display:block;font-size:1.2rem}
.sample{background:#fff;border:1px solid #ddd;border-radius:8px;padding:1rem;margin:1rem 0}
.context{color:#444;white-space:pre-wrap;border-left:3px solid #bbb;padding-left:.6rem}
.cols{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:.8rem;margin-top:.8rem}
.cols div{white-space:pre-wrap;overflow-wrap:anywhere;border-radius:6px;padding:.6rem}
.empty{color:#999;font-style:italic}
.actual{background:#eef6ee}.base{background:#f3f3f3}.tuned{background:#eaf1fb}
.label{font-size:.8rem;color:#666;display:block;margin-bottom:.3rem}
"""


SPEAKERS = {"user": N_("them"), "assistant": N_("you"), "system": N_("system")}


def reply_html(text: str) -> str:
    return html.escape(text) if text.strip() else f'<span class="empty">{html.escape(tr("(empty reply)"))}</span>'


def render_page(samples: list[Sample], facts: dict) -> str:
    """The page in the user's language (its lang attribute too); the replies themselves as they were written."""
    e = html.escape
    dataset = facts["dataset"]
    fact_cells = [
        (tr("Eval loss, base model"), f"{facts['base_loss']:.3f}"),
        (tr("Eval loss, fine-tuned"), f"{facts['tuned_loss']:.3f}"),
        (tr("Your real replies became"), perplexity_change(facts["base_loss"], facts["tuned_loss"])),
        (tr("Training time"), format_duration(facts["train_seconds"])),
        (tr("Preset"), str(facts["preset"])),
        (tr("Steps"), str(facts["steps"] if facts["steps"] is not None else "?")),
        (tr("Training examples"), str(facts["train_examples"] or dataset.get("train", "?"))),
        (tr("Held-out examples"), str(facts["eval_examples"] or dataset.get("eval", "?"))),
    ]
    facts_html = "".join(f'<div class="fact">{e(k)}<b>{e(v)}</b></div>' for k, v in fact_cells)
    blocks = []
    for n, s in enumerate(samples, start=1):
        context = "\n".join(f"{tr_marked(SPEAKERS[m['role']]) if m['role'] in SPEAKERS else m['role']}: "
                            f"{m['content']}" for m in s.context)
        blocks.append(
            f'<div class="sample"><h2>{e(tr("#{number} (eval_dataset.jsonl, line {line})", number=n, line=s.line))}'
            f'</h2><span class="label">{e(tr("Conversation"))}</span><div class="context">{e(context)}</div>'
            f'<div class="cols"><div class="actual"><span class="label">{e(tr("What you actually wrote"))}'
            f'</span>{e(s.actual)}</div><div class="base"><span class="label">{e(tr("Base model"))}</span>'
            f'{reply_html(s.base)}</div><div class="tuned"><span class="label">{e(tr("Fine-tuned"))}</span>'
            f'{reply_html(s.tuned)}</div></div></div>')
    intro = tr("Dialogs the model never saw in training. Same decoding for both models (greedy). Lower loss = your "
               "real replies are more expected.")
    return (f'<!DOCTYPE html><html lang="{current_language()}"><head><meta charset="utf-8">'
            f'<title>{e(tr("Gemma 3n fine-tuning report"))}</title><style>{PAGE_STYLE}</style></head><body>'
            f'<h1>{e(tr("Before / after: does it talk like you?"))}</h1><p>{e(intro)}</p>'
            f'<div class="facts">{facts_html}</div>{"".join(blocks)}'
            f'<p class="label">{e(tr("Adapter: {folder}", folder=facts["adapter"]))}</p></body></html>')


def print_summary(samples: list[Sample], facts: dict, dest: Path) -> None:
    say(tr("Eval loss: base {base:.3f} -> fine-tuned {tuned:.3f} (your real replies became {change}).",
           base=facts["base_loss"], tuned=facts["tuned_loss"],
           change=perplexity_change(facts["base_loss"], facts["tuned_loss"])))
    # The three labels are padded to one width in each language, so the replies line up under each other.
    labels = [tr("you wrote:"), tr("base:"), tr("fine-tuned:")]
    width = max(len(label) for label in labels) + 1
    for s in samples[:3]:
        last = s.context[-1]["content"] if s.context else ""
        say(f"  > {last[:80]}")
        for label, text in zip(labels, (s.actual[:80], " ".join(s.base.split())[:80], " ".join(s.tuned.split())[:80])):
            say(f"    {label:<{width}}{text}")
    say(tr("Report with {count} held-out dialogs: {path}  (open it in a browser)", count=len(samples), path=dest))
