"""A run's settings: one fingerprint for the memory key and the inbox, batching apart from decoding."""

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from tarjama.memory.store import segment_key
from tarjama.record.reader import parse_record
from tarjama.translate.incremental import memory_settings
from tarjama.translate.settings import RunSettings, recorded_fingerprint
from tarjama.translate.types import BatchingOptions, DecodingOptions, TermSearch

MODEL = SimpleNamespace(name="opus-mt-ar-en", revision="abc123", fingerprint="0123456789abcdef")
SENTENCE, TERMS = "قال الكرملين إن موسكو رفضت التحذير.", [("الكرملين", "Kremlin")]


def translator(backend="transformers", **more):
    return SimpleNamespace(model=MODEL, backend=backend, **more)


# Keys written by tarjama before RunSettings (computed with its run_settings): existing memories keep their entries.
@pytest.mark.parametrize(("loaded", "settings", "key"), [
    (translator(), RunSettings(), "34706006fc87c50c86f2eac334f0a11708d9dfd8a422041e51fe712348e89cc4"),
])
def test_the_memory_key_is_the_one_earlier_versions_wrote(loaded, settings, key):
    assert segment_key(SENTENCE, memory_settings(loaded, settings), TERMS) == key


def test_a_strict_translation_from_before_constraint_aware_decoding_is_not_reused():
    # Earlier versions' strict runs forced terms at a guessed position (the model's own name often left beside the
    # glossary's): their entries, under this key, must not stand in for today's strict English.
    loaded = translator("ctranslate2", quantization="int8")
    settings = RunSettings(backend="ctranslate2", strict_terms=True, batching=BatchingOptions(max_sentences=8),
                           decoding=DecodingOptions(beam_size=1, max_output_tokens=40))
    earlier = "e93251561019627715a8c8dcfe4d9099e7396c5ea09324562decef3618d07839"
    assert segment_key(SENTENCE, memory_settings(loaded, settings), TERMS) != earlier
    positional = replace(settings, decoding=replace(settings.decoding, term_search=TermSearch.POSITIONAL))
    assert memory_settings(loaded, positional) != memory_settings(loaded, settings)


@pytest.mark.parametrize(("change", "changes_the_english"), [
    ({"backend": "ctranslate2"}, True),
    ({"strict_terms": True}, True),
    ({"decoding": DecodingOptions(beam_size=1)}, True),
    ({"decoding": DecodingOptions(term_rerank_margin=0)}, True),
    ({"decoding": DecodingOptions(max_output_tokens=30)}, True),
    ({"batching": BatchingOptions(max_sentences=1, max_tokens=64)}, False),
    ({"threads": 2}, False),
    ({"memory": Path("elsewhere.sqlite"), "use_memory": False}, False),
    ({"glossary": Path("g.tsv")}, False),  # the glossary's terms are in each key; the inbox hashes the file
])
def test_the_fingerprint_holds_what_changes_the_english(change, changes_the_english):
    settings = RunSettings()
    assert (replace(settings, **change).fingerprint(MODEL) != settings.fingerprint(MODEL)) is changes_the_english


def test_the_record_keeps_the_batch_sizes_among_its_decoding_options_and_gives_back_the_fingerprint(tmp_path):
    from test_publishing import MODEL as RESOLVED

    from tarjama.publish.record import build_record
    from tarjama.text.articles import segment_text
    from tarjama.translate.incremental import TranslatedArticle
    from tarjama.translate.pipeline import SegmentTranslation

    document = segment_text("عنوان\nقال الكرملين إن الوضع هادئ.\n", "a.txt")
    translated = TranslatedArticle([SegmentTranslation(s.id, "The Kremlin said so.", 1, (), ())
                                    for s in document.segments], None)
    settings = RunSettings(decoding=DecodingOptions(beam_size=2), batching=BatchingOptions(max_sentences=5),
                           strict_terms=True)
    reference = tmp_path / "ref.en.txt"
    reference.write_text("A title\nThe Kremlin said it was calm.\n", encoding="utf-8")
    record = build_record(document, translated, RESOLVED, settings, None, reference).to_json()
    assert list(record["decoding"]) == ["beam_size", "max_source_tokens", "max_batch_sentences", "max_batch_tokens",
                                        "max_output_ratio", "max_output_slack", "term_rerank_margin", "term_search"]
    assert record["decoding"]["term_search"] == "constrained"  # a strict record names how it decoded the terms
    assert (record["decoding"]["max_batch_sentences"], record["decoding"]["max_batch_tokens"]) == (5, 4096)
    view = parse_record(json.dumps(record), "a.run.json")
    assert recorded_fingerprint(view) == settings.fingerprint(RESOLVED)
    assert recorded_fingerprint(view) != replace(settings, strict_terms=False).fingerprint(RESOLVED)
    # A soft record gives its own fingerprint back too (it names no term search: the default).
    soft = replace(settings, strict_terms=False)
    soft_record = build_record(document, translated, RESOLVED, soft, None, reference).to_json()
    assert "term_search" not in soft_record["decoding"]
    assert recorded_fingerprint(parse_record(json.dumps(soft_record), "a.run.json")) == soft.fingerprint(RESOLVED)
    # A strict record from before constraint-aware decoding (no term_search) reads as positional: a changed run.
    del record["decoding"]["term_search"]
    assert recorded_fingerprint(parse_record(json.dumps(record), "a.run.json")) != settings.fingerprint(RESOLVED)
    # The reference is scored in build_record itself.
    assert record["reference"] == str(reference) and record["scores"]["bleu"] is not None
    assert [p["reference"] for p in record["paragraphs"]] == ["A title", "The Kremlin said it was calm."]
    assert build_record(document, translated, RESOLVED, settings, None).to_json()["scores"]["bleu"] is None


def test_a_deployment_gets_the_settings_as_json_with_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = RunSettings.from_options(model="m", beam_size=2, glossary=Path("g.tsv"), threads=3)
    parameter = json.loads(json.dumps(settings.for_deployment()))
    assert parameter["glossary"] == str(tmp_path / "g.tsv") and parameter["memory"] is None
    assert parameter["decoding"]["beam_size"] == 2 and parameter["batching"] == {"max_sentences": 32,
                                                                                 "max_tokens": 4096}


def test_the_memory_path_follows_the_outputs_folder_unless_given_or_off():
    out = Path("out")
    assert RunSettings().memory_path(out) == out / ".tarjama" / "memory.sqlite"
    assert RunSettings(memory=Path("tm.sqlite")).memory_path(out) == Path("tm.sqlite")
    assert RunSettings(memory=Path("tm.sqlite"), use_memory=False).memory_path(out) is None
