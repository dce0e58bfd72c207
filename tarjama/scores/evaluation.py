"""Evaluating a model on a line-aligned test set (e.g. FLORES-200 ara_Arab → eng_Latn devtest)."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tarjama import __version__
from tarjama.scores.scoring import ReferenceScores, corpus_scores
from tarjama.text.articles import Segment
from tarjama.text.inputs import read_input_bytes
from tarjama.translate.pipeline import plan_translation, run_translation
from tarjama.translate.types import DEFAULT_BATCHING, BatchingOptions, DecodingOptions, ProgressCallback, Translator


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
                    progress: ProgressCallback | None = None) -> list[str]:
    """Each line as one segment: long ones in pieces, letterless ones copied, blank ones blank."""
    segments = [Segment(id=f"l{n}", paragraph=n, kind="body", text=line, start=0, end=len(line))
                for n, line in enumerate(lines) if line.strip()]
    english = {t.segment_id: t.target for t in
               run_translation(plan_translation(segments, translator, options), translator, options, progress)}
    return [english.get(f"l{n}", "") for n in range(len(lines))]


def evaluate(translator: Translator, source: Path, reference: Path, sources: list[str], references: list[str],
             options: DecodingOptions, progress: ProgressCallback | None = None) -> Evaluation:
    """Translate the test set's source lines and score them against the reference lines."""
    started = time.perf_counter()
    hypotheses = translate_lines(sources, translator, options, progress)
    seconds = time.perf_counter() - started
    return Evaluation(translator=translator, decoding=options, source=source, reference=reference,
                      source_sha256=_sha256(source), reference_sha256=_sha256(reference),
                      hypotheses=tuple(hypotheses), scores=corpus_scores(hypotheses, references), seconds=seconds)


def default_results_path(out_dir: Path, model_name: str, source: Path, backend: str = "transformers",
                         beam_size: int = DecodingOptions().beam_size) -> Path:
    """``out_dir/eval/MODEL.SOURCE.BACKEND[.beamN].json``, the model name made safe for a file name.

    The source's full name (FLORES' ``ara_Arab.dev`` and ``ara_Arab.devtest`` share a stem), the backend
    and a beam size other than the default are all in the name, so that runs to be compared do not
    overwrite one another.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name.strip("/")).strip("_") or "model"
    beam = "" if beam_size == DecodingOptions().beam_size else f".beam{beam_size}"
    return out_dir / "eval" / f"{safe}.{source.name}.{backend}{beam}.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(read_input_bytes(path)).hexdigest()
