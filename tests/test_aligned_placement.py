"""Attention-aligned term placement (CTranslate2's constraint-aware decoding), on hand-made attention.

Each case: the output's pieces, the source piece each output piece attends to most (its attention row is one-hot
there, or spread evenly over the source with ``None``), the terms with their source pieces, the English that must
come out, the terms the output already holds, and (when any) the terms that had no aligned words and were inserted.
"""

from __future__ import annotations

import pytest

from tarjama.translate.backends.aligned import AlignedTerm, place_terms
from tarjama.translate.backends.base import source_positions

SOURCE_LENGTH = 8


def _attention(targets: list[int | None]) -> list[list[float]]:
    rows = []
    for target in targets:
        if target is None:
            rows.append([1 / SOURCE_LENGTH] * SOURCE_LENGTH)
        else:
            row = [0.0] * SOURCE_LENGTH
            row[target] = 1.0
            rows.append(row)
    return rows


def _term(text: str, *positions: int) -> AlignedTerm:
    pieces = tuple("▁" + word for word in text.split())
    return AlignedTerm(text, pieces, positions, (pieces[0][1:], *pieces[1:]))


def _english(pieces: list[str]) -> str:
    return "".join(pieces).replace("▁", " ").strip()


CASES = [
    # The model's rendering of the name (aligned to the term's Arabic) gives way to the glossary's.
    ("replaces the model's name",
     ["▁Ali", "▁Kh", "odor", "kovsky", "▁said", "▁it", "."], [1, 2, 2, 2, 0, 4, 5],
     [_term("Ziad Husseini", 1, 2)], "Ziad Husseini said it.", ()),
    # Punctuation glued to the replaced word stays.
    ("keeps trailing punctuation",
     ["▁attack", "▁on", "▁Baghdad", ",", "▁hours", "▁later"], [3, 3, 5, 6, 7, 7],
     [_term("Basra", 5)], "attack on Basra, hours later", ()),
    # Two terms, each where its own Arabic is.
    ("two terms",
     ["▁Omar", "▁said", "▁the", "▁attack", "▁on", "▁Poland"], [1, 0, 3, 3, 4, 6],
     [_term("Robert Smith", 1), _term("Damascus", 6)], "Robert Smith said the attack on Damascus", ()),
    # A name inside guillemets keeps them.
    ("inside a quote",
     ["▁«", "Amnesty", "▁International", "»", "▁said"], [2, 3, 3, 4, 0],
     [_term("Red Crescent", 3)], "«Red Crescent» said", ()),
    # No output word attends to the term's Arabic: it goes before the word that attends to it most.
    ("inserts where nothing aligns",
     ["▁killed", "▁in", "▁the", "▁city"], [0, 1, 2, None],
     [_term("Mosul", 7)], "killed in the Mosul city", (), {"Mosul"}),
    # Before the output's first word, written without a space of its own: a space comes between.
    ("inserts before a first word without a space",
     ["Gun", "men", "▁said"], [0, 0, 1],
     [_term("Mosul", 7)], "Mosul Gunmen said", (), {"Mosul"}),
    # A word already holding another of the sentence's terms is not replaced.
    ("spares a present term",
     ["▁Mosul", "▁and", "▁Basra"], [5, 4, 5],
     [_term("Tikrit", 5)], "Mosul and Tikrit", ("Mosul",)),
    # Without source positions the term is left to the caller's fall-back.
    ("no positions, no placement",
     ["▁the", "▁city"], [0, 1],
     [_term("Mosul")], "the city", ()),
]


@pytest.mark.parametrize(("name", "pieces", "targets", "terms", "expected", "present", "inserted"),
                         [(*case, set()) if len(case) == 6 else case for case in CASES], ids=[c[0] for c in CASES])
def test_place_terms(name: str, pieces: list[str], targets: list[int | None], terms: list[AlignedTerm],
                     expected: str, present: tuple[str, ...], inserted: set[str]) -> None:
    placement = place_terms(pieces, _attention(targets), terms, present=present)
    assert _english(placement.pieces) == expected
    # A term goes in place of its aligned words, or, with none, is inserted (strict mode's last resort).
    assert placement.inserted == inserted
    assert placement.aligned == {t.text for t in terms if t.source_positions} - inserted


def test_source_positions_walks_the_pieces_and_skips_special_tokens() -> None:
    text = "قال زياد الحسيني إن"
    start = text.index("زياد")
    end = start + len("زياد الحسيني")
    pieces = ["arb_Arab", "▁قال", "▁زي", "اد", "▁ال", "حسيني", "▁إن", "</s>"]
    assert source_positions(text, pieces, start, end) == (2, 3, 4, 5)
    # A piece that is not the text ends the walk: no positions rather than wrong ones.
    assert source_positions(text, ["▁قال", "▁<unk>", "▁ال", "حسيني"], start, end) == ()
    assert source_positions(text, pieces, 3, 3) == ()


def test_an_output_of_special_pieces_only_gets_the_terms_in_source_order():
    pieces = ["<filler1>", "<filler1>", "</s>"]
    placement = place_terms(pieces, _attention([0, 1, 2]), [_term("Moscow", 5), _term("Kremlin", 1), _term("Kyiv")])
    assert _english([p for p in placement.pieces if not p.startswith("<")]) == "Kremlin Moscow"
    assert placement.inserted == {"Kremlin", "Moscow"} and not placement.aligned


def test_a_piece_after_a_special_one_still_belongs_to_the_word_before():
    # Decoded, "<filler>" vanishes and "ski" glues onto "Kov": the word is "Kovski", replaced whole.
    pieces = ["▁Kov", "<filler7>", "ski", "▁said"]
    placement = place_terms(pieces, _attention([3, 0, 0, 1]), [_term("Putin", 3)])
    assert _english([p for p in placement.pieces if not p.startswith("<")]) == "Putin said"


def test_source_positions_find_their_place_again_after_an_unknown_character():
    text = "قال ☂ زياد الحسيني"
    start = text.index("زياد")
    pieces = ["▁قال", "▁<unk>", "▁زي", "اد", "▁ال", "حسيني"]
    assert source_positions(text, pieces, start, start + len("زياد الحسيني")) == (2, 3, 4, 5)
