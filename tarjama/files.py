"""Writing files safely: all-or-nothing swaps, and the system's refusals told in the user's words.

Every stage that writes (the memory, the publisher, the inbox state, the CLI's result files) uses these,
so a full disk or a read-only mount reads the same wherever it happens.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from tarjama.errors import InputError, RunError, TarjamaError

# Where an outputs folder keeps tarjama's own state (memory, locks, remembered runs, inbox state): one name.
STATE_FOLDER = ".tarjama"


def state_path(out_dir: Path | str, *parts: str) -> Path:
    """A path inside the state folder of the outputs folder ``out_dir`` (``OUT/.tarjama/PARTS…``)."""
    return Path(out_dir, STATE_FOLDER, *parts)


def outputs_holding(path: Path) -> Path | None:
    """The outputs folder whose state folder holds the file ``path`` (a memory beside outputs), else ``None``."""
    return path.parent.parent if path.parent.name == STATE_FOLDER else None


# The user's to fix (another folder, a remount, a chmod); the rest is the machine's (exit 1).
_USER_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EISDIR, errno.EEXIST,
                errno.ENAMETOOLONG, errno.ELOOP}


_REASONS = {
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.ENOTDIR: "the path goes through a file, not a folder",
}


def reason(exc: OSError) -> str:
    """What went wrong, in the words of ``_REASONS`` where they say more than ``strerror``."""
    return _REASONS.get(exc.errno or 0) or exc.strerror or str(exc)


def write_error(exc: OSError, path: Path | str, doing: str = "cannot write") -> TarjamaError:
    """The domain error for a failed write: exit 2 when the user can fix it, 1 when the machine failed."""
    kind = InputError if exc.errno in _USER_ERRNOS else RunError
    return kind(f"{doing}: {reason(exc)}", path=path)


def is_read_only(path: Path | str) -> bool:
    """Whether the file system holding ``path`` (which exists) is mounted read-only."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def check_output_dir(path: Path | str) -> None:
    """Fail before any work when outputs could not be written in the folder ``path`` (made if missing)."""
    existing = Path(path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError("cannot write outputs here: the path goes through a file", path=existing)
    # access(2) answers "no" on a read-only mount too: tell that apart, it is fixed elsewhere.
    if is_read_only(existing):
        raise InputError("cannot write outputs here: read-only file system", path=existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError("cannot write outputs here: permission denied", path=existing)


def check_output_file(path: Path | None, what: str = "the file to write") -> None:
    """Fail before any work when ``--out``, which names a file (``what``), is a folder; ``None`` is standard output."""
    if path is not None and path.is_dir():
        raise InputError(f"is a directory: --out names {what}", path=path)


def write_output_file(path: Path, text: str) -> None:
    """Write ``text`` to the file ``path`` all or nothing, its folder first checked (and made if missing)."""
    check_output_dir(path.parent)
    write_atomically({path: text})


@cache
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(contents: Mapping[Path, str]) -> None:
    """Write files all-or-nothing: stage each beside its target, then swap them all in.

    If a swap fails, the files already swapped are put back as they were, so a failed run leaves
    neither half-written files nor a mix of old and new outputs. A failure of the system (a full
    disk, a read-only mount) is raised as the domain error that names the file and the cause.
    """
    staged: list[tuple[Path, Path]] = []
    swapped: list[tuple[Path, Path | None]] = []
    backups: list[Path] = []
    current: Path | None = None
    try:
        for path, text in contents.items():
            current = path
            staged.append((_stage(path, text), path))
        for temporary, path in staged:
            current = path
            backup = None
            if path.exists():
                # A second name for the old file, not a move: the published name never goes missing.
                backup = _sibling(path, ".bak")
                backups.append(backup)
                backup.unlink()
                try:
                    os.link(path, backup)
                except OSError:  # a file system without hard links
                    shutil.copy2(path, backup)
            swapped.append((path, backup))
            os.replace(temporary, path)
    except BaseException as exc:
        for path, backup in reversed(swapped):
            if backup is not None:
                os.replace(backup, path)
            else:
                path.unlink(missing_ok=True)
        if isinstance(exc, OSError) and current is not None:
            raise write_error(exc, current, "not written (the earlier outputs are as they were)") from exc
        raise
    finally:
        for leftover in [temporary for temporary, _ in staged] + backups:
            leftover.unlink(missing_ok=True)


def _sibling(path: Path, suffix: str) -> Path:
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(handle)
    return Path(name)


def _stage(path: Path, text: str) -> Path:
    """``text`` in a new temporary file beside ``path``; a failed write (disk full) leaves no such file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _sibling(path, ".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would hide the outputs from other users
        with temporary.open("w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary
