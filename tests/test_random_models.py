"""Tests for tarjama.dev.random_models: offline random-weight Marian and NLLB checkpoints."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from tarjama.dev.random_models import (
    OPUS_MT_AR_EN,
    TINY,
    ModelShape,
    build_random_marian,
    build_random_nllb,
)

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "crocus-city-hall.ar.txt"


def _arabic_lines() -> list[str]:
    return [line.strip() for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]


def _english_lines() -> list[str]:
    subjects = ["The police", "A witness", "The minister", "Russian officials", "The investigators"]
    verbs = ["reported", "denied", "confirmed", "described", "announced"]
    objects = ["the attack", "the concert hall", "the new evidence", "the arrests", "143 deaths"]
    times = ["on Friday.", "near Moscow.", "in March 2024.", "before the concert."]
    return [f"{s} {v} {o} {t}" for s, v, o, t in itertools.product(subjects, verbs, objects, times)]


@pytest.fixture(scope="module")
def marian_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_random_marian(tmp_path_factory.mktemp("marian") / "model", _arabic_lines(), _english_lines())


@pytest.fixture(scope="module")
def nllb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_random_nllb(tmp_path_factory.mktemp("nllb") / "model", _arabic_lines() + _english_lines())


def _load(path: Path) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    return AutoTokenizer.from_pretrained(path), AutoModelForSeq2SeqLM.from_pretrained(path)


def test_shapes_are_the_documented_ones() -> None:
    assert (TINY.d_model, TINY.encoder_layers, TINY.attention_heads, TINY.ffn_dim) == (32, 1, 2, 64)
    expected = ModelShape(
        d_model=512, encoder_layers=6, decoder_layers=6, attention_heads=8, ffn_dim=2048, max_positions=512
    )
    assert expected == OPUS_MT_AR_EN


def test_marian_loads_with_requested_sizes(marian_dir: Path) -> None:
    tokenizer, model = _load(marian_dir)
    assert type(tokenizer).__name__ == "MarianTokenizer"
    assert type(model).__name__ == "MarianMTModel"
    assert len(tokenizer) == 800
    assert model.config.vocab_size == 800
    assert model.config.d_model == TINY.d_model
    assert model.get_input_embeddings().weight.shape == (800, TINY.d_model)
    # opus-mt layout: </s> and <unk> first, <pad> last and used to start decoding.
    assert tokenizer.convert_tokens_to_ids(["</s>", "<unk>", "<pad>"]) == [0, 1, 799]
    assert model.config.decoder_start_token_id == model.config.pad_token_id == 799


def test_marian_pad_embedding_is_exactly_zero(marian_dir: Path) -> None:
    _, model = _load(marian_dir)
    pad_id = model.config.pad_token_id
    assert torch.count_nonzero(model.get_input_embeddings().weight[pad_id]) == 0
    assert torch.count_nonzero(model.get_output_embeddings().weight[pad_id]) == 0
    # The other rows are random, not zero.
    assert torch.count_nonzero(model.get_input_embeddings().weight[:pad_id]) > 0


def test_marian_encodes_sample_without_unknowns(marian_dir: Path) -> None:
    tokenizer, _ = _load(marian_dir)
    first_line = _arabic_lines()[0]
    ids = tokenizer(first_line)["input_ids"]
    assert tokenizer.unk_token_id not in ids
    assert ids[-1] == tokenizer.eos_token_id
    mixed = tokenizer("هجوم ISIS-K أسفر عن 143 قتيلا")["input_ids"]
    assert tokenizer.unk_token_id not in mixed


def test_marian_generates_and_decodes_a_batch(marian_dir: Path) -> None:
    tokenizer, model = _load(marian_dir)
    batch = tokenizer(_arabic_lines()[:2], return_tensors="pt", padding=True, truncation=True)
    with torch.inference_mode():
        generated = model.generate(**batch, max_new_tokens=8)
    assert generated.shape[0] == 2
    assert generated.dtype == torch.long
    assert bool((generated[:, 0] == model.config.decoder_start_token_id).all())
    # bad_words_ids keeps <pad> out of the output, as in the real opus-mt generation config.
    assert not bool((generated[:, 1:] == model.config.pad_token_id).any())
    texts = tokenizer.batch_decode(generated, skip_special_tokens=True)
    assert len(texts) == 2
    assert all(isinstance(text, str) for text in texts)


def test_nllb_loads_with_language_codes(nllb_dir: Path) -> None:
    tokenizer, model = _load(nllb_dir)
    assert type(tokenizer).__name__ == "NllbTokenizer"
    assert type(model).__name__ == "M2M100ForConditionalGeneration"
    assert len(tokenizer) == 800
    assert model.config.vocab_size == 800
    assert model.config.d_model == TINY.d_model
    assert model.get_input_embeddings().weight.shape == (800, TINY.d_model)
    assert tokenizer.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>"]) == [0, 1, 2, 3]
    for code in ("arb_Arab", "eng_Latn", "fra_Latn"):
        assert tokenizer.convert_tokens_to_ids(code) != tokenizer.unk_token_id


def test_nllb_encodes_sample_with_source_language_code(nllb_dir: Path) -> None:
    tokenizer, _ = _load(nllb_dir)
    tokenizer.src_lang = "arb_Arab"
    arb = tokenizer.convert_tokens_to_ids("arb_Arab")
    ids = tokenizer(_arabic_lines()[0])["input_ids"]
    assert tokenizer.unk_token_id not in ids
    assert arb in (ids[0], ids[-1])
    assert tokenizer.eos_token_id in ids
    mixed = tokenizer("هجوم ISIS-K أسفر عن 143 قتيلا")["input_ids"]
    assert tokenizer.unk_token_id not in mixed


def test_nllb_generates_target_language_first(nllb_dir: Path) -> None:
    tokenizer, model = _load(nllb_dir)
    tokenizer.src_lang = "arb_Arab"
    eng = tokenizer.convert_tokens_to_ids("eng_Latn")
    batch = tokenizer(_arabic_lines()[:2], return_tensors="pt", padding=True)
    with torch.inference_mode():
        generated = model.generate(**batch, forced_bos_token_id=eng, max_new_tokens=8, num_beams=2)
    assert generated.shape[0] == 2
    assert bool((generated[:, 0] == model.config.decoder_start_token_id).all())
    assert bool((generated[:, 1] == eng).all())
    texts = tokenizer.batch_decode(generated, skip_special_tokens=True)
    assert len(texts) == 2
    assert all(isinstance(text, str) for text in texts)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(path / "model.safetensors")


def _assert_same_build(first: Path, second: Path) -> None:
    assert sorted(p.name for p in first.iterdir()) == sorted(p.name for p in second.iterdir())
    for name in ("vocab.json", "source.spm", "target.spm", "tokenizer.json"):
        if (first / name).exists():
            assert (first / name).read_bytes() == (second / name).read_bytes(), name
    a, b = _weights(first), _weights(second)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_marian_build_is_deterministic(tmp_path: Path, marian_dir: Path) -> None:
    again = build_random_marian(tmp_path / "again", _arabic_lines(), _english_lines())
    _assert_same_build(marian_dir, again)
    other = build_random_marian(tmp_path / "other", _arabic_lines(), _english_lines(), seed=1)
    key = "model.shared.weight"
    assert not torch.equal(_weights(marian_dir)[key], _weights(other)[key])


def test_nllb_build_is_deterministic(tmp_path: Path, nllb_dir: Path) -> None:
    texts = _arabic_lines() + _english_lines()
    _assert_same_build(nllb_dir, build_random_nllb(tmp_path / "again", texts))


def test_seeding_leaves_the_global_rng_alone(tmp_path: Path) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_random_nllb(tmp_path / "model", _arabic_lines(), seed=7)
    assert torch.equal(torch.rand(3), expected)


def test_large_vocab_is_padded_to_the_requested_size(tmp_path: Path) -> None:
    marian = build_random_marian(tmp_path / "marian", _arabic_lines(), _english_lines(), vocab_size=3000)
    nllb = build_random_nllb(tmp_path / "nllb", _arabic_lines() + _english_lines(), vocab_size=3000)
    for path in (marian, nllb):
        tokenizer, model = _load(path)
        assert len(tokenizer) == 3000
        assert model.get_input_embeddings().weight.shape[0] == 3000
        assert "<filler0>" in tokenizer.get_vocab()
        assert tokenizer.unk_token_id not in tokenizer(_arabic_lines()[0])["input_ids"]
    marian_tokenizer = AutoTokenizer.from_pretrained(marian)
    assert marian_tokenizer.convert_ids_to_tokens(2999) == "<pad>"


def test_vocab_too_small_for_the_characters_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="SentencePiece"):
        build_random_marian(tmp_path / "marian", _arabic_lines(), _english_lines(), vocab_size=40)
    with pytest.raises(ValueError, match="SentencePiece"):
        build_random_nllb(tmp_path / "nllb", _arabic_lines(), vocab_size=240)


def test_non_empty_output_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "stale.txt").write_text("x", encoding="utf-8")
    with pytest.raises(FileExistsError):
        build_random_nllb(tmp_path, _arabic_lines())
