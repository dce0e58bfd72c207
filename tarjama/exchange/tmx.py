"""TMX (Translation Memory eXchange), the memories of translators' CAT tools: read any version, write 1.4.

Written with ElementTree, so every piece of text is escaped; read through :mod:`tarjama.text.xmlsafe` (no DTD,
no entities, a nesting limit). Inline codes are resolved by :func:`tarjama.exchange.interchange.inline_text`: a code
standing for a line break or tab becomes a space, any other vanishes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from tarjama import __version__
from tarjama.errors import InputError
from tarjama.exchange.units import (
    SOURCE_LANGUAGE,
    TARGET_LANGUAGE,
    XML_ILLEGAL,
    XML_LANG,
    ExchangeFile,
    ExchangeUnit,
    collapse,
    inline_text,
    primary_language,
)
from tarjama.text.inputs import read_input_bytes
from tarjama.text.xmlsafe import local_name, parse_document

STATUS_PROPERTY = "x-tarjama-status"  # tarjama's own: approved or machine
_ANY_SOURCE = "*all*"  # TMX: any variant may be the source


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def write_tmx(pairs: list[tuple[str, str, str]], source_lang: str = SOURCE_LANGUAGE,
              target_lang: str = TARGET_LANGUAGE) -> str:
    """TMX 1.4 of ``(Arabic, English, status)`` triples; the status travels as a ``prop``."""
    root = ET.Element("tmx", version="1.4")
    ET.SubElement(root, "header", {"creationtool": "tarjama", "creationtoolversion": __version__,
                                   "datatype": "plaintext", "segtype": "sentence", "adminlang": "en",
                                   "srclang": source_lang, "o-tmf": "tarjama", "creationdate": _timestamp()})
    body = ET.SubElement(root, "body")
    for number, (source, target, status) in enumerate(pairs, start=1):
        unit = ET.SubElement(body, "tu", tuid=str(number))
        ET.SubElement(unit, "prop", type=STATUS_PROPERTY).text = status
        for lang, text in ((source_lang, source), (target_lang, target)):
            variant = ET.SubElement(unit, "tuv", {XML_LANG: lang})
            ET.SubElement(variant, "seg").text = XML_ILLEGAL.sub("", text)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def read_tmx_file(path: Path | str) -> ExchangeFile:
    """Every unit of a TMX file (any version) as one :class:`ExchangeUnit` per translation it holds.

    A unit's source language is its ``srclang``, else the header's; with ``*all*`` (or none), its first
    variant's. ``approved`` follows tarjama's own ``x-tarjama-status`` property when present (``machine``
    units are not), else it is true: a memory from a CAT tool is translators' work.
    """
    path = Path(path)
    document = parse_document(read_input_bytes(path, "TMX file"), path)
    root = document.root
    if local_name(root.tag) != "tmx":
        raise InputError(f"not a TMX file (root element <{local_name(root.tag)}>)", path=path)
    header = next((child for child in root if local_name(child.tag) == "header"), None)
    default_source = header.get("srclang", "") if header is not None else ""
    units: list[ExchangeUnit] = []
    count = 0
    for unit in root.iter("tu"):
        count += 1
        status = next((collapse(p.text or "") for p in unit.iter("prop") if p.get("type") == STATUS_PROPERTY), "")
        variants: dict[str, tuple[str, str]] = {}  # primary language → (code as written, text)
        for variant in unit.iter("tuv"):
            code = variant.get(XML_LANG) or variant.get("lang") or ""
            segment = variant.find("seg")
            if segment is not None and primary_language(code) not in variants:
                variants[primary_language(code)] = (code, collapse(inline_text(segment)))
        source_code = unit.get("srclang") or default_source
        if not source_code or source_code.lower() == _ANY_SOURCE:
            # The Arabic is the source of an any-direction unit that has one; else the first variant is.
            source_code = variants[SOURCE_LANGUAGE][0] if SOURCE_LANGUAGE in variants else next(
                (code for code, _ in variants.values()), "")
        source = variants.get(primary_language(source_code), (source_code, ""))[1]
        for language, (code, text) in variants.items():
            if language == primary_language(source_code):
                continue
            units.append(ExchangeUnit(source=source, target=text, source_lang=source_code, target_lang=code,
                                      approved=status in ("", "approved"), state=status or "translators' work",
                                      line=document.line(unit)))
    return ExchangeFile(path, "TMX", count, units)


def read_tmx(path: Path | str) -> list[tuple[str, str, str]]:
    """``(Arabic, English, status)`` of a TMX file's Arabic→English units with both texts.

    ``status`` is tarjama's own ``x-tarjama-status`` property when present (``approved`` or ``machine``),
    else ``approved``.
    """
    return [(unit.source, unit.target, "approved" if unit.approved else unit.state)
            for unit in read_tmx_file(path).units if unit.arabic_to_english and unit.source and unit.target]
