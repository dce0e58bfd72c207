"""Translate articles: one article, or every article of a folder."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import Task, flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun

from tarjama.backends import DecodingOptions, load_translator
from tarjama.documents import Document, articles_in, read_article
from tarjama.errors import InputError, RunError, TarjamaError
from tarjama.glossary import Glossary, load_glossary
from tarjama.inbox import is_current, log_run
from tarjama.matching import TermMatch, find_terms
from tarjama.memory import default_memory_path
from tarjama.publishing import Published
from tarjama.records import RunRecord
from tarjama.registry import DEFAULT_MODEL, ResolvedModel, resolve_model
from tarjama.report import scores_markdown
from tarjama.runs import (
    TranslatedArticle,
    WorkerResult,
    build_record,
    publish_locked,
    translate_and_publish,
    translate_with_memory,
)
from tarjama.scoring import corpus_scores, read_reference, sentence_chrf

if TYPE_CHECKING:
    from prefect_dask import DaskTaskRunner

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
              options: DecodingOptions, strict_terms: bool, show_progress: bool,
              memory_path: Path | None, out_dir: Path, threads: int | None = None) -> TranslatedArticle:
    """Translate what the memory does not already hold (model loaded once per process), enforcing terms."""
    return translate_with_memory(document, matches, load_translator(model, backend, threads=threads), options,
                                 strict_terms=strict_terms, memory_path=memory_path, out_dir=out_dir,
                                 show_progress=show_progress)


@task(**_UNCACHED)
def score(document: Document, translated: TranslatedArticle, model: ResolvedModel, backend: str,
          options: DecodingOptions, glossary: Glossary | None, reference: Path | None,
          strict_terms: bool) -> RunRecord:
    """Gather the record: term figures, and scores against the reference if there is one."""
    record = build_record(document, translated, model, backend, options, glossary, strict_terms)
    if reference is not None:
        references = read_reference(reference, len(document.paragraphs))
        english = record.paragraph_english()
        scores = replace(record.scores, reference=corpus_scores(english, references),
                         paragraph_chrf=tuple(sentence_chrf(english, references)))
        record = replace(record, scores=scores, reference_lines=tuple(references), reference_path=str(reference))
    create_markdown_artifact(key=_artifact_key(document), markdown=scores_markdown(record),
                             description=f"Scores of {document.path.name}")
    return record


def _artifact_key(document: Document) -> str:
    """Prefect artifact keys allow lower-case letters, digits and dashes only."""
    return "scores-" + (re.sub(r"[^a-z0-9]+", "-", document.stem.lower()).strip("-") or "article")


@task(**_UNCACHED)
def publish_outputs(record: RunRecord, out_dir: Path) -> Published:
    """Write the article's outputs atomically, one run at a time per article."""
    return publish_locked(record, out_dir)


@flow(name="translate-article")
def translate_article(source: Path, model: str = DEFAULT_MODEL, glossary: Path | None = None,
                      reference: Path | None = None, out_dir: Path = Path("outputs"),
                      backend: str = "transformers", strict_terms: bool = False, beam_size: int = 4,
                      revision: str | None = None, show_progress: bool = False, memory: Path | None = None,
                      use_memory: bool = True, threads: int | None = None) -> Published:
    """Segment, find terms, translate (through the memory), score and publish one Arabic article."""
    resolved = resolve_model(model, revision)
    options = DecodingOptions(beam_size=beam_size)
    memory_path = (memory or default_memory_path(Path(out_dir))) if use_memory else None
    document = read_and_segment(source)
    terms = load_terms(glossary)
    matches = find_glossary_terms(document, terms)
    translated = translate(document, matches, resolved, backend, options, strict_terms, show_progress, memory_path,
                           Path(out_dir), threads)
    record = score(document, translated, resolved, backend, options, terms, reference, strict_terms)
    return publish_outputs(record, out_dir)


@dataclass(frozen=True)
class ArticleOutcome:
    """What became of one article of a folder run."""

    article: Path
    published: Published | None = None
    error: str | None = None
    skipped: bool = False

    def to_json(self) -> dict:
        """The article's line in the inbox log."""
        status = "failed" if self.error else "skipped" if self.skipped else "translated"
        return {"article": str(self.article), "status": status, "error": self.error}


@task(**_UNCACHED)
def is_up_to_date(article: Path, out_dir: Path, model: ResolvedModel, backend: str, beam_size: int,
                  strict_terms: bool, glossary: Path | None) -> bool:
    """Whether the article's outputs already come from its current text and these settings."""
    return is_current(article, out_dir, model, backend, beam_size, strict_terms, glossary)


@flow(name="translate-folder")
def translate_folder(inbox: Path, model: str = DEFAULT_MODEL, glossary: Path | None = None,
                     out_dir: Path = Path("outputs"), backend: str = "transformers",
                     strict_terms: bool = False, beam_size: int = 4, only_changed: bool = False,
                     revision: str | None = None, threads: int | None = None) -> list[ArticleOutcome]:
    """Translate every article of a folder (or only new and changed ones) with one loaded model.

    A failing article does not stop the rest; each run appends what it did to the inbox log.
    """
    resolved = resolve_model(model, revision)
    outcomes = []
    for article in articles_in(inbox):
        if only_changed and is_up_to_date(article, out_dir, resolved, backend, beam_size, strict_terms, glossary):
            outcomes.append(ArticleOutcome(article, skipped=True))
            continue
        state = translate_article(article, model=model, glossary=glossary, out_dir=out_dir, backend=backend,
                                  strict_terms=strict_terms, beam_size=beam_size, revision=revision,
                                  threads=threads, return_state=True)
        if state.is_completed():
            outcomes.append(ArticleOutcome(article, published=state.result()))
            continue
        error = state.result(raise_on_failure=False)
        reason = error.describe() if isinstance(error, TarjamaError) else f"{type(error).__name__}: {error}"
        outcomes.append(ArticleOutcome(article, error=reason))
    log_run(out_dir, [outcome.to_json() for outcome in outcomes])
    create_table_artifact(key="inbox-run", table=[outcome.to_json() for outcome in outcomes],
                          description=f"Articles of {inbox} in this run")
    failed = [outcome for outcome in outcomes if outcome.error]
    if failed:
        # Raised after every other article is published, so the run shows as failed in Prefect.
        raise RunError(f"{len(failed)} of {len(outcomes)} articles failed: "
                       + "; ".join(f"{outcome.error}" for outcome in failed))
    return outcomes


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=_transient, **_UNCACHED)
def translate_on_worker(article: Path, model: str, out_dir: Path, glossary: Path | None, backend: str,
                        strict_terms: bool, beam_size: int, revision: str | None,
                        threads: int | None = None) -> WorkerResult:
    """Translate and publish one article wherever the task runner puts it (a Dask worker, say)."""
    return translate_and_publish(article, model, out_dir, glossary=glossary, backend=backend,
                                 strict_terms=strict_terms, beam_size=beam_size, revision=revision, threads=threads)


def dask_runner(address: str | None = None, workers: int = 2) -> DaskTaskRunner:
    """A Dask task runner: the cluster at ``address``, or a local cluster of ``workers`` processes."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None})


@flow(name="translate-folder-distributed")
def translate_folder_distributed(inbox: Path, model: str = DEFAULT_MODEL, glossary: Path | None = None,
                                 out_dir: Path = Path("outputs"), backend: str = "transformers",
                                 strict_terms: bool = False, beam_size: int = 4, only_changed: bool = False,
                                 revision: str | None = None, threads: int | None = None) -> list[WorkerResult]:
    """Like ``translate_folder``, with the articles translated in parallel on the flow's task runner.

    Run it with ``translate_folder_distributed.with_options(task_runner=dask_runner(...))``; give
    ``threads`` = cores per worker process, or the workers of one machine compete for its cores.
    """
    resolved = resolve_model(model, revision)
    articles, entries = [], []
    for article in articles_in(inbox):
        if only_changed and is_current(article, out_dir, resolved, backend, beam_size, strict_terms, glossary):
            entries.append(ArticleOutcome(article, skipped=True).to_json())
        else:
            articles.append(article)
    futures = translate_on_worker.map(articles, model, out_dir, glossary, backend, strict_terms, beam_size,
                                      revision, threads)
    results, errors = [], []
    for article, future in zip(articles, futures, strict=True):
        try:
            results.append(future.result())
            entries.append({"article": str(article), "status": "translated", "error": None})
        except Exception as exc:  # noqa: BLE001 - every article's fate is logged; the run fails after
            reason = exc.describe() if isinstance(exc, TarjamaError) else f"{type(exc).__name__}: {exc}"
            errors.append(reason)
            entries.append({"article": str(article), "status": "failed", "error": reason})
    log_run(out_dir, entries)
    if errors:
        raise RunError(f"{len(errors)} of {len(articles)} articles failed: " + "; ".join(errors))
    return results
