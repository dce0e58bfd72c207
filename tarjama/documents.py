"""Articles: reading and validating the input file, and its paragraphs and segments."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from tarjama.arabic import has_arabic_letters
from tarjama.errors import InputError
from tarjama.segmentation import SegmentationRules, paragraph_kinds, split_sentences, trim_span

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


def read_input_bytes(path: Path | str, what: str = "file") -> bytes:
    """Read an input file's bytes or raise an :class:`InputError` that names it."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"no such {what}", path=path) from None
    except IsADirectoryError:
        raise InputError(f"is a directory, not a {what}", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", path=path) from None


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
    data = read_input_bytes(path)
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
    """The articles of an inbox folder: its regular ``*.txt`` files with a visible, final name, by name.

    Names that uploads and editors' tools give files still being written or open are not articles
    until renamed to ``NAME.txt``: hidden names (rsync's ``.NAME.txt.XXXXXX``, ``.NAME.txt``), Office's
    ``~$NAME.txt``, and names starting with ``~`` or ``#``. Browsers' ``NAME.txt.part`` or
    ``.crdownload``, ``*.tmp`` and backups ending in ``~`` do not end in ``.txt`` and never match.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no such folder", path=folder)
    return sorted(p for p in folder.glob("*.txt") if p.is_file() and not p.name.startswith((".", "~", "#")))
