"""Add the trained LoRA adapter into the base Gemma 3n checkpoint -> output/merged_model/.

The result is the original checkpoint with W + scale * B @ A written into every weight the adapter trained
(computed in float32, stored in the checkpoint's type); every other tensor, the shard layout, config.json,
the tokenizer, the chat template and the vision/audio parts stay exactly as they were. It streams one block of
one tensor at a time, so it needs little memory, and builds the folder under a temporary name, so a crash
never leaves a half-merged model that looks complete.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from gemma_kit.core.adapter_folders import (ADAPTER_WEIGHTS_FILE, BASE_MODEL_RECORD, MERGE_RECORD, latest_checkpoint,
                                            read_base_model_record)
from gemma_kit.core.console import UserError, human_size, next_step, say, warn
from gemma_kit.core.language import tr, tr_n
from gemma_kit.core.model_files import (INDEX_FILE, TensorInfo, check_is_gemma3n, checkpoint_fingerprint,
                                        file_fingerprint, index_tensors, read_config, text_config_of)
from gemma_kit.core.paths import atomic_folder, check_free_space
from gemma_kit.merge.lora_adapter import LoraAdapter, LoraTarget, map_onto_checkpoint, read_lora_adapter
from gemma_kit.merge.shard_writer import MergedShard, check_written, plan_shards, write_shards

EPILOG = """examples:
  gemma-kit merge-lora
  gemma-kit merge-lora --adapter output/checkpoints/checkpoint-200
  gemma-kit merge-lora --base models/gemma-3n-E2B-it --dtype bf16

next: convert_to_gguf.bat  (or: gemma-kit convert-gguf)"""

DTYPE_CHOICES = {"keep": None, "bf16": "BF16", "f16": "F16"}
CONFIG_DTYPE_NAMES = {"BF16": "bfloat16", "F16": "float16"}
SETTINGS_RECORD = "merge_settings.json"


MERGE_SETTINGS = ("model", "model_path", "output_dir")

def add_arguments(parser) -> None:
    parser.add_argument("--adapter", help="the LoRA adapter folder (default: output/lora_adapter; or a saved "
                                          "checkpoint such as output/checkpoints/checkpoint-200). "
                                          "--input means the same")
    parser.add_argument("--base", help="the base model folder the adapter was trained on (default: the model setting's "
                                       "folder under models/)")
    parser.add_argument("--out", help="where to write the merged model (default: output/merged_model). "
                                      "--output means the same")
    parser.add_argument("--dtype", choices=list(DTYPE_CHOICES), default="keep",
                        help="number type of the merged weights: keep the checkpoint's (default), bf16 or f16")


def run(settings, args) -> int:
    adapter_dir = chosen_folder(settings, args, "adapter", "input", settings.adapter_dir)
    base_dir = chosen_folder(settings, args, "base", None, settings.model_dir)
    out_dir = chosen_folder(settings, args, "out", "output", settings.merged_dir)
    dtype_choice = getattr(args, "dtype", None) or "keep"
    say(tr("merge-lora: adding a LoRA adapter into the base model. Settings:"))
    say(settings.describe(MERGE_SETTINGS))
    say(f"  adapter = {str(adapter_dir)!r}\n  base = {str(base_dir)!r}\n  out = {str(out_dir)!r}\n"  # same in every language
        f"  dtype = {dtype_choice!r}")  # same in every language

    check_adapter_folder(adapter_dir, settings)
    tensors = read_base_checkpoint(base_dir, adapter_dir)
    adapter = read_lora_adapter(adapter_dir)
    fingerprint = check_trained_on(adapter_dir, base_dir)
    targets = map_onto_checkpoint(adapter, tensors, base_dir)
    shards = plan_shards(base_dir, tensors, targets, DTYPE_CHOICES[dtype_choice])
    extras, strays = list_other_files(base_dir, shards)
    check_output_folder(out_dir, base_dir, adapter_dir)
    check_free_space(out_dir.parent, planned_size(shards, extras), tr("the merged model"))
    replacing = out_dir.exists()
    if replacing:
        say(tr("{folder} exists already: it will be replaced by this merge (the old one is kept until the new "
               "one is complete).", folder=out_dir))
    say(tr("Adding {pairs} LoRA weight pairs ({ranks_and_scales}) into {tensors} tensors in {shards} shard(s).",
           pairs=len(targets), ranks_and_scales=describe_ranks_and_scales(targets), tensors=len(tensors),
           shards=len(shards)))

    try:
        with atomic_folder(out_dir) as tmp:
            write_shards(shards, tmp)
            copy_other_files(extras, tmp, shards, DTYPE_CHOICES[dtype_choice])
            check_written(tmp, shards)
            settings.save_json(tmp / SETTINGS_RECORD)
            write_merge_record(tmp / MERGE_RECORD, adapter, base_dir, fingerprint, targets, dtype_choice)
    except PermissionError as e:
        # On Windows a folder open in Explorer or a file held by another program cannot be replaced.
        raise UserError(tr("Permission denied for {path} (is it open in another program?).",
                           path=e.filename or out_dir),
                        tr("Close programs and Explorer windows using that folder, or choose another --out folder, "
                           "then run merge_lora.bat again.")) from e

    report_result(out_dir, shards, targets, strays, replacing, dtype_choice)
    next_step("convert_to_gguf.bat", "gemma-kit convert-gguf")
    return 0


# ---- folders -----------------------------------------------------------------------------------------

def chosen_folder(settings, args, option: str, common: str | None, default: Path) -> Path:
    """`--adapter`/`--input` and `--out`/`--output` are two spellings of one option; both given must agree."""
    value = getattr(args, option, None)
    common_value = getattr(args, common, None) if common else None
    if value and common_value and settings.path(value) != settings.path(common_value):
        raise UserError(tr("--{option} {value} and --{common} {common_value} name different folders.",
                           option=option, value=value, common=common, common_value=common_value),
                        tr("Give only one of --{option} and --{common}.", option=option, common=common))
    chosen = value or common_value
    return settings.path(chosen) if chosen else default


def check_adapter_folder(adapter_dir: Path, settings) -> None:
    if adapter_dir.is_dir():
        return
    latest = latest_checkpoint(settings.checkpoints_dir)
    hint = (tr("Run finetune_gemma.bat first (it saves the adapter there), or point --adapter to an adapter "
               "folder.")
            if latest is None else
            tr("Run finetune_gemma.bat to finish training, or merge a saved checkpoint: --adapter {checkpoint}",
               checkpoint=latest))
    raise UserError(tr("There is no LoRA adapter at {folder}.", folder=adapter_dir), hint)


def read_base_checkpoint(base_dir: Path, adapter_dir: Path) -> dict[str, TensorInfo]:
    if not base_dir.is_dir():
        record = read_record_or_none(adapter_dir)
        trained_on = record.get("base_model_path") if record else None
        hint = (tr('The adapter was trained on {trained_on}: pass --base "{trained_on}".', trained_on=trained_on)
                if trained_on and Path(trained_on).is_dir() else
                tr("Run download_model.bat first, or point --base to the Gemma 3n folder the adapter was trained "
                   "on."))
        raise UserError(tr("There is no base model at {folder}.", folder=base_dir), hint)
    check_is_gemma3n(read_config(base_dir), base_dir)
    return index_tensors(base_dir)


def read_record_or_none(adapter_dir: Path) -> dict | None:
    try:
        return read_base_model_record(adapter_dir)
    except json.JSONDecodeError as e:
        raise UserError(tr("{path} is damaged (invalid JSON at line {line}).", path=adapter_dir / BASE_MODEL_RECORD,
                           line=e.lineno),
                        tr("Delete {record} from the adapter folder to merge without the check, "
                           "or train again with finetune_gemma.bat.", record=BASE_MODEL_RECORD)) from e


def check_trained_on(adapter_dir: Path, base_dir: Path) -> str:
    """Compare the base checkpoint with the one recorded at training time; return its fingerprint."""
    fingerprint = checkpoint_fingerprint(base_dir)
    record = read_record_or_none(adapter_dir)
    if record is None:
        warn(tr("{adapter} has no {record}, so nothing says which model it was trained on; merging "
                "into {base} anyway (names and shapes are still checked).", adapter=adapter_dir,
                record=BASE_MODEL_RECORD, base=base_dir))
        return fingerprint
    if record.get("fingerprint") == fingerprint:
        say(tr("The base model is the one the adapter was trained on."))
        return fingerprint
    differences = describe_differences(record.get("text_config") or {}, text_config_of(read_config(base_dir)))
    raise UserError(tr("The adapter in {adapter} was trained on a different base model than {base} "
                       "({differences}).", adapter=adapter_dir, base=base_dir, differences=differences),
                    tr('Merge it into the model it was trained on (--base "{trained_on}"), or '
                       "train a new adapter on this model with finetune_gemma.bat.",
                       trained_on=record.get("base_model_path")))


def describe_differences(trained: dict, here: dict) -> str:
    keys = [k for k in sorted(set(trained) | set(here)) if trained.get(k) != here.get(k)]
    if not keys:
        return tr("same model settings, but different weight files")
    shown = "; ".join(tr("{key} {trained} at training, {here} here", key=k, trained=json.dumps(trained.get(k)),
                         here=json.dumps(here.get(k))) for k in keys[:3])
    more = tr("; and {count} more", count=len(keys) - 3) if len(keys) > 3 else ""
    return tr("its settings differ: {shown}{more}", shown=shown, more=more)


def check_output_folder(out_dir: Path, base_dir: Path, adapter_dir: Path) -> None:
    """atomic_folder replaces the whole output folder: never let that be the model, the adapter or a folder
    holding them, nor a folder this step did not write."""
    out = out_dir.resolve()
    overlaps = (tr("The output folder {out} overlaps the base model folder {folder}; writing there would "
                   "destroy it.", out=out_dir, folder=base_dir.resolve()),
                tr("The output folder {out} overlaps the adapter folder {folder}; writing there would destroy it.",
                   out=out_dir, folder=adapter_dir.resolve()))
    for message, folder in zip(overlaps, (base_dir.resolve(), adapter_dir.resolve())):
        if out == folder or out in folder.parents or folder in out.parents:
            raise UserError(message, tr("Choose another --out folder (the default is output/merged_model)."))
    written_by_us = (out_dir / MERGE_RECORD).exists()
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not written_by_us)):
        raise UserError(tr("{folder} exists and is not a merged model written by merge-lora, so it is not replaced.",
                           folder=out_dir),
                        tr("Choose another --out folder, or move that folder away and run merge_lora.bat again."))


def list_other_files(base_dir: Path, shards: list[MergedShard]) -> tuple[list[Path], list[Path]]:
    """Everything besides the weights goes along (config, index, tokenizer, chat template, generation
    config, preprocessors); hidden entries (.cache of a download) stay behind, and so do stray
    .safetensors files that are not part of the checkpoint."""
    shard_names = {s.source.name for s in shards}
    extras, strays = [], []
    for path in sorted(base_dir.iterdir()):
        if path.name.startswith(".") or path.name in shard_names:
            continue
        (strays if path.suffix == ".safetensors" else extras).append(path)
    return extras, strays


def planned_size(shards: list[MergedShard], extras: list[Path]) -> int:
    other = sum(p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
                for p in extras)
    return sum(s.size for s in shards) + other


def describe_ranks_and_scales(targets: list[LoraTarget]) -> str:
    ranks = sorted({t.pair.a.shape[0] for t in targets})
    scales = sorted({round(t.pair.scale, 6) for t in targets})
    # English says "rank"/"ranks" by the number of distinct values, not by the values themselves.
    rank_words = tr_n(len(ranks), "rank {values}", "ranks {values}", values=", ".join(map(str, ranks)))
    scale_words = tr_n(len(scales), "scale {values}", "scales {values}", values=", ".join(f"{s:g}" for s in scales))
    return f"{rank_words}, {scale_words}"


def copy_other_files(extras: list[Path], folder: Path, shards: list[MergedShard], out_dtype: str | None) -> None:
    """Byte-for-byte copies, except config.json and the index when --dtype changes the stored type."""
    for path in extras:
        if out_dtype and path.name == "config.json":
            write_config_with_dtype(path, folder / path.name, CONFIG_DTYPE_NAMES[out_dtype])
        elif out_dtype and path.name == INDEX_FILE:
            write_index_with_size(path, folder / path.name, sum(t.nbytes for s in shards for t in s.tensors))
        elif path.is_dir():
            shutil.copytree(path, folder / path.name)
        else:
            shutil.copy2(path, folder / path.name)


def write_config_with_dtype(source: Path, dest: Path, dtype_name: str) -> None:
    """--dtype changes the stored type, so config.json must say so (top level and each sub-config)."""
    config = json.loads(source.read_text(encoding="utf-8"))
    for part in [config] + [v for k, v in config.items() if k.endswith("_config") and isinstance(v, dict)]:
        for key in ("dtype", "torch_dtype"):
            if key in part:
                part[key] = dtype_name
    dest.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_index_with_size(source: Path, dest: Path, total_size: int) -> None:
    index = json.loads(source.read_text(encoding="utf-8"))
    index.setdefault("metadata", {})["total_size"] = total_size
    dest.write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")


def write_merge_record(dest: Path, adapter: LoraAdapter, base_dir: Path, fingerprint: str,
                       targets: list[LoraTarget], dtype_choice: str) -> None:
    lora_keys = ("r", "lora_alpha", "use_rslora", "rank_pattern", "alpha_pattern", "target_modules")
    record = {"made_by": "gemma-kit merge-lora", "adapter_dir": str(adapter.folder),
              "adapter_fingerprint": file_fingerprint(adapter.folder / ADAPTER_WEIGHTS_FILE),
              "base_model_path": str(base_dir),
              "base_fingerprint": fingerprint, "dtype": dtype_choice,
              "lora": {k: adapter.config.get(k) for k in lora_keys},
              "merged_tensors": sorted(t.weight.name for t in targets)}
    dest.write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")


def report_result(out_dir: Path, shards: list[MergedShard], targets: list[LoraTarget], strays: list[Path],
                  replacing: bool, dtype_choice: str) -> None:
    total = sum(len(s.tensors) for s in shards)
    kept = tr("copied unchanged") if dtype_choice == "keep" else tr("otherwise unchanged, stored as {dtype}",
                                                                     dtype=dtype_choice)
    if replacing:
        say(tr("Replaced the previous merged model in {folder}.", folder=out_dir))
    say(tr("Wrote {folder} ({size}): {total} tensors in {shards} shard(s); {changed} changed by the adapter, "
           "{others} {kept}.", folder=out_dir, size=human_size(sum(s.size for s in shards)), total=total,
           shards=len(shards), changed=len(targets), others=total - len(targets), kept=kept))
    if strays:
        say(tr("Left out {count} .safetensors file(s) of the base folder that are not part of the checkpoint: "
               "{names}", count=len(strays), names=", ".join(p.name for p in strays)))
