"""Translate articles: one article, or every article of a folder."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from prefect import Task, flow, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun

from tarjama.backends import DecodingOptions, load_translator
from tarjama.documents import Document, read_article
from tarjama.errors import InputError, TarjamaError
from tarjama.glossary import Glossary, TermMatch, find_terms, load_glossary
from tarjama.pipeline import SegmentTranslation, translate_segments
from tarjama.progress import progress_bar
from tarjama.publishing import Published, publish
from tarjama.records import RunRecord, build_segment_records, count_terms
from tarjama.registry import DEFAULT_MODEL, ResolvedModel, resolve_model
from tarjama.scoring import corpus_scores, read_reference

# Caching across runs is the translation memory's job; Prefect's input hashing would only cost time here.
_UNCACHED = {"cache_policy": NO_CACHE}


@task(**_UNCACHED)
def read_and_segment(source: Path) -> Document:
    """Read the article and split it into paragraphs and sentences."""
    return read_article(source)


@task(**_UNCACHED)
def load_terms(glossary_path: Path | None) -> Glossary | None:
    """Load the glossary, if one was given."""
    return load_glossary(glossary_path) if glossary_path else None


@task(**_UNCACHED)
def find_glossary_terms(document: Document, glossary: Glossary | None) -> list[TermMatch]:
    """Find every glossary term in the article."""
    return find_terms(document, glossary)


def _transient(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry failures of the machine (memory, I/O), not bad input that would fail again."""
    try:
        state.result()
    except TarjamaError as exc:
        return exc.exit_code != InputError.exit_code
    except Exception:  # noqa: BLE001 - anything else may be transient
        return True
    return False


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=_transient, **_UNCACHED)
def translate(document: Document, model: ResolvedModel, backend: str, options: DecodingOptions,
              show_progress: bool) -> list[SegmentTranslation]:
    """Translate every segment with the model (loaded once per process)."""
    translator = load_translator(model, backend)
    segments = document.segments
    with progress_bar(len(segments), f"Translating {document.path.name}", enabled=show_progress) as progress:
        return translate_segments(segments, translator, options, progress)


@task(**_UNCACHED)
def score(document: Document, translations: list[SegmentTranslation], matches: list[TermMatch],
          model: ResolvedModel, backend: str, options: DecodingOptions, glossary: Glossary | None,
          reference: Path | None, strict_terms: bool) -> RunRecord:
    """Check glossary terms and score against the reference, if any."""
    segments = build_segment_records(document, translations, matches, strict_terms=strict_terms)
    record = RunRecord(document=document, model=model, backend=backend, decoding=options, glossary=glossary,
                       strict_terms=strict_terms, segments=segments, scores=count_terms(segments),
                       reference_path=str(reference) if reference else None)
    if reference is None:
        return record
    references = read_reference(reference, len(document.paragraphs))
    return replace(record, scores=replace(record.scores,
                                          reference=corpus_scores(record.paragraph_english(), references)))


@task(**_UNCACHED)
def publish_outputs(record: RunRecord, out_dir: Path) -> Published:
    """Write the bilingual Markdown, the English Markdown and the run record, atomically."""
    return publish(record, out_dir)


@flow(name="translate-article")
def translate_article(source: Path, model: str = DEFAULT_MODEL, glossary: Path | None = None,
                      reference: Path | None = None, out_dir: Path = Path("outputs"),
                      backend: str = "transformers", strict_terms: bool = False, beam_size: int = 4,
                      revision: str | None = None, show_progress: bool = False) -> Published:
    """Segment, find terms, translate, score and publish one Arabic article."""
    resolved = resolve_model(model, revision)
    options = DecodingOptions(beam_size=beam_size)
    document = read_and_segment(source)
    terms = load_terms(glossary)
    matches = find_glossary_terms(document, terms)
    translations = translate(document, resolved, backend, options, show_progress)
    record = score(document, translations, matches, resolved, backend, options, terms, reference, strict_terms)
    return publish_outputs(record, out_dir)


@flow(name="translate-folder")
def translate_folder(inbox: Path, model: str = DEFAULT_MODEL, glossary: Path | None = None,
                     out_dir: Path = Path("outputs"), backend: str = "transformers",
                     strict_terms: bool = False, beam_size: int = 4) -> list[Published]:
    """Translate every ``*.txt`` article of a folder, one after another, with one loaded model."""
    return [
        translate_article(article, model=model, glossary=glossary, out_dir=out_dir, backend=backend,
                          strict_terms=strict_terms, beam_size=beam_size)
        for article in sorted(Path(inbox).glob("*.txt"))
    ]
