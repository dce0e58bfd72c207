"""XLIFF, documents in translation in CAT tools: write 2.0, read 1.2 and 2.0.

Exports are XLIFF 2.0: the whole memory (one ``<file id="tarjama-memory">``) or articles (one
``<file id="NAME" original="NAME.txt">`` per article, one ``<unit id="p3.s1">`` per segment, its flags and
glossary terms as notes; the run of the record exported in the ``<file>``'s ``tarjama-run`` note). Approved
English is ``state="final"``, the rest ``translated``.

Import reads both versions; which units a person approved is decided by their states:

- XLIFF 2.0: ``final`` and ``reviewed`` (what translate-toolkit and Weblate write for an approval); ``initial``
  and ``translated`` are not.
- XLIFF 1.2: ``approved="yes"`` on the ``trans-unit``, or a target in state ``final`` or ``signed-off`` (unless
  the unit says ``approved="no"``); ``new``, ``translated``, ``needs-*`` are not.

Languages come from ``srcLang``/``trgLang`` (2.0) or ``source-language``/``target-language`` (1.2).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tarjama.errors import InputError
from tarjama.exchange.units import (
    MEMORY_FILE_ID,
    RUN_NOTE,
    SOURCE_LANGUAGE,
    TARGET_LANGUAGE,
    XML_ILLEGAL,
    XML_LANG,
    ArticleExport,
    ExchangeFile,
    ExchangeUnit,
    collapse,
    inline_text,
)
from tarjama.record.reader import SEGMENT_ID
from tarjama.text.inputs import read_input_bytes
from tarjama.text.xmlsafe import XMLDocument, local_name, parse_document

XLIFF_NAMESPACE = "urn:oasis:names:tc:xliff:document:2.0"
_APPROVED_2 = frozenset({"final", "reviewed"})
_APPROVED_1 = frozenset({"final", "signed-off"})


def _root(source_lang: str, target_lang: str) -> tuple[ET.Element, str]:
    ET.register_namespace("", XLIFF_NAMESPACE)
    ns = f"{{{XLIFF_NAMESPACE}}}"
    return ET.Element(f"{ns}xliff", {"version": "2.0", "srcLang": source_lang, "trgLang": target_lang}), ns


def _segment(unit: ET.Element, ns: str, source: str, target: str, approved: bool) -> None:
    segment = ET.SubElement(unit, f"{ns}segment", state="final" if approved else "translated")
    ET.SubElement(segment, f"{ns}source").text = XML_ILLEGAL.sub("", source)
    ET.SubElement(segment, f"{ns}target").text = XML_ILLEGAL.sub("", target)


def _text(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_xliff(pairs: list[tuple[str, str, str]], source_lang: str = SOURCE_LANGUAGE,
                target_lang: str = TARGET_LANGUAGE, *,
                notes: list[tuple[tuple[str, str], ...]] | None = None) -> str:
    """XLIFF 2.0 of ``(Arabic, English, status)``: approved sentences are ``final``, the rest ``translated``.

    ``notes`` gives each pair's ``(category, text)`` notes, in the same order.
    """
    root, ns = _root(source_lang, target_lang)
    file_element = ET.SubElement(root, f"{ns}file", id=MEMORY_FILE_ID)
    for number, (source, target, status) in enumerate(pairs, start=1):
        unit = ET.SubElement(file_element, f"{ns}unit", id=f"u{number}")
        _notes_element(unit, ns, notes[number - 1] if notes else ())
        _segment(unit, ns, source, target, status == "approved")
    return _text(root)


def _notes_element(unit: ET.Element, ns: str, notes: tuple[tuple[str, str], ...]) -> None:
    if notes:
        element = ET.SubElement(unit, f"{ns}notes")
        for category, text in notes:
            ET.SubElement(element, f"{ns}note", category=category).text = XML_ILLEGAL.sub("", text)


def write_article_xliff(articles: list[ArticleExport], source_lang: str = SOURCE_LANGUAGE,
                        target_lang: str = TARGET_LANGUAGE) -> str:
    """XLIFF 2.0 of articles: a ``<file>`` per article, a ``<unit>`` per segment with its notes."""
    root, ns = _root(source_lang, target_lang)
    for article in articles:
        file_element = ET.SubElement(root, f"{ns}file", id=article.name, original=article.original)
        if article.run_id:  # which run the export shows, for the import to judge what the translator changed
            _notes_element(file_element, ns, ((RUN_NOTE, article.run_id),))
        for segment in article.segments:
            unit = ET.SubElement(file_element, f"{ns}unit", id=segment.id)
            _notes_element(unit, ns, segment.notes)
            _segment(unit, ns, segment.source, segment.target, segment.approved)
    return _text(root)


def read_xliff(path: Path | str) -> ExchangeFile:
    """The translation units of an XLIFF 1.2 or 2.0 file (by its ``version``)."""
    path = Path(path)
    document = parse_document(read_input_bytes(path, "XLIFF file"), path)
    root = document.root
    if local_name(root.tag) != "xliff":
        raise InputError(f"not an XLIFF file (root element <{local_name(root.tag)}>)", path=path)
    version = root.get("version", "")
    if version.startswith("2."):
        return _read_2(path, document)
    if version.startswith("1.") or not version:
        return _read_1(path, document)
    raise InputError(f"XLIFF version {version} is not read (1.2 and 2.0 are)", path=path)


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if local_name(child.tag) == name]


def _descendants(element: ET.Element, name: str, stop: str) -> list[ET.Element]:
    """Elements called ``name`` under ``element``, through groups, not inside another ``stop`` element."""
    found = []
    for child in element:
        child_name = local_name(child.tag)
        if child_name == name:
            found.append(child)
        elif child_name != stop:
            found += _descendants(child, name, stop)
    return found


def _notes(element: ET.Element) -> tuple[str, ...]:
    return tuple(collapse("".join(note.itertext())) for note in element.iter() if local_name(note.tag) == "note")


def _article(file_element: ET.Element, ids: list[str | None]) -> str | None:
    """The name a ``<file>`` of tarjama's per-article export gives its article (every unit is named by a
    segment id): its ``id``, else its ``original`` as the CAT tool wrote it (a path, perhaps); the import
    finds the run record it stands for (:func:`tarjama.exchange.interchange.article_stems`)."""
    name = file_element.get("id") or file_element.get("original") or ""
    if not name or name == MEMORY_FILE_ID or not ids or not all(i and SEGMENT_ID.fullmatch(i) for i in ids):
        return None
    return name


def _read_2(path: Path, document: XMLDocument) -> ExchangeFile:
    root = document.root
    source_lang, target_lang = root.get("srcLang", ""), root.get("trgLang", "")
    units: list[ExchangeUnit] = []
    count = 0
    own = False
    for file_element in _children(root, "file"):
        own = own or file_element.get("id") == MEMORY_FILE_ID
        unit_elements = _descendants(file_element, "unit", "unit")
        count += len(unit_elements)
        article = _article(file_element, [unit.get("id") for unit in unit_elements])
        own = own or article is not None
        run_id = _file_run(file_element) if article else None
        for unit in unit_elements:
            segments = [part for part in unit if local_name(part.tag) in ("segment", "ignorable")]
            pieces = _pieces(segments)
            states = [part.get("state", "initial") for part in segments if local_name(part.tag) == "segment"]
            if article is not None or len(states) <= 1:
                # One unit, one sentence: a CAT tool that split a segment keeps it in one unit.
                groups = [pieces]
            else:
                groups = [[piece] for piece in pieces if local_name(piece[0].tag) == "segment"]
            for group in groups:
                group_states = [part.get("state", "initial") for part, _, _ in group
                                if local_name(part.tag) == "segment"] or ["initial"]
                approved = all(state in _APPROVED_2 for state in group_states)
                units.append(ExchangeUnit(
                    source=collapse("".join(source for _, source, _ in group)),
                    target=collapse("".join(target for _, _, target in group)),
                    source_lang=source_lang, target_lang=target_lang, approved=approved,
                    state=next((s for s in group_states if s not in _APPROVED_2), group_states[0]),
                    line=document.line(unit), article=article,
                    segment_id=unit.get("id") if article else None, notes=_notes(unit), run_id=run_id))
    return ExchangeFile(path, "XLIFF 2.0", count, units, own=own)


def _file_run(file_element: ET.Element) -> str | None:
    """The run id a ``<file>`` of tarjama's article export names (its own ``tarjama-run`` note), if any."""
    for notes in _children(file_element, "notes"):
        for note in _children(notes, "note"):
            if note.get("category") == RUN_NOTE and (text := collapse("".join(note.itertext()))):
                return text
    return None


def _pieces(parts: list[ET.Element]) -> list[tuple[ET.Element, str, str]]:
    """Each ``<segment>`` and ``<ignorable>`` of a unit with its source and target text, joined in order.

    An ``<ignorable>`` (the space between two sentences, say) usually has no target: its source stands in, so
    "First half." and "Second half." keep their space. Two segments with nothing between them (a tool that
    trims segments and writes no ignorable) are joined with a space: CAT tools split at sentence ends, and
    the import compares the Arabic with the article's modulo whitespace.
    """
    pieces = []
    for number, part in enumerate(parts):
        source, target = _texts(part)
        if local_name(part.tag) == "ignorable":
            target = target if _has_target(part) else source
        elif number and local_name(parts[number - 1].tag) == "segment":
            source, target = f" {source}", f" {target}"
        pieces.append((part, source, target))
    return pieces


def _has_target(part: ET.Element) -> bool:
    return any(local_name(child.tag) == "target" for child in part)


def _texts(part: ET.Element) -> tuple[str, str]:
    source = next((child for child in part if local_name(child.tag) == "source"), None)
    target = next((child for child in part if local_name(child.tag) == "target"), None)
    return (inline_text(source) if source is not None else "", inline_text(target) if target is not None else "")


def _read_1(path: Path, document: XMLDocument) -> ExchangeFile:
    units: list[ExchangeUnit] = []
    count = 0
    for file_element in _children(document.root, "file"):
        source_lang = file_element.get("source-language", "")
        target_lang = file_element.get("target-language", "")
        trans_units = _descendants(file_element, "trans-unit", "trans-unit")
        count += len(trans_units)
        article = _article(file_element, [unit.get("id") for unit in trans_units])
        for unit in trans_units:
            source, target = _texts(unit)
            target_element = next((child for child in unit if local_name(child.tag) == "target"), None)
            state = target_element.get("state", "") if target_element is not None else ""
            flag = unit.get("approved", "")
            approved = flag == "yes" or (state in _APPROVED_1 and flag != "no")
            units.append(ExchangeUnit(
                source=collapse(source), target=collapse(target), source_lang=source_lang,
                target_lang=(target_element.get(XML_LANG) if target_element is not None else None) or target_lang,
                approved=approved, state=state or ("approved" if approved else "no state"),
                line=document.line(unit), article=article, segment_id=unit.get("id") if article else None,
                notes=_notes(unit)))
    own = any(unit.article for unit in units)
    return ExchangeFile(path, "XLIFF 1.2", count, units, own=own)
