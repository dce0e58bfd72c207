"""`tarjama compare`: deltas and paired bootstrap p-values equal to sacrebleu's on the same data and seed."""

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import english_corpus
from test_cli import assert_one_line_error, run
from test_publishing import make_record

from tarjama.publish.publisher import render_run_record
from tarjama.scores.scoring import corpus_scores, sentence_chrf
from tarjama.text.articles import read_article

SACREBLEU = str(Path(sys.executable).parent / "sacrebleu")
REFERENCES = english_corpus()[:24]


def degrade(line, every):
    """Drop every n-th word: a 'system' of known, varied quality."""
    return " ".join(word for n, word in enumerate(line.split()) if n % every)


def write_run(path, document, paragraph_english, references=REFERENCES):
    """A run record whose paragraphs read as given (one segment per paragraph's first sentence)."""
    firsts = {p.segments[0].id: n for n, p in enumerate(document.paragraphs)}
    record = make_record(document, lambda s: paragraph_english[firsts[s.id]] if s.id in firsts else "")
    english = record.paragraph_english()
    scores = replace(record.scores, reference=corpus_scores(english, references),
                     paragraph_chrf=tuple(sentence_chrf(english, references)))
    record = replace(record, scores=scores, reference_lines=tuple(references), reference_path="ref.txt")
    path.write_text(render_run_record(record), encoding="utf-8")
    return english


def sacrebleu_p_values(tmp_path, a, b, seed, samples, references=REFERENCES):
    files = {}
    for name, lines in (("ref", references), ("a", a), ("b", b)):
        files[name] = tmp_path / f"{name}.txt"
        files[name].write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    output = subprocess.run(
        [SACREBLEU, str(files["ref"]), "-i", str(files["a"]), str(files["b"]), "-m", "bleu", "chrf",
         "--chrf-word-order", "2", "--paired-bs", "--paired-bs-n", str(samples), "-f", "text"],
        capture_output=True, text=True, check=True, env={"SACREBLEU_SEED": str(seed), "PATH": ""}).stdout
    return [float(p) for p in re.findall(r"\(p = ([0-9.]+)\)", output)]


@pytest.mark.parametrize(("every_a", "every_b", "seed", "samples"), [(3, 5, 12345, 1000), (4, 4, 7, 200),
                                                                      (2, 9, 99, 500)])
def test_p_values_equal_sacrebleus_paired_bootstrap(tmp_path, sample_path, cli_env, every_a, every_b, seed, samples):
    document = read_article(sample_path)
    a = write_run(tmp_path / "a.run.json", document, [degrade(line, every_a) for line in REFERENCES])
    b = write_run(tmp_path / "b.run.json", document,
                  [degrade(line, every_b) if n % 3 else line for n, line in enumerate(REFERENCES)])
    result = run(["compare", tmp_path / "a.run.json", tmp_path / "b.run.json", "--seed", seed,
                  "--samples", samples, "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["identical"] is False
    expected = sacrebleu_p_values(tmp_path, a, b, seed, samples)
    assert [round(report["metrics"][m]["p_value"], 4) for m in ("bleu", "chrf")] == expected
    for metric in ("bleu", "chrf"):
        entry = report["metrics"][metric]
        assert entry["delta"] == pytest.approx(entry["b"] - entry["a"])
        assert f"bs:{samples}|seed:{seed}" in entry["signature"]
    assert report["metrics"]["bleu"]["a"] == pytest.approx(corpus_scores(a, REFERENCES).bleu)
    # The paragraphs that moved most, largest change first, each with both Englishes.
    moved = report["paragraphs_most_changed"]
    assert moved and [abs(p["delta"]) for p in moved] == sorted((abs(p["delta"]) for p in moved), reverse=True)
    assert all(p["english_a"] == a[p["index"]] and p["english_b"] == b[p["index"]] for p in moved)


def test_identical_runs_say_so(tmp_path, sample_path, cli_env):
    write_run(tmp_path / "a.run.json", read_article(sample_path), [degrade(line, 3) for line in REFERENCES])
    write_run(tmp_path / "b.run.json", read_article(sample_path), [degrade(line, 4) for line in REFERENCES])
    result = run(["compare", tmp_path / "a.run.json", tmp_path / "a.run.json"], cli_env)
    assert result.returncode == 0 and "same English: no difference" in result.stdout
    result = run(["compare", tmp_path / "a.run.json", tmp_path / "a.run.json", "--json"], cli_env)
    assert result.returncode == 0 and json.loads(result.stdout)["identical"] is True
    result = run(["compare", tmp_path / "a.run.json", tmp_path / "b.run.json"], cli_env)
    assert result.returncode == 0 and "same English" not in result.stdout
    result = run(["compare", tmp_path / "a.run.json", tmp_path / "b.run.json", "--json"], cli_env)
    assert result.returncode == 0 and json.loads(result.stdout)["identical"] is False


def test_runs_of_different_articles_or_without_reference_are_refused(tmp_path, sample_path, cli_env):
    document = read_article(sample_path)
    write_run(tmp_path / "a.run.json", document, REFERENCES)
    other = tmp_path / "b.run.json"
    write_run(other, document, REFERENCES)
    record = json.loads(other.read_text(encoding="utf-8"))
    record["source_sha256"] = "0" * 64
    other.write_text(json.dumps(record), encoding="utf-8")
    assert_one_line_error(run(["compare", tmp_path / "a.run.json", other], cli_env), "different sources")
    for paragraph in record["paragraphs"]:
        paragraph["reference"] = None
    record["source_sha256"] = json.loads((tmp_path / "a.run.json").read_text(encoding="utf-8"))["source_sha256"]
    other.write_text(json.dumps(record), encoding="utf-8")
    assert_one_line_error(run(["compare", tmp_path / "a.run.json", other], cli_env), "without --reference")
    other.write_text("{not json", encoding="utf-8")
    assert_one_line_error(run(["compare", tmp_path / "a.run.json", other], cli_env), f"{other}:1:", "invalid JSON")


ZD_REFERENCES = ["The Kremlin knew of the threat before the attack on Crocus City Hall.",
                 "Putin rejected the American warnings as provocative.",
                 "At least 143 people died in the attack near Moscow."]
ZD_ENGLISH = ["The Kremlin knew about the danger before the attack on Crocus City Hall.",
              "Putin rejected the American warnings as provocative.",
              "At least 143 people died in the assault near Moscow."]


def write_minimal_run(path, english, references=ZD_REFERENCES, term_rate=None, **facts):
    """A hand-made run record with only what compare reads, plus the given top-level keys."""
    record = {"source": "x.ar.txt", "source_sha256": "0" * 64, "scores": {"term_success_rate": term_rate},
              "paragraphs": [{"index": n, "english": e, "reference": r}
                             for n, (e, r) in enumerate(zip(english, references, strict=True))], **facts}
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "bleu_same", "chrf_same"), [
    ("danger", "danger", True, True),  # the same English
    ("danger", "menace", True, False),  # one wrong word for another: BLEU's statistics do not move
    ("danger", "threat", False, False),  # the reference's word
])
def test_a_metric_without_difference_says_so(tmp_path, cli_env, old, new, bleu_same, chrf_same):
    a = write_minimal_run(tmp_path / "a.run.json", ZD_ENGLISH)
    b = write_minimal_run(tmp_path / "b.run.json", [ZD_ENGLISH[0].replace(old, new), *ZD_ENGLISH[1:]])
    report = json.loads(run(["compare", a, b, "--json"], cli_env).stdout)
    assert report["identical"] is (old == new)
    # sacrebleu's raw p is kept for parity, even where it means nothing (1/1001 for the same English).
    expected = sacrebleu_p_values(tmp_path, ZD_ENGLISH, [ZD_ENGLISH[0].replace(old, new), *ZD_ENGLISH[1:]],
                                  12345, 1000, ZD_REFERENCES)
    assert [round(report["metrics"][metric]["p_value"], 4) for metric in ("bleu", "chrf")] == expected
    for metric, same in (("bleu", bleu_same), ("chrf", chrf_same)):
        entry = report["metrics"][metric]
        assert entry["no_difference"] is same and (entry["a"] == entry["b"]) is same
    text = run(["compare", a, b], cli_env).stdout
    for metric, same in (("bleu", bleu_same), ("chrf", chrf_same)):
        line = next(line for line in text.splitlines() if line.startswith(metric))
        assert ("Δ 0.00, no difference (p not meaningful)" in line) is same
        assert ("p = " in line) is not same


GLOSSARY_A = {"path": "glossaries/news-ar-en.tsv", "sha256": "a" * 64, "entries": 61}
GLOSSARY_A2 = {"path": "glossaries/news-ar-en.tsv", "sha256": "c" * 64, "entries": 62}  # the same file, edited
GLOSSARY_B = {"path": "small.tsv", "sha256": "b" * 64, "entries": 1}


@pytest.mark.parametrize(("glossary_a", "glossary_b", "comparable"), [
    (GLOSSARY_A, GLOSSARY_A, True),
    (GLOSSARY_A, dict(GLOSSARY_A, path="elsewhere/copy.tsv"), True),  # the same bytes under another name
    (GLOSSARY_A, GLOSSARY_B, False),
    (GLOSSARY_A, GLOSSARY_A2, False),
    (GLOSSARY_A, None, False),
    (None, GLOSSARY_B, False),
])
def test_runs_with_different_glossaries_have_no_term_delta(tmp_path, cli_env, glossary_a, glossary_b, comparable):
    memory = {"path": "mem.sqlite", "approved": 2, "reused": 1, "translated": 0, "model_inputs": 0, "harvested": 0}
    a = write_minimal_run(tmp_path / "a.run.json", ZD_ENGLISH, term_rate=0.5, glossary=glossary_a,
                          model={"name": "Helsinki-NLP/opus-mt-ar-en", "backend": "transformers"},
                          strict_terms=False, memory=None)
    a_record = json.loads(a.read_text(encoding="utf-8"))
    a_record["scores"].update(terms_matched=8, terms_hit=4)
    a.write_text(json.dumps(a_record), encoding="utf-8")
    b = write_minimal_run(tmp_path / "b.run.json", ZD_ENGLISH[::-1], term_rate=1.0, glossary=glossary_b,
                          model={"name": "facebook/nllb-200-distilled-600M", "backend": "ctranslate2"},
                          strict_terms=True, memory=memory)
    result = run(["compare", a, b, "--json"], cli_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"run_a", "run_b", "test", "identical", "seed", "samples", "metrics", "term_success_rate",
            "paragraphs_most_changed"} <= set(report)  # the keys of earlier versions stay
    terms = report["term_success_rate"]
    assert (terms["a"], terms["b"], terms["same_glossary"]) == (0.5, 1.0, comparable)
    assert terms["delta"] == (pytest.approx(0.5) if comparable else None)
    glossary_warnings = [warning for warning in report["warnings"] if "different glossaries" in warning]
    assert bool(glossary_warnings) is not comparable
    # B reused two editor-approved sentences, A none: their English is the editors', not a model's.
    assert [w for w in report["warnings"] if w not in glossary_warnings] == [
        "editor-approved sentences: A 0, B 2; those sentences are editors' English, not the model's"]
    runs = report["runs"]
    glossary_a = glossary_a or {}
    assert runs["a"] == {"model": {"name": "Helsinki-NLP/opus-mt-ar-en", "backend": "transformers"},
                         "glossary": {"path": glossary_a.get("path"), "sha256": glossary_a.get("sha256")},
                         "terms_matched": 8, "terms_hit": 4, "strict_terms": False, "memory": None}
    assert runs["b"]["glossary"]["sha256"] == (glossary_b or {}).get("sha256")
    assert runs["b"]["model"] == {"name": "facebook/nllb-200-distilled-600M", "backend": "ctranslate2"}
    assert runs["b"]["strict_terms"] is True and runs["b"]["memory"] == memory
    assert runs["b"]["terms_matched"] is None  # an older record without the counts
    # The text report shows the same facts, and the warning instead of a delta.
    text = run(["compare", a, b], cli_env).stdout
    assert "model: Helsinki-NLP/opus-mt-ar-en (transformers); strict terms: no" in text
    assert "model: facebook/nllb-200-distilled-600M (ctranslate2); strict terms: yes" in text
    assert "terms: 4 of 8 matches hit" in text and "memory: not used" in text
    assert "memory: 2 approved, 1 reused, 0 translated" in text
    terms_line = next(line for line in text.splitlines() if line.startswith("terms A"))
    if comparable:
        assert "Δ +50.0 points" in terms_line and "warning: the runs used different glossaries" not in text
    else:
        assert "not comparable" in terms_line
        assert "warning: the runs used different glossaries" in text
