"""The transformers backend: MarianMT and NLLB (M2M100) in PyTorch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING

from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from tarjama.errors import InputError
from tarjama.terms.english import term_in_words
from tarjama.translate.backends.base import BatchedTranslator, BatchSteps, source_positions
from tarjama.translate.backends.constrained import (
    CarriedTerm,
    SearchHypothesis,
    SearchSettings,
    constrained_beam_search,
)
from tarjama.translate.backends.forcing import ForcedTerm, TermForcing
from tarjama.translate.registry import ResolvedModel
from tarjama.translate.types import (
    DecodingOptions,
    Hypothesis,
    TermConstraint,
    TermSearch,
    Translation,
)

if TYPE_CHECKING:
    import torch


_INSIDE_NAMES = frozenset({"-", "'", "’"})  # pieces that join a name's parts ("Al-Husseini", "Ba'ath")


class TransformersTranslator(BatchedTranslator):
    """Translates with ``AutoModelForSeq2SeqLM`` loaded from a local directory."""

    backend = "transformers"

    def __init__(self, model: ResolvedModel, *, threads: int | None = None) -> None:
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.model = model
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(model.path)
            self._network = AutoModelForSeq2SeqLM.from_pretrained(model.path).eval()
        except Exception as exc:  # noqa: BLE001 - a broken model folder fails in many library-specific ways
            reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise InputError(f"cannot load the model ({reason})", path=model.path) from None
        self._generate_kwargs: dict = {}
        if model.architecture == "nllb":
            self._tokenizer.src_lang = model.source_lang
            target_id = self._tokenizer.convert_tokens_to_ids(model.target_lang)
            if target_id is None or target_id == self._tokenizer.unk_token_id:
                raise InputError(f"the tokenizer has no language code '{model.target_lang}'", path=model.path)
            self._generate_kwargs["forced_bos_token_id"] = target_id
        # Output steps before the model chooses freely: the decoder start, and NLLB's language code.
        self._language_code_tokens = int("forced_bos_token_id" in self._generate_kwargs)
        self._first_free_step = 1 + self._language_code_tokens
        positions = getattr(self._network.config, "max_position_embeddings", None) or 512
        self._max_positions = min(positions, self._tokenizer.model_max_length or positions)

    @property
    def max_source_tokens(self) -> int:
        """The model's position limit: longer inputs would be cut, so the pipeline splits them."""
        return self._max_positions

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Source token counts, special tokens included."""
        if not texts:
            return []
        return [len(ids) for ids in self._tokenizer(list(texts), truncation=False)["input_ids"]]

    def _translate_batch(self, texts: Sequence[str], budget: int, options: DecodingOptions, n_best: int,
                         constraints: Sequence[Sequence[TermConstraint]], *, steps: BatchSteps | None = None
                         ) -> list[Translation]:
        """One ``generate`` call for the batch; forced terms through a logits processor, progress per step.

        Under :attr:`TermSearch.CONSTRAINED` the texts with terms go to the constrained beam search instead
        (:mod:`.constrained`), the others to ``generate``.
        """
        if options.term_search is TermSearch.CONSTRAINED and any(constraints):
            terms = [self._carried_terms(text, wanted) for text, wanted in zip(texts, constraints, strict=True)]
            translations = self._translate_mixed(texts, budget, options, n_best, terms, steps)
            # The search carries every term the vocabulary spells: the others are the unspellable ones.
            return [replace(t, unspellable=frozenset(c.text for c in wanted) - {term.text for term in carried})
                    for t, wanted, carried in zip(translations, constraints, terms, strict=True)]
        return self._generate(texts, budget, options, n_best, constraints, steps=steps)

    def _translate_mixed(self, texts: Sequence[str], budget: int, options: DecodingOptions, n_best: int,
                         terms: Sequence[Sequence[CarriedTerm]], steps: BatchSteps | None) -> list[Translation]:
        """The texts with ``terms`` to carry through the constrained search, the rest through ``generate``."""
        carried = [i for i, wanted in enumerate(terms) if wanted]
        free = [i for i, wanted in enumerate(terms) if not wanted]
        share = len(carried) / len(texts)
        results: dict[int, Translation] = {}
        if carried:
            searched = self._search([texts[i] for i in carried], budget, options, n_best, [terms[i] for i in carried],
                                    None if steps is None else (lambda done: steps(done * share)))
            results.update(zip(carried, searched, strict=True))
        if free:
            rest = None if steps is None else (lambda done: steps(share + done * (1 - share)))
            generated = self._generate([texts[i] for i in free], budget, options, n_best, [[] for _ in free],
                                       steps=rest)
            results.update(zip(free, generated, strict=True))
        return [results[i] for i in range(len(texts))]

    def _carried_terms(self, text: str, constraints: Sequence[TermConstraint]) -> list[CarriedTerm]:
        """The constraints the search can carry (those the vocabulary spells), with their Arabic's source tokens."""
        pieces = self._tokenizer.convert_ids_to_tokens(self._tokenizer(text, truncation=False)["input_ids"])
        return [CarriedTerm(constraint.text, tuple(self._target_tokens(constraint.text)),
                            source_positions(text, pieces, constraint.source_start, constraint.source_end))
                for constraint in dict.fromkeys(constraints) if self._spells(constraint.text)]

    @property
    def _unknown_target(self) -> int | None:
        return self._tokenizer.unk_token_id

    def _search(self, texts: Sequence[str], budget: int, options: DecodingOptions, n_best: int,
                terms: Sequence[Sequence[CarriedTerm]], steps: BatchSteps | None) -> list[Translation]:
        """The constrained beam search over ``texts``; terms it cannot place are left to the pipeline's fall-back."""
        config = self._network.generation_config
        start = [self._network.config.decoder_start_token_id, *(
            [self._generate_kwargs["forced_bos_token_id"]] if "forced_bos_token_id" in self._generate_kwargs else [])]
        pad = self._tokenizer.pad_token_id
        encoded = self._tokenizer(list(texts), return_tensors="pt", padding=True, truncation=False)
        settings = SearchSettings(
            # Dynamic beam allocation needs a bank per number of terms met: a narrower beam would keep only the
            # hypotheses that rush every term in first.
            beam_size=max(options.beam_size, 1 + max(len(t) for t in terms)), start_ids=tuple(start),
            end_id=min(self._end_ids), banned_ids=(pad,) if pad is not None and pad not in self._end_ids else (),
            glue_ids=self._glue_ids,
            name_ids=self._name_starts, break_ids=self._breaks, length_penalty=float(
                config.length_penalty if config.length_penalty is not None else 1.0),
            min_new_tokens=options.min_output_tokens)
        found = constrained_beam_search(self._network, encoded["input_ids"], encoded["attention_mask"], terms,
                                        settings, budget - self._language_code_tokens, n_best=n_best, steps=steps)
        # A sentence the search found no hypothesis for (every one dead-ended) is decoded as usual: the pipeline's
        # fall-back then forces its terms.
        lost = [i for i, hypotheses in enumerate(found) if not hypotheses]
        plain = dict(zip(lost, self._generate([texts[i] for i in lost], budget, options, n_best, [[] for _ in lost]),
                         strict=True)) if lost else {}
        return [plain[i] if i in plain else self._searched(hypotheses, n_best) for i, hypotheses in enumerate(found)]

    def _searched(self, hypotheses: list[SearchHypothesis], n_best: int) -> Translation:
        texts = [self._tokenizer.decode(list(h.tokens), skip_special_tokens=True).strip() for h in hypotheses]
        alternatives = tuple(Hypothesis(text, h.score, truncated=not h.finished)
                             for text, h in zip(texts[1:], hypotheses[1:], strict=True))
        best = hypotheses[0]
        return Translation(text=texts[0], truncated=not best.finished, tokens=len(best.tokens),
                           score=best.score if n_best > 1 else None, alternatives=alternatives,
                           carried=best.steered)

    def _generate(self, texts: Sequence[str], budget: int, options: DecodingOptions, n_best: int,
                  constraints: Sequence[Sequence[TermConstraint]], *, steps: BatchSteps | None = None
                  ) -> list[Translation]:
        """One ``generate`` call; forced terms (positional) through a logits processor."""
        import torch

        forcings = [self._forcing(wanted) for wanted in constraints]
        kwargs = dict(self._generate_kwargs)
        if any(forcings):
            for forcing in forcings:
                if forcing is not None:  # free steps: max_length less the decoder's fixed prefix
                    forcing.max_new_tokens = budget + 1 - self._first_free_step
            kwargs["logits_processor"] = LogitsProcessorList([_ForcingProcessor(
                forcings, options.beam_size, self._first_free_step, self._end_ids, self._word_starts)])
        if steps is not None:
            kwargs["stopping_criteria"] = StoppingCriteriaList([_StepProgress(steps, budget)])
        encoded = self._tokenizer(list(texts), return_tensors="pt", padding=True, truncation=False)
        with torch.inference_mode():
            # max_length counts the decoder start token; it replaces the checkpoint's own max_length.
            # No forced end token at the budget: a cut-off sentence keeps its last word (and is flagged).
            output = self._network.generate(
                **encoded, num_beams=options.beam_size, do_sample=False, max_length=budget + 1,
                num_return_sequences=n_best, return_dict_in_generate=True, forced_eos_token_id=None,
                min_new_tokens=min(options.min_output_tokens + self._language_code_tokens, budget)
                if options.min_output_tokens else None,
                output_scores=n_best > 1, **kwargs)  # scores of every step cost memory: only for n-best
        sequence_scores = getattr(output, "sequences_scores", None)
        translations = []
        for position, forcing in enumerate(forcings):
            rows = range(position * n_best, (position + 1) * n_best)
            hypotheses = [Hypothesis(
                text=self._tokenizer.decode(output.sequences[row], skip_special_tokens=True).strip(),
                score=float(sequence_scores[row]) if sequence_scores is not None else 0.0,
                truncated=self._ran_out(output.sequences[row], budget)) for row in rows]
            best = output.sequences[rows[0]]
            translations.append(Translation(
                text=hypotheses[0].text, truncated=hypotheses[0].truncated, tokens=self._length(best),
                score=hypotheses[0].score if sequence_scores is not None else None,
                alternatives=tuple(hypotheses[1:]),
                forced=forcing.forced_terms(best[self._first_free_step:].tolist()) if forcing else frozenset()))
        return translations

    def _forced_tokens(self, constraints: Sequence[TermConstraint], options: DecodingOptions) -> int:
        """The tokens of the terms this backend will force (those the vocabulary can spell, each once)."""
        return sum(len(term.tokens) for term in self._forced_terms(constraints))

    def _forcing(self, constraints: Sequence[TermConstraint]) -> TermForcing | None:
        terms = self._forced_terms(constraints)
        return TermForcing(terms, max_new_tokens=0, met_in_text=self._decoded_contains) if terms else None

    def _forced_terms(self, constraints: Sequence[TermConstraint]) -> tuple[ForcedTerm, ...]:
        # A term the vocabulary cannot spell would be forced as <unk>: leave it to replacement.
        terms = [ForcedTerm(constraint.text, tuple(self._target_tokens(constraint.text)), constraint.earliest_step)
                 for constraint in dict.fromkeys(constraints) if self._spells(constraint.text)]
        return tuple(sorted(terms, key=lambda t: t.earliest_step))

    def _target_tokens(self, text: str) -> list[int]:
        return list(self._tokenizer(text_target=text, add_special_tokens=False)["input_ids"])

    def _decoded_contains(self, generated: Sequence[int], text: str) -> bool:
        return term_in_words(text, self._tokenizer.decode(generated, skip_special_tokens=True))

    @cached_property
    def _pieces(self) -> list[str]:
        """The subword of every token id the tokenizer knows (the model's vocabulary may be larger)."""
        size = min(self._network.config.vocab_size, len(self._tokenizer))
        return self._tokenizer.convert_ids_to_tokens(list(range(size)))

    @cached_property
    def _word_starts(self) -> list[bool]:
        """For each token id, whether it begins a word (a forced term may start before it)."""
        starts = [piece.startswith("▁") or not any(ch.isalnum() for ch in piece) for piece in self._pieces]
        return starts + [False] * (self._network.config.vocab_size - len(starts))

    @cached_property
    def _glue_ids(self) -> tuple[int, ...]:
        """The token ids that continue the word before them (never right after a term)."""
        return tuple(i for i, start in enumerate(self._word_starts) if not start and i not in self._end_ids)

    @cached_property
    def _name_starts(self) -> tuple[int, ...]:
        """The token ids that begin a word with letters and no digit: where the search may stand a term in."""
        return tuple(i for i, piece in enumerate(self._pieces) if piece is not None and piece.startswith("▁")
                     and any(ch.isalpha() for ch in piece) and not any(ch.isdigit() for ch in piece))

    @cached_property
    def _breaks(self) -> tuple[int, ...]:
        """The token ids at which a name the model writes may end: a new word, or punctuation other than the marks
        inside names ("-", "'", "’"); a bare "▁" piece only opens the word its next piece spells."""
        return tuple(i for i, piece in enumerate(self._pieces) if piece is not None and piece != "▁" and (
            piece.startswith("▁") or (not any(ch.isalnum() for ch in piece) and piece not in _INSIDE_NAMES)))

    @cached_property
    def _end_ids(self) -> frozenset[int]:
        eos = self._network.generation_config.eos_token_id
        return frozenset(eos if isinstance(eos, list) else [eos])

    def _length(self, sequence: torch.Tensor) -> int:
        special = {self._tokenizer.pad_token_id, *self._end_ids}
        return sum(1 for t in sequence[self._first_free_step:].tolist() if t not in special)

    def _ran_out(self, sequence: torch.Tensor, budget: int) -> bool:
        produced = [int(t) for t in sequence[1:] if int(t) != self._tokenizer.pad_token_id]
        return len(produced) >= budget and (not produced or produced[-1] not in self._end_ids)


class _StepProgress(StoppingCriteria):
    """Never stops anything: tells the batch's progress at each decoding step, as a share of its budget."""

    def __init__(self, steps: BatchSteps, budget: int) -> None:
        self._steps, self._budget = steps, max(1, budget)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor | None, **kwargs: object
                 ) -> torch.BoolTensor:
        """Report the steps decoded so far (the decoder start token aside); no row is finished by it."""
        import torch

        self._steps((input_ids.shape[1] - 1) / self._budget)
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


_BANNED_BUT_FORCED = -20.0  # log-probability for a forced token another processor had ruled out


class _ForcingProcessor(LogitsProcessor):
    """Applies each sentence's :class:`TermForcing` decisions to the scores of its beams."""

    def __init__(self, forcings: list[TermForcing | None], num_beams: int, first_free_step: int,
                 end_ids: frozenset[int], word_starts: list[bool]) -> None:
        self._forcings = forcings
        self._num_beams = num_beams
        self._first_free_step = first_free_step
        self._end_ids = sorted(end_ids)
        self._word_starts = word_starts
        self._mask: torch.Tensor | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        """Force or forbid tokens row by row; rows of unconstrained sentences are left alone."""
        if input_ids.shape[1] < self._first_free_step:
            return scores
        preferred = scores.argmax(dim=-1).tolist()
        for row in range(input_ids.shape[0]):
            forcing = self._forcings[row // self._num_beams]
            if forcing is None:
                continue
            token = preferred[row]
            decision = forcing.next_token(input_ids[row, self._first_free_step:].tolist(), token,
                                          at_word_start=self._word_starts[token], is_end=token in self._end_ids)
            if decision.force is not None:
                # The model's own score, so that beams compare fairly; a floor if a processor banned it.
                kept = float(scores[row, decision.force])
                scores[row, :] = -math.inf
                scores[row, decision.force] = kept if math.isfinite(kept) else _BANNED_BUT_FORCED
            else:
                if decision.word_break:
                    scores[row, ~self._word_start_mask(scores)] = -math.inf
                if not decision.allow_end:
                    scores[row, self._end_ids] = -math.inf
        return scores

    def _word_start_mask(self, scores: torch.FloatTensor) -> torch.Tensor:
        if self._mask is None:
            import torch

            size = scores.shape[-1]
            starts = (self._word_starts + [False] * size)[:size]
            self._mask = torch.tensor(starts, dtype=torch.bool, device=scores.device)
            self._mask[self._end_ids] = True
        return self._mask
