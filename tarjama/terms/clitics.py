"""Readings of a written Arabic word: the conjunctions, prepositions and article attached in front.

وموسكو is و + موسكو, للملف is ل + الملف (the article's alef drops after ل). The matcher reads each
word this way; the glossary check uses the same readings to find an entry that only repeats another
with a proclitic attached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from tarjama.terms.entries import GlossaryEntry
from tarjama.text.arabic import has_arabic_letters

CONJUNCTIONS = ("و", "ف")


PREPOSITIONS = ("ب", "ك", "ل")


ARTICLE = "ال"


# Shorter remainders are more often part of a word than a word of their own (بي is not ب + ي).
MIN_STEM = 2


@dataclass(frozen=True)
class Reading:
    """One way to read a written word: attached proclitics, perhaps the article, then the stem."""

    proclitics: tuple[str, ...]
    article: bool
    stem: str


@lru_cache(maxsize=200_000)
def readings(word: str) -> tuple[Reading, ...]:
    """Every reading of a folded word, the word as written first."""
    found = [Reading((), False, word)]
    if not has_arabic_letters(word):
        return tuple(found)
    for conjunction in ("", *CONJUNCTIONS):
        if not word.startswith(conjunction):
            continue
        after_conjunction = word[len(conjunction):]
        for preposition in ("", *PREPOSITIONS):
            if not after_conjunction.startswith(preposition):
                continue
            rest = after_conjunction[len(preposition):]
            attached = tuple(p for p in (conjunction, preposition) if p)
            if attached and len(rest) >= MIN_STEM:
                found.append(Reading(attached, False, rest))
            if rest.startswith(ARTICLE) and len(rest) - len(ARTICLE) >= MIN_STEM:
                found.append(Reading(attached, True, rest[len(ARTICLE):]))
            if preposition == "ل" and rest.startswith("ل"):
                # ل + ال drops the alef (للملف is ل + الملف); before a stem that starts with ل, one lam
                # goes too (للجنة is ل + اللجنة).
                if len(rest) - 1 >= MIN_STEM:
                    found.append(Reading(attached, True, rest[1:]))
                if len(rest) >= MIN_STEM:
                    found.append(Reading(attached, True, rest))
    return tuple(dict.fromkeys(found))


def redundant_proclitic(key: tuple[str, ...], owner: Mapping[tuple[str, ...], GlossaryEntry]
                        ) -> GlossaryEntry | None:
    """The entry that ``key`` merely repeats with a proclitic or the article attached (لإيرين بورنيت)."""
    if not key:
        return None
    itself = owner.get(key)
    for reading in readings(key[0]):
        if not reading.proclitics and not reading.article:
            continue
        stems = [reading.stem] + ([ARTICLE + reading.stem] if reading.article else [])
        for stem in stems:
            covering = owner.get((stem, *key[1:]))
            if covering is not None and covering is not itself:
                return covering
    return None
