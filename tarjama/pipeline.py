"""From segments to English: what is sent to the model, in what pieces, and what comes back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tarjama.backends import DecodingOptions, ProgressCallback, Translator
from tarjama.documents import Segment
from tarjama.segmentation import is_translatable

# Where a sentence too long for the model may be cut, best first: after a clause mark, then a space.
_CLAUSE_MARKS = "،؛;:,"
_ARABIC_TO_LATIN = str.maketrans(
    {**{chr(0x0660 + d): str(d) for d in range(10)}, **{chr(0x06F0 + d): str(d) for d in range(10)},
     "،": ",", "؛": ";", "؟": "?", "٫": ".", "٬": ",", "٪": "%"}
)

# Segment flags (the run record's ``flags``).
COPIED = "copied"  # no letters (numbers, punctuation): copied, never sent to the model
SPLIT_FOR_LENGTH = "split_for_length"  # too long for the model: translated in pieces, joined back
OUTPUT_TRUNCATED = "output_truncated"  # the model hit its output budget before ending a piece


@dataclass(frozen=True)
class SegmentTranslation:
    """The English of one segment and what happened on the way."""

    segment_id: str
    target: str
    pieces: int
    flags: tuple[str, ...] = ()


def split_for_model(text: str, count_tokens: Callable[[Sequence[str]], list[int]], max_tokens: int
                    ) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_tokens`` tokens; joined by spaces they give it back."""
    if count_tokens([text])[0] <= max_tokens:
        return [text]
    cut = _best_cut(text)
    left, right = text[:cut].rstrip(), text[cut:].lstrip()
    if not left or not right:
        # One unbreakable run longer than the limit: cut it in the middle, losing nothing.
        middle = max(1, len(text) // 2)
        left, right = text[:middle], text[middle:]
    return split_for_model(left, count_tokens, max_tokens) + split_for_model(right, count_tokens, max_tokens)


def _best_cut(text: str) -> int:
    """The split point nearest the middle: after a clause mark if there is one, else at a space."""
    middle = len(text) / 2
    for candidates in (
        [i + 1 for i, ch in enumerate(text[:-1]) if ch in _CLAUSE_MARKS and text[i + 1].isspace()],
        [i for i, ch in enumerate(text) if ch.isspace()],
    ):
        if candidates:
            return min(candidates, key=lambda i: abs(i - middle))
    return 0


def copy_untranslatable(text: str) -> str:
    """English form of a segment without letters: Western digits and Latin punctuation."""
    return text.translate(_ARABIC_TO_LATIN)


@dataclass(frozen=True)
class TranslationPlan:
    """What goes to the model: each translatable segment's pieces, in reading order."""

    segments: tuple[Segment, ...]
    pieces_of: dict[str, tuple[str, ...]]

    @property
    def units(self) -> list[tuple[str, str]]:
        """``(segment id, piece)`` pairs, the model's inputs."""
        return [(segment_id, piece) for segment_id, pieces in self.pieces_of.items() for piece in pieces]


def plan_translation(segments: Sequence[Segment], translator: Translator, options: DecodingOptions
                     ) -> TranslationPlan:
    """Cut long segments into pieces the model can take; leave letterless segments out."""
    max_tokens = min(options.max_source_tokens, translator.max_source_tokens)
    return TranslationPlan(
        segments=tuple(segments),
        pieces_of={s.id: tuple(split_for_model(s.text, translator.count_tokens, max_tokens))
                   for s in segments if is_translatable(s.text)},
    )


def run_translation(plan: TranslationPlan, translator: Translator, options: DecodingOptions,
                    progress: ProgressCallback | None = None) -> list[SegmentTranslation]:
    """Translate the plan's pieces (``progress`` counts pieces) and join them back per segment."""
    units = plan.units
    translated = translator.translate([piece for _, piece in units], options, progress)
    english: dict[str, list[str]] = {}
    truncated: set[str] = set()
    for (segment_id, _), result in zip(units, translated, strict=True):
        english.setdefault(segment_id, []).append(result.text)
        if result.truncated:
            truncated.add(segment_id)
    results = []
    for segment in plan.segments:
        pieces = plan.pieces_of.get(segment.id)
        if pieces is None:
            results.append(SegmentTranslation(segment.id, copy_untranslatable(segment.text), 0, (COPIED,)))
            continue
        flags = [SPLIT_FOR_LENGTH] if len(pieces) > 1 else []
        if segment.id in truncated:
            flags.append(OUTPUT_TRUNCATED)
        results.append(SegmentTranslation(segment.id, " ".join(english[segment.id]).strip(), len(pieces),
                                          tuple(flags)))
    return results


def translate_segments(segments: Sequence[Segment], translator: Translator, options: DecodingOptions,
                       progress: ProgressCallback | None = None) -> list[SegmentTranslation]:
    """Translate every segment, in order; long ones in pieces, letterless ones copied."""
    return run_translation(plan_translation(segments, translator, options), translator, options, progress)
