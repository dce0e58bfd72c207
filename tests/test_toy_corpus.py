"""The toy corpus: seeded, its test set held out (names and combinations), covering the cases strict mode meets."""

import re

import pytest

from tarjama.dev.toy.corpus import NAME_KINDS, Position, attach, generate_corpus, write_lab
from tarjama.terms.glossary import load_glossary
from tarjama.terms.matching import TermMatcher


@pytest.fixture(scope="module")
def corpus():
    return generate_corpus(seed=3, train_size=3000)


def test_the_same_seed_gives_the_same_corpus_and_another_seed_another():
    first, again = generate_corpus(seed=5, train_size=500), generate_corpus(seed=5, train_size=500)
    assert first == again
    assert generate_corpus(seed=6, train_size=500).train != first.train


def test_no_held_out_name_occurs_in_training_in_either_language(corpus):
    arabic = "\n".join(s.arabic for s in corpus.train)
    english = "\n".join(s.english for s in corpus.train)
    entries = corpus.glossary_entries()
    assert len(entries) > 20
    for entry in entries:
        assert entry.arabic not in arabic, entry
        assert not re.search(rf"\b{re.escape(entry.english)}\b", english), entry


def test_the_test_set_uses_only_combinations_never_seen_in_training(corpus):
    assert len(corpus.test) >= 300
    seen = {(s.clause, s.tail) for s in corpus.train}
    assert not {(s.clause, s.tail) for s in corpus.test} & seen
    # Yet every clause and every ending it uses is learned in training.
    assert {s.clause for s in corpus.test} <= {s.clause for s in corpus.train}
    assert {s.tail for s in corpus.test} <= {s.tail for s in corpus.train}


@pytest.mark.parametrize("what, holds", [
    ("a term at the start", lambda t: t.position == Position.START),
    ("a term in the middle", lambda t: t.position == Position.MIDDLE),
    ("a term at the end", lambda t: t.position == Position.END),
    ("a term behind و", lambda t: t.clitics == "و"),
    ("a term behind ل", lambda t: t.clitics == "ل"),
    ("a term behind ب", lambda t: t.clitics == "ب"),
    ("a term behind وب", lambda t: t.clitics == "وب"),
    ("a term behind ول", lambda t: t.clitics == "ول"),
    ("a term inside a quote", lambda t: t.in_quote),
    *((f"a {kind}", lambda t, kind=kind: t.kind == kind) for kind in NAME_KINDS),
])
def test_the_test_set_covers(corpus, what, holds):
    assert sum(holds(term) for s in corpus.test for term in s.terms) >= 3, what


@pytest.mark.parametrize("count", [1, 2, 3])
def test_the_test_set_has_sentences_with_each_number_of_terms(corpus, count):
    assert sum(len(s.terms) == count for s in corpus.test) >= 20


def test_every_test_term_is_a_held_out_name_that_the_glossary_finds_in_its_sentence(corpus, tmp_path):
    paths = write_lab(corpus, tmp_path / "lab")
    glossary = load_glossary(paths["glossary"])
    matcher = TermMatcher(glossary.entries)
    held_out = {(f.arabic, f.english) for f in corpus.held_out}
    for sentence in corpus.test:
        assert sentence.terms
        found = sorted(found.entry.target for found in matcher.find(sentence.arabic))
        assert found == sorted(term.english for term in sentence.terms), sentence
        assert all((term.arabic, term.english) in held_out for term in sentence.terms)


def test_the_lab_files_are_line_aligned(corpus, tmp_path):
    paths = write_lab(corpus, tmp_path / "lab")
    arabic = paths["arabic"].read_text(encoding="utf-8").split("\n")
    english = paths["english"].read_text(encoding="utf-8").split("\n")
    assert len(arabic) == len(english) == len(corpus.test) + 1 and arabic[-1] == english[-1] == ""
    assert all(a.strip() and e.strip() for a, e in zip(arabic[:-1], english[:-1], strict=True))
    assert [s.english for s in corpus.test] == english[:-1]


def test_every_english_line_reads_as_a_sentence(corpus):
    for sentence in corpus.train[:500] + corpus.test:
        assert sentence.english.lstrip("\"")[0].isupper() and sentence.english.endswith("."), sentence.english
        assert "{" not in sentence.english + sentence.arabic and "[" not in sentence.arabic, sentence


@pytest.mark.parametrize("clitics, word, written", [
    ("و", "موسكو", "وموسكو"),
    ("ب", "موسكو", "بموسكو"),
    ("ل", "الكرملين", "للكرملين"),
    ("ل", "اللجنة الأولمبية", "للجنة الأولمبية"),
    ("ب", "الكرملين", "بالكرملين"),
    ("وب", "القاهرة", "وبالقاهرة"),
    ("", "القاهرة", "القاهرة"),
])
def test_proclitics_are_written_as_arabic_writes_them(clitics, word, written):
    assert attach(clitics, word) == written


def test_every_size_gets_the_same_test_set():
    assert generate_corpus(seed=2, train_size=300).test == generate_corpus(seed=2, train_size=900).test
