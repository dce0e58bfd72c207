"""Checking, and in strict mode guaranteeing, that glossary targets reach the English."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tarjama.glossary import TermMatch, target_in_translation

# How a term's target reached the English (the run record's ``how``).
BY_MODEL = "model"
APPENDED = "appended"  # strict mode's last resort: added after the sentence, flagged for editors
MISSED = "missed"

_SENTENCE_END = ".!?"


@dataclass(frozen=True)
class TermOutcome:
    """A matched term and whether (and how) its target is in the segment's English."""

    match: TermMatch
    hit: bool
    how: str

    def to_json(self) -> dict:
        """The run record's term object."""
        return {"surface": self.match.surface, "source": self.match.source, "target": self.match.target,
                "start": self.match.start, "end": self.match.end, "hit": self.hit, "how": self.how}


def check_terms(english: str, matches: Sequence[TermMatch], *, strict: bool) -> tuple[str, list[TermOutcome]]:
    """Return the (in strict mode, completed) English and each term's outcome."""
    missing = [m for m in matches if not target_in_translation(m.target, english)]
    if strict and missing:
        english = _append_targets(english, _unique_targets(missing))
    outcomes = []
    for match in matches:
        hit = target_in_translation(match.target, english)
        how = BY_MODEL if match not in missing else (APPENDED if hit else MISSED)
        outcomes.append(TermOutcome(match=match, hit=hit, how=how))
    return english, outcomes


def _unique_targets(matches: Sequence[TermMatch]) -> list[str]:
    targets: list[str] = []
    for match in matches:
        if not any(target_in_translation(match.target, t) for t in targets):
            targets.append(match.target)
    return targets


def _append_targets(english: str, targets: list[str]) -> str:
    addition = "(" + "; ".join(targets) + ")"
    body = english.rstrip()
    end = len(body)
    while end > 0 and body[end - 1] in _SENTENCE_END:
        end -= 1
    return f"{body[:end]} {addition}{body[end:]}".strip()
