"""Articles: an input file read into paragraphs and sentence segments, with the hash that identifies it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from tarjama.errors import InputError
from tarjama.text.arabic import has_arabic_letters
from tarjama.text.inputs import decode_text, read_input_bytes
from tarjama.text.segmentation import SegmentationRules, paragraph_kinds, split_sentences, trim_span


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


ARTICLE = "article file"  # what errors about an article call it ("give the article file itself")


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
