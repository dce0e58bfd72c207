"""Escaping untrusted text (articles, glossary, editors' English) for Markdown and the HTML inside it.

The publisher and the report both write text that came from outside; neither may let it become markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

# Embeddings, overrides and isolates reorder neighbouring text; C0/C1 controls have no place in Markdown.
UNSAFE_CHARS = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b-\x1f\x7f-\x9f]")


_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]|#~])")


_LINE_START_MARKER = re.compile(r"^([-+=])|^(\d+)([.)])")


_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def inline(text: str) -> str:
    """Escape untrusted text for use inside a Markdown line or table cell."""
    text = UNSAFE_CHARS.sub("", text).replace("\n", " ")
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    return "".join(_HTML.get(ch, ch) for ch in text)


def block(text: str) -> str:
    """Escape untrusted text that starts a Markdown line (a paragraph or heading text)."""
    return _LINE_START_MARKER.sub(lambda m: "\\" + m.group(0) if m.group(1) else m.group(2) + "\\" + m.group(3),
                                  inline(text).strip())


def arabic(text: str) -> str:
    """Arabic text as an inline right-to-left span."""
    return f'<span dir="rtl" lang="ar">{inline(text)}</span>'


def attribute(text: str) -> str:
    """Text for an HTML attribute value inside Markdown: quotes must not end it, and | would split a table cell."""
    text = UNSAFE_CHARS.sub("", text).replace("\n", " ")
    return html.escape(text, quote=True).replace("|", "&#124;")


def spans_of(text: str, spans: Sequence[tuple[int, int, T]]) -> list[tuple[str, T | None]]:
    """``text`` cut at the ``(start, end, label)`` spans, in order: ``(piece, label)``, ``None`` between spans.

    A span overlapping one before it is left out: a term inside a longer term stays unmarked.
    """
    pieces: list[tuple[str, T | None]] = []
    position = 0
    for start, end, label in sorted(spans, key=lambda span: (span[0], span[1])):
        if start < position:
            continue
        if start > position:
            pieces.append((text[position:start], None))
        pieces.append((text[start:end], label))
        position = end
    if position < len(text):
        pieces.append((text[position:], None))
    return pieces


def marked(text: str, spans: Sequence[tuple[int, int, str, bool]]) -> str:
    """``text`` escaped, with each ``(start, end, title, hit)`` span in a ``<mark>`` (missed: class "missed")."""
    pieces = []
    for piece, label in spans_of(text, [(start, end, (title, hit)) for start, end, title, hit in sorted(spans)]):
        if label is None:
            pieces.append(inline(piece))
            continue
        title, hit = label
        css = "" if hit else ' class="missed"'
        pieces.append(f'<mark{css} title="{attribute(title)}">{inline(piece)}</mark>')
    return "".join(pieces)
