"""The run record: everything a run did, enough to recompute its scores and audit it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tarjama import __version__
from tarjama.backends import DecodingOptions
from tarjama.documents import Document
from tarjama.enforcement import APPENDED, TermOutcome, check_terms
from tarjama.glossary import Glossary, TermMatch
from tarjama.pipeline import SegmentTranslation
from tarjama.registry import ResolvedModel
from tarjama.scoring import ReferenceScores, term_success_rate

TERM_MISSED = "term_missed"  # a glossary term's target is not in the English: an editor should look
TERM_APPENDED = "term_appended"  # strict mode added a term the model did not produce


@dataclass(frozen=True)
class SegmentRecord:
    """One source sentence and its English."""

    id: str
    paragraph: int
    kind: str
    source: str
    target: str
    start: int
    end: int
    terms: tuple[TermOutcome, ...] = ()
    flags: tuple[str, ...] = ()

    def to_json(self) -> dict:
        """The run record's segment object."""
        return {"id": self.id, "paragraph": self.paragraph, "kind": self.kind, "source": self.source,
                "target": self.target, "start": self.start, "end": self.end,
                "terms": [term.to_json() for term in self.terms], "flags": list(self.flags)}


@dataclass(frozen=True)
class Scores:
    """Article scores; reference scores are ``None`` without a reference."""

    terms_matched: int
    terms_hit: int
    reference: ReferenceScores | None = None

    @property
    def term_success_rate(self) -> float | None:
        """Hits over matches across the article."""
        return term_success_rate(self.terms_hit, self.terms_matched)

    def to_json(self) -> dict:
        """The run record's ``scores`` object."""
        ref = self.reference
        return {"term_success_rate": self.term_success_rate, "terms_matched": self.terms_matched,
                "terms_hit": self.terms_hit, "bleu": ref.bleu if ref else None,
                "chrf": ref.chrf if ref else None, "ter": ref.ter if ref else None,
                "signatures": ref.signatures if ref else None}


@dataclass(frozen=True)
class RunRecord:
    """A whole run: inputs, model, every segment, scores."""

    document: Document
    model: ResolvedModel
    backend: str
    decoding: DecodingOptions
    glossary: Glossary | None
    strict_terms: bool
    segments: tuple[SegmentRecord, ...]
    scores: Scores
    reference_path: str | None = None
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def paragraph_english(self) -> list[str]:
        """Each paragraph's English: its segments' targets joined by spaces."""
        by_paragraph: dict[int, list[str]] = {p.index: [] for p in self.document.paragraphs}
        for segment in self.segments:
            by_paragraph[segment.paragraph].append(segment.target)
        return [" ".join(t for t in targets if t) for targets in by_paragraph.values()]

    def to_json(self) -> dict:
        """The contract's run record, with more keys for auditing."""
        return {
            "tarjama": __version__,
            "created": self.created,
            "source": str(self.document.path),
            "source_sha256": self.document.sha256,
            "model": {"backend": self.backend, **self.model.to_json()},
            "decoding": self.decoding.to_json(),
            "glossary": self.glossary.to_json() if self.glossary else None,
            "strict_terms": self.strict_terms,
            "reference": self.reference_path,
            "segments": [segment.to_json() for segment in self.segments],
            "scores": self.scores.to_json(),
        }


def build_segment_records(document: Document, translations: Sequence[SegmentTranslation],
                          matches: Sequence[TermMatch], *, strict_terms: bool) -> tuple[SegmentRecord, ...]:
    """Pair each segment with its English, checking (and in strict mode completing) its terms."""
    english = {t.segment_id: t for t in translations}
    matches_in: dict[str, list[TermMatch]] = {}
    for match in matches:
        matches_in.setdefault(match.segment, []).append(match)
    records = []
    for segment in document.segments:
        translation = english[segment.id]
        target, outcomes = check_terms(translation.target, matches_in.get(segment.id, []), strict=strict_terms)
        flags = list(translation.flags)
        if any(o.how == APPENDED for o in outcomes):
            flags.append(TERM_APPENDED)
        if any(not o.hit for o in outcomes):
            flags.append(TERM_MISSED)
        records.append(SegmentRecord(id=segment.id, paragraph=segment.paragraph, kind=segment.kind,
                                     source=segment.text, target=target, start=segment.start, end=segment.end,
                                     terms=tuple(outcomes), flags=tuple(flags)))
    return tuple(records)


def count_terms(segments: Sequence[SegmentRecord]) -> Scores:
    """Term matches and hits over the article (reference scores are added separately)."""
    outcomes = [term for segment in segments for term in segment.terms]
    return Scores(terms_matched=len(outcomes), terms_hit=sum(term.hit for term in outcomes))
