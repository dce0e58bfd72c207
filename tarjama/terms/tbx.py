"""TBX termbases (ISO 30042 TermBase eXchange) read into glossary entries.

Both generations are read: TBX 2008 / TBX-Basic v2 (``martif``, ``termEntry``, ``langSet``, ``tig`` or
``ntig``) and TBX v3 (``tbx``, ``conceptEntry``, ``langSec``, ``termSec``), with or without namespaces, in
the DCA style (``termNote type="administrativeStatus"``) and the DCT style (``<basic:administrativeStatus>``).
One concept entry gives at most one :class:`~tarjama.terms.glossary.GlossaryEntry`: its first Arabic term is the
source, its other Arabic terms the variants, and its preferred (or else first usable) English term the target.

Termbases come from outside the newsroom, so they are parsed by :mod:`tarjama.text.xmlsafe`: no DTD or external
entity is ever read, entity declarations are refused outright (a "billion laughs" file is an error, not a
memory explosion), and elements nested deeper than any termbase needs are an error, not a ``RecursionError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from tarjama.terms.entries import CLITICS, ERROR, EXACT, WARNING, GlossaryEntry, GlossaryProblem
from tarjama.text.xmlsafe import SafeXMLParser, XMLRefused

_ROOTS = ("martif", "tbx")
_ENTRY_TAGS = ("termEntry", "conceptEntry")
_LANGUAGE_TAGS = ("langSet", "langSec")
_TERM_TAGS = ("tig", "ntig", "termSec")
# Data categories as element names (TBX v3 DCT style) and as ``type`` attributes (DCA style).
_STATUS_TYPES = ("administrativeStatus", "normativeAuthorization")
_TERM_TYPE = "termType"
_DEFINITION = "definition"
_NOTE = "note"
# Term types too short or ambiguous to be matched with proclitics attached.
_SHORT_TERM_TYPES = frozenset({"abbreviation", "acronym", "initialism", "shortform"})
# Administrative statuses (lower case, ``-admn-sts`` and ``term`` removed) of English terms not to enforce.
_UNUSABLE_STATUSES = frozenset({"deprecated", "superseded", "notrecommended", "obsolete"})
_PREFERRED_STATUSES = frozenset({"preferred"})


@dataclass
class _Node:
    """An element inside a concept entry: a tiny tree, kept only until the entry ends."""

    tag: str
    attrs: dict[str, str]
    lang: str
    line: int
    parent: _Node | None = None
    parts: list[str | _Node] = field(default_factory=list)

    def text(self) -> str:
        """Text content, inline children included, whitespace collapsed."""
        return " ".join("".join(self._pieces()).split())

    def _pieces(self) -> Iterator[str]:
        for part in self.parts:
            if isinstance(part, str):
                yield part
            else:
                yield from part._pieces()

    def walk(self) -> Iterator[_Node]:
        """This node's descendants in document order."""
        for part in self.parts:
            if isinstance(part, _Node):
                yield part
                yield from part.walk()

    def category(self) -> str:
        """The data category this element carries: its ``type`` (DCA style) or its own name (DCT style)."""
        if self.tag in ("termNote", "descrip"):
            return self.attrs.get("type", "")
        return self.tag

    def scope(self) -> _Node | None:
        """The nearest enclosing entry, language section or term section: what this element describes."""
        node = self.parent
        while node is not None and node.tag not in (*_ENTRY_TAGS, *_LANGUAGE_TAGS, *_TERM_TAGS):
            node = node.parent
        return node


def read_tbx(data: bytes) -> tuple[list[GlossaryEntry], list[GlossaryProblem]]:
    """Entries of a TBX termbase (raw bytes, any encoding the file declares) and the problems of its entries.

    A file that is not well-formed XML, declares entities, nests elements absurdly deep or is not a termbase
    gives one error and no entries. Entries without an Arabic term or without an English term to enforce are
    skipped with a warning.
    """
    reader = _Reader()
    try:
        reader.parse(data)
    except XMLRefused as refused:
        return [], [GlossaryProblem(ERROR, refused.message, refused.line)]
    return reader.entries, reader.problems


class _Reader:
    """Streams the file through expat, building a small tree per concept entry and converting it on its end tag."""

    def __init__(self) -> None:
        self.entries: list[GlossaryEntry] = []
        self.problems: list[GlossaryProblem] = []
        self._langs: list[str] = []
        self._current: _Node | None = None  # innermost open element inside a concept entry
        # Namespace processing is off on purpose: prefixes are stripped by hand, so a termbase with an
        # undeclared prefix still reads, and ``xml:lang`` stays a plain attribute name.
        self._parser = SafeXMLParser(self._start, self._end, self._characters, skipped_entity=self._entity_skipped)

    def parse(self, data: bytes) -> None:
        """Parse the whole file; bytes so that expat honours a BOM and the declared encoding."""
        self._parser.parse(data)

    @property
    def _line(self) -> int:
        return self._parser.line

    def _entity_skipped(self, name: str) -> None:
        # An entity a DTD we do not read might define (``&nbsp;``): its text is missing from the term.
        self.problems.append(GlossaryProblem(WARNING, f"entity '&{name};' is not expanded", self._line))

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        lang = _lang_attribute(attrs)
        if lang is None:
            lang = self._langs[-1] if self._langs else ""
        if not self._langs and tag not in _ROOTS:
            raise XMLRefused(f"not a TBX file (root element <{tag}>)", 1)
        self._langs.append(lang)
        if self._current is None and tag not in _ENTRY_TAGS:
            return
        node = _Node(tag, {_local(key): value for key, value in attrs.items()}, lang, self._line, self._current)
        if self._current is not None:
            self._current.parts.append(node)
        self._current = node

    def _end(self, _name: str) -> None:
        self._langs.pop()
        node = self._current
        if node is None:
            return
        self._current = node.parent
        if node.parent is None:
            self._convert(node)

    def _characters(self, text: str) -> None:
        if self._current is not None:
            self._current.parts.append(text)

    def _convert(self, entry: _Node) -> None:
        name = f"entry {entry.attrs['id']}" if entry.attrs.get("id") else "entry"
        arabic: list[_Node] = []
        english: list[_Node] = []
        for node in entry.walk():
            if node.tag != "term":
                continue
            if not node.text():
                self.problems.append(GlossaryProblem(WARNING, f"{name} has an empty term", node.line))
            elif _primary_language(node.lang) == "ar":
                arabic.append(node)
            elif _primary_language(node.lang) == "en":
                english.append(node)
        target = _target(entry, english)
        if not arabic or target is None:
            if not arabic:
                problem = "has no Arabic term"
            elif not english:
                problem = "has no English term"
            else:
                problem = "has only deprecated English terms"
            self.problems.append(GlossaryProblem(WARNING, f"{name} {problem}; skipped", entry.line))
            return
        source = arabic[0].text()
        variants = tuple(dict.fromkeys(term.text() for term in arabic[1:] if term.text() != source))
        term_types = {value.lower() for value in _term_values(entry, arabic[0], _TERM_TYPE)}
        match = EXACT if term_types & _SHORT_TERM_TYPES else CLITICS
        self.entries.append(GlossaryEntry(source=source, target=target.text(), note=_note(entry),
                                          variants=variants, match=match, line=entry.line))


def _target(entry: _Node, english: list[_Node]) -> _Node | None:
    """The English term to enforce: the first preferred one, else the first one still allowed."""
    statuses = [{_status(value) for value in _term_values(entry, term, *_STATUS_TYPES)} for term in english]
    for term, status in zip(english, statuses, strict=True):
        if status & _PREFERRED_STATUSES:
            return term
    for term, status in zip(english, statuses, strict=True):
        if not status & _UNUSABLE_STATUSES:
            return term
    return None


def _term_values(entry: _Node, term: _Node, *categories: str) -> list[str]:
    """Values of the given data categories attached to a term (in its tig, ntig or termSec)."""
    scope = term.scope() or entry
    if scope is entry or scope.tag in _LANGUAGE_TAGS:
        # A term outside any term section: only notes beside it can describe it.
        nodes = [part for part in (term.parent.parts if term.parent else []) if isinstance(part, _Node)]
    else:
        nodes = list(scope.walk())
    return [node.text() for node in nodes if node is not term and node.category() in categories]


def _status(value: str) -> str:
    """``preferredTerm-admn-sts`` and ``preferred`` alike become ``preferred``."""
    value = value.strip().lower().removesuffix("-admn-sts")
    return value.removesuffix("term") if value != "term" else value


def _note(entry: _Node) -> str:
    """The first definition or note, preferring the concept level over language and term levels."""
    levels = {tag: 0 for tag in _ENTRY_TAGS} | {tag: 1 for tag in _LANGUAGE_TAGS} | {tag: 2 for tag in _TERM_TAGS}
    best: tuple[int, int, int] | None = None
    text = ""
    for order, node in enumerate(entry.walk()):
        kind = (_DEFINITION, _NOTE).index(node.category()) if node.category() in (_DEFINITION, _NOTE) else -1
        if kind < 0 or not node.text():
            continue
        scope = node.scope()
        rank = (levels[scope.tag] if scope is not None else 0, kind, order)
        if best is None or rank < best:
            best, text = rank, node.text()
    return text


def _local(name: str) -> str:
    """An element or attribute name without its namespace prefix."""
    return name.rpartition(":")[2]


def _lang_attribute(attrs: dict[str, str]) -> str | None:
    # ``lang`` without the prefix is what early MARTIF files wrote.
    for key in ("xml:lang", "lang"):
        if key in attrs:
            return attrs[key]
    return None


def _primary_language(lang: str) -> str:
    """``ar`` for ``ar``, ``ar-SA`` and ``AR``; underscores tolerated as in ``ar_SA``."""
    return lang.strip().replace("_", "-").split("-")[0].lower()
