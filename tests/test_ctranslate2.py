"""The CTranslate2 backend: same English as transformers (greedy, float32), terms forced, clean errors."""

import json
import re

import pytest
from conftest import arabic_corpus, english_corpus
from test_cli import assert_one_line_error, run

from tarjama.dev.random_models import build_random_marian, build_random_nllb
from tarjama.terms.glossary import load_glossary
from tarjama.terms.matching import find_terms
from tarjama.text.articles import read_article
from tarjama.translate.backends import load_translator
from tarjama.translate.pipeline import translate_segments
from tarjama.translate.registry import resolve_model
from tarjama.translate.types import BatchingOptions, DecodingOptions, TermConstraint, TermSearch

POSITIONAL_GREEDY = DecodingOptions(beam_size=1, term_search=TermSearch.POSITIONAL)  # strict mode's fall-back


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("store")
        patch.setenv("TARJAMA_MODEL_STORE", str(folder))
        yield folder


@pytest.fixture(scope="module")
def peaked_models(tmp_path_factory, store):
    """Random models with peaked outputs (no near-ties), converted to CTranslate2 float32."""
    from tarjama.translate.backends.ctranslate2_backend import convert

    root = tmp_path_factory.mktemp("peaked")
    models = {"marian": build_random_marian(root / "marian", arabic_corpus(), english_corpus(), init_std=0.5),
              "nllb": build_random_nllb(root / "nllb", arabic_corpus() + english_corpus(), init_std=0.5)}
    for path in models.values():
        convert(resolve_model(str(path)), "float32")
    return models


@pytest.mark.parametrize("architecture", ["marian", "nllb"])
def test_greedy_float32_english_is_identical_to_transformers(peaked_models, architecture):
    model = resolve_model(str(peaked_models[architecture]))
    texts = arabic_corpus()
    options, batching = DecodingOptions(beam_size=1), BatchingOptions(max_sentences=8)
    reference = load_translator(model, "transformers").translate(texts, options, batching=batching)
    converted = load_translator(model, "ctranslate2")
    assert converted.quantization == "float32"
    assert [t.text for t in converted.translate(texts, options, batching=batching)] == [t.text for t in reference]


@pytest.mark.parametrize("architecture", ["marian", "nllb"])
def test_strict_terms_on_ctranslate2(peaked_models, sample_path, glossary_path, architecture):
    model = resolve_model(str(peaked_models[architecture]))
    document = read_article(sample_path)
    matches = find_terms(document, load_glossary(glossary_path))
    results = translate_segments(document.segments, load_translator(model, "ctranslate2"),
                                 DecodingOptions(beam_size=2), matches=matches, strict_terms=True)
    outcomes = [term for result in results for term in result.terms]
    assert len(outcomes) == len(matches) and all(term.hit for term in outcomes)
    # Placed by attention: in place of aligned words (constrained) or, where none align, inserted (replaced).
    assert {term.how for term in outcomes} <= {"constrained", "replaced", "model"}
    assert any(term.how == "constrained" for term in outcomes)
    (forced,) = load_translator(model, "ctranslate2").translate(
        ["قال الكرملين إن موسكو لم تتلق أي تحذير من واشنطن."], POSITIONAL_GREEDY,
        constraints=[[TermConstraint("Kremlin", 2), TermConstraint("Washington", 9)]])
    assert forced.text.index("Kremlin") < forced.text.index("Washington")


def _spanned(text, *targets_and_arabic):
    """Constraints as the pipeline's first pass makes them: each term with the place of its Arabic."""
    return [TermConstraint(target, 0, text.index(arabic), text.index(arabic) + len(arabic))
            for target, arabic in targets_and_arabic]


@pytest.mark.parametrize("architecture", ["marian", "nllb"])
@pytest.mark.parametrize("backend", ["transformers", "ctranslate2"])
def test_constraint_aware_decoding_writes_every_term_once(peaked_models, architecture, backend):
    translator = load_translator(resolve_model(str(peaked_models[architecture])), backend)
    texts = ["قال الكرملين إن موسكو لم تتلق أي تحذير من واشنطن.", "وتشير منظمة الملف اللندنية إلى أن"]
    wanted = [_spanned(texts[0], ("Kremlin", "الكرملين"), ("Moscow", "موسكو"), ("Washington", "واشنطن")),
              _spanned(texts[1], ("Dossier Center", "الملف"))]
    options = DecodingOptions(beam_size=4)
    plain = translator.translate(texts, options)
    carried = translator.translate(texts, options, constraints=wanted)
    for before, after, constraints in zip(plain, carried, wanted, strict=True):
        for target in (c.text for c in constraints):
            assert len(re.findall(rf"(?<!\w){re.escape(target)}(?!\w)", after.text)) == 1, after.text
        # In place of aligned words, or inserted where none align (CTranslate2); never by the positional forcing.
        assert after.carried | after.placed == {c.text for c in constraints if c.text not in before.text}
        assert not after.forced


@pytest.mark.slow
def test_convert_and_translate_on_the_command_line(tmp_path, tiny_nllb, sample_path, glossary_path, cli_env):
    env = {**cli_env, "TARJAMA_MODEL_STORE": str(tmp_path / "store")}
    args = ["translate", sample_path, "--model", tiny_nllb, "--backend", "ctranslate2", "--glossary", glossary_path,
            "--strict-terms", "--out", tmp_path / "out", "--beam-size", "1"]
    assert_one_line_error(run(args, env), "tarjama models convert")
    result = run(["models", "convert", tiny_nllb], env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "store" / "ctranslate2").is_dir()
    result = run(args, env)
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "out" / "crocus-city-hall.ar.run.json").read_text(encoding="utf-8"))
    assert record["model"]["backend"] == "ctranslate2" and record["scores"]["term_success_rate"] == 1.0


@pytest.mark.parametrize("architecture", ["marian", "nllb"])
@pytest.mark.parametrize("backend", ["transformers", "ctranslate2"])
def test_a_fixed_output_length_gives_every_backend_the_same_work(peaked_models, backend, architecture):
    # The bounds count target tokens after NLLB's language code, on both backends alike.
    translator = load_translator(resolve_model(str(peaked_models[architecture])), backend)
    texts = arabic_corpus()[:6]
    for beam in (1, 3):
        fixed = translator.translate(texts, DecodingOptions(beam_size=beam, min_output_tokens=9, max_output_tokens=9))
        assert [t.tokens for t in fixed] == [9] * len(texts)
    capped = translator.translate(texts, DecodingOptions(beam_size=1, max_output_tokens=3))
    assert max(t.tokens for t in capped) <= 3 and any(t.truncated for t in capped)


@pytest.mark.parametrize("backend", ["transformers", "ctranslate2"])
def test_the_output_never_runs_past_the_models_positions(peaked_models, backend):
    translator = load_translator(resolve_model(str(peaked_models["marian"])), backend)
    positions = translator.max_source_tokens
    (long,) = translator.translate(arabic_corpus()[:1], DecodingOptions(
        beam_size=1, min_output_tokens=positions + 50, max_output_tokens=positions + 50))
    assert long.truncated and long.tokens == positions - 1


def test_ctranslate2_shares_each_batch_among_one_thread_workers(peaked_models):
    from tarjama.translate.backends.ctranslate2_backend import split_threads

    assert [split_threads(n) for n in (1, 2, 4, 8, 16)] == [(1, 1), (2, 1), (4, 1), (4, 2), (8, 2)]
    model = resolve_model(str(peaked_models["marian"]))
    single = load_translator(model, "ctranslate2", threads=1)
    assert (single.workers, single.threads_per_worker) == (1, 1)
    shared = load_translator(model, "ctranslate2", threads=2)
    engine = shared._translator
    calls = []

    class Spy:
        def translate_batch(self, sources, **kwargs):
            calls.append((len(sources), kwargs["max_batch_size"]))
            return engine.translate_batch(sources, **kwargs)

    texts = arabic_corpus()
    options, batching = DecodingOptions(beam_size=1), BatchingOptions(max_sentences=8)
    shared._translator = Spy()
    try:
        english = [t.text for t in shared.translate(texts, options, batching=batching)]
    finally:
        shared._translator = engine
    assert len(texts) == 24 and calls == [(8, 4)] * 3  # three batches of 8 sentences: each worker takes half
    # Sub-batches change nothing in the English: the same as one worker taking whole batches.
    assert english == [t.text for t in single.translate(texts, options, batching=batching)]


def test_strict_terms_on_ctranslate2_force_a_whole_batch_per_round(peaked_models, sample_path, glossary_path):
    model = resolve_model(str(peaked_models["marian"]))
    translator = load_translator(model, "ctranslate2", threads=2)
    engine = translator._translator
    sizes = []

    class Spy:
        def translate_batch(self, sources, **kwargs):
            sizes.append(len(sources))
            return engine.translate_batch(sources, **kwargs)

    constraints = [[TermConstraint("Kremlin", 1)], [TermConstraint("Washington", 2)], []]
    translator._translator = Spy()
    try:
        results = translator.translate(arabic_corpus()[:3], POSITIONAL_GREEDY, constraints=constraints)
    finally:
        translator._translator = engine
    assert "Kremlin" in results[0].text and "Washington" in results[1].text
    assert results[0].forced == {"Kremlin"} and results[1].forced == {"Washington"} and not results[2].forced
    assert sizes == [3, 2]  # the batch, then one forcing round holding both sentences
