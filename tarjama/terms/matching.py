"""Finding glossary terms in Arabic text, through orthographic variation and attached clitics.

Arabic writes conjunctions, prepositions and the article onto the next word: وموسكو is و + موسكو,
للملف is ل + الملف (the article's alef drops after ل). A term is found when a written word can be
read as proclitics + the term's first word; the rest of a multiword term must follow as written.
Suffixes are never stripped: ملفات and الملفين are other words than ملف. Matching runs on folded
text (see :mod:`tarjama.text.arabic`) and maps every match back to offsets in the untouched source.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from tarjama.terms.clitics import ARTICLE, MIN_STEM, Reading, readings
from tarjama.terms.entries import CLITICS, WORD, Glossary, GlossaryEntry, term_key
from tarjama.text.arabic import fold_with_map, has_arabic_letters
from tarjama.text.articles import Document, Segment


@dataclass(frozen=True)
class TermMatch:
    """A glossary term found in the article; offsets index the source file's text.

    The span covers whole written words, attached clitics included, so editors see the word as
    written; ``proclitics`` says what was attached in front of the term.
    """

    paragraph: int
    segment: str
    start: int
    end: int
    surface: str
    source: str
    target: str
    proclitics: tuple[str, ...] = ()

    def to_json(self) -> dict:
        """The contract's ``terms --json`` match object, plus the entry's source and the clitics."""
        return {"paragraph": self.paragraph, "segment": self.segment, "start": self.start,
                "end": self.end, "surface": self.surface, "target": self.target, "source": self.source,
                "proclitics": list(self.proclitics)}


@dataclass(frozen=True)
class _Pattern:
    entry: GlossaryEntry
    rest: tuple[str, ...]  # the term's words after the first, as folded
    has_article: bool  # the term's first word starts with ال, which the text must have too
    as_written: bool  # exact-match entries and Latin terms: no clitics, no article
    latin: bool = False  # a Latin-script term: Arabic conjunctions and prepositions may be glued on (بـISIS)

    @property
    def words(self) -> int:
        return 1 + len(self.rest)


@dataclass(frozen=True)
class Found:
    """A match in a text: ``[start, end)`` in the original text and how the first word was read."""

    start: int
    end: int
    entry: GlossaryEntry
    proclitics: tuple[str, ...]


def _pattern_for(form: str, entry: GlossaryEntry) -> tuple[str, _Pattern]:
    key = term_key(form)
    first, rest = key[0], key[1:]
    if entry.match != CLITICS or not has_arabic_letters(first):
        return first, _Pattern(entry, rest, has_article=False, as_written=True,
                               latin=entry.match == CLITICS and not has_arabic_letters(first))
    if first.startswith(ARTICLE) and len(first) - len(ARTICLE) >= MIN_STEM:
        return first[len(ARTICLE):], _Pattern(entry, rest, has_article=True, as_written=False)
    return first, _Pattern(entry, rest, has_article=False, as_written=False)


class TermMatcher:
    """Finds glossary terms in text; built once per glossary, one dictionary lookup per reading."""

    def __init__(self, entries: Iterable[GlossaryEntry]) -> None:
        by_stem: dict[str, list[_Pattern]] = defaultdict(list)
        for entry in entries:
            for form in entry.forms:
                if term_key(form):
                    stem, pattern = _pattern_for(form, entry)
                    by_stem[stem].append(pattern)
        self._by_stem = dict(by_stem)

    def find(self, text: str, offset: int = 0) -> list[Found]:
        """Non-overlapping matches in ``text`` in reading order, offsets shifted by ``offset``.

        Of overlapping candidates the one with more words wins, then the longer, then the earlier.
        """
        folded = fold_with_map(text)
        words = list(WORD.finditer(folded.text))
        candidates: list[tuple[int, int, _Pattern, Reading]] = []
        for i, word in enumerate(words):
            for reading in readings(word.group()):
                for pattern in self._by_stem.get(reading.stem, ()):
                    if self._fits(pattern, reading, folded.text, words, i):
                        length = words[i + pattern.words - 1].end() - word.start()
                        candidates.append((i, length, pattern, reading))
        # A term written with the article is more specific than a bare one read with it (الملف over ملف).
        candidates.sort(key=lambda c: (-c[2].words, -c[1], c[0], not c[2].has_article, len(c[3].proclitics)))
        taken: set[int] = set()
        chosen = []
        for i, _, pattern, reading in candidates:
            span = range(i, i + pattern.words)
            if taken.isdisjoint(span):
                taken.update(span)
                chosen.append((i, pattern, reading))
        found = []
        for i, pattern, reading in sorted(chosen, key=lambda c: c[0]):
            start, end = folded.span_in_original(words[i].start(), words[i + pattern.words - 1].end())
            attached = reading.proclitics + ((ARTICLE,) if reading.article and not pattern.has_article else ())
            found.append(Found(start + offset, end + offset, pattern.entry, attached))
        return found

    @staticmethod
    def _fits(pattern: _Pattern, reading: Reading, folded: str, words: list[re.Match[str]], i: int) -> bool:
        if pattern.as_written:
            if reading.article or (reading.proclitics and not pattern.latin):
                return False
        elif pattern.has_article and not reading.article:
            return False
        end = i + pattern.words
        if end > len(words):
            return False
        following = words[i + 1:end]
        if any(w.group() != k for w, k in zip(following, pattern.rest, strict=True)):
            return False
        # A multiword term is one phrase: only spaces may separate its words, not punctuation.
        return all(not folded[a.end():b.start()].strip() for a, b in zip(words[i:end - 1], following, strict=True))


def find_terms(document: Document, glossary: Glossary | None) -> list[TermMatch]:
    """Every glossary occurrence in the article's segments, in reading order."""
    if glossary is None:
        return []
    matcher = TermMatcher(glossary.entries)
    return [match for segment in document.segments for match in find_terms_in_segment(segment, matcher)]


def find_terms_in_segment(segment: Segment, matcher: TermMatcher) -> list[TermMatch]:
    """Glossary occurrences inside one segment."""
    return [
        TermMatch(paragraph=segment.paragraph, segment=segment.id, start=found.start, end=found.end,
                  surface=segment.text[found.start - segment.start:found.end - segment.start],
                  source=found.entry.source, target=found.entry.target, proclitics=found.proclitics)
        for found in matcher.find(segment.text, offset=segment.start)
    ]
