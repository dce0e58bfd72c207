"""Input files, read safely: only regular files, within a size limit, as text or refused in the user's words.

Articles, glossaries, references, editors' files and CAT tools' files all come in through here, so a FIFO,
a device, a 4 GB file or a binary file given by mistake is refused the same way wherever it is given.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tarjama.errors import InputError, printable

# Share of control characters (other than tab and newlines) above which a file is not text.
_BINARY_CONTROL_SHARE = 0.05


def decode_text(data: bytes, path: Path | str) -> str:
    """Decode UTF-8 strictly, naming the line of the first bad byte; newlines as Python reads them."""
    if b"\x00" in data or _looks_binary(data):
        raise InputError("binary data, not UTF-8 text", path=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x})", path=path, line=line) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _looks_binary(data: bytes) -> bool:
    sample = data[:65536]
    if not sample:
        return False
    controls = sum(1 for b in sample if b < 0x20 and b not in (0x09, 0x0A, 0x0C, 0x0D, 0x1B))
    return controls / len(sample) > _BINARY_CONTROL_SHARE


# Inputs larger than this are refused (an article is kilobytes; a termbase or memory export some megabytes).
MAX_INPUT_MB_VARIABLE = "TARJAMA_MAX_INPUT_MB"


DEFAULT_MAX_INPUT_MB = 64


_CHUNK = 1 << 20


_NOT_REGULAR = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def max_input_bytes() -> int:
    """The size limit on any input file: ``TARJAMA_MAX_INPUT_MB`` megabytes (default 64)."""
    text = os.environ.get(MAX_INPUT_MB_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_INPUT_MB * 1024 * 1024
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = -1.0
    if not megabytes > 0 or megabytes == float("inf"):
        raise InputError(f"{MAX_INPUT_MB_VARIABLE}={text!r}: give the largest input file in megabytes, e.g. 64")
    return int(megabytes * 1024 * 1024)


def _not_regular(mode: int) -> str | None:
    """What a file that is not a regular file is (a directory, a FIFO, ...), or ``None``."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _NOT_REGULAR if test(mode)), "not a regular file")


def file_kind(path: Path | str) -> str:
    """What is at ``path``, in words: "a file", "a directory", "a named pipe (FIFO)", "a broken symbolic link"..."""
    try:
        return _not_regular(os.stat(path).st_mode) or "a file"
    except FileNotFoundError:
        return "a broken symbolic link" if os.path.islink(path) else "nothing"


def check_regular_file(path: Path | str, what: str = "file") -> None:
    """Refuse anything but a regular file (following symbolic links), without opening it.

    The one check of every input's type: a FIFO would block an open or a read, a device never ends.
    Raises ``FileNotFoundError`` or ``OSError`` when ``path`` cannot be stat'ed.
    """
    kind = _not_regular(os.stat(path).st_mode)  # a socket cannot be opened at all: name it first
    if kind is not None:
        raise InputError(f"is {kind}, not a regular file: give the {what} itself", path=path)


def name_is_utf8(path: Path | str) -> bool:
    """Whether the file name is valid UTF-8 (Python keeps other bytes as lone surrogates, which no
    JSON, log or HTTP request can carry)."""
    return printable(path) == str(path)


def check_name_utf8(path: Path | str, what: str) -> None:
    """Refuse a path that is not valid UTF-8 where it must go to Prefect (a run's parameters cannot carry it)."""
    if not name_is_utf8(Path(path).absolute()):
        raise InputError(f"the {what}'s path is not valid UTF-8: rename it", path=path)


def readable_size(size: float) -> str:
    """A size in bytes for people: "100 bytes", "1.5 KB", "64 MB"."""
    if size < 1024:
        return f"{size:.0f} bytes"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            return f"{size:.3g} {unit}" if size < 100 else f"{size:.0f} {unit}"
    raise AssertionError("unreachable")


def read_input_bytes(path: Path | str, what: str = "file") -> bytes:
    """Read an input file's bytes or raise an :class:`InputError` that names it.

    Every input (article, glossary, reference, TMX, bilingual file, score files) comes through here:
    only a regular file is read, and at most :func:`max_input_bytes` of it, so that a FIFO, a device
    or an endless file is an error at once rather than a hang or a machine out of memory.
    """
    path = Path(path)
    limit = max_input_bytes()
    try:
        check_regular_file(path, what)
        # O_NONBLOCK: a FIFO swapped in since the stat must not block the open; fstat then judges what was opened.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"no such {what}", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", path=path) from None
    with os.fdopen(descriptor, "rb", buffering=0) as stream:
        try:
            kind = _not_regular(os.fstat(descriptor).st_mode)
            if kind is not None:
                raise InputError(f"is {kind}, not a regular file: give the {what} itself", path=path)
            os.set_blocking(descriptor, True)
            chunks, size = [], 0
            while size <= limit:
                chunk = stream.read(min(_CHUNK, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError as exc:
            raise InputError(f"cannot read {what}: {exc.strerror}", path=path) from None
    if size > limit:
        raise InputError(f"larger than the {readable_size(limit)} input limit: not read (raise "
                         f"{MAX_INPUT_MB_VARIABLE} if this {what} is meant to be that big)", path=path)
    return b"".join(chunks)


def read_text_file(path: Path | str, what: str = "file") -> str:
    """Read a UTF-8 text file or raise an :class:`InputError` that names it."""
    return decode_text(read_input_bytes(path, what), path)
