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
from tarjama.memory import TranslationMemory

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


def read_bilingual(path: Path | str) -> list[EditedSentence]:
    """The sentence rows of a ``NAME.bilingual.md`` (Arabic and English cells as plain text)."""
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
    return rows


def _plain(token: object) -> str:
    """A cell's text: text and code as written, markup (the <mark> and <span> tags) dropped."""
    children = getattr(token, "children", None) or []
    return "".join(c.content if c.type in ("text", "code_inline") else " " if c.type == "softbreak" else ""
                   for c in children)


def corrections(path: Path | str, *, everything: bool = False) -> list[tuple[str, str]]:
    """``(Arabic, English)`` pairs an editor approved in a bilingual file.

    The sentences whose English differs from the run record beside the file (``NAME.run.json``),
    or every sentence with ``everything``.
    """
    path = Path(path)
    rows = read_bilingual(path)
    if everything:
        return [(row.source, row.target) for row in rows if row.target]
    record_path = path.with_name(path.name.removesuffix(".bilingual.md") + ".run.json")
    if not record_path.is_file():
        raise InputError(f"no run record beside it ({record_path.name}) to tell corrections from machine "
                         "output: pass --all to approve every sentence", path=path)
    try:
        machine = {s["id"]: s["target"] for s in json.loads(record_path.read_text(encoding="utf-8"))["segments"]}
    except (ValueError, KeyError, TypeError):
        raise InputError("not a run record", path=record_path) from None
    return [(row.source, row.target) for row in rows
            if row.target and " ".join(row.target.split()) != " ".join(machine.get(row.segment_id, "").split())]


def harvest_corrections(out_dir: Path, stem: str, memory: TranslationMemory) -> int:
    """Approve what an editor changed in the article's bilingual file since tarjama wrote it.

    Runs before a new translation rewrites that file, so that no run overwrites an editor's work
    even if nobody ran ``tarjama tm import``.
    """
    from tarjama.publishing import article_lock, edited_bilingual, mark_known

    if edited_bilingual(out_dir, stem) is None:
        return 0  # the common case, decided without creating lock files in a fresh outputs folder
    with article_lock(out_dir, stem):
        edited = edited_bilingual(out_dir, stem)
        if edited is None:
            return 0
        content = edited.read_bytes()
        count = memory.approve(corrections(edited), origin=str(edited))
        mark_known(out_dir, stem, content)  # harvested: this version may be rewritten now
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
