"""Glossary terms in the English: choosing, forcing and, as a last resort, placing them.

Every decision (which beam alternative, what to force, what to place) asks whether the target is
there as a word; ``hit`` stays the contract's substring test. The pipeline records, for each term,
what put its target into the English (a :class:`TermSource`), and :func:`decide_how` alone turns that
and the finished English into the run record's ``how`` (a :class:`~tarjama.record.labels.How`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from tarjama.record.labels import Flag, How
from tarjama.terms.english import target_in_translation, term_in_words
from tarjama.terms.matching import TermMatch
from tarjama.translate.types import Translation

_SENTENCE_END = ".!?…"
# A span of the English this similar to the target (and with its first letter) is taken to be the
# model's attempt at it.
_SIMILAR_ENOUGH = 0.7


class TermSource(Enum):
    """What put a term's target into a segment's English, as the pipeline records it."""

    APPROVAL = "an editor's approved English"
    # The model's own decoding: its best hypothesis, or a strict re-decoding that had the term without forcing
    # it; also a target found in the joined English that no piece's decoding had (across a cut).
    MODEL = "the model's decoding"
    ALTERNATIVE = "a beam alternative chosen for its glossary hits"
    SEARCH = "strict mode's constraint-aware decoding"
    FORCING = "a strict re-decoding that forced the term at its position (the fall-back)"
    PLACEMENT = "strict mode's last resort, placing the target into the finished English"


class Presence(Enum):
    """The English-side test of a target in a finished English (see :mod:`tarjama.terms.english`)."""

    AS_WORD = "as a word"
    INSIDE_WORD = "only inside a longer word"
    ABSENT = "absent"


def presence(target: str, english: str) -> Presence:
    """Whether ``target`` is in ``english`` as a word, only inside a longer word, or not at all."""
    if term_in_words(target, english):
        return Presence.AS_WORD
    return Presence.INSIDE_WORD if target_in_translation(target, english) else Presence.ABSENT


_HOW_OF_SOURCE = {TermSource.APPROVAL: How.APPROVED, TermSource.MODEL: How.MODEL,
                  TermSource.ALTERNATIVE: How.HYPOTHESIS, TermSource.SEARCH: How.CONSTRAINED,
                  TermSource.FORCING: How.FORCED,
                  TermSource.PLACEMENT: How.REPLACED}


def decide_how(source: TermSource, found: Presence) -> How:
    """A term's ``how``: what put its target in, when the finished English has it as a word; else why not."""
    if found is Presence.AS_WORD:
        return _HOW_OF_SOURCE[source]
    return How.INSIDE_WORD if found is Presence.INSIDE_WORD else How.MISSED


@dataclass(frozen=True)
class TermOutcome:
    """A matched term and whether (and how) its target is in the segment's English."""

    match: TermMatch
    hit: bool
    how: How

    @classmethod
    def settled(cls, match: TermMatch, source: TermSource, english: str) -> TermOutcome:
        """The outcome of a term whose target ``source`` put into the finished ``english`` (or tried to)."""
        found = presence(match.target, english)
        return cls(match=match, hit=found is not Presence.ABSENT, how=decide_how(source, found))

    def to_json(self) -> dict:
        """The run record's term object."""
        return {"surface": self.match.surface, "source": self.match.source, "target": self.match.target,
                "start": self.match.start, "end": self.match.end, "proclitics": list(self.match.proclitics),
                "hit": self.hit, "how": self.how}


@dataclass(frozen=True)
class Choice:
    """The hypothesis taken for a sentence: its text, and whether it is a beam alternative."""

    text: str
    truncated: bool
    alternative: bool


def choose_hypothesis(translation: Translation, targets: Sequence[str], margin: float) -> Choice:
    """The best hypothesis, unless an alternative at most ``margin`` less probable has more term hits."""
    def hits(text: str) -> int:
        return sum(term_in_words(target, text) for target in targets)

    chosen = Choice(translation.text, translation.truncated, alternative=False)
    if translation.score is None or margin <= 0:
        return chosen
    best_hits = hits(translation.text)
    for hypothesis in translation.alternatives:
        if hypothesis.score >= translation.score - margin and hits(hypothesis.text) > best_hits:
            chosen, best_hits = Choice(hypothesis.text, hypothesis.truncated, alternative=True), hits(hypothesis.text)
    return chosen


def place_term(english: str, target: str, fraction: float, *, keep: Sequence[str] = ()) -> str:
    """Last resort: put ``target`` where its source term sits (``fraction`` of the way through).

    Words near that place that look like a garbled attempt at the target are replaced, unless they
    hold one of the ``keep`` targets (or a part of one); otherwise the target is inserted at the nearest
    word boundary that does not split a ``keep`` target, before any sentence-final punctuation.
    """
    words = english.split()
    if not words:
        return target
    at = min(len(words), max(0, round(fraction * len(words))))
    width = len(target.split())
    kept = _kept_spans(words, keep)
    candidates = []
    for start in range(len(words) - width + 1):
        window = " ".join(words[start:start + width]).strip(_SENTENCE_END + ",;:")
        if not window or window[0].lower() != target[0].lower():
            continue
        if any(start < end and begin < start + width for begin, end in kept):
            continue  # replacing these words would take out (a part of) a target already in
        similarity = difflib.SequenceMatcher(None, window.lower(), target.lower()).ratio()
        if similarity >= _SIMILAR_ENOUGH:
            candidates.append((similarity - abs(start - at) / (4 * len(words)), -start))
    if candidates:
        start = -max(candidates)[1]
        last = words[start + width - 1]
        trailing = last[len(last.rstrip(_SENTENCE_END + ",;:")):]
        return " ".join([*words[:start], target + trailing, *words[start + width:]])
    at = _outside_spans(at, kept)
    if at == len(words):
        last = words[-1]
        core = last.rstrip(_SENTENCE_END)
        if core != last:
            return " ".join([*words[:-1], core, target + last[len(core):]]) if core else \
                " ".join([*words[:-1], target + last])
    return " ".join([*words[:at], target, *words[at:]])


def _kept_spans(words: Sequence[str], keep: Sequence[str]) -> list[tuple[int, int]]:
    """The word ranges ``[begin, end)`` of the English that hold a ``keep`` target (its fewest words)."""
    spans = []
    for target in keep:
        width = len(target.split())
        spans += [(begin, begin + width) for begin in range(len(words) - width + 1)
                  if target_in_translation(target, " ".join(words[begin:begin + width]))]
    return spans


def _outside_spans(at: int, spans: Sequence[tuple[int, int]]) -> int:
    """The word boundary nearest ``at`` that is not inside one of ``spans`` (after the span on a tie)."""
    for _ in range(len(spans) + 1):
        inside = [(begin, end) for begin, end in spans if begin < at < end]
        if not inside:
            return at
        begin, end = inside[0]
        at = begin if at - begin < end - at else end
    return at


def settle_terms(english: str, matches: Sequence[TermMatch], *, strict: bool,
                 found_in_pieces: Mapping[TermMatch, TermSource | None] | None = None, segment_start: int = 0,
                 segment_length: int = 0) -> tuple[str, list[TermOutcome]]:
    """Each term's outcome in a finished segment; in strict mode, place the targets still missing.

    ``found_in_pieces`` says what put each term's target into its piece's English while decoding
    (``None``: nothing did); a term found in the joined English without a source there counts as the model's.
    """
    found_in_pieces = found_in_pieces or {}
    before = {match: term_in_words(match.target, english) for match in matches}
    if strict:
        for match in matches:
            if term_in_words(match.target, english):
                continue
            fraction = (match.start - segment_start) / segment_length if segment_length else 1.0
            present = [m.target for m in matches if target_in_translation(m.target, english)]
            english = place_term(english, match.target, fraction, keep=present)
    outcomes = []
    for match in matches:
        if strict and not before[match]:
            source = TermSource.PLACEMENT  # for this occurrence, for an earlier one, or inside another target
        else:
            source = found_in_pieces.get(match) or TermSource.MODEL
        outcomes.append(TermOutcome.settled(match, source, english))
    return english, outcomes


def term_flags(outcomes: Sequence[TermOutcome]) -> list[Flag]:
    """The segment flags that the terms' outcomes call for."""
    hows = {outcome.how for outcome in outcomes}
    flags = [Flag.TERM_FORCED] if hows & {How.CONSTRAINED, How.FORCED} else []
    if How.REPLACED in hows:
        flags.append(Flag.TERM_REPLACED)
    if How.INSIDE_WORD in hows:
        flags.append(Flag.TERM_INSIDE_WORD)
    if any(not outcome.hit for outcome in outcomes):
        flags.append(Flag.TERM_MISSED)
    return flags
