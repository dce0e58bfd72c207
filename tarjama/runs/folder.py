"""Folder runs that fill the engine's batches from several articles, each article still published on its own.

A scheduled inbox is many short articles: translated one by one, a 5-sentence article fills a batch of 5
where the engine takes 32. A folder run instead reads articles into a :class:`Pool` until their sentences
fill :data:`POOL_BATCHES` batches, looks every article up in the memory (harvesting its editor's bilingual
file first, as an article run does), translates the pool's pending sentences together in chunks of the
settings' batch size (each chunk committed to the memory at once, so a killed run loses at most one chunk),
then scores and publishes each article exactly as an article run would: its own record, under its own lock,
its source checked again there (:func:`~tarjama.runs.article.publish_locked`). Then the next pool: a large
folder's records are never all held at once.

One bad article does not stop the others: one that cannot be read is reported before the pool forms; a
chunk whose translation fails is translated again article by article, so that only the guilty one fails;
one changed or removed before publishing is not published; a chunk that fails for every one of its articles
is a failure of the machine, and fails the pool as a whole (the folder flow then retries it).
:func:`translate_and_publish_pool` is a pool's one loop: ``flows/translate.py`` runs it as one Prefect task per
pool, :func:`translate_folder_pooled` runs every pool of a folder with it, without Prefect.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from tarjama.errors import RESOURCE_FAILURES
from tarjama.exchange.bilingual import BilingualImport
from tarjama.memory.store import open_memory
from tarjama.publish.publisher import Published
from tarjama.publish.record import RunRecord, build_record
from tarjama.runs.article import load_terms, memory_figures, prepare_with_memory, publish_locked
from tarjama.runs.inbox import note_busy
from tarjama.terms.entries import Glossary
from tarjama.terms.matching import TermMatch, find_terms
from tarjama.text.articles import Document, Segment, read_article
from tarjama.timings import Stage, Timings
from tarjama.translate.backends import RunTranslator
from tarjama.translate.incremental import IncrementalTranslation, TranslatedArticle
from tarjama.translate.pipeline import SegmentTranslation, plan_translation, run_translation
from tarjama.translate.progress import ProgressDisplay, progress_bar
from tarjama.translate.registry import ResolvedModel
from tarjama.translate.settings import RunSettings
from tarjama.translate.types import Progress, Translator

# How many of the settings' batches (``batching.max_sentences`` sentences each) a pool's articles fill before
# it is translated: enough that a pool's last, partly filled chunk costs little, few enough that a pool's
# documents and records stay small.
POOL_BATCHES = 8


@dataclass(frozen=True)
class PoolMember:
    """An article read for a pooled run: its sentences and glossary terms, and the seconds each step took."""

    source: Path
    document: Document
    matches: list[TermMatch]
    seconds: dict[Stage, float] = field(default_factory=dict)  # its own ``read_segment`` and ``terms``

    @property
    def read_seconds(self) -> float:
        """Reading, segmenting and finding its terms."""
        return sum(self.seconds.values())


def read_member(source: Path, glossary: Glossary | None) -> PoolMember:
    """Read, segment and find the glossary's terms in one article (``InputError`` when it cannot be read)."""
    timings = Timings()
    with timings.measure(Stage.READ_SEGMENT):
        document = read_article(source)
    with timings.measure(Stage.TERMS):
        matches = find_terms(document, glossary)
    return PoolMember(source, document, matches, dict(timings.seconds))


@dataclass
class Pool:
    """Articles gathered to be translated together: full once their sentences fill :data:`POOL_BATCHES` batches."""

    settings: RunSettings
    members: list[PoolMember] = field(default_factory=list)

    @property
    def sentences(self) -> int:
        """The pool's sentences (those the memory holds included: it is looked up when the pool is translated)."""
        return sum(len(member.document.segments) for member in self.members)

    @property
    def full(self) -> bool:
        """True when the pool is to be translated now."""
        return self.sentences >= POOL_BATCHES * self.settings.batching.max_sentences


def pools(sources: Iterable[Path], read: Callable[[Path], PoolMember], settings: RunSettings,
          unreadable: Callable[[Path, Exception, float], None]) -> Iterator[list[PoolMember]]:
    """The articles of ``sources`` read (by ``read``) into pools, each yielded when full; the rest at the end.

    ``sources`` is taken lazily (an inbox run triages each article as it comes); an article that ``read``
    cannot read goes to ``unreadable`` (with the exception and the seconds spent) and the run goes on.
    """
    pool = Pool(settings)
    for source in sources:
        started = time.monotonic()
        try:
            pool.members.append(read(source))
        except Exception as exc:  # noqa: BLE001 - the article's own failure: reported, the folder goes on
            unreadable(source, exc, time.monotonic() - started)
            continue
        if pool.full:
            yield pool.members
            pool = Pool(settings)
    if pool.members:
        yield pool.members


@dataclass
class PooledArticle:
    """One article's part of a pooled translation: its English, or why it failed."""

    document: Document
    translated: TranslatedArticle | None = None
    error: Exception | None = None
    model_inputs: int = 0  # the pieces of its sentences that went to the model
    # Its own reading and terms, and its share of the pool's model load, first pass and enforcement (by model
    # inputs) and of the pool's unmeasured time (by sentences): its run record's timings start from these.
    seconds: dict[Stage, float] = field(default_factory=dict)
    overhead: float = 0.0

    @property
    def translate_seconds(self) -> float:
        """Its share of the pool's translation, everything included."""
        return sum(seconds for stage, seconds in self.seconds.items() if stage in _POOL_STAGES) + self.overhead

    def timings(self) -> Timings:
        """The timings its run record starts from, now: what it took so far, then its scoring and publishing."""
        return Timings.accounted(self.seconds, self.overhead)


# What a pool measures for all its articles together, shared out among them.
_POOL_STAGES = (Stage.MODEL_LOAD, Stage.TRANSLATE, Stage.ENFORCE)


@dataclass
class _Entry:
    """An article being translated in a pool (its memory lookup, and what became of it)."""

    result: PooledArticle
    work: IncrementalTranslation | None = None
    harvested: BilingualImport | None = None


def translate_pool(members: Sequence[PoolMember], translator: Translator, settings: RunSettings, out_dir: Path,
                   progress_displays: Sequence[ProgressDisplay] = ()) -> list[PooledArticle]:
    """Look each article up in the memory, then translate every article's pending sentences together.

    Chunks of ``settings.batching.max_sentences`` sentences, from as many articles as it takes, each committed
    to the memory once translated; a chunk that fails is translated again article by article, so that only
    the article that fails is marked failed (its later chunks are skipped). One result per member, in order.
    """
    memory_path = settings.memory_path(out_dir)
    pool_timings = Timings()  # the model's load and passes land here (:meth:`Timings.recording`)
    with pool_timings.recording(), open_memory(memory_path) if memory_path else nullcontext() as memory:
        entries = []
        for member in members:
            entry = _Entry(PooledArticle(member.document))
            try:
                entry.work, entry.harvested = prepare_with_memory(member.document, member.matches, translator,
                                                                  settings, out_dir, memory)
            except Exception as exc:  # noqa: BLE001 - e.g. an editor's conflicting file: that article alone fails
                entry.result.error = exc
            entries.append(entry)
        pending = [(entry, segment) for entry in entries if entry.work is not None for segment in entry.work.pending]
        size = settings.batching.max_sentences
        planned = sum(entry.work.pending_inputs for entry in entries if entry.work is not None)
        with progress_bar(planned, f"{len(members)} articles", enabled=False, displays=progress_displays) as progress:
            for start in range(0, len(pending), size):
                parts: dict[int, tuple[_Entry, list[Segment]]] = {}
                for entry, segment in pending[start:start + size]:
                    if entry.result.error is None:
                        parts.setdefault(id(entry), (entry, []))[1].append(segment)
                _translate_chunk(list(parts.values()), translator, settings, progress)
        for entry in entries:
            if entry.result.error is None and entry.work is not None:
                entry.result.translated = TranslatedArticle(entry.work.results(),
                                                            memory_figures(entry.work, memory_path, entry.harvested))
    _share_out(pool_timings, members, [entry.result for entry in entries])
    return [entry.result for entry in entries]


def _share_out(pool_timings: Timings, members: Sequence[PoolMember], results: Sequence[PooledArticle]) -> None:
    """Give each article its own reading and terms, and its share of what the pool measured for all of them.

    The model's work by model inputs (an article the memory held whole took none of it), the rest (memory
    lookups and commits, planning) by sentences; so the pool's records add up to the pool's time.
    """
    measured = pool_timings.parts()
    unmeasured = pool_timings.unmeasured()
    inputs = sum(result.model_inputs for result in results)
    sentences = sum(len(member.document.segments) for member in members) or 1
    for member, result in zip(members, results, strict=True):
        by_sentences = len(member.document.segments) / sentences
        by_inputs = result.model_inputs / inputs if inputs else by_sentences
        result.seconds = {**member.seconds, **{stage: measured[stage] * by_inputs for stage in _POOL_STAGES}}
        result.overhead = unmeasured * by_sentences


def _translate_chunk(parts: list[tuple[_Entry, list[Segment]]], translator: Translator, settings: RunSettings,
                     progress: Progress | None) -> None:
    """Translate one chunk, its articles' sentences together; each article's share committed on its own."""
    if not parts:
        return
    try:
        shares = _together(parts, translator, settings, progress)
    except Exception as exc:  # noqa: BLE001 - which article failed is found out below, one article at a time
        failure = exc
    else:
        for (entry, chunk), (translated, inputs) in zip(parts, shares, strict=True):
            try:
                entry.work.commit(chunk, translated, inputs)
            except Exception as exc:  # noqa: BLE001 - e.g. the memory refused this article's English
                entry.result.error = exc
                continue
            entry.result.model_inputs += inputs
        return
    _one_by_one(parts, progress, failure)


def _one_by_one(parts: list[tuple[_Entry, list[Segment]]], progress: Progress | None, failure: Exception) -> None:
    """Translate a failed chunk again article by article, so that only the guilty article fails.

    When the machine failed, not an article, the failure is raised again, so that the pool's run fails as a
    whole and can be retried (the chunks before it stay committed to the memory, so a retry translates only
    what is left): an article failing for want of a resource (:data:`~tarjama.errors.RESOURCE_FAILURES`: memory,
    disk, time), a pool of one article included, or every one of two or more articles failing.
    """
    failed = 0
    for entry, chunk in parts:
        inputs_before = entry.work.stats.model_inputs
        try:
            entry.work.translate_chunk(chunk, progress)
        except RESOURCE_FAILURES:
            raise
        except Exception as exc:  # noqa: BLE001 - this article fails, the others of the chunk go on
            entry.result.error = exc
            failed += 1
        entry.result.model_inputs += entry.work.stats.model_inputs - inputs_before
    if failed == len(parts) > 1:
        raise failure


def _together(parts: list[tuple[_Entry, list[Segment]]], translator: Translator, settings: RunSettings,
              progress: Progress | None) -> list[tuple[list[SegmentTranslation], int]]:
    """One plan for the sentences of several articles; each article's English and model inputs, in order.

    Segment ids are an article's own ("p0.s0" in every article): within the pool they are prefixed with the
    article's place in the chunk, and given back after.
    """
    segments: list[Segment] = []
    matches: list[TermMatch] = []
    for number, (entry, chunk) in enumerate(parts):
        for segment in chunk:
            tagged = replace(segment, id=f"{number}:{segment.id}")
            segments.append(tagged)
            matches.extend(replace(match, segment=tagged.id) for match in entry.work.matches_in.get(segment.id, []))
    decoding = settings.decoding
    plan = plan_translation(segments, translator, decoding)
    translated = iter(run_translation(plan, translator, decoding, progress, matches,
                                      strict_terms=settings.strict_terms, batching=settings.batching))
    shares = []
    for number, (_, chunk) in enumerate(parts):
        english = [_untagged(next(translated), segment.id) for segment in chunk]
        shares.append((english, sum(len(plan.pieces_of.get(f"{number}:{s.id}", ())) for s in chunk)))
    return shares


def _untagged(translation: SegmentTranslation, segment_id: str) -> SegmentTranslation:
    return replace(translation, segment_id=segment_id,
                   terms=tuple(replace(o, match=replace(o.match, segment=segment_id)) for o in translation.terms))


@dataclass(frozen=True)
class FolderArticle:
    """What became of one article of :func:`translate_folder_pooled`: its outputs' paths, or why not."""

    source: Path
    published: Published | None = None
    error: Exception | None = None
    seconds: float = 0.0  # reading, its share of the translation, scoring and publishing
    model_inputs: int = 0


def translate_and_publish_pool(members: Sequence[PoolMember], translator: Translator, model: ResolvedModel,
                               settings: RunSettings, glossary: Glossary | None, out_dir: Path, *,
                               progress_displays: Sequence[ProgressDisplay] = (),
                               on_published: Callable[[RunRecord], None] | None = None) -> list[FolderArticle]:
    """A pool's whole run: memory lookups and pooled translation (:func:`translate_pool`), then each article
    scored and published on its own, as an article run would (its own record, lock and source check).

    One :class:`FolderArticle` per member, in order; ``on_published`` is given each record once published
    (the folder flow makes its scores artifact), and the records are not kept. Raises what
    :func:`translate_pool` raises (a machine failure, not an article's own).
    """
    note_busy(out_dir, members[0].source)  # left behind if the run is stopped midway, so that serve can say so
    try:
        pooled = translate_pool(members, translator, settings, out_dir, progress_displays)
    except Exception:
        note_busy(out_dir, None)
        raise
    outcomes = []
    for member, article in zip(members, pooled, strict=True):
        note_busy(out_dir, member.source)
        started = time.perf_counter()
        published, record, error = None, None, article.error
        if error is None and article.translated is not None:
            try:
                record = build_record(article.document, article.translated, model, settings, glossary,
                                      timings=article.timings())
                published = publish_locked(record, out_dir)
            except Exception as exc:  # noqa: BLE001 - changed, removed or unwritable: the others go on
                error = exc
        article.translated = None  # published or not, its English is not needed any more
        if published is not None and record is not None and on_published is not None:
            on_published(record)
        seconds = member.read_seconds + article.translate_seconds + time.perf_counter() - started
        outcomes.append(FolderArticle(member.source, published and replace(published, run=None), error, seconds,
                                      article.model_inputs))
    note_busy(out_dir, None)
    return outcomes


def translate_folder_pooled(sources: Iterable[Path], settings: RunSettings, out_dir: Path, *,
                            model: ResolvedModel | None = None, translator: Translator | None = None
                            ) -> list[FolderArticle]:
    """Translate and publish articles with pooled batches, without Prefect: the folder flow's steps in one call.

    ``model`` is ``settings``' model resolved, ``translator`` it loaded (both found here when not given).
    Every article gets a :class:`FolderArticle`, in the order of ``sources``; the records are not kept. A pool
    whose translation fails as a whole (:func:`translate_pool`) fails each of its articles with that error.
    """
    model = model or settings.resolve_model()
    translator = translator or RunTranslator(model, settings.backend, threads=settings.threads)
    glossary = load_terms(settings)
    outcomes: dict[Path, FolderArticle] = {}

    def unreadable(source: Path, error: Exception, seconds: float) -> None:
        outcomes[source] = FolderArticle(source, error=error, seconds=seconds)

    sources = list(sources)
    for members in pools(sources, lambda source: read_member(source, glossary), settings, unreadable):
        started = time.perf_counter()
        try:
            results = translate_and_publish_pool(members, translator, model, settings, glossary, out_dir)
        except Exception as exc:  # noqa: BLE001 - no retry here: each article of the pool failed with it
            share = (time.perf_counter() - started) / len(members)
            results = [FolderArticle(member.source, error=exc, seconds=member.read_seconds + share)
                       for member in members]
        outcomes.update((result.source, result) for result in results)
    return [outcomes[source] for source in sources]
