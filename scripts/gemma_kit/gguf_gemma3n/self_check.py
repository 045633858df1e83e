"""Does the written .gguf work? Always: read it in pure Python (static_check: every planned tensor there,
finite values). Then, where llama-cpp-python is installed (the test setup; on Windows it needs a compiler, so
most users lack it), load it in llama.cpp, render a chat with the file's own template, check the turn markers
and the stop token, and generate a short reply; elsewhere the pure-Python check covers the tokenizer and the
chat template too, without running the model (LM Studio will).

What this catches is what makes a GGUF useless in LM Studio although the conversion "succeeded": a file
llama.cpp refuses (missing tensors), NaN weights, no chat template, `<start_of_turn>` read as plain text, or
`<end_of_turn>` not ending generation (replies that run on forever).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..core.language import tr
from .conversion_plan import OutputTensor
from .gemma3n_table import TURN_MARKERS
from .static_check import SAMPLE_CHAT, check_file, read_as_plain_text


@dataclass
class SelfCheckResult:
    problems: list[str] = field(default_factory=list)
    ran_in_llama_cpp: bool = False
    tensors_checked: int = 0
    reply: str = ""
    stopped_at_end_of_turn: bool = False
    reply_tokens: int = 0

    @property
    def works(self) -> bool:
        return not self.problems


def check_gguf(path: Path, expected: list[OutputTensor] | None = None, max_tokens: int = 32) -> SelfCheckResult:
    """`expected`: the conversion plan's tensors (None for a file from elsewhere: its own table is trusted)."""
    try:
        from llama_cpp import Llama
        has_llama_cpp = True
    except ImportError:
        has_llama_cpp = False
    problems = check_file(path, expected, tensors_only=has_llama_cpp)
    checked = len(expected) if expected is not None else 0
    if problems or not has_llama_cpp:   # a file with missing tensors or NaN weights is not worth loading
        return SelfCheckResult(problems=problems, tensors_checked=checked)
    try:
        with llama_cpp_quiet():
            llm = Llama(model_path=str(path), n_ctx=512, seed=0, verbose=False)
    except (ValueError, RuntimeError) as e:  # llama-cpp-python's "Failed to load model from file"
        return SelfCheckResult(ran_in_llama_cpp=True,
                               problems=[tr("llama.cpp could not load the file ({error}); run with --debug and "
                                            "see dev_log.txt for the known causes", error=e)])
    try:
        with llama_cpp_quiet():
            result = _check_loaded(llm, max_tokens)
    finally:
        llm.close()
    result.tensors_checked = checked
    return result


def llama_cpp_quiet():
    """llama.cpp prints notes for developers straight to the process's stderr even with verbose=False (e.g.
    "llama_kv_cache_iswa: using full-size SWA cache (ref: ...)" for Gemma 3n); a user would take them for errors.
    Problems are returned as results, never printed, so nothing is lost."""
    try:
        from llama_cpp._utils import suppress_stdout_stderr
    except ImportError:   # a llama-cpp-python without it: the notes show, nothing else changes
        import contextlib
        return contextlib.nullcontext()
    return suppress_stdout_stderr(disable=False)


def _check_loaded(llm, max_tokens: int) -> SelfCheckResult:
    import llama_cpp
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    result = SelfCheckResult(ran_in_llama_cpp=True)
    marker_ids = {m: llm.tokenize(m.encode(), add_bos=False, special=True) for m in TURN_MARKERS}
    plain = [m for m, ids in marker_ids.items() if len(ids) != 1]
    if plain:
        result.problems.append(read_as_plain_text(plain))
    end_of_turn = marker_ids["<end_of_turn>"]
    # llama_cpp exposes no public "is end of generation" for a token; its own completion loop uses this call.
    if len(end_of_turn) == 1 and not llama_cpp.llama_vocab_is_eog(llm._model.vocab, end_of_turn[0]):
        result.problems.append(tr("<end_of_turn> does not end generation, so replies would run on past the "
                                  "model's turn"))
    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        result.problems.append(tr("the file has no chat template, so LM Studio would not know Gemma's turn format"))
        return result
    prompt = Jinja2ChatFormatter(template, eos_token="<eos>", bos_token="<bos>")(messages=SAMPLE_CHAT).prompt
    if "<start_of_turn>user" not in prompt or not prompt.endswith("<start_of_turn>model\n"):
        result.problems.append(tr("the chat template in the file does not render Gemma's turns"))
        return result
    tokens = llm.tokenize(prompt.encode(), add_bos=False, special=True)
    completion = llm.create_completion(tokens, max_tokens=max_tokens, temperature=0.0, seed=0)
    choice = completion["choices"][0]
    result.reply = choice["text"]
    result.reply_tokens = completion["usage"]["completion_tokens"]
    result.stopped_at_end_of_turn = choice["finish_reason"] == "stop"
    return result


def describe(result: SelfCheckResult, max_tokens: int = 32) -> list[str]:
    """Lines for the terminal: the verdict first."""
    if result.problems:
        return [tr("Self-check of the .gguf FAILED:")] + [f"  - {p}" for p in result.problems]
    tensors = tr("all {count} tensors with their planned shapes and types, ", count=result.tensors_checked) \
        if result.tensors_checked else ""
    if not result.ran_in_llama_cpp:
        return [tr("Self-check: the file is complete ({tensors}finite values in a sample of every tensor, a chat "
                   "template that renders Gemma's turns, the right <bos>/<eos> and turn-marker tokens).",
                   tensors=tensors),
                tr("  Checked without running it (llama.cpp is not installed here); LM Studio will run it.")]
    reply = " ".join(result.reply.split())[:160]
    lines = [tr("Self-check: the file works (llama.cpp loads it, the chat template renders, the turn markers are "
                "special tokens, <end_of_turn> ends a reply)."), tr("  Sample reply: {reply!r}", reply=reply)]
    if result.stopped_at_end_of_turn:
        lines.append(tr("  The reply ended by itself after {count} tokens.", count=result.reply_tokens))
    else:
        lines.append(tr("  The reply did not end within {count} tokens (expected for the tiny random demo "
                        "model; a trained Gemma ends its turns).", count=max_tokens))
    return lines
