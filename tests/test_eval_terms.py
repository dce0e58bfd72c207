"""`tarjama eval --glossary`: term success, duplication and consistency, as pure functions and end to end."""

import json
from pathlib import Path

import pytest

from tarjama import cli
from tarjama.scores.evaluation import default_results_path
from tarjama.scores.terms import english_counts, line_outcomes, term_scores
from tarjama.terms.entries import GlossaryEntry
from tarjama.translate.types import DEFAULT_BACKEND

ISIS = GlossaryEntry("داعش", "ISIS")
ISIS_LATIN = GlossaryEntry("ISIS", "ISIS")
ISIS_K = GlossaryEntry("ISIS-K", "ISIS-K")
HALL = GlossaryEntry("قاعة كروكوس سيتي", "Crocus City Hall")
KREMLIN = GlossaryEntry("الكرملين", "Kremlin")
PUTIN = GlossaryEntry("بوتين", "Putin")
VLADIMIR_PUTIN = GlossaryEntry("فلاديمير بوتين", "Vladimir Putin")


# (case, the line's matched terms, its English, expected (hit, duplicated) per matched term)
LINES = [
    ("a hit", [KREMLIN], "The Kremlin denied it.", [(True, False)]),
    ("a miss", [KREMLIN], "Moscow denied it.", [(False, False)]),
    ("a case-insensitive hit", [HALL], "Gunmen entered crocus city hall on Friday.", [(True, False)]),
    ("a duplicate", [HALL], "Crocus City Hall, the Crocus City Hall, burned.", [(True, True)]),
    ("twice in the Arabic, twice in the English", [KREMLIN, KREMLIN], "The Kremlin met; the Kremlin spoke.",
     [(True, False), (True, False)]),
    ("twice in the Arabic, three times in the English: one duplicate, the first", [KREMLIN, KREMLIN],
     "Kremlin, Kremlin and Kremlin.", [(True, True), (True, False)]),
    ("two entries with one target count together", [ISIS, ISIS_LATIN], "ISIS said ISIS would strike.",
     [(True, False), (True, False)]),
    ("ISIS in crisis is a hit (the contract's substring) but no occurrence as a word", [ISIS],
     "The ISIS crisis deepened.", [(True, False)]),
    ("a plural and a possessive are occurrences", [KREMLIN], "The Kremlin's men and other Kremlins.",
     [(True, True)]),
    ("a shorter target inside a longer matched one is not counted again", [VLADIMIR_PUTIN, PUTIN],
     "Vladimir Putin said Putin would not yield.", [(True, False), (True, False)]),
    ("a shorter target inside a longer matched one is not a second one", [VLADIMIR_PUTIN],
     "Vladimir Putin spoke.", [(True, False)]),
    ("ISIS inside ISIS-K counts when only ISIS is matched", [ISIS], "ISIS-K and ISIS attacked.", [(True, True)]),
    ("ISIS-K does not make a second ISIS when both are matched", [ISIS_K, ISIS], "ISIS-K, part of ISIS, attacked.",
     [(True, False), (True, False)]),
]


@pytest.mark.parametrize(("matches", "english", "expected"), [case[1:] for case in LINES],
                         ids=[case[0] for case in LINES])
def test_a_lines_terms_are_hit_and_duplicated_as_the_rules_say(matches, english, expected):
    assert [(o.hit, o.duplicated) for o in line_outcomes(matches, english)] == expected


@pytest.mark.parametrize(("targets", "english", "expected"), [
    (["ISIS"], "The crisis in Iraq.", {"isis": 0}),
    (["ISIS"], "ISIS, isis and Isis.", {"isis": 3}),
    (["Crocus City Hall"], "Crocus City Halls", {"crocus city hall": 1}),
    (["Putin", "Vladimir Putin"], "Vladimir Putin and Putin", {"putin": 1, "vladimir putin": 1}),
])
def test_english_counts_are_words_claimed_longest_first(targets, english, expected):
    assert english_counts(targets, english) == expected


def test_a_known_rendering_of_the_same_name_counts_as_a_duplicate():
    english = "Gunmen stormed Crocus hall, Crocus City Hall near Moscow."
    assert [o.duplicated for o in line_outcomes([HALL], english)] == [False]
    renderings = {"Crocus City Hall": ["Crocus hall"]}
    assert [o.duplicated for o in line_outcomes([HALL], english, renderings)] == [True]
    # The rendering's words inside the target itself are not a second one.
    assert not line_outcomes([HALL], "Crocus City Hall burned.", {"Crocus City Hall": ["City Hall"]})[0].duplicated


def test_consistency_is_over_entries_matched_more_than_once():
    scores = term_scores([
        ([KREMLIN, HALL], "The Kremlin said Crocus City Hall burned."),
        ([KREMLIN], "The Kremlin, the Kremlin."),  # a duplicate, still a hit: consistent
        ([HALL], "The concert hall burned."),  # a miss: the hall is not consistent
        ([HALL], "Crocus City Hall reopened."),
        ([PUTIN], "Putin spoke."),  # matched once: not counted for consistency
        ([], "Nothing matched here."),
    ])
    by_source = {t.source: t for t in scores.terms}
    assert [t.source for t in scores.terms] == [KREMLIN.source, HALL.source, PUTIN.source]  # first match order
    assert (by_source[KREMLIN.source].matched, by_source[KREMLIN.source].hits,
            by_source[KREMLIN.source].duplicated) == (2, 2, 1)
    assert (by_source[HALL.source].matched, by_source[HALL.source].hits) == (3, 2)
    assert [by_source[s.source].consistent for s in (KREMLIN, HALL, PUTIN)] == [True, False, None]
    assert scores.term_consistency == 0.5
    assert scores.term_success_rate == 5 / 6
    assert scores.term_duplication_rate == 1 / 6
    saved = scores.to_json()
    assert (saved["matched"], saved["hits"], saved["duplicated"]) == (6, 5, 1)
    assert (saved["repeated_entries"], saved["consistent_entries"]) == (2, 1)
    assert saved["per_term"][0] == {"source": KREMLIN.source, "target": "Kremlin", "matched": 2, "hits": 2,
                                    "duplicated": 1, "consistent": True}
    assert scores.summary() == "terms 83.3% (5/6), duplicated 16.7%, consistent 50%"


def test_nothing_matched_has_no_rates():
    scores = term_scores([([], "Some English.")])
    assert scores.rates_json() == {"term_success_rate": None, "term_duplication_rate": None,
                                   "term_consistency": None}
    assert scores.summary() == "terms: none matched"


TEST_SET = [  # sentences of the sample's register with the newsroom glossary's terms (one without any)
    ("قال الكرملين إن الهجوم على قاعة كروكوس سيتي كان مدبرا.",
     "The Kremlin said the attack on Crocus City Hall was planned."),
    ("وأعلن داعش مسؤوليته عن الهجوم.", "ISIS claimed responsibility for the attack."),
    ("وصل الوفد إلى موسكو.", "The delegation reached Moscow."),
    ("وقال مسؤول إن الوضع هادئ.", "An official said the situation was calm."),
    ("رفض بوتين تحذيرات الكرملين.", "Putin rejected the Kremlin's warnings."),
]


TARGETS = [["Kremlin", "Crocus City Hall"], ["ISIS"], ["Moscow"], [], ["Putin", "Kremlin"]]  # each line's matched terms


def _eval(tmp_path, model, glossary, *more):
    src = tmp_path / "test.ar.txt"
    ref = tmp_path / "test.en.txt"
    src.write_text("".join(ar + "\n" for ar, _ in TEST_SET), encoding="utf-8")
    ref.write_text("".join(en + "\n" for _, en in TEST_SET), encoding="utf-8")
    out = tmp_path / f"eval{len(more)}.json"
    args = ["eval", "--model", str(model), "--src", str(src), "--ref", str(ref), "--beam-size", "1",
            "--out", str(out), *more]
    if glossary is not None:
        args += ["--glossary", str(glossary)]
    assert cli.main(args) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_eval_with_the_glossary_soft_and_strict(tmp_path, tiny_marian, glossary_path, cli_env, monkeypatch, capsys):
    for name in ("HF_HUB_OFFLINE", "HF_HOME", "HF_ENDPOINT", "TARJAMA_MODEL_STORE"):
        monkeypatch.setenv(name, cli_env[name])
    plain = _eval(tmp_path, tiny_marian, None)
    assert "terms" not in plain and "term_success_rate" not in plain["scores"]  # without a glossary: as before
    assert "terms" not in capsys.readouterr().out

    soft = _eval(tmp_path, tiny_marian, glossary_path)
    assert soft["hypotheses"] == plain["hypotheses"]  # soft mode only checks the terms
    strict = _eval(tmp_path, tiny_marian, glossary_path, "--strict-terms")
    printed = capsys.readouterr().out
    for saved, strict_terms in ((soft, False), (strict, True)):
        terms = saved["terms"]
        assert terms["strict_terms"] is strict_terms
        assert terms["glossary"]["path"] == str(glossary_path) and len(terms["glossary"]["sha256"]) == 64
        assert f"strict:{'yes' if strict_terms else 'no'}" in terms["signature"]
        assert terms["matched"] == 6 and terms["repeated_entries"] == 1
        assert {t["target"]: t["matched"] for t in terms["per_term"]} == \
            {"Kremlin": 2, "Crocus City Hall": 1, "ISIS": 1, "Moscow": 1, "Putin": 1}
        lines = saved["hypotheses"]
        hits = sum(target.lower() in lines[n].lower() for n, targets in enumerate(TARGETS) for target in targets)
        assert terms["hits"] == hits and saved["scores"]["term_success_rate"] == hits / 6
        assert set(saved["scores"]) >= {"bleu", "chrf", "ter", "signature", "term_success_rate",
                                        "term_duplication_rate", "term_consistency"}
    assert soft["scores"]["term_success_rate"] < 1.0  # a random model spells no name by itself
    assert strict["scores"]["term_success_rate"] == 1.0 and strict["scores"]["term_consistency"] == 1.0
    assert "terms 100.0% (6/6)" in printed and "duplicated" in printed



@pytest.mark.parametrize(("glossary", "strict", "expected"), [
    (None, False, "m.test.ar.txt.transformers.json"),
    (None, True, "m.test.ar.txt.transformers.json"),  # strict mode without a glossary changes nothing
    (Path("glossaries/news-ar-en.tsv"), False, "m.test.ar.txt.transformers.news-ar-en.json"),
    (Path("news ar.tbx"), True, "m.test.ar.txt.transformers.news_ar.strict.json"),
])
def test_the_default_results_file_names_the_glossary_and_strict_mode(glossary, strict, expected):
    assert default_results_path(Path("o"), "m", Path("test.ar.txt"), DEFAULT_BACKEND, 4, glossary, strict) == \
        Path("o") / "eval" / expected


def test_a_broken_glossary_stops_eval_before_the_model(tmp_path, no_model_work, capsys):
    src, ref, glossary = tmp_path / "t.ar", tmp_path / "t.en", tmp_path / "g.tsv"
    src.write_text("قال الكرملين.\n", encoding="utf-8")
    ref.write_text("The Kremlin said.\n", encoding="utf-8")
    glossary.write_text("source\ttarget\nالكرملين\t\n", encoding="utf-8")
    assert cli.main(["eval", "--src", str(src), "--ref", str(ref), "--glossary", str(glossary),
                     "--out", str(tmp_path / "r.json")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {glossary}:2")
    assert not (tmp_path / "r.json").exists()
