"""Moving sentences in and out of the memory: the editor's bilingual Markdown.

Translators' CAT tools speak TMX (memories) and XLIFF (documents in translation): see
:mod:`tarjama.tmx`, :mod:`tarjama.xliff` and :mod:`tarjama.interchange`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

from tarjama.documents import read_text_file
from tarjama.errors import InputError
from tarjama.memory import TranslationMemory, normalise_source

_SEGMENT_ID = re.compile(r"p\d+\.s\d+")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_ROW_PIPES = 5  # | id | Arabic | English | notes |


@dataclass(frozen=True)
class EditedSentence:
    """A row of the bilingual Markdown as the editor left it."""

    segment_id: str
    source: str
    target: str
    line: int


@dataclass(frozen=True)
class BilingualFile:
    """An edited bilingual file: the run that wrote it (``None`` for files older than run ids) and its rows."""

    run_id: str | None
    rows: list[EditedSentence]


def read_bilingual(path: Path | str) -> list[EditedSentence]:
    """The sentence rows of a ``NAME.bilingual.md`` (Arabic and English cells as plain text)."""
    return read_bilingual_file(path).rows


def read_bilingual_file(path: Path | str) -> BilingualFile:
    """A ``NAME.bilingual.md``: its front matter's ``run_id`` and its sentence rows."""
    text = read_text_file(path, "bilingual file")
    lines = text.split("\n")
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(text)
    rows: list[EditedSentence] = []
    cells: list[str] = []
    line = 0
    for token in tokens:
        if token.type == "tr_open":
            cells, line = [], (token.map[0] + 1 if token.map else 0)
        elif token.type == "inline":
            cells.append(_plain(token))
        elif token.type == "tr_close" and cells and _SEGMENT_ID.fullmatch(cells[0].strip()):
            # markdown-it pads or drops cells silently: a stray | would cut the English short.
            if line and len(_UNESCAPED_PIPE.findall(lines[line - 1])) != _ROW_PIPES:
                raise InputError("this sentence row does not have its 4 cells: write a | inside the English "
                                 "as \\|", path=path, line=line)
            rows.append(EditedSentence(cells[0].strip(), cells[1].strip(), cells[2].strip(), line))
    if not rows:
        raise InputError("no sentence rows: not a tarjama bilingual file", path=path)
    return BilingualFile(_front_matter_run_id(lines), rows)


def _front_matter_run_id(lines: list[str]) -> str | None:
    if not lines or lines[0].lstrip("\ufeff").strip() != "---":  # an editor may save with a byte order mark
        return None
    for line in lines[1:]:
        if line.strip() == "---":
            return None
        if line.startswith("run_id:"):
            try:
                value = json.loads(line.removeprefix("run_id:").strip())
            except ValueError:
                return None
            return value if isinstance(value, str) else None
    return None


# tarjama's own markup in the cells; anything else is the editor's text.
_OWN_TAGS = re.compile(r'<span dir="rtl" lang="ar">|</span>|<mark(?: class="missed")? title="[^"]*">|</mark>')


def _plain(token: object) -> str:
    """A cell's text as written: tarjama's <mark> and <span> tags dropped, any other markup kept
    literally (an approved English is plain text; an editor's ``<name>`` or ``*title*`` is part of it)."""
    parts: list[str] = []
    links: list[object] = []
    for child in getattr(token, "children", None) or []:
        kind, markup = child.type, child.markup
        if kind == "text":
            parts.append(child.content)
        elif kind == "code_inline":
            parts.append(markup + child.content + markup)
        elif kind in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif kind == "html_inline":
            parts.append(_OWN_TAGS.sub("", child.content))
        elif kind in ("em_open", "em_close", "strong_open", "strong_close"):
            parts.append(markup)
        elif kind == "link_open":
            links.append(child)
            parts.append("<" if markup == "autolink" else "[")
        elif kind == "link_close":
            opened = links.pop() if links else child
            parts.append(">" if markup == "autolink" else f"]({opened.attrGet('href') or ''})")
        elif kind == "image":
            parts.append(f"![{child.content}]({child.attrGet('src') or ''})")
    return "".join(parts)


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def corrections(path: Path | str, *, everything: bool = False,
                memory: TranslationMemory | None = None) -> list[tuple[str, str]]:
    """``(Arabic, English)`` pairs an editor approved in a bilingual file.

    A file from the run whose record is beside it (``NAME.run.json``; the front matter's ``run_id``
    says) is compared row by row with that record: what differs is an edit. A file from an earlier
    run, or one whose record is gone, is compared with what ``memory`` knows of each sentence (every
    machine or approved English it holds), so that only the editor's changes are approved; a row
    nothing is known of stops the import. ``everything`` takes every row. Two corrections of the same
    Arabic sentence with different English are refused.
    """
    path = Path(path)
    bilingual = read_bilingual_file(path)
    rows = [row for row in bilingual.rows if row.target]
    if everything:
        return _without_conflicts(rows, path)
    record = _record_beside(path, required=memory is None)
    machine = {s["id"]: s for s in record["segments"]} if record else {}
    same_run = record is not None and bilingual.run_id in (None, record.get("run_id"))
    edited = []
    for row in rows:
        base = machine.get(row.segment_id) if same_run else None
        known = {base["target"], row.source} if base else _known_to_memory(row, memory)
        if not known:
            why = (f"this file comes from an earlier run ({bilingual.run_id}) than {_record_name(path)} "
                   f"({record.get('run_id')})" if record
                   else f"there is no run record beside it ({_record_name(path)})")
            raise InputError(f"{why}, and nothing tells row {row.segment_id}'s machine English from an edit: check "
                             f"the file and approve it with `tarjama tm import {path} --all`, or edit the current "
                             "file", path=path, line=row.line)
        if not any(_same(row.target, english) for english in known):
            edited.append(row)
    return _without_conflicts(edited, path)


def _known_to_memory(row: EditedSentence, memory: TranslationMemory | None) -> set[str]:
    """Every English the memory holds for ``row``'s Arabic (empty when it knows nothing of it)."""
    if memory is None:
        return set()
    known = memory.machine_targets(row.source)
    approved = memory.approved(row.source)
    if approved is not None:
        known.add(approved.target)
    if known:
        known.add(row.source)  # a copied sentence (numbers, a name in Latin letters) is its own English
    return known


def _record_name(path: Path) -> str:
    return path.name.removesuffix(".bilingual.md") + ".run.json"


def _record_beside(path: Path, *, required: bool = True) -> dict | None:
    record_path = path.with_name(_record_name(path))
    if not record_path.is_file():
        if not required:
            return None
        raise InputError(f"no run record beside it ({record_path.name}) to tell corrections from machine "
                         "output: pass --all to approve every sentence", path=path)
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        segments = record["segments"]
        if not all(isinstance(s["id"], str) and isinstance(s["target"], str) for s in segments):
            raise TypeError
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InputError("not a run record", path=record_path) from None
    return record


def _without_conflicts(rows: list[EditedSentence], path: Path) -> list[tuple[str, str]]:
    """Each sentence's pair once; one Arabic sentence cannot be approved with two Englishes."""
    first: dict[str, EditedSentence] = {}
    for row in rows:
        earlier = first.setdefault(normalise_source(row.source), row)
        if earlier is not row and not _same(earlier.target, row.target):
            raise InputError(f"{row.segment_id} repeats the Arabic of {earlier.segment_id} (line {earlier.line}) with "
                             "a different English: approvals are per sentence, so make the two the same",
                             path=path, line=row.line)
    return [(row.source, row.target) for row in first.values()]


def harvest_corrections(out_dir: Path, stem: str, memory: TranslationMemory) -> int:
    """Approve what an editor changed in the article's bilingual file since tarjama wrote it.

    Runs before a new translation rewrites that file, so that no run overwrites an editor's work
    even if nobody ran ``tarjama tm import``.
    """
    from tarjama.publishing import article_lock, edited_bilingual

    if edited_bilingual(out_dir, stem) is None:
        return 0  # the common case, decided without creating lock files in a fresh outputs folder
    with article_lock(out_dir, stem):
        edited = edited_bilingual(out_dir, stem)
        if edited is None:
            return 0
        return approve_bilingual(edited, memory)


def approve_bilingual(path: Path, memory: TranslationMemory, *, everything: bool = False,
                      mark_known: bool = True) -> int:
    """Approve a bilingual file's corrections into ``memory``; with ``mark_known``, remember the file as dealt with.

    Mark it only when ``memory`` is the one its outputs folder's runs use: the next run there may
    then rewrite it. The caller holds the article's lock when marking.
    """
    from tarjama import publishing

    content = path.read_bytes()
    count = memory.approve(corrections(path, everything=everything, memory=memory), origin=str(path))
    if mark_known:
        publishing.mark_known(path.parent, path.name.removesuffix(".bilingual.md"), content)
    return count
