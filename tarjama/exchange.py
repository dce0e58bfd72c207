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

from tarjama.documents import read_input_bytes, read_text_file
from tarjama.enforcement import term_in_words
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


@dataclass(frozen=True)
class Correction:
    """An editor's English for one published sentence.

    ``source`` is the Arabic as published: the run record's when the file is tied to its run, else the
    row's (which the memory knows). ``missing_terms`` are the sentence's glossary targets that the
    English lacks as words (the test ``--strict-terms`` applies before it sets an approval aside).
    """

    segment_id: str
    source: str
    target: str
    line: int
    missing_terms: tuple[str, ...] = ()

    def term_warning(self, path: Path | str) -> str | None:
        """The ``warning:`` line for an approval that lacks glossary terms (``None`` when it has them all)."""
        if not self.missing_terms:
            return None
        terms = ", ".join(json.dumps(t, ensure_ascii=False) for t in self.missing_terms)
        noun = "term" if len(self.missing_terms) == 1 else "terms"
        return (f"warning: {path}:{self.line}: the approved English of {self.segment_id} lacks the glossary "
                f"{noun} {terms}: --strict-terms runs set this approval aside and translate the sentence again")


@dataclass(frozen=True)
class BilingualImport:
    """What importing a bilingual file approved: each correction, and how many the memory stored."""

    corrections: tuple[Correction, ...]
    stored: int

    @property
    def segment_ids(self) -> list[str]:
        """The approved sentences' segment ids, in file order."""
        return [c.segment_id for c in self.corrections]

    def term_warnings(self, path: Path | str) -> list[str]:
        """A ``warning:`` line for each approval that lacks one of its sentence's glossary terms."""
        return [w for c in self.corrections if (w := c.term_warning(path))]


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


# tarjama's own markup in the cells (see publishing.arabic_with_terms); anything else is the editor's text.
# Tags are recognised by name and attributes, not spelling: an editor's tool may reorder or requote them.
_TAG = re.compile(r"<(/?)([A-Za-z]+)((?:\s[^>]*)?)/?>\Z")
_TAG_ATTRIBUTE = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""")


def _own_tag(html: str) -> bool:
    """Whether an inline HTML tag is one tarjama writes: ``<span dir="rtl" lang="ar">``, ``<mark …>`` or their ends."""
    tag = _TAG.match(html.strip())
    if tag is None:
        return False
    closing, name, rest = tag.group(1), tag.group(2).lower(), tag.group(3)
    if name not in ("span", "mark"):
        return False
    if closing:
        return not rest.strip()
    found = _TAG_ATTRIBUTE.findall(rest)
    if _TAG_ATTRIBUTE.sub("", rest).strip():
        return False  # something besides name="value" pairs
    attributes = {key.lower(): a or b or c for key, a, b, c in found}
    if name == "span":
        return {k: v.lower() for k, v in attributes.items()} == {"dir": "rtl", "lang": "ar"}
    return set(attributes) <= {"class", "title"} and attributes.get("class", "missed") == "missed"


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
            parts.append("" if _own_tag(child.content) else child.content)
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


def _shown(text: str) -> str:
    """Text as the bilingual Markdown shows it: what the memory's lookups normalise away (invisible and
    control characters, runs of spaces) is never an editor's change."""
    return normalise_source(text)


def _excerpt(text: str, size: int = 60) -> str:
    """The start of a sentence, for a message."""
    shown = _shown(text)
    return shown if len(shown) <= size else shown[:size].rstrip() + "…"


def _same(a: str, b: str) -> bool:
    return _shown(a) == _shown(b)


def corrections(path: Path | str, *, everything: bool = False,
                memory: TranslationMemory | None = None) -> list[tuple[str, str]]:
    """``(Arabic, English)`` pairs an editor approved in a bilingual file (see :func:`find_corrections`)."""
    return [(c.source, c.target) for c in find_corrections(path, everything=everything, memory=memory)]


def find_corrections(path: Path | str, *, everything: bool = False,
                     memory: TranslationMemory | None = None) -> list[Correction]:
    """The sentences an editor changed in a bilingual file, each tied to its segment id and published Arabic.

    Only a file whose front matter's ``run_id`` is the record's beside it (``NAME.run.json``) is compared
    with that record, row by row and segment by segment: a row whose Arabic is not that segment's
    published Arabic is refused. Any other file (no front matter, a ``run_id`` of another run, no
    record) is compared only with the Englishes ``memory`` knows for each row's Arabic (every machine
    or approved English it holds); a row whose Arabic the memory does not know is refused. A blanked
    English cell is refused too. ``everything`` takes every row (still checking the Arabic against the
    record when the file is from the record's run). Two corrections of the same Arabic sentence with
    different English are refused. Every refusal is an ``InputError`` naming the file and line.
    """
    path = Path(path)
    bilingual = read_bilingual_file(path)
    record = _record_beside(path, required=memory is None and not everything)
    published = {s["id"]: s for s in record["segments"]} if record else {}
    same_run = record is not None and bilingual.run_id is not None and bilingual.run_id == record.get("run_id")
    if not same_run and memory is None and not everything:
        raise InputError(f"{_untied(bilingual, record, path)}, and no translation memory to tell its machine "
                         f"English from edits: check the file and approve it with `tarjama tm import {path} --all`",
                         path=path)
    terms = _terms_by_source(record)
    edited = []
    for row in bilingual.rows:
        if same_run:
            segment = published.get(row.segment_id)
            if segment is None:
                raise InputError(f"{row.segment_id} is not a sentence of run {bilingual.run_id} "
                                 f"({_record_name(path)}): a row's segment id must stay as published",
                                 path=path, line=row.line)
            if not _same(row.source, segment["source"]):
                raise InputError(f"the Arabic of {row.segment_id} is not the sentence tarjama published "
                                 f"(\u201c{_excerpt(segment['source'])}\u201d): only the English cell is the "
                                 "editor's; put the Arabic back as it was, then import again", path=path,
                                 line=row.line)
            source, known = segment["source"], {segment["target"], segment["source"]}
        else:
            source, known = row.source, _known_to_memory(row, memory)
            if not known and not everything:
                raise InputError(f"{_untied(bilingual, record, path)}, and the memory knows no sentence with "
                                 f"{row.segment_id}'s Arabic, so nothing tells its English from an edit: if the Arabic "
                                 "cell was changed, put it back as published; edit the current file; or, once every "
                                 f"row is checked, approve them all with `tarjama tm import {path} --all`",
                                 path=path, line=row.line)
        if any(_same(row.target, english) for english in known) and not everything:
            continue  # as tarjama wrote it, or as the memory already holds it
        if not _shown(row.target):
            if any(not _shown(english) for english in known):
                continue  # the machine gave no English either: nothing to approve
            raise InputError(f"the English of {row.segment_id} is empty: an approval needs English. Type the "
                             "editor's English, or put back the English tarjama wrote to leave the sentence as it "
                             "was", path=path, line=row.line)
        missing = tuple(dict.fromkeys(t for t in terms.get(_shown(source), ()) if not term_in_words(t, row.target)))
        edited.append(Correction(row.segment_id, source, row.target, row.line, missing))
    return _without_conflicts(edited, path)


def _untied(bilingual: BilingualFile, record: dict | None, path: Path) -> str:
    """Why a bilingual file cannot be compared with the record beside it."""
    if record is None:
        return f"there is no run record beside it ({_record_name(path)})"
    if bilingual.run_id is None:
        return (f"this file has no run_id in its front matter (saved without it?), so it cannot be compared with "
                f"{_record_name(path)}")
    return (f"this file comes from another run ({bilingual.run_id}) than {_record_name(path)} "
            f"({record.get('run_id')}), an earlier run's copy")


def _terms_by_source(record: dict | None) -> dict[str, list[str]]:
    """Each recorded sentence's glossary targets, by its Arabic as shown (terms belong to the sentence)."""
    found: dict[str, list[str]] = {}
    for segment in record["segments"] if record else ():
        targets = [t.get("target") for t in segment.get("terms") or () if isinstance(t, dict)]
        found.setdefault(_shown(segment["source"]), []).extend(t for t in targets if isinstance(t, str) and t)
    return found


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
        if not all(isinstance(s[key], str) for s in segments for key in ("id", "source", "target")):
            raise TypeError
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InputError("not a run record", path=record_path) from None
    return record


def _without_conflicts(rows: list[Correction], path: Path) -> list[Correction]:
    """Each sentence's correction once; one Arabic sentence cannot be approved with two Englishes."""
    first: dict[str, Correction] = {}
    for row in rows:
        earlier = first.setdefault(normalise_source(row.source), row)
        if earlier is not row and not _same(earlier.target, row.target):
            raise InputError(f"{row.segment_id} repeats the Arabic of {earlier.segment_id} (line {earlier.line}) with "
                             "a different English: approvals are per sentence, so make the two the same",
                             path=path, line=row.line)
    return list(first.values())


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
    """Approve a bilingual file's corrections into ``memory`` (see :func:`import_bilingual`); how many were stored."""
    return import_bilingual(path, memory, everything=everything, mark_known=mark_known).stored


def import_bilingual(path: Path, memory: TranslationMemory, *, everything: bool = False,
                     mark_known: bool = True) -> BilingualImport:
    """Approve a bilingual file's corrections into ``memory``; with ``mark_known``, remember the file as dealt with.

    Mark it only when ``memory`` is the one its outputs folder's runs use: the next run there may
    then rewrite it. The caller holds the article's lock when marking. Nothing is stored or marked
    when any row is refused.
    """
    from tarjama import publishing

    content = read_input_bytes(path, "bilingual file")
    found = find_corrections(path, everything=everything, memory=memory)
    stored = memory.approve([(c.source, c.target) for c in found], origin=str(path))
    if mark_known:
        publishing.mark_known(path.parent, path.name.removesuffix(".bilingual.md"), content)
    return BilingualImport(tuple(found), stored)
