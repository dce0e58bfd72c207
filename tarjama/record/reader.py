"""The one reader of run records (``NAME.run.json``): a typed view of what a run wrote, for every stage that reads it.

The record is written by :meth:`tarjama.publish.record.RunRecord.to_json`; everything that reads one back (the
exchange, the inbox's "is this article current", ``compare``, the publisher, the CLI, the bench) reads it here.
A record of an older tarjama lacks keys: those read as ``None`` (or empty). A missing, unreadable or damaged
file (not UTF-8, not JSON, not a JSON object, no segments, a key of the wrong type) is one
:class:`~tarjama.errors.InputError` naming the file ("not a run record: …").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from tarjama.errors import InputError
from tarjama.record.labels import Origin
from tarjama.text.inputs import read_input_bytes

SEGMENT_ID = re.compile(r"p\d+\.s\d+")  # a segment's id: paragraph and sentence, p3.s1
_Part = TypeVar("_Part")


class _Damage(Exception):
    """What is wrong in a record, by the place of the key (``segments[3].target is not text``)."""


class _Kind(StrEnum):
    """A JSON type, as an error names it."""

    TEXT = "text"
    WHOLE = "a whole number"
    NUMBER = "a number"
    TRUTH = "true or false"
    OBJECT = "an object"
    LIST = "a list"

    def holds(self, value: Any) -> bool:
        """Whether ``value`` (as ``json`` reads it) is of this type; true and false are no numbers."""
        if self is _Kind.TEXT:
            return isinstance(value, str)
        if self in (_Kind.WHOLE, _Kind.NUMBER):
            kinds = int if self is _Kind.WHOLE else int | float
            return isinstance(value, kinds) and not isinstance(value, bool)
        if self is _Kind.TRUTH:
            return isinstance(value, bool)
        return isinstance(value, dict if self is _Kind.OBJECT else list)


def _get(data: dict, key: str, kind: _Kind, where: str) -> Any:
    """``data[key]`` checked to be of ``kind``; ``None`` when it is absent or null (an older record)."""
    value = data.get(key)
    if value is not None and not kind.holds(value):
        raise _Damage(f"{where}{key} is not {kind}")
    return value


def _required(data: dict, key: str, kind: _Kind, where: str) -> Any:
    """``data[key]``, which every record has: absent or null is damage."""
    value = _get(data, key, kind, where)
    if value is None:
        raise _Damage(f"{where.removesuffix('.') or 'the record'} has no {key}")
    return value


def _texts(data: dict, key: str, where: str) -> tuple[str, ...]:
    """A list of strings (empty when absent)."""
    items = _get(data, key, _Kind.LIST, where) or ()
    for n, item in enumerate(items):
        if not isinstance(item, str):
            raise _Damage(f"{where}{key}[{n}] is not {_Kind.TEXT}")
    return tuple(items)


def _counts(data: dict, key: str, where: str) -> dict[str, int] | None:
    """An object of whole numbers by name (``terms_by_how``, ``flags``)."""
    counts = _get(data, key, _Kind.OBJECT, where)
    for name, count in (counts or {}).items():
        if not _Kind.WHOLE.holds(count):
            raise _Damage(f"{where}{key}.{name} is not {_Kind.WHOLE}")
    return counts


# A view's plain fields, by their annotation (``from __future__ import annotations``: the annotation's text).
_SCALAR_KINDS = {"str | None": _Kind.TEXT, "int | None": _Kind.WHOLE, "float | None": _Kind.NUMBER,
                 "bool | None": _Kind.TRUTH}


def _scalars(view: type, data: dict, where: str) -> dict[str, Any]:
    """Every optional text, number or truth field of the dataclass ``view``, read from ``data`` by its name."""
    return {field.name: _get(data, field.name, _SCALAR_KINDS[field.type], where)
            for field in fields(view) if field.type in _SCALAR_KINDS}


def _part(data: dict, key: str, where: str, read: Callable[[dict, str], _Part]) -> _Part | None:
    """An object of the record read by ``read`` (given the place its own keys are named by: ``memory.``)."""
    item = _get(data, key, _Kind.OBJECT, where)
    return None if item is None else read(item, f"{where}{key}.")


def _parts(data: dict, key: str, where: str, read: Callable[[dict, str], _Part]) -> tuple[_Part, ...] | None:
    """A list of objects, each read by ``read`` (given the place its keys are named by: ``segments[3].``)."""
    items = _get(data, key, _Kind.LIST, where)
    if items is None:
        return None
    parts = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise _Damage(f"{where}{key}[{n}] is not {_Kind.OBJECT}")
        parts.append(read(item, f"{where}{key}[{n}]."))
    return tuple(parts)


@dataclass(frozen=True)
class TermView:
    """A glossary term matched in a segment, and whether (and how) its target is in the English."""

    surface: str | None  # the Arabic as it stands in the sentence
    source: str | None  # the glossary's Arabic
    target: str | None  # the glossary's English
    start: int | None
    end: int | None
    proclitics: tuple[str, ...]
    hit: bool | None
    how: str | None  # model, hypothesis, forced, replaced, approved, inside_word, missed

    @classmethod
    def of(cls, data: dict, where: str) -> TermView:
        """The term of a segment's ``terms`` entry."""
        return cls(**_scalars(cls, data, where), proclitics=_texts(data, "proclitics", where))


@dataclass(frozen=True)
class SetAsideView:
    """Strict mode: the editor's approved English of a segment, set aside because it lacks glossary terms."""

    target: str | None
    missing_terms: tuple[str, ...]

    @classmethod
    def of(cls, data: dict, where: str) -> SetAsideView:
        """The segment's ``set_aside_approval`` object."""
        return cls(_get(data, "target", _Kind.TEXT, where), _texts(data, "missing_terms", where))


@dataclass(frozen=True)
class SegmentView:
    """One published sentence: its id, place, Arabic and English, where the English came from, terms and flags."""

    id: str
    source: str
    target: str
    paragraph: int | None = None
    kind: str | None = None  # title, heading or body
    start: int | None = None  # character offsets into the article's text
    end: int | None = None
    origin: str = Origin.MODEL  # model, copied, memory (an earlier run's) or approved (an editor's)
    terms: tuple[TermView, ...] = ()
    flags: tuple[str, ...] = ()
    set_aside: SetAsideView | None = None

    @classmethod
    def of(cls, data: dict, where: str) -> SegmentView:
        """The segment of a ``segments`` entry: id, Arabic and English are required."""
        return cls(id=_required(data, "id", _Kind.TEXT, where), source=_required(data, "source", _Kind.TEXT, where),
                   target=_required(data, "target", _Kind.TEXT, where),
                   paragraph=_get(data, "paragraph", _Kind.WHOLE, where), kind=_get(data, "kind", _Kind.TEXT, where),
                   start=_get(data, "start", _Kind.WHOLE, where), end=_get(data, "end", _Kind.WHOLE, where),
                   origin=_get(data, "origin", _Kind.TEXT, where) or Origin.MODEL,
                   terms=_parts(data, "terms", where, TermView.of) or (), flags=_texts(data, "flags", where),
                   set_aside=_part(data, "set_aside_approval", where, SetAsideView.of))

    @property
    def term_targets(self) -> tuple[str, ...]:
        """The glossary English of its matched terms (those the record names)."""
        return tuple(term.target for term in self.terms if term.target)


@dataclass(frozen=True)
class ParagraphView:
    """A paragraph's English, its reference line and sentence chrF++ (``None`` without a reference)."""

    english: str
    reference: str | None
    index: int | None = None
    kind: str | None = None
    chrf: float | None = None

    @classmethod
    def of(cls, data: dict, where: str) -> ParagraphView:
        """The paragraph of a ``paragraphs`` entry: its English is required."""
        return cls(english=_required(data, "english", _Kind.TEXT, where), **_scalars(cls, data, where))


@dataclass(frozen=True)
class ModelView:
    """The model a run used, and the backend that ran it."""

    name: str | None = None
    backend: str | None = None
    path: str | None = None
    architecture: str | None = None
    revision: str | None = None
    fingerprint: str | None = None
    source_lang: str | None = None
    target_lang: str | None = None

    @classmethod
    def of(cls, data: dict, where: str) -> ModelView:
        """The record's ``model`` object."""
        return cls(**_scalars(cls, data, where))


@dataclass(frozen=True)
class DecodingView:
    """How the run decoded (the record's ``decoding``)."""

    beam_size: int | None = None
    max_source_tokens: int | None = None
    max_batch_sentences: int | None = None
    max_batch_tokens: int | None = None
    max_output_ratio: float | None = None
    max_output_slack: int | None = None
    term_rerank_margin: float | None = None
    min_output_tokens: int | None = None
    max_output_tokens: int | None = None
    term_search: str | None = None  # strict mode's (a strict record names it; earlier ones did not)

    @classmethod
    def of(cls, data: dict, where: str) -> DecodingView:
        """The record's ``decoding`` object."""
        return cls(**_scalars(cls, data, where))


@dataclass(frozen=True)
class GlossaryView:
    """The glossary a run matched terms with: its path, SHA-256 and number of entries."""

    path: str | None = None
    sha256: str | None = None
    entries: int | None = None

    @classmethod
    def of(cls, data: dict, where: str) -> GlossaryView:
        """The record's ``glossary`` object."""
        return cls(**_scalars(cls, data, where))


@dataclass(frozen=True)
class HarvestView:
    """What a run harvested from the editor's bilingual file: segment ids approved and withdrawn, warnings."""

    approved: tuple[str, ...] = ()
    withdrawn: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, data: dict, where: str) -> HarvestView:
        """The memory's ``harvest`` object."""
        return cls(*(_texts(data, key, where) for key in ("approved", "withdrawn", "warnings")))


@dataclass(frozen=True)
class MemoryView:
    """What a run took from the translation memory and sent to the model (the record's ``memory``)."""

    data: dict  # the object as recorded: ``compare --json`` shows it as it is
    path: str | None = None
    approved: int | None = None
    approvals_set_aside: int | None = None
    reused: int | None = None
    translated: int | None = None
    model_inputs: int | None = None
    harvested: int | None = None
    harvest: HarvestView | None = None

    @classmethod
    def of(cls, data: dict, where: str) -> MemoryView:
        """The record's ``memory`` object."""
        return cls(data, **_scalars(cls, data, where), harvest=_part(data, "harvest", where, HarvestView.of))


@dataclass(frozen=True)
class ScoresView:
    """The article's scores: term figures, flag counts, approvals and (with a reference) BLEU, chrF++, TER."""

    term_success_rate: float | None = None
    term_consistency: float | None = None
    terms_matched: int | None = None
    terms_hit: int | None = None
    terms_by_how: dict[str, int] | None = None
    flags: dict[str, int] | None = None
    approved: int | None = None
    bleu: float | None = None
    chrf: float | None = None
    ter: float | None = None
    signatures: dict[str, str] | None = None

    @classmethod
    def of(cls, data: dict, where: str) -> ScoresView:
        """The record's ``scores`` object."""
        signatures = _get(data, "signatures", _Kind.OBJECT, where)
        for name, signature in (signatures or {}).items():
            if not isinstance(signature, str):
                raise _Damage(f"{where}signatures.{name} is not {_Kind.TEXT}")
        return cls(**_scalars(cls, data, where), terms_by_how=_counts(data, "terms_by_how", where),
                   flags=_counts(data, "flags", where), signatures=signatures)


@dataclass(frozen=True)
class TimingsView:
    """Where a run's time went, in seconds (the record's ``timings``): the stages, the rest, and the wall time."""

    read_segment: float | None = None
    terms: float | None = None
    model_load: float | None = None
    translate: float | None = None
    enforce: float | None = None
    score: float | None = None
    publish: float | None = None
    overhead: float | None = None  # what no stage measured: Prefect, imports, start-up
    total: float | None = None

    @classmethod
    def of(cls, data: dict, where: str) -> TimingsView:
        """The record's ``timings`` object."""
        return cls(**_scalars(cls, data, where))

    def summary(self) -> str:
        """One line: ``time: 8.1 s in all: read 0.01 · terms 0.02 · model load 2.3 · …``."""
        parts = [(label, getattr(self, name)) for name, label in _TIMING_LABELS.items()]
        figures = " · ".join(f"{label} {_seconds(seconds)}" for label, seconds in parts if seconds is not None)
        total = "?" if self.total is None else f"{self.total:.1f}"
        return f"time: {total} s in all: {figures}"


# The summary's words for the stages, in the order of a run.
_TIMING_LABELS = {"read_segment": "read", "terms": "terms", "model_load": "model load", "translate": "translate",
                  "enforce": "enforce", "score": "score", "publish": "publish", "overhead": "overhead"}


def _seconds(seconds: float) -> str:
    """Seconds with two significant figures' worth of detail: 0.012, 0.31, 2.3, 14."""
    if seconds >= 10:
        return f"{seconds:.0f}"
    return f"{seconds:.1f}" if seconds >= 1 else f"{seconds:.2g}"


@dataclass(frozen=True)
class RunRecordView:
    """A run record as read back: the run, its inputs and settings, every segment and paragraph, its scores."""

    path: Path
    segments: tuple[SegmentView, ...]
    tarjama_version: str | None = None  # the version that wrote it (the record's ``tarjama``)
    created: str | None = None  # ISO 8601, to the second
    run_id: str | None = None
    source: str | None = None  # the article's path
    source_sha256: str | None = None
    model: ModelView | None = None
    decoding: DecodingView | None = None
    glossary: GlossaryView | None = None
    strict_terms: bool | None = None
    reference: str | None = None  # the reference file's path
    memory: MemoryView | None = None  # None: the run used no memory
    paragraphs: tuple[ParagraphView, ...] | None = None
    scores: ScoresView | None = None
    bilingual_sha256: str | None = None  # the bilingual file published beside it
    timings: TimingsView | None = None  # None: a record of a tarjama that did not time its runs

    @cached_property
    def segments_by_id(self) -> dict[str, SegmentView]:
        """The segments by id (a repeated id: the later one)."""
        return {segment.id: segment for segment in self.segments}


def _view(data: Any, path: Path, *, segments_required: bool) -> RunRecordView:
    if not isinstance(data, dict):
        raise _Damage("not a JSON object")
    segments = _parts(data, "segments", "", SegmentView.of)
    if segments is None and segments_required:
        raise _Damage("no segments")
    return RunRecordView(
        path=path, segments=segments or (), tarjama_version=_get(data, "tarjama", _Kind.TEXT, ""),
        created=_get(data, "created", _Kind.TEXT, ""), run_id=_get(data, "run_id", _Kind.TEXT, ""),
        source=_get(data, "source", _Kind.TEXT, ""), source_sha256=_get(data, "source_sha256", _Kind.TEXT, ""),
        model=_part(data, "model", "", ModelView.of), decoding=_part(data, "decoding", "", DecodingView.of),
        glossary=_part(data, "glossary", "", GlossaryView.of), strict_terms=_get(data, "strict_terms", _Kind.TRUTH, ""),
        reference=_get(data, "reference", _Kind.TEXT, ""), memory=_part(data, "memory", "", MemoryView.of),
        paragraphs=_parts(data, "paragraphs", "", ParagraphView.of), scores=_part(data, "scores", "", ScoresView.of),
        bilingual_sha256=_get(data, "bilingual_sha256", _Kind.TEXT, ""),
        timings=_part(data, "timings", "", TimingsView.of))


def parse_record(text: str, path: Path | str, *, segments_required: bool = True) -> RunRecordView:
    """The run record in ``text`` (read from ``path``, which errors name).

    ``segments_required=False`` for a reader of the record's other parts only (``compare`` reads its paragraphs,
    the inbox its settings): a record without segments then reads with none. Raises :class:`InputError`
    ("not a run record: …") for anything but a run record.
    """
    path = Path(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not a run record: invalid JSON ({exc.msg})", path=path, line=exc.lineno) from None
    except ValueError as exc:  # a number too long to convert
        raise InputError(f"not a run record: invalid JSON ({exc})", path=path) from None
    except RecursionError:
        raise InputError("not a run record: nested too deeply", path=path) from None
    try:
        return _view(data, path, segments_required=segments_required)
    except _Damage as damage:
        raise InputError(f"not a run record: {damage}", path=path) from None


def read_record(path: Path | str, *, segments_required: bool = True) -> RunRecordView:
    """The run record at ``path``, read and checked (see :func:`parse_record`).

    A missing or unreadable file, one that is not UTF-8, and a damaged record are each one :class:`InputError`
    naming the file.
    """
    path = Path(path)
    data = read_input_bytes(path, "run record")  # a regular file within the input limit, as every input
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not a run record: not valid UTF-8 (byte 0x{data[exc.start]:02x})", path=path,
                         line=data.count(b"\n", 0, exc.start) + 1) from None
    return parse_record(text, path, segments_required=segments_required)
