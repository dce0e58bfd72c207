"""Parsing XML that comes from outside the newsroom (TMX, XLIFF, TBX) safely.

One configuration of expat for every exchange format: no DTD is read (the external subset, parameter
entities and external entities never are), a document that declares entities is refused (a "billion
laughs" file is an error, not a memory explosion), and elements may nest only :data:`MAX_DEPTH` deep, so a
file of 200,000 nested elements is an error naming the file at once, never a ``RecursionError`` or a
tree that fills the memory. A file that is not well-formed is an error with its line.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from tarjama.errors import InputError

# libxml2's default limit: deeper than any termbase, memory or document in translation needs.
MAX_DEPTH = 256
_NAMESPACE_SEPARATOR = "}"


class XMLRefused(Exception):
    """A document refused while parsing: not well-formed, declares entities, nests too deep."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class SafeXMLParser:
    """expat, streaming, with the safe configuration; the caller's handlers see each element.

    With ``namespaces``, names arrive as ElementTree writes them (``{uri}local``); without, as written
    (``prefix:local``), which lets a termbase with an undeclared prefix still be read. Handlers may raise
    :class:`XMLRefused` to stop parsing.
    """

    def __init__(self, start: Callable[[str, dict[str, str]], None], end: Callable[[str], None],
                 characters: Callable[[str], None], *, namespaces: bool = False,
                 skipped_entity: Callable[[str], None] | None = None, max_depth: int = MAX_DEPTH) -> None:
        self._start, self._end = start, end
        self._namespaces = namespaces
        self._skipped = skipped_entity
        self._max_depth = max_depth
        self._depth = 0
        self._parser = expat.ParserCreate(namespace_separator=_NAMESPACE_SEPARATOR if namespaces else None)
        self._parser.buffer_text = True
        self._parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self._parser.StartElementHandler = self._on_start
        self._parser.EndElementHandler = self._on_end
        self._parser.CharacterDataHandler = characters
        self._parser.EntityDeclHandler = self._entity_declared
        self._parser.ExternalEntityRefHandler = self._external_entity
        self._parser.SkippedEntityHandler = self._entity_skipped

    @property
    def line(self) -> int:
        """The line the parser is on (1-based)."""
        return self._parser.CurrentLineNumber

    def parse(self, data: bytes) -> None:
        """Parse a whole document; bytes, so that expat honours a BOM and the declared encoding."""
        try:
            self._parser.Parse(data, True)
        except expat.ExpatError as exc:
            raise XMLRefused(f"not well-formed XML: {expat.ErrorString(exc.code)}", exc.lineno) from None

    def _name(self, name: str) -> str:
        if self._namespaces and _NAMESPACE_SEPARATOR in name:
            return "{" + name
        return name

    def _on_start(self, name: str, attrs: dict[str, str]) -> None:
        self._depth += 1
        if self._depth > self._max_depth:
            raise XMLRefused(f"elements nested more than {self._max_depth} deep (no termbase, memory or "
                             "document in translation needs that many): refused", self.line)
        if self._namespaces:
            attrs = {self._name(key): value for key, value in attrs.items()}
        self._start(self._name(name), attrs)

    def _on_end(self, name: str) -> None:
        self._depth -= 1
        self._end(self._name(name))

    def _entity_declared(self, name: str, is_parameter: int, *_: object) -> None:
        kind = "parameter entity" if is_parameter else "entity"
        raise XMLRefused(f"{kind} declaration '{name}' refused: a file from outside must not declare entities",
                         self.line)

    def _external_entity(self, _context: str | None, _base: str | None, system_id: str | None,
                         _public_id: str | None) -> int:
        # Unreachable while entity declarations are refused; kept so that nothing outside the file is read.
        raise XMLRefused(f"external entity '{system_id}' refused", self.line)

    def _entity_skipped(self, name: str, is_parameter: int) -> None:
        # An entity of a DTD that is not read (``&nbsp;``): its text would be missing.
        if is_parameter:
            return
        if self._skipped is None:
            raise XMLRefused(f"entity '&{name};' is not defined in the file (its DTD is never read)", self.line)
        self._skipped(name)


@dataclass
class XMLDocument:
    """A parsed document: its root element and the line each element started on."""

    root: ET.Element
    lines: dict[ET.Element, int] = field(default_factory=dict)

    def line(self, element: ET.Element) -> int | None:
        """The line ``element`` started on."""
        return self.lines.get(element)


def parse_document(data: bytes, path: Path | str) -> XMLDocument:
    """An ElementTree of ``data`` (names as ``{namespace}local``), parsed safely; :class:`InputError` naming
    ``path`` and the line when it is refused."""
    builder = ET.TreeBuilder()
    lines: dict[ET.Element, int] = {}
    parser: SafeXMLParser

    def start(tag: str, attrs: dict[str, str]) -> None:
        lines[builder.start(tag, attrs)] = parser.line

    parser = SafeXMLParser(start, builder.end, builder.data, namespaces=True)
    try:
        parser.parse(data)
    except XMLRefused as refused:
        raise InputError(refused.message, path=path, line=refused.line) from None
    return XMLDocument(builder.close(), lines)


def local_name(tag: str) -> str:
    """An ElementTree tag without its namespace."""
    return tag.rpartition("}")[2]
