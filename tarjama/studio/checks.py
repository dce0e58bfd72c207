"""The studio's check of an editor's English, as they type and when they confirm it, as a CAT tool's QA does.

Each finding is the pipeline's own test, named by the run record's :class:`~tarjama.record.labels.Flag`: a glossary
term's target not in the English (the contract's hit test, as the run scores it), a term only inside a longer
word, a number of the Arabic missing, Arabic letters left, a loop of repeated words; and, for an article run with
``--strict-terms``, that publishing will set the approval aside, since strict mode puts every term in (the rule
of :func:`tarjama.translate.incremental.prepare`). A warning never stops a confirm: the editor may know better.
"""

from __future__ import annotations

from dataclasses import dataclass

from tarjama.record.labels import Flag
from tarjama.record.reader import SegmentView, TermView
from tarjama.scores.quality import arabic_in_english, missing_numbers, repetition_loop
from tarjama.terms.english import target_in_translation, term_in_words


@dataclass(frozen=True)
class StudioTerm:
    """A glossary term of a segment: the Arabic as it stands, its glossary English, and whether the English has it.

    ``how`` is how the published English got it (the run record's term ``how``); ``None`` for a term whose
    record does not say.
    """

    surface: str
    target: str
    hit: bool
    how: str | None = None
    start: int | None = None  # where the surface is in the segment's Arabic (characters), when the record says
    end: int | None = None


@dataclass(frozen=True)
class EnglishWarning:
    """Something about an English an editor should look at: the flag it would carry and what to look for."""

    flag: str
    message: str


@dataclass(frozen=True)
class EnglishCheck:
    """The terms of a segment as a given English has them, and the warnings about that English."""

    terms: tuple[StudioTerm, ...]
    warnings: tuple[EnglishWarning, ...]


def check_english(segment: SegmentView, english: str, *, strict_terms: bool) -> EnglishCheck:
    """Check ``english`` as the English of ``segment`` (of an article run with ``strict_terms`` or not)."""
    terms = tuple(StudioTerm(term.surface or term.source or "", term.target,
                             target_in_translation(term.target, english), term.how, *_place(term, segment))
                  for term in segment.terms if term.target)
    missing = list(dict.fromkeys(term.target for term in terms if not term.hit))
    inside_word = list(dict.fromkeys(term.target for term in terms
                                     if term.hit and not term_in_words(term.target, english)))
    warnings = []
    if missing:
        warnings.append(EnglishWarning(Flag.TERM_MISSED, f"glossary term missing: {_listed(missing)}"))
        if strict_terms:
            warnings.append(EnglishWarning(
                Flag.APPROVAL_SET_ASIDE,
                f"this article is run with --strict-terms: publishing sets this English aside (it lacks "
                f"{_listed(missing)}) and publishes the model's English with every term instead"))
    if inside_word:
        warnings.append(EnglishWarning(Flag.TERM_INSIDE_WORD,
                                       f"glossary term only inside a longer word: {_listed(inside_word)}"))
    numbers = missing_numbers(segment.source, english)
    if numbers:
        warnings.append(EnglishWarning(Flag.NUMBER_MISMATCH,
                                       f"numbers differ from the Arabic: {', '.join(numbers)} not in the English"))
    if arabic_in_english(english):
        warnings.append(EnglishWarning(Flag.ARABIC_IN_ENGLISH, "Arabic left in the English"))
    if repetition_loop(english):
        warnings.append(EnglishWarning(Flag.REPETITION, "repeated words: check for a loop"))
    return EnglishCheck(terms, tuple(warnings))


def _place(term: TermView, segment: SegmentView) -> tuple[int | None, int | None]:
    """The term's place in the segment's Arabic: the record's offsets are the article's."""
    if None in (term.start, term.end, segment.start):
        return None, None
    start, end = term.start - segment.start, term.end - segment.start  # type: ignore[operator]
    return (start, end) if 0 <= start < end <= len(segment.source) else (None, None)


def _listed(items: list[str]) -> str:
    return ", ".join(f"“{item}”" for item in items)
