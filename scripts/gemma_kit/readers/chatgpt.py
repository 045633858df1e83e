"""ChatGPT data export (`conversations.json`): a list of conversations, each a `mapping` tree of nodes.

Editing a message or regenerating a reply adds a branch to the tree; the conversation the user last saw
is the branch that ends at `current_node`, so we walk parent links from there to the root and reverse.
Nodes on other branches, system and tool nodes, hidden nodes and non-text content are counted, not used.
"""
from __future__ import annotations

from typing import Any

from ..core.language import N_
from .common import SKIP_NON_TEXT_PART, SKIP_ODD_ITEM, SkipCounter
from .conversation import Conversation, ConversationBuilder

SKIP_OTHER_BRANCH = N_("ChatGPT message on an abandoned branch (edited or regenerated)")
SKIP_SYSTEM = N_("ChatGPT system message (hidden in the app)")
SKIP_TOOL = N_("ChatGPT tool message (browsing, code, images...)")
SKIP_TOOL_CALL = N_("ChatGPT assistant message addressed to a tool")
SKIP_HIDDEN = N_("ChatGPT hidden message")
SKIP_NOT_TEXT = N_("ChatGPT message that is not chat text (code, reasoning, browsing...)")
TEXT_CONTENT_TYPES = ("text", "multimodal_text")


def conversation_from_chatgpt(record: dict, where: str, counter: SkipCounter) -> Conversation | None:
    mapping = record.get("mapping") if isinstance(record.get("mapping"), dict) else {}
    where = f"{where} {str(record.get('title') or '')!r}"
    branch = [m for m in messages_on_branch(mapping, record.get("current_node")) if m]
    n_messages = sum(1 for node in mapping.values() if isinstance(node, dict) and node.get("message"))
    counter.read(n_messages)
    if n_messages > len(branch):
        counter.skip(SKIP_OTHER_BRANCH, count=n_messages - len(branch), where=where)
    builder = ConversationBuilder(where, counter)
    for message in branch:
        add_chatgpt_message(builder, message, where, counter)
    return builder.build()


def messages_on_branch(mapping: dict, current_node: Any) -> list[Any]:
    """The messages from the root to `current_node` (or, if it is missing, to the last leaf)."""
    node_id = current_node if isinstance(current_node, str) and current_node in mapping else last_leaf(mapping)
    path, seen = [], set()
    # `seen` guards against a damaged file with a cycle; ids must be strings (a damaged one may be a list)
    while isinstance(node_id, str) and node_id in mapping and node_id not in seen:
        seen.add(node_id)
        node = mapping[node_id]
        if not isinstance(node, dict):
            break
        path.append(node.get("message"))
        node_id = node.get("parent")
    path.reverse()
    return path


def last_leaf(mapping: dict) -> Any:
    leaves = [key for key, node in mapping.items() if isinstance(node, dict) and not node.get("children")]
    return leaves[-1] if leaves else None


def add_chatgpt_message(builder: ConversationBuilder, message: Any, where: str, counter: SkipCounter) -> None:
    author = message.get("author") if isinstance(message, dict) else None
    content = message.get("content") or {} if isinstance(message, dict) else None
    if not isinstance(author, dict) or not isinstance(content, dict):
        # Seen in hand-edited files: `content` as a plain string, `author` missing. The app never writes this.
        node = f"message {message.get('id')!r}" if isinstance(message, dict) else "a message"
        counter.skip(SKIP_ODD_ITEM, where=f"{where}: {node} whose author or content is not an object")
        return
    role = author.get("role")
    reason = skip_reason_of(message, role, content)
    if reason:
        counter.skip(reason, where=f"{where} ({role}, {content.get('content_type')})")
        return
    texts = []
    parts = content.get("parts") or []
    for part in parts if isinstance(parts, list) else [parts]:
        if isinstance(part, str):
            texts.append(part)
        else:  # image_asset_pointer, audio transcription objects...
            counter.skip(SKIP_NON_TEXT_PART, unit="parts", where=where)
    builder.add(role, "\n".join(texts))


def skip_reason_of(message: dict, role: Any, content: dict) -> str | None:
    if role == "system":
        return SKIP_SYSTEM
    if role not in ("user", "assistant"):
        return SKIP_TOOL
    metadata = message.get("metadata")
    if isinstance(metadata, dict) and metadata.get("is_visually_hidden_from_conversation"):
        return SKIP_HIDDEN
    if role == "assistant" and message.get("recipient", "all") != "all":
        return SKIP_TOOL_CALL
    if content.get("content_type", "text") not in TEXT_CONTENT_TYPES:
        return SKIP_NOT_TEXT
    return None
