"""Terminology glossaries: the contract's TSV file and finding its terms in an article."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from tarjama.arabic import fold_with_map
from tarjama.documents import Document, Segment, decode_text, read_input_bytes
from tarjama.errors import InputError

# A word is a run of letters/digits, hyphens or apostrophes inside it (ISIS-K is one word).
_WORD = re.compile(r"\w+(?:[-'’]\w+)*")


@dataclass(frozen=True)
class GlossaryEntry:
    """One row: an Arabic source term and the English the translation must use."""

    source: str
    target: str
    note: str = ""
    line: int = 0


@dataclass(frozen=True)
class TermMatch:
    """A glossary term found in the article; offsets index the source file's text."""

    paragraph: int
    segment: str
    start: int
    end: int
    surface: str
    source: str
    target: str

    def to_json(self) -> dict:
        """The contract's ``terms --json`` match object."""
        return {"paragraph": self.paragraph, "segment": self.segment, "start": self.start,
                "end": self.end, "surface": self.surface, "target": self.target}


@dataclass(frozen=True)
class Glossary:
    """A loaded glossary; ``sha256`` identifies the exact file used by a run."""

    path: Path
    sha256: str
    entries: tuple[GlossaryEntry, ...]

    def to_json(self) -> dict:
        """The run record's ``glossary`` object."""
        return {"path": str(self.path), "sha256": self.sha256, "entries": len(self.entries)}


def load_glossary(path: Path | str) -> Glossary:
    """Load a TSV glossary, raising :class:`InputError` with file and line for a bad row."""
    path = Path(path)
    data = read_input_bytes(path, "glossary file")
    text = decode_text(data, path)
    entries = _parse_rows(text.split("\n"), path)
    if not entries:
        raise InputError("glossary has no entries", path=path)
    return Glossary(path=path, sha256=hashlib.sha256(data).hexdigest(), entries=tuple(entries))


def _parse_rows(lines: list[str], path: Path) -> list[GlossaryEntry]:
    columns = ["source", "target", "note"]
    seen: dict[str, GlossaryEntry] = {}
    header_possible = True
    for number, raw in enumerate(lines, start=1):
        line = raw.lstrip("\ufeff")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        if header_possible:
            header_possible = False
            if [c.lower() for c in cells[:2]] == ["source", "target"]:
                columns = [c.lower() for c in cells]
                continue
        row = dict(zip(columns, cells, strict=False))  # short rows leave optional columns empty
        source, target = row.get("source", ""), row.get("target", "")
        if not source:
            raise InputError("entry has no Arabic source term", path=path, line=number)
        if not target:
            raise InputError(f"entry '{source}' has no English target", path=path, line=number)
        entry = GlossaryEntry(source=source, target=target, note=row.get("note", ""), line=number)
        key = _term_key(source)
        if not key:
            raise InputError(f"entry '{source}' has no letters to match", path=path, line=number)
        previous = seen.get(" ".join(key))
        if previous is not None and previous.target != target:
            raise InputError(
                f"'{source}' is given the target '{target}' here and '{previous.target}' "
                f"on line {previous.line}", path=path, line=number)
        seen.setdefault(" ".join(key), entry)
    return list(seen.values())


def _term_key(text: str) -> tuple[str, ...]:
    return tuple(m.group() for m in _WORD.finditer(fold_with_map(text).text))


class TermMatcher:
    """Finds glossary terms in text: whole words, after Arabic folding, longest match first."""

    def __init__(self, entries: Iterable[GlossaryEntry]) -> None:
        by_first_word: dict[str, list[tuple[tuple[str, ...], GlossaryEntry]]] = defaultdict(list)
        for entry in entries:
            key = _term_key(entry.source)
            by_first_word[key[0]].append((key, entry))
        for candidates in by_first_word.values():
            candidates.sort(key=lambda item: -len(item[0]))
        self._by_first_word = dict(by_first_word)

    def find(self, text: str, offset: int = 0) -> list[tuple[int, int, GlossaryEntry]]:
        """Non-overlapping ``(start, end, entry)`` matches in ``text``, offsets shifted by ``offset``."""
        folded = fold_with_map(text)
        words = list(_WORD.finditer(folded.text))
        found = []
        i = 0
        while i < len(words):
            match = self._longest_at(folded.text, words, i)
            if match is None:
                i += 1
                continue
            length, entry = match
            start, end = folded.span_in_original(words[i].start(), words[i + length - 1].end())
            found.append((start + offset, end + offset, entry))
            i += length
        return found

    def _longest_at(self, folded: str, words: list[re.Match[str]], i: int
                    ) -> tuple[int, GlossaryEntry] | None:
        for key, entry in self._by_first_word.get(words[i].group(), ()):
            if i + len(key) > len(words):
                continue
            window = words[i:i + len(key)]
            if all(w.group() == k for w, k in zip(window, key, strict=True)) and _only_spaces_between(folded, window):
                return len(key), entry
        return None


def _only_spaces_between(folded: str, words: list[re.Match[str]]) -> bool:
    return all(not folded[a.end():b.start()].strip() for a, b in pairwise(words))


def find_terms(document: Document, glossary: Glossary | None) -> list[TermMatch]:
    """Every glossary occurrence in the article's segments, in reading order."""
    if glossary is None:
        return []
    matcher = TermMatcher(glossary.entries)
    return [match for segment in document.segments for match in find_terms_in_segment(segment, matcher)]


def find_terms_in_segment(segment: Segment, matcher: TermMatcher) -> list[TermMatch]:
    """Glossary occurrences inside one segment."""
    return [
        TermMatch(paragraph=segment.paragraph, segment=segment.id, start=start, end=end,
                  surface=segment.text[start - segment.start:end - segment.start],
                  source=entry.source, target=entry.target)
        for start, end, entry in matcher.find(segment.text, offset=segment.start)
    ]


def target_in_translation(target: str, translation: str) -> bool:
    """The contract's hit test: the English target occurs, case-insensitively, in the translation."""
    return target.lower() in translation.lower()
