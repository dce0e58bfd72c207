"""The model at hand in the studio: a segment's alternatives from the model given to ``tarjama studio``.

The model loads on the first request for alternatives, through the library's one-model-per-process cache
(:class:`~tarjama.translate.backends.RunTranslator`), and stays loaded for the studio's life. The English comes
from the pipeline's own functions, so an alternative is what a run with these settings could publish: the beam's
n-best (:func:`~tarjama.translate.pipeline.beam_alternatives`) and the strict-terms version
(:func:`~tarjama.translate.pipeline.translate_segments` with the segment's glossary matches, ``strict_terms``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from tarjama.record.reader import SegmentView
from tarjama.terms.english import target_in_translation
from tarjama.terms.glossary import load_glossary
from tarjama.terms.matching import TermMatch, TermMatcher, find_terms_in_segment
from tarjama.text.articles import Segment
from tarjama.translate.backends import RunTranslator
from tarjama.translate.pipeline import beam_alternatives, translate_segments
from tarjama.translate.settings import RunSettings


@dataclass(frozen=True)
class Alternative:
    """An English the model offers for a segment, and how many of the segment's glossary terms it holds."""

    target: str
    terms_hit: int


class StudioModel:
    """The studio's model (loaded on first use, then kept) and the glossary its alternatives are held to."""

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings
        self._translator: RunTranslator | None = None
        self._matchers: dict[Path, TermMatcher] = {}
        # One decoding at a time: two tabs asking at once share the one loaded model, not its threads.
        self._busy = threading.Lock()

    def translator(self) -> RunTranslator:
        """The model of the studio's settings (resolved now on first use; its weights load when first decoding)."""
        if self._translator is None:
            settings = self.settings
            self._translator = RunTranslator(settings.resolve_model(), settings.backend, threads=settings.threads)
        return self._translator

    def matches(self, segment: Segment, glossary: Path | None) -> list[TermMatch]:
        """The glossary's terms in the segment (``glossary`` read once, then kept)."""
        if glossary is None:
            return []
        if glossary not in self._matchers:
            self._matchers[glossary] = TermMatcher(load_glossary(glossary).entries)
        return find_terms_in_segment(segment, self._matchers[glossary])

    def alternatives(self, segment: SegmentView, recorded_glossary: Path | None = None) -> list[Alternative]:
        """The beam's n-best English of the segment, best first, then its strict-terms version, without repeats.

        The glossary is the studio's (``--glossary``), else the one the segment's run recorded.
        """
        sentence = Segment(id=segment.id, paragraph=segment.paragraph or 0, kind=segment.kind or "body",
                           text=segment.source, start=0, end=len(segment.source))
        options = self.settings.decoding
        with self._busy:
            translator = self.translator()
            matches = self.matches(sentence, self.settings.glossary or recorded_glossary)
            texts = beam_alternatives(sentence, translator, options)
            (strict,) = translate_segments([sentence], translator, options, matches=matches, strict_terms=True)
        return [Alternative(text, sum(target_in_translation(m.target, text) for m in matches))
                for text in dict.fromkeys([*texts, strict.target]) if text]
