"""The CTranslate2 backend's tokenizers without transformers give the Hugging Face tokenizers' tokens and text."""

import json
import subprocess
import sys

import pytest
from conftest import arabic_corpus, english_corpus
from transformers import AutoTokenizer

from tarjama.translate.backends.subwords import (
    HuggingFaceSubwords,
    MarianSubwords,
    NllbSubwords,
    load_subwords,
)

# Beside the corpora: what inputs and outputs hold at the edges.
ARABIC_EDGES = ["", " ", "قال", "«الحرب» (٢٠٢٤): ٣٠٪ — لماذا؟", "ISIS-K و«داعش-خراسان»", "x" * 40, "😀 تمت",
                "a | b < c & d", "  مسافات   كثيرة  "]
ENGLISH_EDGES = ["", "Crocus City Hall", "ISIS-K's claim, the 'Dossier Center' said.", "don't ... 22 March 2024?",
                 "Tajik-born (aged 30) — 100%!", "über café ☕"]


def _hugging_face(model, architecture):
    tokenizer = AutoTokenizer.from_pretrained(model)
    if architecture == "nllb":
        tokenizer.src_lang = "arb_Arab"
    return tokenizer


@pytest.fixture(params=["marian", "nllb"])
def tokenizers(request, tiny_marian, tiny_nllb):
    model = {"marian": tiny_marian, "nllb": tiny_nllb}[request.param]
    ours = load_subwords(model, source_lang="arb_Arab" if request.param == "nllb" else None)
    return request.param, ours, _hugging_face(model, request.param)


def test_each_layout_gets_its_own_reader(tiny_marian, tiny_nllb, tmp_path):
    assert isinstance(load_subwords(tiny_marian), MarianSubwords)
    assert isinstance(load_subwords(tiny_nllb, source_lang="arb_Arab"), NllbSubwords)
    # A layout it does not know (no Marian files beside a Marian config) goes to the Hugging Face tokenizer.
    other = tmp_path / "other"
    other.mkdir()
    for item in tiny_nllb.iterdir():
        (other / item.name).write_bytes(item.read_bytes())
    config = json.loads((other / "tokenizer_config.json").read_text(encoding="utf-8"))
    (other / "tokenizer_config.json").write_text(json.dumps({**config, "legacy_behaviour": True}), encoding="utf-8")
    assert isinstance(load_subwords(other, source_lang="arb_Arab"), HuggingFaceSubwords)


def test_source_tokens_are_the_hugging_face_ones(tokenizers):
    _, ours, theirs = tokenizers
    texts = arabic_corpus() + ARABIC_EDGES
    expected = [theirs.convert_ids_to_tokens(ids) for ids in theirs(texts, truncation=False)["input_ids"]]
    assert ours.source_tokens(texts) == expected
    assert ours.unk_token == theirs.unk_token


def test_target_tokens_are_the_hugging_face_ones(tokenizers):
    _, ours, theirs = tokenizers
    for text in english_corpus() + ENGLISH_EDGES:
        expected = theirs.convert_ids_to_tokens(theirs(text_target=text, add_special_tokens=False)["input_ids"])
        assert ours.target_tokens(text) == expected, text


def test_decoded_text_is_the_hugging_face_one(tokenizers):
    _, ours, theirs = tokenizers
    vocabulary = list(theirs.get_vocab())
    # What the engine gives back: English pieces, and pieces in any order with special tokens among them.
    outputs = [ours.target_tokens(text) for text in english_corpus() + ENGLISH_EDGES]
    outputs += [vocabulary[start::97][:30] for start in range(0, 97, 7)]
    for tokens in outputs:
        expected = theirs.decode(theirs.convert_tokens_to_ids(tokens), skip_special_tokens=True).strip()
        assert ours.decode(tokens) == expected, tokens


def test_the_ctranslate2_backend_translates_without_importing_torch(tiny_marian, tmp_path):
    from tarjama.translate.backends.ctranslate2_backend import convert
    from tarjama.translate.registry import resolve_model

    store = tmp_path / "store"
    script = f"""
import os, sys
os.environ["TARJAMA_MODEL_STORE"] = {str(store)!r}
from tarjama.translate.backends import load_translator
from tarjama.translate.registry import resolve_model
from tarjama.translate.types import DecodingOptions
translator = load_translator(resolve_model({str(tiny_marian)!r}), "ctranslate2")
[translation] = translator.translate(["قال مسؤولون في موسكو"], DecodingOptions(beam_size=2, max_output_tokens=4))
print(bool(translation.text), "torch" in sys.modules, "transformers" in sys.modules)
"""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TARJAMA_MODEL_STORE", str(store))
        convert(resolve_model(str(tiny_marian)), "int8")
    # A process of its own: what matters is what the process imports.
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "False", "False"]
