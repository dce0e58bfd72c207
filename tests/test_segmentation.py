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


@pytest.mark.parametrize("case", as_params(read_article_cases("paragraph-kinds.ar.txt"), mark_known_failures=False))
def test_paragraph_kind_alone_misses_only_the_headlines_under_a_bare_marker(case):
    paragraphs = case.input.split("\n")
    kinds = paragraph_kinds(paragraphs)
    for index, kind in enumerate(kinds):
        if paragraph_kind(paragraphs[index], index) != kind:
            assert kind == "related" and kinds[index - 1] == "related"
