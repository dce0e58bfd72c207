"""Attention-aligned term placement: CTranslate2's constraint-aware decoding.

CTranslate2 has no per-step hook, so its decoder cannot carry constraints through the beam. What its API does
offer is each output token's attention over the source (``return_attention``). The model's own rendering of a
name is the run of output words that attend to the name's Arabic; the glossary's English takes that run's place,
so the sentence around it is the one the model chose, with the name where the model put its own, and the
model's rendering is not left beside the glossary's (the duplication that forcing at a guessed position gave).
When no output word attends mostly to the term's Arabic (the model left the name out), the term goes before the
word that attends to it most. Either way it costs no second engine call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tarjama.translate.backends.base import special_piece


@dataclass(frozen=True)
class AlignedTerm:
    """A term to place: its English, its target pieces, and the source pieces of its Arabic.

    ``glued_pieces``: the term's pieces right after a quote mark, with no space before it (the vocabulary's
    own, since some decoders drop a piece they do not know); without them the term keeps its space.
    """

    text: str
    pieces: tuple[str, ...]
    source_positions: tuple[int, ...]
    glued_pieces: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placement:
    """The output's pieces with the terms in: ``aligned`` took the place of the words aligned to their Arabic;
    ``inserted`` had no such words and went before the word attending to them most (a last resort)."""

    pieces: list[str]
    aligned: frozenset[str]
    inserted: frozenset[str]


@dataclass(frozen=True)
class _Word:
    begin: int  # its first piece
    start: int  # its first piece with a letter or digit: leading punctuation (a quote mark) stays when replaced
    end: int  # one past its last piece with a letter or digit: so does trailing punctuation


def place_terms(pieces: Sequence[str], attention: Sequence[Sequence[float]], terms: Sequence[AlignedTerm],
                *, present: Sequence[str] = ()) -> Placement:
    """``pieces`` (SentencePiece, ``▁`` starts a word) with each of ``terms`` put where its Arabic aligns.

    ``attention[i]`` is piece ``i``'s attention over the source pieces. ``present``: terms the output already
    holds, whose words are not replaced. A term without source positions is left out, for the caller's fall-back.
    """
    words = _words(pieces)
    if len(attention) < len(pieces):
        return Placement(list(pieces), frozenset(), frozenset())
    if not words:  # nothing but special pieces (a random model's): the terms are the English, in source order
        placed = sorted((t for t in terms if t.source_positions), key=lambda t: min(t.source_positions))
        return Placement([piece for term in placed for piece in term.pieces] + list(pieces), frozenset(),
                         frozenset(t.text for t in placed))
    aligned = [max(range(len(row)), key=row.__getitem__) if len(row) else -1 for row in attention[:len(pieces)]]
    protected = {w for w, word in enumerate(words) for text in present
                 if _spells(pieces[word.start:word.end], text)}
    edits: list[tuple[int, int, AlignedTerm]] = []  # (first word, one past the last word, term): replace
    for term in terms:
        if not term.source_positions:
            continue
        span = _aligned_span(words, aligned, attention, set(term.source_positions), protected)
        if span is None:
            continue
        protected.update(range(*span) if span[1] > span[0] else (span[0],))
        edits.append((*span, term))
    out = list(pieces)
    for first, last, term in sorted(edits, key=lambda edit: edit[0], reverse=True):
        if last > first:  # replace the words' letters, keep their trailing punctuation
            word = words[first]
            glued = word.start > word.begin and term.glued_pieces  # after a quote mark: no space
            out[word.start:words[last - 1].end] = term.glued_pieces if glued else term.pieces
        else:  # insert before the word
            at = words[first].begin if first < len(words) else len(out)
            # The output's first word may have no space of its own: one goes between it and the term.
            spacer = ["▁"] if at < len(out) and not out[at].startswith("▁") else []
            out[at:at] = [*term.pieces, *spacer]
    return Placement(out, frozenset(term.text for first, last, term in edits if last > first),
                     frozenset(term.text for first, last, term in edits if last == first))


def _words(pieces: Sequence[str]) -> list[_Word]:
    """The output's words: a piece starting with ``▁`` begins one; special pieces (``</s>``) belong to none."""
    # Special pieces are dropped when decoded, so a piece after one still glues onto the word before; the first
    # piece with text starts a word even without its ``▁``.
    text_pieces = [i for i, piece in enumerate(pieces) if not special_piece(piece)]
    starts = [i for i in text_pieces if pieces[i].startswith("▁") or i == text_pieces[0]]
    words = []
    for n, start in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else len(pieces)
        lettered = [i for i in range(start, stop)
                    if not special_piece(pieces[i]) and any(c.isalnum() for c in pieces[i])]
        if lettered:
            words.append(_Word(start, lettered[0], lettered[-1] + 1))
    return words


def _spells(pieces: Sequence[str], text: str) -> bool:
    word = "".join(pieces).replace("▁", " ").strip().casefold()
    return bool(word) and word in text.casefold().split()


def _aligned_span(words: list[_Word], aligned: list[int], attention: Sequence[Sequence[float]], source: set[int],
                  protected: set[int]) -> tuple[int, int] | None:
    """The words to replace (first, one past last), or ``(w, w)`` to insert before word ``w``."""
    # A word is the term's when its first lettered piece attends most to the term's Arabic: a word's later pieces
    # are spelt from the first, and their attention wanders (measured on the toy's lab set, docs/terminology.md).
    hits = [w for w, word in enumerate(words) if w not in protected and aligned[word.start] in source]
    if hits:
        # One run of words: the longest run of neighbouring hits (a name is written in one place).
        runs: list[list[int]] = []
        for w in hits:
            if runs and w == runs[-1][-1] + 1:
                runs[-1].append(w)
            else:
                runs.append([w])
        run = max(runs, key=lambda r: (len(r), sum(_mass(attention, words[w], source) for w in r)))
        return run[0], run[-1] + 1
    free = [w for w in range(len(words)) if w not in protected]
    if not free:
        return len(words), len(words)
    best = max(free, key=lambda w: _mass(attention, words[w], source))
    return best, best


def _mass(attention: Sequence[Sequence[float]], word: _Word, source: set[int]) -> float:
    """The word's strongest attention on the term's Arabic."""
    return max(sum(attention[i][s] for s in source if s < len(attention[i])) for i in range(word.start, word.end))

