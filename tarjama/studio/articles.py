"""The studio's view of an outputs folder: its articles, their segments as the memory has them now, and confirms.

Every figure is read afresh from the run records and the translation memory at each request, so that a run, a
``tm import`` or another tab is seen at once. A segment's English is its memory approval when it has one, else
what its run published. Its *version* is a count the memory keeps by itself: one, plus one for each approval and
withdrawal its Arabic has had (the current approval and the history). Any change to the sentence's approval, from
the studio or elsewhere, makes the version a tab holds stale.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from tarjama.errors import InputError
from tarjama.memory.approvals import origin_of
from tarjama.memory.fuzzy import FuzzyMatch, closest_approved
from tarjama.memory.store import TranslationMemory, default_memory_path, open_memory, same_english
from tarjama.record.labels import Origin
from tarjama.record.reader import RunRecordView, SegmentView, read_record
from tarjama.runs.article import translate_and_publish
from tarjama.terms.english import target_in_translation
from tarjama.translate.settings import recorded_settings

RECORD_SUFFIX = ".run.json"


class NotFoundError(InputError):
    """An article or segment the outputs folder does not hold."""


class StaleVersionError(InputError):
    """A confirm made over a version of the segment that is no longer current (nothing was stored)."""

    def __init__(self, message: str, current: StudioSegment) -> None:
        super().__init__(message)
        self.current = current


@dataclass(frozen=True)
class StudioTerm:
    """A glossary term of a segment: the Arabic as it stands, its glossary English, and whether the English has it."""

    surface: str
    target: str
    hit: bool


@dataclass(frozen=True)
class StudioSegment:
    """A segment as the studio shows it (contract: ``GET /api/articles/STEM``)."""

    id: str
    kind: str
    source: str
    target: str
    origin: str
    version: int
    terms: tuple[StudioTerm, ...]
    flags: tuple[str, ...]


@dataclass(frozen=True)
class StudioArticle:
    """An article's segments, in order."""

    stem: str
    segments: tuple[StudioSegment, ...]

    @property
    def title(self) -> str:
        """The English of its title segment (the first segment when none is marked as title)."""
        titles = [s for s in self.segments if s.kind == "title"] or list(self.segments[:1])
        return titles[0].target if titles else self.stem


@dataclass(frozen=True)
class ArticleSummary:
    """A line of the article list (contract: ``GET /api/articles``)."""

    stem: str
    title: str
    segments: int
    approved: int
    flagged: int
    term_success_rate: float | None


@dataclass(frozen=True)
class PublishResult:
    """What a publish from the studio changed: the segments whose English is new, and the files it wrote."""

    stem: str
    changed: tuple[str, ...]
    english: str  # the article's NAME.en.md
    record: str


def segment_version(memory: TranslationMemory, source: str) -> int:
    """The sentence's version: 1, plus each approval and withdrawal it has had (see the module's docstring)."""
    return 1 + len(memory.past_approvals(source)) + (memory.approved(source) is not None)


def studio_origin(record_path: Path) -> str:
    """The origin an approval made in the studio carries: the studio and the run record it was made on."""
    return f"tarjama studio: {origin_of(record_path)}"


class Studio:
    """The articles of one outputs folder and its memory (``OUT/.tarjama/memory.sqlite`` unless told otherwise)."""

    def __init__(self, out_dir: Path, memory_path: Path | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.memory_path = memory_path or default_memory_path(self.out_dir)
        # Within this process a confirm's version check and its store are one step: two tabs' PUTs queue here.
        self._confirming = threading.Lock()

    def stems(self) -> list[str]:
        """The articles published in the folder (``NAME`` of each ``NAME.run.json``), sorted."""
        return sorted(p.name.removesuffix(RECORD_SUFFIX) for p in self.out_dir.glob(f"*{RECORD_SUFFIX}")
                      if p.is_file())

    def record(self, stem: str) -> RunRecordView:
        """The run record of an article; :class:`NotFoundError` for a name the folder does not publish."""
        if stem not in self.stems():  # never a path built from what a request named
            raise NotFoundError(f"no article {stem!r} in {self.out_dir}")
        return read_record(self.out_dir / f"{stem}{RECORD_SUFFIX}")

    def segment(self, stem: str, segment_id: str) -> SegmentView:
        """A segment of an article's run record; :class:`NotFoundError` for an id the article does not have."""
        segment = self.record(stem).segments_by_id.get(segment_id)
        if segment is None:
            raise NotFoundError(f"no segment {segment_id!r} in article {stem!r}")
        return segment

    def article(self, stem: str) -> StudioArticle:
        """An article's segments with the memory's current English and versions."""
        record = self.record(stem)
        with open_memory(self.memory_path) as memory:
            return StudioArticle(stem, tuple(_segment(s, memory) for s in record.segments))

    def summaries(self) -> list[ArticleSummary]:
        """A summary of each article, for the list."""
        summaries = []
        for stem in self.stems():
            record = self.record(stem)
            article = self.article(stem)
            summaries.append(ArticleSummary(
                stem=stem, title=article.title, segments=len(article.segments),
                approved=sum(s.origin == Origin.APPROVED for s in article.segments),
                flagged=sum(bool(s.flags) for s in article.segments),
                term_success_rate=record.scores.term_success_rate if record.scores else None))
        return summaries

    def confirm(self, stem: str, segment_id: str, target: str, version: int) -> StudioSegment:
        """Store an editor's English for a segment as its approval in the memory, at once.

        ``version`` is the segment's version the editor saw: when it is no longer current (an approval made
        since, in another tab or by ``tm import``), nothing is stored and :class:`StaleVersionError` carries the
        current segment. An empty English is an :class:`InputError`. The store is the one ``tm import`` uses
        (:meth:`TranslationMemory.approve`, which keeps a replaced approval in the history and does not store the
        approval's own English again).
        """
        if not target.strip():
            raise InputError(f"the English of {segment_id} is empty: an approval needs English")
        record = self.record(stem)
        segment = record.segments_by_id.get(segment_id)
        if segment is None:
            raise NotFoundError(f"no segment {segment_id!r} in article {stem!r}")
        with self._confirming, open_memory(self.memory_path) as memory:
            current = _segment(segment, memory)
            if version != current.version:
                raise StaleVersionError(f"{segment_id} changed since version {version}: it is at version "
                                        f"{current.version}; nothing was stored", current)
            if not (current.origin == Origin.APPROVED and same_english(current.target, target)):
                memory.approve([(segment.source, target)], origin=studio_origin(record.path))
            return _segment(segment, memory)

    def fuzzy(self, stem: str, segment_id: str) -> list[FuzzyMatch]:
        """The memory's approved sentences closest to a segment's Arabic (none when it has its own approval)."""
        segment = self.segment(stem, segment_id)
        if not self.memory_path.is_file():
            return []
        with open_memory(self.memory_path) as memory:
            return closest_approved(memory, segment.source)

    def glossary_of(self, stem: str) -> Path | None:
        """The glossary the article's run recorded, when it is still there."""
        glossary = self.record(stem).glossary
        path = Path(glossary.path) if glossary is not None and glossary.path else None
        return path if path is not None and path.is_file() else None

    def publish(self, stem: str) -> PublishResult:
        """Publish the article's outputs again from the memory, with its approvals: what ``tarjama translate`` does.

        The run is :func:`~tarjama.runs.article.translate_and_publish` with the settings its record was written
        with (:func:`~tarjama.translate.settings.recorded_settings`) and this studio's memory: the same harvest,
        memory look-up, publishing code, article lock and atomic swap. Sentences the memory holds need no model.
        An article whose source is gone is an :class:`InputError` (nothing is written).
        """
        before = self.record(stem)
        source = Path(before.source) if before.source else None
        if source is None or not source.is_file():
            raise InputError(f"the article's source {before.source or '(not recorded)'} is gone: it cannot be "
                             "published again", path=before.path)
        reference = Path(before.reference) if before.reference and Path(before.reference).is_file() else None
        settings = recorded_settings(before, memory=self.memory_path)
        published = translate_and_publish(source, settings, self.out_dir, reference=reference).published
        after = read_record(published.record)
        old = {segment.id: segment.target for segment in before.segments}
        changed = tuple(segment.id for segment in after.segments if old.get(segment.id) != segment.target)
        return PublishResult(stem, changed, str(published.english), str(published.record))


def _segment(segment: SegmentView, memory: TranslationMemory) -> StudioSegment:
    """A record's segment with the memory's approval (if any) over its English."""
    approved = memory.approved(segment.source)
    target = approved.target if approved is not None else segment.target
    origin = Origin.APPROVED if approved is not None else segment.origin
    terms = tuple(StudioTerm(term.surface or term.source or "", term.target,
                             target_in_translation(term.target, target))
                  for term in segment.terms if term.target)
    return StudioSegment(id=segment.id, kind=segment.kind or "body", source=segment.source, target=target,
                         origin=str(origin), version=segment_version(memory, segment.source), terms=terms,
                         flags=segment.flags)
