"""Merge probe blocks that attach to the same points into one block, so that a combined program
runs one BPF program per tracepoint hit instead of one per file.

Each attached program costs a dispatch and its own map lookups on every event; sched_switch,
which fires hundreds of thousands of times a second under load, is used by three of the files.
A block's predicate becomes an `if` around its body inside the merged block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMMENTS = re.compile(r'/\*.*?\*/|//[^\n]*|("(?:\\.|[^"\\])*")', re.DOTALL)
_HEADER = re.compile(r"^(?P<attach>[^/]*?)\s*(?:/(?P<predicate>.*)/)?\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Block:
    attach: tuple[str, ...]
    predicate: str | None
    body: str


def strip_comments(text: str) -> str:
    return _COMMENTS.sub(lambda m: m[1] or "", text)


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` matching the `{` at `start`, skipping string literals."""
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError("unbalanced braces in a probe program")


def parse_blocks(text: str) -> list[Block]:
    text = strip_comments(text)
    blocks, pos = [], 0
    while (open_at := text.find("{", pos)) != -1:
        close_at = _closing_brace(text, open_at)
        m = _HEADER.match(text[pos:open_at].strip())
        if not m or not m["attach"]:
            raise ValueError(f"cannot read the probe header {text[pos:open_at].strip()!r}")
        attach = tuple(a.strip() for a in m["attach"].split(",") if a.strip())
        predicate = m["predicate"].strip() if m["predicate"] else None
        blocks.append(Block(attach, predicate, text[open_at + 1 : close_at].strip("\n")))
        pos = close_at + 1
    if text[pos:].strip():
        raise ValueError(f"text after the last probe: {text[pos:].strip()[:40]!r}")
    return blocks


def _render(attach: tuple[str, ...], predicate: str | None, body: str) -> str:
    header = ",\n".join(attach) + (f"\n/{predicate}/" if predicate else "")
    return f"{header}\n{{\n{body}\n}}\n"


def merge(blocks: list[Block]) -> str:
    """One block per distinct attach-point set, in the order they first appear."""
    groups: dict[tuple[str, ...], list[Block]] = {}
    for block in blocks:
        groups.setdefault(block.attach, []).append(block)
    out = []
    for attach, members in groups.items():
        if len(members) == 1:
            out.append(_render(attach, members[0].predicate, members[0].body))
            continue
        parts = [
            f"\tif ({b.predicate}) {{\n{b.body}\n\t}}" if b.predicate else b.body for b in members
        ]
        out.append(_render(attach, None, "\n".join(parts)))
    return "\n".join(out)
