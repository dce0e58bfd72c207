"""Fuzzy matches: the approved sentences of the memory closest to a sentence it has no approval for.

What every CAT tool shows when a source sentence changed: the editor's earlier English of the nearest sentence.
The similarity is rapidfuzz's :func:`~rapidfuzz.fuzz.ratio` (the Indel distance normalised, from 0 to 1) of the
two sentences as the memory looks them up (:func:`~tarjama.memory.store.normalise_source`). Character-level on
purpose: Arabic writes its clitics (و، ب، ل، ال) into the word, so a word-level scorer (token ratios) would count
"والكتاب" and "الكتاب" as two different words, where the character ratio sees one letter added; and a partial
scorer (``partial_ratio``, ``WRatio``) would call a short sentence inside a long one a near match.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from tarjama.memory.store import TranslationMemory, normalise_source

DEFAULT_CUTOFF = 0.6
DEFAULT_LIMIT = 3


@dataclass(frozen=True)
class FuzzyMatch:
    """An approved sentence near the one asked about: its Arabic, the editor's English and the similarity (0–1)."""

    source: str
    target: str
    similarity: float


def closest_approved(memory: TranslationMemory, source: str, *, limit: int = DEFAULT_LIMIT,
                     cutoff: float = DEFAULT_CUTOFF) -> list[FuzzyMatch]:
    """The ``limit`` approved sentences most like ``source`` (at least ``cutoff`` similar), closest first.

    The sentence's own approval is not a fuzzy match: none is offered for a sentence the memory approves.
    Equally close sentences come oldest approval first.
    """
    key = normalise_source(source)
    if limit <= 0 or not key or memory.approved(key) is not None:
        return []
    # The memory keeps each approved sentence normalised already (its look-up key): normalising the 10,000
    # sentences of a large memory again (rapidfuzz's processor=) would take twenty times the matching itself.
    found = process.extract(key, memory.approved_keys(), scorer=fuzz.ratio, score_cutoff=cutoff * 100, limit=limit)
    matches = []
    for match_key, score, _ in found:
        entry = memory.approved(match_key)
        if entry is not None:  # None: withdrawn by another process since the keys were read
            matches.append(FuzzyMatch(entry.source, entry.target, round(score / 100, 3)))
    return matches
