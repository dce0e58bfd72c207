"""The CTranslate2 backend's tokenizers, read straight from the model's files: no transformers, so no torch.

CTranslate2 takes and gives subword strings; it needs no ids and no tensors. Loading the model's
Hugging Face tokenizer for that imports transformers, which imports torch: about 2 s and 240 MB per
process here, for nothing the engine uses. The two layouts tarjama's models come in are read with the
libraries that transformers itself calls underneath, and give the same tokens and text:

* Marian (opus-mt): ``source.spm``, ``target.spm`` and ``vocab.json``, through ``sentencepiece``;
* NLLB: ``tokenizer.json``, through ``tokenizers``, with the source language code in front of each input.

A model in any other layout gets the Hugging Face tokenizer, as before (:class:`HuggingFaceSubwords`).
``tests/test_subwords.py`` holds each against ``AutoTokenizer`` on the sample and the glossary.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

_SPIECE_UNDERLINE = "▁"
_DEFAULT_MAX_LENGTH = 512


class Subwords(Protocol):
    """What the CTranslate2 backend asks of a tokenizer: subword strings both ways."""

    unk_token: str
    model_max_length: int

    def source_tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """Each text's source subwords, with the model's special tokens (end of sentence, language code)."""
        ...

    def target_tokens(self, text: str) -> list[str]:
        """The target subwords of an English text, without special tokens."""
        ...

    def decode(self, tokens: Sequence[str]) -> str:
        """The English of target subwords, special tokens left out."""
        ...


def load_subwords(folder: Path, *, source_lang: str | None = None) -> Subwords:
    """The tokenizer of the model files in ``folder`` (``source_lang``: NLLB's source language code)."""
    config = _config(folder)
    tokenizer_class = str(config.get("tokenizer_class", "")).removesuffix("Fast")
    if (tokenizer_class == "MarianTokenizer" and not config.get("separate_vocabs")
            and all((folder / name).is_file() for name in ("source.spm", "target.spm", "vocab.json"))):
        return MarianSubwords(folder, config)
    if tokenizer_class == "NllbTokenizer" and (folder / "tokenizer.json").is_file() and not config.get(
            "legacy_behaviour"):
        return NllbSubwords(folder, config, source_lang or str(config.get("src_lang") or "eng_Latn"))
    return HuggingFaceSubwords(folder, source_lang=source_lang)


def _config(folder: Path) -> dict:
    try:
        config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def _max_length(config: dict) -> int:
    value = config.get("model_max_length")
    return value if isinstance(value, int) and value > 0 else _DEFAULT_MAX_LENGTH


def _clean_up_spaces(text: str) -> str:
    """transformers' ``clean_up_tokenization``, for configs that ask for it (``clean_up_tokenization_spaces``)."""
    for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                          (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(before, after)
    return text


def _special_tokens(config: dict) -> set[str]:
    """The tokens a decode leaves out: the named ones, and those the config marks special."""
    named = {config.get(key) for key in ("eos_token", "unk_token", "pad_token", "bos_token", "sep_token",
                                          "cls_token", "mask_token")}
    marked = {entry.get("content") for entry in config.get("added_tokens_decoder", {}).values()
              if isinstance(entry, dict) and entry.get("special")}
    extra = config.get("extra_special_tokens") or config.get("additional_special_tokens") or []
    return {token for token in named | marked | set(extra if isinstance(extra, list) else []) if isinstance(token, str)}


class MarianSubwords:
    """opus-mt's two SentencePiece models and shared vocabulary, as ``MarianTokenizer`` reads them."""

    def __init__(self, folder: Path, config: dict) -> None:
        import sentencepiece

        self._source = sentencepiece.SentencePieceProcessor(model_file=str(folder / "source.spm"))
        self._target = sentencepiece.SentencePieceProcessor(model_file=str(folder / "target.spm"))
        self._vocabulary = set(json.loads((folder / "vocab.json").read_text(encoding="utf-8")))
        self.unk_token = str(config.get("unk_token") or "<unk>")
        self._eos = str(config.get("eos_token") or "</s>")
        self._special = _special_tokens(config) | {self.unk_token, self._eos}
        self._clean_up = bool(config.get("clean_up_tokenization_spaces", False))
        self.model_max_length = _max_length(config)

    def _known(self, pieces: list[str]) -> list[str]:
        # The vocabulary is not SentencePiece's: a piece outside it is unknown to the model.
        return [piece if piece in self._vocabulary else self.unk_token for piece in pieces]

    def source_tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """Source pieces and the end of sentence (a leading ``>>xx<<`` target code kept whole)."""
        tokens = []
        for text in texts:
            code, body = [], text
            if text.startswith(">>") and (end := text.find("<<")) != -1:
                code, body = [text[:end + 2]], text[end + 2:]
            tokens.append(code + self._known(self._source.encode(body, out_type=str)) + [self._eos])
        return tokens

    def target_tokens(self, text: str) -> list[str]:
        """Target pieces, no end of sentence."""
        return self._known(self._target.encode(text, out_type=str))

    def decode(self, tokens: Sequence[str]) -> str:
        """Joined pieces; MarianTokenizer decodes a shared vocabulary with the source model, and so does this."""
        text = self._source.decode_pieces([token for token in tokens if token not in self._special])
        text = text.replace(_SPIECE_UNDERLINE, " ").strip()
        return _clean_up_spaces(text) if self._clean_up else text


class NllbSubwords:
    """NLLB's ``tokenizer.json`` through the ``tokenizers`` library: ``[source code] pieces </s>``."""

    def __init__(self, folder: Path, config: dict, source_lang: str) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._source_lang = source_lang
        self.unk_token = str(config.get("unk_token") or "<unk>")
        self._eos = str(config.get("eos_token") or "</s>")
        self._clean_up = bool(config.get("clean_up_tokenization_spaces", False))
        self.model_max_length = _max_length(config)

    def source_tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """The source language code, the pieces, the end of sentence (NLLB's non-legacy order)."""
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [[self._source_lang, *encoding.tokens, self._eos] for encoding in encodings]

    def target_tokens(self, text: str) -> list[str]:
        """Target pieces, without language code or end of sentence."""
        return self._tokenizer.encode(text, add_special_tokens=False).tokens

    def decode(self, tokens: Sequence[str]) -> str:
        """The text of the pieces, special tokens skipped."""
        ids = [self._tokenizer.token_to_id(token) for token in tokens]
        text = self._tokenizer.decode([i for i in ids if i is not None], skip_special_tokens=True).strip()
        return _clean_up_spaces(text) if self._clean_up else text


class HuggingFaceSubwords:
    """Any other layout: the model's own Hugging Face tokenizer (imports transformers, and torch with it)."""

    def __init__(self, folder: Path, *, source_lang: str | None = None) -> None:
        from transformers import AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(folder)
        if source_lang:
            self._tokenizer.src_lang = source_lang
        self.unk_token = self._tokenizer.unk_token
        self.model_max_length = self._tokenizer.model_max_length or _DEFAULT_MAX_LENGTH

    def source_tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """The tokenizer's own input ids, as subword strings."""
        if not texts:
            return []
        return [self._tokenizer.convert_ids_to_tokens(ids)
                for ids in self._tokenizer(list(texts), truncation=False)["input_ids"]]

    def target_tokens(self, text: str) -> list[str]:
        """The tokenizer's target-side subwords, no special tokens."""
        ids = self._tokenizer(text_target=text, add_special_tokens=False)["input_ids"]
        return self._tokenizer.convert_ids_to_tokens(ids)

    def decode(self, tokens: Sequence[str]) -> str:
        """The tokenizer's decode, special tokens skipped."""
        ids = self._tokenizer.convert_tokens_to_ids(list(tokens))
        return self._tokenizer.decode(ids, skip_special_tokens=True).strip()
