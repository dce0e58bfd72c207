"""From segments to English: what is sent to the model, in what pieces, and what comes back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tarjama.record.labels import Flag, Origin
from tarjama.terms.english import term_in_words
from tarjama.terms.matching import TermMatch
from tarjama.text.articles import Segment
from tarjama.text.segmentation import is_translatable
from tarjama.timings import Stage, timed, timed_as
from tarjama.translate.enforcement import (
    TermOutcome,
    TermSource,
    choose_hypothesis,
    settle_terms,
    term_flags,
)
from tarjama.translate.types import (
    DEFAULT_BATCHING,
    BatchingOptions,
    DecodingOptions,
    Pass,
    Progress,
    TermConstraint,
    TermSearch,
    Translator,
)

# Where a sentence too long for the model may be cut, best first: after a clause mark, then a space.
_CLAUSE_MARKS = "،؛;:,"
_ARABIC_TO_LATIN = str.maketrans(
    {**{chr(0x0660 + d): str(d) for d in range(10)}, **{chr(0x06F0 + d): str(d) for d in range(10)},
     "،": ",", "؛": ";", "؟": "?", "٫": ".", "٬": ",", "٪": "%"}
)


@dataclass(frozen=True)
class SetAsideApproval:
    """Strict mode: the editor's approved English of a sentence, not used because it lacks glossary terms."""

    target: str
    missing_terms: tuple[str, ...]

    def to_json(self) -> dict:
        """The run record's ``set_aside_approval`` object of a segment."""
        return {"target": self.target, "missing_terms": list(self.missing_terms)}


@dataclass(frozen=True)
class SegmentTranslation:
    """The English of one segment, what happened on the way, and how its glossary terms fared."""

    segment_id: str
    target: str
    pieces: int
    flags: tuple[Flag, ...] = ()
    terms: tuple[TermOutcome, ...] = ()
    origin: Origin = Origin.MODEL
    set_aside: SetAsideApproval | None = None  # strict mode: the approval this English replaced


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
class Piece:
    """What the model translates: a segment, or a part of a long one; ``start`` is its offset in the file."""

    segment_id: str
    text: str
    start: int


@dataclass(frozen=True)
class TranslationPlan:
    """What goes to the model: each translatable segment's pieces, in reading order."""

    segments: tuple[Segment, ...]
    pieces_of: dict[str, tuple[Piece, ...]]

    @property
    def units(self) -> list[Piece]:
        """The model's inputs, in reading order."""
        return [piece for pieces in self.pieces_of.values() for piece in pieces]


def _pieces(segment: Segment, texts: list[str]) -> tuple[Piece, ...]:
    pieces, position = [], 0
    for text in texts:
        start = segment.text.index(text, position)
        pieces.append(Piece(segment.id, text, segment.start + start))
        position = start + len(text)
    return tuple(pieces)


def plan_translation(segments: Sequence[Segment], translator: Translator, options: DecodingOptions
                     ) -> TranslationPlan:
    """Cut long segments into pieces the model can take; leave letterless segments out."""
    translatable = [s for s in segments if is_translatable(s.text)]
    if not translatable:  # nothing for the model: its limits are not asked for (a lazy model stays unloaded)
        return TranslationPlan(segments=tuple(segments), pieces_of={})
    max_tokens = min(options.max_source_tokens, translator.max_source_tokens)
    return TranslationPlan(
        segments=tuple(segments),
        pieces_of={s.id: _pieces(s, split_for_model(s.text, translator.count_tokens, max_tokens))
                   for s in translatable},
    )


@dataclass
class _PieceResult:
    text: str
    truncated: bool
    tokens: int
    found_by: dict[TermMatch, TermSource | None]  # None: the piece's English lacks the term (as a word)
    unspellable: frozenset[str] = frozenset()  # targets the backend cannot write: no re-decoding brings them


def _terms_by_piece(plan: TranslationPlan, matches: Sequence[TermMatch]) -> dict[Piece, list[TermMatch]]:
    """Each piece's glossary terms: a term belongs to the piece where it starts."""
    by_piece: dict[Piece, list[TermMatch]] = {}
    for match in matches:
        pieces = plan.pieces_of.get(match.segment)
        if not pieces:
            continue
        piece = next(p for p in reversed(pieces) if p.start <= match.start)
        by_piece.setdefault(piece, []).append(match)
    return by_piece


def _first_pass(units: list[Piece], terms: dict[Piece, list[TermMatch]], translator: Translator,
                options: DecodingOptions, progress: Progress | None, batching: BatchingOptions,
                *, carry_terms: bool = False) -> list[_PieceResult]:
    """Translate every piece; where it has terms, take the beam alternative with the most hits.

    ``carry_terms`` (strict mode's constraint-aware decoding): every piece's terms go to the backend as
    constraints of this very pass, so that the model places them as it decodes.
    """
    n_best = options.beam_size if terms and options.term_rerank_margin > 0 else 1
    if progress is not None:
        progress.start_pass(Pass.TRANSLATE_CHOOSING if n_best > 1 else Pass.TRANSLATE, len(units))
    constraints = [[TermConstraint(m.target, 0, m.start - piece.start, m.end - piece.start)
                    for m in sorted(terms.get(piece, []), key=lambda m: m.start)] for piece in units] \
        if carry_terms else None
    with timed(Stage.TRANSLATE):  # the engine's first pass; the rest of run_translation enforces terms
        translated = translator.translate([piece.text for piece in units], options,
                                          progress.advance if progress is not None else None, n_best=n_best,
                                          constraints=constraints, batching=batching)
    results = []
    for piece, translation in zip(units, translated, strict=True):
        matches = terms.get(piece, [])
        choice = choose_hypothesis(translation, [m.target for m in matches], options.term_rerank_margin)
        found_by: dict[TermMatch, TermSource | None] = {}
        for match in matches:
            if not term_in_words(match.target, choice.text):
                found_by[match] = None  # inside a longer word counts as missing: strict mode forces it
            elif match.target in translation.carried and not choice.alternative:
                found_by[match] = TermSource.SEARCH
            elif match.target in translation.placed and not choice.alternative:
                found_by[match] = TermSource.PLACEMENT  # the backend's own last resort
            elif term_in_words(match.target, translation.text):
                found_by[match] = TermSource.MODEL
            else:
                found_by[match] = TermSource.ALTERNATIVE
        results.append(_PieceResult(choice.text, choice.truncated, translation.tokens, found_by,
                                    translation.unspellable))
    return results


def _force_missing(units: list[Piece], terms: dict[Piece, list[TermMatch]], results: list[_PieceResult],
                   translator: Translator, options: DecodingOptions, batching: BatchingOptions,
                   progress: Progress | None = None) -> None:
    """Strict mode's fall-back: decode again, forcing the terms at their places, every piece still lacking one."""
    redo = [i for i in range(len(units))
            if any(source is None and match.target not in results[i].unspellable
                   for match, source in results[i].found_by.items())]
    if not redo:
        return
    if progress is not None:  # a pass found to be needed: the count grows by its inputs
        progress.start_pass(Pass.FORCE_TERMS, len(redo))
    constraints = []
    for i in redo:
        piece, expected_tokens = units[i], max(1, results[i].tokens)
        # Every term of the piece is constrained, so that forcing one cannot push another out.
        constraints.append([
            TermConstraint(m.target, int(expected_tokens * (m.start - piece.start) / len(piece.text)))
            for m in sorted(terms[piece], key=lambda m: m.start)])
    positional = replace(options, term_search=TermSearch.POSITIONAL)
    forced = translator.translate([units[i].text for i in redo], positional,
                                  progress.advance if progress is not None else None, constraints=constraints,
                                  batching=batching)
    for i, translation in zip(redo, forced, strict=True):
        found_by: dict[TermMatch, TermSource | None] = {}
        for match in terms[units[i]]:
            if not term_in_words(match.target, translation.text):
                found_by[match] = None
            elif match.target in translation.forced:
                found_by[match] = TermSource.FORCING
            else:
                found_by[match] = TermSource.MODEL
        results[i] = _PieceResult(translation.text, translation.truncated, translation.tokens, found_by)


@timed_as(Stage.ENFORCE)  # less the first pass's engine call (translate) and a model's lazy load (model_load)
def run_translation(plan: TranslationPlan, translator: Translator, options: DecodingOptions,
                    progress: Progress | None = None, matches: Sequence[TermMatch] = (),
                    *, strict_terms: bool = False, batching: BatchingOptions = DEFAULT_BATCHING
                    ) -> list[SegmentTranslation]:
    """Translate the plan's pieces, join them back per segment, settle terms.

    ``progress`` hears each model pass (the first, then strict mode's re-decoding) and counts its pieces.
    """
    units = plan.units
    terms = _terms_by_piece(plan, matches)
    results = _first_pass(units, terms, translator, options, progress, batching,
                          carry_terms=strict_terms and options.term_search is TermSearch.CONSTRAINED)
    if strict_terms:
        _force_missing(units, terms, results, translator, options, batching, progress)
    by_segment: dict[str, list[_PieceResult]] = {}
    for piece, result in zip(units, results, strict=True):
        by_segment.setdefault(piece.segment_id, []).append(result)
    matches_in: dict[str, list[TermMatch]] = {}
    for match in matches:
        matches_in.setdefault(match.segment, []).append(match)
    translations = []
    for segment in plan.segments:
        pieces = by_segment.get(segment.id)
        origin = Origin.MODEL
        found_by: dict[TermMatch, TermSource | None] = {}
        if pieces is None:
            english, flags, origin = copy_untranslatable(segment.text), [Flag.COPIED], Origin.COPIED
        else:
            english = " ".join(p.text for p in pieces).strip()
            flags = [Flag.SPLIT_FOR_LENGTH] if len(pieces) > 1 else []
            if any(p.truncated for p in pieces):
                flags.append(Flag.OUTPUT_TRUNCATED)
            found_by = {match: source for p in pieces for match, source in p.found_by.items()}
        english, outcomes = settle_terms(english, matches_in.get(segment.id, []), strict=strict_terms,
                                         found_in_pieces=found_by, segment_start=segment.start,
                                         segment_length=len(segment.text))
        translations.append(SegmentTranslation(segment.id, english, len(pieces or ()),
                                               tuple(flags + term_flags(outcomes)), tuple(outcomes), origin))
    return translations


def translate_segments(segments: Sequence[Segment], translator: Translator, options: DecodingOptions,
                       progress: Progress | None = None, matches: Sequence[TermMatch] = (),
                       *, strict_terms: bool = False) -> list[SegmentTranslation]:
    """Translate every segment, in order; long ones in pieces, letterless ones copied."""
    return run_translation(plan_translation(segments, translator, options), translator, options, progress,
                           matches, strict_terms=strict_terms)


def beam_alternatives(segment: Segment, translator: Translator, options: DecodingOptions) -> list[str]:
    """The beam's n-best English of one segment, best first, without repeats (the first pass's decoding).

    A segment the model takes in pieces gets its pieces' best English joined (n-best lists of pieces do not
    combine into whole sentences); a letterless one its copy.
    """
    plan = plan_translation([segment], translator, options)
    pieces = plan.pieces_of.get(segment.id)
    if not pieces:
        return [copy_untranslatable(segment.text)]
    translated = translator.translate([piece.text for piece in pieces], options, n_best=options.beam_size)
    if len(pieces) > 1:
        return [" ".join(t.text for t in translated).strip()]
    (best,) = translated
    return list(dict.fromkeys(text.strip() for text in (best.text, *(a.text for a in best.alternatives))))
