"""The transformers backend: MarianMT and NLLB (M2M100) in PyTorch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tarjama.backends import DecodingOptions, ProgressCallback, Translation
from tarjama.batching import plan_batches
from tarjama.errors import InputError
from tarjama.registry import ResolvedModel

if TYPE_CHECKING:
    import torch


class TransformersTranslator:
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

    def translate(self, texts: Sequence[str], options: DecodingOptions,
                  progress: ProgressCallback | None = None) -> list[Translation]:
        """Translate in length-sorted batches; results come back in input order."""
        import torch

        lengths = self.count_tokens(texts)
        too_long = [n for n in lengths if n > self._max_positions]
        if too_long:
            raise ValueError(f"input of {too_long[0]} tokens exceeds the model's {self._max_positions}")
        results: list[Translation | None] = [None] * len(texts)
        for batch in plan_batches(lengths, max_sentences=options.max_batch_sentences,
                                  max_tokens=options.max_batch_tokens):
            budget = min(self._max_positions - 1,
                         math.ceil(options.max_output_ratio * max(lengths[i] for i in batch))
                         + options.max_output_slack)
            encoded = self._tokenizer([texts[i] for i in batch], return_tensors="pt", padding=True,
                                      truncation=False)
            with torch.inference_mode():
                # max_length counts the decoder start token; it replaces the checkpoint's own max_length.
                output = self._network.generate(**encoded, num_beams=options.beam_size, do_sample=False,
                                                max_length=budget + 1, **self._generate_kwargs)
            for index, sequence in zip(batch, output, strict=True):
                results[index] = Translation(
                    text=self._tokenizer.decode(sequence, skip_special_tokens=True).strip(),
                    truncated=self._ran_out(sequence, budget))
            if progress is not None:
                progress(len(batch))
        missing = [i for i, result in enumerate(results) if result is None]
        if missing:
            raise RuntimeError(f"batching lost inputs {missing}")  # a bug, never bad input
        return [result for result in results if result is not None]

    def _ran_out(self, sequence: torch.Tensor, budget: int) -> bool:
        eos = self._network.generation_config.eos_token_id
        eos_ids = set(eos) if isinstance(eos, list) else {eos}
        produced = [int(t) for t in sequence[1:] if int(t) != self._tokenizer.pad_token_id]
        return len(produced) >= budget and (not produced or produced[-1] not in eos_ids)
