"""The backends' shared translate(): batch plan, output budget per batch, input order and progress, no model."""

import math
from dataclasses import dataclass, field

import pytest

from tarjama.translate.backends.base import BatchedTranslator
from tarjama.translate.types import BatchingOptions, DecodingOptions, TermConstraint, Translation


@dataclass
class EngineCall:
    texts: list[str]
    budget: int
    n_best: int
    constraints: list[list[TermConstraint]]


@dataclass
class FakeEngine(BatchedTranslator):
    """One source token per word; one target token per word of a forced term; records every batch it gets."""

    positions: int = 64
    language_code: int = 0
    calls: list[EngineCall] = field(default_factory=list)
    backend = "fake"

    def __post_init__(self) -> None:
        self._language_code_tokens = self.language_code

    @property
    def max_source_tokens(self) -> int:
        return self.positions

    def count_tokens(self, texts):
        return [len(text.split()) for text in texts]

    def _forced_tokens(self, constraints, options):
        return sum(len(c.text.split()) for c in constraints)

    def _translate_batch(self, texts, budget, options, n_best, constraints, *, steps=None):
        self.calls.append(EngineCall(list(texts), budget, n_best, [list(c) for c in constraints]))
        return [Translation(text=text.upper(), tokens=budget) for text in texts]


def words(n: int, word: str = "w") -> str:
    return " ".join([word] * n)


def test_batches_are_planned_budgeted_per_batch_and_come_back_in_input_order():
    texts = [words(2, "a"), words(9, "b"), words(4, "c"), words(7, "d"), words(1, "e")]
    engine = FakeEngine()
    done = []
    options = DecodingOptions(max_output_ratio=1.5, max_output_slack=3)
    results = engine.translate(texts, options, done.append, batching=BatchingOptions(max_sentences=2, max_tokens=100))
    # Longest first, two a batch; each batch's budget follows its own longest input.
    assert [call.texts for call in engine.calls] == [[texts[1], texts[3]], [texts[2], texts[0]], [texts[4]]]
    assert [call.budget for call in engine.calls] == [math.ceil(1.5 * 9) + 3, math.ceil(1.5 * 4) + 3, 2 + 3]
    assert [r.text for r in results] == [text.upper() for text in texts]
    assert [r.tokens for r in results] == [9, 17, 9, 17, 5]
    assert done == [2, 2, 1] and sum(done) == len(texts)


def test_the_token_limit_splits_batches_by_padded_width():
    texts = [words(6), words(10), words(6), words(10), words(6)]
    engine = FakeEngine()
    engine.translate(texts, DecodingOptions(), batching=BatchingOptions(max_sentences=32, max_tokens=20))
    assert [call.texts for call in engine.calls] == [[texts[1], texts[3]], [texts[0], texts[2], texts[4]]]


@pytest.mark.parametrize(("options", "language_code", "positions", "constraints", "expected"), [
    (DecodingOptions(), 0, 64, [], 2 * 5 + 10),
    (DecodingOptions(), 1, 64, [], 2 * 5 + 10 + 1),  # the language code is on top of the words
    (DecodingOptions(max_output_tokens=6, min_output_tokens=2), 1, 64, [], 6 + 1),
    (DecodingOptions(), 0, 64, [[TermConstraint("one two")], [TermConstraint("x"), TermConstraint("y z w")]],
     2 * 5 + 10 + 4),  # the most tokens any one text may have forced
    (DecodingOptions(), 0, 16, [], 15),  # positions cap it, one kept for the start token
    (DecodingOptions(), 0, 22, [[TermConstraint("one two three")], []], 21),
], ids=["ratio-and-slack", "language-code", "fixed-length", "forced-terms", "positions", "positions-over-terms"])
def test_output_budget(options, language_code, positions, constraints, expected):
    engine = FakeEngine(positions=positions, language_code=language_code)
    texts = [words(5), words(3)]
    engine.translate(texts, options, constraints=constraints or None)
    (call,) = engine.calls
    assert call.budget == expected
    assert call.constraints == (constraints or [[], []])


def test_constraints_and_n_best_reach_the_engine_with_their_texts():
    texts = [words(1, "short"), words(6, "long")]
    wanted = [[TermConstraint("Kremlin", 1)], [TermConstraint("Moscow", 3), TermConstraint("Washington", 4)]]
    engine = FakeEngine()
    engine.translate(texts, DecodingOptions(beam_size=3), n_best=8, constraints=wanted,
                     batching=BatchingOptions(max_sentences=1))
    assert [(call.texts, call.constraints) for call in engine.calls] == [([texts[1]], [wanted[1]]),
                                                                         ([texts[0]], [wanted[0]])]
    assert {call.n_best for call in engine.calls} == {3}  # never more hypotheses than beams


@pytest.mark.parametrize(("texts", "constraints", "message"), [
    ([words(3), words(65)], None, "input of 65 tokens exceeds the model's 64"),
    ([words(3), words(4)], [[]], "1 constraint lists for 2 texts"),
])
def test_bad_calls_fail_before_the_engine_runs(texts, constraints, message):
    engine = FakeEngine()
    with pytest.raises(ValueError, match=message):
        engine.translate(texts, DecodingOptions(), constraints=constraints)
    assert engine.calls == []


def test_nothing_to_translate_calls_nothing():
    engine, done = FakeEngine(), []
    assert engine.translate([], DecodingOptions(), done.append) == []
    assert engine.calls == [] and done == []
