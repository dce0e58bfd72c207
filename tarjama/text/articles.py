"""Articles: reading and validating the input file, and its paragraphs and segments."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from tarjama.errors import InputError, printable
from tarjama.text.arabic import has_arabic_letters
from tarjama.text.segmentation import SegmentationRules, paragraph_kinds, split_sentences, trim_span

# Share of control characters (other than tab and newlines) above which a file is not text.
_BINARY_CONTROL_SHARE = 0.05


@dataclass(frozen=True)
class Segment:
    """One sentence of the source: ``document.text[start:end] == text``."""

    id: str
    paragraph: int
    kind: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Paragraph:
    """One non-blank line of the article, split into segments."""

    index: int
    kind: str
    start: int
    end: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Document:
    """A segmented article. ``text`` is the file as Python reads it (universal newlines)."""

    path: Path
    text: str
    paragraphs: tuple[Paragraph, ...]
    sha256: str = ""  # of the file's bytes, to tie outputs to the exact input

    @property
    def stem(self) -> str:
        """The output name: ``NAME`` for ``NAME.txt`` (and for ``NAME.ar.txt``, ``NAME.ar``)."""
        return self.path.stem

    @property
    def segments(self) -> tuple[Segment, ...]:
        """All segments in reading order."""
        return tuple(segment for paragraph in self.paragraphs for segment in paragraph.segments)

    def to_json(self) -> dict:
        """The ``tarjama segment --json`` object of the contract."""
        return {
            "document": str(self.path),
            "paragraphs": [
                {
                    "index": paragraph.index,
                    "kind": paragraph.kind,
                    "segments": [
                        {"id": s.id, "text": s.text, "start": s.start, "end": s.end}
                        for s in paragraph.segments
                    ],
                }
                for paragraph in self.paragraphs
            ],
        }


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


ARTICLE = "article file"  # what errors about an article call it ("give the article file itself")
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


def segment_text(text: str, path: Path | str, rules: SegmentationRules | None = None, *, sha256: str = ""
                 ) -> Document:
    """Split validated text into paragraphs (non-blank lines) and sentence segments."""
    rules = rules or SegmentationRules.load()
    lines = []
    line_start = 0
    for line in text.split("\n"):
        start, end = trim_span(text, line_start, line_start + len(line))
        line_start += len(line) + 1
        if start < end:
            lines.append((start, end))
    # Kinds over the whole article: a bare "اقرأ أيضاً:" line makes the next paragraph related too.
    kinds = paragraph_kinds((text[start:end] for start, end in lines), rules)
    paragraphs = []
    for index, ((start, end), kind) in enumerate(zip(lines, kinds, strict=True)):
        segments = tuple(
            Segment(id=f"p{index}.s{n}", paragraph=index, kind=kind, text=text[s:e], start=s, end=e)
            for n, (s, e) in enumerate(split_sentences(text, start, end, rules))
        )
        paragraphs.append(Paragraph(index=index, kind=kind, start=start, end=end, segments=segments))
    return Document(path=Path(path), text=text, paragraphs=tuple(paragraphs),
                    sha256=sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest())


def read_article(path: Path | str, rules: SegmentationRules | None = None) -> Document:
    """Read, validate and segment an Arabic article (contract: one paragraph per line)."""
    data = read_input_bytes(path, ARTICLE)
    text = decode_text(data, path)
    if not text.strip():
        raise InputError("empty article: no text to translate", path=path)
    document = segment_text(text, path, rules, sha256=hashlib.sha256(data).hexdigest())
    if not document.paragraphs:
        raise InputError("empty article: only blank or invisible characters", path=path)
    if not has_arabic_letters(text):
        raise InputError("no Arabic text found: tarjama translates Arabic articles", path=path)
    return document


def articles_in(folder: Path | str) -> list[Path]:
    """The articles of an inbox folder: its ``*.txt`` entries with a visible, final name, by name.

    Names that uploads and editors' tools give files still being written or open are not articles
    until renamed to ``NAME.txt``: hidden names (rsync's ``.NAME.txt.XXXXXX``, ``.NAME.txt``), Office's
    ``~$NAME.txt``, and names starting with ``~`` or ``#``. Browsers' ``NAME.txt.part`` or
    ``.crdownload``, ``*.tmp`` and backups ending in ``~`` do not end in ``.txt`` and never match.
    Entries that are not regular files (a folder, a FIFO) or whose names are not UTF-8 are listed
    too, so that a run reports them (see ``inbox.triage``) instead of ignoring them; none is opened here.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no such folder", path=folder)
    return sorted(p for p in folder.glob("*.txt") if not p.name.startswith((".", "~", "#")))
