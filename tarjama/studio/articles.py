"""The studio's view of an outputs folder: its articles, their segments as the memory has them now, and confirms.

Every figure is read afresh from the run records and the translation memory at each request, so that a run, a
``tm import`` or another tab is seen at once. A segment's English is its memory approval when it has one, else
what its run published. Its *version* is the memory's revision of the sentence
(:meth:`~tarjama.memory.store.TranslationMemory.revision`): one, plus one for each change to its approval, from the
studio or elsewhere, which makes the version a tab holds stale. A confirm's check of the version and its store are
one write transaction of the memory, so another process's change (``tm import``, another studio) cannot slip in
between.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from tarjama.errors import InputError
from tarjama.memory.approvals import origin_of
from tarjama.memory.fuzzy import FuzzyMatch, closest_approved
from tarjama.memory.store import ApprovedEntry, TranslationMemory, default_memory_path, open_memory, same_english
from tarjama.record.labels import Origin, origin_label
from tarjama.record.reader import RunRecordView, SegmentView, read_record
from tarjama.runs.article import translate_and_publish
from tarjama.studio.checks import EnglishCheck, EnglishWarning, StudioTerm, check_english
from tarjama.translate.settings import RunSettings, recorded_settings

RECORD_SUFFIX = ".run.json"
WITHDRAWN_LABEL = "an editor's approval, since withdrawn: publishing translates it again"


_Titled = TypeVar("_Titled", "StudioSegment", SegmentView)


class NotFoundError(InputError):
    """An article or segment the outputs folder does not hold."""


class NothingToUndoError(InputError):
    """An undo with no confirm of this studio's to take back."""


class StaleVersionError(InputError):
    """A confirm made over a version of the segment that is no longer current (nothing was stored)."""

    def __init__(self, message: str, current: StudioSegment) -> None:
        super().__init__(message)
        self.current = current


@dataclass(frozen=True)
class StudioSegment:
    """A segment as the studio shows it (contract: ``GET /api/articles/STEM``)."""

    id: str
    kind: str
    source: str
    target: str
    origin: str  # model, copied, memory or approved (Origin): where the English shown came from
    origin_label: str  # the origin in words, as the page says it
    version: int
    terms: tuple[StudioTerm, ...]
    flags: tuple[str, ...]  # the run record's flags of the English it published
    warnings: tuple[EnglishWarning, ...] = ()  # the check of the English shown (checks.check_english)
    published: bool = True  # whether the English shown is the one the article's outputs hold
    withdrawn: bool = False  # published as an editor's approval that the memory no longer holds
    waiting_label: str | None = None  # what waits to be published for it, in words (None: nothing)
    set_aside: str | None = None  # strict mode: the editor's English the run set aside for lacking a term


@dataclass(frozen=True)
class StudioArticle:
    """An article's segments, in order, and the run that published it."""

    stem: str
    segments: tuple[StudioSegment, ...]
    created: str | None = None  # when its run record was written (ISO 8601)
    model: str | None = None
    backend: str | None = None
    strict_terms: bool = False

    @property
    def waiting(self) -> int:
        """Approvals waiting to be published: segments whose memory English is not the outputs' English yet."""
        return sum(not segment.published for segment in self.segments)

    @property
    def title(self) -> str:
        """The English of its title segment (the first segment when none is marked as title)."""
        title = self._title_segment
        return title.target if title is not None else self.stem

    @property
    def source_title(self) -> str:
        """The Arabic of its title segment (the first segment when none is marked as title)."""
        title = self._title_segment
        return title.source if title is not None else ""

    @property
    def _title_segment(self) -> StudioSegment | None:
        return title_segment(self.segments)


@dataclass(frozen=True)
class ArticleSummary:
    """A line of the article list (contract: ``GET /api/articles``)."""

    stem: str
    title: str
    source_title: str
    segments: int
    approved: int
    flagged: int
    term_success_rate: float | None
    created: str | None  # when the article was last published (its run record's time)
    model: str | None
    waiting: int  # approvals not published yet
    error: str | None = None  # why its run record cannot be read (the other figures are then empty)

    @classmethod
    def unreadable(cls, stem: str, error: str) -> ArticleSummary:
        """The line of an article whose run record cannot be read: the list still shows the others."""
        return cls(stem=stem, title=stem, source_title="", segments=0, approved=0, flagged=0,
                   term_success_rate=None, created=None, model=None, waiting=0, error=error)


@dataclass(frozen=True)
class Undone:
    """A confirm taken back: the article and its segment as the memory has it now."""

    stem: str
    segment: StudioSegment


@dataclass(frozen=True)
class _Confirmed:
    """A confirm that stored an approval, as undo needs it: what the sentence's approval was before, if any."""

    segment_id: str
    source: str
    before: ApprovedEntry | None
    version: int  # the version the confirm made: undo only while it is still current


@dataclass(frozen=True)
class PublishResult:
    """What a publish from the studio changed: the segments whose English is new, and the files it wrote."""

    stem: str
    changed: tuple[str, ...]
    english: str  # the article's NAME.en.md
    record: str
    created: str | None = None  # the new run record's time


def title_segment(segments: Sequence[_Titled]) -> _Titled | None:
    """An article's title: its segment marked as title, else its first (``None`` for an article of none)."""
    return next((s for s in segments if s.kind == "title"), segments[0] if segments else None)


def recorded_model(record: RunRecordView) -> str | None:
    """The model a run record names: its name, else its path."""
    return (record.model.name or record.model.path) if record.model else None


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
        self._confirmed: dict[str, list[_Confirmed]] = {}  # by article: the confirms undo can take back, last last

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
        return _segment_of(self.record(stem), segment_id)

    def article(self, stem: str) -> StudioArticle:
        """An article's segments with the memory's current English and versions."""
        return self._article(self.record(stem))

    def _article(self, record: RunRecordView) -> StudioArticle:
        strict = bool(record.strict_terms)
        with open_memory(self.memory_path) as memory:
            segments = tuple(_segment(s, memory, strict_terms=strict) for s in record.segments)
        return StudioArticle(record.path.name.removesuffix(RECORD_SUFFIX), segments, created=record.created,
                             model=recorded_model(record), backend=record.model.backend if record.model else None,
                             strict_terms=strict)

    def summaries(self) -> list[ArticleSummary]:
        """A summary of each article, for the list; a record that cannot be read is listed with its error."""
        summaries = []
        with open_memory(self.memory_path) as memory:  # once for the list: a folder may hold hundreds
            for stem in self.stems():
                try:
                    record = read_record(self.out_dir / f"{stem}{RECORD_SUFFIX}")
                except InputError as damaged:
                    summaries.append(ArticleSummary.unreadable(stem, damaged.describe()))
                    continue
                states = [_english_state(segment, memory.approved(segment.source)) for segment in record.segments]
                title = title_segment(record.segments)
                title_state = states[record.segments.index(title)] if title is not None else None
                summaries.append(ArticleSummary(
                    stem=stem, title=title_state.target if title_state else stem,
                    source_title=title.source if title is not None else "", segments=len(record.segments),
                    approved=sum(state.approved for state in states),
                    flagged=sum(bool(segment.flags) for segment in record.segments),
                    term_success_rate=record.scores.term_success_rate if record.scores else None,
                    created=record.created, model=recorded_model(record),
                    waiting=sum(not state.published for state in states)))
        return summaries

    def check(self, stem: str, segment_id: str, target: str) -> EnglishCheck:
        """The terms and warnings of ``target`` as the English of a segment (nothing is stored)."""
        record = self.record(stem)
        return check_english(_segment_of(record, segment_id), target, strict_terms=bool(record.strict_terms))

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
        segment = _segment_of(record, segment_id)
        strict = bool(record.strict_terms)
        with self._confirming, open_memory(self.memory_path) as memory, memory.transaction():
            current = _segment(segment, memory, strict_terms=strict)
            if version != current.version:
                raise StaleVersionError(f"{segment_id} changed since version {version}: it is at version "
                                        f"{current.version}; nothing was stored", current)
            if current.origin == Origin.APPROVED and same_english(current.target, target):
                return current
            before = memory.approved(segment.source)
            memory.approve([(segment.source, target)], origin=studio_origin(record.path))
            confirmed = _segment(segment, memory, strict_terms=strict)
            self._confirmed.setdefault(stem, []).append(
                _Confirmed(segment_id, segment.source, before, confirmed.version))
            return confirmed

    def undo(self, stem: str) -> Undone:
        """Take back the article's last confirm made in this studio: the sentence's approval is what it was before.

        An approval that replaced another puts the other back; a first approval is withdrawn (the segment shows the
        run's English again). Both stay in the memory's history. When the sentence's approval changed since that
        confirm (another tab, ``tm import``), nothing is undone and :class:`StaleVersionError` says so; with no
        confirm to undo, :class:`NothingToUndoError`.
        """
        record = self.record(stem)
        strict = bool(record.strict_terms)
        with self._confirming:
            confirms = self._confirmed.get(stem, [])
            if not confirms:
                raise NothingToUndoError(f"no confirm to undo in article {stem!r} since the studio started")
            last = confirms[-1]
            segment = record.segments_by_id.get(last.segment_id)
            with open_memory(self.memory_path) as memory, memory.transaction():
                if segment is None or segment.source != last.source:
                    confirms.pop()
                    raise NothingToUndoError(f"{last.segment_id} was published again with other Arabic since "
                                             "its confirm: nothing to undo there")
                current = _segment(segment, memory, strict_terms=strict)
                if current.version != last.version:
                    confirms.pop()
                    raise StaleVersionError(f"{last.segment_id} changed since its confirm (version {last.version}, "
                                            f"now {current.version}): nothing was undone", current)
                if last.before is None:
                    memory.withdraw([last.source])
                else:
                    memory.approve([(last.source, last.before.target)], origin=last.before.origin,
                                   run_id=last.before.run_id)
                confirms.pop()
                restored = _segment(segment, memory, strict_terms=strict)
                earlier = next((n for n in range(len(confirms) - 1, -1, -1) if confirms[n].source == last.source), None)
                if earlier is not None:
                    # The sentence is as its confirm before left it, at a new version: that one may be undone in turn.
                    confirms[earlier] = replace(confirms[earlier], version=restored.version)
                return Undone(stem, restored)

    def fuzzy(self, stem: str, segment_id: str) -> list[FuzzyMatch]:
        """The memory's approved sentences closest to a segment's Arabic (none when it has its own approval)."""
        segment = self.segment(stem, segment_id)
        if not self.memory_path.is_file():
            return []
        with open_memory(self.memory_path) as memory:
            return closest_approved(memory, segment.source)

    def locate(self, recorded: str | None) -> Path | None:
        """A file or folder a run record names, as it names it (relative to where ``translate`` ran), found here.

        Tried in turn: as recorded (absolute, or relative to the studio's working folder), then relative to the
        outputs folder's parent (``translate ARTICLE --out outputs`` run in a project's folder) and to the outputs
        folder itself. ``None`` when none exists.
        """
        if not recorded:
            return None
        path = Path(recorded).expanduser()
        candidates = [path] if path.is_absolute() else [path, self.out_dir.parent / path, self.out_dir / path]
        # Absolute: a record the studio publishes then names its files whatever folder the next reader is in.
        return next((candidate.resolve() for candidate in candidates if candidate.exists()), None)

    def settings_of(self, record: RunRecordView, *, need_glossary: bool = True) -> RunSettings:
        """The settings an article's run recorded (:func:`recorded_settings`), its paths found from here.

        A glossary the run used that is nowhere to be found is an :class:`InputError` (its terms would be lost)
        unless ``need_glossary`` is false (another glossary stands in).
        """
        settings = recorded_settings(record, memory=self.memory_path)
        if settings.glossary is not None:
            glossary = self.locate(str(settings.glossary))
            if glossary is None and not need_glossary:
                settings = replace(settings, glossary=None)
            elif glossary is None:
                raise InputError(f"the glossary the article's run used, {settings.glossary}, is not found from "
                                 f"{Path.cwd()} nor beside {self.out_dir}: {_START_WHERE}", path=record.path)
            else:
                settings = replace(settings, glossary=glossary)
        model = self.locate(settings.model) if not Path(settings.model).exists() else None
        return replace(settings, model=str(model)) if model is not None else settings

    def publish(self, stem: str) -> PublishResult:
        """Publish the article's outputs again from the memory, with its approvals: what ``tarjama translate`` does.

        The run is :func:`~tarjama.runs.article.translate_and_publish` with the settings its record was written
        with (:meth:`settings_of`) and this studio's memory: the same harvest, memory look-up, publishing code,
        article lock and atomic swap. Sentences the memory holds need no model loaded, but the model's folder must
        be there: the memory's keys name the model by its files. An article whose source, glossary or model
        cannot be found is an :class:`InputError` (nothing is written).
        """
        before = self.record(stem)
        source = self.locate(before.source)
        if source is None or not source.is_file():
            raise InputError(f"the article's source {before.source or '(not recorded)'} is not found from "
                             f"{Path.cwd()} nor beside {self.out_dir}: it cannot be published again; "
                             f"{_START_WHERE}", path=before.path)
        located = self.locate(before.reference)
        reference = located if located is not None and located.is_file() else None
        settings = self.settings_of(before)
        try:
            settings.resolve_model()
        except InputError:
            raise InputError(f"the model the article was translated with, {settings.model}, is not on this machine: "
                             "publishing runs the article again as `tarjama translate` does, and the memory's keys "
                             "name that model; put its folder back (or `tarjama models pull` it)",
                             path=before.path) from None
        published = translate_and_publish(source, settings, self.out_dir, reference=reference).published
        after = read_record(published.record)
        old = {segment.id: segment.target for segment in before.segments}
        changed = tuple(segment.id for segment in after.segments if old.get(segment.id) != segment.target)
        return PublishResult(stem, changed, str(published.english), str(published.record), after.created)


_START_WHERE = ("start the studio in the folder `tarjama translate` ran in (the run record names its files as "
                "typed there), or translate the article again with absolute paths")


@dataclass(frozen=True)
class _EnglishState:
    """A segment's English as the studio shows it: the memory's approval over what the run published."""

    target: str
    origin: str
    approved: bool  # the memory holds an approval for its Arabic
    published: bool  # the article's outputs hold this English (or will hold it no other way)
    withdrawn: bool  # published as an approval the memory no longer holds


def _english_state(segment: SegmentView, approved: ApprovedEntry | None) -> _EnglishState:
    if approved is None:
        # Published as an approval since withdrawn (an undo, tm withdraw): the next publish translates it again.
        withdrawn = segment.origin == Origin.APPROVED
        return _EnglishState(segment.target, segment.origin, False, not withdrawn, withdrawn)
    set_aside = segment.set_aside.target if segment.set_aside is not None else None
    # An approval the run set aside (strict mode, a term missing) is published as the model's English, by rule.
    published = same_english(approved.target, segment.target) or (
        set_aside is not None and same_english(approved.target, set_aside))
    return _EnglishState(approved.target, Origin.APPROVED, True, published, False)


def _segment_of(record: RunRecordView, segment_id: str) -> SegmentView:
    segment = record.segments_by_id.get(segment_id)
    if segment is None:
        raise NotFoundError(f"no segment {segment_id!r} in article {record.path.name.removesuffix(RECORD_SUFFIX)!r}")
    return segment


def _segment(segment: SegmentView, memory: TranslationMemory, *, strict_terms: bool) -> StudioSegment:
    """A record's segment with the memory's approval (if any) over its English, checked."""
    state = _english_state(segment, memory.approved(segment.source))
    check = check_english(segment, state.target, strict_terms=strict_terms)
    label = WITHDRAWN_LABEL if state.withdrawn else origin_label(state.origin)
    return StudioSegment(id=segment.id, kind=segment.kind or "body", source=segment.source, target=state.target,
                         origin=str(state.origin), origin_label=label,
                         version=memory.revision(segment.source), terms=check.terms, flags=segment.flags,
                         warnings=check.warnings, published=state.published, withdrawn=state.withdrawn,
                         waiting_label=None if state.published else (
                             "approval withdrawn, not published yet" if state.withdrawn
                             else "approved, not published yet"),
                         set_aside=segment.set_aside.target if segment.set_aside is not None else None)
