"""The finetune step's memory check: print the GPU memory plan with this run's choices, and refuse early (in
plain words, with what to change) when it clearly cannot fit. The arithmetic is training/memory_plan.py's.
"""
from __future__ import annotations

from pathlib import Path

from gemma_kit.core.console import UserError, say, warn
from gemma_kit.core.language import tr, tr_marked
from gemma_kit.core.model_files import read_config


def check_memory(settings, base_dir: Path, machine, ignore: bool = False, refuse: bool = True):
    """Print the GPU memory estimate with this run's choices; refuse early if it clearly cannot fit (unless
    `refuse` is off: `--plan` only reports). Returns the RunMemory: the plan, and whether the per-layer table goes
    on the GPU (training/memory_plan.py)."""
    from gemma_kit.training.device import gpu_memory_of
    from gemma_kit.training.memory_plan import REFUSED, describe_run_memory, plan_run_memory
    from gemma_kit.training.model_loading import load_text_config

    config = load_text_config(read_config(base_dir)).to_dict()   # with transformers' defaults for absent keys
    run = plan_run_memory(config, settings, gpu_memory_of(machine))
    say(describe_run_memory(run, settings, base_dir.name))
    if run.verdict in REFUSED:
        problem = memory_problem(run, settings)
        if not refuse:
            warn(f"{problem.message} {problem.hint}")
        elif not ignore:
            raise problem
        else:
            warn(tr("{problem} Starting anyway (--ignore-memory-check).", problem=problem.message))
    return run


def memory_problem(run, settings) -> UserError:
    from gemma_kit.training.memory_plan import CLOSE_GPU_PROGRAMS, GIB, lighter_setups

    need, free, total, name = run.plan.to_allocate / GIB, run.gpu.free / GIB, run.gpu.total / GIB, run.gpu.name
    anyway = tr(" To try anyway: finetune_gemma.bat --ignore-memory-check.")
    if run.verdict == "busy":
        return UserError(tr("Training needs about {need:.1f} GB of GPU memory, but only {free:.1f} GB of the "
                            "{total:.1f} GB on {name} are free: other programs are using the rest.",
                            need=need, free=free, total=total, name=name),
                         tr("{close} and run finetune_gemma.bat again.", close=tr_marked(CLOSE_GPU_PROGRAMS))
                         + anyway)
    return UserError(tr("Training needs about {need:.1f} GB of GPU memory, more than {name} has "
                        "({total:.1f} GB, {free:.1f} GB free).", need=need, name=name, total=total, free=free),
                     tr("Use a lighter setup in settings.toml or on the command line: {setups}.",
                        setups=lighter_setups(settings)) + anyway)
