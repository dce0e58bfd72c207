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

from tarjama.documents import read_article
from tarjama.publishing import render_run_record
from tarjama.scoring import corpus_scores, sentence_chrf

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


def sacrebleu_p_values(tmp_path, a, b, seed, samples):
    files = {}
    for name, lines in (("ref", REFERENCES), ("a", a), ("b", b)):
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
    result = run(["compare", tmp_path / "a.run.json", tmp_path / "a.run.json"], cli_env)
    assert result.returncode == 0 and "same English: no difference" in result.stdout


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
