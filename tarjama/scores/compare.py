"""Comparing two runs of the same article: metric deltas with sacrebleu's paired bootstrap test.

The significance test is sacrebleu's own (``sacrebleu.significance.PairedTest``, paired bootstrap
resampling over paragraphs), so p-values equal what ``sacrebleu --paired-bs`` prints for the
same lines and seed. Run A is the baseline.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tarjama.errors import InputError
from tarjama.record.reader import GlossaryView, ModelView, RunRecordView, ScoresView, parse_record
from tarjama.scores.scoring import sentence_chrf
from tarjama.text.inputs import read_text_file

DEFAULT_SEED = 12345  # sacrebleu's default
DEFAULT_SAMPLES = 1000  # sacrebleu's default number of bootstrap resamples
MOST_CHANGED = 5
# Terminal text shows model and editor English: no control character may move the cursor or reorder a line.
_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x1f\x7f-\x9f]")


def _one_line(text: str) -> str:
    """Text for one terminal line: controls (newlines, escapes, bidi overrides) become spaces."""
    return " ".join(_CONTROLS.sub(" ", text).split())


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

    @property
    def no_difference(self) -> bool:
        """The same score: sacrebleu still reports its smallest p, 1/(samples+1), which means nothing here."""
        return self.a == self.b

    def text_lines(self) -> list[str]:
        """The metric in ``compare``'s text: both scores with bootstrap mean ± 95% CI, the change, the signature."""
        if self.no_difference:
            change = "Δ 0.00, no difference (p not meaningful)"
        else:
            change = f"Δ {self.delta:+6.2f}  p = {self.p_value:.4f}"
        return [f"{self.name:5} A {self.a:6.2f} (μ = {self.a_mean:.2f} ± {self.a_ci:.2f})  "
                f"B {self.b:6.2f} (μ = {self.b_mean:.2f} ± {self.b_ci:.2f})  {change}",
                f"      {self.signature}"]

    def to_json(self) -> dict:
        """The metric object of ``compare --json`` (sacrebleu's raw p is kept, for parity, even with no difference)."""
        return {"a": self.a, "b": self.b, "delta": self.delta, "p_value": self.p_value,
                "no_difference": self.no_difference,
                "a_mean": self.a_mean, "a_ci95": self.a_ci, "b_mean": self.b_mean, "b_ci95": self.b_ci,
                "signature": self.signature}


@dataclass(frozen=True)
class RunFacts:
    """What a run was made with, so that a reader sees what is being compared."""

    model: str | None
    backend: str | None
    glossary_path: str | None
    glossary_sha256: str | None
    terms_matched: int | None
    terms_hit: int | None
    strict_terms: bool | None
    memory: dict | None  # the record's memory counts (approved, reused, translated…); None without a memory

    @classmethod
    def of(cls, record: RunRecordView) -> RunFacts:
        """The facts of a run record; keys an older record lacks are None."""
        model = record.model or ModelView()
        glossary = record.glossary or GlossaryView()
        scores = record.scores or ScoresView()
        return cls(model=model.name, backend=model.backend, glossary_path=glossary.path,
                   glossary_sha256=glossary.sha256, terms_matched=scores.terms_matched, terms_hit=scores.terms_hit,
                   strict_terms=record.strict_terms, memory=record.memory.data if record.memory else None)

    @property
    def glossary_name(self) -> str:
        """The glossary as a reader can tell versions apart: path and the start of its SHA-256."""
        if self.glossary_sha256 is None:
            return "no glossary"
        return f"{self.glossary_path} (sha256 {self.glossary_sha256[:12]})"

    def text_lines(self) -> list[str]:
        """The run's model, glossary, term counts and memory, for ``compare``'s text."""
        terms = ("no terms counted" if self.terms_matched is None
                 else f"terms: {self.terms_hit} of {self.terms_matched} matches hit")
        strict = {True: "yes", False: "no"}.get(self.strict_terms, "unknown")
        memory = self.memory
        used = ("memory: not used" if memory is None else "memory: " + ", ".join(
            f"{memory[key]} {key}" for key in ("approved", "reused", "translated") if key in memory))
        model = "unknown" if self.model is None else f"{self.model} ({self.backend or 'unknown backend'})"
        return [f"model: {model}; strict terms: {strict}", f"glossary: {self.glossary_name}; {terms}", used]

    def to_json(self) -> dict:
        """The run object of ``compare --json``."""
        return {"model": {"name": self.model, "backend": self.backend},
                "glossary": {"path": self.glossary_path, "sha256": self.glossary_sha256},
                "terms_matched": self.terms_matched, "terms_hit": self.terms_hit,
                "strict_terms": self.strict_terms, "memory": self.memory}


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

    def text_lines(self) -> list[str]:
        """The paragraph in ``compare``'s text: its chrF++ change, then A's and B's English and the reference."""
        return [f"paragraph {self.index}: chrF++ {self.chrf_a:.1f} → {self.chrf_b:.1f} (Δ {self.delta:+.1f})",
                f"    A: {_one_line(self.english_a)}", f"    B: {_one_line(self.english_b)}",
                f"    reference: {_one_line(self.reference)}"]

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
    facts: tuple[RunFacts, RunFacts] | None = None
    warnings: tuple[str, ...] = ()

    @property
    def same_glossary(self) -> bool:
        """Both runs matched terms with the same glossary file (by SHA-256), or neither had one."""
        return self.facts is None or self.facts[0].glossary_sha256 == self.facts[1].glossary_sha256

    @property
    def term_success_delta(self) -> float | None:
        """B's term success rate minus A's; None when either is missing or the glossaries differ."""
        a, b = self.term_success
        return None if a is None or b is None or not self.same_glossary else b - a

    def text_lines(self) -> list[str]:
        """The report of ``compare`` as text, line by line (the JSON's facts, in reading order)."""
        lines = []
        for label, path, facts in zip(("A (baseline):", "B:"), (self.run_a, self.run_b),
                                      self.facts or (None, None), strict=True):
            lines.append(f"{label:13} {path}")
            if facts is not None:
                lines += [f"    {line}" for line in facts.text_lines()]
        lines.append(f"paired bootstrap resampling, {self.samples} samples, seed {self.seed} "
                     "(μ = bootstrap mean ± 95% confidence interval)")
        lines += [f"warning: {warning}" for warning in self.warnings]
        if self.identical:
            lines.append("the two runs have the same English: no difference (ignore the p-values)")
        for metric in self.metrics:
            lines += metric.text_lines()
        a, b = self.term_success
        if a is not None and b is not None:
            delta = self.term_success_delta
            change = "Δ not comparable (different glossaries)" if delta is None else f"Δ {100 * delta:+5.1f} points"
            lines.append(f"terms A {100 * a:5.1f}%  B {100 * b:5.1f}%  {change}")
        if self.paragraphs:
            lines.append(f"paragraphs whose English changed, largest chrF++ change first (at most {MOST_CHANGED}):")
        for paragraph in self.paragraphs:
            lines += paragraph.text_lines()
        return lines

    def to_json(self) -> dict:
        """The report of ``compare --json``."""
        a, b = self.term_success
        report = {"run_a": self.run_a, "run_b": self.run_b, "test": "paired bootstrap resampling (sacrebleu)",
                  "identical": self.identical,
                  "seed": self.seed, "samples": self.samples,
                  "metrics": {m.name: m.to_json() for m in self.metrics},
                  "term_success_rate": {"a": a, "b": b, "delta": self.term_success_delta,
                                        "same_glossary": self.same_glossary},
                  "paragraphs_most_changed": [p.to_json() for p in self.paragraphs],
                  "warnings": list(self.warnings)}
        if self.facts is not None:
            report["runs"] = {"a": self.facts[0].to_json(), "b": self.facts[1].to_json()}
        return report


@dataclass(frozen=True)
class _Run:
    path: Path
    record: RunRecordView
    english: list[str]
    references: list[str]
    term_success_rate: float | None


def load_run(path: Path | str) -> _Run:
    """A run record with a reference, as ``translate --reference`` writes it (its segments are not read)."""
    path = Path(path)
    record = parse_record(read_text_file(path, "run record"), path, segments_required=False)
    if record.paragraphs is None or record.scores is None:
        raise InputError("not a run record of this tarjama version (no paragraphs or scores)", path=path)
    english = [p.english for p in record.paragraphs]
    references = [p.reference for p in record.paragraphs if p.reference is not None]
    if len(references) < len(english):
        raise InputError("the run was made without --reference: nothing to compare against", path=path)
    if not english:
        raise InputError("not a run record: paragraphs need English and reference text", path=path)
    return _Run(path, record, english, references, record.scores.term_success_rate)


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
    if a.record.source_sha256 != b.record.source_sha256:
        raise InputError(f"the runs translated different sources ({a.record.source} and {b.record.source})",
                         path=b.path)
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
    facts = (RunFacts.of(a.record), RunFacts.of(b.record))
    return Comparison(run_a=str(a.path), run_b=str(b.path), metrics=deltas,
                      term_success=(a.term_success_rate, b.term_success_rate),
                      paragraphs=paragraphs, seed=seed, samples=samples, identical=a.english == b.english,
                      facts=facts, warnings=_warnings(*facts))


def _warnings(a: RunFacts, b: RunFacts) -> tuple[str, ...]:
    warnings = []
    # Term success counts the matches of a glossary: with another glossary (or another version of the
    # same file) it measures something else, so a delta between the two would mislead.
    if a.glossary_sha256 != b.glossary_sha256:
        warnings.append(f"the runs used different glossaries, A {a.glossary_name} and B {b.glossary_name}: "
                        "their term success rates are not comparable")
    # Editors' approved English is reused as is: a difference there is the editors', not the model's.
    approved = {label: (facts.memory or {}).get("approved", 0) for label, facts in (("A", a), ("B", b))}
    if approved["A"] != approved["B"]:
        warnings.append(f"editor-approved sentences: A {approved['A']}, B {approved['B']}; those sentences are "
                        "editors' English, not the model's")
    return tuple(warnings)


def _most_changed(a: _Run, b: _Run) -> tuple[ParagraphDelta, ...]:
    chrf_a, chrf_b = sentence_chrf(a.english, a.references), sentence_chrf(b.english, b.references)
    changed = [ParagraphDelta(i, chrf_a[i], chrf_b[i], a.english[i], b.english[i], a.references[i])
               for i in range(len(a.english)) if a.english[i] != b.english[i]]
    return tuple(sorted(changed, key=lambda p: (-abs(p.delta), p.index))[:MOST_CHANGED])
