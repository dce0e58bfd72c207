"""Scheduled inbox runs: which articles to take now, and a log of what each run did.

An inbox run takes an article only when it is settled (unchanged for the settle time), new or changed
since its outputs were published, and readable; it remembers articles that cannot be read, so that
one bad file is reported once instead of failing every run. Nothing here imports Prefect: the flows
in ``flows/translate.py`` call these functions.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from tarjama.errors import InputError, RunError, TarjamaError, printable
from tarjama.files import state_path, write_atomically
from tarjama.publish.outputs import check_outputs
from tarjama.publish.publisher import (
    NEXT_RUN_TAKES_IT,
    Published,
    SourceChanged,
    SourceGone,
    edited_bilingual,
    output_paths,
    source_changed,
)
from tarjama.record.reader import RunRecordView, read_record
from tarjama.terms.glossary import load_glossary
from tarjama.text.articles import ARTICLE, articles_in, read_article
from tarjama.text.inputs import check_name_utf8, check_regular_file, file_kind, name_is_utf8
from tarjama.translate.registry import ResolvedModel
from tarjama.translate.settings import RunSettings, recorded_fingerprint

LOG_NAME = "inbox-log.jsonl"
UNREADABLE_NAME = "inbox-unreadable.json"
# What `tarjama serve` waits, by default, after an article's last change before a run takes it: long
# enough for an upload that pauses for a moment, short next to a schedule of minutes.
DEFAULT_SETTLE_SECONDS = 30.0


class ArticleStatus(StrEnum):
    """What a run did with one article of the inbox."""

    TRANSLATED = "translated"  # published
    SKIPPED = "skipped"  # outputs up to date, or input already reported as unreadable and unchanged since
    WAITING = "waiting"  # changed less than the settle time ago: the next run looks again
    FAILED = "failed"  # could not be translated or published (the reason is logged)
    GONE = "gone"  # removed from the inbox before its outputs were published: nothing published
    CHANGED = "changed"  # changed while it was translated: nothing published, the next run takes it


@dataclass(frozen=True)
class ArticleOutcome:
    """What became of one article of a folder run, for the inbox log and the terminal."""

    article: Path
    status: ArticleStatus = ArticleStatus.TRANSLATED
    published: Published | None = None
    error: str | None = None  # why it failed
    reason: str | None = None  # why it was skipped, left waiting, or not published
    seconds: float | None = None
    known_bad: bool = False  # bad input of the article itself (not of the glossary, model or machine)

    @property
    def skipped(self) -> bool:
        """True when the run left the article alone because nothing was to be done."""
        return self.status is ArticleStatus.SKIPPED

    @property
    def failed(self) -> bool:
        """True when the article failed (bad input of its own included)."""
        return self.status is ArticleStatus.FAILED

    def to_json(self) -> dict:
        """The article's entry in the inbox log."""
        entry: dict = {"article": printable(self.article), "status": str(self.status), "error": self.error}
        if self.reason:
            entry["reason"] = self.reason
        if self.seconds is not None:
            entry["seconds"] = round(self.seconds, 3)
        if self.published is not None:
            entry["outputs"] = {"bilingual": str(self.published.bilingual), "english": str(self.published.english),
                                "record": str(self.published.record), "report": str(self.published.report)}
        return entry

    def table_row(self) -> dict:
        """The article's row in the run's Prefect table artifact (flat: one value a cell)."""
        return {"article": printable(self.article.name), "status": str(self.status),
                "seconds": None if self.seconds is None else round(self.seconds, 1),
                "english": str(self.published.english) if self.published else "",
                "note": self.error or self.reason or ""}

    def line(self) -> str:
        """One line for the operator's terminal: article, status, seconds, output or reason."""
        seconds = f" in {self.seconds:.1f} s" if self.seconds is not None and self.status in (
            ArticleStatus.TRANSLATED, ArticleStatus.FAILED, ArticleStatus.GONE, ArticleStatus.CHANGED) else ""
        detail = (f" → {self.published.english}" if self.published is not None
                  else f": {self.error}" if self.error else f" ({self.reason})" if self.reason else "")
        return f"{printable(self.article.name)}: {self.status}{seconds}{detail}"


def check_inbox_run(inbox: Path, out_dir: Path, settings: RunSettings) -> None:
    """What the user can get wrong about scheduled inbox runs, checked before the schedule starts.

    The inbox folder, the names of the paths given, the glossary, and the outputs folder with the memory
    the inbox runs use (:meth:`RunSettings.memory_path`).
    """
    if not inbox.is_dir():
        raise InputError("no such inbox folder", path=inbox)
    for what, path in (("inbox folder", inbox), ("outputs folder", out_dir), ("glossary", settings.glossary)):
        if path is not None:
            check_name_utf8(path, what)
    if settings.glossary:
        load_glossary(settings.glossary)
    check_outputs(out_dir, settings.memory_path(out_dir))


def _reason(error: BaseException) -> str:
    return error.describe() if isinstance(error, TarjamaError) else f"{type(error).__name__}: {error}"


def not_published(article: Path, error: BaseException, seconds: float | None = None, *,
                  only_changed: bool = False) -> ArticleOutcome:
    """What became of an article whose run raised ``error``: gone and changed are statuses of their own, not failures.

    In an inbox run (``only_changed``) a changed article says that the next run takes it, not to translate it again.
    """
    if only_changed and isinstance(error, SourceChanged) and error.path:
        error = source_changed(Path(error.path), then=NEXT_RUN_TAKES_IT)
    status = (ArticleStatus.GONE if isinstance(error, SourceGone)
              else ArticleStatus.CHANGED if isinstance(error, SourceChanged) else ArticleStatus.FAILED)
    if status is ArticleStatus.FAILED:
        return ArticleOutcome(article, status, error=_reason(error), seconds=seconds)
    return ArticleOutcome(article, status, reason=_reason(error), seconds=seconds)


def run_failures(outcomes: Iterable[ArticleOutcome], *, only_changed: bool) -> list[ArticleOutcome]:
    """The articles that make a folder run fail (after every other article is dealt with).

    Every failure, except in an inbox run (``only_changed``) bad input of an article's own: that is
    reported once and skipped until the file changes, and must not fail every later scheduled run.
    Waiting, gone and changed articles are not failures: the next run looks at them again.
    """
    return [o for o in outcomes if o.failed and not (only_changed and o.known_bad)]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(article: Path, model: ResolvedModel, settings: RunSettings) -> dict:
    """What an article's outputs depend on: its bytes, the glossary's and the settings that change the English."""
    return {"source_sha256": _sha256(article), "settings": settings.fingerprint(model),
            "glossary_sha256": _sha256(settings.glossary) if settings.glossary else None}


def _recorded(record: RunRecordView) -> dict:
    return {"source_sha256": record.source_sha256, "settings": recorded_fingerprint(record),
            "glossary_sha256": record.glossary.sha256 if record.glossary else None}


def up_to_date(article: Path, out_dir: Path, wanted: dict) -> bool:
    """True when the article's published outputs come from these very bytes and settings."""
    paths = output_paths(out_dir, article.stem)
    if not all(p.is_file() for p in (paths.bilingual, paths.english, paths.record, paths.report)):
        return False
    if edited_bilingual(out_dir, article.stem) is not None:
        return False  # an editor's corrections are waiting to be approved and published
    try:
        record = read_record(paths.record, segments_required=False)
        # Another bilingual file than the record's: corrections imported since (their English is not
        # published yet), or a run killed between its renames. Either way, publish again.
        return _recorded(record) == wanted and record.bilingual_sha256 == _sha256(paths.bilingual)
    except (InputError, OSError):
        return False  # unreadable or foreign record: translate again


def is_current(article: Path, out_dir: Path, model: ResolvedModel, settings: RunSettings) -> bool:
    """Whether the article's outputs already come from its current text and these settings.

    An article or glossary that cannot be read now counts as not current: its own run then fails
    and is logged with the reason, instead of the whole inbox run stopping here.
    """
    try:
        return up_to_date(article, out_dir, fingerprint(article, model, settings))
    except OSError:
        return False


@dataclass(frozen=True)
class FileState:
    """What ``stat`` says of a file: enough to see that it changed (a chmod or a replacing rename included)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path, *, follow_symlinks: bool = True) -> FileState:
        """The file's state now (``OSError`` when it cannot be stat'ed, ``FileNotFoundError`` when gone)."""
        st = os.stat(path, follow_symlinks=follow_symlinks)
        return cls(size=st.st_size, mtime_ns=st.st_mtime_ns, ctime_ns=st.st_ctime_ns, inode=st.st_ino)

    def to_json(self) -> dict:
        """The state as JSON."""
        return {"size": self.size, "mtime_ns": self.mtime_ns, "ctime_ns": self.ctime_ns, "inode": self.inode}


@dataclass
class UnreadableArticles:
    """Articles of an inbox that could not be read, as they were when reported (``OUT/.tarjama/``).

    A scheduled run reports such an article once and then skips it until the file changes (its size,
    modification or change time, or inode), so that one bad upload does not fail every later run.
    """

    path: Path
    entries: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, out_dir: Path) -> UnreadableArticles:
        """The list kept beside the outputs; an unreadable or foreign list counts as empty (so rereported)."""
        path = state_path(out_dir, UNREADABLE_NAME)
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries = {}
        if not isinstance(entries, dict):
            entries = {}
        return cls(path, {key: value for key, value in entries.items() if isinstance(value, dict)})

    @staticmethod
    def _key(article: Path) -> str:
        return printable(Path(article).absolute())

    def reported(self, article: Path, state: FileState) -> dict | None:
        """The earlier report of this very file (unchanged since), else ``None``."""
        entry = self.entries.get(self._key(article))
        return entry if entry is not None and entry.get("state") == state.to_json() else None

    def remember(self, article: Path, state: FileState, error: str) -> None:
        """Note that the article, in this state, cannot be read (saved at once)."""
        self.entries[self._key(article)] = {"state": state.to_json(), "error": error,
                                            "reported": datetime.now(UTC).isoformat(timespec="seconds")}
        self.save()

    def keep_only(self, articles: Iterable[Path]) -> None:
        """Forget articles no longer in the inbox, or readable again (saved if anything changed)."""
        keys = {self._key(article) for article in articles}
        if set(self.entries) - keys:
            self.entries = {key: value for key, value in self.entries.items() if key in keys}
            self.save()

    def save(self) -> None:
        """Write the list atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically({self.path: json.dumps(self.entries, ensure_ascii=False, indent=2) + "\n"})


@dataclass(frozen=True)
class Verdict:
    """Whether a run takes an article now: ``status`` is ``None`` to translate it, else what to log."""

    status: ArticleStatus | None = None
    reason: str | None = None
    error: str | None = None
    state: FileState | None = None
    known_bad: bool = False

    @property
    def take(self) -> bool:
        """True when the article is to be translated now."""
        return self.status is None

    def outcome(self, article: Path, seconds: float | None = None) -> ArticleOutcome:
        """What to log of an article the run did not take."""
        return ArticleOutcome(article, self.status or ArticleStatus.FAILED, error=self.error, reason=self.reason,
                              seconds=seconds, known_bad=self.known_bad)


def unsettled_for(state: FileState, settle_seconds: float, now_ns: int | None = None) -> float:
    """Seconds the article must still stay unchanged before a run takes it (0 when settled)."""
    if settle_seconds <= 0:
        return 0.0
    now_ns = time.time_ns() if now_ns is None else now_ns
    return max(0.0, settle_seconds - (now_ns - state.mtime_ns) / 1e9)


def triage(article: Path, out_dir: Path, *, model: ResolvedModel, settings: RunSettings, only_changed: bool,
           settle_seconds: float, unreadable: UnreadableArticles | None = None) -> Verdict:
    """Decide what a run does with one article of the inbox, before any model work.

    In this order: gone (listed, then removed), waiting (changed less than ``settle_seconds`` ago),
    skipped (already reported as unreadable and unchanged since; or, with ``only_changed``, outputs
    up to date), failed (the article itself cannot be read or is not an article, is not a regular file, or
    has a name that is not UTF-8: ``known_bad``; such an entry is never opened), else taken.
    """
    try:
        state = FileState.of(article)
    except FileNotFoundError:
        try:  # a symbolic link to nothing is reported as such (below), not as gone every run
            state = FileState.of(article, follow_symlinks=False)
        except FileNotFoundError:
            return Verdict(ArticleStatus.GONE, reason="removed from the inbox before this run took it")
    except OSError as exc:
        return Verdict(ArticleStatus.FAILED, error=f"{printable(article)}: cannot read file: {exc.strerror}",
                       known_bad=True)
    remaining = unsettled_for(state, settle_seconds)
    if remaining > 0:
        # Rounded down: never "changed 6 s ago" beside "taken once unchanged for 6 s".
        changed = math.floor(max(0.0, settle_seconds - remaining) * 10) / 10
        return Verdict(ArticleStatus.WAITING, state=state,
                       reason=f"changed {changed:.1f} s ago; taken once unchanged for {settle_seconds:g} s")
    if unreadable is not None and (earlier := unreadable.reported(article, state)) is not None:
        return Verdict(ArticleStatus.SKIPPED, state=state, known_bad=True,
                       reason=f"unreadable, reported {earlier.get('reported')}: {earlier.get('error')}; "
                              "skipped until the file changes")
    problem = _not_an_article_file(article)
    if problem is not None:
        return Verdict(ArticleStatus.FAILED, state=state, error=problem, known_bad=True)
    if only_changed and is_current(article, out_dir, model, settings):
        return Verdict(ArticleStatus.SKIPPED, state=state, reason="up to date")
    try:
        read_article(article)
    except InputError as exc:
        return Verdict(ArticleStatus.FAILED, state=state, error=exc.describe(), known_bad=True)
    return Verdict(state=state)


def _not_an_article_file(article: Path) -> str | None:
    """Why this inbox entry can never be read as an article (without opening it), else ``None``."""
    if not name_is_utf8(article):
        # Its name could not go into a Prefect run name, a log line or a JSON file: it is not taken at all.
        return f"{printable(article)}: its name is not valid UTF-8: rename it"
    try:
        check_regular_file(article, ARTICLE)
    except InputError as exc:
        return exc.describe()
    except FileNotFoundError:
        return f"{printable(article)}: is {file_kind(article)}, not a regular file" if article.is_symlink() else None
    except OSError:
        return None  # read_article says why
    return None


BUSY_NAME = "inbox-busy.json"


def _busy_path(out_dir: Path) -> Path:
    return state_path(out_dir, BUSY_NAME)


def note_busy(out_dir: Path, article: Path | None) -> None:
    """Note the article a run is translating now (``None``: none); left behind by a run that is stopped midway."""
    path = _busy_path(out_dir)
    if article is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically({path: json.dumps({"article": printable(article)}, ensure_ascii=False) + "\n"})


def take_interrupted(out_dir: Path) -> str | None:
    """The article a stopped run was translating (its outputs were not published), forgotten once told."""
    path = _busy_path(out_dir)
    try:
        article = json.loads(path.read_text(encoding="utf-8")).get("article")
    except (OSError, ValueError, AttributeError):
        return None
    path.unlink(missing_ok=True)
    return article if isinstance(article, str) else None


def log_run(out_dir: Path, entries: Sequence[dict], **run: object) -> Path:
    """Append one line for this run to ``OUT/.tarjama/inbox-log.jsonl``: when, the run, each article's fate.

    ``run`` adds fields about the run itself (its flow run id and name, its start and seconds).
    """
    path = state_path(out_dir, LOG_NAME)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"finished": datetime.now(UTC).isoformat(timespec="seconds"), **run,
                       "articles": list(entries)}, ensure_ascii=False) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line.encode("utf-8"))  # one write: concurrent runs never mix their lines
    finally:
        os.close(descriptor)
    return path


class InboxRunState:
    """One run over an inbox folder, without its orchestrator: its articles, what became of each, and the rules.

    Both folder flows keep one: they triage each article (passing :attr:`unreadable`), note each outcome with
    :meth:`skipped`, :meth:`translated` or :meth:`not_published`, then :meth:`log` the run and
    :meth:`raise_failures`. Only scheduled inbox runs (``only_changed``) remember unreadable articles: an
    explicit folder run reports every bad file again.
    """

    def __init__(self, inbox: Path, out_dir: Path, *, only_changed: bool) -> None:
        self.inbox, self.out_dir, self.only_changed = Path(inbox), Path(out_dir), only_changed
        self.articles = articles_in(inbox)
        self.unreadable = UnreadableArticles.load(self.out_dir) if only_changed else None
        self.outcomes: list[ArticleOutcome] = []
        self.started = datetime.now(UTC)
        self._clock = time.monotonic()

    def skipped(self, article: Path, verdict: Verdict, seconds: float) -> ArticleOutcome:
        """Note an article the run did not take (``verdict`` says why)."""
        return self.note(verdict.outcome(article, seconds), verdict.state)

    def translated(self, article: Path, published: Published, seconds: float) -> ArticleOutcome:
        """Note an article published (its paths: the record itself is not kept for the whole folder run)."""
        return self.note(ArticleOutcome(article, published=replace(published, run=None), seconds=seconds))

    def not_published(self, article: Path, error: BaseException, seconds: float) -> ArticleOutcome:
        """Note an article whose run failed, or found it gone or changed."""
        return self.note(not_published(article, error, seconds, only_changed=self.only_changed))

    def note(self, outcome: ArticleOutcome, state: FileState | None = None) -> ArticleOutcome:
        """Note what became of an article; an unreadable one, in the state it was read, is remembered."""
        self.outcomes.append(outcome)
        if self.unreadable is not None and outcome.known_bad and outcome.failed and state is not None:
            self.unreadable.remember(outcome.article, state, outcome.error)
        return outcome

    def log(self, flow_run_id: str | None = None, flow_run_name: str | None = None) -> Path:
        """Forget remembered articles gone or readable again, and append the run to the inbox log.

        The outcomes are put in the inbox's order first: a folder run notes a pool's articles after it
        noted the articles it skipped meanwhile.
        """
        position = {article: n for n, article in enumerate(self.articles)}
        self.outcomes.sort(key=lambda outcome: position.get(outcome.article, len(position)))
        if self.unreadable is not None:
            self.unreadable.keep_only(o.article for o in self.outcomes if o.known_bad)
        return log_run(self.out_dir, [outcome.to_json() for outcome in self.outcomes], flow_run_id=flow_run_id,
                       flow_run_name=flow_run_name, started=self.started.isoformat(timespec="seconds"),
                       seconds=round(time.monotonic() - self._clock, 3))

    def raise_failures(self) -> None:
        """Raise :class:`RunError` when any article failed for real (see :func:`run_failures`)."""
        failed = run_failures(self.outcomes, only_changed=self.only_changed)
        if failed:
            raise RunError(f"{len(failed)} of {len(self.outcomes)} articles failed: "
                           + "; ".join(f"{outcome.error}" for outcome in failed))
