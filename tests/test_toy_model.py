"""The toy model: it loads like any Marian model, translates its template language, and says it is a toy."""

import json

import pytest

from tarjama.cli import main
from tarjama.dev.toy import ToySize
from tarjama.dev.toy.corpus import generate_corpus
from tarjama.dev.toy.model import TOY_SIZES, build_toy_model
from tarjama.errors import InputError
from tarjama.scores.scoring import metrics
from tarjama.translate.backends import load_translator
from tarjama.translate.registry import resolve_model
from tarjama.translate.types import DecodingOptions


def test_the_toy_folder_holds_a_marian_model_its_card_and_the_lab_set(toy_model):
    for name in ("config.json", "model.safetensors", "source.spm", "target.spm", "vocab.json", "README.md",
                 "lab/test.ar.txt", "lab/test.en.txt", "lab/glossary.tsv"):
        assert (toy_model / name).is_file(), name
    assert "NOT a translator of real Arabic" in (toy_model / "README.md").read_text(encoding="utf-8")
    assert "not a translator of real Arabic" in json.loads((toy_model / "config.json").read_text())["tarjama_toy"]


def test_the_toy_model_translates_its_template_language_through_the_pipeline_backend(toy_model):
    translator = load_translator(resolve_model(str(toy_model)), "transformers", threads=2)
    corpus = generate_corpus(seed=0, train_size=TOY_SIZES[ToySize.SMALL].train_size)
    pairs = [s for s in corpus.train if s.tail == "none"][:12]
    english = [r.text for r in translator.translate([s.arabic for s in pairs], DecodingOptions(beam_size=1))]
    # A random model scores near 0; the small toy writes the template English (names it may still mix up).
    chrf = metrics()["chrf"].corpus_score(english, [[s.english for s in pairs]]).score
    assert chrf > 50, list(zip(english, [p.english for p in pairs], strict=True))


def test_models_list_never_shows_the_toy(toy_model, tmp_path, monkeypatch, capsys):
    store = tmp_path / "store"
    store.mkdir()
    (store / "toy").symlink_to(toy_model)
    monkeypatch.setenv("TARJAMA_MODEL_STORE", str(store))
    assert main(["models", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["models"]
    assert rows and not any("toy" in json.dumps(row).lower() for row in rows)


def test_models_toy_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "old.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="not empty"):
        build_toy_model(tmp_path, ToySize.SMALL)


def test_models_toy_from_the_command_line_names_the_folder_and_the_measure(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x", encoding="utf-8")
    assert main(["models", "toy", str(tmp_path / "taken"), "--size", "small"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.slow
def test_the_default_toy_model_writes_fluent_template_english(default_toy):
    assert default_toy.test_pairs >= 300 and default_toy.chrf_unnamed > 60
