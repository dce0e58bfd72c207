"""Glossary entries and the words they are made of: what every reader, check and matcher shares.

A glossary file (TSV or TBX) becomes :class:`GlossaryEntry` rows; ``match`` says how a term may
appear in the text, and :func:`term_key` is the folded form matching compares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tarjama.text.arabic import fold

# How a term may appear in the text (the optional ``match`` column).
CLITICS = "clitics"  # with proclitics و ف ب ك ل and the article ال on the first word (the default)


EXACT = "exact"  # only as written (after folding vowels, tatweel and alef forms): short, ambiguous terms


MATCH_RULES = (CLITICS, EXACT)


ERROR = "error"


WARNING = "warning"


# A word is a run of letters/digits, hyphens or apostrophes inside it (ISIS-K is one word).
WORD = re.compile(r"\w+(?:[-'’]\w+)*")


@dataclass(frozen=True)
class GlossaryEntry:
    """One term: its Arabic forms and the English the translation must use."""

    source: str
    target: str
    note: str = ""
    variants: tuple[str, ...] = ()
    match: str = CLITICS
    line: int = 0

    @property
    def forms(self) -> tuple[str, ...]:
        """Every Arabic spelling that counts as this term, the main one first."""
        return (self.source, *self.variants)


@dataclass(frozen=True)
class GlossaryProblem:
    """Something wrong or suspicious in a glossary file; ``line`` is 1-based, ``None`` for the file."""

    severity: str
    message: str
    line: int | None = None
    conflicts_with: int | None = None  # for a term given two targets: the line of the entry it conflicts with

    def describe(self, path: Path | str) -> str:
        """``path:line: severity: message``, as compilers and linters print it."""
        where = f"{path}:{self.line}" if self.line is not None else str(path)
        return f"{where}: {self.severity}: {self.message}"

    def to_json(self) -> dict:
        """The problem as ``glossary check --json`` prints it."""
        return {"line": self.line, "severity": self.severity, "message": self.message}


@dataclass(frozen=True)
class Glossary:
    """A loaded glossary; ``sha256`` identifies the exact file used by a run."""

    path: Path
    sha256: str
    entries: tuple[GlossaryEntry, ...]

    def to_json(self) -> dict:
        """The run record's ``glossary`` object."""
        return {"path": str(self.path), "sha256": self.sha256, "entries": len(self.entries)}


def term_key(text: str) -> tuple[str, ...]:
    """A term's words after folding: the form matching compares."""
    return tuple(m.group() for m in WORD.finditer(fold(text)))
