"""The whole pipeline through `tarjama translate` (a Prefect flow) on tiny random-weight models.

Random weights produce gibberish: these tests check mechanics (alignment, records, terms, files),
never translation quality.
"""

import json
from collections import Counter, defaultdict

import pytest
from conftest import english_corpus
from markdown_it import MarkdownIt
from sacrebleu.metrics import BLEU, CHRF, TER
from test_cli import run

from tarjama.terms.glossary import load_glossary
from tarjama.terms.matching import find_terms
from tarjama.text.articles import read_article


def paragraph_hypotheses(record):
    by_paragraph = defaultdict(list)
    for segment in record["segments"]:
        by_paragraph[segment["paragraph"]].append(segment["target"])
    return [" ".join(t for t in by_paragraph[i] if t) for i in sorted(by_paragraph)]


def check_outputs(out_dir, sample_path, glossary_path):
    stem = "crocus-city-hall.ar"
    assert sorted(p.name for p in out_dir.iterdir() if p.name != ".tarjama") == sorted(
        [f"{stem}.bilingual.md", f"{stem}.en.md", f"{stem}.run.json", f"{stem}.report.html"])
    record = json.loads((out_dir / f"{stem}.run.json").read_text(encoding="utf-8"))
    document = read_article(sample_path)
    assert [s["id"] for s in record["segments"]] == [s.id for s in document.segments]
    assert [s["source"] for s in record["segments"]] == [s.text for s in document.segments]
    assert record["source"] == str(sample_path)
    glossary = load_glossary(glossary_path)
    assert len(glossary.entries) > 40 and find_terms(document, glossary)  # the newsroom glossary, found in the sample
    assert record["glossary"]["entries"] == len(glossary.entries) and record["glossary"]["path"] == str(glossary_path)
    # Each segment's terms are the glossary's matches in it.
    assert [(s["id"], t["source"], t["start"], t["end"]) for s in record["segments"] for t in s["terms"]] == [
        (match.segment, match.source, match.start, match.end) for match in find_terms(document, glossary)]

    # hit and term_success_rate can be recomputed from the record itself.
    terms = [(t, s["target"]) for s in record["segments"] for t in s["terms"]]
    for term, target in terms:
        assert term["hit"] == (term["target"].lower() in target.lower())
    hits = sum(term["hit"] for term, _ in terms)
    assert record["scores"]["term_success_rate"] == pytest.approx(hits / len(terms))
    # So can per-term figures and consistency: group occurrences by source term.
    by_term = defaultdict(list)
    for term, _ in terms:
        by_term[term["source"]].append(term["hit"])
    assert [(t["source"], t["occurrences"], t["hits"]) for t in record["terms"]] == [
        (source, len(found), sum(found)) for source, found in by_term.items()]
    repeated = [found for found in by_term.values() if len(found) > 1]
    agreeing = sum(max(sum(found), len(found) - sum(found)) for found in repeated)
    assert record["scores"]["term_consistency"] == pytest.approx(agreeing / sum(map(len, repeated)))
    # Flags follow from how each term was met.
    for segment in record["segments"]:
        hows = {term["how"] for term in segment["terms"]}
        assert ("term_missed" in segment["flags"]) == ("missed" in hows)
        assert ("term_forced" in segment["flags"]) == bool(hows & {"constrained", "forced"})
    assert sum(record["scores"]["terms_by_how"].values()) == len(terms)

    # Every source sentence appears once in the bilingual file, in the row of its English.
    bilingual = (out_dir / f"{stem}.bilingual.md").read_text(encoding="utf-8")
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(bilingual)
    cells = [t for t in tokens if t.type == "inline"]
    texts = ["".join(c.content for c in t.children if c.type == "text") for t in cells]
    for segment in record["segments"]:
        assert texts.count(segment["source"]) == 1
        row = texts.index(segment["source"])
        assert texts[row - 1] == segment["id"]
        assert texts[row + 1] == segment["target"]
    english = (out_dir / f"{stem}.en.md").read_text(encoding="utf-8")
    assert english.startswith("# ")
    return record


def test_translate_with_a_marian_model_and_a_reference(tmp_path, tiny_marian, sample_path, glossary_path,
                                                       cli_env):
    reference = tmp_path / "reference.en.txt"
    reference.write_text("\n".join(english_corpus()[:24]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = run(["translate", sample_path, "--model", tiny_marian, "--glossary", glossary_path,
                  "--reference", reference, "--out", out, "--beam-size", "2"], cli_env)
    assert result.returncode == 0, result.stderr
    record = check_outputs(out, sample_path, glossary_path)
    assert record["model"]["backend"] == "transformers" and record["model"]["architecture"] == "marian"
    hypotheses = paragraph_hypotheses(record)
    references = [english_corpus()[:24]]
    assert record["scores"]["bleu"] == pytest.approx(BLEU().corpus_score(hypotheses, references).score)
    assert record["scores"]["chrf"] == pytest.approx(
        CHRF(word_order=2).corpus_score(hypotheses, references).score)
    assert record["scores"]["ter"] == pytest.approx(TER().corpus_score(hypotheses, references).score)
    assert record["scores"]["signatures"]["chrf"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:2")
    # Sentence-level chrF++ per paragraph, as sacrebleu computes it, beside the paragraph's reference.
    chrf = CHRF(word_order=2)
    for paragraph, hypothesis, reference_line in zip(record["paragraphs"], hypotheses, references[0], strict=True):
        assert paragraph["english"] == hypothesis and paragraph["reference"] == reference_line
        assert paragraph["chrf"] == pytest.approx(chrf.sentence_score(hypothesis, [reference_line]).score)
    # Quality flags are counted: a random model's English repeats itself and keeps Arabic letters.
    flags = record["scores"]["flags"]
    assert flags == dict(Counter(f for s in record["segments"] for f in s["flags"] if f != "approved"))
    assert flags.get("repetition", 0) > 0


@pytest.mark.slow
@pytest.mark.parametrize(("architecture", "beam_size"), [("nllb", "1"), ("marian", "4")])
def test_strict_terms_put_every_target_in(request, tmp_path, sample_path, glossary_path, cli_env, architecture,
                                          beam_size):
    out = tmp_path / "out"
    model = request.getfixturevalue(f"tiny_{architecture}")
    result = run(["translate", sample_path, "--model", model, "--glossary", glossary_path,
                  "--strict-terms", "--out", out, "--beam-size", beam_size], cli_env)
    assert result.returncode == 0, result.stderr
    record = check_outputs(out, sample_path, glossary_path)
    assert record["model"]["architecture"] == architecture
    assert record["scores"]["term_success_rate"] == 1.0
    assert record["scores"]["bleu"] is None
    terms = [term for segment in record["segments"] for term in segment["terms"]]
    matches = json.loads(run(["terms", sample_path, "--glossary", glossary_path, "--json"], cli_env).stdout)
    assert len(terms) == len(matches["matches"])
    # A random model writes almost no term itself: constraint-aware decoding does the work (transformers: its
    # search), not the fall-back's forcing or the last resort.
    hows = record["scores"]["terms_by_how"]
    assert hows["missed"] == 0 and hows["replaced"] == 0 and hows["constrained"] > len(terms) / 2
    for segment in record["segments"]:
        for term in segment["terms"]:
            assert term["target"].lower() in segment["target"].lower()


def test_reference_with_the_wrong_number_of_lines_is_bad_input(tmp_path, tiny_marian, sample_path, cli_env):
    reference = tmp_path / "ref.txt"
    reference.write_text("one line\n", encoding="utf-8")
    result = run(["translate", sample_path, "--model", tiny_marian, "--reference", reference,
                  "--out", tmp_path / "out"], cli_env)
    assert result.returncode == 2 and result.stderr.startswith(f"error: {reference}:")
    assert not (tmp_path / "out").exists()
