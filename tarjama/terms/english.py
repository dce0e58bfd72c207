"""The English-side term test: is a glossary target in a translation, and is it there as a word.

``target_in_translation`` is the contract's ``hit`` (a case-insensitive substring); every decision
(which hypothesis, what to force, whether an editor's English has the term) asks :func:`term_in_words`.
"""

from __future__ import annotations

import re


def target_in_translation(target: str, translation: str) -> bool:
    """The contract's hit test: the English target occurs, case-insensitively, in the translation."""
    return target.lower() in translation.lower()


def target_pattern(target: str) -> re.Pattern[str]:
    """The target as a word of the English: not inside a longer word, but with a plural or possessive."""
    return re.compile(rf"(?<!\w){re.escape(target)}(?=(?:e?s|['’]s?)?(?!\w))", re.IGNORECASE)


def term_in_words(target: str, translation: str) -> bool:
    """Whether the target is in the translation as a word ("ISIS" is not in "crisis"; "Tajiks" has "Tajik")."""
    return target_in_translation(target, translation) and bool(target_pattern(target).search(translation))
