"""Scores: sacrebleu corpus metrics against a reference, and glossary term success."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tarjama.documents import read_text_file
from tarjama.errors import InputError


@dataclass(frozen=True)
class ReferenceScores:
    """Corpus BLEU, chrF++ and TER as sacrebleu computes them, with their signatures."""

    bleu: float
    chrf: float
    ter: float
    signatures: dict[str, str]


def corpus_scores(hypotheses: Sequence[str], references: Sequence[str]) -> ReferenceScores:
    """sacrebleu's corpus BLEU, chrF++ (word order 2) and TER of line-aligned texts."""
    from sacrebleu.metrics import BLEU, CHRF, TER

    if len(hypotheses) != len(references):
        raise InputError(f"{len(hypotheses)} hypothesis lines but {len(references)} reference lines")
    metrics = {"bleu": BLEU(), "chrf": CHRF(word_order=2), "ter": TER()}
    values = {name: metric.corpus_score(list(hypotheses), [list(references)]).score
              for name, metric in metrics.items()}
    return ReferenceScores(**values, signatures={name: str(m.get_signature()) for name, m in metrics.items()})


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
