"""The run record: everything a run did, enough to recompute its scores and audit it, and how it is built.

:func:`build_record` is the one place a record is made (reference scores included); the record's one reader
is :func:`tarjama.record.reader.read_record`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from tarjama import __version__
from tarjama.record.labels import Flag, How, Origin
from tarjama.scores.quality import length_norm, quality_flags
from tarjama.scores.scoring import (
    ReferenceScores,
    TermStats,
    corpus_scores,
    read_reference,
    sentence_chrf,
    term_consistency,
    term_statistics,
    term_success_rate,
)
from tarjama.terms.entries import Glossary
from tarjama.text.articles import Document
from tarjama.timings import Stage, Timings, timed
from tarjama.translate.enforcement import TermOutcome
from tarjama.translate.incremental import TranslatedArticle
from tarjama.translate.pipeline import SegmentTranslation, SetAsideApproval
from tarjama.translate.registry import ResolvedModel
from tarjama.translate.settings import RunSettings
from tarjama.translate.types import DEFAULT_BATCHING, BatchingOptions, DecodingOptions


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
    flags: tuple[Flag, ...] = ()
    origin: Origin = Origin.MODEL
    set_aside: SetAsideApproval | None = None  # strict mode: the editor's English it could not use

    def to_json(self) -> dict:
        """The run record's segment object (``set_aside_approval`` only on a segment that has one)."""
        data = {"id": self.id, "paragraph": self.paragraph, "kind": self.kind, "source": self.source,
                "target": self.target, "start": self.start, "end": self.end, "origin": self.origin,
                "terms": [term.to_json() for term in self.terms], "flags": list(self.flags)}
        if self.set_aside is not None:
            data["set_aside_approval"] = self.set_aside.to_json()
        return data


@dataclass(frozen=True)
class Scores:
    """Article scores; reference scores are ``None`` without a reference."""

    terms_matched: int
    terms_hit: int
    terms: tuple[TermStats, ...] = ()
    terms_by_how: dict[How, int] = field(default_factory=dict)
    flags: dict[Flag, int] = field(default_factory=dict)  # quality flags only: an approval is not one
    reference: ReferenceScores | None = None
    paragraph_chrf: tuple[float, ...] = ()
    approved: int = 0  # sentences whose English is an editor's approval (the segment flag ``approved``)

    @property
    def term_success_rate(self) -> float | None:
        """Hits over matches across the article."""
        return term_success_rate(self.terms_hit, self.terms_matched)

    @property
    def term_consistency(self) -> float | None:
        """Occurrences of repeated terms rendered like the rest of their term's occurrences."""
        return term_consistency(self.terms)

    def to_json(self) -> dict:
        """The run record's ``scores`` object."""
        ref = self.reference
        return {"term_success_rate": self.term_success_rate, "term_consistency": self.term_consistency,
                "terms_matched": self.terms_matched, "terms_hit": self.terms_hit,
                "terms_by_how": self.terms_by_how, "flags": self.flags, "approved": self.approved,
                "bleu": ref.bleu if ref else None,
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
    reference_lines: tuple[str, ...] = ()
    memory: dict | None = None
    batching: BatchingOptions = DEFAULT_BATCHING  # the speed, not the English; recorded among the decoding options
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # also in the bilingual file's front matter
    # The run's clock, still running: its ``total`` is read when the record is written (see :meth:`to_json`).
    timings: Timings | None = field(default=None, compare=False, repr=False)

    def paragraph_english(self) -> list[str]:
        """Each paragraph's English: its segments' targets joined by spaces."""
        by_paragraph: dict[int, list[str]] = {p.index: [] for p in self.document.paragraphs}
        for segment in self.segments:
            by_paragraph[segment.paragraph].append(segment.target)
        return [" ".join(t for t in targets if t) for targets in by_paragraph.values()]

    def paragraphs_json(self) -> list[dict]:
        """Each paragraph's English, with its reference line and sentence chrF++ when there is a reference."""
        english = self.paragraph_english()
        chrf = self.scores.paragraph_chrf
        return [{"index": p.index, "kind": p.kind, "english": english[n],
                 "reference": self.reference_lines[n] if self.reference_lines else None,
                 "chrf": chrf[n] if chrf else None}
                for n, p in enumerate(self.document.paragraphs)]

    def to_json(self) -> dict:
        """The contract's run record, with more keys for auditing."""
        return {
            "tarjama": __version__,
            "created": self.created,
            "run_id": self.run_id,
            "source": str(self.document.path),
            "source_sha256": self.document.sha256,
            "model": {"backend": self.backend, **self.model.to_json()},
            # A strict record names its term search, default or not: records before it had only positional forcing.
            "decoding": self.decoding.to_json(self.batching) | (
                {"term_search": str(self.decoding.term_search)} if self.strict_terms else {}),
            "glossary": self.glossary.to_json() if self.glossary else None,
            "strict_terms": self.strict_terms,
            "reference": self.reference_path,
            "memory": self.memory,
            "segments": [segment.to_json() for segment in self.segments],
            "paragraphs": self.paragraphs_json(),
            "terms": [term.to_json() for term in self.scores.terms],
            "scores": self.scores.to_json(),
            **({"timings": self.timings.to_json()} if self.timings is not None else {}),
        }


def build_segment_records(document: Document, translations: Sequence[SegmentTranslation]
                          ) -> tuple[SegmentRecord, ...]:
    """Pair each segment with its English, its terms' outcomes and its flags, quality flags included."""
    english = {t.segment_id: t for t in translations}
    judged = {s.id for s in document.segments if Flag.COPIED not in english[s.id].flags}
    norm = length_norm([(s.text, english[s.id].target) for s in document.segments if s.id in judged])
    records = []
    for segment in document.segments:
        translation = english[segment.id]
        flags = list(translation.flags)
        if segment.id in judged:
            flags += quality_flags(segment.text, translation.target, norm)
        records.append(SegmentRecord(id=segment.id, paragraph=segment.paragraph, kind=segment.kind,
                                     source=segment.text, target=translation.target, start=segment.start,
                                     end=segment.end, terms=translation.terms, flags=tuple(flags),
                                     origin=translation.origin, set_aside=translation.set_aside))
    return tuple(records)


def count_terms(segments: Sequence[SegmentRecord]) -> Scores:
    """Term figures, flag counts and approvals over the article (reference scores are added separately).

    An editor's approval marks a segment (its ``approved`` flag, for the Notes column) but is not a quality
    flag: it is counted apart, in ``approved``, and never among ``flags``.
    """
    outcomes = [term for segment in segments for term in segment.terms]
    by_how = {how: sum(o.how == how for o in outcomes) for how in How}
    flags = Counter(flag for segment in segments for flag in segment.flags if flag != Flag.APPROVED)
    return Scores(terms_matched=len(outcomes), terms_hit=sum(o.hit for o in outcomes),
                  terms=term_statistics((o.match.source, o.match.target, o.hit) for o in outcomes),
                  terms_by_how=by_how if outcomes else {}, flags=dict(sorted(flags.items())),
                  approved=sum(Flag.APPROVED in segment.flags for segment in segments))


def build_record(document: Document, translated: TranslatedArticle, model: ResolvedModel, settings: RunSettings,
                 glossary: Glossary | None, reference: Path | None = None, *, timings: Timings | None = None
                 ) -> RunRecord:
    """The run record: segments with their terms and flags, term figures, memory figures, and scores
    against the ``reference`` (one English line per paragraph) when there is one.

    ``timings`` are the run's: building the record counts as its ``score``, and the record carries them on
    to publishing, where they are written with it.
    """
    with timed(Stage.SCORE, timings):
        return _build_record(document, translated, model, settings, glossary, reference, timings)


def _build_record(document: Document, translated: TranslatedArticle, model: ResolvedModel, settings: RunSettings,
                  glossary: Glossary | None, reference: Path | None, timings: Timings | None) -> RunRecord:
    segments = build_segment_records(document, translated.translations)
    record = RunRecord(document=document, model=model, backend=settings.backend, decoding=settings.decoding,
                       batching=settings.batching, glossary=glossary, strict_terms=settings.strict_terms,
                       segments=segments, scores=count_terms(segments), memory=translated.memory, timings=timings)
    if reference is None:
        return record
    references = read_reference(reference, len(document.paragraphs))
    english = record.paragraph_english()
    scores = replace(record.scores, reference=corpus_scores(english, references),
                     paragraph_chrf=tuple(sentence_chrf(english, references)))
    return replace(record, scores=scores, reference_lines=tuple(references), reference_path=str(reference))
