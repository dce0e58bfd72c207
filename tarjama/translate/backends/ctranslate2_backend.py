"""The CTranslate2 backend: a converted MarianMT or NLLB model, int8 or float32, on the CPU.

CTranslate2 has no per-step logits hook. Strict mode's terms are placed by the output's attention
(:mod:`.aligned`, :attr:`TermSearch.CONSTRAINED`): each term takes the place of the words that attend to its
Arabic, in the same engine call. The fall-back (:attr:`TermSearch.POSITIONAL`) forces terms through target
prefixes: the output so far up to the term's place (a word boundary), then the term's tokens, and the model
continues from there; one such round per missing term.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from tarjama.errors import InputError, ModelNotAvailable
from tarjama.terms.english import term_in_words
from tarjama.translate.backends.aligned import AlignedTerm, place_terms
from tarjama.translate.backends.base import BatchedTranslator, BatchSteps, available_cpus, source_positions
from tarjama.translate.backends.subwords import load_subwords
from tarjama.translate.registry import ResolvedModel, store_dir
from tarjama.translate.types import (
    DecodingOptions,
    Hypothesis,
    TermConstraint,
    TermSearch,
    Translation,
)

QUANTIZATIONS = ("int8", "int8_float32", "int16", "float16", "float32")
MARKER = "tarjama-ct2.json"  # written beside a converted model: what it was converted from
_WEIGHTS = re.compile(r".*\.(safetensors|bin|pt|h5|msgpack)$|^pytorch_model.*")


def converted_path(model: ResolvedModel, quantization: str) -> Path:
    """Where ``models convert`` puts the CTranslate2 version of ``model`` in the local store."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model.name.strip("/")).strip("_") or "model"
    digest = hashlib.sha256(str(model.path.resolve()).encode()).hexdigest()[:8]
    return store_dir() / "ctranslate2" / f"{safe}-{digest}-{quantization}"


def convert(model: ResolvedModel, quantization: str = "int8", out_dir: Path | None = None) -> Path:
    """Convert a transformers MarianMT/NLLB model to CTranslate2, tokenizer files included."""

    if quantization not in QUANTIZATIONS:
        raise InputError(f"unknown quantization '{quantization}' (choose from {', '.join(QUANTIZATIONS)})")
    out_dir = out_dir or converted_path(model, quantization)
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _aligning_converter()(str(model.path)).convert(
            str(staging), quantization=quantization, force=True)
    except Exception as exc:  # noqa: BLE001 - converters fail in many library-specific ways
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(f"cannot convert the model ({type(exc).__name__}: {exc})".splitlines()[0],
                         path=model.path) from None
    tokenizer = staging / "tokenizer"
    tokenizer.mkdir()
    for item in model.path.iterdir():
        if item.is_file() and not _WEIGHTS.match(item.name):
            shutil.copy2(item, tokenizer / item.name)
    (staging / MARKER).write_text(json.dumps({"model": model.to_json(), "quantization": quantization},
                                             indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(staging, out_dir)  # a half-converted model is never seen under the final name
    return out_dir


def _aligning_converter() -> type:
    """transformers' converter whose model reports the attention of all the last layer's heads, averaged.

    The default (the first head alone) is a poor aligner; the average is what attention-aligned placement reads.
    """
    import ctranslate2
    import numpy

    class AligningConverter(ctranslate2.converters.TransformersConverter):
        def _load(self):  # noqa: ANN202 - the library's own hook
            spec = super()._load()
            spec.decoder.alignment_heads = numpy.int16(spec.decoder.num_heads)
            return spec

    return AligningConverter


def find_converted(model: ResolvedModel) -> Path:
    """A converted version of ``model``: the directory itself if converted, else the store's (int8 first)."""
    if (model.path / "model.bin").is_file() and (model.path / MARKER).is_file():
        return model.path
    for quantization in ("int8", "int8_float32", "float32", "int16", "float16"):
        candidate = converted_path(model, quantization)
        if (candidate / "model.bin").is_file():
            if _converted_from(candidate) not in (None, model.fingerprint):
                raise ModelNotAvailable(
                    f"the CTranslate2 version of {model.name} was converted from an earlier copy of the model: run "
                    f"`tarjama models convert {model.name}{_quantization_option(quantization)}` again")
            return candidate
    raise ModelNotAvailable(
        f"no CTranslate2 version of {model.name}: run `tarjama models convert {model.name}` "
        "(add --quantization float32 for full precision)")


def converted_quantization(folder: Path) -> str:
    """The weight type of the converted model in ``folder`` (its marker says), read without loading the engine."""
    return json.loads((folder / MARKER).read_text(encoding="utf-8"))["quantization"]


def _converted_from(folder: Path) -> str | None:
    """The fingerprint of the model a conversion was made from (``None`` for conversions made before it was kept)."""
    try:
        return json.loads((folder / MARKER).read_text(encoding="utf-8"))["model"].get("fingerprint")
    except (OSError, ValueError, KeyError, AttributeError):
        return None


def _quantization_option(quantization: str) -> str:
    return "" if quantization == "int8" else f" --quantization {quantization}"


def split_threads(threads: int) -> tuple[int, int]:
    """CPU threads as (workers, threads per worker): each batch is shared out among the workers.

    On this project's 2-core machines two one-thread workers beat one two-thread worker by about a
    quarter at beam 4 (BENCHMARKS.md): small matrices keep a second intra-op thread half idle.
    Beyond four threads each worker gets two, so the sub-batches do not become too small (an odd
    count leaves one thread unused: CTranslate2 gives every worker the same number).
    """
    workers = threads if threads <= 4 else threads // 2
    return workers, threads // workers


class CTranslate2Translator(BatchedTranslator):
    """Translates with ``ctranslate2.Translator``, the model's subwords read without transformers (:mod:`.subwords`)."""

    backend = "ctranslate2"

    def __init__(self, model: ResolvedModel, *, threads: int | None = None) -> None:
        import ctranslate2

        self.model = model
        self.workers, self.threads_per_worker = split_threads(threads or available_cpus())
        self.path = find_converted(model)
        self.quantization = converted_quantization(self.path)
        nllb = model.architecture == "nllb"
        try:
            self._subwords = load_subwords(self.path / "tokenizer", source_lang=model.source_lang if nllb else None)
            self._translator = ctranslate2.Translator(
                str(self.path), device="cpu", compute_type="default", inter_threads=self.workers,
                intra_threads=self.threads_per_worker)
        except Exception as exc:  # noqa: BLE001 - a broken folder fails in many library-specific ways
            raise InputError(f"cannot load the converted model ({type(exc).__name__}: {exc})".splitlines()[0],
                             path=self.path) from None
        self._prefix: list[str] = [model.target_lang] if nllb else []
        self._language_code_tokens = len(self._prefix)
        positions = self._subwords.model_max_length
        self._max_positions = min(positions, 512) if positions > 100_000 else positions

    @property
    def max_source_tokens(self) -> int:
        """The model's position limit: longer inputs are split by the pipeline."""
        return self._max_positions

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Source token counts, special tokens included."""
        return [len(tokens) for tokens in self._subwords.source_tokens(texts)] if texts else []

    def _target_tokens(self, text: str) -> list[str]:
        return self._subwords.target_tokens(text)

    def _decode(self, tokens: Sequence[str]) -> str:
        return self._subwords.decode(tokens)

    def _translate_batch(self, texts: Sequence[str], budget: int, options: DecodingOptions, n_best: int,
                         constraints: Sequence[Sequence[TermConstraint]], *, steps: BatchSteps | None = None
                         ) -> list[Translation]:
        """One engine call for the batch, shared out among the workers; then the rounds that force terms.

        With ``steps``, each engine call is asynchronous and the batch's progress is told as its sentences
        come back; the calls are shares of the batch: the first, and at most one round per term of a sentence.
        """
        sources = self._subwords.source_tokens(texts)
        aligning = options.term_search is TermSearch.CONSTRAINED and any(constraints)
        calls = 1 if aligning else 1 + max((len(wanted) for wanted in constraints), default=0)
        outputs = self._run(sources, [list(self._prefix) for _ in sources], options, budget, n_best,
                            _call_share(steps, 0, calls), attention=aligning)
        if aligning:  # what alignment cannot place is left to the pipeline's fall-back, which knows the places
            placements = self._align(texts, sources, outputs, constraints)
            forced: list[set[str]] = [set() for _ in texts]
        else:
            placements = [(frozenset(), frozenset())] * len(texts)
            forced = self._force(sources, outputs, [list(wanted) for wanted in constraints], options, budget,
                                 steps, calls)
        translations = []
        for (hypotheses, tokens, _), terms, (aligned, inserted), wanted in zip(outputs, forced, placements,
                                                                               constraints, strict=True):
            translations.append(Translation(
                text=hypotheses[0].text, truncated=hypotheses[0].truncated, tokens=len(tokens),
                score=hypotheses[0].score if n_best > 1 else None, alternatives=tuple(hypotheses[1:]),
                forced=frozenset(terms), carried=aligned, placed=inserted,
                unspellable=frozenset(c.text for c in wanted if not self._spells(c.text))))
        return translations

    def _align(self, texts: Sequence[str], sources: list[list[str]],
               outputs: list[tuple[list[Hypothesis], list[str], list[list[float]]]],
               constraints: Sequence[Sequence[TermConstraint]]) -> list[tuple[frozenset[str], frozenset[str]]]:
        """Each missing term in place of the words aligned to its Arabic (:mod:`.aligned`), ``outputs`` updated.

        Returns each sentence's terms placed so, and those it inserted (no word was aligned to them).
        """
        placed_by_text = []
        for n, (text, source, wanted) in enumerate(zip(texts, sources, constraints, strict=True)):
            hypotheses, written, attention = outputs[n]
            best = hypotheses[0]
            present = [c.text for c in wanted if term_in_words(c.text, best.text)]
            terms = [AlignedTerm(c.text, tuple(self._target_tokens(c.text)),
                                 source_positions(text, source, c.source_start, c.source_end), self._glued(c.text))
                     for c in dict.fromkeys(wanted) if c.text not in present and self._spells(c.text)]
            placement = place_terms(written, attention, terms, present=present)
            if placement.aligned or placement.inserted:
                outputs[n] = ([Hypothesis(self._decode(placement.pieces), best.score, truncated=best.truncated),
                               *hypotheses[1:]], placement.pieces, attention)
            placed_by_text.append((placement.aligned, placement.inserted))
        return placed_by_text

    def _glued(self, text: str) -> tuple[str, ...]:
        """The pieces of ``text`` written right after a quote mark (none if the vocabulary has no such form)."""
        pieces = self._target_tokens(f'"{text}')
        for start in range(1, len(pieces)):
            if not pieces[start].startswith("▁") and self._decode(pieces[start:]).strip() == text:
                return tuple(pieces[start:])
        return ()

    @property
    def _unknown_target(self) -> str:
        return self._subwords.unk_token

    def _forced_tokens(self, constraints: Sequence[TermConstraint], options: DecodingOptions) -> int:
        """The tokens of every term asked for: each may need its own prefix round. None for attention-aligned
        placement, which puts the terms in place of words: the decoding is the plain one (its fall-back's prefix
        rounds make their own room)."""
        if options.term_search is TermSearch.CONSTRAINED:
            return 0
        return sum(len(self._target_tokens(constraint.text)) for constraint in constraints)

    def _run(self, sources: list[list[str]], prefixes: list[list[str]], options: DecodingOptions, budget: int,
             n_best: int, steps: BatchSteps | None = None, *, attention: bool = False
             ) -> list[tuple[list[Hypothesis], list[str], list[list[float]]]]:
        """One CTranslate2 call; per source its hypotheses, the best one's target tokens (no prefix code) and,
        with ``attention``, each of those tokens' attention over the source tokens (else empty).

        With ``steps``, asynchronous: each source's result is awaited in turn and counted as it comes.
        (The engine's per-token ``callback`` works at beam 1 only; smaller sub-batches would cost speed.)
        """
        raw = self._translator.translate_batch(
            sources, max_batch_size=math.ceil(len(sources) / self.workers), target_prefix=[p or None for p in prefixes],
            beam_size=options.beam_size, num_hypotheses=n_best, return_scores=True,
            max_decoding_length=budget,
            min_decoding_length=min(options.min_output_tokens + len(self._prefix), budget)
            if options.min_output_tokens else 0,
            max_input_length=0,  # as transformers' max_length less its start token
            return_attention=attention, asynchronous=steps is not None)
        if steps is not None:
            waiting, raw = raw, []
            for done, pending in enumerate(waiting, 1):
                raw.append(pending.result())
                steps(done / len(waiting))
        out = []
        for result in raw:
            hypotheses = []
            for tokens, score in zip(result.hypotheses, result.scores, strict=True):
                body = tokens[len(self._prefix):]
                hypotheses.append(Hypothesis(self._decode(body), float(score),
                                             truncated=len(tokens) >= budget))
            weights = [list(row) for row in result.attention[0][len(self._prefix):]] if attention else []
            out.append((hypotheses, result.hypotheses[0][len(self._prefix):], weights))
        return out

    def _force(self, sources: list[list[str]], outputs: list[tuple[list[Hypothesis], list[str], list[list[float]]]],
               wanted: list[list[TermConstraint]], options: DecodingOptions, budget: int,
               steps: BatchSteps | None = None, calls: int = 1) -> list[set[str]]:
        """Put each missing term at its place by decoding again from a prefix that ends with it.

        One round per term, in the order of their places; each round is one engine call for every
        sentence of the batch that still misses a term, so all the workers take part. ``outputs``
        is updated in place; returns each sentence's forced terms. Round ``r`` is call ``r`` of ``calls``
        for ``steps``.
        """
        pending = [sorted(w, key=lambda c: c.earliest_step) for w in wanted]
        fixed = [0] * len(sources)  # tokens decided by earlier rounds: a later term goes after them
        forced: list[set[str]] = [set() for _ in sources]
        round_number = 0
        while True:
            round_number += 1
            round_: list[tuple[int, list[str], str]] = []
            for position, constraints in enumerate(pending):
                while constraints:
                    constraint = constraints.pop(0)
                    prefix = self._forcing_prefix(outputs[position][1], constraint, fixed[position])
                    if prefix is not None:
                        round_.append((position, prefix, constraint.text))
                        break
            if not round_:
                return forced
            # The term itself always fits, within the model's positions.
            room = min(self._max_positions - 1, max(budget, *(len(prefix) + 1 for _, prefix, _ in round_)))
            results = self._run([sources[p] for p, _, _ in round_], [prefix for _, prefix, _ in round_], options,
                                room, 1, _call_share(steps, round_number, calls))
            for (position, prefix, text), result in zip(round_, results, strict=True):
                outputs[position] = result
                fixed[position] = len(prefix) - len(self._prefix)
                forced[position].add(text)

    def _forcing_prefix(self, tokens: list[str], constraint: TermConstraint, fixed: int) -> list[str] | None:
        """The target prefix that puts ``constraint`` at its place, or None if it needs no forcing."""
        if term_in_words(constraint.text, self._decode(tokens)):
            return None
        if not self._spells(constraint.text):
            return None  # cannot be spelt: left to the last-resort placement
        term = self._target_tokens(constraint.text)
        start = min(max(constraint.earliest_step, fixed), len(tokens))
        # The next word boundary, or the place itself when the rest is one run of word pieces.
        cut = next((i for i in range(start, len(tokens)) if tokens[i].startswith("▁")), start)
        prefix = self._prefix + [t for t in tokens[:cut] if t != "</s>"] + term
        if len(prefix) + 1 > self._max_positions - 1:
            return None  # no room left in the model's positions: last-resort placement
        return prefix


def _call_share(steps: BatchSteps | None, call: int, calls: int) -> BatchSteps | None:
    """Engine call ``call`` (from 0) of at most ``calls`` for one batch: its own progress as a share of the batch's."""
    if steps is None:
        return None
    return lambda fraction: steps((min(call, calls - 1) + fraction) / calls)
