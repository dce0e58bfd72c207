"""Fuzzy matches: the approved sentences of the memory closest to a sentence it has no approval for.

What every CAT tool shows when a source sentence changed: the editor's earlier English of the nearest sentence.
The similarity is :class:`difflib.SequenceMatcher`'s ratio of the two sentences as the memory looks them up
(:func:`~tarjama.memory.store.normalise_source`), from 0 to 1; rapidfuzz is the intended library (faster on a
large memory), not a dependency yet.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

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
    """
    key = normalise_source(source)
    if not key or memory.approved(source) is not None:
        return []
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(key)  # the sentence asked about is compared with each: its analysis is kept (seq2)
    found = []
    for entry in memory.all_approved():
        matcher.set_seq1(normalise_source(entry.source))
        # The cheap upper bounds first, as difflib.get_close_matches does.
        if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff:
            ratio = matcher.ratio()
            if ratio >= cutoff:
                found.append(FuzzyMatch(entry.source, entry.target, round(ratio, 3)))
    return sorted(found, key=lambda match: -match.similarity)[:limit]
