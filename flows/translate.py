"""Translate articles: one article, or every article of a folder."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from prefect import Task, flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun

from tarjama.backends import DecodingOptions, load_translator
from tarjama.documents import Document, articles_in, read_article
from tarjama.errors import InputError, RunError, TarjamaError
from tarjama.glossary import Glossary, load_glossary
from tarjama.matching import TermMatch, find_terms
from tarjama.pipeline import SegmentTranslation, plan_translation, run_translation
from tarjama.progress import progress_bar
from tarjama.publishing import Published, publish
from tarjama.records import RunRecord, build_segment_records, count_terms
from tarjama.registry import DEFAULT_MODEL, ResolvedModel, resolve_model
from tarjama.report import scores_markdown
from tarjama.scoring import corpus_scores, read_reference, sentence_chrf

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


# Failures of the machine that a second try may not meet: I/O, memory, a lost worker or device.
TRANSIENT_ERRORS = (OSError, MemoryError, RuntimeError, TimeoutError)


def _transient(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry failures of the machine, not bad input or bugs that would fail the same way again."""
    try:
        state.result()
    except TarjamaError as exc:
        return not isinstance(exc, InputError)
    except TRANSIENT_ERRORS:
        return True
    except Exception:  # noqa: BLE001 - anything else is deterministic: fail at once
        return False
    return False


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=_transient, **_UNCACHED)
def translate(document: Document, matches: list[TermMatch], model: ResolvedModel, backend: str,
              options: DecodingOptions, strict_terms: bool, show_progress: bool) -> list[SegmentTranslation]:
    """Translate every segment with the model (loaded once per process), enforcing glossary terms."""
    translator = load_translator(model, backend)
    plan = plan_translation(document.segments, translator, options)
    with progress_bar(len(plan.units), f"Translating {document.path.name}", enabled=show_progress) as progress:
        return run_translation(plan, translator, options, progress, matches, strict_terms=strict_terms)


@task(**_UNCACHED)
def score(document: Document, translations: list[SegmentTranslation], model: ResolvedModel, backend: str,
          options: DecodingOptions, glossary: Glossary | None, reference: Path | None,
          strict_terms: bool) -> RunRecord:
    """Gather the record: term figures, and scores against the reference if there is one."""
    segments = build_segment_records(document, translations)
    record = RunRecord(document=document, model=model, backend=backend, decoding=options, glossary=glossary,
                       strict_terms=strict_terms, segments=segments, scores=count_terms(segments),
                       reference_path=str(reference) if reference else None)
    if reference is not None:
        references = read_reference(reference, len(document.paragraphs))
        english = record.paragraph_english()
        scores = replace(record.scores, reference=corpus_scores(english, references),
                         paragraph_chrf=tuple(sentence_chrf(english, references)))
        record = replace(record, scores=scores, reference_lines=tuple(references))
    create_markdown_artifact(key=_artifact_key(document), markdown=scores_markdown(record),
                             description=f"Scores of {document.path.name}")
    return record


def _artifact_key(document: Document) -> str:
    """Prefect artifact keys allow lower-case letters, digits and dashes only."""
    return "scores-" + (re.sub(r"[^a-z0-9]+", "-", document.stem.lower()).strip("-") or "article")


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
    translations = translate(document, matches, resolved, backend, options, strict_terms, show_progress)
    record = score(document, translations, resolved, backend, options, terms, reference, strict_terms)
    return publish_outputs(record, out_dir)


@dataclass(frozen=True)
class ArticleOutcome:
    """What became of one article of a folder run."""

    article: Path
    published: Published | None = None
    error: str | None = None


@flow(name="translate-folder")
def translate_folder(inbox: Path, model: str = DEFAULT_MODEL, glossary: Path | None = None,
                     out_dir: Path = Path("outputs"), backend: str = "transformers",
                     strict_terms: bool = False, beam_size: int = 4) -> list[ArticleOutcome]:
    """Translate every article of a folder with one loaded model; a failing article does not stop the rest."""
    outcomes = []
    for article in articles_in(inbox):
        state = translate_article(article, model=model, glossary=glossary, out_dir=out_dir, backend=backend,
                                  strict_terms=strict_terms, beam_size=beam_size, return_state=True)
        if state.is_completed():
            outcomes.append(ArticleOutcome(article, published=state.result()))
            continue
        error = state.result(raise_on_failure=False)
        reason = error.describe() if isinstance(error, TarjamaError) else f"{type(error).__name__}: {error}"
        outcomes.append(ArticleOutcome(article, error=reason))
    failed = [outcome for outcome in outcomes if outcome.error]
    if failed:
        # Raised after every other article is published, so the run shows as failed in Prefect.
        raise RunError(f"{len(failed)} of {len(outcomes)} articles failed: "
                       + "; ".join(f"{outcome.error}" for outcome in failed))
    return outcomes
