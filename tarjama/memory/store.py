"""The translation memory: every translated sentence, and every sentence an editor approved, in SQLite.

Machine translations are keyed by everything they depend on: the normalised source sentence, the
model and its revision, the backend, the decoding options, strict mode, and the glossary entries
matched in that sentence (so a glossary change retranslates only the sentences its changed entries
touch). Approved translations are keyed by the normalised source alone: an editor's English stands
whatever model runs next, and a changed source sentence no longer finds it.

SQLite in WAL mode with a busy timeout: concurrent runs wait for each other's short write
transactions, and a run killed at any point leaves every committed sentence usable.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sqlite3
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tarjama.errors import InputError, RunError, TarjamaError
from tarjama.files import is_read_only, state_path, write_error
from tarjama.text.arabic import INVISIBLE
from tarjama.text.inputs import check_regular_file

# 2: approval_history (every approval replaced or withdrawn). 3: each approval's run_id (the run whose bilingual
# file it came from; NULL for TMX/XLIFF and files of no run). A memory of schema 1 or 2 gains the empty
# table and the column on opening; an older tarjama refuses a newer memory ("of a newer tarjama") rather than
# ignore what it holds. The approvals a schema 1 or 2 memory held are marked as from before run ids (LEGACY_RUN in
# their run_id): only those are matched to a file by its name; a NULL run_id is TMX/XLIFF or an untied file.
SCHEMA_VERSION = 3
LEGACY_RUN = "(before run ids)"  # never a run id: run ids are plain names (see publishing.published_run)
_BUSY_TIMEOUT_MS = 60_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS machine (
    key TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    flags TEXT NOT NULL,
    term_hows TEXT NOT NULL,
    settings TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS approved (
    source TEXT PRIMARY KEY,
    source_text TEXT NOT NULL,
    target TEXT NOT NULL,
    origin TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    run_id TEXT
);
CREATE INDEX IF NOT EXISTS machine_by_source ON machine (source);
CREATE TABLE IF NOT EXISTS approval_history (
    source TEXT NOT NULL,
    source_text TEXT NOT NULL,
    target TEXT NOT NULL,
    origin TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    replaced_at TEXT NOT NULL,
    run_id TEXT
);
CREATE INDEX IF NOT EXISTS approval_history_by_source ON approval_history (source);
CREATE TABLE IF NOT EXISTS approval_revision (
    source TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    history INTEGER NOT NULL,
    approved INTEGER NOT NULL
);
"""
# approval_revision (each sentence's TranslationMemory.revision) is added without a new schema version, because
# nothing breaks either way: a memory made before it gains the empty table on opening, and a sentence with no row
# counts its revision from its approvals (1 + past + current, what the studio counted before). A tarjama of
# schema 3 without the table still opens the memory and writes approvals correctly, only without revisions; those
# changes are still seen, since each row keeps the history length and approval it was stored with (_revision).
# A new version would make that older tarjama refuse a memory it can use, and gain nothing.


_CONTROLS = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} - {"\t", "\n", "\r"}


def normalise_source(text: str) -> str:
    """The form sentences are looked up by: NFC, no invisible or control characters, single spaces.

    The same characters the bilingual Markdown drops, so that an edited row finds its sentence.
    """
    text = unicodedata.normalize("NFC", text)
    return " ".join("".join(ch for ch in text if ch not in INVISIBLE and ch not in _CONTROLS).split())


def same_english(a: str, b: str) -> bool:
    """Whether two Englishes are the same as the bilingual Markdown shows them (NFC, no invisible or control
    characters, single spaces): the one comparison every import uses to tell an edit from what was there."""
    return normalise_source(a) == normalise_source(b)


def segment_key(source: str, settings: dict, terms: Sequence[tuple[str, str]]) -> str:
    """The machine-translation key of a sentence: SHA-256 over everything its English depends on."""
    material = json.dumps([normalise_source(source), settings, sorted(terms)], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class MachineEntry:
    """A remembered machine translation of one sentence."""

    key: str
    source: str
    target: str
    flags: tuple[str, ...]
    term_hows: tuple[str, ...]
    settings: dict


@dataclass(frozen=True)
class ApprovedEntry:
    """An editor's English for a source sentence."""

    source: str
    target: str
    origin: str
    approved_at: str
    run_id: str | None = None  # the run whose bilingual file it came from (None: TMX/XLIFF, a file of no run, legacy)
    legacy: bool = False  # made before approvals carried run ids (a schema 1 or 2 memory): its run is unknown


def _approval(row: tuple) -> ApprovedEntry:
    """An ``approved`` or ``approval_history`` row (``_APPROVAL_COLUMNS``) decoded."""
    source_text, target, origin, approved_at, run_id = row
    if run_id == LEGACY_RUN:
        return ApprovedEntry(source_text, target, origin, approved_at, None, legacy=True)
    return ApprovedEntry(source_text, target, origin, approved_at, run_id)


def _now() -> str:
    # Milliseconds: an export names the approval it carries by this time, and approvals come in quick succession.
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class TranslationMemory:
    """A memory file; open it with :func:`open_memory`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._depth = 0  # how many write transactions are open (nested ones are savepoints of the outermost)
        if path.exists():
            self._connect()

    @property
    def _conn(self) -> sqlite3.Connection:
        """The open database, created at the first write (a run that fails early leaves no file)."""
        if self._db is None:
            self._connect()
        if self._db is None:
            raise RuntimeError("the translation memory did not open")  # _connect raises before this
        return self._db

    def _connect(self) -> None:
        path = self.path
        if path.exists():
            check_regular_file(path, "translation memory file")  # before SQLite opens it: a FIFO would block
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(exc, path.parent, "cannot make the translation memory's folder") from None
        existed = path.exists()
        try:
            self._db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            self._db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            _enable_wal(self._db)
            self._db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL survives a killed process
            if existed:
                _check_pages(self._db)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise InputError(f"translation memory of a newer tarjama (schema {version})", path=path)
            with self._write():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                for table in ("approved", "approval_history"):
                    columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                    if "run_id" not in columns:  # a memory of schema 1 or 2: its approvals are legacy
                        self._db.execute(f"ALTER TABLE {table} ADD COLUMN run_id TEXT")
                        self._db.execute(f"UPDATE {table} SET run_id = ?", (LEGACY_RUN,))
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.OperationalError as exc:
            self.close()
            if _is_busy(exc):
                raise RunError(f"the translation memory stayed locked: {exc}", path=path) from None  # retryable
            raise _unusable(path, exc) from None
        except sqlite3.DatabaseError as exc:
            self.close()
            raise InputError(f"is not a valid translation memory ({exc}): {_MOVE_ASIDE}", path=path) from None
        except InputError:
            self.close()
            raise

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction, taken at once so that concurrent writers queue instead of failing.

        Inside another one (:meth:`transaction`) it joins it as a savepoint: its writes are undone alone if it
        fails, and are committed with the outer transaction.
        """
        connection = self._db if self._db is not None else self._conn
        savepoint = f"nested_{self._depth}" if self._depth else None
        connection.execute(f"SAVEPOINT {savepoint}" if savepoint else "BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield
            connection.execute(f"RELEASE {savepoint}" if savepoint else "COMMIT")
        except BaseException:
            if connection.in_transaction:  # SQLite may have rolled it all back already (a full disk)
                if savepoint:
                    connection.execute(f"ROLLBACK TO {savepoint}")
                    connection.execute(f"RELEASE {savepoint}")
                else:
                    connection.execute("ROLLBACK")
            raise
        finally:
            self._depth -= 1

    @contextmanager
    def transaction(self) -> Iterator[TranslationMemory]:
        """One write transaction over the ``with`` block: reads in it see one state no other writer can change.

        Taken at once (``BEGIN IMMEDIATE``): another process's or connection's write waits until the block ends,
        so a check and the change it allows (:meth:`revision`, then :meth:`approve`) are one step. The
        :meth:`approve` and :meth:`withdraw` calls inside join it; it commits at the end of the block and is
        rolled back, all of it, when the block raises. Creates the memory file when there is none yet.
        """
        with self._write():
            yield self

    def close(self) -> None:
        """Close the file."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def machine(self, key: str) -> MachineEntry | None:
        """The remembered machine translation under ``key``, if any."""
        if self._db is None:
            return None
        row = self._db.execute(f"SELECT {_MACHINE_COLUMNS} FROM machine WHERE key = ?", (key,)).fetchone()
        return None if row is None else _machine_entry(row)

    def machine_targets(self, source: str) -> set[str]:
        """Every English any model gave this source sentence (whatever the settings)."""
        if self._db is None:
            return set()
        rows = self._db.execute("SELECT target FROM machine WHERE source = ?", (normalise_source(source),))
        return {target for (target,) in rows}

    def remember(self, entries: Iterable[MachineEntry]) -> None:
        """Store machine translations, all in one transaction."""
        rows = [(e.key, e.source, e.target, json.dumps(list(e.flags)), json.dumps(list(e.term_hows)),
                 json.dumps(e.settings, sort_keys=True), _now()) for e in entries]
        if not rows:
            return
        with self._write():
            self._conn.executemany("INSERT OR REPLACE INTO machine VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def approved(self, source: str) -> ApprovedEntry | None:
        """The editor's English for this source sentence, if one was approved."""
        if self._db is None:
            return None
        row = self._db.execute(f"SELECT {_APPROVAL_COLUMNS} FROM approved WHERE source = ?",
                               (normalise_source(source),)).fetchone()
        return _approval(row) if row else None

    def past_approvals(self, source: str) -> list[ApprovedEntry]:
        """The approvals this source sentence had before its current one (replaced or withdrawn), newest first."""
        if self._db is None:
            return []
        rows = self._db.execute(f"SELECT {_APPROVAL_COLUMNS} FROM approval_history "
                                "WHERE source = ? ORDER BY replaced_at DESC, rowid DESC", (normalise_source(source),))
        return [_approval(row) for row in rows]

    def known_english(self, source: str) -> set[str]:
        """Every English the memory holds for this source sentence: machine, current and past approvals."""
        known = self.machine_targets(source)
        approved = self.approved(source)
        if approved is not None:
            known.add(approved.target)
        known.update(entry.target for entry in self.past_approvals(source))
        return known

    def approve(self, pairs: Iterable[tuple[str, str]], origin: str, *, replace: bool = True,
                run_id: str | None = None) -> int:
        """Store approved ``(source, English)`` pairs; returns how many were stored.

        ``run_id`` is the run whose bilingual file they come from (``None`` for TMX, XLIFF, a file of no run).
        ``replace=False`` keeps existing approvals (a memory imported from elsewhere never overrides
        this newsroom's editors). A replaced approval is kept in the history (:meth:`past_approvals`);
        a pair whose English is already the approval's is not stored again. Each stored pair raises its
        sentence's :meth:`revision`, in the same transaction (the caller's, inside :meth:`transaction`).
        """
        wanted = [(normalise_source(s), s, t) for s, t in pairs if normalise_source(s) and t.strip()]
        stored = 0
        with self._write():
            for key, source, target in wanted:
                # Timed once the write lock is held: a writer that waited for another's transaction comes after it.
                row = (key, source, target, origin, _now(), run_id)
                current = self._conn.execute(f"SELECT {_APPROVAL_COLUMNS} FROM approved WHERE source = ?",
                                             (row[0],)).fetchone()
                if current is not None and (not replace or same_english(current[1], row[2])):
                    continue
                revision, history = self._revision_and_history(row[0], approved=current is not None)
                if current is not None:
                    self._keep_in_history(row[0], current, row[4])
                self._conn.execute(f"INSERT OR REPLACE INTO approved (source, {_APPROVAL_COLUMNS}) "
                                   "VALUES (?, ?, ?, ?, ?, ?)", row)
                self._store_revision(row[0], revision + 1, history=history + (current is not None), approved=True)
                stored += 1
        return stored

    def _keep_in_history(self, key: str, current: tuple, replaced_at: str) -> None:
        source_text, target, origin, approved_at, run_id = current
        self._conn.execute("INSERT INTO approval_history (source, source_text, target, origin, approved_at, "
                           "replaced_at, run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (key, source_text, target, origin, approved_at, replaced_at, run_id))

    def withdraw(self, sources: Iterable[str]) -> int:
        """Withdraw the approvals of these source sentences (kept in the history); how many there were.

        Each withdrawn approval raises its sentence's :meth:`revision`, in the same transaction.
        """
        keys = list(dict.fromkeys(normalise_source(s) for s in sources))
        withdrawn = 0
        if not keys:
            return 0
        with self._write():
            for key in keys:
                current = self._conn.execute(f"SELECT {_APPROVAL_COLUMNS} FROM approved WHERE source = ?",
                                             (key,)).fetchone()
                if current is None:
                    continue
                revision, history = self._revision_and_history(key, approved=True)
                self._keep_in_history(key, current, _now())
                self._conn.execute("DELETE FROM approved WHERE source = ?", (key,))
                self._store_revision(key, revision + 1, history=history + 1, approved=False)
                withdrawn += 1
        return withdrawn

    def revision(self, source: str) -> int:
        """The revision of this source sentence's approval: 1 while it was never approved, and one more with each
        change of it.

        Every :meth:`approve` that stores an English for it and every :meth:`withdraw` that removes one raises it,
        whichever process made the change, so it never comes back to a value it had: whoever read it can tell
        whether the approval is still the one it saw. An approve of the approval's own English changes nothing.
        To check it and approve as one step, read it inside :meth:`transaction`.
        """
        if self._db is None:
            return 1
        key = normalise_source(source)
        approved = self._db.execute("SELECT 1 FROM approved WHERE source = ?", (key,)).fetchone() is not None
        return self._revision_and_history(key, approved=approved)[0]

    def _revision_and_history(self, key: str, *, approved: bool) -> tuple[int, int]:
        """The sentence's revision and how many past approvals it has, given whether it has a current one."""
        history, stored, stored_history, stored_approved = self._conn.execute(
            "SELECT (SELECT COUNT(*) FROM approval_history WHERE source = :key), revision, history, approved "
            "FROM (SELECT 1) LEFT JOIN approval_revision ON source = :key", {"key": key}).fetchone()
        counted = 1 + history + approved  # a sentence with no stored revision (a memory older than the table)
        if stored is None:
            return counted, history
        if (history, approved) == (stored_history, stored_approved):
            return max(stored, counted), history
        # Changed since by a tarjama that does not keep revisions: each replace or withdraw adds a history row and
        # a first approval sets one, so 2 × history + approved grows with every such change.
        unseen = 2 * (history - stored_history) + (approved - stored_approved)
        return max(stored + max(unseen, 1), counted), history

    def _store_revision(self, key: str, revision: int, *, history: int, approved: bool) -> None:
        """Store the revision a change made, with the approval state it leaves (in the change's transaction)."""
        self._conn.execute("INSERT OR REPLACE INTO approval_revision (source, revision, history, approved) "
                           "VALUES (?, ?, ?, ?)", (key, revision, history, approved))

    def all_approved(self) -> list[ApprovedEntry]:
        """Every approved pair, oldest first."""
        if self._db is None:  # reading makes no file
            return []
        return [_approval(row) for row in self._db.execute(
            f"SELECT {_APPROVAL_COLUMNS} FROM approved ORDER BY approved_at, source")]

    def approved_keys(self) -> list[str]:
        """Every approved sentence in the form it is looked up by (:func:`normalise_source`), oldest first.

        What fuzzy matching compares: stored in that form, so no sentence needs normalising again.
        """
        if self._db is None:
            return []
        return [key for (key,) in self._db.execute("SELECT source FROM approved ORDER BY approved_at, source")]

    def all_machine(self) -> list[MachineEntry]:
        """Every machine translation, oldest first."""
        return [_machine_entry(row)
                for row in self._conn.execute(f"SELECT {_MACHINE_COLUMNS} FROM machine ORDER BY created, key")]

    def counts(self) -> dict[str, int]:
        """How many machine and approved sentences the memory holds."""
        return {"machine": self._conn.execute("SELECT COUNT(*) FROM machine").fetchone()[0],
                "approved": self._conn.execute("SELECT COUNT(*) FROM approved").fetchone()[0]}


_MOVE_ASIDE = ("move it aside (with any -wal file beside it), then run again to start a new memory, "
               "or put back a backup")


class _Corrupt(sqlite3.DatabaseError):
    """``PRAGMA quick_check`` found damage that plain opening does not see."""


def _check_pages(connection: sqlite3.Connection) -> None:
    """Corrupt pages show only when a query reaches them: look at every page once, on opening.

    ``quick_check`` reads each page without checking indexes against tables: milliseconds for a
    memory of thousands of sentences.
    """
    problem = connection.execute("PRAGMA quick_check(1)").fetchone()[0]
    if problem != "ok":
        raise _Corrupt(f"database disk image is malformed: {problem.splitlines()[-1].strip()}")


def _unusable(path: Path, error: sqlite3.OperationalError) -> TarjamaError:
    """Why SQLite could not use the file, in the user's words: a read-only mount is not a permission.

    A full disk is often "disk I/O error" to SQLite: told as the publish path tells it (exit 1).
    """
    if _disk_full(path, error):
        return write_error(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), path, "cannot use the translation memory")
    if "readonly" in str(error) or "unable to open" in str(error):
        folder = path.parent if path.parent.exists() else path
        if is_read_only(folder):
            return InputError("cannot use the translation memory: read-only file system", path=path)
        if "readonly" in str(error) or not os.access(folder, os.W_OK):
            return InputError("cannot use the translation memory: permission denied", path=path)
    return InputError(f"cannot use the translation memory: {error}", path=path)


def _disk_full(path: Path, error: sqlite3.OperationalError) -> bool:
    if getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(error):
        return True
    if "disk I/O error" not in str(error):
        return False
    try:
        return os.statvfs(path.parent).f_bavail == 0
    except OSError:
        return False


def check_memory(path: Path | str) -> None:
    """Open an existing memory and close it: a damaged or foreign file is an error before any work."""
    TranslationMemory(Path(path)).close()


def _is_busy(error: sqlite3.OperationalError) -> bool:
    """Another connection holds the lock: worth waiting for, or retrying."""
    return "locked" in str(error) or "busy" in str(error)


def _enable_wal(connection: sqlite3.Connection) -> None:
    """Switch to WAL, waiting as a write would: while another process creates the file, SQLite
    answers "locked" at once instead of using the busy timeout."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


_APPROVAL_COLUMNS = "source_text, target, origin, approved_at, run_id"
_MACHINE_COLUMNS = "key, source, target, flags, term_hows, settings"


def _machine_entry(row: tuple) -> MachineEntry:
    """A ``machine`` row (``_MACHINE_COLUMNS``) decoded."""
    key, source, target, flags, term_hows, settings = row
    return MachineEntry(key, source, target, tuple(json.loads(flags)), tuple(json.loads(term_hows)),
                        json.loads(settings))


@contextmanager
def open_memory(path: Path | str) -> Iterator[TranslationMemory]:
    """Open (creating if needed) a translation memory file for the duration of a ``with`` block."""
    memory = TranslationMemory(Path(path))
    try:
        yield memory
    finally:
        memory.close()


def default_memory_path(out_dir: Path) -> Path:
    """Where a run writing to ``out_dir`` keeps its memory unless told otherwise."""
    return state_path(out_dir, "memory.sqlite")
