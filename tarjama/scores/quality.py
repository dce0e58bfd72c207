"""Quality flags without a reference: signs that a sentence's English needs an editor's eye.

Each check is a small function of a source sentence and its English; :func:`quality_flags` runs
them, with the article's own length ratio as the norm. Flags are the run record's ``flags``.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence

from tarjama.record.labels import Flag
from tarjama.text.arabic import has_arabic_letters

# The quality flags, in the order a segment lists them.
QUALITY_FLAGS = (Flag.EMPTY_OUTPUT, Flag.ARABIC_IN_ENGLISH, Flag.REPETITION, Flag.NUMBER_MISMATCH, Flag.LENGTH_RATIO)

# English characters per Arabic character when the article has too few sentences to set its own norm.
DEFAULT_LENGTH_RATIO = 1.2
LENGTH_RATIO_FACTOR = 2.5  # flagged beyond the norm times or divided by this
_MIN_SOURCE_CHARS = 20  # shorter sentences vary too much to judge by length
_MIN_SENTENCES_FOR_NORM = 5
_WORD_LOOP_REPEATS = {1: 4}  # a single word may be said twice or thrice ("very, very"); phrases 3 times
_PHRASE_LOOP_REPEATS = 3
_MAX_PHRASE_WORDS = 6
# Prose never says the same 7 or more words twice in a row; a model stuck in a loop does.
_CLAUSE_LOOP_REPEATS = 2
_MAX_LOOP_WORDS = 20
_LETTER_LOOP = re.compile(r"([^\W\d_]{2,12}?)\1{4,}")  # "popopopopo", "دولةدولةدولةدولةدولة"; not digits

_DIGITS = str.maketrans({**{chr(0x0660 + d): str(d) for d in range(10)},
                         **{chr(0x06F0 + d): str(d) for d in range(10)}, "٫": "."})
# Digits with separators: Arabic writers use ، and ٬ (and the Latin comma) for thousands or decimals.
_NUMBER = re.compile(r"\d+(?:[.,،٬]\d+)*")
_THOUSANDS_GROUP = re.compile(r"[,،٬](?=\d{3}(?!\d))")
# Number words after the digits scale them, in either language ("20 ألف" = "20 thousand" = "20,000").
# Each must be a whole word ("12 الفقرة", paragraph, is not 12 thousand); Arabic may add tanween and an
# alef ("ألفاً", "مليونا"). Harakat are not \w, so they are consumed before the end-of-word test.
# Arabic plurals count ("3 آلاف"); English ones do not, as "in 2023 millions fled" is no multiplication.
_HARAKAT = "[\u064b-\u0652\u0670]*"
_MULTIPLIERS = tuple(
    (re.compile(rf"\s*(?:{words}){_HARAKAT}(?:ا{_HARAKAT})?(?!\w)", re.IGNORECASE), zeros)
    for words, zeros in (("ألف|آلاف|الف|الاف|thousand", 3),
                         ("مليون|ملايين|million", 6),
                         ("مليار|مليارات|بليون|بلايين|billion", 9)))
# Arabic-script digits and punctuation have no place in English either.
_ARABIC_MARKS = re.compile("[\u0660-\u0669\u06f0-\u06f9\u060c\u061b\u061f\u066a-\u066c]")


def arabic_in_english(english: str) -> bool:
    """Arabic letters, digits or punctuation in the English."""
    return has_arabic_letters(english) or bool(_ARABIC_MARKS.search(english))


def repetition_loop(english: str) -> bool:
    """A span of words repeated back to back (a word 4×, 2-6 words 3×, 7-20 words 2×), or a letter-group loop."""
    # Words are \w+ runs, so punctuation does not hide a loop: "Moscow,Moscow,Moscow,Moscow" is four words.
    words = re.findall(r"\d+(?:[.,]\d+)*|\w+", english.lower())  # "1,000,000,000" is one word, not a loop
    for n in range(1, _MAX_LOOP_WORDS + 1):
        needed = _WORD_LOOP_REPEATS.get(n, _PHRASE_LOOP_REPEATS if n <= _MAX_PHRASE_WORDS else _CLAUSE_LOOP_REPEATS)
        for start in range(len(words) - n * needed + 1):
            phrase = words[start:start + n]
            if all(words[start + k * n:start + (k + 1) * n] == phrase for k in range(1, needed)):
                return True
    return bool(_LETTER_LOOP.search(english))


def numbers(text: str) -> Counter[str]:
    """The numbers written in digits, normalised (Arabic-Indic digits, separators, leading zeros, ألف/thousand…)."""
    text = text.translate(_DIGITS)
    found: Counter[str] = Counter()
    for match in _NUMBER.finditer(text):
        number = _THOUSANDS_GROUP.sub("", match.group())
        number = re.sub(r"[,،٬]", ".", number)  # what is left between digits is a decimal separator
        if number.count(".") > 1:
            continue  # a version, date or phone number: not a quantity to compare
        zeros = next((zeros for pattern, zeros in _MULTIPLIERS if pattern.match(text, match.end())), 0)
        found[_scaled(number, zeros)] += 1
    return found


def _scaled(number: str, zeros: int) -> str:
    """``number`` times 10**zeros in one canonical spelling: "08" is "8", "2.50" is "2.5", "1.5" ×1000 "1500"."""
    whole, _, fraction = number.partition(".")
    whole, fraction = whole + (fraction + "0" * zeros)[:zeros], fraction[zeros:].rstrip("0")
    return str(int(whole)) + ("." + fraction if fraction else "")


# Newsroom English glues short multipliers to the digits: "$100m", "$1.5bn", "30k". "100m" may be
# metres too, so these only add readings for the check below; they never replace the number itself.
_ENGLISH_SHORT_MULTIPLIER = re.compile(r"(\d+(?:[.,]\d+)*)\s?(k|m|mn|bn|b|tn)(?!\w)", re.IGNORECASE)
_SHORT_ZEROS = {"k": 3, "m": 6, "mn": 6, "b": 9, "bn": 9, "tn": 12}


def missing_numbers(source: str, english: str) -> list[str]:
    """The Arabic's numbers the English lacks, normalised, in order (numbers the English adds, as in G20, are fine)."""
    found = numbers(english)
    for match in _ENGLISH_SHORT_MULTIPLIER.finditer(english):
        number = re.sub(r",(?=\d{3}(?!\d))", "", match.group(1)).replace(",", ".")
        if number.count(".") <= 1:
            found[_scaled(number, _SHORT_ZEROS[match.group(2).lower()])] += 1
    return list((numbers(source) - found).elements())


def number_mismatch(source: str, english: str) -> bool:
    """A number of the Arabic is missing from the English (see :func:`missing_numbers`)."""
    return bool(missing_numbers(source, english))


def length_norm(pairs: Sequence[tuple[str, str]]) -> float:
    """The article's typical English/Arabic length ratio (median), or a default for short articles."""
    ratios = [len(e) / len(s) for s, e in pairs if len(s) >= _MIN_SOURCE_CHARS and e.strip()]
    return statistics.median(ratios) if len(ratios) >= _MIN_SENTENCES_FOR_NORM else DEFAULT_LENGTH_RATIO


def length_off(source: str, english: str, norm: float) -> bool:
    """English length far from what the article's norm predicts for this source."""
    if len(source) < _MIN_SOURCE_CHARS or not english.strip():
        return False
    ratio = len(english) / len(source)
    return ratio > norm * LENGTH_RATIO_FACTOR or ratio < norm / LENGTH_RATIO_FACTOR


def quality_flags(source: str, english: str, norm: float) -> list[Flag]:
    """The quality flags of one translated sentence (copied, letterless sentences are not judged)."""
    if not english.strip():
        return [Flag.EMPTY_OUTPUT]
    checks = {Flag.ARABIC_IN_ENGLISH: arabic_in_english(english), Flag.REPETITION: repetition_loop(english),
              Flag.NUMBER_MISMATCH: number_mismatch(source, english),
              Flag.LENGTH_RATIO: length_off(source, english, norm)}
    return [flag for flag in QUALITY_FLAGS if checks.get(flag)]
