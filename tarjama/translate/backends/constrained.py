"""Lexically constrained beam search for the transformers backend: dynamic beam allocation, batched.

transformers 5 has no constrained beam search in its core, so this is a beam loop of its own over the model's
forward pass and key/value cache (as Post & Vilar 2018 and Sockeye do it):

- every hypothesis tracks which of its sentence's terms it has met and how far it is inside each one;
- each step's candidates are the beam's best continuations, each row's best token, and for every row the next
  token of each term it has not met (the start of the term, or its next token when inside it);
- the beam is shared out in banks by the number of terms met, so that hypotheses that have placed more terms
  are not crowded out by freer ones that have placed fewer; slots a bank cannot fill go to the best of the rest;
- a hypothesis may end only when all its terms are in, and a term once met cannot be written again;
- once a hypothesis has met a term, the Arabic words of that term are hidden from its cross-attention: the
  model cannot then write its own rendering of the name beside the glossary's (the duplication that forcing
  after the model's "Crocus hall" gave).

Every step is a handful of tensor operations over all sentences and beams at once; Python runs only for the
hypotheses that end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

_PRIORITY = 1e6  # added to the key of a candidate its bank keeps: ranks it above every other candidate
_PER_TERM = 1e4  # among those, more terms met first (when there are more banks than beam rows)


@dataclass(frozen=True)
class CarriedTerm:
    """A term for the search: its English, its target tokens, and the source tokens of its Arabic."""

    text: str
    tokens: tuple[int, ...]
    source_positions: tuple[int, ...] = ()


@dataclass(frozen=True)
class SearchHypothesis:
    """One finished (or, when the budget ran out, unfinished) hypothesis of the search."""

    tokens: tuple[int, ...]  # the generated tokens: no decoder start, no language code, no end token
    score: float  # the mean token log-probability (length penalty 1), as beam search reports it
    finished: bool  # it ended with the end token within the budget
    met: frozenset[str]  # the terms it holds
    steered: frozenset[str]  # the terms it holds that the model would not have written as its best next tokens


@dataclass(frozen=True)
class SearchSettings:
    """The search's fixed ids and sizes."""

    beam_size: int
    start_ids: tuple[int, ...]  # the decoder's start token, then any forced language code
    end_id: int
    banned_ids: tuple[int, ...] = ()  # never generated (the padding token)
    glue_ids: tuple[int, ...] = ()  # tokens that continue the word before them: never right after a term
    length_penalty: float = 1.0
    min_new_tokens: int = 0


def constrained_beam_search(network: object, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                            terms: Sequence[Sequence[CarriedTerm]], settings: SearchSettings, max_new_tokens: int,
                            *, n_best: int = 1, steps: Callable[[float], None] | None = None
                            ) -> list[list[SearchHypothesis]]:
    """Decode ``input_ids`` so that each sentence's output holds all its ``terms``; ``n_best`` hypotheses each."""
    import torch
    from transformers.modeling_outputs import BaseModelOutput

    beams, batch = settings.beam_size, input_ids.shape[0]
    rows = batch * beams
    with torch.inference_mode():
        encoded = network.get_encoder()(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        encoder_states = BaseModelOutput(last_hidden_state=encoded.repeat_interleave(beams, dim=0))
        base_mask = attention_mask.repeat_interleave(beams, dim=0).bool()
        table = _TermTable.build(terms, beams, input_ids.shape[1])
        state = _BeamState.start(batch, beams, table)
        pools: list[list[SearchHypothesis]] = [[] for _ in range(batch)]
        done = torch.zeros(batch, dtype=torch.bool)
        decoder_input = torch.tensor([settings.start_ids] * rows, dtype=torch.long)
        cache = None
        for step in range(max_new_tokens):
            visible = base_mask & ~(state.met.unsqueeze(-1) & table.source_mask).any(dim=1)
            output = network(encoder_outputs=encoder_states, attention_mask=visible.long(),
                             decoder_input_ids=decoder_input, cache=cache, use_cache=True)
            cache = output.past_key_values
            log_probs = torch.log_softmax(output.logits[:, -1, :].float(), dim=-1)
            model_best = _ban(log_probs, state, table, settings, step)
            candidates = _candidates(log_probs, state, table, beams, model_best)
            _collect_finished(candidates, state, table, settings, pools, done, step, beams)
            chosen = _allocate(candidates, table, beams, settings.end_id)
            state = state.advance(chosen, candidates)
            state.scores[done.repeat_interleave(beams)] = -math.inf
            cache.reorder_cache(chosen.rows)
            decoder_input = chosen.tokens.unsqueeze(1)
            done |= _finished_sentences(state, pools, settings, beams, step + 1)
            if steps is not None:
                steps((step + 1) / max_new_tokens)
            if bool(done.all()):
                break
    return [_best(pools[b], state, table, b, beams, n_best) for b in range(batch)]


@dataclass
class _TermTable:
    """Every sentence's terms as padded tensors, one row per beam row."""

    tokens: torch.Tensor  # (rows, C, L) term tokens, -1 past a term's end
    lengths: torch.Tensor  # (rows, C) 0 for a missing term slot
    source_mask: torch.Tensor  # (rows, C, S) the source positions of each term's Arabic
    texts: list[list[str]]  # per sentence
    counts: torch.Tensor  # (batch,) terms per sentence

    @classmethod
    def build(cls, terms: Sequence[Sequence[CarriedTerm]], beams: int, source_length: int) -> _TermTable:
        import torch

        width = max(1, max((len(t) for t in terms), default=1))
        longest = max(1, max((len(term.tokens) for t in terms for term in t), default=1))
        tokens = torch.full((len(terms), width, longest), -1, dtype=torch.long)
        lengths = torch.zeros((len(terms), width), dtype=torch.long)
        source_mask = torch.zeros((len(terms), width, source_length), dtype=torch.bool)
        for b, sentence in enumerate(terms):
            for c, term in enumerate(sentence):
                tokens[b, c, :len(term.tokens)] = torch.tensor(term.tokens)
                lengths[b, c] = len(term.tokens)
                positions = [p for p in term.source_positions if p < source_length]
                source_mask[b, c, positions] = True
        return cls(tokens.repeat_interleave(beams, 0), lengths.repeat_interleave(beams, 0),
                   source_mask.repeat_interleave(beams, 0), [[t.text for t in s] for s in terms],
                   torch.tensor([len(s) for s in terms]))

    @property
    def present(self) -> torch.Tensor:
        """(rows, C): the slots that hold a term."""
        return self.lengths > 0


@dataclass
class _BeamState:
    """The beam's hypotheses: tokens, summed log-probabilities and each term's progress."""

    tokens: torch.Tensor  # (rows, t)
    scores: torch.Tensor  # (rows,)
    met: torch.Tensor  # (rows, C) bool; empty slots count as met
    progress: torch.Tensor  # (rows, C) tokens of the term the hypothesis ends with (of a met one: a repeat's)
    steering: torch.Tensor  # (rows, C) bool: the term's tokens so far include one the model did not rank first
    steered: torch.Tensor  # (rows, C) bool: the term was met with such a token
    after_term: torch.Tensor  # (rows,) bool: the last token ended a term (the next must not glue onto it)

    @property
    def inside(self) -> torch.Tensor:
        """(rows, C): the unmet terms a hypothesis has started (it must finish them)."""
        return (self.progress > 0) & ~self.met

    @classmethod
    def start(cls, batch: int, beams: int, table: _TermTable) -> _BeamState:
        import torch

        rows = batch * beams
        scores = torch.full((rows,), -math.inf)
        scores[::beams] = 0.0  # one live hypothesis per sentence at first: the beams would all be the same
        width = table.lengths.shape[1]
        return cls(torch.zeros((rows, 0), dtype=torch.long), scores, ~table.present,
                   torch.zeros((rows, width), dtype=torch.long), torch.zeros((rows, width), dtype=torch.bool),
                   torch.zeros((rows, width), dtype=torch.bool), torch.zeros(rows, dtype=torch.bool))

    def advance(self, chosen: _Chosen, candidates: _Candidates) -> _BeamState:
        import torch

        pick = chosen.index
        return _BeamState(torch.cat([self.tokens[chosen.rows], chosen.tokens.unsqueeze(1)], dim=1),
                          _take(candidates.scores, pick), _take(candidates.met, pick),
                          _take(candidates.progress, pick), _take(candidates.steering, pick),
                          _take(candidates.steered, pick), _take(candidates.completes, pick))


@dataclass
class _Candidates:
    """Each sentence's candidates for the next beam, ``(batch, M)`` and per term ``(batch, M, C)``."""

    rows: torch.Tensor  # the beam row (global) each extends
    tokens: torch.Tensor
    scores: torch.Tensor  # summed log-probability; -inf for a duplicate or impossible candidate
    met: torch.Tensor
    progress: torch.Tensor
    steering: torch.Tensor
    steered: torch.Tensor
    banks: torch.Tensor  # terms met, and one more while inside a term: the bank of dynamic beam allocation
    completes: torch.Tensor  # the token ends a term


@dataclass
class _Chosen:
    index: torch.Tensor  # (batch, beams) into the candidates
    rows: torch.Tensor  # (rows,) the global beam row each new row extends
    tokens: torch.Tensor  # (rows,)


def _take(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[b, index[b, k]]`` flattened to beam rows (trailing dimensions kept)."""
    import torch

    if values.dim() == 2:
        return torch.gather(values, 1, index).reshape(-1)
    expanded = index.unsqueeze(-1).expand(-1, -1, values.shape[-1])
    return torch.gather(values, 1, expanded).reshape(-1, values.shape[-1])


def _ban(log_probs: torch.Tensor, state: _BeamState, table: _TermTable, settings: SearchSettings,
         step: int) -> torch.Tensor:
    """No end before every term is in (or before the minimum length); no term written a second time; a term once
    started is finished. Returns each row's best token before that last rule (the model's own choice)."""
    import torch

    rows = torch.arange(log_probs.shape[0])
    if settings.banned_ids:
        log_probs[:, list(settings.banned_ids)] = -math.inf
    if settings.glue_ids and bool(state.after_term.any()):
        glued = torch.zeros_like(log_probs, dtype=torch.bool)
        glued[:, list(settings.glue_ids)] = True
        log_probs[state.after_term.unsqueeze(1) & glued] = -math.inf
    unfinished = ~state.met.all(dim=1)
    if step < settings.min_new_tokens:
        unfinished[:] = True
    log_probs[unfinished, settings.end_id] = -math.inf
    # A met term's last token, where the hypothesis ends with the rest of it: its second occurrence.
    repeating = state.met & table.present & (state.progress == table.lengths - 1)
    if bool(repeating.any()):
        last = torch.gather(table.tokens, 2, (table.lengths - 1).clamp(min=0).unsqueeze(-1)).squeeze(-1)
        row_index, term_index = repeating.nonzero(as_tuple=True)
        log_probs[rows[row_index], last[row_index, term_index]] = -math.inf
    model_best = log_probs.argmax(dim=1)
    inside = state.inside
    if bool(inside.any()):
        expected = torch.gather(table.tokens, 2, state.progress.clamp(max=table.tokens.shape[2] - 1).unsqueeze(-1)
                                ).squeeze(-1)
        allowed = torch.zeros_like(log_probs, dtype=torch.bool)
        row_index, term_index = inside.nonzero(as_tuple=True)
        allowed[row_index, expected[row_index, term_index]] = True
        in_term = inside.any(dim=1)
        log_probs[in_term.unsqueeze(1) & ~allowed] = -math.inf
    return model_best


def _candidates(log_probs: torch.Tensor, state: _BeamState, table: _TermTable, beams: int,
                model_best: torch.Tensor) -> _Candidates:
    """The beam's top continuations, each row's best token, and each free row's first token of every unmet term."""
    import torch

    rows, vocabulary = log_probs.shape
    batch = rows // beams
    total = state.scores.unsqueeze(1) + log_probs
    top_scores, top_index = total.view(batch, beams * vocabulary).topk(2 * beams, dim=1)
    top_rows = top_index // vocabulary + torch.arange(batch).unsqueeze(1) * beams
    top_tokens = top_index % vocabulary
    best_tokens = log_probs.argmax(dim=1)  # inside a term: its next token
    first_tokens = table.tokens[..., 0]  # (rows, C)
    term_scores = torch.gather(total, 1, first_tokens.clamp(min=0))
    term_scores[state.met | (first_tokens < 0) | state.inside.any(dim=1, keepdim=True)] = -math.inf
    width = first_tokens.shape[1]
    row_ids = torch.arange(rows)
    cand_rows = torch.cat([top_rows, row_ids.view(batch, beams),
                           row_ids.view(batch, beams, 1).expand(-1, -1, width).reshape(batch, -1)], dim=1)
    cand_tokens = torch.cat([top_tokens, best_tokens.view(batch, beams), first_tokens.clamp(min=0).view(batch, -1)],
                            dim=1)
    cand_scores = torch.cat([top_scores, torch.gather(total, 1, best_tokens.unsqueeze(1)).view(batch, beams),
                             term_scores.view(batch, -1)], dim=1)
    cand_scores = _without_duplicates(cand_rows * vocabulary + cand_tokens, cand_scores)
    return _term_progress(cand_rows, cand_tokens, cand_scores, model_best, state, table)


def _without_duplicates(keys: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """``scores`` with every repeat of a (row, token) candidate set to -inf (its first copy kept)."""
    import torch

    order = keys.argsort(dim=1, stable=True)
    sorted_keys = torch.gather(keys, 1, order)
    repeat = torch.zeros_like(sorted_keys, dtype=torch.bool)
    repeat[:, 1:] = sorted_keys[:, 1:] == sorted_keys[:, :-1]
    duplicate = torch.zeros_like(repeat).scatter(1, order, repeat)
    return scores.masked_fill(duplicate, -math.inf)


def _term_progress(rows: torch.Tensor, tokens: torch.Tensor, scores: torch.Tensor, model_best: torch.Tensor,
                   state: _BeamState, table: _TermTable) -> _Candidates:
    """Each candidate's terms after its token: started, advanced or met (a met one's repeat is tracked too)."""
    import torch

    progress, met = state.progress[rows], state.met[rows]  # (batch, M, C)
    term_tokens, lengths = table.tokens[rows], table.lengths[rows]  # (batch, M, C, L), (batch, M, C)
    expected = torch.gather(term_tokens, 3, progress.clamp(max=term_tokens.shape[3] - 1).unsqueeze(-1)).squeeze(-1)
    token = tokens.unsqueeze(-1)
    advances = (progress > 0) & (token == expected) & (progress < lengths)
    was_inside = ((progress > 0) & ~met).any(dim=-1, keepdim=True)
    starts = (token == term_tokens[..., 0]) & ~advances & (met | ~was_inside)  # one term at a time
    new_progress = torch.where(advances, progress + 1,
                               torch.where(starts, torch.ones_like(progress), torch.zeros_like(progress)))
    off_best = (tokens != model_best[rows]).unsqueeze(-1)
    steering = torch.where(advances, state.steering[rows] | off_best, starts & off_best)
    completes = (new_progress == lengths) & (lengths > 0) & ~met
    new_met = met | completes
    steered = torch.where(completes, steering, state.steered[rows])
    new_progress = torch.where(completes, torch.zeros_like(new_progress), new_progress)
    # A term's tokens after its first cost nothing: every finished hypothesis holds the same ones, and a name the
    # model has never seen is improbable wherever it goes, which would favour writing some other name first and the
    # term late. Its first token is paid: that is where the model says whether a name like it may begin here.
    on_term = (advances & ~met).any(dim=-1)
    scores = torch.where(on_term & torch.isfinite(scores), state.scores[rows], scores)
    present = lengths > 0
    banks = (new_met & present).sum(dim=-1) + ((new_progress > 0) & ~new_met).any(dim=-1).long()
    return _Candidates(rows, tokens, scores, new_met, new_progress, steering & ~completes, steered, banks,
                       completes.any(dim=-1))


def _collect_finished(candidates: _Candidates, state: _BeamState, table: _TermTable, settings: SearchSettings,
                      pools: list[list[SearchHypothesis]], done: torch.Tensor, step: int, beams: int) -> None:
    """Move the ending candidates that rank within the beam into their sentence's pool of finished hypotheses."""
    import torch

    ending = (candidates.tokens == settings.end_id) & torch.isfinite(candidates.scores)
    if not bool(ending.any()):
        return
    rank = candidates.scores.argsort(dim=1, descending=True).argsort(dim=1)
    ending &= rank < beams
    for b, m in ending.nonzero().tolist():
        if bool(done[b]):
            continue
        row = int(candidates.rows[b, m])
        # Normalised by the tokens that were scored: the terms' own come free (see _term_progress).
        length = max(1, step + 1 - int(((table.lengths[row] - 1).clamp(min=0) * candidates.met[b, m]).sum()))
        score = float(candidates.scores[b, m]) / length ** settings.length_penalty
        pools[b].append(_hypothesis(state.tokens[row].tolist(), score, True, candidates.met[b, m],
                                    candidates.steered[b, m], table.texts[b]))
        pools[b].sort(key=lambda h: h.score, reverse=True)
        del pools[b][beams:]
    candidates.scores.masked_fill_(candidates.tokens == settings.end_id, -math.inf)


def _allocate(candidates: _Candidates, table: _TermTable, beams: int, end_id: int) -> _Chosen:
    """Dynamic beam allocation: each bank (terms met) keeps its best, the rest of the beam goes by score."""
    import torch

    scores, banks = candidates.scores, candidates.banks
    bank_size = (beams // (table.counts + 1)).clamp(min=1).unsqueeze(1)
    order = scores.argsort(dim=1, descending=True)
    sorted_banks = torch.gather(banks, 1, order)
    one_hot = torch.nn.functional.one_hot(sorted_banks, int(table.counts.max()) + 1)
    rank_sorted = (one_hot.cumsum(dim=1) * one_hot).sum(-1) - 1
    rank = torch.zeros_like(rank_sorted).scatter(1, order, rank_sorted)
    kept = (rank < bank_size) & torch.isfinite(scores)
    key = torch.where(kept, scores + _PRIORITY + banks * _PER_TERM, scores)
    index = key.topk(beams, dim=1).indices
    return _Chosen(index, _take(candidates.rows, index), _take(candidates.tokens, index))


def _finished_sentences(state: _BeamState, pools: list[list[SearchHypothesis]], settings: SearchSettings,
                        beams: int, length: int) -> torch.Tensor:
    """Sentences whose pool is full and whose live hypotheses can no longer beat it (or that have none left)."""
    import torch

    best_live = state.scores.view(-1, beams).max(dim=1).values
    finished = []
    for b, pool in enumerate(pools):
        live = float(best_live[b])
        if not math.isfinite(live):
            finished.append(True)
            continue
        finished.append(len(pool) >= beams and pool[-1].score >= live / length ** settings.length_penalty)
    return torch.tensor(finished)


def _hypothesis(tokens: list[int], score: float, finished: bool, met: torch.Tensor, steered: torch.Tensor,
                texts: list[str]) -> SearchHypothesis:
    return SearchHypothesis(tuple(tokens), score, finished,
                            frozenset(t for t, m in zip(texts, met.tolist(), strict=False) if m),
                            frozenset(t for t, s in zip(texts, steered.tolist(), strict=False) if s))


def _best(pool: list[SearchHypothesis], state: _BeamState, table: _TermTable, b: int, beams: int, n_best: int
          ) -> list[SearchHypothesis]:
    """The sentence's ``n_best``: its finished hypotheses, else (out of budget) its live ones, most terms first."""
    if pool:
        return pool[:n_best]
    rows = range(b * beams, (b + 1) * beams)
    length = max(1, state.tokens.shape[1])
    live = [_hypothesis(state.tokens[r].tolist(), float(state.scores[r]) / length, False, state.met[r],
                        state.steered[r], table.texts[b]) for r in rows if math.isfinite(float(state.scores[r]))]
    live.sort(key=lambda h: (len(h.met), h.score), reverse=True)
    return live[:n_best]
