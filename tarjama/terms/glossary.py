"""Terminology glossaries: reading TSV and TBX files and checking them row by row.

A glossary is the newsroom's style book for names and fixed terms. Loading stops at the first
error (with file and line); :func:`check_glossary` lists every problem, errors and warnings.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

from tarjama.errors import InputError
from tarjama.terms.clitics import redundant_proclitic
from tarjama.terms.entries import (
    CLITICS,
    ERROR,
    MATCH_RULES,
    WARNING,
    Glossary,
    GlossaryEntry,
    GlossaryProblem,
    term_key,
)
from tarjama.terms.tbx import read_tbx
from tarjama.text.arabic import has_arabic_letters
from tarjama.text.inputs import decode_text, read_input_bytes

COLUMNS = ("source", "target", "note", "variants", "match")
VARIANT_SEPARATOR = "|"
_LONG_TERM_WORDS = 8


@dataclass(frozen=True)
class GlossaryCheck:
    """Everything found in a glossary file: usable entries and the problems of its rows."""

    path: Path
    sha256: str
    entries: tuple[GlossaryEntry, ...]
    problems: tuple[GlossaryProblem, ...]

    @property
    def errors(self) -> list[GlossaryProblem]:
        """Problems that make the file unusable for a run."""
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[GlossaryProblem]:
        """Suspicious rows that a run can live with."""
        return [p for p in self.problems if p.severity == WARNING]

    def text_lines(self) -> list[str]:
        """The report of ``tarjama glossary check``: each problem by line, then the counts."""
        return [*(problem.describe(self.path) for problem in self.problems),
                f"{self.path}: {len(self.entries)} entries, {len(self.errors)} errors, {len(self.warnings)} warnings"]

    def failure(self, *, strict: bool = False) -> str | None:
        """Why the glossary fails its check (errors, or with ``strict`` warnings too); ``None`` when it passes."""
        if self.errors:
            return f"{self.path}: the glossary has {len(self.errors)} errors"
        if strict and self.warnings:
            return f"{self.path}: the glossary has {len(self.warnings)} warnings"
        return None

    def to_json(self) -> dict:
        """The report of ``tarjama glossary check --json``."""
        return {"path": str(self.path), "entries": len(self.entries), "errors": len(self.errors),
                "warnings": len(self.warnings), "problems": [p.to_json() for p in self.problems]}


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def is_tbx(path: Path, data: bytes) -> bool:
    """TBX by extension, or any file that looks like XML (the TBX reader then checks its root)."""
    if path.suffix.lower() == ".tbx":
        return True
    if data.startswith((b"<\x00", b"\x00<")):
        return True  # UTF-16 XML without a byte order mark (expat reads the encoding from "<?xml")
    if data.startswith(_UTF16_BOMS):
        # XML in UTF-16, or Excel's "Unicode Text" (a UTF-16 TSV), which must not meet the XML parser.
        return data.decode("utf-16", errors="replace").lstrip(" \t\r\n").startswith("<")
    # A TSV row cannot start with "<" in any sensible glossary; XML always does.
    return data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n").startswith(b"<")


def check_glossary(path: Path | str, *, skip_conflicts: bool = False) -> GlossaryCheck:
    """Read a TSV or TBX glossary and list every problem; raises only when the file cannot be read.

    With ``skip_conflicts``, a term given two different targets is a warning and both entries are left out
    (neither English can be trusted) instead of an error.
    """
    path = Path(path)
    data = read_input_bytes(path, "glossary file")
    sha256 = hashlib.sha256(data).hexdigest()
    if is_tbx(path, data):
        rows, problems = read_tbx(data)
    else:
        try:
            text = _decode_tsv(data, path)
        except InputError as exc:
            return GlossaryCheck(path, sha256, (), (GlossaryProblem(ERROR, exc.message, exc.line),))
        rows, problems = read_tsv(text)
    entries, more = check_entries(rows, skip_conflicts=skip_conflicts)
    problems = sorted([*problems, *more], key=lambda p: (p.line or 0, p.severity != ERROR))
    if not entries and not any(p.severity == ERROR for p in problems):
        problems.append(GlossaryProblem(ERROR, "glossary has no entries"))
    return GlossaryCheck(path, sha256, tuple(entries), tuple(problems))


def _decode_tsv(data: bytes, path: Path) -> str:
    # Excel saves "Unicode Text" as UTF-16 with a byte order mark. It is refused rather than read: the
    # contract's glossary is UTF-8 (DeepL and Google take the same file), and Excel's quoting of cells
    # would slip quote marks into terms. Otherwise the UTF-8 check would call it "binary data".
    if data.startswith(_UTF16_BOMS):
        raise InputError('not UTF-8: the file is UTF-16 (Excel\'s "Unicode Text"); save it as UTF-8', path=path)
    return decode_text(data, path)


def load_glossary(path: Path | str) -> Glossary:
    """Load a glossary for a run, raising :class:`InputError` at its first error (file and line)."""
    checked = check_glossary(path)
    if checked.errors:
        first = checked.errors[0]
        raise InputError(first.message, path=checked.path, line=first.line)
    return Glossary(path=checked.path, sha256=checked.sha256, entries=checked.entries)


def read_tsv(text: str) -> tuple[list[GlossaryEntry], list[GlossaryProblem]]:
    """Entries of the contract's TSV (plus the optional columns) and the problems of single rows."""
    columns: list[str] = ["source", "target", "note"]
    entries: list[GlossaryEntry] = []
    problems: list[GlossaryProblem] = []
    header_possible = True
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.lstrip("\ufeff")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = line.split("\t")
        names = [cell.strip().lower() for cell in cells]
        is_header = "source" in names and "target" in names
        if header_possible:
            header_possible = False
            if is_header:
                columns = names
                problems += [GlossaryProblem(WARNING, f"unknown column '{name}' is ignored", number)
                             for name in names if name not in COLUMNS]
                continue
        elif is_header:
            # Two glossaries pasted together: their second header is no term.
            problems.append(GlossaryProblem(WARNING, "a repeated header line (source, target…) is skipped, "
                                                     "not read as a term", number))
            continue
        entry, row_problems = _read_row(cells, columns, number)
        problems += row_problems
        if entry is not None:
            entries.append(entry)
    return entries, problems


def _read_row(cells: list[str], columns: list[str], number: int
              ) -> tuple[GlossaryEntry | None, list[GlossaryProblem]]:
    problems = []
    if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns):]):
        problems.append(GlossaryProblem(WARNING, f"{len(cells)} cells but {len(columns)} columns: "
                                                 "the extra cells are ignored", number))
    row = {name: cell.strip() for name, cell in zip(columns, cells, strict=False)}
    source, target = row.get("source", ""), row.get("target", "")
    if not source:
        return None, [*problems, GlossaryProblem(ERROR, "entry has no Arabic source term", number)]
    if not target:
        return None, [*problems, GlossaryProblem(ERROR, f"entry '{source}' has no English target", number)]
    match = row.get("match", "").lower() or CLITICS
    if match not in MATCH_RULES:
        return None, [*problems, GlossaryProblem(
            ERROR, f"match '{match}' is not one of {', '.join(MATCH_RULES)}", number)]
    variants = tuple(v.strip() for v in row.get("variants", "").split(VARIANT_SEPARATOR) if v.strip())
    entry = GlossaryEntry(source=source, target=target, note=row.get("note", ""), variants=variants,
                          match=match, line=number)
    return entry, problems


def check_entries(entries: list[GlossaryEntry], *, skip_conflicts: bool = False
                  ) -> tuple[list[GlossaryEntry], list[GlossaryProblem]]:
    """Checks across rows: duplicates, conflicting targets, suspicious rows; keeps the usable entries.

    A conflict (one form, two targets) is an error; with ``skip_conflicts`` a warning, and both entries are
    left out.
    """
    problems: list[GlossaryProblem] = []
    kept: list[GlossaryEntry] = []
    owner: dict[tuple[str, ...], GlossaryEntry] = {}
    originals: list[GlossaryEntry] = []  # the entry each of ``kept`` was made from
    conflicting: set[int] = set()  # id() of entries in a conflict
    for entry in entries:
        problems += _suspicious(entry)
        forms = []
        usable = True
        for form in entry.forms:
            key = term_key(form)
            if not key:
                problems.append(GlossaryProblem(ERROR, f"'{form}' has no letters to match", entry.line))
                usable = False
                continue
            previous = owner.get(key)
            if previous is None:
                owner[key] = entry
                forms.append(form)
            elif previous.target != entry.target:
                message = (f"'{form}' is given the target '{entry.target}' here and '{previous.target}' "
                           f"on line {previous.line}")
                if skip_conflicts:
                    message += f": both skipped (this entry and line {previous.line}'s)"
                    conflicting.add(id(previous))
                problems.append(GlossaryProblem(WARNING if skip_conflicts else ERROR, message, entry.line,
                                                conflicts_with=previous.line))
                usable = False
            elif previous is not entry:
                problems.append(GlossaryProblem(
                    WARNING, f"'{form}' → '{entry.target}' duplicates line {previous.line}", entry.line))
        if usable and forms:
            kept.append(replace(entry, source=forms[0], variants=tuple(forms[1:])))
            originals.append(entry)
    if conflicting:
        kept = [copy for copy, entry in zip(kept, originals, strict=True) if id(entry) not in conflicting]
    for entry in kept:
        for form in entry.forms:
            covering = redundant_proclitic(term_key(form), owner)
            if covering is not None and covering.target == entry.target and covering.match == CLITICS:
                problems.append(GlossaryProblem(
                    WARNING, f"'{form}' is '{covering.source}' (line {covering.line}) with a proclitic or "
                             "the article, which matching already covers", entry.line))
    return kept, problems


def _suspicious(entry: GlossaryEntry) -> list[GlossaryProblem]:
    problems = []
    if has_arabic_letters(entry.target):
        problems.append(GlossaryProblem(WARNING, f"target '{entry.target}' is in Arabic script", entry.line))
    for form in entry.forms:
        if not has_arabic_letters(form) and not re.search(r"[A-Za-z]", form):
            problems.append(GlossaryProblem(WARNING, f"source '{form}' has neither Arabic nor Latin letters",
                                            entry.line))
        if len(term_key(form)) > _LONG_TERM_WORDS:
            problems.append(GlossaryProblem(WARNING, f"source '{form}' is {len(term_key(form))} words long: "
                                                     "a sentence rather than a term?", entry.line))
    if entry.source in entry.variants:
        problems.append(GlossaryProblem(WARNING, "a variant repeats the source", entry.line))
    return problems


def to_tsv(entries: list[GlossaryEntry] | tuple[GlossaryEntry, ...], *, comment: str = "") -> str:
    """Entries as the project's TSV, with a header naming every column used."""
    def clean(cell: str) -> str:
        return " ".join(cell.split())  # tabs or newlines inside a cell would break the row

    lines = [f"# {line}" for line in comment.splitlines()]
    lines.append("\t".join(COLUMNS))
    for entry in entries:
        lines.append("\t".join([clean(entry.source), clean(entry.target), clean(entry.note),
                                VARIANT_SEPARATOR.join(clean(v) for v in entry.variants), entry.match]))
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class GlossaryImport:
    """What ``glossary import`` makes of a termbase: the TSV to write, or why nothing may be written.

    ``report`` lists the problems to show (each on its own line, as ``glossary check`` does) and ``failure``,
    when set, is the error that stops the import.
    """

    check: GlossaryCheck
    text: str
    report: tuple[GlossaryProblem, ...]
    failure: InputError | None


def import_glossary(path: Path | str, *, skip_conflicts: bool = False, tool: str = "tarjama") -> GlossaryImport:
    """Convert a TBX termbase (or any glossary) into the project's TSV, listing every problem.

    A term given two targets stops the import (every such conflict is listed, not only the first) unless
    ``skip_conflicts``: then the other entries are written and the conflicting ones named as warnings. Other
    errors (a file that is not well-formed, an entry without letters…) always stop it.
    """
    checked = check_glossary(path, skip_conflicts=skip_conflicts)
    errors = checked.errors
    if not errors:
        text = to_tsv(checked.entries, comment=f"Imported by {tool} from {checked.path.name} "
                                               f"(sha256 {checked.sha256}).")
        return GlossaryImport(checked, text, tuple(checked.warnings), None)
    conflicts = [problem for problem in errors if problem.conflicts_with is not None]
    hint = ("; pass --skip-conflicts to write the other entries without the conflicting ones"
            if conflicts and len(conflicts) == len(errors) else "")
    # Every warning is still shown (a repeated header, conflicts skipped on request): fixing the error
    # alone must not leave the user to meet them one at a time.
    if len(errors) == 1:
        failure = InputError(errors[0].message + hint, path=checked.path, line=errors[0].line)
        return GlossaryImport(checked, "", tuple(checked.warnings), failure)
    counted = f" ({len(conflicts)} terms given two targets)" if conflicts else ""
    failure = InputError(f"{len(errors)} errors{counted}, nothing written{hint}", path=checked.path)
    return GlossaryImport(checked, "", checked.problems, failure)
