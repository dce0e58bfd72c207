"""Translate articles: one article, or every article of a folder."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.runtime import flow_run

from tarjama.errors import InputError, RunError, TarjamaError, printable
from tarjama.memory.store import default_memory_path
from tarjama.publish.publisher import NEXT_RUN_TAKES_IT, Published, SourceChanged, SourceGone, source_changed
from tarjama.publish.record import RunRecord
from tarjama.publish.report import scores_markdown
from tarjama.runs.article import (
    TranslatedArticle,
    WorkerResult,
    build_record,
    publish_locked,
    translate_and_publish,
    translate_with_memory,
)
from tarjama.runs.inbox import (
    ArticleOutcome,
    ArticleStatus,
    FileState,
    UnreadableArticles,
    Verdict,
    log_run,
    note_busy,
    run_failures,
    triage,
)
from tarjama.scores.scoring import corpus_scores, read_reference, sentence_chrf
from tarjama.terms.entries import Glossary
from tarjama.terms.glossary import load_glossary
from tarjama.terms.matching import TermMatch, find_terms
from tarjama.text.articles import Document, articles_in, read_article
from tarjama.text.inputs import name_is_utf8
from tarjama.translate.backends import load_translator
from tarjama.translate.registry import DEFAULT_MODEL, ResolvedModel, resolve_model
from tarjama.translate.types import DecodingOptions

if TYPE_CHECKING:
    from prefect_dask import DaskTaskRunner

# Caching across runs is the translation memory's job; Prefect's input hashing would only cost time here.
_UNCACHED = {"cache_policy": NO_CACHE}


def _stem(value: object) -> str:
    if isinstance(value, Document):
        return value.stem
    if isinstance(value, RunRecord):
        return value.document.stem
    return printable(Path(str(value)).stem)  # a name that is not UTF-8 cannot go to the API as it is


def _named(verb: str, parameter: str) -> Callable[..., str]:
    """A task run name after the article, e.g. "check crocus-city-hall" (Prefect's default is a number)."""
    def name(parameters: dict) -> str:
        return f"{verb} {_stem(parameters.get(parameter, ''))}"
    return name


def _article_run_name() -> str:
    return f"translate {_stem(flow_run.parameters.get('source', ''))}"


@task(task_run_name=_named("read", "source"), **_UNCACHED)
def read_and_segment(source: Path) -> Document:
    """Read the article and split it into paragraphs and sentences."""
    return read_article(source)


@task(task_run_name="load glossary", **_UNCACHED)
def load_terms(glossary_path: Path | None) -> Glossary | None:
    """Load the glossary, if one was given."""
    return load_glossary(glossary_path) if glossary_path else None


@task(task_run_name=_named("find terms in", "document"), **_UNCACHED)
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


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=_transient, task_run_name=_named("translate", "document"),
      **_UNCACHED)
def translate(document: Document, matches: list[TermMatch], model: ResolvedModel, backend: str,
              options: DecodingOptions, strict_terms: bool, show_progress: bool,
              memory_path: Path | None, out_dir: Path, threads: int | None = None) -> TranslatedArticle:
    """Translate what the memory does not already hold (model loaded once per process), enforcing terms."""
    return translate_with_memory(document, matches, load_translator(model, backend, threads=threads), options,
                                 strict_terms=strict_terms, memory_path=memory_path, out_dir=out_dir,
                                 show_progress=show_progress)


@task(task_run_name=_named("score", "document"), **_UNCACHED)
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


@task(task_run_name=_named("publish", "record"), **_UNCACHED)
def publish_outputs(record: RunRecord, out_dir: Path) -> Published:
    """Write the article's outputs atomically, one run at a time per article."""
    return publish_locked(record, out_dir)


@flow(name="translate-article", flow_run_name=_article_run_name)
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


@task(task_run_name=_named("check", "article"), **_UNCACHED)
def check_article(article: Path, out_dir: Path, model: ResolvedModel, backend: str, beam_size: int,
                  strict_terms: bool, glossary: Path | None, only_changed: bool, settle_seconds: float,
                  unreadable: UnreadableArticles | None) -> Verdict:
    """Whether to take the article now: gone, still settling, known unreadable, up to date, or to translate."""
    return triage(article, out_dir, model=model, backend=backend, beam_size=beam_size, strict_terms=strict_terms,
                  glossary=glossary, only_changed=only_changed, settle_seconds=settle_seconds,
                  unreadable=unreadable)


def _reason(error: BaseException) -> str:
    return error.describe() if isinstance(error, TarjamaError) else f"{type(error).__name__}: {error}"


def _not_published(article: Path, error: BaseException, seconds: float, flow_run_id: str | None = None, *,
                   only_changed: bool = False) -> ArticleOutcome:
    """A failed article's outcome: gone and changed are statuses of their own, not failures.

    In an inbox run (``only_changed``) a changed article says that the next run takes it, not to translate it again.
    """
    if only_changed and isinstance(error, SourceChanged) and error.path:
        error = source_changed(Path(error.path), then=NEXT_RUN_TAKES_IT)
    status = (ArticleStatus.GONE if isinstance(error, SourceGone)
              else ArticleStatus.CHANGED if isinstance(error, SourceChanged) else ArticleStatus.FAILED)
    if status is ArticleStatus.FAILED:
        return ArticleOutcome(article, status, error=_reason(error), seconds=seconds, flow_run_id=flow_run_id)
    return ArticleOutcome(article, status, reason=_reason(error), seconds=seconds, flow_run_id=flow_run_id)


class InboxRun:
    """One run over an inbox folder: which articles to take, and what to log and show of each."""

    def __init__(self, inbox: Path, out_dir: Path, *, only_changed: bool, echo: bool) -> None:
        self.inbox, self.out_dir, self.only_changed, self.echo = Path(inbox), Path(out_dir), only_changed, echo
        self.articles = articles_in(inbox)
        # Remembered only for scheduled (inbox) runs: an explicit folder run reports every bad file again.
        self.unreadable = UnreadableArticles.load(self.out_dir) if only_changed else None
        self.outcomes: list[ArticleOutcome] = []
        self.started = datetime.now(UTC)
        self.clock = time.monotonic()

    def add(self, outcome: ArticleOutcome, state: FileState | None = None) -> None:
        """Note what became of an article: in the terminal (``echo``), Prefect's log, and the unreadable list."""
        self.outcomes.append(outcome)
        get_run_logger().info(outcome.line())
        if self.echo:
            print(outcome.line(), file=sys.stderr, flush=True)
        if self.unreadable is not None and outcome.known_bad and outcome.failed and state is not None:
            self.unreadable.remember(outcome.article, state, outcome.error)

    def finish(self) -> None:
        """Log the run (``OUT/.tarjama/inbox-log.jsonl`` and a Prefect table), forget articles gone or readable.

        Raises :class:`RunError` after every article is dealt with when any failed for real: not for
        bad input of an article's own in an inbox run (reported once, in the log and the terminal).
        """
        if self.unreadable is not None:
            self.unreadable.keep_only(o.article for o in self.outcomes if o.known_bad)
        entries = [outcome.to_json() for outcome in self.outcomes]
        log_run(self.out_dir, entries, flow_run_id=str(flow_run.id) if flow_run.id else None,
                flow_run_name=flow_run.name, started=self.started.isoformat(timespec="seconds"),
                seconds=round(time.monotonic() - self.clock, 3))
        create_table_artifact(key="inbox-run", table=[outcome.table_row() for outcome in self.outcomes],
                              description=f"Articles of {self.inbox} in this run")
        failed = run_failures(self.outcomes, only_changed=self.only_changed)
        if failed:
            # Raised after every other article is published, so the run shows as failed in Prefect.
            raise RunError(f"{len(failed)} of {len(self.outcomes)} articles failed: "
                           + "; ".join(f"{outcome.error}" for outcome in failed))


def _folder_run_name() -> str:
    return f"inbox {printable(Path(str(flow_run.parameters.get('inbox', ''))).name)}"


@flow(name="translate-folder", flow_run_name=_folder_run_name)
def translate_folder(inbox: Path, model: str = DEFAULT_MODEL, glossary: Path | None = None,
                     out_dir: Path = Path("outputs"), backend: str = "transformers",
                     strict_terms: bool = False, beam_size: int = 4, only_changed: bool = False,
                     revision: str | None = None, threads: int | None = None, settle_seconds: float = 0.0,
                     echo: bool = False) -> list[ArticleOutcome]:
    """Translate every article of a folder (or only new and changed ones) with one loaded model.

    An article is taken once unchanged for ``settle_seconds`` (``tarjama serve`` passes 30 s); one
    removed or changed before it is published is not published. A failing article does not stop the
    rest; each run appends what it did to the inbox log (and with ``echo`` prints a line per article).
    With ``only_changed`` (the scheduled inbox), an article that cannot be read is reported once and
    skipped until it changes, and does not fail the run.
    """
    resolved = resolve_model(model, revision)
    run = InboxRun(inbox, out_dir, only_changed=only_changed, echo=echo)
    for article in run.articles:
        started = time.monotonic()
        # A name that is not UTF-8 cannot go into a task run's name or parameters: judged here, without Prefect.
        check = check_article if name_is_utf8(article) else check_article.fn
        verdict = check(article, out_dir, resolved, backend, beam_size, strict_terms, glossary, only_changed,
                        settle_seconds, run.unreadable)
        if not verdict.take:
            run.add(verdict.outcome(article, time.monotonic() - started), verdict.state)
            continue
        note_busy(out_dir, article)  # left behind if serve is stopped midway, so that it can say so
        state = translate_article(article, model=model, glossary=glossary, out_dir=out_dir, backend=backend,
                                  strict_terms=strict_terms, beam_size=beam_size, revision=revision,
                                  threads=threads, return_state=True)
        seconds = time.monotonic() - started
        article_run = str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None
        if state.is_completed():
            run.add(ArticleOutcome(article, published=state.result(), seconds=seconds, flow_run_id=article_run))
        else:
            run.add(_not_published(article, state.result(raise_on_failure=False), seconds, article_run,
                                   only_changed=only_changed))
        note_busy(out_dir, None)
    run.finish()
    return run.outcomes


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=_transient, task_run_name=_named("translate", "article"),
      **_UNCACHED)
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


@flow(name="translate-folder-distributed", flow_run_name=_folder_run_name)
def translate_folder_distributed(inbox: Path, model: str = DEFAULT_MODEL, glossary: Path | None = None,
                                 out_dir: Path = Path("outputs"), backend: str = "transformers",
                                 strict_terms: bool = False, beam_size: int = 4, only_changed: bool = False,
                                 revision: str | None = None, threads: int | None = None,
                                 settle_seconds: float = 0.0, echo: bool = False) -> list[WorkerResult]:
    """Like ``translate_folder``, with the articles translated in parallel on the flow's task runner.

    Run it with ``translate_folder_distributed.with_options(task_runner=dask_runner(...))``; give
    ``threads`` = cores per worker process, or the workers of one machine compete for its cores.
    """
    resolved = resolve_model(model, revision)
    run = InboxRun(inbox, out_dir, only_changed=only_changed, echo=echo)
    articles, started = [], time.monotonic()
    for article in run.articles:
        verdict = triage(article, out_dir, model=resolved, backend=backend, beam_size=beam_size,
                         strict_terms=strict_terms, glossary=glossary, only_changed=only_changed,
                         settle_seconds=settle_seconds, unreadable=run.unreadable)
        if verdict.take:
            articles.append(article)
        else:
            run.add(verdict.outcome(article, 0.0), verdict.state)
    futures = translate_on_worker.map(articles, model, out_dir, glossary, backend, strict_terms, beam_size,
                                      revision, threads)
    results = []
    for article, future in zip(articles, futures, strict=True):
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - every article's fate is logged; the run fails after
            run.add(_not_published(article, exc, time.monotonic() - started, only_changed=only_changed))
            continue
        results.append(result)
        run.add(ArticleOutcome(article, published=result.published, seconds=result.seconds))
    run.finish()
    return results
