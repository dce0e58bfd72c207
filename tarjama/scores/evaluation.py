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

    def to_json(self) -> dict:
        """The saved results file."""
        return {"tarjama": __version__, "created": self.created,
                "model": {"backend": self.translator.backend, **self.translator.model.to_json()},
                "decoding": self.decoding.to_json(self.batching),
                "source": {"path": str(self.source), "sha256": self.source_sha256, "lines": len(self.hypotheses)},
                "reference": {"path": str(self.reference), "sha256": self.reference_sha256},
                "scores": self.scores.to_json(), "seconds": round(self.seconds, 3),
                "lines_per_second": round(len(self.hypotheses) / self.seconds, 3) if self.seconds else None,
                "hypotheses": list(self.hypotheses)}


def translate_lines(lines: list[str], translator: Translator, options: DecodingOptions,
                    progress: Progress | None = None) -> list[str]:
    """Each line as one segment: long ones in pieces, letterless ones copied, blank ones blank."""
    segments = [Segment(id=f"l{n}", paragraph=n, kind="body", text=line, start=0, end=len(line))
                for n, line in enumerate(lines) if line.strip()]
    english = {t.segment_id: t.target for t in
               run_translation(plan_translation(segments, translator, options), translator, options, progress)}
    return [english.get(f"l{n}", "") for n in range(len(lines))]


def evaluate(translator: Translator, source: Path, reference: Path, sources: list[str], references: list[str],
             options: DecodingOptions, progress: Progress | None = None) -> Evaluation:
    """Translate the test set's source lines and score them against the reference lines."""
    started = time.perf_counter()
    hypotheses = translate_lines(sources, translator, options, progress)
    seconds = time.perf_counter() - started
    return Evaluation(translator=translator, decoding=options, source=source, reference=reference,
                      source_sha256=_sha256(source), reference_sha256=_sha256(reference),
                      hypotheses=tuple(hypotheses), scores=corpus_scores(hypotheses, references), seconds=seconds)


def default_results_path(out_dir: Path, model_name: str, source: Path, backend: str = DEFAULT_BACKEND,
                         beam_size: int = DecodingOptions().beam_size) -> Path:
    """``out_dir/eval/MODEL.SOURCE.BACKEND[.beamN].json``, the model name made safe for a file name.

    The source's full name (FLORES' ``ara_Arab.dev`` and ``ara_Arab.devtest`` share a stem), the backend
    and a beam size other than the default are all in the name, so that runs to be compared do not
    overwrite one another.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name.strip("/")).strip("_") or "model"
    beam = "" if beam_size == DecodingOptions().beam_size else f".beam{beam_size}"
    return out_dir / "eval" / f"{safe}.{source.name}.{backend}{beam}.json"


def read_test_set(source: Path, reference: Path) -> tuple[list[str], list[str]]:
    """A test set's source and reference lines, which must be as many."""
    sources = read_lines(source, "source file")
    references = read_lines(reference, "reference file")
    if len(sources) != len(references):
        raise InputError(f"{len(references)} lines, but the source file {source} has {len(sources)}", path=reference)
    return sources, references


def results_path(out: Path | None, *, outputs: Path, model_name: str, source: Path, backend: str, beam_size: int,
                 force: bool = False) -> Path:
    """Where ``eval`` saves its results: ``out``, else the default path under ``outputs``, which an earlier
    eval's results there keep unless ``force``. Checked writable before any work."""
    if out is None:
        out = default_results_path(outputs, model_name, source, backend, beam_size)
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

    Of the ``settings``, the model, backend, decoding and threads count: a test set has no glossary or memory.
    """
    sources, references = read_test_set(source, reference)
    path = results_path(out, outputs=outputs, model_name=settings.model, source=source, backend=settings.backend,
                        beam_size=settings.decoding.beam_size, force=force)
    translator = backends.load_translator(settings.resolve_model(), settings.backend, threads=settings.threads)
    with progress_bar(len(sources), source.name, enabled=show_progress) as progress:
        result = evaluate(translator, source, reference, sources, references, settings.decoding, progress)
    write_output_file(path, json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n")
    return SavedEvaluation(result, path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(read_input_bytes(path)).hexdigest()
