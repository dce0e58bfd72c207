"""Comparing two runs of the same article: metric deltas with sacrebleu's paired bootstrap test.

The significance test is sacrebleu's own (``sacrebleu.significance.PairedTest``, paired bootstrap
resampling over paragraphs), so p-values equal what ``sacrebleu --paired-bs`` prints for the
same lines and seed. Run A is the baseline.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tarjama.documents import read_text_file
from tarjama.errors import InputError

DEFAULT_SEED = 12345  # sacrebleu's default
DEFAULT_SAMPLES = 1000  # sacrebleu's default number of bootstrap resamples
MOST_CHANGED = 5


@dataclass(frozen=True)
class MetricDelta:
    """One metric for both runs, B's difference from A and its significance."""

    name: str
    a: float
    b: float
    p_value: float
    a_mean: float
    a_ci: float
    b_mean: float
    b_ci: float
    signature: str

    @property
    def delta(self) -> float:
        """B minus A."""
        return self.b - self.a

    def to_json(self) -> dict:
        """The metric object of ``compare --json``."""
        return {"a": self.a, "b": self.b, "delta": self.delta, "p_value": self.p_value,
                "a_mean": self.a_mean, "a_ci95": self.a_ci, "b_mean": self.b_mean, "b_ci95": self.b_ci,
                "signature": self.signature}


@dataclass(frozen=True)
class ParagraphDelta:
    """A paragraph whose sentence chrF++ changed between the runs."""

    index: int
    chrf_a: float
    chrf_b: float
    english_a: str
    english_b: str
    reference: str

    @property
    def delta(self) -> float:
        """B minus A."""
        return self.chrf_b - self.chrf_a

    def to_json(self) -> dict:
        """The paragraph object of ``compare --json``."""
        return {"index": self.index, "chrf_a": self.chrf_a, "chrf_b": self.chrf_b, "delta": self.delta,
                "english_a": self.english_a, "english_b": self.english_b, "reference": self.reference}


@dataclass(frozen=True)
class Comparison:
    """Everything ``tarjama compare`` reports."""

    run_a: str
    run_b: str
    metrics: tuple[MetricDelta, ...]
    term_success: tuple[float | None, float | None]
    paragraphs: tuple[ParagraphDelta, ...]
    seed: int
    samples: int
    identical: bool = False  # the same English: sacrebleu still reports p = 1/(samples+1), meaning nothing

    def to_json(self) -> dict:
        """The report of ``compare --json``."""
        a, b = self.term_success
        return {"run_a": self.run_a, "run_b": self.run_b, "test": "paired bootstrap resampling (sacrebleu)",
                "identical": self.identical,
                "seed": self.seed, "samples": self.samples,
                "metrics": {m.name: m.to_json() for m in self.metrics},
                "term_success_rate": {"a": a, "b": b, "delta": None if a is None or b is None else b - a},
                "paragraphs_most_changed": [p.to_json() for p in self.paragraphs]}


@dataclass(frozen=True)
class _Run:
    path: Path
    record: dict
    english: list[str]
    references: list[str]


def load_run(path: Path | str) -> _Run:
    """A run record with a reference, as ``translate --reference`` writes it."""
    path = Path(path)
    try:
        record = json.loads(read_text_file(path, "run record"))
        paragraphs = record["paragraphs"]
        english = [p["english"] for p in paragraphs]
        references = [p["reference"] for p in paragraphs]
        rate = record["scores"]["term_success_rate"]
    except json.JSONDecodeError as exc:
        raise InputError(f"not a run record: invalid JSON ({exc.msg})", path=path, line=exc.lineno) from None
    except (KeyError, TypeError):
        raise InputError("not a run record of this tarjama version (no paragraphs or scores)", path=path) from None
    if any(reference is None for reference in references):
        raise InputError("the run was made without --reference: nothing to compare against", path=path)
    if not english or not all(isinstance(t, str) for t in english + references) or \
            not (rate is None or isinstance(rate, int | float)):
        raise InputError("not a run record: paragraphs need English and reference text", path=path)
    return _Run(path, record, english, references)


@contextmanager
def _sacrebleu_seed(seed: int) -> Iterator[None]:
    # PairedTest reads its seed from the environment when it is built.
    previous = os.environ.get("SACREBLEU_SEED")
    os.environ["SACREBLEU_SEED"] = str(seed)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SACREBLEU_SEED", None)
        else:
            os.environ["SACREBLEU_SEED"] = previous


def compare_runs(path_a: Path | str, path_b: Path | str, *, seed: int = DEFAULT_SEED,
                 samples: int = DEFAULT_SAMPLES) -> Comparison:
    """Compare run B with baseline run A: same source, same reference, paragraph by paragraph."""
    from sacrebleu.metrics import BLEU, CHRF
    from sacrebleu.significance import PairedTest

    if seed < 1:
        raise InputError("the seed must be 1 or more (sacrebleu treats 0 as no seed)")
    a, b = load_run(path_a), load_run(path_b)
    if a.record.get("source_sha256") != b.record.get("source_sha256"):
        raise InputError(f"the runs translated different sources ({a.record.get('source')} and "
                         f"{b.record.get('source')})", path=b.path)
    if a.references != b.references:
        raise InputError("the runs were scored against different references", path=b.path)
    metrics = {"bleu": BLEU(), "chrf": CHRF(word_order=2)}
    with _sacrebleu_seed(seed):
        test = PairedTest([(str(a.path), a.english), (str(b.path), b.english)], metrics, [a.references],
                          test_type="bs", n_samples=samples)
        signatures, results = test()
    # sacrebleu keys its results by the score's own name ("BLEU", "chrF2++"), in the order given.
    sacrebleu_names = [key for key in results if key != "System"]
    deltas = tuple(
        MetricDelta(name=name, a=results[key][0].score, b=results[key][1].score,
                    p_value=float(results[key][1].p_value), a_mean=float(results[key][0].mean),
                    a_ci=float(results[key][0].ci), b_mean=float(results[key][1].mean),
                    b_ci=float(results[key][1].ci), signature=str(signatures[key]))
        for name, key in zip(metrics, sacrebleu_names, strict=True))
    paragraphs = _most_changed(a, b)
    return Comparison(run_a=str(a.path), run_b=str(b.path), metrics=deltas,
                      term_success=(a.record["scores"].get("term_success_rate"),
                                    b.record["scores"].get("term_success_rate")),
                      paragraphs=paragraphs, seed=seed, samples=samples, identical=a.english == b.english)


def _most_changed(a: _Run, b: _Run) -> tuple[ParagraphDelta, ...]:
    from tarjama.scoring import sentence_chrf

    chrf_a, chrf_b = sentence_chrf(a.english, a.references), sentence_chrf(b.english, b.references)
    changed = [ParagraphDelta(i, chrf_a[i], chrf_b[i], a.english[i], b.english[i], a.references[i])
               for i in range(len(a.english)) if a.english[i] != b.english[i]]
    return tuple(sorted(changed, key=lambda p: (-abs(p.delta), p.index))[:MOST_CHANGED])
