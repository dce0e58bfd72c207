"""What the pipeline and every backend share: decoding options, constraints, results and the protocol.

The pipeline, term enforcement and the backends meet here, below all of them, so none needs another's module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from tarjama.translate.registry import ResolvedModel

BACKENDS = ("transformers", "ctranslate2")
DEFAULT_BACKEND = "transformers"

ProgressCallback = Callable[[float], None]
"""Called with the model inputs just done: fractions of a batch's inputs while it decodes, summing to its size."""


class Pass(StrEnum):
    """A model pass over a run's inputs, as progress names it."""

    TRANSLATE = "translating"
    # The same decoding, with beam alternatives kept so that one with more glossary hits may be chosen.
    TRANSLATE_CHOOSING = "translating, choosing hypotheses"
    FORCE_TERMS = "forcing terms (strict)"  # strict mode re-decodes the pieces that miss a glossary term

    @property
    def first(self) -> bool:
        """Whether this is a first pass (every input once), which a run may plan ahead."""
        return self is not Pass.FORCE_TERMS


class Progress(Protocol):
    """Where the pipeline reports its model work: passes of model inputs, advanced as the engine decodes.

    The terminal bar (:func:`tarjama.translate.progress.progress_bar`) and the Prefect UI (``flows/progress.py``)
    implement it through :class:`tarjama.translate.progress.RunProgress`.
    """

    def start_pass(self, kind: Pass, inputs: int) -> None:
        """A model pass over ``inputs`` model inputs begins."""
        ...

    def advance(self, inputs: float) -> None:
        """``inputs`` more model inputs of the current pass are done (a :data:`ProgressCallback`)."""
        ...


@dataclass(frozen=True)
class BatchingOptions:
    """How many sentences and padded tokens go to the model at once: they change the speed, never the English."""

    max_sentences: int = 32
    max_tokens: int = 4096

    def to_json(self) -> dict:
        """The batch sizes under the run record's names."""
        return {"max_batch_sentences": self.max_sentences, "max_batch_tokens": self.max_tokens}


DEFAULT_BATCHING = BatchingOptions()


class TermSearch(StrEnum):
    """How strict mode gets a missing term into the decoding (the positional forcing is also the fall-back)."""

    CONSTRAINED = "constrained"  # constraint-aware: a constrained beam search, or placement by attention
    POSITIONAL = "positional"  # decode, then re-decode with the term forced at the place matching the Arabic's


@dataclass(frozen=True)
class DecodingOptions:
    """How to decode; part of what makes a translation reproducible."""

    beam_size: int = 4
    # Longer sentences are translated in pieces: models are trained on sentences, not pages.
    max_source_tokens: int = 256
    # Output budget per sentence: ratio × source tokens + slack, capped by the model's positions.
    max_output_ratio: float = 2.0
    max_output_slack: int = 10
    # Target tokens after any language code. A fixed length (min = max) makes benchmark work equal
    # across backends; forced glossary terms come on top of the maximum. 0 / None: no bound.
    min_output_tokens: int = 0
    max_output_tokens: int | None = None

    def __post_init__(self) -> None:
        too_low = self.max_output_tokens is not None and self.max_output_tokens < max(1, self.min_output_tokens)
        if self.min_output_tokens < 0 or too_low:
            raise ValueError(f"output bounds {self.min_output_tokens}..{self.max_output_tokens} are not a range")
    # Soft terminology: a beam alternative with more glossary hits replaces the best hypothesis only
    # if its mean token log-probability is at most this much lower (0 turns the choice off).
    term_rerank_margin: float = 0.25
    term_search: TermSearch = TermSearch.CONSTRAINED

    def to_json(self, batching: BatchingOptions | None = None) -> dict:
        """The options as JSON (output-length bounds only when set, so memory keys stay stable).

        With ``batching``, the run record's ``decoding`` object: the batch sizes in the place records
        have always had them.
        """
        options = {"beam_size": self.beam_size, "max_source_tokens": self.max_source_tokens,
                   **(batching.to_json() if batching is not None else {}), "max_output_ratio": self.max_output_ratio,
                   "max_output_slack": self.max_output_slack, "term_rerank_margin": self.term_rerank_margin}
        if self.min_output_tokens:
            options["min_output_tokens"] = self.min_output_tokens
        if self.max_output_tokens is not None:
            options["max_output_tokens"] = self.max_output_tokens
        if self.term_search is not TermSearch.CONSTRAINED:
            options["term_search"] = str(self.term_search)
        return options

    def output_budget(self, longest_source: int) -> int:
        """The most target tokens a batch whose longest input has ``longest_source`` tokens may produce."""
        if self.max_output_tokens is not None:
            return self.max_output_tokens
        return math.ceil(self.max_output_ratio * longest_source) + self.max_output_slack


@dataclass(frozen=True)
class TermConstraint:
    """English that the output must contain, not to be started before output token ``earliest_step``.

    ``source_start``..``source_end`` is the Arabic term's place in the input text (characters; equal when not
    known): a constraint-aware backend finds the model's own rendering of it there.
    """

    text: str
    earliest_step: int = 0
    source_start: int = 0
    source_end: int = 0


@dataclass(frozen=True)
class Hypothesis:
    """A beam alternative and its mean token log-probability."""

    text: str
    score: float
    truncated: bool = False


@dataclass(frozen=True)
class Translation:
    """One sentence's output; ``truncated`` when it hit the output budget before ending.

    ``tokens`` is the output length in target tokens; ``alternatives`` the next-best beam hypotheses
    (when asked for); ``forced`` the constraint texts whose tokens the positional forcing had to force;
    ``carried`` those the constraint-aware decoding put in where the model would not have written them;
    ``placed`` those a backend's own last resort put into its finished output (no word of it was the term's);
    ``unspellable`` those the model's vocabulary cannot write (left to the pipeline's last resort).
    """

    text: str
    truncated: bool = False
    tokens: int = 0
    score: float | None = None
    alternatives: tuple[Hypothesis, ...] = ()
    forced: frozenset[str] = frozenset()
    carried: frozenset[str] = frozenset()
    placed: frozenset[str] = frozenset()
    unspellable: frozenset[str] = frozenset()


class Translator(Protocol):
    """What the pipeline needs from a backend."""

    backend: str
    model: ResolvedModel

    @property
    def max_source_tokens(self) -> int:
        """The longest input, in the model's tokens, that it can take without truncation."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Each text's length in source tokens (special tokens included)."""
        ...

    def translate(self, texts: Sequence[str], options: DecodingOptions,
                  progress: ProgressCallback | None = None, *, n_best: int = 1,
                  constraints: Sequence[Sequence[TermConstraint]] | None = None,
                  batching: BatchingOptions = DEFAULT_BATCHING) -> list[Translation]:
        """Translate ``texts``, returning results in the same order.

        ``n_best`` > 1 asks for beam alternatives; ``constraints[i]`` lists English that must appear in
        the output of ``texts[i]`` (forced decoding, where the backend can); ``batching`` sizes the batches.
        """
        ...
