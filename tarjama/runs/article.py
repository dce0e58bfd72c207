"""One article's steps as plain Python, and the whole run in one call: what a Dask worker runs.

The Prefect flow ``translate_article`` runs each step as a task of its own; ``translate_and_publish``
runs the same steps in one call, on whatever process receives the article (the model loads once per process).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from tarjama.exchange.bilingual import BilingualImport, harvest_bilingual
from tarjama.memory.store import TranslationMemory, open_memory
from tarjama.publish.outputs import check_outputs
from tarjama.publish.publisher import Published, article_lock, check_source, publish
from tarjama.publish.record import RunRecord, build_record
from tarjama.scores.scoring import read_reference
from tarjama.terms.entries import Glossary
from tarjama.terms.glossary import load_glossary
from tarjama.terms.matching import TermMatch, find_terms
from tarjama.text.articles import Document, read_article
from tarjama.text.inputs import check_name_utf8
from tarjama.text.segmentation import is_translatable
from tarjama.timings import Stage, Timings, timed
from tarjama.translate.backends import RunTranslator, load_translator, loaded_models
from tarjama.translate.incremental import IncrementalTranslation, TranslatedArticle, prepare
from tarjama.translate.progress import ProgressDisplay, progress_bar
from tarjama.translate.registry import ResolvedModel
from tarjama.translate.settings import RunSettings
from tarjama.translate.types import Translator


def check_article_run(source: Path, out_dir: Path, settings: RunSettings, *, reference: Path | None = None) -> None:
    """Everything the user can get wrong about an article run, checked before Prefect starts or a model loads.

    The article, the names of every path given, the glossary, the reference against the article's paragraphs,
    the outputs folder and the memory the run will use (:meth:`RunSettings.memory_path`).
    """
    document = read_article(source)
    for what, path in (("article", source), ("glossary", settings.glossary), ("reference", reference),
                       ("outputs folder", out_dir), ("memory", settings.memory)):
        if path is not None:
            check_name_utf8(path, what)
    if settings.glossary:
        load_glossary(settings.glossary)
    if reference:
        read_reference(reference, len(document.paragraphs))
    check_outputs(out_dir, settings.memory_path(out_dir))


def read_document(source: Path, timings: Timings | None = None) -> Document:
    """Read the article and cut it into paragraphs and sentences (the run's ``read_segment``)."""
    with timed(Stage.READ_SEGMENT, timings):
        return read_article(source)


def load_terms(settings: RunSettings, timings: Timings | None = None) -> Glossary | None:
    """The run's glossary, if it has one (loading it is part of the run's ``terms``)."""
    with timed(Stage.TERMS, timings):
        return load_glossary(settings.glossary) if settings.glossary else None


def match_terms(document: Document, glossary: Glossary | None, timings: Timings | None = None) -> list[TermMatch]:
    """Every glossary term in the article (the rest of the run's ``terms``)."""
    with timed(Stage.TERMS, timings):
        return find_terms(document, glossary)


def translate_article_text(document: Document, matches: list[TermMatch], model: ResolvedModel,
                           settings: RunSettings, out_dir: Path, *, show_progress: bool = False,
                           progress_displays: Sequence[ProgressDisplay] = (), timings: Timings | None = None
                           ) -> TranslatedArticle:
    """Translate what the memory does not already hold, with the model loaded once per process when first needed.

    ``timings`` get the model's load (if it happens here), its first pass and the enforcement of terms.
    """
    translator = RunTranslator(model, settings.backend, threads=settings.threads)
    with timings.recording() if timings is not None else nullcontext():
        return translate_with_memory(document, matches, translator, settings, out_dir, show_progress=show_progress,
                                     progress_displays=progress_displays)


def needs_model(source: Path, settings: RunSettings, out_dir: Path) -> bool:
    """Whether a run of the article would send any sentence to the model: read, terms and memory, no model loaded.

    An editor's corrections not yet harvested are not looked at: a harvest mostly approves sentences, which gives
    the model nothing to do; where it does leave the model work (an approval withdrawn, or set aside under
    ``--strict-terms``), the run's translator loads the model when it gets there, as it would anyway.
    """
    memory_path = settings.memory_path(out_dir)
    if memory_path is None or not memory_path.is_file():
        return True  # no memory, or none yet: everything goes to the model
    document = read_article(source)
    matches = find_terms(document, load_terms(settings))
    translator = RunTranslator(settings.resolve_model(), settings.backend, threads=settings.threads)
    with open_memory(memory_path) as memory:
        work = prepare(document.segments, matches, translator, settings, memory=memory)
    return any(is_translatable(segment.text) for segment in work.pending)


def load_model_if_needed(source: Path, settings: RunSettings, out_dir: Path, timings: Timings | None = None, *,
                         announce: Callable[[str], None] | None = None) -> bool:
    """Load the run's model now (into this process's cache) if the article needs it (:func:`needs_model`).

    For a caller with something else to do meanwhile (the CLI's Prefect server boots while the model loads);
    the load counts as the run's ``model_load``. ``announce`` hears what is being done, for a status line.
    Returns whether the article needs the model.
    """
    say = announce or (lambda _what: None)
    if not needs_model(source, settings, out_dir):
        say("every sentence is in the memory: no model to load")
        return False
    model = settings.resolve_model()
    say(f"loading {model.name} ({settings.backend})")
    load_translator(model, settings.backend, threads=settings.threads, timings=timings)
    return True


def translate_with_memory(document: Document, matches: list[TermMatch], translator: Translator,
                          settings: RunSettings, out_dir: Path, *, show_progress: bool = False,
                          progress_displays: Sequence[ProgressDisplay] = ()) -> TranslatedArticle:
    """Harvest an editor's unsaved corrections, then translate what the memory does not already hold.

    Progress goes to a terminal bar with ``show_progress`` and to ``progress_displays`` (the Prefect UI's).
    """
    memory_path = settings.memory_path(out_dir)
    with open_memory(memory_path) if memory_path else nullcontext() as memory:
        work, harvested = prepare_with_memory(document, matches, translator, settings, out_dir, memory)
        with progress_bar(work.pending_inputs, document.path.name, enabled=show_progress,
                          displays=progress_displays) as progress:
            translations = work.run(progress)
    return TranslatedArticle(translations, memory_figures(work, memory_path, harvested))


def prepare_with_memory(document: Document, matches: list[TermMatch], translator: Translator, settings: RunSettings,
                        out_dir: Path, memory: TranslationMemory | None
                        ) -> tuple[IncrementalTranslation, BilingualImport | None]:
    """Harvest an editor's unsaved corrections of the article into ``memory``, then look its sentences up there.

    What the memory lacks is left pending (:class:`~tarjama.translate.incremental.IncrementalTranslation`).
    """
    harvested = harvest_bilingual(out_dir, document.stem, memory) if memory is not None else None
    return prepare(document.segments, matches, translator, settings, memory=memory), harvested


def memory_figures(work: IncrementalTranslation, memory_path: Path | None, harvested: BilingualImport | None
                   ) -> dict | None:
    """The run record's ``memory`` object of an article translated through the memory (``None`` without one)."""
    if not memory_path:
        return None
    harvest = None if harvested is None else {"approved": harvested.segment_ids, "withdrawn": list(harvested.withdrawn),
                                              "warnings": list(harvested.warnings)}
    # "harvest" only when an editor's file was harvested (what it approved, withdrew and warned of).
    return {**work.stats.to_json(str(memory_path)), "harvested": harvested.stored if harvested else 0,
            **({"harvest": harvest} if harvest else {})}


def publish_locked(record: RunRecord, out_dir: Path) -> Published:
    """Write the article's outputs atomically, one run at a time per article.

    Raises :class:`~tarjama.publish.publisher.SourceGone` when the article was removed since it was read,
    and :class:`~tarjama.publish.publisher.SourceChanged` when it changed (checked under the lock).
    """
    with timed(Stage.PUBLISH, record.timings), article_lock(out_dir, record.document.stem):
        # A run of a file publishes only while the file is still there (``publish`` alone also takes
        # records of text that never was a file); ``publish`` then checks the bytes again, under the lock.
        check_source(record)
        return publish(record, out_dir)


@dataclass(frozen=True)
class WorkerResult:
    """An article's outputs, and which process made them with how many model loads."""

    published: Published
    process: int
    models_loaded: int
    seconds: float = 0.0  # the article's wall time on the worker, reading to publishing


def translate_and_publish(source: Path, settings: RunSettings, out_dir: Path, *, model: ResolvedModel | None = None,
                          reference: Path | None = None) -> WorkerResult:
    """Read, find terms, translate through the memory, score and publish one article: the flow's steps in one call.

    ``model`` is ``settings``' model already resolved (resolved here when not given).
    """
    started = time.monotonic()
    timings = Timings()  # the article's run starts here, wherever this process started
    model = model or settings.resolve_model()
    document = read_document(source, timings)
    glossary = load_terms(settings, timings)
    matches = match_terms(document, glossary, timings)
    translated = translate_article_text(document, matches, model, settings, out_dir, timings=timings)
    record = build_record(document, translated, model, settings, glossary, reference, timings=timings)
    # The paths travel back from a worker, not the record with its article and glossary.
    published = replace(publish_locked(record, out_dir), run=None)
    return WorkerResult(published, os.getpid(), len(loaded_models()), time.monotonic() - started)
