import json
import shutil

import pytest

from tarjama.errors import InputError, ModelNotAvailable
from tarjama.translate.backends import load_translator
from tarjama.translate.registry import ARCHITECTURES, load_registry, resolve_model
from tarjama.translate.types import BatchingOptions, DecodingOptions


@pytest.fixture
def isolated_hub(tmp_path, monkeypatch):
    """An empty model store and Hugging Face cache, and a hub that cannot be reached."""
    monkeypatch.setenv("TARJAMA_MODEL_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    return tmp_path / "store"


def test_registry_entries_are_complete():
    specs = load_registry()
    assert {s.id for s in specs} >= {"Helsinki-NLP/opus-mt-ar-en", "facebook/nllb-200-distilled-600M"}
    for spec in specs:
        assert spec.architecture in ARCHITECTURES.values() and spec.licence and spec.source_lang
    assert len({s.name for s in specs}) == len(specs)


def test_a_model_in_the_store_is_found_by_name_or_id(isolated_hub, tiny_nllb, monkeypatch):
    shutil.copytree(tiny_nllb, isolated_hub / "nllb-200-distilled-600M")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("nllb-200-distilled-600M", "facebook/nllb-200-distilled-600M"):
        model = resolve_model(name)
        assert model.path == isolated_hub / "nllb-200-distilled-600M"
        assert model.name == "facebook/nllb-200-distilled-600M"
        assert (model.architecture, model.source_lang, model.target_lang) == ("nllb", "arb_Arab", "eng_Latn")


@pytest.mark.parametrize("offline", ["1", "0"])
def test_a_missing_model_says_how_to_get_it(isolated_hub, monkeypatch, offline):
    monkeypatch.setenv("HF_HUB_OFFLINE", offline)
    with pytest.raises(ModelNotAvailable) as caught:
        resolve_model("opus-mt-ar-en")
    assert "tarjama models pull opus-mt-ar-en" in caught.value.message
    assert str(isolated_hub / "opus-mt-ar-en") in caught.value.message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(("config", "message"), [
    (None, "no config.json"),
    ("{not json", "not valid JSON"),
    (json.dumps({"model_type": "gpt2"}), "unsupported model type 'gpt2'"),
])
def test_directories_that_are_not_translation_models(tmp_path, config, message):
    if config is not None:
        (tmp_path / "config.json").write_text(config, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        resolve_model(str(tmp_path))


def test_the_model_loads_once_per_process(tiny_marian, monkeypatch):
    monkeypatch.setattr("tarjama.translate.backends._loaded", {})
    model = resolve_model(str(tiny_marian))
    translator = load_translator(model)
    assert load_translator(resolve_model(str(tiny_marian))) is translator
    results = translator.translate(["قال الكرملين.", "وصل الوفد إلى موسكو صباح الأحد."],
                                   DecodingOptions(beam_size=1))
    assert len(results) == 2 and all(isinstance(r.text, str) for r in results)


def test_length_sorted_batches_come_back_in_input_order(tiny_marian, monkeypatch):
    """With generate() echoing its input, every output must be its own input, whatever the batching."""
    monkeypatch.setattr("tarjama.translate.backends._loaded", {})
    translator = load_translator(resolve_model(str(tiny_marian)))
    monkeypatch.setattr(translator._network, "generate",
                        lambda input_ids, **_: __import__("types").SimpleNamespace(sequences=input_ids))
    texts = ["موسكو", "قال الكرملين إن الوضع هادئ جدا في موسكو.", "روسيا", "وصل الوفد إلى موسكو صباح الأحد.",
             "تاجيكستان وقرغيزستان", "الملف"]
    batches = []
    results = translator.translate(texts, DecodingOptions(beam_size=1), progress=batches.append,
                                   batching=BatchingOptions(max_sentences=2))
    assert [r.text.replace(" ", "") for r in results] == [t.replace(" ", "") for t in texts]
    assert batches == [2, 2, 2]


def test_a_model_replaced_in_place_is_another_model(tmp_path, tiny_marian, monkeypatch):
    # A new fine-tune copied over the old directory keeps its name and revision: the memory key,
    # the inbox's check and CTranslate2 conversions must still see that the model changed.
    from tarjama.runs.inbox import fingerprint
    from tarjama.translate.backends.ctranslate2_backend import convert, find_converted
    from tarjama.translate.incremental import memory_settings
    from tarjama.translate.settings import RunSettings

    monkeypatch.setenv("TARJAMA_MODEL_STORE", str(tmp_path / "store"))
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_marian, model_dir)
    article = tmp_path / "a.txt"
    article.write_text("عنوان\nقال الكرملين.\n", encoding="utf-8")
    before = resolve_model(str(model_dir))
    assert before.fingerprint == resolve_model(str(model_dir)).fingerprint  # stable while nothing changes
    # The same files elsewhere (another machine, a plain `cp -r` with new times) are the same model.
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(model_dir, elsewhere, copy_function=shutil.copy)
    (elsewhere / "config.json").touch()
    assert resolve_model(str(elsewhere)).fingerprint == before.fingerprint
    convert(before, "float32")
    settings = RunSettings(model=str(model_dir))
    memory_before = memory_settings(load_translator(before), settings)
    inbox_before = fingerprint(article, before, settings)

    weights = model_dir / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # another model of the same shape and name
    weights.write_bytes(bytes(data))
    after = resolve_model(str(model_dir))
    assert after.fingerprint != before.fingerprint
    assert memory_settings(load_translator(after), settings) != memory_before
    assert fingerprint(article, after, settings) != inbox_before
    with pytest.raises(ModelNotAvailable, match="earlier copy of the model"):
        find_converted(after)
    assert find_converted(before) is not None  # the conversion itself is still there
    # A long-lived worker loads the new weights and lets the old ones go.
    from tarjama.translate.backends import loaded_models

    assert [k for k in loaded_models() if k[1] == str(model_dir)] == [
        ("transformers", str(model_dir), None, after.fingerprint, None)]
