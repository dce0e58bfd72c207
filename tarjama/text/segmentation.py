"""Sentence segmentation of Arabic news paragraphs, by offsets into the source text.

The splitter never rewrites text: it returns ``(start, end)`` spans, so every
segment is ``source_text[start:end]``. Language data (abbreviations, boilerplate
markers) lives in small files under ``tarjama/text/data``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

from tarjama.text.arabic import INVISIBLE, fold, has_arabic_letters, is_invisible_or_space

SENTENCE_END = frozenset(".!?؟۔‼⁇⁈⁉")
# Closing marks that stay with the sentence they end: ."  ?»  !)
CLOSERS = frozenset("\"'”’»›)]}")
PAIRED_QUOTES = {"“": "”", "«": "»", "‹": "›", "(": ")", "[": "]", "{": "}"}
_OPENER_OF = {closer: opener for opener, closer in PAIRED_QUOTES.items()}
# Typed right to left, curly quotes often come out reversed, ”…“; „…“ is the low-high form. Both are
# closed by a “, which otherwise opens a quotation.
_OPENED_BY_LEFT_QUOTE = frozenset("”„")
_QUOTE_MARKS = re.compile("[" + re.escape('"' + "".join(PAIRED_QUOTES) + "".join(_OPENER_OF) + "„") + "]")
# Quotes and brackets a word may start with: the word before a full stop is what follows them.
_WORD_OPENERS = "\"'“”„«‹([{"

# How far back to look for the word before a full stop; longer "words" are no abbreviation.
_LONGEST_WORD = 40
_DOTTED_INITIALS = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
# The same on folded Arabic: أ.د (professor-doctor), أ.ف.ب (AFP), م.ت.ف (the PLO).
_ARABIC_DOTTED_INITIALS = re.compile(r"(?:[\u0621-\u064a]\.)+[\u0621-\u064a]")
# A paragraph after a bare see-also marker is its headline only if it is as short as a headline.
_LONGEST_HEADLINE_WORDS = 30


@dataclass(frozen=True)
class SegmentationRules:
    """Language data the splitter needs."""

    abbreviations: frozenset[str]
    related_markers: tuple[str, ...]
    related_bullets: str = ""  # may come before a marker: "- اقرأ أيضاً: …"
    related_separators: frozenset[str] = frozenset(":-–—|")  # may follow it: "شاهد أيضاً >> …"

    @classmethod
    def load(cls) -> SegmentationRules:
        """Read the rules shipped in ``tarjama/text/data``."""
        return _default_rules()


def _data_lines(name: str) -> list[str]:
    text = resources.files("tarjama.text.data").joinpath(name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def _default_rules() -> SegmentationRules:
    punctuation = {name: "".join(fold(chars).split()) for name, _, chars in
                   (line.partition(" ") for line in _data_lines("related-punctuation.txt"))}
    return SegmentationRules(
        abbreviations=frozenset(fold(word) for word in _data_lines("abbreviations.txt")),
        related_markers=tuple(fold(marker).casefold() for marker in _data_lines("related-markers.ar.txt")),
        related_bullets=punctuation["before"],
        related_separators=frozenset(punctuation["after"]),
    )


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` past leading and trailing whitespace and invisible marks."""
    while start < end and is_invisible_or_space(text[start]):
        start += 1
    while end > start and is_invisible_or_space(text[end - 1]):
        end -= 1
    return start, end


def split_sentences(text: str, start: int = 0, end: int | None = None,
                    rules: SegmentationRules | None = None) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` (one paragraph) into sentence spans."""
    rules = rules or _default_rules()
    end = len(text) if end is None else end
    start, end = trim_span(text, start, end)
    if start == end:
        return []
    spans = []
    sentence_start = start
    for boundary in _boundaries(text, start, end, rules):
        span = trim_span(text, sentence_start, boundary)
        if span[0] < span[1]:
            spans.append(span)
        sentence_start = boundary
    last = trim_span(text, sentence_start, end)
    if last[0] < last[1]:
        spans.append(last)
    return spans


def _boundaries(text: str, start: int, end: int, rules: SegmentationRules) -> Iterator[int]:
    """Yield the offsets where a new sentence starts."""
    quoted = _quotation_spans(text, start, end)
    protected_until = -1  # the closing mark of the outermost quotation or bracket we are inside
    i = start
    while i < end:
        ch = text[i]
        if i in quoted and i > protected_until:
            protected_until = quoted[i]
        elif i == protected_until and _quote_ends_sentence(text, start, i, end, rules):
            yield i + 1  # "…انتهى الأمر." ثم: the quoted sentence ends the sentence around it
        elif ch in SENTENCE_END and i > protected_until:
            run_end = i
            while run_end < end and text[run_end] in SENTENCE_END:
                run_end += 1
            after = run_end
            while after < end and (text[after] in CLOSERS and text[after] != '"'):
                after += 1
            if _ends_sentence(text, start, i, run_end, after, end, rules):
                yield after
            i = after
            continue
        i += 1


def _quotation_spans(text: str, start: int, end: int) -> dict[int, int]:
    """Map each quotation mark or bracket that opens a closed pair to the offset of its closer.

    A mark left open (a smiley's "(", a quote never closed, an odd number of straight quotes)
    opens nothing, so it cannot swallow the rest of the paragraph.
    """
    spans: dict[int, int] = {}
    stack: list[int] = []
    straight: list[int] = []
    for match in _QUOTE_MARKS.finditer(text, start, end):  # visit the marks only, not every character
        i, ch = match.start(), match.group()
        top = text[stack[-1]] if stack else ""
        if ch == '"':
            straight.append(i)
        elif ch == "“" and top in _OPENED_BY_LEFT_QUOTE:
            spans[stack.pop()] = i  # ”…“ or „…“
        elif ch == "”" and top in ("“", "„"):
            spans[stack.pop()] = i
        elif ch in PAIRED_QUOTES or ch in _OPENED_BY_LEFT_QUOTE:
            stack.append(i)  # a ” that closes nothing opens a reversed ”…“, if a “ follows
        else:
            opener = _OPENER_OF.get(ch)
            # A stray ” or „ (an inch mark, a typo) only tentatively opened a quotation: it does not
            # keep an enclosing «…» or (…) from closing.
            depth = len(stack)
            while depth and text[stack[depth - 1]] != opener and text[stack[depth - 1]] in _OPENED_BY_LEFT_QUOTE:
                depth -= 1
            if depth and text[stack[depth - 1]] == opener:
                del stack[depth:]
                spans[stack.pop()] = i
    if len(straight) % 2 == 0:
        spans.update(zip(straight[::2], straight[1::2], strict=True))
    return spans


def _quote_ends_sentence(text: str, paragraph_start: int, closer: int, end: int,
                         rules: SegmentationRules) -> bool:
    """A closing quote or bracket right after a terminator, followed by a space and more text.

    A lone full stop after an abbreviation, as in "(D.)" or «أ.ف.ب.», is the abbreviation's, not a
    sentence's.
    """
    before = closer - 1
    while before >= paragraph_start and text[before] in INVISIBLE:
        before -= 1
    after = closer + 1
    if not (before >= paragraph_start and text[before] in SENTENCE_END and after < end
            and text[after].isspace() and _next_visible(text, after, end)):
        return False
    if text[before] != "." or text[before - 1] in SENTENCE_END:
        return True
    token = _word_before(text, paragraph_start, before)
    return not (token and _is_abbreviation(token, rules))


def _ends_sentence(text: str, paragraph_start: int, first: int, run_end: int, after: int,
                   end: int, rules: SegmentationRules) -> bool:
    """Decide whether the terminator run ``text[first:run_end]`` closes a sentence."""
    if after >= end:
        return False  # the paragraph's end closes it anyway
    if not is_invisible_or_space(text[after]):
        # 3.5, cnn.com, U.S.A, 29.11.2026: no space, no boundary; but "شخصا.وأصيب" is a typo for two.
        return _glued_arabic_sentences(text, paragraph_start, first, after, end)
    run = text[first:run_end]
    if set(run) == {"."}:
        if len(run) > 1:
            return False  # "..." is an ellipsis: a pause, as "…" is
    else:
        return True  # ! ? ؟ and runs such as ?!
    window_start = max(paragraph_start, first - _LONGEST_WORD)
    words = text[window_start:first].split()
    if not words:
        return True
    token = words[-1].lstrip(_WORD_OPENERS)
    if _is_abbreviation(token, rules):
        return False
    if token.isdigit() and not text[paragraph_start:first - len(words[-1])].strip():
        return False  # a list number: "1. ..."
    next_char = _next_visible(text, after, end)
    return not (next_char.isalpha() and next_char.islower())  # "etc. and" continues in Latin


def _glued_arabic_sentences(text: str, paragraph_start: int, first: int, after: int, end: int) -> bool:
    """True for a terminator typed between two Arabic words of two letters or more, with no space."""
    before = text[max(paragraph_start, first - _LONGEST_WORD):first].split()
    following = re.match(r"[^\s.!?؟]*", text[after:min(end, after + _LONGEST_WORD)])
    return bool(before and following) and all(
        len(word) >= 2 and has_arabic_letters(word) and all(ch.isalpha() for ch in word)
        for word in (before[-1], following.group()))


def _word_before(text: str, paragraph_start: int, first: int) -> str:
    """The word that ends right before ``text[first]``, without opening quotes or brackets."""
    words = text[max(paragraph_start, first - _LONGEST_WORD):first].split()
    return words[-1].lstrip(_WORD_OPENERS) if words else ""


def _is_abbreviation(token: str, rules: SegmentationRules) -> bool:
    folded = fold(token)
    if folded in rules.abbreviations:
        return True
    if len(folded) == 1 and folded.isalpha():
        return True  # an initial: د. م. J.
    # Single-letter chains written with dots, e.g. "U.S" in "U.S." or "e.g", and أ.د in أ.د.
    return _DOTTED_INITIALS.fullmatch(token) is not None or _ARABIC_DOTTED_INITIALS.fullmatch(folded) is not None


def _next_visible(text: str, index: int, end: int) -> str:
    while index < end and is_invisible_or_space(text[index]):
        index += 1
    return text[index] if index < end else ""


def paragraph_kind(text: str, index: int, rules: SegmentationRules | None = None) -> str:
    """``title`` for the first paragraph, ``related`` for boilerplate teasers, else ``body``.

    The paragraph alone: the headline under a bare marker needs :func:`paragraph_kinds`.
    """
    if index == 0:
        return "title"
    return "body" if _teaser_headline(text, rules or _default_rules()) is None else "related"


def paragraph_kinds(paragraphs: Iterable[str], rules: SegmentationRules | None = None) -> list[str]:
    """Each paragraph's kind, as :func:`paragraph_kind` gives it, but seeing the paragraph before.

    A bare see-also marker ("اقرأ أيضاً:" alone on its line) makes the headlines under it related
    too: each following paragraph that reads as a headline (short, with no full stop at its end), up
    to the first that does not. Article text ends with a full stop; a list of teasers does not.
    """
    rules = rules or _default_rules()
    kinds: list[str] = []
    under_marker = False
    for index, text in enumerate(paragraphs):
        headline = None if index == 0 else _teaser_headline(text, rules)
        if index == 0:
            kinds.append("title")
        elif headline is not None or (under_marker and _reads_as_headline(text)):
            kinds.append("related")
        else:
            kinds.append("body")
        under_marker = headline == "" or (under_marker and kinds[-1] == "related")
    return kinds


def _reads_as_headline(text: str) -> bool:
    stripped = text.strip()
    return (len(stripped.split()) <= _LONGEST_HEADLINE_WORDS
            and not stripped.rstrip("\"'”’»›)]}").endswith(tuple(SENTENCE_END)))


def _teaser_headline(text: str, rules: SegmentationRules) -> str | None:
    """What follows the see-also marker that opens ``text`` ("" for a bare marker), or None without one."""
    folded = fold(text).lstrip(rules.related_bullets + " \t\u00a0").rstrip().casefold()
    for marker in rules.related_markers:
        if folded.startswith(marker):
            rest = folded[len(marker):].lstrip()
            if not rest or rest[0] in rules.related_separators:
                return rest.lstrip("".join(rules.related_separators) + " \t")
    return None


def is_translatable(text: str) -> bool:
    """False for segments with no letters at all (punctuation, bare numbers): no model call."""
    return any(ch.isalpha() for ch in text)


__all__ = [
    "SegmentationRules",
    "has_arabic_letters",
    "is_translatable",
    "paragraph_kind",
    "paragraph_kinds",
    "split_sentences",
    "trim_span",
]
