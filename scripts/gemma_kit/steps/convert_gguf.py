"""Convert the merged model (output/merged_model/) into one .gguf file for LM Studio (output/finetuned_gemma.gguf).

The result is what llama.cpp's own converter makes of a Gemma 3n (architecture "gemma3n"): the same tensors,
types and settings, with the tokenizer and chat template inside. The text model only: LM Studio does not run
Gemma 3n's image and audio parts from a .gguf. Works in pure Python, tensor by tensor, in little memory;
nothing is downloaded. Types: q8_0 (default: half the size of bf16, near-lossless), f16, bf16, f32.
"""
from __future__ import annotations

import json
import time
import typing
from pathlib import Path

from ..core.console import UserError, byte_bar, human_size, next_step, say, warn
from ..core.language import tr, tr_marked
from ..core.paths import atomic_file, check_free_space, check_writable_folder, finish_interrupted_swap
from ..core.settings import Settings, replace
from ..core.step_results import GgufWritten

if typing.TYPE_CHECKING:  # the converter's modules (numpy, gguf) load only when this step runs
    from ..gguf_gemma3n.conversion_plan import ConversionPlan, OutputTensor
    from ..gguf_gemma3n.vocab_writer import VocabSummary

EPILOG = ("Examples:\n  gemma-kit convert-gguf          (output/merged_model -> output/finetuned_gemma.gguf)\n"
          "  gemma-kit convert-gguf --type f16 --output D:\\models\\my_gemma.gguf\n"
          "Next: install_to_lmstudio.bat (or load the .gguf in LM Studio yourself)")

HEADER_ALLOWANCE = 64 << 20   # token list, chat template and tensor table on top of the tensor data


CONVERT_SETTINGS = ("gguf_type", "gguf_file_name", "output_dir")

def add_arguments(parser) -> None:
    parser.add_argument("--type", choices=typing.get_args(typing.get_type_hints(Settings)["gguf_type"]), default=None,
                        help="number format of the weights (default: gguf_type in settings.toml, q8_0)")
    parser.add_argument("--no-check", action="store_true",
                        help="skip checking the written file (faster; not recommended)")
    parser.add_argument("--offer-lmstudio", action="store_true",
                        help="afterwards, ask to put the file into LM Studio (convert_to_gguf.bat does this)")


def run(settings: Settings, args) -> int:
    if getattr(args, "type", None):
        settings = replace(settings, gguf_type=args.type)
    source = settings.path(args.input) if getattr(args, "input", None) else settings.merged_dir
    dest = settings.path(args.output) if getattr(args, "output", None) else settings.gguf_file
    say(tr("Converting {source} -> {dest} ({type}) with these settings:", source=source, dest=dest,
           type=settings.gguf_type.upper()))
    say(settings.describe(CONVERT_SETTINGS))
    check_paths(source, dest)
    stale = stale_merge_warning(source)
    if stale:
        warn(stale)
    from ..gguf_gemma3n.conversion_plan import plan_conversion

    plan = plan_conversion(source, settings.gguf_type)
    writer, vocab = prepare_writer(plan)
    check_free_space(dest.parent, plan.nbytes + HEADER_ALLOWANCE, tr("the GGUF file"))
    if dest.exists():
        say(tr("{dest} already exists: it will be replaced when the new file is complete.", dest=dest))
    started = time.perf_counter()
    write_file(writer, plan, dest)
    settings_file = dest.with_name(dest.stem + ".settings.json")
    settings.save_json(settings_file)
    report(plan, dest, time.perf_counter() - started, vocab, settings_file)
    if getattr(args, "no_check", False):
        say(tr("Self-check skipped (--no-check)."))
    else:
        report_self_check(dest, plan.tensors)
    if stale:
        warn(stale)   # again at the end, where it is read
    if getattr(args, "offer_lmstudio", False):
        return GgufWritten(dest)  # the pipeline asks whether to hand it to LM Studio
    refresh_lmstudio_copy(dest)
    next_step("install_to_lmstudio.bat", "gemma-kit install-lmstudio")
    return 0


def stale_merge_warning(merged_dir: Path) -> str | None:
    """A merged model made from an adapter that has changed since (trained again, but not merged again) would
    give a GGUF without the new training: say so. Nothing to say for folders merge-lora did not write."""
    from ..core.adapter_folders import ADAPTER_WEIGHTS_FILE, MERGE_RECORD
    from ..core.model_files import file_fingerprint

    try:
        record = json.loads((merged_dir / MERGE_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    adapter = Path(record.get("adapter_dir") or "")
    weights = adapter / ADAPTER_WEIGHTS_FILE
    if not record.get("adapter_fingerprint") or not weights.is_file():
        return None
    if file_fingerprint(weights) == record["adapter_fingerprint"]:
        return None
    return tr("{merged} was merged from the adapter in {adapter}, which has changed since (trained again?). "
              "This GGUF does not include that newer training: run merge_lora.bat, then convert again.",
              merged=merged_dir, adapter=adapter)


def report_self_check(dest: Path, expected: list[OutputTensor]) -> None:
    """Check the file as LM Studio will use it (in llama.cpp when it is installed, else by reading it); a file
    that would not work there is an error."""
    from ..gguf_gemma3n.self_check import check_gguf, describe

    say(tr("Checking the written file..."))   # reading a real 262k-token list takes GGUFReader a few seconds
    result = check_gguf(dest, expected)
    if result.problems:
        problems = "\n  - ".join(result.problems)
        message = (tr("{dest} was written, but llama.cpp's check found that it would not work in LM Studio:"
                      "\n  - {problems}", dest=dest, problems=problems) if result.ran_in_llama_cpp else
                   tr("{dest} was written, but the check of the file found that it would not work in LM Studio:"
                      "\n  - {problems}", dest=dest, problems=problems))
        raise UserError(message,
                        tr("Run convert_only.bat again (a full disk or an antivirus can damage a file while it is "
                           "written). If the same problem comes back, convert the merged model of an unmodified "
                           "base checkpoint: run merge_lora.bat again (it writes every tensor and copies the "
                           "tokenizer files). dev_log.txt lists the known causes; run with --debug for details."))
    for line in describe(result):
        say(line)


def refresh_lmstudio_copy(dest: Path) -> None:
    """convert_only.bat: LM Studio's file from an earlier hand-off still holds the previous conversion (a hard
    link keeps the old data when a new file is renamed into place), so it is replaced by the new one."""
    from ..core.lmstudio import HANDOFF_WORDS, link_or_copy, recorded_handoff

    installed = recorded_handoff(dest)
    if installed is None:
        return
    try:
        how = link_or_copy(dest, installed)
    except UserError as e:   # LM Studio holds the old file open (Windows): the new GGUF itself is fine
        warn(tr("LM Studio's copy {installed} still holds the previous conversion: {problem} {hint} "
                "Or run install_to_lmstudio.bat later.", installed=installed, problem=e.message, hint=e.hint))
        return
    if how != "already there":
        say(tr("LM Studio's copy of the previous conversion was replaced with the new file ({how}): {installed}",
               how=tr_marked(HANDOFF_WORDS[how]), installed=installed))


def check_paths(source: Path, dest: Path) -> None:
    repaired = finish_interrupted_swap(source)  # merge-lora stopped between its two renames
    if repaired:
        say(repaired)
    if not source.is_dir():
        raise UserError(tr("{source} does not exist, so there is no merged model to convert.", source=source),
                        tr("Run merge_lora.bat first (it writes output/merged_model/), or point --input at a merged "
                           "model folder."))
    if dest.is_dir():
        raise UserError(tr("{dest} is a folder; the output must be a file name ending in .gguf.", dest=dest),
                        tr("Give a file name, e.g. --output output/finetuned_gemma.gguf"))
    check_writable_folder(dest.parent)  # before minutes of planning, not at the first write


def prepare_writer(plan: ConversionPlan):
    """Everything but the tensor data, in memory: tensor table, model keys, tokenizer (all checks done)."""
    from gguf import GGUFWriter

    from ..gguf_gemma3n.gemma3n_table import GGUF_ARCHITECTURE
    from ..gguf_gemma3n.model_keys import add_general_keys, add_hyperparameters
    from ..gguf_gemma3n.tensor_stream import register_tensor_infos
    from ..gguf_gemma3n.vocab_writer import add_tokenizer

    writer = GGUFWriter(path=None, arch=GGUF_ARCHITECTURE)
    register_tensor_infos(writer, plan.tensors)
    add_general_keys(writer, plan.folder, plan.hparams, plan.out_type.upper())
    add_hyperparameters(writer, plan.hparams, plan.file_type)
    vocab = add_tokenizer(writer, plan.folder, plan.hparams["vocab_size"])
    return writer, vocab


def write_file(writer, plan: ConversionPlan, dest: Path) -> None:
    """Header, keys and tensor table first, then the data streamed, under a temporary name."""
    from ..gguf_gemma3n.tensor_stream import stream_tensor_data

    with atomic_file(dest) as tmp:
        try:
            writer.write_header_to_file(path=tmp)
            writer.write_kv_data_to_file()
            writer.write_ti_data_to_file()
            with byte_bar(plan.nbytes, tr("Writing GGUF")) as bar:
                stream_tensor_data(writer, plan.tensors, bar.update)
        finally:
            writer.close()   # before the rename (Windows cannot rename an open file)


def report(plan: ConversionPlan, dest: Path, seconds: float, vocab: VocabSummary, settings_file: Path) -> None:
    size = dest.stat().st_size
    say(tr("Wrote {dest} ({size}, {type}, {count} tensors) in {seconds:.1f} s ({speed:.0f} MB/s).", dest=dest,
           size=human_size(size), type=plan.out_type.upper(), count=len(plan.tensors), seconds=seconds,
           speed=size / max(seconds, 1e-9) / 2**20))
    if plan.skipped:
        say(tr("Left out {count} image/audio tensors: the .gguf holds the text model, which is what "
               "LM Studio runs for Gemma 3n.", count=len(plan.skipped)))
    if not vocab.has_chat_template:
        warn(tr("the checkpoint has no chat template (tokenizer_config.json or chat_template.jinja), so LM Studio "
                "will not know Gemma's turn format; copy chat_template.jinja from the base model and convert "
                "again."))
    if vocab.plain_turn_markers:
        warn(tr("{config} does not mark {markers} as special tokens (its added_tokens_decoder list is missing), "
                "so LM Studio will read them as plain text and the chat turns will not work. Copy "
                "tokenizer_config.json from the base model's folder into the merged model and convert again.",
                config=plan.folder / "tokenizer_config.json", markers=tr(" and ").join(vocab.plain_turn_markers)))
    say(tr("Settings saved to {path}", path=settings_file))
    say(tr('To use it in LM Studio: run install_to_lmstudio.bat (it puts the file where LM Studio looks), or run '
           '`lms import "{dest}"`, or copy it to LM Studio\'s models folder as <publisher>/<model>/{name}. '
           "Then pick it under My Models and chat: the Gemma chat template inside the file is used automatically.",
           dest=dest, name=dest.name))
