"""Scores: sacrebleu corpus metrics against a reference, and glossary term success."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tarjama.errors import InputError
from tarjama.record.reader import ScoresView
from tarjama.text.inputs import read_input_bytes, read_text_file

if TYPE_CHECKING:
    from sacrebleu.metrics.base import Metric


@dataclass(frozen=True)
class ReferenceScores:
    """Corpus BLEU, chrF++ and TER as sacrebleu computes them, with their signatures."""

    bleu: float
    chrf: float
    ter: float
    signatures: dict[str, str]

    @classmethod
    def from_record(cls, scores: ScoresView) -> ReferenceScores | None:
        """The reference scores of a run record's ``scores``; ``None`` for a run without a reference."""
        if scores.bleu is None or scores.chrf is None or scores.ter is None or scores.signatures is None:
            return None
        return cls(bleu=scores.bleu, chrf=scores.chrf, ter=scores.ter, signatures=scores.signatures)

    def to_json(self) -> dict:
        """The contract's ``score --json`` object."""
        return {"bleu": self.bleu, "chrf": self.chrf, "ter": self.ter, "signature": self.signatures}

    def lines(self) -> list[str]:
        """One line per metric, its score and sacrebleu signature: what ``score`` and ``translate`` print."""
        return [f"{label:8} {value:6.2f}  {self.signatures[key]}"
                for key, label, value in (("bleu", "BLEU", self.bleu), ("chrf", "chrF2++", self.chrf),
                                          ("ter", "TER", self.ter))]


def metrics() -> dict[str, Metric]:
    """The project's metrics, configured as the contract says: BLEU, chrF++ (word order 2), TER."""
    from sacrebleu.metrics import BLEU, CHRF, TER

    return {"bleu": BLEU(), "chrf": CHRF(word_order=2), "ter": TER()}


def corpus_scores(hypotheses: Sequence[str], references: Sequence[str] | Sequence[Sequence[str]]
                  ) -> ReferenceScores:
    """sacrebleu's corpus BLEU, chrF++ (word order 2) and TER of line-aligned texts.

    ``references`` is one reference stream, or several (each as long as ``hypotheses``).
    """
    streams = [list(references)] if references and isinstance(references[0], str) else \
        [list(stream) for stream in references]
    for stream in streams:
        if len(hypotheses) != len(stream):
            raise InputError(f"{len(hypotheses)} hypothesis lines but {len(stream)} reference lines")
    chosen = metrics()
    values = {name: metric.corpus_score(list(hypotheses), streams).score for name, metric in chosen.items()}
    return ReferenceScores(**values, signatures={name: str(m.get_signature()) for name, m in chosen.items()})


def sentence_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> list[float]:
    """chrF++ of each line against its reference (sacrebleu's sentence score)."""
    from sacrebleu.metrics import CHRF

    chrf = CHRF(word_order=2)
    return [chrf.sentence_score(h, [r]).score for h, r in zip(hypotheses, references, strict=True)]


def read_lines(path: Path | str, what: str = "file") -> list[str]:
    """A line-aligned text file as sacrebleu reads one: split at \\n only, blank lines kept, right-stripped."""
    data = read_input_bytes(path, what)
    try:
        # A UTF-8 BOM is dropped, where the sacrebleu command keeps it in the first word: the one
        # deliberate difference from that command (docs/scores.md).
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x})", path=path, line=line) from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    if not lines:
        raise InputError(f"empty {what}: no lines to score", path=path)
    return [line.rstrip() for line in lines]


def read_reference(path: Path | str, expected_lines: int) -> list[str]:
    """A reference file: one English line per source paragraph (blank lines ignored, as in articles)."""
    lines = [line.strip() for line in read_text_file(path, "reference file").split("\n") if line.strip()]
    if len(lines) != expected_lines:
        raise InputError(f"reference has {len(lines)} lines but the article has {expected_lines} paragraphs",
                         path=path)
    return lines


def term_success_rate(hits: int, matches: int) -> float | None:
    """Share of matched glossary terms whose target appears; ``None`` when nothing matched."""
    return hits / matches if matches else None


@dataclass(frozen=True)
class TermStats:
    """How one glossary term fared across an article.

    A term is rendered consistently when all its occurrences agree: all with the glossary's target,
    or all without it. Renderings other than the target are not told apart (that needs a word
    aligner), so consistency is an upper bound wherever a term is missed.
    """

    source: str
    target: str
    occurrences: int
    hits: int

    @property
    def success_rate(self) -> float:
        """Share of the occurrences whose English has the target."""
        return self.hits / self.occurrences

    @property
    def agreeing(self) -> int:
        """Occurrences rendered like the term's majority rendering (target or not)."""
        return max(self.hits, self.occurrences - self.hits)

    @property
    def consistency(self) -> float | None:
        """Share of occurrences agreeing with the majority; ``None`` for a term seen once."""
        return self.agreeing / self.occurrences if self.occurrences > 1 else None

    def to_json(self) -> dict:
        """The run record's per-term object."""
        return {"source": self.source, "target": self.target, "occurrences": self.occurrences,
                "hits": self.hits, "success_rate": self.success_rate, "consistency": self.consistency}


def term_statistics(occurrences: Iterable[tuple[str, str, bool]]) -> tuple[TermStats, ...]:
    """Per-term figures from ``(source, target, hit)`` occurrences, in order of first occurrence."""
    counts: dict[tuple[str, str], list[int]] = {}
    for source, target, hit in occurrences:
        tally = counts.setdefault((source, target), [0, 0])
        tally[0] += 1
        tally[1] += hit
    return tuple(TermStats(source, target, n, hits) for (source, target), (n, hits) in counts.items())


def term_consistency(stats: Iterable[TermStats]) -> float | None:
    """Article consistency: occurrences agreeing with their term's majority, over terms seen twice or more."""
    repeated = [term for term in stats if term.occurrences > 1]
    total = sum(term.occurrences for term in repeated)
    return sum(term.agreeing for term in repeated) / total if total else None


def score_files(hypothesis: Path | str, references: Sequence[Path | str]) -> ReferenceScores:
    """``tarjama score``: a line-aligned hypothesis file against reference files each as long."""
    hypotheses = read_lines(hypothesis, "hypothesis file")
    streams = []
    for path in references:
        lines = read_lines(path, "reference file")
        if len(lines) != len(hypotheses):
            raise InputError(f"{len(lines)} lines, but the hypothesis file {hypothesis} has {len(hypotheses)}",
                             path=path)
        streams.append(lines)
    return corpus_scores(hypotheses, streams)
