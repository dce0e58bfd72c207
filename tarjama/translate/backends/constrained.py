"""Lexically constrained beam search for the transformers backend: dynamic beam allocation, batched.

transformers 5 has no constrained beam search in its core, so this is a beam loop of its own over the model's
forward pass and key/value cache (as Post & Vilar 2018 and Sockeye do it):

- every hypothesis tracks which of its sentence's terms it has met and how far it is inside each one;
- a hypothesis meets a term in one of two ways. Where the model turns to the term's Arabic (its cross-attention
  peaks there) at the start of a word, the hypothesis may *stand in* the term for what the model writes there:
  the model goes on decoding its own rendering of the name, which keeps it fluent, and the output holds the
  glossary's English in that rendering's place (the beam weighs that choice against every other). Or, where
  the model never turns to it, the hypothesis writes the term's tokens, started at a word boundary;
- each step's candidates are the beam's best continuations, each row's best token, the stand-ins, and for every
  row the first token of each term it has not met (or its next token when inside it);
- the beam is shared out in banks by the number of terms met, so that hypotheses that have placed more terms
  are not crowded out by freer ones that have placed fewer; slots a bank cannot fill go to the best of the rest;
- a hypothesis may end only when all its terms are in, and a term once met cannot be written again: its Arabic
  is then hidden from the hypothesis's cross-attention, so the model cannot write its own rendering of the name
  beside the glossary's (the duplication that forcing after the model's "Crocus hall" gave).

Every step is a handful of tensor operations over all sentences and beams at once; Python runs only for the
hypotheses that end.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

_PRIORITY = 1e6  # added to the key of a candidate its bank keeps: ranks it above every other candidate
_PER_TERM = 1e4  # among those, more terms met first (when there are more banks than beam rows)
_ONE_SEARCH = threading.Lock()


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
    # Word starts with letters and no digit: where a stand-in may open (none: no stand-ins, terms are written).
    name_ids: tuple[int, ...] = ()
    # Where an open stand-in may end: a new word, or punctuation that is not inside a name (not "-" or "'").
    break_ids: tuple[int, ...] = ()
    length_penalty: float = 1.0
    min_new_tokens: int = 0


def constrained_beam_search(network: object, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                            terms: Sequence[Sequence[CarriedTerm]], settings: SearchSettings, max_new_tokens: int,
                            *, n_best: int = 1, steps: Callable[[float], None] | None = None
                            ) -> list[list[SearchHypothesis]]:
    """Decode ``input_ids`` so that each sentence's output holds all its ``terms``; ``n_best`` hypotheses each."""
    # The switch is the model's, for every thread that uses it: one search at a time, each restoring it.
    with _ONE_SEARCH:
        implementation = network.config._attn_implementation  # where the library keeps its choice
        network.set_attn_implementation("eager")  # the one implementation that returns the cross-attention read here
        try:
            return _search(network, input_ids, attention_mask, terms, settings, max_new_tokens, n_best, steps)
        finally:
            network.set_attn_implementation(implementation)


def _search(network: object, input_ids: torch.Tensor, attention_mask: torch.Tensor,
            terms: Sequence[Sequence[CarriedTerm]], settings: SearchSettings, max_new_tokens: int, n_best: int,
            steps: Callable[[float], None] | None) -> list[list[SearchHypothesis]]:
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
        vocabulary: _Vocabulary | None = None
        for step in range(max_new_tokens):
            visible = base_mask & ~(state.met.unsqueeze(-1) & table.source_mask).any(dim=1)
            output = network(encoder_outputs=encoder_states, attention_mask=visible.long(),
                             decoder_input_ids=decoder_input, cache=cache, use_cache=True, output_attentions=True)
            cache = output.past_key_values
            log_probs = torch.log_softmax(output.logits[:, -1, :].float(), dim=-1)
            if vocabulary is None:
                vocabulary = _Vocabulary.of(settings, log_probs.shape[1])
            focus = _focus(output.cross_attentions[-1], table)
            model_best = _ban(log_probs, state, table, settings, step, vocabulary.glue)
            candidates = _candidates(log_probs, state, table, beams, model_best, vocabulary, focus, step,
                                     settings.end_id)
            _collect_finished(candidates, state, table, settings, pools, done, step, beams)
            chosen = _allocate(candidates, table, beams)
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


def _focus(cross_attention: torch.Tensor, table: _TermTable) -> torch.Tensor:
    """(rows, C): the terms whose Arabic this step attends to most (the last layer's heads, averaged)."""
    import torch

    strongest = cross_attention[:, :, -1, :].float().mean(dim=1).argmax(dim=1)  # (rows,)
    index = strongest.view(-1, 1, 1).expand(-1, table.source_mask.shape[1], 1)
    return torch.gather(table.source_mask, 2, index).squeeze(-1)


@dataclass
class _Vocabulary:
    """Token classes over the vocabulary, ``(V,)`` each (see :class:`SearchSettings`)."""

    glue: torch.Tensor
    names: torch.Tensor
    breaks: torch.Tensor

    @classmethod
    def of(cls, settings: SearchSettings, size: int) -> _Vocabulary:
        import torch

        classes = []
        for ids in (settings.glue_ids, settings.name_ids, settings.break_ids):
            mask = torch.zeros(size, dtype=torch.bool)
            mask[list(ids)] = True
            classes.append(mask)
        return cls(*classes)


@dataclass
class _TermTable:
    """Every sentence's terms as padded tensors, one row per beam row."""

    tokens: torch.Tensor  # (rows, C, L) term tokens, -1 past a term's end
    lengths: torch.Tensor  # (rows, C) 0 for a missing term slot
    source_mask: torch.Tensor  # (rows, C, S) the source positions of each term's Arabic
    texts: list[list[str]]  # per sentence
    token_lists: list[list[tuple[int, ...]]]  # per sentence
    counts: torch.Tensor  # (batch,) terms per sentence
    words: torch.Tensor  # (rows, C) the term's words: a stand-in covers at most one more of the model's
    same: torch.Tensor  # (rows, C, C) bool: slot c' (before c) holds the same tokens as slot c (a repeated target)

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
        words = torch.zeros((len(terms), width), dtype=torch.long)
        same = torch.zeros((len(terms), width, width), dtype=torch.bool)
        for b, sentence in enumerate(terms):
            for c, term in enumerate(sentence):
                words[b, c] = len(term.text.split())
                for earlier in range(c):
                    same[b, c, earlier] = sentence[earlier].tokens == term.tokens
        return cls(tokens.repeat_interleave(beams, 0), lengths.repeat_interleave(beams, 0),
                   source_mask.repeat_interleave(beams, 0), [[t.text for t in s] for s in terms],
                   [[t.tokens for t in s] for s in terms], torch.tensor([len(s) for s in terms]),
                   words.repeat_interleave(beams, 0), same.repeat_interleave(beams, 0))

    @property
    def present(self) -> torch.Tensor:
        """(rows, C): the slots that hold a term."""
        return self.lengths > 0


@dataclass
class _BeamState:
    """The beam's hypotheses: tokens, summed log-probabilities and each term's progress."""

    tokens: torch.Tensor  # (rows, t) what the model was fed (a stand-in's span holds the model's own rendering)
    scores: torch.Tensor  # (rows,)
    met: torch.Tensor  # (rows, C) bool; empty slots count as met
    progress: torch.Tensor  # (rows, C) tokens of the term the hypothesis ends with (of a met one: a repeat's)
    standing: torch.Tensor  # (rows,) the term a stand-in is open for, -1 for none
    stood: torch.Tensor  # (rows,) the words the open stand-in covers so far
    spans: torch.Tensor  # (rows, C, 2) a stand-in's first token and one past its last (-1: none, or still open)
    steering: torch.Tensor  # (rows, C) bool: the term's tokens so far include one the model did not rank first
    steered: torch.Tensor  # (rows, C) bool: the term was met by a stand-in or with such a token
    after_term: torch.Tensor  # (rows,) bool: the last token ended a written term (the next must not glue onto it)

    @property
    def inside(self) -> torch.Tensor:
        """(rows, C): the unmet terms a hypothesis has started writing (it must finish them)."""
        return (self.progress > 0) & ~self.met

    @property
    def busy(self) -> torch.Tensor:
        """(rows,): inside a written term or a stand-in: no other term may start."""
        return self.inside.any(dim=1) | (self.standing >= 0)

    @classmethod
    def start(cls, batch: int, beams: int, table: _TermTable) -> _BeamState:
        import torch

        rows = batch * beams
        scores = torch.full((rows,), -math.inf)
        scores[::beams] = 0.0  # one live hypothesis per sentence at first: the beams would all be the same
        width = table.lengths.shape[1]
        flags = torch.zeros((rows, width), dtype=torch.bool)
        return cls(torch.zeros((rows, 0), dtype=torch.long), scores, ~table.present,
                   torch.zeros((rows, width), dtype=torch.long), torch.full((rows,), -1, dtype=torch.long),
                   torch.zeros(rows, dtype=torch.long), torch.full((rows, width, 2), -1, dtype=torch.long), flags,
                   flags.clone(),
                   torch.zeros(rows, dtype=torch.bool))

    def advance(self, chosen: _Chosen, candidates: _Candidates) -> _BeamState:
        import torch

        pick = chosen.index
        spans = _take(candidates.spans.flatten(2), pick).view(-1, *candidates.spans.shape[2:])
        return _BeamState(torch.cat([self.tokens[chosen.rows], chosen.tokens.unsqueeze(1)], dim=1),
                          _take(candidates.scores, pick), _take(candidates.met, pick),
                          _take(candidates.progress, pick), _take(candidates.standing, pick),
                          _take(candidates.stood, pick), spans,
                          _take(candidates.steering, pick), _take(candidates.steered, pick),
                          _take(candidates.completes, pick))


@dataclass
class _Candidates:
    """Each sentence's candidates for the next beam, ``(batch, M)`` and per term ``(batch, M, C)``."""

    rows: torch.Tensor  # the beam row (global) each extends
    tokens: torch.Tensor
    scores: torch.Tensor  # summed log-probability; -inf for a duplicate or impossible candidate
    met: torch.Tensor
    progress: torch.Tensor
    standing: torch.Tensor  # (batch, M)
    stood: torch.Tensor  # (batch, M)
    spans: torch.Tensor  # (batch, M, C, 2)
    steering: torch.Tensor
    steered: torch.Tensor
    banks: torch.Tensor  # terms met, and one more while inside a term or a stand-in: dynamic beam allocation's bank
    completes: torch.Tensor  # the token ends a written term


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
         step: int, glue: torch.Tensor) -> torch.Tensor:
    """No end before every term is in (or before the minimum length); no term written a second time; no word
    piece glued onto a written term; a term once started is finished. Returns each row's best token before that
    last rule (the model's own choice)."""
    import torch

    rows = torch.arange(log_probs.shape[0])
    if settings.banned_ids:
        log_probs[:, list(settings.banned_ids)] = -math.inf
    if bool(state.after_term.any()):
        log_probs[state.after_term.unsqueeze(1) & glue.unsqueeze(0)] = -math.inf
    # An open stand-in ends with the end token: it counts as met then.
    standing = torch.nn.functional.one_hot(state.standing.clamp(min=0), state.met.shape[1]).bool() \
        & (state.standing >= 0).unsqueeze(1)
    unfinished = ~(state.met | standing).all(dim=1)
    if step < settings.min_new_tokens:
        unfinished[:] = True
    log_probs[unfinished, settings.end_id] = -math.inf
    # A met term's last token, where the hypothesis ends with the rest of it: its second occurrence.
    repeating = state.met & table.present & (state.progress == table.lengths - 1) & ~state.inside.any(
        dim=1, keepdim=True) & ~_pending_twin(table, state.met, later=True)
    if bool(repeating.any()):
        last = torch.gather(table.tokens, 2, (table.lengths - 1).clamp(min=0).unsqueeze(-1)).squeeze(-1)
        # Not where an unmet term begins with it ("ISIS" met, "ISIS-K" still due).
        due_first = torch.where(~state.met & table.present, table.tokens[..., 0], torch.full_like(last, -2))
        repeating &= ~(last.unsqueeze(-1) == due_first.unsqueeze(-2)).any(dim=-1)
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
                model_best: torch.Tensor, vocabulary: _Vocabulary, focus: torch.Tensor, step: int, end_id: int
                ) -> _Candidates:
    """The beam's top continuations, each row's best token, its stand-ins and its first token of every unmet term.

    A stand-in for term ``c`` opens where the model, at the start of a word, attends most to ``c``'s Arabic: the
    candidate is the model's own best token, scored as the model scores it.
    """
    import torch

    rows, size = log_probs.shape
    batch = rows // beams
    width = table.lengths.shape[1]
    total = state.scores.unsqueeze(1) + log_probs
    top_scores, top_index = total.view(batch, beams * size).topk(2 * beams, dim=1)
    top_rows = top_index // size + torch.arange(batch).unsqueeze(1) * beams
    top_tokens = top_index % size
    best_tokens = log_probs.argmax(dim=1)  # inside a term: its next token
    best_scores = torch.gather(total, 1, best_tokens.unsqueeze(1))  # (rows, 1)
    # A term starts only where the model would start a word: never inside one it has begun ("kill" + "Basra").
    closed = state.met | state.busy.unsqueeze(1) | vocabulary.glue[model_best].unsqueeze(1)  # (rows, C)
    first_tokens = table.tokens[..., 0]  # (rows, C)
    write_scores = torch.gather(total, 1, first_tokens.clamp(min=0))
    write_scores[closed | (first_tokens < 0)] = -math.inf
    stand_scores = best_scores.expand(-1, width).clone()
    stand_scores[closed | ~focus | ~table.present | ~vocabulary.names[model_best].unsqueeze(1)] = -math.inf
    row_ids = torch.arange(rows)
    per_term_rows = row_ids.view(batch, beams, 1).expand(-1, -1, width).reshape(batch, -1)
    cand_rows = torch.cat([top_rows, row_ids.view(batch, beams), per_term_rows, per_term_rows], dim=1)
    cand_tokens = torch.cat([top_tokens, best_tokens.view(batch, beams), first_tokens.clamp(min=0).view(batch, -1),
                             best_tokens.view(batch, beams, 1).expand(-1, -1, width).reshape(batch, -1)], dim=1)
    cand_scores = torch.cat([top_scores, best_scores.view(batch, beams), write_scores.view(batch, -1),
                             stand_scores.view(batch, -1)], dim=1)
    plain = torch.full_like(top_rows, -1)
    opens = torch.cat([plain, plain[:, :beams],
                       torch.full_like(per_term_rows, -1),
                       torch.arange(width).repeat(batch, beams)], dim=1)  # the stand-in each candidate opens
    keys = (cand_rows * size + cand_tokens) * (width + 1) + opens + 1
    cand_scores = _without_duplicates(keys, cand_scores)
    return _term_progress(cand_rows, cand_tokens, cand_scores, opens, model_best, state, table, vocabulary, focus,
                          step, end_id)


def _without_duplicates(keys: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """``scores`` with every repeat of a candidate key set to -inf (its first copy kept)."""
    import torch

    order = keys.argsort(dim=1, stable=True)
    sorted_keys = torch.gather(keys, 1, order)
    repeat = torch.zeros_like(sorted_keys, dtype=torch.bool)
    repeat[:, 1:] = sorted_keys[:, 1:] == sorted_keys[:, :-1]
    duplicate = torch.zeros_like(repeat).scatter(1, order, repeat)
    return scores.masked_fill(duplicate, -math.inf)


def _term_progress(rows: torch.Tensor, tokens: torch.Tensor, scores: torch.Tensor, opens: torch.Tensor,
                   model_best: torch.Tensor, state: _BeamState, table: _TermTable, vocabulary: _Vocabulary,
                   focus: torch.Tensor, step: int, end_id: int) -> _Candidates:
    """Each candidate's terms after its token: a written term started, advanced or met; a stand-in opened, kept
    or closed (a met term's repeat is tracked too)."""
    import torch

    progress, met = state.progress[rows], state.met[rows]  # (batch, M, C)
    term_tokens, lengths = table.tokens[rows], table.lengths[rows]  # (batch, M, C, L), (batch, M, C)
    width = lengths.shape[-1]
    standing, stood = state.standing[rows], state.stood[rows]  # (batch, M)
    spans = state.spans[rows].clone()  # (batch, M, C, 2)
    # An open stand-in closes at the first word the model writes while attending elsewhere, at a word that is no
    # name's (a number, a quote mark, punctuation: never swallowed), past the term's words and one more, or at
    # the end.
    # ("-", "'" and a bare space piece stay inside the name: "Al-Husseini", "Ba'ath", "▁" "Z" "iad").
    word_start = vocabulary.breaks[tokens]
    slot = standing.clamp(min=0).unsqueeze(-1)
    still_focused = torch.gather(focus[rows], 2, slot).squeeze(-1)
    too_long = stood >= torch.gather(table.words[rows], 2, slot).squeeze(-1) + 1
    closes = (standing >= 0) & ((word_start & (~still_focused | ~vocabulary.names[tokens] | too_long))
                                | (tokens == end_id))
    closing = torch.nn.functional.one_hot(standing.clamp(min=0), width).bool() & closes.unsqueeze(-1)
    spans[..., 1] = torch.where(closing, torch.full_like(spans[..., 1], step), spans[..., 1])
    standing = torch.where(closes, torch.full_like(standing, -1), standing)
    stood = torch.where(standing >= 0, stood + word_start.long(), torch.zeros_like(stood))
    opening = torch.nn.functional.one_hot(opens.clamp(min=0), width).bool() & (opens >= 0).unsqueeze(-1)
    spans[..., 0] = torch.where(opening, torch.full_like(spans[..., 0], step), spans[..., 0])
    standing = torch.where(opens >= 0, opens, standing)
    stood = torch.where(opens >= 0, torch.ones_like(stood), stood)
    # Written terms, token by token (not for a candidate that opens a stand-in or continues one).
    writing = (opens < 0) & (standing < 0)
    expected = torch.gather(term_tokens, 3, progress.clamp(max=term_tokens.shape[3] - 1).unsqueeze(-1)).squeeze(-1)
    token = tokens.unsqueeze(-1)
    advances = (progress > 0) & (token == expected) & (progress < lengths) & writing.unsqueeze(-1)
    was_inside = ((progress > 0) & ~met).any(dim=-1, keepdim=True)
    # A repeated target is written once per slot: its first unmet slot starts, the next waits for it.
    twin_waits = _pending_twin(table, met, rows=rows)
    starts = (token == term_tokens[..., 0]) & ~advances & (met | ~was_inside) & writing.unsqueeze(-1) & ~twin_waits
    new_progress = torch.where(advances, progress + 1,
                               torch.where(starts, torch.ones_like(progress), torch.zeros_like(progress)))
    off_best = (tokens != model_best[rows]).unsqueeze(-1)
    steering = torch.where(advances, state.steering[rows] | off_best, starts & off_best)
    completes = (new_progress == lengths) & (lengths > 0) & ~met
    new_met = met | completes | closing
    steered = torch.where(completes, steering, state.steered[rows]) | closing
    new_progress = torch.where(completes, torch.zeros_like(new_progress), new_progress)
    # A written term's tokens after its first cost nothing: every finished hypothesis holds the same ones, and a
    # name the model has never seen is improbable wherever it goes. A stand-in's tokens are the model's own.
    on_term = (advances & ~met).any(dim=-1)
    scores = torch.where(on_term & torch.isfinite(scores), state.scores[rows], scores)
    present = lengths > 0
    busy = ((new_progress > 0) & ~new_met).any(dim=-1) | (standing >= 0)
    banks = (new_met & present).sum(dim=-1) + busy.long()
    return _Candidates(rows, tokens, scores, new_met, new_progress, standing, stood, spans, steering & ~completes,
                       steered, banks, completes.any(dim=-1))


def _pending_twin(table: _TermTable, met: torch.Tensor, *, rows: torch.Tensor | None = None, later: bool = False
                  ) -> torch.Tensor:
    """Slots whose repeated target has another unmet slot: an earlier one (it goes first), or with ``later`` a
    later one (the target must not be banned as a repeat while it is still due)."""
    same = table.same if rows is None else table.same[rows]  # (..., C, C): [c, c'] for c' before c
    if later:
        same = same.transpose(-1, -2)  # [c, c'] for c' after c
    return (same & ~met.unsqueeze(-2)).any(dim=-1)


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
        written = candidates.met[b, m] & (candidates.spans[b, m, :, 0] < 0)  # not by a stand-in
        # Normalised by the tokens that were scored: a written term's own come free (see _term_progress).
        free = int(((table.lengths[row] - 1).clamp(min=0) * written).sum())
        length = max(1, step + 1 - free)
        score = float(candidates.scores[b, m]) / length ** settings.length_penalty
        found = _hypothesis(state.tokens[row].tolist(), candidates.spans[b, m], score, True, candidates.met[b, m],
                            candidates.steered[b, m], table, b)
        same = [h for h in pools[b] if h.tokens == found.tokens]
        if same and same[0].score >= found.score:
            continue  # the same English reached another way (a stand-in, or the term written): keep the best
        pools[b] = [h for h in pools[b] if h.tokens != found.tokens] + [found]
        pools[b].sort(key=lambda h: h.score, reverse=True)
        del pools[b][beams:]
    candidates.scores.masked_fill_(candidates.tokens == settings.end_id, -math.inf)


def _allocate(candidates: _Candidates, table: _TermTable, beams: int) -> _Chosen:
    """Dynamic beam allocation: each bank (terms met) keeps its best, the rest of the beam goes by score."""
    import torch

    scores, banks = candidates.scores, candidates.banks
    bank_size = (beams // (table.counts + 1)).clamp(min=1).unsqueeze(1)
    order = scores.argsort(dim=1, descending=True)
    sorted_banks = torch.gather(banks, 1, order)
    one_hot = torch.nn.functional.one_hot(sorted_banks, int(banks.max()) + 1)  # impossible ones may go higher
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


def _hypothesis(fed: list[int], spans: torch.Tensor, score: float, finished: bool, met: torch.Tensor,
                steered: torch.Tensor, table: _TermTable, sentence: int) -> SearchHypothesis:
    """The output of a hypothesis: what the model was fed, each stand-in's span holding its term instead."""
    tokens = list(fed)
    edits = [(int(first), int(last) if int(last) >= 0 else len(fed), c)
             for c, (first, last) in enumerate(spans.tolist()) if c < len(table.texts[sentence]) and first >= 0]
    steered_by = [bool(flag) for flag in steered.tolist()]
    for first, last, c in sorted(edits, reverse=True):
        if tuple(fed[first:last]) == table.token_lists[sentence][c]:
            steered_by[c] = False  # the model wrote the term itself: no stand-in was needed
        tokens[first:last] = table.token_lists[sentence][c]
    texts = table.texts[sentence]
    return SearchHypothesis(tuple(tokens), score, finished,
                            frozenset(t for t, m in zip(texts, met.tolist(), strict=False) if m),
                            frozenset(t for t, s in zip(texts, steered_by, strict=False) if s))


def _best(pool: list[SearchHypothesis], state: _BeamState, table: _TermTable, b: int, beams: int, n_best: int
          ) -> list[SearchHypothesis]:
    """The sentence's ``n_best``: its finished hypotheses, else (out of budget) its live ones, most terms first."""
    if pool:
        return pool[:n_best]
    rows = range(b * beams, (b + 1) * beams)
    length = max(1, state.tokens.shape[1])
    live = [_hypothesis(state.tokens[r].tolist(), state.spans[r], float(state.scores[r]) / length, False,
                        state.met[r] | _open(state, r), state.steered[r] | _open(state, r), table, b)
            for r in rows if math.isfinite(float(state.scores[r]))]
    live.sort(key=lambda h: (len(h.met), h.score), reverse=True)
    return live[:n_best]


def _open(state: _BeamState, row: int) -> torch.Tensor:
    """(C,): the term of the row's open stand-in (it holds the term up to the end of the output)."""
    import torch

    flags = torch.zeros(state.met.shape[1], dtype=torch.bool)
    if int(state.standing[row]) >= 0:
        flags[int(state.standing[row])] = True
    return flags
