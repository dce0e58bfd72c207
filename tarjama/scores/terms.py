"""Term metrics of a test set: term success (WMT23 terminology style), duplication and consistency.

Every figure is over *matched terms*: the glossary occurrences the library's matcher finds in each source
line (:mod:`tarjama.terms.matching`), judged against that line's English.

- A matched term is a **hit** when its target occurs, case-insensitively, in the line's English: the
  contract's hit test (:func:`~tarjama.terms.english.target_in_translation`), as WMT23 counted it.
- A target's **count** in the English is its occurrences as a word (:func:`~tarjama.terms.english.target_pattern`:
  "ISIS" is not in "crisis"; plurals and possessives count), claimed longest first among the line's matched
  targets and their known renderings, so that "Putin" inside "Vladimir Putin" is not a second Putin when the
  line matched both. A line's matched terms with one target are **duplicated** by the count's excess over how
  many times the Arabic has that target (its matches in the line): a term twice in the Arabic and twice in the
  English is not duplicated; once in the Arabic and twice in the English is. The excess is charged to the
  line's first matches of that target, at most one per match.
- A glossary entry matched twice or more in the test set is **consistent** when every one of its occurrences
  is a hit. A miss makes it inconsistent: without an aligner the eval cannot tell whether the other renderings
  agree, so the figure is a lower bound (the run record's consistency, :class:`~tarjama.scores.scoring.TermStats`,
  counts agreement with the majority, hits or misses: an upper bound).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tarjama.terms.english import target_in_translation, target_pattern


class MatchedTerm(Protocol):
    """A glossary term found in a source line: a :class:`~tarjama.terms.matching.TermMatch`, or a glossary entry."""

    @property
    def source(self) -> str:
        """The glossary entry's Arabic (its main form): what per-term figures are keyed by."""
        ...

    @property
    def target(self) -> str:
        """The English the translation must contain."""
        ...


@dataclass(frozen=True)
class TermVerdict:
    """How one matched term fared in its line's English."""

    source: str
    target: str
    hit: bool
    duplicated: bool


def english_counts(targets: Iterable[str], english: str,
                   renderings: Mapping[str, Sequence[str]] | None = None) -> dict[str, int]:
    """Each target's occurrences as a word in ``english``, keyed by the target lower-cased.

    ``renderings`` gives other English forms of a target (the model's own spelling of the same name, where the
    eval knows one): their occurrences count as the target's. Forms claim their spans longest first and an
    occurrence overlapping a claimed span is not counted again.
    """
    forms: dict[str, str] = {}  # a form, lower-cased → its target's key
    for target in targets:
        key = target.lower()
        for form in (target, *(renderings or {}).get(target, ())):
            forms.setdefault(form.lower(), key)
    counts = dict.fromkeys(forms.values(), 0)
    claimed: list[tuple[int, int]] = []
    for form in sorted(forms, key=len, reverse=True):
        for found in target_pattern(form).finditer(english):
            start, end = found.span()
            if all(end <= a or start >= b for a, b in claimed):
                claimed.append((start, end))
                counts[forms[form]] += 1
    return counts


def line_outcomes(matches: Sequence[MatchedTerm], english: str,
                  renderings: Mapping[str, Sequence[str]] | None = None) -> list[TermVerdict]:
    """Each of a line's matched terms (in reading order): hit or miss, duplicated or not."""
    in_arabic: dict[str, int] = {}
    for match in matches:
        in_arabic[match.target.lower()] = in_arabic.get(match.target.lower(), 0) + 1
    in_english = english_counts((m.target for m in matches), english, renderings)
    excess = {key: max(0, in_english[key] - n) for key, n in in_arabic.items()}
    outcomes = []
    for match in matches:
        key = match.target.lower()
        duplicated = excess[key] > 0
        excess[key] -= duplicated
        outcomes.append(TermVerdict(match.source, match.target, target_in_translation(match.target, english),
                                    duplicated))
    return outcomes


@dataclass(frozen=True)
class TermCounts:
    """One glossary entry across the test set: its matches, hits and duplicates."""

    source: str
    target: str
    matched: int
    hits: int
    duplicated: int

    @property
    def consistent(self) -> bool | None:
        """Whether every occurrence got the target; ``None`` for an entry matched once."""
        return self.hits == self.matched if self.matched > 1 else None

    def to_json(self) -> dict:
        """The results file's per-term object."""
        return {"source": self.source, "target": self.target, "matched": self.matched, "hits": self.hits,
                "duplicated": self.duplicated, "consistent": self.consistent}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class TermScores:
    """A test set's term figures; the rates are ``None`` where nothing was counted."""

    terms: tuple[TermCounts, ...] = ()

    @property
    def matched(self) -> int:
        """Matched terms in all lines."""
        return sum(t.matched for t in self.terms)

    @property
    def hits(self) -> int:
        """Matched terms whose target is in their line's English."""
        return sum(t.hits for t in self.terms)

    @property
    def duplicated(self) -> int:
        """Matched terms written more often in the English than the Arabic has them."""
        return sum(t.duplicated for t in self.terms)

    @property
    def repeated(self) -> tuple[TermCounts, ...]:
        """The entries matched twice or more: those consistency is about."""
        return tuple(t for t in self.terms if t.matched > 1)

    @property
    def term_success_rate(self) -> float | None:
        """Hits over matched terms (WMT23 terminology style)."""
        return _rate(self.hits, self.matched)

    @property
    def term_duplication_rate(self) -> float | None:
        """Duplicated over matched terms."""
        return _rate(self.duplicated, self.matched)

    @property
    def term_consistency(self) -> float | None:
        """Consistent entries over entries matched twice or more."""
        return _rate(sum(bool(t.consistent) for t in self.repeated), len(self.repeated))

    def summary(self) -> str:
        """``terms 95.2% (40/42), duplicated 2.4%, consistent 100%``: what ``eval`` prints after the scores."""
        if not self.matched:
            return "terms: none matched"
        consistency = self.term_consistency
        consistent = "" if consistency is None else f", consistent {consistency:.0%}"
        return (f"terms {self.hits / self.matched:.1%} ({self.hits}/{self.matched}), "
                f"duplicated {self.duplicated / self.matched:.1%}{consistent}")

    def rates_json(self) -> dict:
        """The three rates, as the results file's ``scores`` holds them beside BLEU, chrF++ and TER."""
        return {"term_success_rate": self.term_success_rate, "term_duplication_rate": self.term_duplication_rate,
                "term_consistency": self.term_consistency}

    def to_json(self) -> dict:
        """The counts behind the rates, and each entry's."""
        return {"matched": self.matched, "hits": self.hits, "duplicated": self.duplicated,
                "repeated_entries": len(self.repeated),
                "consistent_entries": sum(bool(t.consistent) for t in self.repeated),
                "per_term": [t.to_json() for t in self.terms]}


@dataclass
class _Tally:
    target: str
    counts: list[int] = field(default_factory=lambda: [0, 0, 0])


def term_scores(lines: Iterable[tuple[Sequence[MatchedTerm], str]],
                renderings: Mapping[str, Sequence[str]] | None = None) -> TermScores:
    """The figures of ``(matched terms, English)`` lines; entries in order of first match."""
    tallies: dict[str, _Tally] = {}
    for matches, english in lines:
        for outcome in line_outcomes(matches, english, renderings):
            tally = tallies.setdefault(outcome.source, _Tally(outcome.target))
            tally.counts[0] += 1
            tally.counts[1] += outcome.hit
            tally.counts[2] += outcome.duplicated
    return TermScores(tuple(TermCounts(source, t.target, *t.counts) for source, t in tallies.items()))
