"""The run record's vocabulary: segment flags (with their labels), a term's ``how`` and a segment's origin.

Each is a :class:`~enum.StrEnum`: a member is its JSON value, so records written before, and the dicts
read back from them, compare equal to the members.
"""

from __future__ import annotations

from enum import StrEnum


class Flag(StrEnum):
    """A segment flag (the run record's ``flags``): something an editor should know about a sentence."""

    # Glossary terms (see tarjama.translate.enforcement.term_flags).
    TERM_MISSED = "term_missed"  # a glossary term's target is not in the English
    TERM_FORCED = "term_forced"  # strict mode decoded a term in (constrained or forced): check the sentence reads well
    TERM_REPLACED = "term_replaced"  # strict mode put a term into the finished English: check where it went
    TERM_INSIDE_WORD = "term_inside_word"  # a target only inside a longer word: the term is not really there
    # Translating (see tarjama.translate.pipeline).
    SPLIT_FOR_LENGTH = "split_for_length"  # too long for the model: translated in pieces, joined back
    OUTPUT_TRUNCATED = "output_truncated"  # the model hit its output budget before ending a piece
    COPIED = "copied"  # no letters (numbers, punctuation): copied, never sent to the model
    # Quality, without a reference (see tarjama.scores.quality).
    EMPTY_OUTPUT = "empty_output"  # nothing came out for a sentence with words
    ARABIC_IN_ENGLISH = "arabic_in_english"  # Arabic letters left in the English
    REPETITION = "repetition"  # a word, phrase or letter group repeated in a loop (hallucination)
    NUMBER_MISMATCH = "number_mismatch"  # a number of the Arabic is not in the English
    LENGTH_RATIO = "length_ratio"  # far longer or shorter than the article's other sentences, relatively
    # The translation memory (see tarjama.translate.incremental).
    APPROVED = "approved"  # an editor's approved English, reused as is
    APPROVAL_SET_ASIDE = "approval_set_aside"  # strict mode: an approved English without a term, translated again

    @property
    def label(self) -> str:
        """What the bilingual file and the report say for this flag."""
        return _FLAG_LABELS[self]

    @property
    def informational(self) -> bool:
        """Information about the sentence, not a problem to review: the report lists it apart from the flagged.

        An editor's approval is where the English came from, not something found wrong with it.
        """
        return self in _INFORMATIONAL


_FLAG_LABELS = {
    Flag.TERM_MISSED: "glossary term missing",
    Flag.TERM_FORCED: "glossary term decoded in by strict mode: check the sentence",
    Flag.TERM_REPLACED: "glossary term placed after translation: check where it went",
    Flag.TERM_INSIDE_WORD: "glossary term only inside a longer word (as ISIS in crisis)",
    Flag.SPLIT_FOR_LENGTH: "translated in pieces (long sentence)",
    Flag.OUTPUT_TRUNCATED: "output may be cut short",
    Flag.COPIED: "copied (no words to translate)",
    Flag.EMPTY_OUTPUT: "no English came out",
    Flag.ARABIC_IN_ENGLISH: "Arabic left in the English",
    Flag.REPETITION: "repeated words: the model may be looping",
    Flag.NUMBER_MISMATCH: "numbers differ from the Arabic",
    Flag.LENGTH_RATIO: "unusually long or short English",
    Flag.APPROVED: "approved by an editor",
    Flag.APPROVAL_SET_ASIDE: "the editor's approved English lacks a glossary term: translated again (--strict-terms)",
}


_INFORMATIONAL = frozenset({Flag.COPIED, Flag.SPLIT_FOR_LENGTH, Flag.APPROVED})


def flag_label(flag: str) -> str:
    """The label of ``flag``; a value that is no :class:`Flag` (a record from another version) shows as it is."""
    try:
        return Flag(flag).label
    except ValueError:
        return flag


class How(StrEnum):
    """How a glossary term's target reached a segment's English (the run record's term ``how``).

    The members' order is the order of the run record's ``terms_by_how``.
    """

    MODEL = "model"  # the model's best hypothesis had it
    HYPOTHESIS = "hypothesis"  # a beam alternative with more glossary hits was chosen (soft mode)
    # strict mode's constraint-aware decoding put it in: the transformers backend's constrained beam search, or
    # CTranslate2's placement at the words the model's attention gives to the Arabic term
    CONSTRAINED = "constrained"
    FORCED = "forced"  # strict mode's fall-back: a re-decoding that forced the term's tokens at its position
    REPLACED = "replaced"  # strict mode's last resort put the target into the finished English
    APPROVED = "approved"  # the sentence is an editor's approved English (never changed), which has the target
    # The target occurs only inside a longer word ("ISIS" in "crisis"): the contract's ``hit`` (a
    # case-insensitive substring) is true, but the term is not there; flagged for editors.
    INSIDE_WORD = "inside_word"
    MISSED = "missed"  # the target is not in the English; the segment is flagged for editors


class Origin(StrEnum):
    """Where a segment's English came from (the run record's segment ``origin``)."""

    MODEL = "model"  # translated in this run
    COPIED = "copied"  # no letters to translate: copied from the Arabic
    MEMORY = "memory"  # an earlier run's translation under the same key, from the translation memory
    APPROVED = "approved"  # an editor's approved English, from the translation memory

    @property
    def label(self) -> str:
        """What the studio says of an English of this origin."""
        return _ORIGIN_LABELS[self]


_ORIGIN_LABELS = {
    Origin.MODEL: "the model's English (this run)",
    Origin.COPIED: "copied from the Arabic (no words to translate)",
    Origin.MEMORY: "the memory's English (an earlier run, same settings)",
    Origin.APPROVED: "approved by an editor",
}

_HOW_LABELS = {
    How.MODEL: "the model wrote it",
    How.HYPOTHESIS: "a beam alternative with the term was chosen",
    How.CONSTRAINED: "placed by the constrained decoding (strict mode)",
    How.FORCED: "forced at its position (strict mode's fall-back)",
    How.REPLACED: "placed into the finished English (strict mode's last resort)",
    How.APPROVED: "in the editor's approved English",
    How.INSIDE_WORD: "only inside a longer word",
    How.MISSED: "missing",
}


def origin_label(origin: str) -> str:
    """The label of ``origin``; a value that is no :class:`Origin` shows as it is."""
    try:
        return Origin(origin).label
    except ValueError:
        return origin


def how_label(how: str | None) -> str:
    """How a term reached the published English, in words; ``None`` or an unknown value: what the record says."""
    try:
        return _HOW_LABELS[How(how)] if how is not None else "not recorded"
    except ValueError:
        return how or "not recorded"
