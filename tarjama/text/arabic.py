"""Arabic-script text folding that keeps a map back to the original offsets.

Matching (glossary terms, boilerplate markers) must see through what writers vary
(short vowels, tatweel, alef forms, Persian yeh and keheh, invisible bidi marks) while every reported
offset still points into the untouched source text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# Bidi controls, zero-width characters, BOM and soft hyphen: never visible, never part of a word.
INVISIBLE = frozenset(
    "\u00ad\u061c\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064"
    "\u2066\u2067\u2068\u2069\ufeff"
)

TATWEEL = "\u0640"
# Harakat, tanween, shadda, sukun, Quranic marks and the superscript alef.
_DIACRITICS = frozenset(
    [chr(c) for c in range(0x064B, 0x0660)] + ["\u0670"] + [chr(c) for c in range(0x06D6, 0x06EE)]
)
_MARKS = _DIACRITICS | {TATWEEL}
_DROP = INVISIBLE | _MARKS
_DROP_PATTERN = re.compile("[" + "".join(sorted(_DROP)) + "]")
_FOLD = str.maketrans(
    {
        "\u0623": "\u0627",  # أ
        "\u0625": "\u0627",  # إ
        "\u0622": "\u0627",  # آ
        "\u0671": "\u0627",  # ٱ
        "\u0649": "\u064a",  # ى → ي
        # Persian keyboards type Farsi yeh and keheh for Arabic yeh and kaf; one letter for one keeps offsets.
        "\u06cc": "\u064a",  # ی → ي
        "\u06a9": "\u0643",  # ک → ك
        **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # Eastern Arabic-Indic digits
    }
)


@dataclass(frozen=True)
class FoldedText:
    """Folded text plus, for each of its characters, the index it came from."""

    text: str
    origin: Sequence[int]
    original: str
    offset: int = 0

    def span_in_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a ``[start, end)`` span of the folded text back, with the marks on its last letter."""
        original_end = self.origin[end - 1] + 1 - self.offset
        while original_end < len(self.original) and self.original[original_end] in _MARKS:
            original_end += 1
        return self.origin[start], original_end + self.offset


def fold(text: str) -> str:
    """Fold Arabic orthographic variation away (see module doc); Latin text is untouched."""
    return "".join(ch for ch in text if ch not in _DROP).translate(_FOLD)


def fold_with_map(text: str, offset: int = 0) -> FoldedText:
    """Like :func:`fold`, remembering where each kept character was (plus ``offset``)."""
    if not _DROP_PATTERN.search(text):  # the common case: nothing to drop, offsets map one to one
        return FoldedText(text=text.translate(_FOLD), origin=range(offset, offset + len(text)), original=text,
                          offset=offset)
    return FoldedText(
        text=_DROP_PATTERN.sub("", text).translate(_FOLD),
        origin=tuple(i + offset for i, ch in enumerate(text) if ch not in _DROP),
        original=text,
        offset=offset,
    )


def is_invisible_or_space(ch: str) -> bool:
    """True for whitespace and characters that render as nothing."""
    return ch.isspace() or ch in INVISIBLE


def has_arabic_letters(text: str) -> bool:
    """True when the text contains at least one Arabic-script letter."""
    return any(
        ("\u0600" <= ch <= "\u06ff" or "\u0750" <= ch <= "\u077f" or "\u08a0" <= ch <= "\u08ff"
         or "\ufb50" <= ch <= "\ufdff" or "\ufe70" <= ch <= "\ufeff")
        and ch.isalpha()
        for ch in text
    )
