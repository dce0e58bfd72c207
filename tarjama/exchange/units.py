"""What every exchange format module reads and writes: units, files, article exports, inline text, languages.

:mod:`tarjama.exchange.tmx` and :mod:`tarjama.exchange.xliff` read a file into an :class:`ExchangeFile` and
write from the memory or from run records; :mod:`tarjama.exchange.interchange` holds the import and export
policy on top of them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from tarjama.text.xmlsafe import local_name

SOURCE_LANGUAGE = "ar"


TARGET_LANGUAGE = "en"


MEMORY_FILE_ID = "tarjama-memory"  # the <file> of a memory-wide XLIFF export


APPROVAL_NOTE = "approval"  # the note category an export uses to say which approval a final unit carries


RUN_NOTE = "tarjama-run"  # the note category of an article's <file>: the run id of the record it was exported from


# Characters XML 1.0 cannot carry at all.
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


# Inline markup whose content is text of the sentence (TMX <hi>, XLIFF 1.2 <g>/<mrk>, XLIFF 2.0 <pc>/<mrk>);
# every other inline element is a code standing for formatting, not text.
_TEXT_CONTAINERS = frozenset({"hi", "g", "mrk", "pc"})


# Code types meaning a break: TMX 1.4 ``type`` and XLIFF 1.2 ``ctype`` (lb, pb, cb), XLIFF 2.0 ``subType``.
_BREAK_TYPES = frozenset({"lb", "pb", "cb", "x-lb", "x-linebreak", "linebreak", "xlf:lb", "xlf:pb"})


# Native code that is a break: a literal newline or tab, its escapes, an HTML/RTF line or block break.
_BREAK_CODE = re.compile(r"(?:\\[nrt]|\\par|\\line|\\tab|&#(?:9|10|13|x9|xa|xd);"
                         r"|<\s*/?\s*(?:br|p|div|li|tr|td|th|h[1-6]|hr)\b[^>]*>)+", re.IGNORECASE)


@dataclass(frozen=True)
class ExchangeUnit:
    """One source sentence with one translation, as a CAT tool's file holds it.

    ``approved`` says whether a person approved it (``state`` is the file's own word for it, shown when the
    unit is skipped); ``article`` and ``segment_id`` place a unit of an XLIFF written per article.
    """

    source: str
    target: str
    source_lang: str
    target_lang: str
    approved: bool
    state: str
    line: int | None = None
    article: str | None = None
    segment_id: str | None = None
    notes: tuple[str, ...] = ()
    run_id: str | None = None  # the run an article's export was made from (its <file>'s tarjama-run note)

    @property
    def pair(self) -> str:
        """The language pair by primary language, ``ar→en``."""
        return f"{primary_language(self.source_lang) or '?'}→{primary_language(self.target_lang) or '?'}"

    @property
    def arabic_to_english(self) -> bool:
        """Whether this unit translates Arabic into English (any region: ar-SA, ar_EG, en-GB…)."""
        return (primary_language(self.source_lang), primary_language(self.target_lang)) == (
            SOURCE_LANGUAGE, TARGET_LANGUAGE)


@dataclass(frozen=True)
class ExchangeFile:
    """A CAT tool's file read: its format, how many units it holds, and each source–translation pair."""

    path: Path
    format: str
    units_read: int
    units: list[ExchangeUnit]
    own: bool = False  # the file holds a tarjama export; the import decides own or foreign per unit, not by this


@dataclass(frozen=True)
class ArticleSegment:
    """A segment of a published article, as an XLIFF export carries it."""

    id: str
    source: str
    target: str
    approved: bool
    notes: tuple[tuple[str, str], ...] = ()  # (category, text)


@dataclass(frozen=True)
class ArticleExport:
    """An article's segments, from its run record, for one ``<file>`` of an XLIFF export."""

    name: str
    original: str
    segments: tuple[ArticleSegment, ...]
    run_id: str | None = None  # the run of the record exported: the import compares with what it published


def primary_language(code: str | None) -> str:
    """``ar`` for ``ar``, ``ar-SA``, ``ar_EG`` and ``AR``."""
    return (code or "").strip().replace("_", "-").split("-")[0].lower()


def collapse(text: str) -> str:
    """Whitespace as a sentence has it: single spaces, none at the ends."""
    return " ".join(text.split())


def inline_text(element: ET.Element) -> str:
    """The text of a ``seg``, ``source`` or ``target``, inline codes resolved (whitespace not yet collapsed).

    Text inside markup that carries text (``<hi>``, ``<g>``, ``<mrk>``, ``<pc>``) is kept. A code standing for
    a line break or tab (by its type, its ``equiv`` text, or native content such as ``\\n``, ``&#9;`` or
    ``<br/>``) becomes a space, so the words on either side stay apart; any other code vanishes without a
    space, as the formatting it stands for does (``<b>K</b>remlin`` is one word).
    """
    parts = [element.text or ""]
    for child in element:
        name = local_name(child.tag)
        if name in _TEXT_CONTAINERS:
            parts.append(inline_text(child))
        elif name == "cp":  # XLIFF 2.0: a character XML cannot carry
            parts.append(_code_point(child.get("hex", "")))
        elif _is_break(child):
            parts.append(" ")
        parts.append(child.tail or "")
    return "".join(parts)


def _code_point(hex_value: str) -> str:
    try:
        character = chr(int(hex_value, 16))
    except (ValueError, OverflowError):
        return ""
    if character.isspace():
        return " "
    return "" if XML_ILLEGAL.match(character) else character


def _is_break(code: ET.Element) -> bool:
    kinds = {code.get(name, "").strip().lower() for name in ("type", "ctype", "subType")}
    if kinds & _BREAK_TYPES:
        return True
    for name in ("equiv", "equiv-text", "equivStart", "disp"):
        value = code.get(name)
        if value and (not value.strip() or _BREAK_CODE.fullmatch(value.strip())):
            return True
    native = "".join(code.itertext())
    return bool(native) and (not native.strip() or bool(_BREAK_CODE.fullmatch(native.strip())))
