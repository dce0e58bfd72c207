"""One article's steps as plain Python, and the whole run in one call: what a Dask worker runs.

The Prefect flow ``translate_article`` runs these steps as separate tasks; ``translate_and_publish``
runs them in one call, on whatever process receives the article (the model loads once per process).
"""

from __future__ import annotations

import os
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from tarjama.exchange.bilingual import harvest_bilingual
from tarjama.memory.store import default_memory_path, open_memory
from tarjama.publish.outputs import check_outputs
from tarjama.publish.publisher import Published, article_lock, check_source, publish
from tarjama.publish.record import RunRecord, build_segment_records, count_terms
from tarjama.scores.scoring import read_reference
from tarjama.terms.entries import Glossary
from tarjama.terms.glossary import load_glossary
from tarjama.terms.matching import TermMatch, find_terms
from tarjama.text.articles import Document, read_article
from tarjama.text.inputs import check_name_utf8
from tarjama.translate.backends import load_translator
from tarjama.translate.incremental import prepare
from tarjama.translate.pipeline import SegmentTranslation
from tarjama.translate.progress import progress_bar
from tarjama.translate.registry import ResolvedModel, resolve_model
from tarjama.translate.types import DecodingOptions, Translator


def check_article_run(source: Path, out_dir: Path, *, glossary: Path | None = None, reference: Path | None = None,
                      memory: Path | None = None, use_memory: bool = True) -> None:
    """Everything the user can get wrong about an article run, checked before Prefect starts or a model loads.

    The article, the names of every path given, the glossary, the reference against the article's paragraphs,
    the outputs folder and the memory the run will use (``memory``, else the one under ``out_dir``).
    """
    document = read_article(source)
    for what, path in (("article", source), ("glossary", glossary), ("reference", reference),
                       ("outputs folder", out_dir), ("memory", memory)):
        if path is not None:
            check_name_utf8(path, what)
    if glossary:
        load_glossary(glossary)
    if reference:
        read_reference(reference, len(document.paragraphs))
    check_outputs(out_dir, (memory or default_memory_path(out_dir)) if use_memory else None)


@dataclass(frozen=True)
class TranslatedArticle:
    """Every segment's English, and what came from the memory (``None`` without a memory)."""

    translations: list[SegmentTranslation]
    memory: dict | None


def translate_with_memory(document: Document, matches: list[TermMatch], translator: Translator,
                          options: DecodingOptions, *, strict_terms: bool, memory_path: Path | None,
                          out_dir: Path, show_progress: bool = False) -> TranslatedArticle:
    """Harvest an editor's unsaved corrections, then translate what the memory does not already hold."""
    with open_memory(memory_path) if memory_path else nullcontext() as memory:
        harvested = harvest_bilingual(out_dir, document.stem, memory) if memory is not None else None
        work = prepare(document.segments, matches, translator, options, strict_terms=strict_terms, memory=memory)
        with progress_bar(work.pending_inputs, f"Translating {document.path.name}",
                          enabled=show_progress) as progress:
            translations = work.run(progress)
    harvest = None if harvested is None else {"approved": harvested.segment_ids, "withdrawn": list(harvested.withdrawn),
                                              "warnings": list(harvested.warnings)}
    # "harvest" only when an editor's file was harvested (what it approved, withdrew and warned of).
    stats = ({**work.stats.to_json(str(memory_path)), "harvested": harvested.stored if harvested else 0,
              **({"harvest": harvest} if harvest else {})} if memory_path else None)
    return TranslatedArticle(translations, stats)


def build_record(document: Document, translated: TranslatedArticle, model: ResolvedModel, backend: str,
                 options: DecodingOptions, glossary: Glossary | None, strict_terms: bool) -> RunRecord:
    """The run record: segments with their terms and flags, term figures, memory figures."""
    segments = build_segment_records(document, translated.translations)
    return RunRecord(document=document, model=model, backend=backend, decoding=options, glossary=glossary,
                     strict_terms=strict_terms, segments=segments, scores=count_terms(segments),
                     memory=translated.memory)


def publish_locked(record: RunRecord, out_dir: Path) -> Published:
    """Write the article's outputs atomically, one run at a time per article.

    Raises :class:`~tarjama.publish.publisher.SourceGone` when the article was removed since it was read,
    and :class:`~tarjama.publish.publisher.SourceChanged` when it changed (checked under the lock).
    """
    with article_lock(out_dir, record.document.stem):
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


def translate_and_publish(source: Path, model: str, out_dir: Path, *, glossary: Path | None = None,
                          backend: str = "transformers", strict_terms: bool = False, beam_size: int = 4,
                          revision: str | None = None, use_memory: bool = True, threads: int | None = None,
                          options: DecodingOptions | None = None) -> WorkerResult:
    """Read, find terms, translate through the memory, score and publish one article.

    ``options`` replaces the default decoding options; its beam must then agree with ``beam_size``.
    """
    from tarjama.translate import backends

    started = time.monotonic()
    resolved = resolve_model(model, revision)
    if options is not None and options.beam_size != beam_size:
        raise ValueError(f"beam_size={beam_size} but options.beam_size={options.beam_size}")
    options = options or DecodingOptions(beam_size=beam_size)
    document = read_article(source)
    terms = load_glossary(glossary) if glossary else None
    matches = find_terms(document, terms)
    translator = load_translator(resolved, backend, threads=threads)
    memory_path = default_memory_path(out_dir) if use_memory else None
    translated = translate_with_memory(document, matches, translator, options, strict_terms=strict_terms,
                                       memory_path=memory_path, out_dir=out_dir)
    record = build_record(document, translated, resolved, backend, options, terms, strict_terms)
    published = publish_locked(record, out_dir)
    return WorkerResult(published, os.getpid(), len(backends.loaded_models()), time.monotonic() - started)
