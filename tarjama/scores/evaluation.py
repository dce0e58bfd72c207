"""Evaluating a model on a line-aligned test set (e.g. FLORES-200 ara_Arab → eng_Latn devtest)."""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tarjama import __version__
from tarjama.errors import InputError
from tarjama.files import check_output_dir, check_output_file, write_output_file
from tarjama.scores.scoring import ReferenceScores, corpus_scores, read_lines
from tarjama.scores.terms import TermScores, term_scores
from tarjama.terms.entries import Glossary
from tarjama.terms.glossary import load_glossary
from tarjama.terms.matching import TermMatch, TermMatcher, find_terms_in_segment
from tarjama.text.articles import Segment
from tarjama.text.inputs import read_input_bytes
from tarjama.translate import backends
from tarjama.translate.pipeline import plan_translation, run_translation
from tarjama.translate.progress import progress_bar
from tarjama.translate.settings import RunSettings
from tarjama.translate.types import (
    DEFAULT_BACKEND,
    DEFAULT_BATCHING,
    BatchingOptions,
    DecodingOptions,
    Progress,
    Translator,
)

# The term figures' own signature: what decides them besides the model and the test set, as sacrebleu's do.
TERMS_SIGNATURE = "match:tarjama|hit:case-insensitive|count:words|version:{version}"


@dataclass(frozen=True)
class TermEvaluation:
    """The term figures of an eval with a glossary, and what reproduces them: the glossary file and strict mode."""

    glossary: Glossary
    strict_terms: bool
    scores: TermScores

    @property
    def signature(self) -> str:
        """``glossary:NAME|sha256:…|strict:yes|…``: one line that tells two eval runs' term figures apart."""
        strict = "yes" if self.strict_terms else "no"
        return (f"glossary:{self.glossary.path.name}|sha256:{self.glossary.sha256[:12]}|strict:{strict}|"
                + TERMS_SIGNATURE.format(version=__version__))

    def to_json(self) -> dict:
        """The results file's ``terms`` block."""
        return {"glossary": self.glossary.to_json(), "strict_terms": self.strict_terms,
                "signature": self.signature, **self.scores.to_json()}


@dataclass(frozen=True)
class Evaluation:
    """A model's scores on a test set, with everything needed to reproduce them."""

    translator: Translator
    decoding: DecodingOptions
    source: Path
    reference: Path
    source_sha256: str
    reference_sha256: str
    hypotheses: tuple[str, ...]
    scores: ReferenceScores
    seconds: float
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    batching: BatchingOptions = DEFAULT_BATCHING  # the speed, not the scores: saved among the decoding options
    terms: TermEvaluation | None = None  # with a glossary

    def to_json(self) -> dict:
        """The saved results file; with a glossary, the term rates sit in ``scores`` and a ``terms`` block follows."""
        scores = self.scores.to_json()
        terms = {}
        if self.terms is not None:
            scores |= self.terms.scores.rates_json()
            terms = {"terms": self.terms.to_json()}
        return {"tarjama": __version__, "created": self.created,
                "model": {"backend": self.translator.backend, **self.translator.model.to_json()},
                "decoding": self.decoding.to_json(self.batching),
                "source": {"path": str(self.source), "sha256": self.source_sha256, "lines": len(self.hypotheses)},
                "reference": {"path": str(self.reference), "sha256": self.reference_sha256},
                "scores": scores, **terms, "seconds": round(self.seconds, 3),
                "lines_per_second": round(len(self.hypotheses) / self.seconds, 3) if self.seconds else None,
                "hypotheses": list(self.hypotheses)}


@dataclass(frozen=True)
class TranslatedLines:
    """A test set's English, line for line, and the glossary terms found in each source line."""

    english: list[str]
    matches: list[list[TermMatch]]


def translate_lines(lines: list[str], translator: Translator, options: DecodingOptions,
                    progress: Progress | None = None, *, glossary: Glossary | None = None,
                    strict_terms: bool = False) -> TranslatedLines:
    """Each line as one segment: long ones in pieces, letterless ones copied, blank ones blank.

    With a ``glossary``, each line's terms are matched and handed to the pipeline, which settles them as a
    run does (``strict_terms``: strict mode).
    """
    segments = [Segment(id=f"l{n}", paragraph=n, kind="body", text=line, start=0, end=len(line))
                for n, line in enumerate(lines) if line.strip()]
    matcher = TermMatcher(glossary.entries) if glossary is not None else None
    found = {s.id: find_terms_in_segment(s, matcher) for s in segments} if matcher is not None else {}
    translated = run_translation(plan_translation(segments, translator, options), translator, options, progress,
                                 [match for matches in found.values() for match in matches],
                                 strict_terms=strict_terms)
    english = {t.segment_id: t.target for t in translated}
    return TranslatedLines(english=[english.get(f"l{n}", "") for n in range(len(lines))],
                           matches=[found.get(f"l{n}", []) for n in range(len(lines))])


def evaluate(translator: Translator, source: Path, reference: Path, sources: list[str], references: list[str],
             options: DecodingOptions, progress: Progress | None = None, *, glossary: Glossary | None = None,
             strict_terms: bool = False) -> Evaluation:
    """Translate the test set's source lines and score them against the reference lines.

    With a ``glossary``, the lines' terms are matched, settled by the pipeline (strict mode with ``strict_terms``)
    and scored too (:mod:`tarjama.scores.terms`).
    """
    started = time.perf_counter()
    translated = translate_lines(sources, translator, options, progress, glossary=glossary,
                                 strict_terms=strict_terms)
    seconds = time.perf_counter() - started
    hypotheses = translated.english
    terms = None if glossary is None else TermEvaluation(
        glossary=glossary, strict_terms=strict_terms,
        scores=term_scores(zip(translated.matches, hypotheses, strict=True)))
    return Evaluation(translator=translator, decoding=options, source=source, reference=reference,
                      source_sha256=_sha256(source), reference_sha256=_sha256(reference),
                      hypotheses=tuple(hypotheses), scores=corpus_scores(hypotheses, references), seconds=seconds,
                      terms=terms)


def default_results_path(out_dir: Path, model_name: str, source: Path, backend: str = DEFAULT_BACKEND,
                         beam_size: int = DecodingOptions().beam_size, glossary: Path | None = None,
                         strict_terms: bool = False) -> Path:
    """``out_dir/eval/MODEL.SOURCE.BACKEND[.beamN][.GLOSSARY[.strict]].json``, names made safe for a file name.

    The source's full name (FLORES' ``ara_Arab.dev`` and ``ara_Arab.devtest`` share a stem), the backend,
    a beam size other than the default, the glossary's stem and strict mode are all in the name, so that runs
    to be compared do not overwrite one another.
    """
    beam = "" if beam_size == DecodingOptions().beam_size else f".beam{beam_size}"
    terms = "" if glossary is None else f".{_safe(glossary.stem, 'glossary')}{'.strict' if strict_terms else ''}"
    return out_dir / "eval" / f"{_safe(model_name.strip('/'), 'model')}.{source.name}.{backend}{beam}{terms}.json"


def _safe(name: str, fallback: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or fallback


def read_test_set(source: Path, reference: Path) -> tuple[list[str], list[str]]:
    """A test set's source and reference lines, which must be as many."""
    sources = read_lines(source, "source file")
    references = read_lines(reference, "reference file")
    if len(sources) != len(references):
        raise InputError(f"{len(references)} lines, but the source file {source} has {len(sources)}", path=reference)
    return sources, references


def results_path(out: Path | None, *, outputs: Path, model_name: str, source: Path, backend: str, beam_size: int,
                 force: bool = False, glossary: Path | None = None, strict_terms: bool = False) -> Path:
    """Where ``eval`` saves its results: ``out``, else the default path under ``outputs``, which an earlier
    eval's results there keep unless ``force``. Checked writable before any work."""
    if out is None:
        out = default_results_path(outputs, model_name, source, backend, beam_size, glossary, strict_terms)
        # Earlier results are what this run will be compared with: only an explicit choice replaces them.
        if out.exists() and not force:
            raise InputError("results of an earlier eval are saved here; pass --force to replace them, "
                             "or --out FILE to save these elsewhere", path=out)
    check_output_file(out, "the results file")
    check_output_dir(out.parent)
    return out


@dataclass(frozen=True)
class SavedEvaluation:
    """An evaluation and the results file it was saved to."""

    evaluation: Evaluation
    path: Path


def run_evaluation(settings: RunSettings, source: Path, reference: Path, *, outputs: Path, out: Path | None = None,
                   force: bool = False, show_progress: bool = True) -> SavedEvaluation:
    """``tarjama eval``: check the test set and the results path, load the model, translate, score, save.

    Of the ``settings``, the model, backend, decoding, threads, glossary and strict mode count: a test set has
    no memory. The glossary is loaded (and its errors reported) before the model.
    """
    sources, references = read_test_set(source, reference)
    path = results_path(out, outputs=outputs, model_name=settings.model, source=source, backend=settings.backend,
                        beam_size=settings.decoding.beam_size, force=force, glossary=settings.glossary,
                        strict_terms=settings.strict_terms)
    glossary = load_glossary(settings.glossary) if settings.glossary is not None else None
    translator = backends.load_translator(settings.resolve_model(), settings.backend, threads=settings.threads)
    with progress_bar(len(sources), source.name, enabled=show_progress) as progress:
        result = evaluate(translator, source, reference, sources, references, settings.decoding, progress,
                          glossary=glossary, strict_terms=settings.strict_terms)
    write_output_file(path, json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n")
    return SavedEvaluation(result, path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(read_input_bytes(path)).hexdigest()
