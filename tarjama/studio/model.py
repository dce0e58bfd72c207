"""The model at hand in the studio: a segment's alternatives, from the model its article was translated with.

Which model: the one the article's run record names (with its backend, decoding and glossary), unless
``tarjama studio`` was told another (``--model``); ``--backend``, ``--beam-size`` and ``--glossary`` override
what the record says. Each model loads on the first request for its alternatives, through the library's
one-model-per-process cache (:class:`~tarjama.translate.backends.RunTranslator`), and stays loaded for the studio's
life. The English comes from the pipeline's own functions, so an alternative is what a run with these settings
could publish: the beam's n-best (:func:`~tarjama.translate.pipeline.beam_alternatives`) and the strict-terms
version (:func:`~tarjama.translate.pipeline.translate_segments` with the segment's glossary matches,
``strict_terms``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from tarjama.record.reader import SegmentView
from tarjama.terms.english import target_in_translation
from tarjama.terms.glossary import load_glossary
from tarjama.terms.matching import TermMatch, TermMatcher, find_terms_in_segment
from tarjama.text.articles import Segment
from tarjama.translate.backends import RunTranslator
from tarjama.translate.pipeline import beam_alternatives, translate_segments
from tarjama.translate.settings import RunSettings


class AlternativeKind(StrEnum):
    """Where an alternative comes from."""

    NBEST = "n-best"  # one of the beam's hypotheses, best first
    STRICT = "strict"  # the strict-terms version: every glossary term in, as --strict-terms publishes it


@dataclass(frozen=True)
class Alternative:
    """An English the model offers for a segment, how many of the segment's glossary terms it holds, and its kind."""

    target: str
    terms_hit: int
    kind: AlternativeKind = AlternativeKind.NBEST


@dataclass(frozen=True)
class ModelChoice:
    """What ``tarjama studio`` was told of the model; what it was not told comes from each article's run record."""

    settings: RunSettings | None = None  # --model given: this model and its settings for every article
    backend: str | None = None
    beam_size: int | None = None
    glossary: Path | None = None
    threads: int | None = None

    @property
    def own_glossary(self) -> bool:
        """Whether the studio was given a glossary of its own for the alternatives (the article's is then not used)."""
        return self.glossary is not None or (self.settings is not None and self.settings.glossary is not None)

    def settings_for(self, recorded: RunSettings) -> RunSettings:
        """The settings of an article's alternatives: the studio's model, else the one its run recorded."""
        settings = recorded
        if self.settings is not None:  # the studio's model; the article's glossary unless it has its own
            settings = replace(self.settings, glossary=self.settings.glossary or recorded.glossary)
        if self.backend is not None:
            settings = replace(settings, backend=self.backend)
        if self.beam_size is not None:
            settings = replace(settings, decoding=replace(settings.decoding, beam_size=self.beam_size))
        if self.glossary is not None:
            settings = replace(settings, glossary=self.glossary)
        return replace(settings, threads=self.threads) if self.threads is not None else settings


class StudioModel:
    """The studio's models (each loaded on first use, then kept) and the glossaries their alternatives are held to."""

    def __init__(self, choice: ModelChoice) -> None:
        self.choice = choice
        self._translators: dict[tuple[str, str, int | None], RunTranslator] = {}
        self._matchers: dict[Path, TermMatcher] = {}
        # One decoding at a time: two tabs asking at once share the one loaded model, not its threads.
        self._busy = threading.Lock()

    def translator(self, settings: RunSettings) -> RunTranslator:
        """The model of ``settings`` (resolved on first use; its weights load when it first decodes)."""
        resolved = settings.resolve_model()
        key = (str(resolved.path), settings.backend, settings.threads)
        if key not in self._translators:
            self._translators[key] = RunTranslator(resolved, settings.backend, threads=settings.threads)
        return self._translators[key]

    def matches(self, segment: Segment, glossary: Path | None) -> list[TermMatch]:
        """The glossary's terms in the segment (``glossary`` read once, then kept)."""
        if glossary is None or not glossary.is_file():
            return []
        if glossary not in self._matchers:
            self._matchers[glossary] = TermMatcher(load_glossary(glossary).entries)
        return find_terms_in_segment(segment, self._matchers[glossary])

    def alternatives(self, segment: SegmentView, recorded: RunSettings) -> list[Alternative]:
        """The beam's n-best English of the segment, best first, then its strict-terms version, without repeats.

        ``recorded`` are the settings the segment's article was translated with.
        """
        sentence = Segment(id=segment.id, paragraph=segment.paragraph or 0, kind=segment.kind or "body",
                           text=segment.source, start=0, end=len(segment.source))
        settings = self.choice.settings_for(recorded)
        options = settings.decoding
        with self._busy:
            translator = self.translator(settings)
            matches = self.matches(sentence, settings.glossary)
            texts = beam_alternatives(sentence, translator, options)
            (strict,) = translate_segments([sentence], translator, options, matches=matches, strict_terms=True)
        kinds = {text: AlternativeKind.NBEST for text in texts if text}
        kinds.setdefault(strict.target, AlternativeKind.STRICT)  # the n-best's own when the beam already had it
        return [Alternative(text, sum(target_in_translation(m.target, text) for m in matches), kind)
                for text, kind in kinds.items() if text]
