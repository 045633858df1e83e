"""From chat examples to training batches: chat-template rendering, assistant-only labels, length grouping.

Each example is rendered with the tokenizer's own chat template, so training sees exactly the text LM Studio
will send. The loss covers only what the model should learn to say, each reply once: the example's LAST
assistant reply and the end-of-turn marker that closes it, plus any earlier reply that no other example of the
file ends with. prepare-dataset writes one example per reply (a window of history ending at it), so there every
earlier turn is context: labelling every reply of every window trained each reply up to window_size / 2 times
(2.3x on average, issue 16). A file of whole dialogs (one line per conversation, written by hand or another tool)
still has every reply learned. System and user turns, the template's prompt-side tokens ("<bos>",
"<start_of_turn>user\\n", "<start_of_turn>model\\n") and padding get the label -100, which the loss ignores.

Where a reply starts and ends is found in characters, by rendering the conversation up to each reply (with the
generation prompt) and up to its end; the tokenizer's offsets then say which tokens fall inside. That holds
for any template that renders a conversation as a prefix of its continuation, which is checked.

Batches: the Trainer's length-grouped sampler puts examples of similar length together; the collator pads
each batch to its longest example and counts the padding, so the run can report how much was wasted.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from gemma_kit.core.console import UserError, progress
from gemma_kit.core.language import tr

IGNORE_INDEX = -100
ROLES = ("system", "user", "assistant")
EVAL_MARK = "for_eval"   # set on evaluation examples so that the padding count covers training batches only


@dataclass(frozen=True)
class TrainingDialog:
    line: int                 # line number in the JSONL file (1-based), for messages to the user
    messages: tuple           # ({"role": ..., "content": ...}, ...), ending with an assistant turn


@dataclass
class PreparedData:
    examples: list[dict] = field(default_factory=list)   # {"input_ids": [...], "labels": [...]}
    truncated: int = 0                                     # examples that lost their oldest turns to fit
    dropped_lines: list[int] = field(default_factory=list)  # too long even with only the last exchange
    trained_tokens: int = 0                                # tokens the loss covers

    @property
    def total_tokens(self) -> int:
        return sum(len(e["input_ids"]) for e in self.examples)


def problem_with_record(record) -> str | None:
    """What is wrong with one JSONL record, in plain words; None if it is a usable example."""
    if not isinstance(record, dict) or not isinstance(record.get("messages"), list):
        return tr('it has no "messages" list')
    messages = record["messages"]
    if not messages:
        return tr('"messages" is empty')
    for i, message in enumerate(messages, start=1):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            return tr('message {number} has no role "system", "user" or "assistant"', number=i)
        if not isinstance(message.get("content"), str):
            return tr('message {number} has no text "content"', number=i)
    if messages[-1]["role"] != "assistant":
        return tr("the last message is not an assistant reply, so there is nothing to learn from it")
    return None


def read_conversations(path: Path) -> list[TrainingDialog]:
    if not path.is_file():
        raise UserError(tr("{path} does not exist.", path=path),
                        tr("Run prepare_dataset.bat first: it turns your chat exports into this file."))
    conversations = []
    with open(path, encoding="utf-8") as f:
        for line_no, text in enumerate(f, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as e:
                raise UserError(tr("{path}, line {line}: not valid JSON ({why}, column {column}).", path=path,
                                   line=line_no, why=e.msg, column=e.colno),
                                tr("Run prepare_dataset.bat again, or fix or delete that line.")) from e
            problem = problem_with_record(record)
            if problem:
                raise UserError(tr("{path}, line {line}: {problem}.", path=path, line=line_no, problem=problem),
                                tr('Each line must be {{"messages": [{{"role": "user", "content": "..."}}, '
                                   '{{"role": "assistant", "content": "..."}}]}}. Run prepare_dataset.bat again, or '
                                   "fix or delete that line."))
            conversations.append(TrainingDialog(line_no, tuple(record["messages"])))
    if not conversations:
        raise UserError(tr("{path} has no examples.", path=path),
                        tr("Put chat exports into dataset/ and run prepare_dataset.bat again."))
    return conversations


def render(tokenizer, messages, add_generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=add_generation_prompt)


def render_with_reply_spans(tokenizer, messages, replies: list[int]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character span [start, end) of each assistant reply at the given indices.

    A span covers the reply and its end-of-turn marker, not the newline the template puts after the marker
    (the model stops at the marker, it never generates that newline)."""
    text = render(tokenizer, messages)
    spans = []
    for i in replies:
        prompt = render(tokenizer, messages[:i], add_generation_prompt=True)
        with_reply = text if i == len(messages) - 1 else render(tokenizer, messages[:i + 1])
        if not (with_reply.startswith(prompt) and text.startswith(with_reply)):
            raise RuntimeError("the chat template does not render a conversation as a prefix of its continuation; "
                               "the assistant-only loss mask cannot be computed for it")
        spans.append((len(prompt), len(with_reply.rstrip())))
    return text, spans


def exchange_key(user: dict, reply: dict) -> tuple[str, str]:
    return user["content"], reply["content"]


def replies_to_learn(messages, learned_elsewhere: frozenset = frozenset()) -> list[int]:
    """Indices of the replies this example puts in the loss: the last one, and every earlier one whose exchange
    (the message and its reply) is not the last exchange of another example in the same file."""
    last = len(messages) - 1
    earlier = [i for i in range(1, last) if messages[i]["role"] == "assistant" and messages[i - 1]["role"] == "user"
               and exchange_key(messages[i - 1], messages[i]) not in learned_elsewhere]
    return earlier + [last]


def tokenize_with_labels(tokenizer, messages, learned_elsewhere: frozenset = frozenset()) -> dict[str, list[int]]:
    """input_ids of the rendered conversation and labels: the id on the tokens of the replies to learn (the last
    one, and those no other example ends with), -100 elsewhere."""
    text, spans = render_with_reply_spans(tokenizer, messages, replies_to_learn(messages, learned_elsewhere))
    # The template writes "<bos>" itself, so the tokenizer must not add a second one.
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(encoded["input_ids"])
    labels = [token if any(start <= a and b <= end for start, end in spans) else IGNORE_INDEX
              for token, (a, b) in zip(ids, encoded["offset_mapping"])]
    return {"input_ids": ids, "labels": labels}


def fit_to_length(tokenizer, messages, max_tokens: int,
                  learned_elsewhere: frozenset = frozenset()) -> tuple[dict | None, int]:
    """The example, with its oldest exchanges dropped until it fits; (None, n) if even the last one does not.

    Returns how many user+assistant exchanges were dropped. A system message stays: it sets the persona."""
    return keep_newest_exchanges(messages, lambda kept: tokenize_with_labels(tokenizer, kept, learned_elsewhere),
                                 lambda example: len(example["input_ids"]), max_tokens, last_size=2)


def keep_newest_exchanges(messages, encode, size, max_tokens: int, last_size: int):
    """`encode(messages)` of the messages with their oldest (user, assistant) exchanges dropped, whole, until
    `size` of it is at most `max_tokens`: (encoded, exchanges dropped), or (None, dropped) once only the last
    `last_size` messages are left and still too long. A system message stays first."""
    head = list(messages[:1]) if messages[0]["role"] == "system" else []
    body = list(messages[len(head):])
    dropped = 0
    while True:
        encoded = encode(head + body)
        if size(encoded) <= max_tokens:
            return encoded, dropped
        if len(body) <= last_size:
            return None, dropped
        body = body[2:]   # one exchange: what is left still starts with the user's message
        dropped += 1


def last_exchanges(conversations: list[TrainingDialog]) -> frozenset:
    """The (message, reply) each example ends with: a reply found here is learned by that example, so any other
    example that holds it as history leaves it out of its loss."""
    return frozenset(exchange_key(c.messages[-2], c.messages[-1]) for c in conversations
                     if len(c.messages) >= 2 and c.messages[-2]["role"] == "user")


def prepare_examples(tokenizer, conversations: list[TrainingDialog], max_tokens: int, path: Path,
                     for_eval: bool = False) -> PreparedData:
    import jinja2

    data = PreparedData()
    desc = tr("Preparing eval examples") if for_eval else tr("Preparing train examples")
    learned_elsewhere = last_exchanges(conversations)
    for conversation in progress(conversations, total=len(conversations), desc=desc, unit=tr("ex")):
        try:
            example, dropped = fit_to_length(tokenizer, conversation.messages, max_tokens, learned_elsewhere)
        except jinja2.TemplateError as e:
            raise UserError(tr("{path}, line {line}: the chat template refuses this conversation ({why}).",
                               path=path, line=conversation.line, why=e),
                            tr("Turns must alternate user / assistant (a system message may come first). Run "
                               "prepare_dataset.bat again, or fix or delete that line.")) from e
        if example is None:
            data.dropped_lines.append(conversation.line)
            continue
        data.truncated += dropped > 0
        data.trained_tokens += sum(1 for t in example["labels"] if t != IGNORE_INDEX)
        if for_eval:
            example[EVAL_MARK] = True
        data.examples.append(example)
    return data


def spread_subset(data: PreparedData, limit: int) -> PreparedData:
    """At most `limit` examples, evenly spread over the file (dialogs are in file order, so every part of the
    data keeps a voice). The counts are those of the subset; truncated/dropped stay those of the whole file."""
    if len(data.examples) <= limit:
        return data
    picked = [data.examples[i * len(data.examples) // limit] for i in range(limit)]
    return PreparedData(picked, data.truncated, data.dropped_lines,
                        sum(1 for e in picked for t in e["labels"] if t != IGNORE_INDEX))


def sample_prompt_ids(tokenizer, conversations: list[TrainingDialog], count: int, max_tokens: int) -> list[list[int]]:
    """Token ids of the first `count` eval conversations up to their last reply, ready for the model to answer
    (fixed prompts, so replies can be compared from one evaluation to the next). A long one loses its oldest
    exchanges, whole: the prompt keeps "<bos>", the system turn and every turn marker, as LM Studio would send it.
    A conversation whose last message alone is too long is left out."""
    prompts = []
    for conversation in conversations:
        if len(prompts) == count:
            break
        ids = fit_prompt(tokenizer, list(conversation.messages[:-1]), max_tokens)
        if ids is not None:
            prompts.append(ids)
    return prompts


def fit_prompt(tokenizer, messages: list[dict], max_tokens: int) -> list[int] | None:
    """The prompt (messages ending with the user's, plus the generation prompt) as token ids, its oldest exchanges
    dropped whole until it fits; None if the last message alone is too long."""
    def encode(kept):
        return list(tokenizer(render(tokenizer, kept, add_generation_prompt=True), add_special_tokens=False)
                    ["input_ids"])

    return keep_newest_exchanges(messages, encode, len, max_tokens, last_size=1)[0]


class PaddingCollator:
    """Pads a batch on the right to its longest example; counts real and padding tokens of training batches."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id
        self.real_tokens = 0
        self.padding_tokens = 0

    def __call__(self, features: list[dict]) -> dict:
        import torch

        longest = max(len(f["input_ids"]) for f in features)
        input_ids, labels, mask = [], [], []
        for f in features:
            pad = longest - len(f["input_ids"])
            input_ids.append(list(f["input_ids"]) + [self.pad_token_id] * pad)
            labels.append(list(f["labels"]) + [IGNORE_INDEX] * pad)
            mask.append([1] * len(f["input_ids"]) + [0] * pad)
        if not any(f.get(EVAL_MARK) for f in features):
            real = sum(len(f["input_ids"]) for f in features)
            self.real_tokens += real
            self.padding_tokens += longest * len(features) - real
        return {"input_ids": torch.tensor(input_ids), "labels": torch.tensor(labels),
                "attention_mask": torch.tensor(mask)}

    @property
    def padding_fraction(self) -> float:
        total = self.real_tokens + self.padding_tokens
        return self.padding_tokens / total if total else 0.0
