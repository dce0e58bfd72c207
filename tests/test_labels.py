"""The run record's vocabulary: every flag labelled and shown by its label, and the one decision of a term's how."""

import json
from dataclasses import replace
from html import escape

import pytest
from test_publishing import make_record

from tarjama.publish.publisher import render_bilingual
from tarjama.publish.record import count_terms
from tarjama.publish.report import render_report
from tarjama.record.labels import Flag, How, Origin, flag_label
from tarjama.text.articles import segment_text
from tarjama.translate.enforcement import Presence, TermSource, decide_how, presence

# Every combination of what put a term's target into the English and what the finished English holds.
HOW_DECISIONS = [
    (TermSource.APPROVAL, Presence.AS_WORD, How.APPROVED),
    (TermSource.APPROVAL, Presence.INSIDE_WORD, How.INSIDE_WORD),
    (TermSource.APPROVAL, Presence.ABSENT, How.MISSED),
    (TermSource.MODEL, Presence.AS_WORD, How.MODEL),
    (TermSource.MODEL, Presence.INSIDE_WORD, How.INSIDE_WORD),
    (TermSource.MODEL, Presence.ABSENT, How.MISSED),
    (TermSource.ALTERNATIVE, Presence.AS_WORD, How.HYPOTHESIS),
    (TermSource.ALTERNATIVE, Presence.INSIDE_WORD, How.INSIDE_WORD),
    (TermSource.ALTERNATIVE, Presence.ABSENT, How.MISSED),
    (TermSource.SEARCH, Presence.AS_WORD, How.CONSTRAINED),
    (TermSource.SEARCH, Presence.INSIDE_WORD, How.INSIDE_WORD),
    (TermSource.SEARCH, Presence.ABSENT, How.MISSED),
    (TermSource.FORCING, Presence.AS_WORD, How.FORCED),
    (TermSource.FORCING, Presence.INSIDE_WORD, How.INSIDE_WORD),
    (TermSource.FORCING, Presence.ABSENT, How.MISSED),
    (TermSource.PLACEMENT, Presence.AS_WORD, How.REPLACED),
    (TermSource.PLACEMENT, Presence.INSIDE_WORD, How.INSIDE_WORD),
    (TermSource.PLACEMENT, Presence.ABSENT, How.MISSED),
]


@pytest.mark.parametrize(("source", "found", "expected"), HOW_DECISIONS)
def test_decide_how(source, found, expected):
    assert decide_how(source, found) is expected


def test_the_table_covers_every_combination_and_every_how():
    assert {(source, found) for source, found, _ in HOW_DECISIONS} == {(s, f) for s in TermSource for f in Presence}
    assert {how for _, _, how in HOW_DECISIONS} == set(How)


@pytest.mark.parametrize(("target", "english", "expected"), [
    ("ISIS", "ISIS claimed the attack.", Presence.AS_WORD),
    ("Tajik", "Four Tajiks were charged.", Presence.AS_WORD),  # a plural is the word
    ("Kremlin", "the kremlin said", Presence.AS_WORD),  # case does not matter
    ("ISIS", "Officials spoke of a crisis.", Presence.INSIDE_WORD),
    ("Moscow", "The Kremlin said.", Presence.ABSENT),
])
def test_presence_is_the_english_side_test(target, english, expected):
    assert presence(target, english) is expected


def test_the_vocabulary_keeps_its_json_values():
    # The run record (and every record already written) spells them so; terms_by_how follows How's order.
    assert [how.value for how in How] == ["model", "hypothesis", "constrained", "forced", "replaced", "approved",
                                          "inside_word", "missed"]
    assert {origin.value for origin in Origin} == {"model", "copied", "memory", "approved"}
    assert json.dumps({How.FORCED: [Flag.TERM_FORCED], "origin": Origin.MEMORY}) == \
        '{"forced": ["term_forced"], "origin": "memory"}'
    assert Flag("term_missed") is Flag.TERM_MISSED and Flag.TERM_MISSED == "term_missed"


def test_every_flag_has_its_own_label():
    labels = [flag.label for flag in Flag]
    assert all(label and label != flag.value for flag, label in zip(Flag, labels, strict=True))
    assert len(set(labels)) == len(labels)
    assert flag_label("term_missed") == Flag.TERM_MISSED.label
    assert flag_label("from_a_newer_tarjama") == "from_a_newer_tarjama"  # shown as it is, never an error


def one_flag_per_segment():
    """A record with one sentence per flag, each carrying only that flag (no terms, no set-aside approval)."""
    flags = list(Flag)
    document = segment_text("\n".join(f"جملة رقم {n}." for n in range(len(flags))), "flags.txt")
    record = make_record(document, lambda s: "Sentence.")
    segments = tuple(replace(segment, flags=(flag,)) for segment, flag in zip(record.segments, flags, strict=True))
    return replace(record, segments=segments, scores=count_terms(segments))


@pytest.mark.parametrize("flag", list(Flag))
def test_the_bilingual_file_shows_each_flag_by_its_label(flag):
    record = one_flag_per_segment()
    segment = next(s for s in record.segments if s.flags == (flag,))
    row = next(line for line in render_bilingual(record).splitlines() if line.startswith(f"| {segment.id} |"))
    notes = row.rsplit(" | ", 1)[1]
    assert flag.label in notes
    assert flag.value not in notes.replace(flag.label, "")


@pytest.mark.parametrize("flag", [flag for flag in Flag if flag is not Flag.APPROVED])
def test_the_report_shows_each_flag_by_its_label(flag):
    html = render_report(one_flag_per_segment())
    assert f"<tr><td>{escape(flag.label)}</td><td class='num'>1</td></tr>" in html
    assert f"<td>{flag.value}</td>" not in html and f"<td class='flag'>{flag.value}</td>" not in html


def test_the_report_counts_an_approval_apart_from_the_flags():
    html = render_report(one_flag_per_segment())
    assert escape(Flag.APPROVED.label) not in html
