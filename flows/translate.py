"""Translate articles: one article, or every article of a folder.

No ``from __future__ import annotations`` here: a deployment's runs load this file as a script, and Prefect
validates their parameters (a :class:`RunSettings` among them) against annotations that must then be the
types themselves, not names to look up.
"""

import contextvars
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.runtime import flow_run

from flows.progress import ProgressArtifact, artifact_key
from tarjama.errors import RESOURCE_FAILURES, InputError, TarjamaError, printable
from tarjama.publish.publisher import Published
from tarjama.publish.record import RunRecord, build_record
from tarjama.publish.report import scores_markdown
from tarjama.runs import article as steps
from tarjama.runs import folder
from tarjama.runs.article import WorkerResult
from tarjama.runs.folder import FolderArticle, PoolMember
from tarjama.runs.inbox import (
    ArticleOutcome,
    InboxRunState,
    UnreadableArticles,
    Verdict,
    triage,
)
from tarjama.terms.entries import Glossary
from tarjama.terms.matching import TermMatch
from tarjama.text.articles import Document
from tarjama.text.inputs import name_is_utf8
from tarjama.timings import Timings
from tarjama.translate.backends import RunTranslator
from tarjama.translate.incremental import TranslatedArticle
from tarjama.translate.registry import ResolvedModel
from tarjama.translate.settings import RunSettings

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
def read_and_segment(source: Path, timings: Timings | None = None) -> Document:
    """Read the article and split it into paragraphs and sentences."""
    return steps.read_document(source, timings)


@task(task_run_name="load glossary", **_UNCACHED)
def load_terms(settings: RunSettings, timings: Timings | None = None) -> Glossary | None:
    """Load the glossary, if the run has one."""
    return steps.load_terms(settings, timings)


@task(task_run_name=_named("find terms in", "document"), **_UNCACHED)
def find_glossary_terms(document: Document, glossary: Glossary | None, timings: Timings | None = None
                        ) -> list[TermMatch]:
    """Find every glossary term in the article."""
    return steps.match_terms(document, glossary, timings)


# Failures of the machine that a second try may not meet: I/O, memory, a lost worker or device.
TRANSIENT_ERRORS = (*RESOURCE_FAILURES, RuntimeError)


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
def translate(document: Document, matches: list[TermMatch], model: ResolvedModel, settings: RunSettings,
              out_dir: Path, show_progress: bool = False, timings: Timings | None = None) -> TranslatedArticle:
    """Translate what the memory does not already hold (model loaded once per process), enforcing terms.

    Its progress is a progress artifact of the run in the Prefect UI (and a bar on the terminal with ``show_progress``).
    """
    return steps.translate_article_text(document, matches, model, settings, out_dir, show_progress=show_progress,
                                        progress_displays=[ProgressArtifact(artifact_key("progress", document.stem))],
                                        timings=timings)


@task(task_run_name=_named("score", "document"), **_UNCACHED)
def score(document: Document, translated: TranslatedArticle, model: ResolvedModel, settings: RunSettings,
          glossary: Glossary | None, reference: Path | None, timings: Timings | None = None) -> RunRecord:
    """Gather the record: term figures, and scores against the reference if there is one."""
    record = build_record(document, translated, model, settings, glossary, reference, timings=timings)
    create_markdown_artifact(**_scores_artifact(record))
    return record


@task(task_run_name=_named("publish", "record"), **_UNCACHED)
def publish_outputs(record: RunRecord, out_dir: Path) -> Published:
    """Write the article's outputs atomically, one run at a time per article."""
    return steps.publish_locked(record, out_dir)


DEFAULT_SETTINGS = RunSettings()


@flow(name="translate-article", flow_run_name=_article_run_name)
def translate_article(source: Path, settings: RunSettings = DEFAULT_SETTINGS, reference: Path | None = None,
                      out_dir: Path = Path("outputs"), show_progress: bool = False, timings: Timings | None = None
                      ) -> Published:
    """Segment, find terms, translate (through the memory), score and publish one Arabic article.

    What it published comes back with the record it wrote (``Published.run``). ``timings`` are what the caller
    timed before the flow (the CLI: since its process started, and a model it loaded); without them the run
    starts when the flow does.
    """
    timings = timings or Timings()
    model = settings.resolve_model()
    document = read_and_segment(source, timings)
    glossary = load_terms(settings, timings)
    matches = find_glossary_terms(document, glossary, timings)
    translated = translate(document, matches, model, settings, Path(out_dir), show_progress, timings)
    record = score(document, translated, model, settings, glossary, reference, timings)
    return publish_outputs(record, out_dir)


@task(task_run_name=_named("check", "article"), **_UNCACHED)
def check_article(article: Path, out_dir: Path, model: ResolvedModel, settings: RunSettings, only_changed: bool,
                  settle_seconds: float, unreadable: UnreadableArticles | None) -> Verdict:
    """Whether to take the article now: gone, still settling, known unreadable, up to date, or to translate."""
    return triage(article, out_dir, model=model, settings=settings, only_changed=only_changed,
                  settle_seconds=settle_seconds, unreadable=unreadable)


class InboxRun:
    """One folder flow's run over an inbox: :class:`InboxRunState` with the triage task, Prefect's log and table.

    Both folder flows go through it: :meth:`take` for each article, :meth:`translated` or
    :meth:`not_published` for each one taken, then :meth:`finish`.
    """

    def __init__(self, inbox: Path, out_dir: Path, model: ResolvedModel, settings: RunSettings, *,
                 only_changed: bool, settle_seconds: float, echo: bool) -> None:
        self.state = InboxRunState(inbox, out_dir, only_changed=only_changed)
        self.model, self.settings, self.settle_seconds, self.echo = model, settings, settle_seconds, echo

    @property
    def articles(self) -> list[Path]:
        """The inbox's articles, in the order the run takes them."""
        return self.state.articles

    @property
    def outcomes(self) -> list[ArticleOutcome]:
        """What became of each article so far."""
        return self.state.outcomes

    def take(self, article: Path) -> bool:
        """Whether to translate the article now; one not taken is logged with the reason."""
        started = time.monotonic()
        # A name that is not UTF-8 cannot go into a task run's name or parameters: judged here, without Prefect.
        check = check_article if name_is_utf8(article) else check_article.fn
        verdict = check(article, self.state.out_dir, self.model, self.settings, self.state.only_changed,
                        self.settle_seconds, self.state.unreadable)
        if not verdict.take:
            self._show(self.state.skipped(article, verdict, time.monotonic() - started))
        return verdict.take

    def translated(self, article: Path, published: Published, seconds: float) -> None:
        """Note an article published."""
        self._show(self.state.translated(article, published, seconds))

    def not_published(self, article: Path, error: BaseException, seconds: float) -> None:
        """Note an article whose run failed, or found it gone or changed."""
        self._show(self.state.not_published(article, error, seconds))

    def _show(self, outcome: ArticleOutcome) -> None:
        get_run_logger().info(outcome.line())
        if self.echo:
            print(outcome.line(), file=sys.stderr, flush=True)

    def finish(self) -> None:
        """Log the run (``OUT/.tarjama/inbox-log.jsonl`` and a Prefect table), forget articles gone or readable.

        Raises :class:`RunError` after every article is dealt with when any failed for real: not for
        bad input of an article's own in an inbox run (reported once, in the log and the terminal).
        """
        self.state.log(flow_run_id=str(flow_run.id) if flow_run.id else None, flow_run_name=flow_run.name)
        create_table_artifact(key="inbox-run", table=[outcome.table_row() for outcome in self.outcomes],
                              description=f"Articles of {self.state.inbox} in this run")
        # Raised after every other article is published, so the run shows as failed in Prefect.
        self.state.raise_failures()


def _folder_run_name() -> str:
    return f"inbox {printable(Path(str(flow_run.parameters.get('inbox', ''))).name)}"


def _pool_run_name(parameters: dict) -> str:
    """E.g. "translate 12 articles together: a, b, c, …" ("translate a" for a pool of one)."""
    stems = [member.document.stem for member in parameters.get("members", [])]
    if len(stems) == 1:
        return f"translate {stems[0]}"
    return f"translate {len(stems)} articles together: " + ", ".join(stems[:3]) + (", …" if len(stems) > 3 else "")


def _scores_artifact(record: RunRecord) -> dict[str, str]:
    """The article's scores as a markdown artifact of the run (``scores-NAME``): ``create_markdown_artifact``'s
    arguments."""
    return {"key": artifact_key("scores", record.document.stem), "markdown": scores_markdown(record),
            "description": f"Scores of {record.document.path.name}"}


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=_transient, task_run_name=_pool_run_name, **_UNCACHED)
def translate_pooled(members: list[PoolMember], model: ResolvedModel, settings: RunSettings,
                     glossary: Glossary | None, out_dir: Path) -> list[FolderArticle]:
    """Look the articles up in the memory, translate their pending sentences together in full batches, then
    score and publish each on its own (:func:`tarjama.runs.folder.translate_and_publish_pool`).

    A failure of the machine (every article of a chunk failing) fails the task, which is retried; an
    article's own failure is in its outcome. Its progress is a progress artifact of the run.
    """
    # Loaded when a sentence needs it: a pool the memory holds whole loads no model.
    translator = RunTranslator(model, settings.backend, threads=settings.threads)
    artifact = ProgressArtifact(artifact_key("progress", f"pool-{members[0].document.stem}"))
    # Each scores artifact is a call to the API: made on a thread of its own (in this task run's context)
    # while the next articles are published, mostly waiting on fsync; all made before the task ends.
    created: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="scores-artifacts") as artifacts:

        def scores_artifact(record: RunRecord) -> None:
            created.append(artifacts.submit(contextvars.copy_context().run, create_markdown_artifact,
                                            **_scores_artifact(record)))

        outcomes = folder.translate_and_publish_pool(members, translator, model, settings, glossary, out_dir,
                                                     progress_displays=[artifact], on_published=scores_artifact)
    for future in created:
        # The articles are published: the API's trouble with a display of their scores must not undo that (a
        # failed task would note them failed, and a retry publish them again).
        if (error := future.exception()) is not None:
            get_run_logger().warning("a scores artifact was not made: %s: %s", type(error).__name__, error)
    return outcomes


def _translate_together(run: InboxRun, members: list[PoolMember], model: ResolvedModel, settings: RunSettings,
                        glossary: Glossary | None, out_dir: Path) -> None:
    """A pool of articles translated in shared batches, each scored and published on its own: one task."""
    started = time.monotonic()
    try:
        outcomes = translate_pooled(members, model, settings, glossary, out_dir)
    except Exception as exc:  # noqa: BLE001 - the pool's task failed as a whole: each of its articles is noted
        for member in members:
            run.not_published(member.source, exc, member.read_seconds + (time.monotonic() - started) / len(members))
        return
    for outcome in outcomes:
        if outcome.published is not None:
            run.translated(outcome.source, outcome.published, outcome.seconds)
        else:
            run.not_published(outcome.source, outcome.error, outcome.seconds)


@flow(name="translate-folder", flow_run_name=_folder_run_name)
def translate_folder(inbox: Path, settings: RunSettings = DEFAULT_SETTINGS, out_dir: Path = Path("outputs"),
                     only_changed: bool = False, settle_seconds: float = 0.0, echo: bool = False
                     ) -> list[ArticleOutcome]:
    """Translate every article of a folder (or only new and changed ones) with one loaded model.

    The articles taken are read into pools that fill several of the engine's batches; each pool is one task
    (retried on a failure of the machine) that translates its articles together, then scores and publishes
    each on its own (:func:`tarjama.runs.folder.translate_and_publish_pool`), a pool of one article too. An
    article is taken once unchanged for ``settle_seconds`` (``tarjama serve`` passes 30 s); one removed or
    changed before it is published is not published. A failing article does not stop the rest; each run
    appends what it did to the inbox log (and with ``echo`` prints a line per article). With ``only_changed``
    (the scheduled inbox), an article that cannot be read is reported once and skipped until it changes, and
    does not fail the run.
    """
    model = settings.resolve_model()
    run = InboxRun(inbox, out_dir, model, settings, only_changed=only_changed, settle_seconds=settle_seconds,
                   echo=echo)
    terms: list[Glossary | None] = []  # loaded once an article is taken: a bad glossary fails each, logged

    def read(article: Path) -> PoolMember:
        if not terms:
            terms.append(load_terms(settings))
        return folder.read_member(article, terms[0])

    def unreadable(article: Path, error: Exception, seconds: float) -> None:
        run.not_published(article, error, seconds)

    taken = (article for article in run.articles if run.take(article))
    for members in folder.pools(taken, read, settings, unreadable):
        _translate_together(run, members, model, settings, terms[0], out_dir)
    run.finish()
    return run.outcomes


@task(retries=2, retry_delay_seconds=5, retry_condition_fn=_transient, task_run_name=_named("translate", "article"),
      **_UNCACHED)
def translate_on_worker(article: Path, settings: RunSettings, out_dir: Path) -> WorkerResult:
    """Translate and publish one article wherever the task runner puts it (a Dask worker, say).

    The article flow's steps, in one call (:func:`tarjama.runs.article.translate_and_publish`).
    """
    return steps.translate_and_publish(article, settings, out_dir)


def dask_runner(address: str | None = None, workers: int = 2) -> "DaskTaskRunner":
    """A Dask task runner: the cluster at ``address``, or a local cluster of ``workers`` processes."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                          "dashboard_address": None})


@flow(name="translate-folder-distributed", flow_run_name=_folder_run_name)
def translate_folder_distributed(inbox: Path, settings: RunSettings = DEFAULT_SETTINGS,
                                 out_dir: Path = Path("outputs"), only_changed: bool = False,
                                 settle_seconds: float = 0.0, echo: bool = False) -> list[WorkerResult]:
    """Like ``translate_folder``, with the articles translated in parallel on the flow's task runner.

    Run it with ``translate_folder_distributed.with_options(task_runner=dask_runner(...))``; give
    ``settings.threads`` = cores per worker process, or the workers of one machine compete for its cores.
    """
    started = time.monotonic()
    run = InboxRun(inbox, out_dir, settings.resolve_model(), settings, only_changed=only_changed,
                   settle_seconds=settle_seconds, echo=echo)
    articles = [article for article in run.articles if run.take(article)]
    futures = translate_on_worker.map(articles, settings, out_dir)
    results = []
    for article, future in zip(articles, futures, strict=True):
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - every article's fate is logged; the run fails after
            run.not_published(article, exc, time.monotonic() - started)
            continue
        results.append(result)
        run.translated(article, result.published, result.seconds)
    run.finish()
    return results
