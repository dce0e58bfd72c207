"""What every backend shares around its engine call: one ``translate()`` and the CPUs it may use.

:class:`BatchedTranslator` is a template, as CTranslate2's converters share ``convert()`` around one
``_load()``: the source lengths plan the batches, each batch gets its output budget, one engine hook
translates it, progress is counted and the results are put back in input order. A backend only loads
its model, counts tokens and implements :meth:`BatchedTranslator._translate_batch`.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from tarjama.translate.batching import plan_batches
from tarjama.translate.registry import ResolvedModel
from tarjama.translate.types import (
    DEFAULT_BATCHING,
    BatchingOptions,
    DecodingOptions,
    ProgressCallback,
    TermConstraint,
    Translation,
)

BatchSteps = Callable[[float], None]
"""Called by an engine as one batch decodes, with how much of it is done (0 to 1, never going back)."""


class _BatchProgress:
    """Turns an engine's fraction of one batch into model inputs for the run's progress, the rest at its end."""

    def __init__(self, size: int, progress: ProgressCallback) -> None:
        self._size, self._progress, self._reported = size, progress, 0.0

    def __call__(self, fraction: float) -> None:
        ahead = self._size * min(1.0, fraction) - self._reported
        if ahead > 0:
            self._reported += ahead
            self._progress(ahead)

    def end(self) -> None:
        if self._reported < self._size:
            self._progress(self._size - self._reported)


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity and container limits), not all the host's."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class BatchedTranslator(ABC):
    """A :class:`~tarjama.translate.types.Translator` whose engine translates one planned batch at a time."""

    backend: str
    model: ResolvedModel
    # Target tokens the decoder spends before the words (NLLB's language code): the budget counts them,
    # the options do not.
    _language_code_tokens: int = 0

    @property
    @abstractmethod
    def max_source_tokens(self) -> int:
        """The model's position limit: no input may be longer, and no output budget reaches it."""

    @abstractmethod
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Each text's length in source tokens (special tokens included)."""

    @abstractmethod
    def _translate_batch(self, texts: Sequence[str], budget: int, options: DecodingOptions, n_best: int,
                         constraints: Sequence[Sequence[TermConstraint]], *, steps: BatchSteps | None = None
                         ) -> list[Translation]:
        """The engine call: translate one batch, in its order, producing at most ``budget`` target tokens.

        ``budget`` counts any language code; ``n_best`` (already within the beam) hypotheses per text;
        ``constraints[i]`` (empty when none) lists the English to force into the output of ``texts[i]``;
        ``steps``, when given, hears how much of the batch is done as the engine goes (as often as it can tell).
        """

    def _target_tokens(self, text: str) -> Sequence[object]:
        """An English text as the engine's target tokens (ids or subword strings); for engines that take terms."""
        raise NotImplementedError

    @property
    def _unknown_target(self) -> object:
        """The target vocabulary's unknown token (id or string)."""
        raise NotImplementedError

    def _spells(self, text: str) -> bool:
        """Whether the target vocabulary can write ``text``: a term it cannot would come out as the unknown token,
        and is left to the pipeline's last resort."""
        tokens = self._target_tokens(text)
        return bool(tokens) and self._unknown_target not in tokens

    def _forced_tokens(self, constraints: Sequence[TermConstraint], options: DecodingOptions) -> int:
        """How many target tokens forcing one text's ``constraints`` may add (none for an engine that cannot)."""
        return 0

    def translate(self, texts: Sequence[str], options: DecodingOptions,
                  progress: ProgressCallback | None = None, *, n_best: int = 1,
                  constraints: Sequence[Sequence[TermConstraint]] | None = None,
                  batching: BatchingOptions = DEFAULT_BATCHING) -> list[Translation]:
        """Translate in length-sorted batches; results come back in input order.

        ``n_best`` > 1 asks for beam alternatives (at most the beam); ``constraints[i]`` lists English
        that must appear in the output of ``texts[i]``; ``batching`` sizes the batches. ``progress`` hears
        the inputs done as each batch decodes (fractions, as often as the engine tells), each batch's in all.
        """
        lengths = self.count_tokens(texts)
        too_long = [n for n in lengths if n > self.max_source_tokens]
        if too_long:
            raise ValueError(f"input of {too_long[0]} tokens exceeds the model's {self.max_source_tokens}")
        if constraints is not None and len(constraints) != len(texts):
            raise ValueError(f"{len(constraints)} constraint lists for {len(texts)} texts")
        n_best = max(1, min(n_best, options.beam_size))
        results: list[Translation | None] = [None] * len(texts)
        for batch in self._plan_batches(lengths, batching):
            wanted = [list(constraints[i]) if constraints is not None else [] for i in batch]
            budget = self._output_budget(options, max(lengths[i] for i in batch), wanted)
            steps = _BatchProgress(len(batch), progress) if progress is not None else None
            translations = self._translate_batch([texts[i] for i in batch], budget, options, n_best, wanted,
                                                 steps=steps)
            for index, translation in zip(batch, translations, strict=True):
                results[index] = translation
            if steps is not None:
                steps.end()
        missing = [i for i, result in enumerate(results) if result is None]
        if missing:
            raise RuntimeError(f"batching lost inputs {missing}")  # a bug, never bad input
        return [result for result in results if result is not None]

    def _plan_batches(self, lengths: Sequence[int], batching: BatchingOptions) -> list[list[int]]:
        """Batches of input indices under the run's batch limits (the one place that reads them)."""
        return plan_batches(lengths, max_sentences=batching.max_sentences, max_tokens=batching.max_tokens)

    def _output_budget(self, options: DecodingOptions, longest_source: int,
                       constraints: Sequence[Sequence[TermConstraint]]) -> int:
        """A batch's decoding length: the options' budget, the language code, the forced terms, within positions."""
        budget = options.output_budget(longest_source) + self._language_code_tokens
        # Forced terms come on top of what the model would write; positions still cap it all.
        budget += max((self._forced_tokens(wanted, options) for wanted in constraints), default=0)
        return min(self.max_source_tokens - 1, budget)


_SPECIAL_PIECE = re.compile(r"<[^>]*>|>>[^<]*<<|[a-z]{3}_[A-Z][a-z]{3}")  # </s>; Marian's >>eng<<; NLLB's arb_Arab


_RESYNC = 3  # characters an unknown or normalised piece may have stood for


def special_piece(piece: str) -> bool:
    """Whether a subword is a special token (end of sentence, filler, language code): it takes no text."""
    return _SPECIAL_PIECE.fullmatch(piece) is not None


def source_positions(text: str, pieces: Sequence[str], start: int, end: int) -> tuple[int, ...]:
    """The indices of the subword ``pieces`` of ``text`` that overlap its characters ``start``..``end``.

    The pieces are walked along the text (SentencePiece's ``▁`` marks a space). A special token takes no text;
    after an unknown one (``<unk>``) the walk finds its place again a few characters on; a piece it cannot find
    (a normalised character) ends the walk with what it found so far, so a term past it gets no positions (on
    CTranslate2 the pipeline then forces it at its place; the search writes it without hiding its Arabic).
    """
    if end <= start:
        return ()
    found, at = [], 0
    for index, piece in enumerate(pieces):
        core = piece.lstrip("▁")
        if not core:
            continue
        while at < len(text) and text[at].isspace():
            at += 1
        if not text.startswith(core, at):
            if special_piece(core):
                continue  # a special token (end of sentence, language code, unknown) takes no text
            found_at = text.find(core, at, at + _RESYNC + len(core))
            if found_at < 0:
                break
            at = found_at  # past the characters an unknown piece stood for
        if at < end and at + len(core) > start:
            found.append(index)
        at += len(core)
    return tuple(found)
