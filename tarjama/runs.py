"""One article from file to published outputs as plain Python: what a Dask worker runs.

The Prefect flow ``translate_article`` runs the same steps as separate tasks; here they run in one
call, on whatever process receives the article (the model loads once per process).
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from tarjama.backends import DecodingOptions, load_translator
from tarjama.documents import read_article
from tarjama.exchange import harvest_corrections
from tarjama.glossary import load_glossary
from tarjama.incremental import prepare
from tarjama.matching import find_terms
from tarjama.memory import default_memory_path, open_memory
from tarjama.publishing import Published, article_lock, publish
from tarjama.records import RunRecord, build_segment_records, count_terms
from tarjama.registry import resolve_model


@dataclass(frozen=True)
class WorkerResult:
    """An article's outputs, and which process made them with how many model loads."""

    published: Published
    process: int
    models_loaded: int


def translate_and_publish(source: Path, model: str, out_dir: Path, *, glossary: Path | None = None,
                          backend: str = "transformers", strict_terms: bool = False, beam_size: int = 4,
                          revision: str | None = None, use_memory: bool = True, threads: int | None = None,
                          options: DecodingOptions | None = None) -> WorkerResult:
    """Read, find terms, translate through the memory, score and publish one article.

    ``options`` replaces the default decoding options; its beam must then agree with ``beam_size``.
    """
    from tarjama import backends

    resolved = resolve_model(model, revision)
    if options is not None and options.beam_size != beam_size:
        raise ValueError(f"beam_size={beam_size} but options.beam_size={options.beam_size}")
    options = options or DecodingOptions(beam_size=beam_size)
    document = read_article(source)
    terms = load_glossary(glossary) if glossary else None
    matches = find_terms(document, terms)
    translator = load_translator(resolved, backend, threads=threads)
    memory_path = default_memory_path(out_dir) if use_memory else None
    with open_memory(memory_path) if memory_path else nullcontext() as memory:
        harvested = harvest_corrections(out_dir, document.stem, memory) if memory is not None else 0
        work = prepare(document.segments, matches, translator, options, strict_terms=strict_terms, memory=memory)
        translations = work.run()
    segments = build_segment_records(document, translations)
    record = RunRecord(document=document, model=resolved, backend=backend, decoding=options, glossary=terms,
                       strict_terms=strict_terms, segments=segments, scores=count_terms(segments))
    if memory_path:
        record = replace(record, memory={**work.stats.to_json(str(memory_path)), "harvested": harvested})
    with article_lock(out_dir, document.stem):
        published = publish(record, out_dir)
    return WorkerResult(published, os.getpid(), len(backends.loaded_models()))
