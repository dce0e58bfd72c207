"""Glossary terms in the English: choosing, forcing and, as a last resort, placing them.

How a term's target reached a segment's English (the run record's ``how``):

- ``model``: the model's best hypothesis had it;
- ``hypothesis``: a beam alternative with more glossary hits was chosen (soft mode);
- ``forced``: strict mode re-decoded the sentence, forcing the term's tokens;
- ``replaced``: strict mode's last resort put the target into the finished English;
- ``approved``: the sentence is an editor's approved English, which has the target;
- ``inside_word``: the target occurs only inside a longer word ("ISIS" in "crisis"): the contract's
  ``hit`` (a case-insensitive substring) is true, but the term is not there; flagged for editors;
- ``missed``: the target is not in the English; the segment is flagged for editors.

Every decision (which beam alternative, what to force, what to place) asks whether the target is
there as a word; ``hit`` stays the contract's substring test.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tarjama.terms.english import target_in_translation, term_in_words
from tarjama.terms.matching import TermMatch
from tarjama.translate.types import Translation

MODEL = "model"
HYPOTHESIS = "hypothesis"
FORCED = "forced"
REPLACED = "replaced"
MISSED = "missed"
APPROVED = "approved"  # in an editor-approved sentence, which is never changed
INSIDE_WORD = "inside_word"
HOWS = (MODEL, HYPOTHESIS, FORCED, REPLACED, APPROVED, INSIDE_WORD, MISSED)

# Segment flags (the run record's ``flags``) that send an editor to a term.
TERM_MISSED = "term_missed"  # a glossary term's target is not in the English
TERM_FORCED = "term_forced"  # strict mode forced a term into the decoding: check the sentence reads well
TERM_REPLACED = "term_replaced"  # strict mode put a term into the finished English: check where it went
TERM_INSIDE_WORD = "term_inside_word"  # a target only inside a longer word: the term is not really there

_SENTENCE_END = ".!?…"
# A span of the English this similar to the target (and with its first letter) is taken to be the
# model's attempt at it.
_SIMILAR_ENOUGH = 0.7








def outcome_how(target: str, english: str, found_as: str) -> str:
    """``found_as`` when the target is in ``english`` as a word; else inside a word, or missed."""
    if term_in_words(target, english):
        return found_as
    return INSIDE_WORD if target_in_translation(target, english) else MISSED


@dataclass(frozen=True)
class TermOutcome:
    """A matched term and whether (and how) its target is in the segment's English."""

    match: TermMatch
    hit: bool
    how: str

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
    hold one of the ``keep`` targets; otherwise the target is inserted at the nearest word boundary,
    before any sentence-final punctuation.
    """
    words = english.split()
    if not words:
        return target
    at = min(len(words), max(0, round(fraction * len(words))))
    width = len(target.split())
    candidates = []
    for start in range(len(words) - width + 1):
        window = " ".join(words[start:start + width]).strip(_SENTENCE_END + ",;:")
        if not window or window[0].lower() != target[0].lower():
            continue
        if any(target_in_translation(kept, window) for kept in keep):
            continue
        similarity = difflib.SequenceMatcher(None, window.lower(), target.lower()).ratio()
        if similarity >= _SIMILAR_ENOUGH:
            candidates.append((similarity - abs(start - at) / (4 * len(words)), -start))
    if candidates:
        start = -max(candidates)[1]
        last = words[start + width - 1]
        trailing = last[len(last.rstrip(_SENTENCE_END + ",;:")):]
        return " ".join([*words[:start], target + trailing, *words[start + width:]])
    if at == len(words):
        last = words[-1]
        core = last.rstrip(_SENTENCE_END)
        if core != last:
            return " ".join([*words[:-1], core, target + last[len(core):]]) if core else \
                " ".join([*words[:-1], target + last])
    return " ".join([*words[:at], target, *words[at:]])


def settle_terms(english: str, matches: Sequence[TermMatch], *, strict: bool,
                 how_in_pieces: Mapping[TermMatch, str] | None = None, segment_start: int = 0,
                 segment_length: int = 0) -> tuple[str, list[TermOutcome]]:
    """Each term's outcome in a finished segment; in strict mode, place the targets still missing.

    ``how_in_pieces`` says how each term was met while decoding; a term found in the English
    without an entry there counts as the model's.
    """
    how_in_pieces = how_in_pieces or {}
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
        if not before[match]:
            how = REPLACED  # placed for this occurrence, for an earlier one, or inside another target
        else:
            how = how_in_pieces.get(match, MODEL)
            how = MODEL if how == MISSED else how
        outcomes.append(TermOutcome(match=match, hit=target_in_translation(match.target, english),
                                    how=outcome_how(match.target, english, how)))
    return english, outcomes


def term_flags(outcomes: Sequence[TermOutcome]) -> list[str]:
    """The segment flags that the terms' outcomes call for."""
    hows = {outcome.how for outcome in outcomes}
    flags = [TERM_FORCED] if FORCED in hows else []
    if REPLACED in hows:
        flags.append(TERM_REPLACED)
    if INSIDE_WORD in hows:
        flags.append(TERM_INSIDE_WORD)
    if any(not outcome.hit for outcome in outcomes):
        flags.append(TERM_MISSED)
    return flags
