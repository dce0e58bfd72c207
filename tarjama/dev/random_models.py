"""Random-weight translation models built offline, for tests and benchmarks.

The models written here have RANDOM WEIGHTS: they produce gibberish. They exist to exercise the
mechanics of the pipeline (loading, tokenization, batching, generation, conversion, timing) without
network access, and must never be used to judge translation quality.

Two families are built, each saved with ``save_pretrained`` so that ``AutoTokenizer.from_pretrained(dir)``
and ``AutoModelForSeq2SeqLM.from_pretrained(dir)`` load them like a downloaded checkpoint:

* :func:`build_random_marian` -- MarianMT in the opus-mt layout (``source.spm``, ``target.spm``,
  shared ``vocab.json``).
* :func:`build_random_nllb` -- NLLB-style M2M100 with an ``NllbTokenizer`` (``tokenizer.json``) whose
  language codes (``arb_Arab``, ``eng_Latn``, ...) are real tokens.

Tokenizers are SentencePiece models trained in memory on the texts given. ``vocab_size`` is the number
of rows of the embedding matrix. Small training texts cannot fill a large vocabulary (the benchmark
asks for 62,834 entries), so the trainer runs with a soft limit and the vocabulary is then padded with
filler tokens (``<filler0>``, ``<filler1>``, ...) up to exactly ``vocab_size``. Fillers are never produced
by encoding; a random model may still generate them and they decode verbatim.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import sentencepiece as spm
import torch
from transformers import (
    GenerationConfig,
    M2M100Config,
    M2M100ForConditionalGeneration,
    MarianConfig,
    MarianMTModel,
    MarianTokenizer,
    NllbTokenizer,
    PreTrainedModel,
)
from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

from tarjama.errors import InputError
from tarjama.terms.glossary import load_glossary
from tarjama.text.inputs import read_text_file

__all__ = [
    "OPUS_MT_AR_EN",
    "TINY",
    "ModelShape",
    "build_random_marian",
    "build_random_model",
    "build_random_nllb",
]

FILLER_PREFIX = "<filler"

# opus-mt special tokens: </s> and <unk> come first, <pad> is the last id.
_MARIAN_EOS, _MARIAN_UNK, _MARIAN_PAD = "</s>", "<unk>", "<pad>"
# NLLB/fairseq order of the special tokens.
_NLLB_SPECIALS = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}

_Model = TypeVar("_Model", bound=PreTrainedModel)


@dataclass(frozen=True)
class ModelShape:
    """Transformer sizes shared by both model families."""

    d_model: int = 32
    encoder_layers: int = 1
    decoder_layers: int = 1
    attention_heads: int = 2
    ffn_dim: int = 64
    max_positions: int = 256

    def config_sizes(self) -> dict[str, int]:
        """The size arguments Marian and M2M100 configs share."""
        return {
            "d_model": self.d_model,
            "encoder_layers": self.encoder_layers,
            "decoder_layers": self.decoder_layers,
            "encoder_attention_heads": self.attention_heads,
            "decoder_attention_heads": self.attention_heads,
            "encoder_ffn_dim": self.ffn_dim,
            "decoder_ffn_dim": self.ffn_dim,
            "max_position_embeddings": self.max_positions,
        }


TINY = ModelShape()
OPUS_MT_AR_EN = ModelShape(
    d_model=512, encoder_layers=6, decoder_layers=6, attention_heads=8, ffn_dim=2048, max_positions=512
)


def build_random_marian(
    out_dir: Path,
    source_texts: Sequence[str],
    target_texts: Sequence[str],
    *,
    vocab_size: int = 800,
    shape: ModelShape = TINY,
    seed: int = 0,
    init_std: float = 0.02,
) -> Path:
    """Build a random-weight MarianMT model and its tokenizer into ``out_dir`` and return ``out_dir``.

    A larger ``init_std`` gives peaked output distributions: no near-ties between tokens, so two
    backends computing the same model in a different order still pick the same tokens.

    ``vocab_size`` is the size of the shared vocabulary (``len(vocab.json)``), filler-padded if the
    SentencePiece models trained on the texts are smaller.
    """
    out_dir = _prepare_out_dir(out_dir)
    # Both models share one vocabulary of </s>, <unk>, the pieces of each model and <pad>; splitting
    # vocab_size - 1 between them guarantees the union fits (each model's own <unk> is shared).
    source_size = (vocab_size - 1) // 2
    target_size = vocab_size - 1 - source_size
    source_proto = _train_sentencepiece(
        source_texts, source_size, model_type="unigram", unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1
    )
    target_proto = _train_sentencepiece(
        target_texts, target_size, model_type="unigram", unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1
    )
    source_spm, target_spm = out_dir / "source.spm", out_dir / "target.spm"
    source_spm.write_bytes(source_proto)
    target_spm.write_bytes(target_proto)

    vocab = {_MARIAN_EOS: 0, _MARIAN_UNK: 1}
    for piece in [*_pieces(source_proto), *_pieces(target_proto)]:
        vocab.setdefault(piece, len(vocab))
    vocab.update((token, len(vocab)) for token in _fillers(vocab, vocab_size - 1 - len(vocab)))
    vocab[_MARIAN_PAD] = len(vocab)
    vocab_file = out_dir / "vocab.json"
    vocab_file.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")

    tokenizer = MarianTokenizer(
        source_spm=str(source_spm),
        target_spm=str(target_spm),
        vocab=str(vocab_file),
        model_max_length=shape.max_positions,
    )
    tokenizer.save_pretrained(out_dir)

    pad_id = vocab[_MARIAN_PAD]
    eos_id = vocab[_MARIAN_EOS]
    # Mirrors Helsinki-NLP/opus-mt-ar-en's config.json apart from the sizes.
    config = MarianConfig(
        vocab_size=len(vocab),
        decoder_vocab_size=len(vocab),
        **shape.config_sizes(),
        activation_function="swish",
        scale_embedding=True,
        share_encoder_decoder_embeddings=True,
        tie_word_embeddings=True,
        pad_token_id=pad_id,
        decoder_start_token_id=pad_id,
        eos_token_id=eos_id,
        bos_token_id=eos_id,
        forced_eos_token_id=eos_id,
        init_std=init_std,
    )
    model = _random_model(MarianMTModel, config, seed)
    # CTranslate2 starts Marian decoding from a zero vector rather than the <pad> embedding; a zero
    # row keeps transformers and a converted CTranslate2 model on the same output.
    with torch.no_grad():
        model.get_input_embeddings().weight[pad_id].zero_()
    model.generation_config = GenerationConfig(
        bos_token_id=eos_id,
        decoder_start_token_id=pad_id,
        eos_token_id=eos_id,
        forced_eos_token_id=eos_id,
        pad_token_id=pad_id,
        bad_words_ids=[[pad_id]],
        max_length=shape.max_positions,
        num_beams=4,
    )
    model.save_pretrained(out_dir)
    return out_dir


def build_random_nllb(
    out_dir: Path,
    texts: Sequence[str],
    *,
    vocab_size: int = 800,
    shape: ModelShape = TINY,
    seed: int = 0,
    source_lang: str = "arb_Arab",
    target_lang: str = "eng_Latn",
    init_std: float = 0.02,
) -> Path:
    """Build a random-weight NLLB-style M2M100 model and its tokenizer into ``out_dir``; return ``out_dir``.

    ``texts`` trains the single shared vocabulary, so pass both languages. ``vocab_size`` is
    ``len(tokenizer)``: SentencePiece pieces, fillers, the 202 NLLB language codes and ``<mask>``.
    """
    out_dir = _prepare_out_dir(out_dir)
    language_codes = list(dict.fromkeys([*FAIRSEQ_LANGUAGE_CODES, source_lang, target_lang]))
    # The tokenizer appends the language codes and <mask> after the BPE vocabulary.
    base_size = vocab_size - len(language_codes) - 1
    # Identity normalization: the transformers tokenizer rebuilt from vocab and merges has no
    # normalizer, so pieces must be learned on the raw characters it will see.
    proto = _train_sentencepiece(
        texts, base_size, model_type="bpe", normalization_rule_name="identity", **_spm_ids(_NLLB_SPECIALS)
    )
    vocab = {piece: index for index, piece in enumerate(_pieces(proto))}
    merges = _bpe_merges(vocab, skip=_NLLB_SPECIALS.keys())
    vocab.update((token, len(vocab)) for token in _fillers(vocab, base_size - len(vocab)))

    tokenizer = NllbTokenizer(
        vocab=vocab,
        merges=merges,
        src_lang=source_lang,
        tgt_lang=target_lang,
        extra_special_tokens=language_codes,
        model_max_length=shape.max_positions,
    )
    if len(tokenizer) != vocab_size:
        raise RuntimeError(f"NLLB tokenizer has {len(tokenizer)} tokens, expected {vocab_size}")
    tokenizer.save_pretrained(out_dir)

    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in _NLLB_SPECIALS}
    # Mirrors facebook/nllb-200-distilled-600M's config.json apart from the sizes.
    config = M2M100Config(
        vocab_size=vocab_size,
        **shape.config_sizes(),
        encoder_layerdrop=0.0,
        decoder_layerdrop=0.0,
        activation_function="relu",
        scale_embedding=True,
        tie_word_embeddings=True,
        bos_token_id=ids["<s>"],
        pad_token_id=ids["<pad>"],
        eos_token_id=ids["</s>"],
        decoder_start_token_id=ids["</s>"],
        init_std=init_std,
    )
    model = _random_model(M2M100ForConditionalGeneration, config, seed)
    model.generation_config = GenerationConfig(
        bos_token_id=ids["<s>"],
        pad_token_id=ids["<pad>"],
        eos_token_id=ids["</s>"],
        decoder_start_token_id=ids["</s>"],
        max_length=min(200, shape.max_positions),
    )
    model.save_pretrained(out_dir)
    return out_dir


def _prepare_out_dir(out_dir: Path) -> Path:
    """Create ``out_dir``; refuse a non-empty one, whose stale files could change what loads."""
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"output directory is not empty: {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    return out_dir


def _train_sentencepiece(texts: Iterable[str], vocab_size: int, **options: str | int) -> bytes:
    """Train a SentencePiece model in memory and return its serialized proto."""
    sentences = [line for line in (text.strip() for text in texts) if line]
    if not sentences:
        raise ValueError("no non-empty training text")
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=model,
            vocab_size=vocab_size,
            character_coverage=1.0,
            # A soft limit: small texts yield fewer pieces and the vocabulary is padded instead.
            hard_vocab_limit=False,
            # One thread keeps the result identical from run to run.
            num_threads=1,
            minloglevel=2,
            **options,
        )
    except RuntimeError as error:
        raise ValueError(f"cannot train a {vocab_size}-piece SentencePiece model: {error}") from error
    return model.getvalue()


def _pieces(proto: bytes) -> list[str]:
    """Return the pieces of a serialized SentencePiece model in id order."""
    processor = spm.SentencePieceProcessor(model_proto=proto)
    return [processor.id_to_piece(index) for index in range(processor.get_piece_size())]


def _spm_ids(specials: dict[str, int]) -> dict[str, int]:
    """Map special tokens to the SentencePiece trainer's id options."""
    names = {"<s>": "bos_id", "<pad>": "pad_id", "</s>": "eos_id", "<unk>": "unk_id"}
    return {names[token]: index for token, index in specials.items()}


def _fillers(vocab: dict[str, int], count: int) -> list[str]:
    """Return ``count`` filler tokens that do not clash with ``vocab``."""
    fillers: list[str] = []
    index = 0
    while len(fillers) < count:
        token = f"{FILLER_PREFIX}{index}>"
        if token not in vocab:
            fillers.append(token)
        index += 1
    return fillers


def _bpe_merges(vocab: dict[str, int], skip: Iterable[str]) -> list[tuple[str, str]]:
    """Derive BPE merges from a SentencePiece BPE vocabulary (as transformers' converter does).

    Every split of a piece into two known pieces is a merge; merges are ranked by the id of the
    merged piece, which SentencePiece assigns in merge order, then by the length of the left part.
    """
    skipped = set(skip)
    merges: list[tuple[int, int, int, int, str, str]] = []
    for piece, piece_id in vocab.items():
        if piece in skipped:
            continue
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in vocab and right in vocab and left not in skipped and right not in skipped:
                merges.append((piece_id, cut, vocab[left], vocab[right], left, right))
    merges.sort()
    return [(left, right) for *_, left, right in merges]


def _random_model(model_class: type[_Model], config: MarianConfig | M2M100Config, seed: int) -> _Model:
    """Instantiate ``model_class`` with seeded random weights, leaving the caller's RNG untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_class(config)
    return model.eval()


def build_random_model(out_dir: Path, architecture: str, *, source_text: Path, target_glossary: Path,
                       seed: int = 0) -> Path:
    """``tarjama models random``: a MarianMT (``marian``) or NLLB (``nllb``) model with random weights in the new
    folder ``out_dir``, its tokenizers trained on an Arabic text's lines and a glossary's English."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise InputError("not empty: choose a new folder for the model", path=out_dir)
    arabic = [line for line in read_text_file(source_text).split("\n") if line.strip()]
    english = [e.target + " " + e.note for e in load_glossary(target_glossary).entries]
    if architecture == "marian":
        return build_random_marian(out_dir, arabic, english, seed=seed)
    return build_random_nllb(out_dir, arabic + english, seed=seed)
