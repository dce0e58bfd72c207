"""A run record as the imports read it: the segments tarjama published, by segment id."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from tarjama.errors import InputError

SEGMENT_ID = re.compile(r"p\d+\.s\d+")  # a segment's id: paragraph and sentence, p3.s1


@dataclass(frozen=True)
class PublishedSegment:
    """One published sentence: its id, Arabic, English, where the English came from, and the raw record entry."""

    id: str
    source: str
    target: str
    origin: str
    terms: tuple[str, ...]  # the glossary targets of its matched terms
    data: dict


@dataclass(frozen=True)
class PublishedRecord:
    """A run record (``NAME.run.json``): its run id, article file name and segments by id."""

    path: Path
    run_id: str | None
    source: str | None
    segments: dict[str, PublishedSegment]
    data: dict


def read_run_record(path: Path | str) -> PublishedRecord:
    """A run record read and checked for the segment fields the imports and exports use.

    A missing, unreadable or damaged record is one :class:`InputError` ("not a run record") naming it.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        segments = {}
        for entry in data["segments"]:
            if not all(isinstance(entry[key], str) for key in ("id", "source", "target")):
                raise TypeError
            terms = tuple(t.get("target") for t in entry.get("terms") or () if isinstance(t, dict))
            segments[entry["id"]] = PublishedSegment(
                entry["id"], entry["source"], entry["target"], str(entry.get("origin") or "model"),
                tuple(t for t in terms if isinstance(t, str) and t), entry)
        run_id = data.get("run_id")
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError, OSError):
        raise InputError("not a run record", path=path) from None
    source = data.get("source")
    return PublishedRecord(path, run_id if isinstance(run_id, str) else None,
                           source if isinstance(source, str) else None, segments, data)
