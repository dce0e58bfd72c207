"""Moving sentences in and out of the memory: the editor's bilingual Markdown, TMX 1.4 and XLIFF 2.0.

Translators' CAT tools speak TMX (memories) and XLIFF (documents in translation); both are written
with ElementTree, so every piece of text is escaped. TMX is read with the same parser's safe subset:
no DTDs, no entities.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.parsers import expat

from markdown_it import MarkdownIt

from tarjama import __version__
from tarjama.documents import read_input_bytes, read_text_file
from tarjama.errors import InputError
from tarjama.memory import TranslationMemory, normalise_source

_SEGMENT_ID = re.compile(r"p\d+\.s\d+")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_ROW_PIPES = 5  # | id | Arabic | English | notes |
_INLINE_CODES = {"bpt", "ept", "ph", "it", "ut"}  # TMX markup for formatting, not text
# Characters XML 1.0 cannot carry at all.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XLIFF_NAMESPACE = "urn:oasis:names:tc:xliff:document:2.0"


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

    content = read_input_bytes(path, "bilingual file")
    count = memory.approve(corrections(path, everything=everything, memory=memory), origin=str(path))
    if mark_known:
        publishing.mark_known(path.parent, path.name.removesuffix(".bilingual.md"), content)
    return count


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def write_tmx(pairs: list[tuple[str, str, str]], source_lang: str = "ar", target_lang: str = "en") -> str:
    """TMX 1.4 of ``(Arabic, English, status)`` triples; the status travels as a ``prop``."""
    root = ET.Element("tmx", version="1.4")
    ET.SubElement(root, "header", {"creationtool": "tarjama", "creationtoolversion": __version__,
                                   "datatype": "plaintext", "segtype": "sentence", "adminlang": "en",
                                   "srclang": source_lang, "o-tmf": "tarjama", "creationdate": _timestamp()})
    body = ET.SubElement(root, "body")
    for number, (source, target, status) in enumerate(pairs, start=1):
        unit = ET.SubElement(body, "tu", tuid=str(number))
        ET.SubElement(unit, "prop", type="x-tarjama-status").text = status
        for lang, text in ((source_lang, source), (target_lang, target)):
            variant = ET.SubElement(unit, "tuv", {_XML_LANG: lang})
            ET.SubElement(variant, "seg").text = _XML_ILLEGAL.sub("", text)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_xliff(pairs: list[tuple[str, str, str]], source_lang: str = "ar", target_lang: str = "en") -> str:
    """XLIFF 2.0 of ``(Arabic, English, status)``: approved sentences are ``final``, the rest ``translated``."""
    ET.register_namespace("", XLIFF_NAMESPACE)
    ns = f"{{{XLIFF_NAMESPACE}}}"
    root = ET.Element(f"{ns}xliff", {"version": "2.0", "srcLang": source_lang, "trgLang": target_lang})
    file_element = ET.SubElement(root, f"{ns}file", id="tarjama-memory")
    for number, (source, target, status) in enumerate(pairs, start=1):
        unit = ET.SubElement(file_element, f"{ns}unit", id=f"u{number}")
        segment = ET.SubElement(unit, f"{ns}segment", state="final" if status == "approved" else "translated")
        ET.SubElement(segment, f"{ns}source").text = _XML_ILLEGAL.sub("", source)
        ET.SubElement(segment, f"{ns}target").text = _XML_ILLEGAL.sub("", target)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def read_tmx(path: Path | str, source_lang: str = "ar", target_lang: str = "en") -> list[tuple[str, str, str]]:
    """``(Arabic, English, status)`` of a TMX file (any version); units without both languages are skipped.

    ``status`` is tarjama's own ``x-tarjama-status`` property when present (``approved`` or ``machine``),
    else ``approved``: a memory from a CAT tool is translators' work.
    """
    data = read_input_bytes(path, "TMX file")
    scanner = expat.ParserCreate()

    def refuse(*_: object) -> None:
        raise InputError("TMX with entity declarations is refused", path=path)

    scanner.EntityDeclHandler = refuse  # checked before ElementTree sees it: no entity is ever expanded
    try:
        scanner.Parse(data, True)
        root = ET.fromstring(data)
    except (ET.ParseError, expat.ExpatError) as exc:
        line = getattr(exc, "lineno", None) or getattr(exc, "position", (None,))[0]
        raise InputError(f"not well-formed XML: {exc}", path=path, line=line) from None
    if root.tag != "tmx":
        raise InputError(f"not a TMX file (root element <{root.tag}>)", path=path)
    found = []
    for unit in root.iter("tu"):
        status = next((p.text or "" for p in unit.iter("prop") if p.get("type") == "x-tarjama-status"), "approved")
        texts: dict[str, str] = {}
        for variant in unit.iter("tuv"):
            lang = (variant.get(_XML_LANG) or variant.get("lang") or "").lower().split("-")[0].split("_")[0]
            segment = variant.find("seg")
            if segment is not None and lang not in texts:
                texts[lang] = " ".join(_segment_text(segment).split())
        if texts.get(source_lang) and texts.get(target_lang):
            found.append((texts[source_lang], texts[target_lang], status.strip() or "approved"))
    return found


def _segment_text(element: ET.Element) -> str:
    """A ``seg``'s text without its inline codes (``bpt``, ``ept``, ``ph``…), keeping the text after them."""
    parts = [element.text or ""]
    for child in element:
        if child.tag not in _INLINE_CODES:
            parts.append(_segment_text(child))
        parts.append(child.tail or "")
    return "".join(parts)
