"""Strict mode on a model that translates (the small toy): terms it cannot know come out once, where they belong.

The toy's lab set holds names that never occur in its training corpus, so the model writes some other name for
each (or none); strict mode's constraint-aware decoding must put the glossary's name in that place. "Where it
belongs" is read off the reference: the word before the term, or the word after it, is the reference's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tarjama.record.labels import How
from tarjama.terms.glossary import load_glossary
from tarjama.terms.matching import TermMatch, TermMatcher, find_terms_in_segment
from tarjama.text.articles import Segment
from tarjama.translate.backends import load_translator
from tarjama.translate.pipeline import SegmentTranslation, plan_translation, run_translation
from tarjama.translate.registry import resolve_model
from tarjama.translate.types import DecodingOptions, TermSearch

BACKENDS = ["transformers", "ctranslate2"]
CONSTRAINED = DecodingOptions(beam_size=4)
POSITIONAL = DecodingOptions(beam_size=4, term_search=TermSearch.POSITIONAL)


@dataclass(frozen=True)
class LabLine:
    arabic: str
    english: str  # the reference
    matches: tuple[TermMatch, ...]


def _read_lab(toy: Path) -> list[LabLine]:
    folder = toy / "lab"
    matcher = TermMatcher(load_glossary(folder / "glossary.tsv").entries)
    arabic = (folder / "test.ar.txt").read_text(encoding="utf-8").splitlines()
    english = (folder / "test.en.txt").read_text(encoding="utf-8").splitlines()
    return [LabLine(ar, en, tuple(find_terms_in_segment(_segment(ar), matcher)))
            for ar, en in zip(arabic, english, strict=True)]


def _load_translators(toy: Path, store: Path) -> Iterator[dict]:
    from tarjama.translate.backends.ctranslate2_backend import convert

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TARJAMA_MODEL_STORE", str(store))
        model = resolve_model(str(toy))
        convert(model, "int8")
        yield {backend: load_translator(model, backend, threads=2) for backend in BACKENDS}


@pytest.fixture(scope="module")
def lab(toy_model: Path) -> list[LabLine]:
    """The small toy's lab set (it trains in seconds; its attention is too weak to tell where a name goes)."""
    return _read_lab(toy_model)


@pytest.fixture(scope="module")
def translators(toy_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    yield from _load_translators(toy_model, tmp_path_factory.mktemp("toy-store"))


@pytest.fixture(scope="module")
def default_lab(default_toy) -> list[LabLine]:
    """The default toy's lab set: a model whose attention finds the names (slow tests)."""
    return _read_lab(default_toy.out_dir)


@pytest.fixture(scope="module")
def default_translators(default_toy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    yield from _load_translators(default_toy.out_dir, tmp_path_factory.mktemp("default-toy-store"))


def _segment(text: str, n: int = 0) -> Segment:
    return Segment(id=f"l{n}", paragraph=n, kind="body", text=text, start=0, end=len(text))


def _translate(translator: object, lines: list[LabLine], options: DecodingOptions) -> list[SegmentTranslation]:
    segments = [_segment(line.arabic, n) for n, line in enumerate(lines)]
    matches = [replace(m, segment=f"l{n}", paragraph=n) for n, line in enumerate(lines) for m in line.matches]
    return run_translation(plan_translation(segments, translator, options), translator, options, None, matches,
                           strict_terms=True)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+(?:-\w+)*", text.casefold())  # a possessive 's is a word of its own


def _count(term: str, text: str) -> int:
    return len(re.findall(rf"(?<!\w){re.escape(term.casefold())}(?!\w)", text.casefold()))


def _neighbours(term: str, text: str) -> tuple[str, str]:
    """The words just before and just after the (first) term: '' at either end of the sentence."""
    words, term_words = _words(text), _words(term)
    for i in range(len(words) - len(term_words) + 1):
        if words[i:i + len(term_words)] == term_words:
            after = i + len(term_words)
            return (words[i - 1] if i else "", words[after] if after < len(words) else "")
    raise AssertionError(f"{term!r} not in {text!r}")


def _in_place(term: str, english: str, reference: str) -> bool:
    before, after = _neighbours(term, english)
    expected_before, expected_after = _neighbours(term, reference)
    return before == expected_before or after == expected_after


def _once_in_place(lines: list[LabLine], results: list[SegmentTranslation]) -> tuple[float, float]:
    """The share of terms written exactly once, and the share written where the reference has them."""
    once = placed = total = 0
    for line, result in zip(lines, results, strict=True):
        for match in line.matches:
            total += 1
            once += _count(match.target, result.target) == 1
            placed += _count(match.target, result.target) >= 1 and _in_place(match.target, result.target,
                                                                              line.english)
    return once / total, placed / total


def _one_term_lines(lab: list[LabLine], count: int = 24) -> list[LabLine]:
    return [line for line in lab if len(line.matches) == 1 and _count(line.matches[0].target, line.english) == 1
            and '"' not in line.arabic][:count]


def _two_term_lines(lab: list[LabLine], count: int = 12) -> list[LabLine]:
    return [line for line in lab if len(line.matches) == 2
            and all(_count(m.target, line.english) == 1 for m in line.matches)][:count]


def _quoted_lines(lab: list[LabLine], count: int = 8) -> list[LabLine]:
    """Lines with a term inside a quotation, in the Arabic and in the reference."""
    return [line for line in lab if any(_inside_quote(line.arabic, m.start)
                                        and _inside_quote(line.english, line.english.find(m.target))
                                        for m in line.matches)][:count]


def _quoted_inside(lines: list[LabLine], results: list[SegmentTranslation]) -> tuple[int, int]:
    """Of the terms quoted in the Arabic, how many the English quotes too, and how many there are: where the
    English keeps the quotation (the toy sometimes drops an opening quote mark, with or without a glossary)."""
    quoted = [(m.target, result.target) for line, result in zip(lines, results, strict=True) for m in line.matches
              if _inside_quote(line.arabic, m.start) and result.target.count('"') >= 2]
    return sum(_inside_quote(english, english.find(target)) for target, english in quoted), len(quoted)


def _shown(lines: list[LabLine], results: list[SegmentTranslation]) -> list[tuple[str, str]]:
    return [(result.target, line.english) for result, line in zip(results, lines, strict=True)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_name_the_model_cannot_know_comes_out_once_placed_by_the_decoding(lab, translators, backend):
    lines = _one_term_lines(lab)
    results = _translate(translators[backend], lines, CONSTRAINED)
    once, _ = _once_in_place(lines, results)
    hows = [term.how for result in results for term in result.terms]
    assert once == 1.0, _shown(lines, results)
    # Placed in the first pass, not by the fall-back's forcing. (On CTranslate2, a name no output word aligns to is
    # inserted where the attention peaks, recorded as the last resort: the small toy's attention is weak.)
    first_pass = {How.CONSTRAINED, How.REPLACED} if backend == "ctranslate2" else {How.CONSTRAINED}
    assert sum(how in first_pass for how in hows) >= 0.9 * len(hows), hows


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("kind", "least"), [("two terms", 6), ("a term inside a quote", 3)])
def test_every_term_comes_out_once(lab, translators, backend, kind, least):
    lines = _two_term_lines(lab) if kind == "two terms" else _quoted_lines(lab)
    assert len(lines) >= least
    results = _translate(translators[backend], lines, CONSTRAINED)
    assert _once_in_place(lines, results)[0] == 1.0, _shown(lines, results)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_on_a_model_that_finds_the_names_each_term_goes_where_the_reference_has_it(default_lab, default_translators,
                                                                                   backend):
    translator = default_translators[backend]
    for lines, least in ((_one_term_lines(default_lab), 0.7), (_two_term_lines(default_lab, 24), 0.5)):
        results = _translate(translator, lines, CONSTRAINED)
        once, in_place = _once_in_place(lines, results)
        assert once == 1.0 and in_place >= least, (in_place, _shown(lines, results))
        # Forcing at a guessed position (the fall-back alone) does worse on the same sentences.
        assert in_place > _once_in_place(lines, _translate(translator, lines, POSITIONAL))[1]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_on_a_model_that_finds_the_names_a_quoted_term_stays_inside_the_quote(default_lab, default_translators,
                                                                              backend):
    lines = _quoted_lines(default_lab)
    results = _translate(default_translators[backend], lines, CONSTRAINED)
    inside, quoted = _quoted_inside(lines, results)
    assert quoted >= 4 and _once_in_place(lines, results)[0] == 1.0, _shown(lines, results)
    assert inside >= 0.75 * quoted, _shown(lines, results)


def _inside_quote(text: str, at: int) -> bool:
    """Whether position ``at`` lies between an opening and a closing quote mark."""
    return at >= 0 and text[:at].count('"') % 2 == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_long_line_translated_in_pieces_keeps_each_piece_s_terms(lab, translators, backend):
    ones = _one_term_lines(lab, 8)
    joined = [LabLine(f"{a.arabic} {b.arabic}", f"{a.english} {b.english}", ()) for a, b in zip(ones[::2], ones[1::2],
                                                                                             strict=True)]
    matcher_lines = [LabLine(line.arabic, line.english, (*a.matches, *(_shifted(m, len(a.arabic) + 1)
                                                                           for m in b.matches)))
                     for line, a, b in zip(joined, ones[::2], ones[1::2], strict=True)]
    translator = translators[backend]
    longest = max(max(translator.count_tokens([a.arabic, b.arabic])) for a, b in zip(ones[::2], ones[1::2],
                                                                                       strict=True))
    options = DecodingOptions(beam_size=4, max_source_tokens=longest + 2)  # each line must go in two pieces
    plan = plan_translation([_segment(line.arabic, n) for n, line in enumerate(matcher_lines)], translator, options)
    assert all(len(plan.pieces_of[f"l{n}"]) >= 2 for n in range(len(matcher_lines)))
    results = _translate(translator, matcher_lines, options)
    once, _ = _once_in_place(matcher_lines, results)
    assert once == 1.0, [r.target for r in results]
    # In the first pass (CTranslate2 may insert a name no word aligns to): no fall-back forcing was needed.
    assert all(term.how in (How.CONSTRAINED, How.MODEL, How.REPLACED) for r in results for term in r.terms)


def _shifted(match: TermMatch, offset: int) -> TermMatch:
    return replace(match, start=match.start + offset, end=match.end + offset)
