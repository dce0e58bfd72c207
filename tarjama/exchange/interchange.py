"""Exchange with translators' CAT tools: what every format module reads and writes, and the import policy.

Each file format has its own module behind the same small interface: :mod:`tarjama.exchange.tmx` (TMX, memories)
and :mod:`tarjama.exchange.xliff` (XLIFF 1.2 and 2.0, documents in translation) read a file into an
:class:`~tarjama.exchange.units.ExchangeFile` of units and write text from the memory or from run records
(what they share is in :mod:`tarjama.exchange.units`). This module holds the policy: which units an import approves
(:func:`import_exchange_file`) and what an export contains (:func:`export_memory`, :func:`export_articles`).

The policy: only Arabic→English units come in, and only those a person approved (a TMX from elsewhere is
translators' work; tarjama's own TMX says which units were machine output; XLIFF says by its states). Each
approved unit is then judged by the one approval policy, :func:`tarjama.memory.approvals.decide`, unit by unit: a
memory from elsewhere (or a foreign ``<file>``) never overrides the newsroom's approvals; a unit of tarjama's
own export coming back (placed through its run record, or carrying one of this memory's approvals) does,
unless it still holds an English older than an approval made since. Units of an article's XLIFF are placed
by article and segment id and refused (with a warning) when their Arabic is no longer the article's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path, PureWindowsPath

from tarjama.errors import InputError
from tarjama.exchange.tmx import read_tmx_file, write_tmx
from tarjama.exchange.units import APPROVAL_NOTE, ArticleExport, ArticleSegment, ExchangeFile, ExchangeUnit
from tarjama.exchange.xliff import read_xliff, write_article_xliff, write_xliff
from tarjama.files import outputs_holding
from tarjama.memory.approvals import Verdict, decide, describe, excerpt, origin_of
from tarjama.memory.store import (
    ApprovedEntry,
    TranslationMemory,
    default_memory_path,
    normalise_source,
    open_memory,
    same_english,
)
from tarjama.publish.outputs import DEFAULT_OUTPUT_DIR
from tarjama.publish.publisher import published_run
from tarjama.record.labels import Origin
from tarjama.record.reader import (
    RunRecordView,
    SegmentView,
    TermView,
    read_record,
)
from tarjama.terms.english import term_in_words
from tarjama.wording import counted

_APPROVAL_NOTE_TEXT = re.compile(r"tarjama approval of (\S+)")
EXCHANGE_SUFFIXES = (".tmx", ".xlf", ".xliff")
_UNREAD_SUFFIXES = (".sdlxliff", ".mqxliff")  # XLIFF 1.2 whose states live in a vendor's extension


@dataclass
class ImportSummary:
    """What ``tm import`` of a TMX or XLIFF file did: what it read, approved, skipped, and why."""

    path: Path
    format: str
    memory: Path
    units_read: int
    pairs: Counter[str]
    approved: int = 0
    placed: dict[str, list[str]] = field(default_factory=dict)  # article → segment ids approved
    withdrawn: list[str] = field(default_factory=list)  # labels of units whose approval was withdrawn
    skipped: Counter[str] = field(default_factory=Counter)  # reason → units
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The summary as ``tm import`` prints it."""
        # A unit may hold several translations (a TMX <tu> with ar, en and fr): the pairs count translations.
        lines = [f"{counted(self.approved, 'sentence')} approved into {self.memory}",
                 f"read {counted(self.units_read, 'unit')} ({self.format}) with "
                 + (f"translations {_counts(self.pairs)}" if self.pairs else "no translations")]
        for article, ids in self.placed.items():
            lines.append(f"approved in {article}: {', '.join(ids)}")  # as the bilingual import lists them
        if self.withdrawn:
            lines.append("withdrew the approval of " + ", ".join(self.withdrawn))
        if self.skipped:
            lines.append("skipped: " + _counts(self.skipped))
        return lines


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {count}" for key, count in counter.most_common())


def is_exchange_file(path: Path) -> bool:
    """A TMX or XLIFF file (or a vendor's XLIFF, which gets a clear refusal), by its extension."""
    return path.suffix.lower() in (*EXCHANGE_SUFFIXES, *_UNREAD_SUFFIXES)


def read_exchange_file(path: Path | str) -> ExchangeFile:
    """A TMX or XLIFF file read by its format's module."""
    path = Path(path)
    if path.suffix.lower() == ".tmx":
        return read_tmx_file(path)
    if path.suffix.lower() in (".xlf", ".xliff"):
        return read_xliff(path)
    if path.suffix.lower() in _UNREAD_SUFFIXES:
        raise InputError(f"{path.suffix} keeps its approvals in the vendor's own markup, which is not read: export "
                         "the document from the CAT tool as XLIFF 1.2 or 2.0 (.xlf)", path=path)
    raise InputError(f"not a TMX or XLIFF file (the extension is not one of {', '.join(EXCHANGE_SUFFIXES)})",
                     path=path)


def import_exchange_file(path: Path | str, memory: TranslationMemory, *, outputs: Path,
                         overwrite: bool = False) -> ImportSummary:
    """Approve into ``memory`` the Arabic→English units of a TMX or XLIFF file that a person approved.

    Units of an article's XLIFF are checked against that article's run record in ``outputs``
    (``NAME.run.json``): a segment id it lacks, or Arabic that is no longer the segment's, is skipped with a
    warning. An edited unit left unapproved is named in a warning too: the CAT tool must mark it final.
    Each approved unit is then judged by :func:`tarjama.memory.approvals.decide`, with as its base the English
    tarjama's export gave it (the approval its note names, or the article's published English for a unit placed
    through its run record); a unit without one is foreign and never replaces an approval (a warning says so).
    New English over an approval made since the export is refused (an :class:`InputError` naming the unit and
    quoting both), nothing stored, unless ``overwrite``.
    A file without any Arabic→English unit is an :class:`InputError`: there is nothing to import.
    """
    exchange = read_exchange_file(path)
    summary = ImportSummary(exchange.path, exchange.format, memory.path, exchange.units_read,
                            Counter(unit.pair for unit in exchange.units))
    ours = _arabic_to_english(exchange, summary)
    ours, records = _records_for(ours, outputs, summary)
    chosen = _approved_units(ours, records, memory, summary)
    origin = origin_of(exchange.path)
    pairs, withdrawn = [], []
    for unit in chosen:
        base = _exported_english(unit, memory)
        shown, written_at = _exported_from(unit, records, outputs, memory)
        if base is None:
            base = shown  # exported as the run published it
        label = _label(str(exchange.path), unit)
        if base is None and not overwrite and (kept := _foreign_kept(unit, memory)):
            summary.skipped["the memory's own approval kept"] += 1
            summary.warnings.append(f"{label}: {kept}")
            continue
        # No run id: an XLIFF approval is never taken for a copy of the bilingual file of the run it came from.
        decision = decide(memory, unit.source, unit.target, base=base, written_at=written_at, overwrite=overwrite)
        if decision.verdict == Verdict.UNCHANGED:
            summary.skipped["already approved" if decision.current else "unchanged"] += 1
        elif decision.verdict == Verdict.STALE:
            summary.skipped["an earlier English"] += 1
            summary.warnings.append(f"{label} {decision.message}" if unit.article and unit.segment_id
                                    else f"{label}: the unit {decision.message}")
        elif decision.verdict == Verdict.CONFLICT:
            raise InputError(f"{label}: {decision.message}; nothing was stored. To make this file's English win, "
                             f"import it with `tarjama tm import {exchange.path} --overwrite`", path=exchange.path)
        elif decision.verdict == Verdict.WITHDRAW:
            withdrawn.append(unit.source)
            summary.withdrawn.append(unit.segment_id or label)
        else:
            if decision.message:
                summary.warnings.append(f"{label} {decision.message}")
            pairs.append((unit.source, unit.target))
            if unit.article and unit.segment_id:
                summary.placed.setdefault(unit.article, []).append(unit.segment_id)
    if pairs:  # storing nothing must not create a memory file
        summary.approved = memory.approve(pairs, origin=origin)
    if withdrawn:
        memory.withdraw(withdrawn)
    return summary


def _exported_from(unit: ExchangeUnit, records: dict[str, dict[str, SegmentView]], outputs: Path,
                   memory: TranslationMemory) -> tuple[str | None, str | None]:
    """The English an article's export showed for a unit (the run it was exported from published it) and when
    that run was published (``None``: unknown, every approval counts as made since).

    The export names its run (a ``tarjama-run`` note on its ``<file>``): what that remembered run published.
    A run no longer remembered is the current record only when it is that run; otherwise nothing tells what
    the export showed. An export without a run id (older files) is taken as showing the current record.
    """
    segments = records.get(unit.article) if unit.article else None
    if segments is None or unit.segment_id is None:
        return None, None
    if unit.run_id is not None:
        folders = [outputs]
        if (memory_outputs := outputs_holding(memory.path)) is not None:
            folders.append(memory_outputs)
        run = published_run(folders, unit.article or "", unit.run_id)
        if run is not None:
            segment = run.segments.get(unit.segment_id)
            return (segment[1] if segment else None), run.published_at
        if read_record(outputs / f"{unit.article}.run.json").run_id != unit.run_id:
            return None, None
    segment = segments.get(unit.segment_id)
    return (segment.target if segment else None), None


def _foreign_kept(unit: ExchangeUnit, memory: TranslationMemory) -> str | None:
    """Why a unit from elsewhere (not tarjama's export) leaves the memory's approval as it is, or ``None`` when
    it is not new English over an approval (the one policy then judges it)."""
    current = memory.approved(unit.source)
    if current is None or same_english(current.target, unit.target):
        return None
    known = {e.target for e in memory.past_approvals(unit.source)} | memory.machine_targets(unit.source)
    if any(same_english(unit.target, english) for english in known):
        return None
    return (f"a unit from elsewhere never replaces an approval: \u201c{excerpt(unit.target)}\u201d is not stored, "
            f"the memory's approval is kept ({describe(current)}: \u201c{excerpt(current.target)}\u201d); import "
            "with --overwrite to make this file's English win")


def _exported_english(unit: ExchangeUnit, memory: TranslationMemory) -> str | None:
    """The approved English tarjama's export gave this unit (its approval note names one of this memory's
    approvals), else ``None``.

    A unit exported unapproved gave the translator nothing to keep: marking it final is an approval.
    """
    stamps = [found.group(1) for note in unit.notes if (found := _APPROVAL_NOTE_TEXT.search(note))]
    if not stamps:
        return None
    current = memory.approved(unit.source)
    for entry in [*([current] if current else []), *memory.past_approvals(unit.source)]:
        if entry.approved_at == stamps[0]:
            return entry.target
    return None


def _arabic_to_english(exchange: ExchangeFile, summary: ImportSummary) -> list[ExchangeUnit]:
    """The file's Arabic→English units; the others are counted and named in a warning."""
    where = str(exchange.path)
    if not exchange.units:
        raise InputError(f"no translations (units with a source and a target language) in this {exchange.format} "
                         "file: nothing to import", path=where)
    ours = [unit for unit in exchange.units if unit.arabic_to_english]
    if not ours:
        raise InputError(f"no Arabic→English units (found {_counts(summary.pairs)}): nothing to import",
                         path=where)
    others = Counter(unit.pair for unit in exchange.units if not unit.arabic_to_english)
    if others:
        summary.skipped["not Arabic→English"] = others.total()
        summary.warnings.append(f"{where}: skipped {counted(others.total(), 'translation')} not Arabic→English "
                                f"({_counts(others)})")
    return ours


def _approved_units(units: list[ExchangeUnit], records: dict[str, dict[str, SegmentView]],
                    memory: TranslationMemory, summary: ImportSummary) -> list[ExchangeUnit]:
    """The approved units to store, each Arabic sentence once; the rest counted (and warned of) in ``summary``."""
    where = str(summary.path)
    chosen: dict[str, ExchangeUnit] = {}
    for unit in units:
        label = _label(where, unit)
        key = normalise_source(unit.source)
        if not key or not unit.target.strip():
            summary.skipped["without Arabic or English"] += 1
            continue
        record = records.get(unit.article) if unit.article else None
        problem = _misplaced(unit, record) if record is not None else None
        if problem:
            summary.skipped["not the article's segment"] += 1
            summary.warnings.append(f"{label}: {problem}: skipped")
            continue
        if not unit.approved:
            summary.skipped[f"not approved ({unit.state})"] += 1
            machine = _machine_english(unit, record, memory)
            if machine and not any(same_english(unit.target, known) for known in machine):
                summary.warnings.append(f"{label}: edited but {unit.state}, not approved: mark it final (signed "
                                        "off) in the CAT tool and import it again")
            continue
        earlier = chosen.setdefault(key, unit)
        if earlier is not unit:
            summary.skipped["repeated Arabic"] += 1
            if not same_english(earlier.target, unit.target):
                summary.warnings.append(f"{label}: another English for the Arabic of line {earlier.line}: the "
                                        "first is kept")
    return list(chosen.values())


def _label(where: str, unit: ExchangeUnit) -> str:
    place = f"{where}:{unit.line}" if unit.line else where
    if unit.article and unit.segment_id:
        return f"{place}: {unit.article} {unit.segment_id}"
    return place


def article_stems(name: str) -> list[str]:
    """The run-record stems a CAT tool's name for an article may stand for, most literal first.

    Only the base name counts (``C:\\Users\\tr\\art.txt`` and ``/home/tr/art.txt`` are ``art.txt``: a
    record is never read from where the file says); then without an exchange suffix a tool added
    (``art.txt.xlf``), then as an article's outputs are named (``NAME.txt`` → ``NAME``, ``NAME.ar.txt`` →
    ``NAME.ar``).
    """
    base = PureWindowsPath(name).name  # splits at both \\ and /
    stems = [base]
    for suffix in EXCHANGE_SUFFIXES:
        if base.lower().endswith(suffix):
            base = base[:-len(suffix)]
            stems.append(base)
    if base.lower().endswith(".txt"):
        stems.append(base[:-len(".txt")])
    return [stem for stem in dict.fromkeys(stems) if stem not in ("", ".", "..")]


def _spaceless(text: str) -> str:
    """Arabic as compared modulo whitespace: a CAT tool may trim or split a segment at its spaces."""
    return "".join(normalise_source(text).split())


def _records_for(units: list[ExchangeUnit], outputs: Path, summary: ImportSummary
                 ) -> tuple[list[ExchangeUnit], dict[str, dict[str, SegmentView]]]:
    """Place the units of articles' XLIFF in their run records in ``outputs``: the units, each named by its
    record's stem and keyed by its segment's published Arabic, and each record's segments by id.

    A file's name for its article is matched to a record's stem (:func:`article_stems`); a name that matches
    none is placed by its units' Arabic among the records in ``outputs`` (with a warning). A file placed
    nowhere is a warning and its units are skipped; when nothing at all can be placed, an :class:`InputError`.
    """
    where = str(summary.path)
    records: dict[str, dict[str, SegmentView]] = {}
    stem_of: dict[str, str | None] = {}
    names = list(dict.fromkeys(unit.article for unit in units if unit.article))
    for name in names:
        stem = next((s for s in article_stems(name) if (outputs / f"{s}.run.json").is_file()), None)
        if stem is not None and stem not in records:
            records[stem] = _segments_by_id(outputs / f"{stem}.run.json")
        stem_of[name] = stem
    lost = [name for name in names if stem_of[name] is None]
    if lost:
        everything = {path.name.removesuffix(".run.json"): path for path in sorted(outputs.glob("*.run.json"))}
        for name in lost:
            stem = _placed_by_text([u for u in units if u.article == name], everything, records)
            stem_of[name] = stem
            if stem is not None:
                summary.warnings.append(f"{where}: article {name!r} has no run record in {outputs}: its units are "
                                        f"placed by their Arabic in {stem}")
    placed, unplaced = [], Counter[str]()
    for unit in units:
        if not unit.article:
            placed.append(unit)
        elif (stem := stem_of[unit.article]) is None:
            unplaced[unit.article] += 1
        else:
            segment = records[stem].get(unit.segment_id or "")
            same = segment is not None and _spaceless(segment.source) == _spaceless(unit.source)
            placed.append(replace(unit, article=stem, source=segment.source if same else unit.source))
    for name, count in unplaced.items():
        problem = (f"units of article {name} cannot be placed: no run record for it in {outputs}, and no article "
                   "there has their Arabic (pass --outputs, the folder the article was published in)")
        if not placed:
            raise InputError(problem, path=where)
        summary.skipped["not placed in an article"] += count
        summary.warnings.append(f"{where}: {problem}: {counted(count, 'unit')} skipped")
    return placed, records


def _segments_by_id(path: Path) -> dict[str, SegmentView]:
    return read_record(path).segments_by_id


def _placed_by_text(units: list[ExchangeUnit], candidates: dict[str, Path],
                    records: dict[str, dict[str, SegmentView]]) -> str | None:
    """The run record (by stem) holding the most of these units' Arabic at their segment ids, if any."""
    best, best_count = None, 0
    for stem, path in candidates.items():
        try:
            segments = records[stem] if stem in records else _segments_by_id(path)
        except InputError:
            continue  # not a run record: nothing of this file is there
        count = sum(1 for unit in units if (segment := segments.get(unit.segment_id or "")) is not None
                    and _spaceless(segment.source) == _spaceless(unit.source))
        if count > best_count:
            best, best_count = stem, count
            records[stem] = segments
    return best


def _misplaced(unit: ExchangeUnit, segments: dict[str, SegmentView]) -> str | None:
    segment = segments.get(unit.segment_id or "")
    if segment is None:
        return f"the article has no segment {unit.segment_id}"
    if not same_english(segment.source, unit.source):
        return "its Arabic is not the article's segment any more"
    return None


def _machine_english(unit: ExchangeUnit, segments: dict[str, SegmentView] | None,
                     memory: TranslationMemory) -> set[str]:
    """Every English tarjama gave or approved for this unit's Arabic: what an unedited unit still holds."""
    known = memory.known_english(unit.source)
    if segments is not None and unit.segment_id in segments:
        known.add(segments[unit.segment_id].target)
    return known


def memory_triples(memory: TranslationMemory, *, approved_only: bool = False) -> list[tuple[str, str, str]]:
    """``(Arabic, English, status)`` of a memory for export: every approval, then the newest machine
    translation of each sentence without one."""
    approved = memory.all_approved()
    machine = [] if approved_only else memory.all_machine()
    done = {normalise_source(a.source) for a in approved}
    triples = [(a.source, a.target, "approved") for a in approved]
    for entry in reversed(machine):  # newest first: one machine unit per source sentence
        if entry.source not in done:
            done.add(entry.source)
            triples.append((entry.source, entry.target, "machine"))
    return triples


def export(file_format: str, *, articles: list[Path] | None, memory_path: Path | None = None,
           approved_only: bool = False, outputs: Path = DEFAULT_OUTPUT_DIR) -> tuple[str, int]:
    """``tm export``: articles' segments (XLIFF only: TMX carries no article or segment id) or the whole memory
    (``memory_path``, else the one under ``outputs``) as ``file_format``; the text and how many sentences it holds.
    """
    if articles:
        if file_format != "xliff":
            raise InputError("--article exports XLIFF (--format xliff): TMX carries no article or segment id")
        return export_articles(articles, memory_path, approved_only=approved_only)
    return export_memory(memory_path or default_memory_path(outputs), file_format, approved_only=approved_only)


def export_memory(memory_path: Path, file_format: str, *, approved_only: bool = False) -> tuple[str, int]:
    """The whole memory as TMX 1.4 or XLIFF 2.0 text, and how many sentences it holds."""
    if not memory_path.is_file():
        raise InputError("no translation memory here (translate something first, or pass --memory)",
                         path=memory_path)
    with open_memory(memory_path) as memory:
        triples = memory_triples(memory, approved_only=approved_only)
        approvals = [memory.approved(source) if status == "approved" else None for source, _, status in triples]
    if file_format == "tmx":

        return write_tmx(triples), len(triples)

    notes = [(_approval_note(approval),) if approval else () for approval in approvals]
    return write_xliff(triples, notes=notes), len(triples)


def article_records(paths: Iterable[Path]) -> list[Path]:
    """Run records named on the command line: ``NAME.run.json`` files, or every one in an outputs folder."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            records = sorted(path.glob("*.run.json"))
            if not records:
                raise InputError("no run records (NAME.run.json) in this folder", path=path)
            found += records
        elif path.name.endswith(".run.json") and path.is_file():
            found.append(path)
        else:
            raise InputError("not a run record (NAME.run.json) or an outputs folder", path=path)
    return list(dict.fromkeys(found))


def export_articles(paths: Iterable[Path], memory_path: Path | None = None,
                    *, approved_only: bool = False) -> tuple[str, int]:
    """XLIFF 2.0 of articles' segments (one ``<file>`` per run record), and how many segments it holds.

    Each unit is a segment (``id`` its segment id) with its flags and glossary terms as notes, so a CAT tool
    shows the context and the import can place it. The English is the memory's approval where there is one
    (the run may predate it), else the published English.
    """

    records = article_records(paths)
    articles = []
    for path in records:
        memory_file = memory_path or default_memory_path(path.parent)
        record = read_record(path)
        with open_memory(memory_file) if memory_file.is_file() else nullcontext() as memory:
            articles.append(_article_export(path, record, memory, approved_only=approved_only))
    return write_article_xliff(articles), sum(len(a.segments) for a in articles)


def _article_export(path: Path, record: RunRecordView, memory: TranslationMemory | None, *,
                    approved_only: bool) -> ArticleExport:
    name = path.name.removesuffix(".run.json")
    segments = []
    for segment in record.segments_by_id.values():
        approval = memory.approved(segment.source) if memory is not None else None
        approved = approval is not None or segment.origin == Origin.APPROVED
        if approved_only and not approved:
            continue
        target = approval.target if approval is not None else segment.target
        notes = []
        # The machine output's flags describe the machine English: an approved English carries none of them,
        # and its terms are tested against itself (the test --strict-terms applies).
        if segment.flags and approval is None:
            notes.append(("flags", ", ".join(segment.flags)))
        terms = [f"{t.surface or ''} → {t.target or ''}" + ("" if _term_hit(t, approval) else " (missing)")
                 for t in segment.terms]
        if terms:
            notes.append(("terms", "; ".join(terms)))
        if segment.kind and segment.kind != "body":
            notes.append(("kind", segment.kind))
        if approval is not None:
            notes.append(_approval_note(approval))
        segments.append(ArticleSegment(segment.id, segment.source, target, approved, tuple(notes)))
    original = Path(record.source or f"{name}.txt").name
    return ArticleExport(name, original, tuple(segments), record.run_id)


def _term_hit(term: TermView, approval: ApprovedEntry | None) -> bool:
    """Whether the exported English has a term's target: the record's verdict, or the approval's own test."""
    if approval is None:
        return bool(term.hit)
    return term.target is not None and term_in_words(term.target, approval.target)


def _approval_note(approval: ApprovedEntry) -> tuple[str, str]:
    """The note saying which approval a unit carries, so that the unit coming back unchanged is not taken for
    a new approval over one made since the export."""
    return APPROVAL_NOTE, f"tarjama approval of {approval.approved_at} ({Path(approval.origin).name})"
