"""Scheduled inbox runs: which articles are new or changed, and a log of what each run did."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from tarjama.publishing import edited_bilingual, output_paths
from tarjama.registry import ResolvedModel

LOG_NAME = "inbox-log.jsonl"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(article: Path, model: ResolvedModel, backend: str, beam_size: int, strict_terms: bool,
                glossary: Path | None) -> dict:
    """What an article's outputs depend on: its bytes and the run's settings."""
    return {"source_sha256": _sha256(article), "model": model.name, "revision": model.revision,
            "model_fingerprint": model.fingerprint, "backend": backend, "beam_size": beam_size,
            "strict_terms": strict_terms,
            "glossary_sha256": _sha256(glossary) if glossary else None}


def _recorded(record: dict) -> dict:
    glossary = record.get("glossary") or {}
    return {"source_sha256": record.get("source_sha256"), "model": record["model"].get("name"),
            "revision": record["model"].get("revision"), "model_fingerprint": record["model"].get("fingerprint"),
            "backend": record["model"].get("backend"),
            "beam_size": record["decoding"].get("beam_size"), "strict_terms": record.get("strict_terms"),
            "glossary_sha256": glossary.get("sha256")}


def up_to_date(article: Path, out_dir: Path, wanted: dict) -> bool:
    """True when the article's published outputs come from these very bytes and settings."""
    paths = output_paths(out_dir, article.stem)
    if not all(p.is_file() for p in (paths.bilingual, paths.english, paths.record, paths.report)):
        return False
    if edited_bilingual(out_dir, article.stem) is not None:
        return False  # an editor's corrections are waiting to be approved and published
    try:
        record = json.loads(paths.record.read_text(encoding="utf-8"))
        # Another bilingual file than the record's: corrections imported since (their English is not
        # published yet), or a run killed between its renames. Either way, publish again.
        return _recorded(record) == wanted and record.get("bilingual_sha256") == _sha256(paths.bilingual)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False  # unreadable or foreign record: translate again


def is_current(article: Path, out_dir: Path, model: ResolvedModel, backend: str, beam_size: int,
               strict_terms: bool, glossary: Path | None) -> bool:
    """Whether the article's outputs already come from its current text and these settings.

    An article or glossary that cannot be read now counts as not current: its own run then fails
    and is logged with the reason, instead of the whole inbox run stopping here.
    """
    try:
        return up_to_date(article, out_dir, fingerprint(article, model, backend, beam_size, strict_terms, glossary))
    except OSError:
        return False


def log_run(out_dir: Path, entries: Sequence[dict]) -> Path:
    """Append one line for this run to ``OUT/.tarjama/inbox-log.jsonl``: when, and each article's fate."""
    path = Path(out_dir) / ".tarjama" / LOG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"finished": datetime.now(UTC).isoformat(timespec="seconds"), "articles": list(entries)},
                      ensure_ascii=False) + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line.encode("utf-8"))  # one write: concurrent runs never mix their lines
    finally:
        os.close(descriptor)
    return path
