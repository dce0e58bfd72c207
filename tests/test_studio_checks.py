"""Issue 15: the studio's check of an editor's English (tarjama.studio.checks), case by case."""

import pytest

from tarjama.record.labels import Flag
from tarjama.record.reader import SegmentView, TermView
from tarjama.studio.checks import check_english

SOURCE = "قال مسؤولون إن 145 شخصا قتلوا في هجوم على كروكوس سيتي هول"
SURFACE = "كروكوس سيتي هول"
START = 100  # the record's offsets are the article's: the segment starts here


def _segment(source: str = SOURCE, surface: str = SURFACE, target: str = "Crocus City Hall") -> SegmentView:
    at = source.index(surface)
    term = TermView(surface=surface, source=surface, target=target, start=START + at, end=START + at + len(surface),
                    proclitics=(), hit=True, how="model")
    return SegmentView(id="p1.s0", source=source, target="", start=START, end=START + len(source), terms=(term,))


GOOD = "Officials said 145 people were killed in an attack on Crocus City Hall"

CASES = [
    # (English, strict_terms, the flags warned of, a word the first warning names)
    (GOOD, False, [], None),
    (GOOD.lower(), False, [], None),  # the contract's hit test ignores case
    ("Officials said 145 people were killed in an attack on the concert hall", False, [Flag.TERM_MISSED],
     "Crocus City Hall"),
    ("Officials said 145 people were killed in an attack on the concert hall", True,
     [Flag.TERM_MISSED, Flag.APPROVAL_SET_ASIDE], "Crocus City Hall"),
    ("Officials said 140 people were killed in an attack on Crocus City Hall", False, [Flag.NUMBER_MISMATCH], "145"),
    ("Officials said a hundred people were killed in an attack on Crocus City Hall", False,
     [Flag.NUMBER_MISMATCH], "145"),
    ("Officials said 145 people قتلوا in an attack on Crocus City Hall", False, [Flag.ARABIC_IN_ENGLISH], "Arabic"),
    ("Officials said ١٤٥ people were killed in an attack on Crocus City Hall", False, [Flag.ARABIC_IN_ENGLISH],
     "Arabic"),  # the number is there, in Arabic-Indic digits: the digits are what is left
    ("Officials said 145 people were killed killed killed killed killed killed at Crocus City Hall", False,
     [Flag.REPETITION], "repeated"),
]


@pytest.mark.parametrize(("english", "strict", "flags", "named"), CASES)
def test_the_check_warns_of_what_the_pipeline_would_flag(english, strict, flags, named):
    check = check_english(_segment(), english, strict_terms=strict)
    assert [w.flag for w in check.warnings] == flags
    if named:
        assert named in check.warnings[0].message
    (term,) = check.terms
    assert term.hit == (Flag.TERM_MISSED not in flags)


def test_a_term_only_inside_a_longer_word_is_a_hit_for_the_contract_but_warned_of():
    segment = _segment("حذر مسؤولون من داعش", "داعش", "ISIS")
    check = check_english(segment, "Officials warned of a crisis", strict_terms=True)
    assert check.terms[0].hit and [w.flag for w in check.warnings] == [Flag.TERM_INSIDE_WORD]


def test_a_term_s_place_is_given_in_the_segment_s_own_arabic():
    (term,) = check_english(_segment(), GOOD, strict_terms=False).terms
    assert SOURCE[term.start:term.end] == SURFACE and term.how == "model"


def test_a_term_whose_record_has_no_place_or_a_place_outside_the_segment_has_none():
    segment = _segment()
    moved = SegmentView(id=segment.id, source=segment.source, target="", start=0, end=len(SOURCE),
                        terms=segment.terms)  # offsets past the segment's end
    (term,) = check_english(moved, GOOD, strict_terms=False).terms
    assert (term.start, term.end) == (None, None)
