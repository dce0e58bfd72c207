"""Publishing a run: bilingual Markdown for editors, English Markdown, the JSON run record.

Source and model text are untrusted: every piece is escaped so that it can neither inject HTML
nor change the Markdown structure, and bidi overrides cannot reorder what surrounds them.
All files of a run are written to temporary files first and renamed into place together.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from tarjama.errors import InputError, RunError
from tarjama.files import state_path, write_atomically
from tarjama.publish.escaping import arabic, block, inline, marked
from tarjama.publish.outputs import LOCKS_FOLDER, RENDERED_FOLDER, RUNS_FOLDER
from tarjama.publish.record import RunRecord, SegmentRecord
from tarjama.publish.report import render_report
from tarjama.record.labels import Flag, flag_label
from tarjama.record.reader import read_record
from tarjama.terms.english import target_pattern

_MARKUP_ESCAPES = str.maketrans({ch: f"\\u{ord(ch):04x}" for ch in "<>&`*_[]|#~"})


def arabic_with_terms(segment: SegmentRecord) -> str:
    """The segment's Arabic, right to left, its glossary terms marked with their English as a tooltip."""
    spans = [(t.match.start - segment.start, t.match.end - segment.start, t.match.target, t.hit)
             for t in segment.terms]
    return f'<span dir="rtl" lang="ar">{marked(segment.source, spans)}</span>'


def english_with_terms(segment: SegmentRecord) -> str:
    """The segment's English with every occurrence of its terms' targets marked."""
    spans = [(found.start(), found.end(), "glossary: " + target, True)
             for target in sorted({t.match.target for t in segment.terms if t.hit}, key=len, reverse=True)
             for found in target_pattern(target).finditer(segment.target)]  # "ISIS" is not marked in "crisis"
    return marked(segment.target, spans)


def _yaml_scalar(value: object) -> str:
    # JSON scalars are valid YAML and quote everything that could end the front matter; \u escapes
    # keep markup out for renderers that show front matter as text.
    return json.dumps(value, ensure_ascii=False).translate(_MARKUP_ESCAPES)


def _front_matter(fields: Mapping[str, object]) -> list[str]:
    lines = ["---"]
    for key, value in fields.items():
        if isinstance(value, Mapping):
            lines.append(f"{key}:")
            lines.extend(f"  {sub}: {_yaml_scalar(v)}" for sub, v in value.items())
        else:
            lines.append(f"{key}: {_yaml_scalar(value)}")
    return [*lines, "---"]


APPROVED_NOTE = "✓ " + Flag.APPROVED.label


def _notes(segment: SegmentRecord) -> str:
    missed = list(dict.fromkeys(term.match.target for term in segment.terms if not term.hit))
    # A set-aside approval and missing terms get notes of their own, which name them, in place of their labels.
    own_note = {Flag.APPROVED, *([Flag.APPROVAL_SET_ASIDE] if segment.set_aside is not None else []),
                *([Flag.TERM_MISSED] if missed else [])}
    notes = [flag_label(flag) for flag in segment.flags if flag not in own_note]
    if segment.set_aside is not None:  # name the missing terms and show what the editor wrote
        aside = segment.set_aside
        noun = "term" if len(aside.missing_terms) == 1 else "terms"
        notes.append(f"the editor's approved English lacks the glossary {noun} {', '.join(aside.missing_terms)}: "
                     f"set aside under --strict-terms and translated again; the editor's English: "
                     f"“{aside.target}”")
    if missed:
        notes.append(f"{Flag.TERM_MISSED.label}: " + ", ".join(missed))
    warning = "⚠ " + "; ".join(inline(n) for n in notes) if notes else ""
    if Flag.APPROVED in segment.flags:
        return f"{APPROVED_NOTE} {warning}".strip()
    return warning


def _table(segments: list[SegmentRecord]) -> list[str]:
    rows = ["| Segment | العربية | English | Notes |", "| --- | --- | --- | --- |"]
    rows += [f"| {s.id} | {arabic_with_terms(s)} | {english_with_terms(s)} | {_notes(s)} |" for s in segments]
    return rows


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _terms_table(record: RunRecord) -> list[str]:
    """Per-term figures: how often each term was found, how often its target made it, consistency."""
    rows = ["| العربية | English | Found | With target | Consistency |", "| --- | --- | --- | --- | --- |"]
    rows += [f"| {arabic(t.source)} | {inline(t.target)} | {t.occurrences} | {t.hits} | {_percent(t.consistency)} |"
             for t in record.scores.terms]
    return rows


def render_bilingual(record: RunRecord) -> str:
    """Side-by-side Markdown: each Arabic sentence, right to left, beside its English."""
    english = record.paragraph_english()
    title = english[0] if english else ""
    scores = record.scores.to_json()
    fields: dict[str, object] = {
        "title": title,
        "source": str(record.document.path),
        "model": record.model.name,
        "backend": record.backend,
        "glossary": str(record.glossary.path) if record.glossary else None,
        "glossary_sha256": record.glossary.sha256 if record.glossary else None,
        "strict_terms": record.strict_terms,
        "date": record.created,
        "run_id": record.run_id,  # ties an edited copy to its run record (see exchange.corrections)
        "scores": {k: v for k, v in scores.items() if k != "signatures"},
    }
    article = [s for s in record.segments if s.kind != "related"]
    related = [s for s in record.segments if s.kind == "related"]
    lines = [*_front_matter(fields), "", f"# {block(title)}", ""]
    lines += ["## Article", "", *_table(article), ""]
    if related:
        lines += ["## Related links (website teasers, not part of the article)", "", *_table(related), ""]
    if record.scores.terms:
        scores = record.scores
        lines += ["## Glossary terms", "",
                  f"Marked in the table above. {scores.terms_hit} of {scores.terms_matched} occurrences have their "
                  f"English target ({_percent(scores.term_success_rate)}); consistency "
                  f"{_percent(scores.term_consistency)}.", "", *_terms_table(record), ""]
    return "\n".join(lines)


def render_english(record: RunRecord) -> str:
    """The English article alone: title as heading, body paragraphs, teasers left out."""
    english = record.paragraph_english()
    lines = []
    for paragraph, text in zip(record.document.paragraphs, english, strict=True):
        if paragraph.kind == "title":
            lines += [f"# {block(text)}", ""]
        elif paragraph.kind != "related" and text:
            lines += [block(text), ""]
    return "\n".join(lines)


def render_run_record(record: RunRecord, bilingual: str | None = None) -> str:
    """The run record as indented JSON; with the bilingual file's text, its SHA-256 (to see editors' changes)."""
    data = record.to_json()
    if bilingual is not None:
        data["bilingual_sha256"] = hashlib.sha256(bilingual.encode("utf-8")).hexdigest()
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


@dataclass(frozen=True)
class Published:
    """Paths of a run's output files; after :func:`publish`, also the run record it wrote (``run``)."""

    bilingual: Path
    english: Path
    record: Path
    report: Path
    run: RunRecord | None = field(default=None, compare=False, repr=False)


def output_paths(out_dir: Path, stem: str) -> Published:
    """Where a run of the article ``stem`` writes (contract: ``NAME.bilingual.md`` and so on)."""
    return Published(bilingual=out_dir / f"{stem}.bilingual.md", english=out_dir / f"{stem}.en.md",
                     record=out_dir / f"{stem}.run.json", report=out_dir / f"{stem}.report.html")


def publish(record: RunRecord, out_dir: Path) -> Published:
    """Write the files of a run atomically: all of them, or none.

    Refuses to overwrite a bilingual file an editor changed whose corrections were not harvested
    (see :func:`edited_bilingual`): an editor's work is never lost.
    """
    out_dir = Path(out_dir)
    stem = record.document.stem
    paths = output_paths(out_dir, stem)
    _refuse_changed_source(record)
    _remove_leftovers(paths, _published_run_path(out_dir, stem, "-").parent)
    edited = edited_bilingual(out_dir, stem)
    if edited is not None:
        raise RunError(f"an editor changed {edited.name} during or before this run and the changes are not in "
                       f"the translation memory: run `tarjama tm import {edited}` (or run again with the memory "
                       "on), then translate again", path=edited)
    bilingual = render_bilingual(record)
    mark_known(out_dir, stem, bilingual.encode("utf-8"))  # before the swap: a kill midway stays explainable
    english, report, remembered = render_english(record), render_report(record), _published_run(record)
    # Rendered last, so that its timings hold the rendering of every other file (the run's end is taken here).
    run_record = render_run_record(record, bilingual)
    published_run = _published_run_path(out_dir, stem, record.run_id)
    published_run.parent.mkdir(parents=True, exist_ok=True)
    # The run is remembered first (a new file): a bilingual file never names a run that is not remembered, even
    # after a kill midway. The record goes in last: a record always describes the files beside it once it is there.
    write_atomically({published_run: remembered, paths.bilingual: bilingual, paths.english: english,
                      paths.report: report, paths.record: run_record})
    _prune_published_runs(published_run.parent)
    return replace(paths, run=record)


# Runs remembered per article: enough for any buffer an editor may still have open. An older buffer's
# file is judged against the memory alone (untied), which never approves machine English.
KEPT_RUNS = 100


def _published_run_path(out_dir: Path, stem: str, run_id: str) -> Path:
    # One folder per article: its own publish (under its lock) clears its leftovers and prunes it.
    return state_path(out_dir, RUNS_FOLDER, stem, f"{run_id}.json")


def _prune_published_runs(folder: Path) -> None:
    """Keep the newest :data:`KEPT_RUNS` runs of an article (called under the article's lock)."""
    runs = sorted(folder.glob("*.json"), key=lambda path: path.stat().st_mtime_ns, reverse=True)
    for old in runs[KEPT_RUNS:]:
        old.unlink(missing_ok=True)


def _published_run(record: RunRecord) -> str:
    """What each segment of a run showed (``{segment id: {source, target}}``) and when: kept for every run, so
    that an editor's copy of any run's bilingual file is judged against what that run wrote."""
    return json.dumps({"run_id": record.run_id, "published_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                       "segments": {s.id: {"source": s.source, "target": s.target} for s in record.segments}},
                      ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class PublishedRun:
    """What a run published: each segment id's ``(Arabic, English)``, and when (ISO 8601; ``None`` unknown)."""

    segments: dict[str, tuple[str, str]]
    published_at: str | None


def published_run(folders: Sequence[Path], stem: str, run_id: str) -> PublishedRun | None:
    """What run ``run_id`` of article ``stem`` published, looked up in the outputs ``folders``; ``None`` when
    none of them remembers that run (an unknown run, or one published before runs were remembered)."""
    if not re.fullmatch(r"[\w.-]+", run_id):
        return None  # a run id from a file's front matter names a file: nothing but a plain name
    for folder in folders:
        path = _published_run_path(folder, stem, run_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            segments = {key: (value["source"], value["target"]) for key, value in data["segments"].items()}
            published_at = data.get("published_at")
            return PublishedRun(segments, published_at if isinstance(published_at, str) else None)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return None


def check_source(record: RunRecord) -> None:
    """Refuse a run of a file gone (:class:`SourceGone`) or changed (:class:`SourceChanged`) since it was read."""
    _refuse_changed_source(record, missing_ok=False)


class SourceGone(RunError):
    """The article was removed while it was being translated: nothing is published."""


class SourceChanged(RunError):
    """The article changed while it was being translated: nothing is published."""


def _refuse_changed_source(record: RunRecord, *, missing_ok: bool = True) -> None:
    """Publish only what the article says now: not a half-uploaded file, nor text a newer run replaced.

    With ``missing_ok=False`` (every run of a file: ``check_source``, called by
    ``tarjama.runs.article.publish_locked``), an article that is gone is not published either; records of text that
    never was a file publish as they are.
    """
    source = Path(record.document.path)
    try:
        current = hashlib.sha256(source.read_bytes()).hexdigest()
    except FileNotFoundError:
        if missing_ok:
            return
        raise SourceGone(f"{source.name} was removed while it was being translated: not published (what was "
                         "translated is in the memory; outputs of earlier runs are left as they were)",
                         path=source) from None
    except OSError:
        return  # unreadable now: what was read was whole when it was read
    if record.document.sha256 and current != record.document.sha256:
        raise source_changed(source)


TRANSLATE_AGAIN = "translate it again"
NEXT_RUN_TAKES_IT = "the next run takes it"  # what an inbox run says: it takes the changed article by itself


def source_changed(source: Path, then: str = TRANSLATE_AGAIN) -> SourceChanged:
    """The error of an article that changed while it was being translated; ``then`` says what happens next."""
    return SourceChanged(f"{source.name} changed while it was being translated: not published (what was "
                         f"translated is in the memory; {then})", path=source)


def _remove_leftovers(paths: Published, runs: Path) -> None:
    """Staged and backup files of a run killed while swapping (``write_atomically``'s siblings), the
    article's remembered runs included."""
    for path in (paths.bilingual, paths.english, paths.report, paths.record):
        for leftover in [*path.parent.glob(f".{glob.escape(path.name)}.*.tmp"),
                         *path.parent.glob(f".{glob.escape(path.name)}.*.bak")]:
            leftover.unlink(missing_ok=True)
    for leftover in [*runs.glob(".*.tmp"), *runs.glob(".*.bak")]:
        leftover.unlink(missing_ok=True)


def _known_path(out_dir: Path, stem: str) -> Path:
    return state_path(out_dir, RENDERED_FOLDER, f"{stem}.sha256")


def mark_known(out_dir: Path, stem: str, content: bytes) -> None:
    """Remember a bilingual file's hash as tarjama's own (rendered, or harvested): not an unsaved edit."""
    path = _known_path(out_dir, stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="ascii") as stream:
        stream.write(hashlib.sha256(content).hexdigest() + "\n")
        stream.flush()
        os.fsync(stream.fileno())


def edited_bilingual(out_dir: Path, stem: str) -> Path | None:
    """The article's bilingual file if someone changed it since tarjama wrote or harvested it, else ``None``."""
    paths = output_paths(Path(out_dir), stem)
    if not paths.bilingual.is_file():
        return None
    known = set()
    known_path = _known_path(out_dir, stem)
    if known_path.is_file():
        known.update(known_path.read_text(encoding="ascii", errors="replace").split())
    try:
        written = read_record(paths.record, segments_required=False).bilingual_sha256
    except InputError:
        written = None  # no record (deleted, or only the Markdown copied back): an unknown file is an edit
    if written:
        known.add(written)
    current = hashlib.sha256(paths.bilingual.read_bytes()).hexdigest()
    return paths.bilingual if current not in known else None


@contextmanager
def article_lock(out_dir: Path, stem: str) -> Iterator[None]:
    """Hold the article's lock (a file lock under ``out_dir/.tarjama/locks``): runs publish one at a time."""
    folder = state_path(out_dir, LOCKS_FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{stem}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, also if the process dies
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


