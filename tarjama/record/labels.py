"""The run record's vocabulary: segment flags, a term's ``how`` and where the English came from, with labels."""

from __future__ import annotations

FLAG_LABELS = {
    "term_missed": "glossary term missing",
    "term_forced": "glossary term forced into the decoding: check the sentence",
    "term_replaced": "glossary term placed after translation: check where it went",
    "term_inside_word": "glossary term only inside a longer word (as ISIS in crisis)",
    "split_for_length": "translated in pieces (long sentence)",
    "output_truncated": "output may be cut short",
    "copied": "copied (no words to translate)",
    "empty_output": "no English came out",
    "arabic_in_english": "Arabic left in the English",
    "repetition": "repeated words: the model may be looping",
    "number_mismatch": "numbers differ from the Arabic",
    "length_ratio": "unusually long or short English",
    "approved": "approved by an editor",
    "approval_set_aside": "the editor's approved English lacks a glossary term: translated again (--strict-terms)",
}
