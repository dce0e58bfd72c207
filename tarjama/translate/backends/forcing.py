"""Forced decoding of glossary terms, decided token by token from the output so far.

Backend-neutral: a backend asks :meth:`TermForcing.next_token` at every decoding step for each
hypothesis and applies the answer to its scores (transformers does it in a logits processor).

A term is started at the first word boundary at or after the position where its source term
sits (so it lands near its place in the sentence), when the model wants to stop, or when the
output budget would otherwise run out; once started, its remaining tokens are forced. The model
may also produce a term on its own, which then counts as met and is not forced again; a word of
the model's that merely begins like a term is left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


def contains(sequence: Sequence[int], part: Sequence[int]) -> bool:
    """True when ``part`` occurs contiguously in ``sequence``."""
    n = len(part)
    return any(list(sequence[i:i + n]) == list(part) for i in range(len(sequence) - n + 1))


@dataclass(frozen=True)
class ForcedTerm:
    """A constraint in token ids: its English, its tokens, and the earliest output step to start it."""

    text: str
    tokens: tuple[int, ...]
    earliest_step: int


@dataclass
class Decision:
    """What to do at one step: the token to force (or ``None``) and whether ending is allowed."""

    force: int | None
    allow_end: bool
    term: int | None = None
    word_break: bool = False  # the next token must start a new word (a forced term just ended)


@dataclass
class TermForcing:
    """Forcing state for one input sentence; ``met_in_text`` lets a backend see a term in decoded text."""

    terms: tuple[ForcedTerm, ...]
    max_new_tokens: int
    met_in_text: Callable[[Sequence[int], str], bool] | None = None
    forced_at: dict[tuple[int, ...], tuple[int, int]] = field(default_factory=dict)
    started_at: dict[tuple[int, ...], int] = field(default_factory=dict)

    def next_token(self, generated: Sequence[int], preferred: int, *, at_word_start: bool, is_end: bool
                   ) -> Decision:
        """Decide for the output so far; ``preferred`` is the model's best next token.

        ``at_word_start``: ``preferred`` begins a new word (a term may start here without cutting one);
        ``is_end``: ``preferred`` ends the sentence.
        """
        unmet = [i for i, term in enumerate(self.terms) if not self._met(generated, term)]
        word_break = self._forced_term_just_ended(generated)
        if not unmet:
            return Decision(force=None, allow_end=True, word_break=word_break)
        for i in unmet:
            written = self._started_and_written(generated, i)
            if written:
                return self._force(generated, i, self.terms[i].tokens[written], preferred)
        term_index = unmet[0]
        term = self.terms[term_index]
        needed = sum(len(self.terms[i].tokens) for i in unmet)
        remaining = self.max_new_tokens - len(generated)
        due = len(generated) >= term.earliest_step and (at_word_start or is_end)
        if due or is_end or remaining <= needed + 1:
            self.started_at[tuple(generated)] = term_index
            return self._force(generated, term_index, term.tokens[0], preferred)
        return Decision(force=None, allow_end=False, word_break=word_break)

    def _forced_term_just_ended(self, generated: Sequence[int]) -> bool:
        """True right after the last token of a term this forcing started (the model must not glue onto it)."""
        for i, term in enumerate(self.terms):
            n = len(term.tokens)
            if len(generated) >= n and list(generated[-n:]) == list(term.tokens) and \
                    self.started_at.get(tuple(generated[:len(generated) - n])) == i:
                return True
        return False

    def _started_and_written(self, generated: Sequence[int], term_index: int) -> int:
        """How many tokens of a term this forcing started are written (0: none being written)."""
        tokens = self.terms[term_index].tokens
        for k in range(min(len(tokens) - 1, len(generated)), 0, -1):
            if list(generated[-k:]) == list(tokens[:k]) and \
                    self.started_at.get(tuple(generated[:len(generated) - k])) == term_index:
                return k
        return 0

    def _force(self, generated: Sequence[int], term_index: int, token: int, preferred: int) -> Decision:
        if token != preferred:  # what the model would have written anyway is not forcing
            self.forced_at[tuple(generated)] = (term_index, token)
        return Decision(force=token, allow_end=False, term=term_index)

    def _met(self, generated: Sequence[int], term: ForcedTerm) -> bool:
        if contains(generated, term.tokens):
            return True
        return self.met_in_text is not None and self.met_in_text(generated, term.text)

    def forced_terms(self, output: Sequence[int]) -> frozenset[str]:
        """The terms whose tokens were forced somewhere along ``output`` (the final hypothesis)."""
        forced = set()
        for t in range(len(output)):
            decision = self.forced_at.get(tuple(output[:t]))
            if decision is not None and decision[1] == output[t]:
                forced.add(self.terms[decision[0]].text)
        return frozenset(forced)
