"""Claude.ai data export (`conversations.json`): a list of conversations with `chat_messages`.

Retrying a reply or editing a message adds a branch: each message names its parent (`parent_message_uuid`),
and the conversation the user last saw is the branch that ends at the latest message, so we walk parent links
from there, as for ChatGPT's `current_node`. Messages on other branches are counted, not used. Exports without
these links are read in list order.

Each message has `sender` ("human" / "assistant") and its words in `content` blocks; blocks of type "text"
are the chat. "thinking", "tool_use" and "tool_result" blocks are not replies and are counted, not used.
The top-level `text` may be empty or hold the thinking too, so it is read only when there are no blocks.
"""
from __future__ import annotations

from ..core.language import N_
from .common import SKIP_UNKNOWN_RECORD, SkipCounter
from .conversation import Conversation, ConversationBuilder

CLAUDE_ROLES = {"human": "user", "user": "user", "assistant": "assistant"}
SKIP_UNKNOWN_SENDER = N_("Claude message from an unknown sender")
SKIP_THINKING = N_("Claude thinking block (not part of the reply)")
SKIP_TOOL_BLOCK = N_("Claude tool use or tool result block")
SKIP_OTHER_BLOCK = N_("Claude content block that is not text (image, document...)")
SKIP_ATTACHMENT = N_("Claude attachment or file (only the chat text is used)")
SKIP_OTHER_BRANCH = N_("Claude message on an abandoned branch (retried or edited)")
BLOCK_SKIP_REASONS = {"thinking": SKIP_THINKING, "redacted_thinking": SKIP_THINKING,
                      "tool_use": SKIP_TOOL_BLOCK, "tool_result": SKIP_TOOL_BLOCK}


def conversation_from_claude(record: dict, where: str, counter: SkipCounter) -> Conversation | None:
    messages = record.get("chat_messages") or []
    where = f"{where} {str(record.get('name') or '')!r}"
    if not isinstance(messages, list):
        counter.read(1)
        counter.skip(SKIP_UNKNOWN_RECORD, unit="records", messages=1, where=f"{where}: 'chat_messages' is not a list")
        return None
    counter.read(len(messages))
    branch = messages_on_latest_branch(messages)
    if len(branch) < len(messages):
        counter.skip(SKIP_OTHER_BRANCH, count=len(messages) - len(branch), where=where)
    builder = ConversationBuilder(where, counter, joiner="\n\n")
    for message in branch:
        if not isinstance(message, dict):
            counter.skip(SKIP_UNKNOWN_SENDER, where=where)
            continue
        role = CLAUDE_ROLES.get(str(message.get("sender", "")).lower())
        if role is None:
            counter.skip(SKIP_UNKNOWN_SENDER, where=f"{where}: sender={message.get('sender')!r}")
            continue
        count_attachments(message, where, counter)
        builder.add(role, text_of_claude_message(message, where, counter))
    return builder.build()


def messages_on_latest_branch(messages: list) -> list:
    """The messages from the root to the latest one, following `parent_message_uuid`; the list as it is when
    no message links to another (older exports)."""
    by_uuid = {m["uuid"]: m for m in messages if isinstance(m, dict) and isinstance(m.get("uuid"), str)}
    linked = [m for m in by_uuid.values() if isinstance(m.get("parent_message_uuid"), str)]
    if not any(m["parent_message_uuid"] in by_uuid for m in linked):
        return messages
    # The latest by `created_at` (ISO 8601 text sorts in time order), the last in the list on a tie.
    order = {id(m): i for i, m in enumerate(messages)}
    latest = max(by_uuid.values(), key=lambda m: (str(m.get("created_at") or ""), order[id(m)]))
    path, seen = [], set()
    node = latest
    while node is not None and id(node) not in seen:  # `seen` guards against a damaged file with a cycle
        seen.add(id(node))
        path.append(node)
        parent = node.get("parent_message_uuid")
        node = by_uuid.get(parent) if isinstance(parent, str) else None
    path.reverse()
    return path


def text_of_claude_message(message: dict, where: str, counter: SkipCounter) -> str:
    blocks = message.get("content")
    if not isinstance(blocks, list) or not blocks:
        return message.get("text") if isinstance(message.get("text"), str) else ""
    texts = []
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        else:
            counter.skip(BLOCK_SKIP_REASONS.get(kind, SKIP_OTHER_BLOCK), unit="parts", where=where)
    return "\n\n".join(texts)


def count_attachments(message: dict, where: str, counter: SkipCounter) -> None:
    n_parts = sum(len(v) if isinstance(v, list) else 1 for v in (message.get("attachments"), message.get("files"))
                  if v)
    if n_parts:
        counter.skip(SKIP_ATTACHMENT, unit="parts", count=n_parts, where=where)
