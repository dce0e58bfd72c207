import pytest
from casefiles import as_params, read_article_cases, read_cases

from tarjama.text.articles import segment_text
from tarjama.text.segmentation import paragraph_kind, paragraph_kinds, split_sentences


@pytest.mark.parametrize("case", as_params(read_cases("segmentation.ar.txt")))
def test_sentence_cases(case):
    spans = split_sentences(case.input)
    assert [case.input[start:end] for start, end in spans] == case.expected


@pytest.mark.parametrize("case", as_params(read_cases("segmentation.ar.txt"), mark_known_failures=False))
def test_spans_point_into_the_text_they_came_from(case):
    prefix = "سطر سابق.\n"
    text = prefix + case.input + "\nسطر لاحق."
    spans = split_sentences(text, len(prefix), len(prefix) + len(case.input))
    assert spans == [(s + len(prefix), e + len(prefix)) for s, e in split_sentences(case.input)]


@pytest.mark.parametrize("case", as_params(read_article_cases("paragraph-kinds.ar.txt")))
def test_paragraph_kinds(case):
    document = segment_text(case.input, "case.txt")
    assert [paragraph.kind for paragraph in document.paragraphs] == case.expected


# The cases of paragraph-kinds.ar.txt with headlines under a bare marker: those paragraphs' indices.
HEADLINES_UNDER_A_BARE_MARKER = {
    "a marker alone on its line makes the headline under it related too": [3],
    'a marker alone without a colon, and one with ">>"': [3, 5],
    "the headlines under a bare marker run until the article text, which ends with a full stop": [2],
    "a list of headlines under a bare marker": [3, 4, 5],
}


@pytest.mark.parametrize("case", as_params(read_article_cases("paragraph-kinds.ar.txt"), mark_known_failures=False))
def test_paragraph_kind_alone_misses_only_the_headlines_under_a_bare_marker(case):
    paragraphs = case.input.split("\n")
    kinds = paragraph_kinds(paragraphs)
    alone = [paragraph_kind(text, index) for index, text in enumerate(paragraphs)]
    headlines = HEADLINES_UNDER_A_BARE_MARKER.get(case.name, [])
    assert all(kinds[index] == kinds[index - 1] == "related" for index in headlines)
    # Alone, each of those headlines reads as body; every other paragraph has its kind either way.
    assert alone == ["body" if index in headlines else kind for index, kind in enumerate(kinds)]


def test_the_bare_marker_headlines_are_cases_of_the_file():
    names = {case.name for case in read_article_cases("paragraph-kinds.ar.txt")}
    assert set(HEADLINES_UNDER_A_BARE_MARKER) <= names
