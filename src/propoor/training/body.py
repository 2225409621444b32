"""Lesson bodies: a small, safe subset of Markdown, parsed once into blocks.

The same blocks are rendered to HTML (the lesson player) and to PDF (the handout),
so the two never disagree. No raw HTML is ever passed through: text is escaped on
output, and anything the subset does not know is shown as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape

# A run of inline text: (text, bold)
Run = tuple[str, bool]

IMAGE = re.compile(
    r"^!\[(?P<alt>[^\]]*)\]\((?P<src>[A-Za-z0-9][A-Za-z0-9._-]*\.(?:svg|png|jpg|jpeg|webp))\)$"
)
BULLET = re.compile(r"^[-*]\s+(?P<text>.+)$")
NUMBERED = re.compile(r"^\d{1,3}[.)]\s+(?P<text>.+)$")
HEADING = re.compile(r"^#{2,4}\s+(?P<text>.+)$")


@dataclass(frozen=True)
class Block:
    """kind: "p", "h", "ul", "ol" or "img". Lists hold one run list per item."""

    kind: str
    runs: tuple[Run, ...] = ()
    items: tuple[tuple[Run, ...], ...] = ()
    src: str = ""
    alt: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)


def inline(text: str) -> tuple[Run, ...]:
    """Split `**bold**` spans; an unmatched `**` stays as text."""
    parts = text.split("**")
    if len(parts) % 2 == 0:  # odd number of markers: not bold, keep literally
        return ((text, False),)
    return tuple((part, i % 2 == 1) for i, part in enumerate(parts) if part)


def parse(body: str) -> list[Block]:
    blocks: list[Block] = []
    paragraph: list[str] = []
    items: list[tuple[Run, ...]] = []
    list_kind = ""

    def flush() -> None:
        nonlocal list_kind
        if paragraph:
            blocks.append(
                Block(
                    "p",
                    runs=inline(
                        " ".join(paragraph)
                        if _is_latin(paragraph)
                        else "".join(paragraph)
                    ),
                )
            )
            paragraph.clear()
        if items:
            blocks.append(Block(list_kind, items=tuple(items)))
            items.clear()
            list_kind = ""

    for raw in body.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if not line:
            flush()
            continue
        if m := IMAGE.match(line):
            flush()
            blocks.append(Block("img", src=m["src"], alt=m["alt"]))
        elif m := HEADING.match(line):
            flush()
            blocks.append(Block("h", runs=inline(m["text"])))
        elif (m := BULLET.match(line)) or (m := NUMBERED.match(line)):
            kind = "ul" if BULLET.match(line) else "ol"
            if paragraph or (items and kind != list_kind):
                flush()
            list_kind = kind
            items.append(inline(m["text"]))
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return blocks


def _is_latin(lines: list[str]) -> bool:
    """Joining wrapped lines: a space between Latin words, nothing between CJK ones."""
    return any(line[-1:].isascii() for line in lines[:-1])


def plain(blocks: list[Block]) -> str:
    """The text of the blocks without markup (search, PDF alt text, reading time)."""
    out: list[str] = []
    for block in blocks:
        if block.runs:
            out.append("".join(text for text, _ in block.runs))
        for item in block.items:
            out.append("".join(text for text, _ in item))
    return "\n".join(out)


def _runs_html(runs: tuple[Run, ...]) -> str:
    return "".join(
        f"<strong>{escape(t)}</strong>" if bold else escape(t) for t, bold in runs
    )


def to_html(blocks: list[Block], image_url: str) -> str:
    """HTML for the lesson player. `image_url` is a prefix ending in "/"."""
    html: list[str] = []
    for block in blocks:
        if block.kind == "p":
            html.append(f"<p>{_runs_html(block.runs)}</p>")
        elif block.kind == "h":
            html.append(f"<h3>{_runs_html(block.runs)}</h3>")
        elif block.kind in ("ul", "ol"):
            inner = "".join(f"<li>{_runs_html(item)}</li>" for item in block.items)
            html.append(f"<{block.kind}>{inner}</{block.kind}>")
        elif block.kind == "img":
            html.append(
                f'<figure><img src="{escape(image_url + block.src)}"'
                f' alt="{escape(block.alt)}"'
                f' loading="lazy"><figcaption>{escape(block.alt)}</figcaption></figure>'
            )
    return "\n".join(html)


def images(blocks: list[Block]) -> list[str]:
    return [block.src for block in blocks if block.kind == "img"]
