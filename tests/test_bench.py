"""`tarjama bench`: the machinery on a tiny model (figures are for BENCHMARKS.md, never asserted here)."""

import json

import pytest

from tarjama import cli
from tarjama.dev import bench
from tarjama.dev.random_models import TINY
from tarjama.terms.glossary import load_glossary
from tarjama.terms.matching import TermMatcher, find_terms, find_terms_in_segment
from tarjama.text.articles import segment_text
from tarjama.translate.types import DecodingOptions

TINY_BENCH = bench.BenchSettings(shape=TINY, vocab_size=800, batch=4, output_tokens=8, article_sentences=20,
                                 text_megabytes=0.05, glossary_entries=300)


def test_output_length_bounds_enter_the_record_only_when_set():
    # Memory keys are built from these options: runs without the bounds keep their old keys.
    assert "min_output_tokens" not in DecodingOptions().to_json()
    assert "max_output_tokens" not in DecodingOptions().to_json()
    bounded = DecodingOptions(min_output_tokens=5, max_output_tokens=7)
    assert (bounded.to_json()["min_output_tokens"], bounded.to_json()["max_output_tokens"]) == (5, 7)
    assert bounded.output_budget(100) == 7 and DecodingOptions().output_budget(10) == 30
    for low, high in ((0, 0), (5, 4), (-1, None)):
        with pytest.raises(ValueError, match="not a range"):
            DecodingOptions(min_output_tokens=low, max_output_tokens=high)


def test_bench_sentences_are_distinct_whole_sentences():
    sentences = bench.bench_sentences(200)
    assert len(set(sentences)) == 200
    document = segment_text(" ".join(sentences), "article.txt")
    assert [s.text for s in document.segments] == sentences


@pytest.fixture(scope="module")
def bench_json(tmp_path_factory):
    """`tarjama bench --json`, run for real on the tiny settings."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bench, "BenchSettings", lambda: TINY_BENCH)
        from io import StringIO

        out = StringIO()
        patch.setattr("sys.stdout", out)
        assert cli.main(["bench", "--json", "--threads", "2"]) == 0
    return json.loads(out.getvalue())


@pytest.mark.slow
def test_bench_json_has_the_contract_shape(bench_json):
    assert set(bench_json["backends"]) == {"transformers", "ctranslate2-float32", "ctranslate2-int8"}
    for figures in bench_json["backends"].values():
        assert figures["tokens_per_s"] == figures["beam4"]["tokens_per_s"] > 0
        assert figures["greedy"]["tokens_per_s"] > 0
        assert figures["peak_memory_mb"] >= figures["model_memory_mb"]
    assert set(bench_json["targets"]) == set(bench.TARGETS)
    assert bench_json["settings"]["threads"] == 2


def test_every_backend_does_the_same_work(bench_json):
    # Equal work is what makes tokens per second comparable: every backend writes batch × length tokens.
    expected = TINY_BENCH.batch * TINY_BENCH.output_tokens
    for figures in bench_json["backends"].values():
        assert figures["beam4"]["target_tokens"] == figures["greedy"]["target_tokens"] == expected
    assert bench_json["backends"]["ctranslate2-int8"]["threads"] == {"workers": 2, "per_worker": 1}


def test_the_pipeline_figures_add_up(bench_json):
    pipeline = bench_json["pipeline"]
    assert pipeline["sentences"] == pipeline["model_inputs"] == TINY_BENCH.article_sentences
    # The bench's article: its sentences five to a paragraph; every newsroom glossary match in it is counted.
    sentences = bench.bench_sentences(TINY_BENCH.article_sentences)
    article = segment_text("\n\n".join(" ".join(sentences[n:n + 5]) for n in range(0, len(sentences), 5)), "a.txt")
    expected_terms = len(find_terms(article, load_glossary(bench.GLOSSARY)))
    assert expected_terms > 0 and pipeline["terms_matched"] == expected_terms
    assert 0 < pipeline["engine_seconds"] <= pipeline["model_seconds"] < pipeline["seconds"]
    share = (pipeline["seconds"] - pipeline["model_seconds"]) / pipeline["seconds"]
    assert pipeline["outside_model_share"] == pytest.approx(share, abs=0.02)  # rounded figures


def test_text_speed_is_measured_on_the_requested_sizes(bench_json):
    text = bench_json["text"]
    assert text["glossary_entries"] == TINY_BENCH.glossary_entries
    assert text["megabytes"] == pytest.approx(TINY_BENCH.text_megabytes, rel=0.5)
    # The sample, repeated: each copy has the sample's segments and matches.
    sample = bench.SAMPLE.read_text(encoding="utf-8")
    copies = round(TINY_BENCH.text_megabytes * 1_000_000 / len(sample.encode()))
    document = segment_text(sample, "sample.txt")
    matcher = TermMatcher(bench.synthetic_glossary(TINY_BENCH.glossary_entries).entries)
    assert text["segments"] == copies * len(document.segments)
    assert text["matches"] == copies * sum(len(find_terms_in_segment(s, matcher)) for s in document.segments)
    assert text["segmentation_mb_per_s"] > 0  # a speed: its figure is for BENCHMARKS.md


def test_the_folder_figure_compares_the_same_sentences(bench_json):
    folder = bench_json["folder"]
    per = TINY_BENCH.folder_article_sentences
    assert folder["articles"] == TINY_BENCH.article_sentences // per and folder["sentences_per_article"] == per
    assert folder["sentences"] == folder["article_sentences"] == TINY_BENCH.article_sentences
    ratio = folder["folder_sentences_per_s"] / folder["article_sentences_per_s"]
    assert folder["throughput_ratio"] == pytest.approx(ratio, rel=0.02)  # rounded figures
    assert bench_json["targets"]["folder_throughput_ratio"]["value"] == folder["throughput_ratio"]


def test_strict_over_soft_compares_the_same_article_soft_and_strict(bench_json):
    strict = bench_json["pipeline"]["strict"]
    assert strict["sentences"] == TINY_BENCH.article_sentences
    # Strict mode puts every term in (a random model writes none of them by itself); the soft run does not.
    assert strict["strict"]["term_success_rate"] == 1.0 > strict["soft"]["term_success_rate"]
    assert strict["strict"]["model_seconds"] > 0 and strict["soft"]["model_seconds"] > 0
    ratio = strict["strict"]["model_seconds"] / strict["soft"]["model_seconds"]
    assert bench_json["pipeline"]["strict_over_soft"] == pytest.approx(ratio, rel=0.02)
    assert bench_json["targets"]["strict_over_soft"]["value"] == bench_json["pipeline"]["strict_over_soft"]
