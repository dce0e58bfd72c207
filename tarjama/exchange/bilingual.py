"""Moving sentences in and out of the memory: the editor's bilingual Markdown.

Translators' CAT tools speak TMX (memories) and XLIFF (documents in translation): see
:mod:`tarjama.exchange.tmx`, :mod:`tarjama.exchange.xliff` and :mod:`tarjama.exchange.interchange`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from markdown_it import MarkdownIt

from tarjama.errors import InputError
from tarjama.exchange.interchange import import_exchange_file, is_exchange_file
from tarjama.files import outputs_holding
from tarjama.memory.approvals import Verdict, decide, describe, excerpt, origin_of
from tarjama.memory.store import (
    TranslationMemory,
    default_memory_path,
    normalise_source,
    open_memory,
    same_english,
)
from tarjama.publish import publisher as publishing
from tarjama.publish.outputs import check_memory_location, check_outputs
from tarjama.publish.publisher import PublishedRun, article_lock, edited_bilingual, published_run
from tarjama.record.reader import SEGMENT_ID, RunRecordView, read_record
from tarjama.terms.english import term_in_words
from tarjama.text.inputs import read_input_bytes, read_text_file
from tarjama.wording import counted

_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_ROW_CELLS = 4  # | id | Arabic | English | notes |


@dataclass(frozen=True)
class EditedSentence:
    """A row of the bilingual Markdown as the editor left it."""

    segment_id: str
    source: str
    target: str
    line: int


@dataclass(frozen=True)
class BilingualFile:
    """An edited bilingual file: the run that wrote it (``None`` for files older than run ids) and its rows."""

    run_id: str | None
    rows: list[EditedSentence]


@dataclass(frozen=True)
class Correction:
    """An editor's English for one published sentence.

    ``source`` is the Arabic as published: the run record's when the file is tied to its run, else the
    row's (which the memory knows). ``missing_terms`` are the sentence's glossary targets that the
    English lacks as words (the test ``--strict-terms`` applies before it sets an approval aside).
    """

    segment_id: str
    source: str
    target: str
    line: int
    missing_terms: tuple[str, ...] = ()

    def term_warning(self, path: Path | str) -> str | None:
        """The warning (without its ``warning:`` prefix) for an approval that lacks glossary terms (``None`` when
        it has them all)."""
        if not self.missing_terms:
            return None
        terms = ", ".join(json.dumps(t, ensure_ascii=False) for t in self.missing_terms)
        noun = "term" if len(self.missing_terms) == 1 else "terms"
        return (f"{path}:{self.line}: the approved English of {self.segment_id} lacks the glossary "
                f"{noun} {terms}: --strict-terms runs set this approval aside and translate the sentence again")


@dataclass(frozen=True)
class BilingualImport:
    """What importing a bilingual file did: each correction, how many the memory stored, the segment ids whose
    approval was withdrawn, and warnings (rows holding an earlier English than the memory's newer approval)."""

    corrections: tuple[Correction, ...]
    stored: int
    withdrawn: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def segment_ids(self) -> list[str]:
        """The approved sentences' segment ids, in file order."""
        return [c.segment_id for c in self.corrections]

    def term_warnings(self, path: Path | str) -> list[str]:
        """A warning for each approval that lacks one of its sentence's glossary terms."""
        return [w for c in self.corrections if (w := c.term_warning(path))]


def read_bilingual(path: Path | str) -> list[EditedSentence]:
    """The sentence rows of a ``NAME.bilingual.md`` (Arabic and English cells as plain text)."""
    return read_bilingual_file(path).rows


def read_bilingual_file(path: Path | str) -> BilingualFile:
    """A ``NAME.bilingual.md``: its front matter's ``run_id`` and its sentence rows."""
    text = read_text_file(path, "bilingual file")
    lines = text.split("\n")
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(text)
    rows: list[EditedSentence] = []
    cells: list[str] = []
    line = 0
    header = ""
    for token in tokens:
        if token.type == "thead_open":
            header = lines[token.map[0]] if token.map else ""
        elif token.type == "tr_open":
            cells, line = [], (token.map[0] + 1 if token.map else 0)
        elif token.type == "inline":
            cells.append(_plain(token))
        elif token.type == "tr_close" and cells and SEGMENT_ID.fullmatch(cells[0].strip()):
            # markdown-it pads or drops cells silently: a stray | would cut the English short.
            if line and table_cells(lines[line - 1], header) != _ROW_CELLS:
                raise InputError("this sentence row does not have its 4 cells: write a | inside the English "
                                 "as \\|", path=path, line=line)
            rows.append(EditedSentence(cells[0].strip(), cells[1].strip(), cells[2].strip(), line))
    if not rows:
        raise InputError("no sentence rows: not a tarjama bilingual file", path=path)
    return BilingualFile(_front_matter_run_id(lines), rows)


def table_cells(line: str, header: str = "") -> int:
    """How many cells a GFM table row has: cells split at unescaped ``|`` (``\\|`` is text); the outer pipes are
    optional.

    A row written without its leading pipe but ending in one is ambiguous: GFM takes the last pipe as the outer
    one, but a tool that drops the outer pipes (its ``header`` row ends without one) leaves that pipe before an
    empty last cell (``p1.s0 | Arabic | English |``: the Notes cell is empty). The header's layout decides.
    """
    text = line.strip()
    leading = text.startswith("|")
    if leading:
        text = text[1:]
    trailing = text.endswith("|") and not text.endswith("\\|")
    if trailing and (leading or _ends_with_pipe(header)):
        text = text[:-1]
    return len(_UNESCAPED_PIPE.split(text))


def _ends_with_pipe(line: str) -> bool:
    text = line.strip()
    return text.endswith("|") and not text.endswith("\\|")


def _front_matter_run_id(lines: list[str]) -> str | None:
    if not lines or lines[0].lstrip("\ufeff").strip() != "---":  # an editor may save with a byte order mark
        return None
    for line in lines[1:]:
        if line.strip() == "---":
            return None
        if line.startswith("run_id:"):
            try:
                value = json.loads(line.removeprefix("run_id:").strip())
            except ValueError:
                return None
            return value if isinstance(value, str) else None
    return None


# tarjama's own markup in the cells (see publishing.arabic_with_terms); anything else is the editor's text.
# Tags are recognised by name and attributes, not spelling: an editor's tool may reorder or requote them.
_TAG = re.compile(r"<(/?)([A-Za-z]+)((?:\s[^>]*)?)/?>\Z")
_TAG_ATTRIBUTE = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""")


def _own_tag(html: str) -> bool:
    """Whether an inline HTML tag is one tarjama writes: ``<span dir="rtl" lang="ar">``, ``<mark …>`` or their ends."""
    tag = _TAG.match(html.strip())
    if tag is None:
        return False
    closing, name, rest = tag.group(1), tag.group(2).lower(), tag.group(3)
    if name not in ("span", "mark"):
        return False
    if closing:
        return not rest.strip()
    found = _TAG_ATTRIBUTE.findall(rest)
    if _TAG_ATTRIBUTE.sub("", rest).strip():
        return False  # something besides name="value" pairs
    attributes = {key.lower(): a or b or c for key, a, b, c in found}
    if name == "span":
        return {k: v.lower() for k, v in attributes.items()} == {"dir": "rtl", "lang": "ar"}
    return set(attributes) <= {"class", "title"} and attributes.get("class", "missed") == "missed"


def _plain(token: object) -> str:
    """A cell's text as written: tarjama's <mark> and <span> tags dropped, any other markup kept
    literally (an approved English is plain text; an editor's ``<name>`` or ``*title*`` is part of it)."""
    parts: list[str] = []
    links: list[object] = []
    for child in getattr(token, "children", None) or []:
        kind, markup = child.type, child.markup
        if kind == "text":
            parts.append(child.content)
        elif kind == "code_inline":
            parts.append(markup + child.content + markup)
        elif kind in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif kind == "html_inline":
            parts.append("" if _own_tag(child.content) else child.content)
        elif kind in ("em_open", "em_close", "strong_open", "strong_close"):
            parts.append(markup)
        elif kind == "link_open":
            links.append(child)
            parts.append("<" if markup == "autolink" else "[")
        elif kind == "link_close":
            opened = links.pop() if links else child
            parts.append(">" if markup == "autolink" else f"]({opened.attrGet('href') or ''})")
        elif kind == "image":
            parts.append(f"![{child.content}]({child.attrGet('src') or ''})")
    return "".join(parts)


def _shown(text: str) -> str:
    """Text as the bilingual Markdown shows it: what the memory's lookups normalise away (invisible and
    control characters, runs of spaces) is never an editor's change."""
    return normalise_source(text)


def corrections(path: Path | str, *, everything: bool = False,
                memory: TranslationMemory | None = None) -> list[tuple[str, str]]:
    """``(Arabic, English)`` pairs an editor approved in a bilingual file (see :func:`find_corrections`)."""
    return [(c.source, c.target) for c in find_corrections(path, everything=everything, memory=memory)]


@dataclass(frozen=True)
class Withdrawal:
    """A sentence whose approval the editor withdrew by putting tarjama's English back over the approval shown."""

    segment_id: str
    source: str
    line: int


@dataclass(frozen=True)
class _Judged:
    corrections: list[Correction]
    withdrawals: list[Withdrawal]
    warnings: list[str]
    tied: bool = False


def find_corrections(path: Path | str, *, everything: bool = False,
                     memory: TranslationMemory | None = None, overwrite: bool = False) -> list[Correction]:
    """The sentences an editor changed in a bilingual file, each tied to its segment id and published Arabic.

    A file whose front matter's ``run_id`` names a remembered run (``OUT/.tarjama/runs/NAME/RUN_ID.json``, or the
    record beside it) is *tied*: each row is compared with what that run published for its segment id (its
    *base*); a row whose Arabic is not that segment's published Arabic is refused. Any other file (no front
    matter, an unknown ``run_id``) is compared only with the Englishes ``memory`` knows for each row's Arabic;
    a row whose Arabic the memory does not know is refused. A blanked English cell is refused too. With
    ``memory``, each row is judged by :func:`tarjama.memory.approvals.decide` (an edit over an approval made since,
    elsewhere, is refused unless ``overwrite``). ``everything`` takes every row. Two corrections of the same
    Arabic sentence with different English are refused. Every refusal is an ``InputError`` naming the file and
    line.
    """
    return _judge(Path(path), everything=everything, memory=memory, overwrite=overwrite).corrections


def _judge(path: Path, *, everything: bool, memory: TranslationMemory | None, overwrite: bool = False) -> _Judged:
    bilingual = read_bilingual_file(path)
    record = _record_beside(path, required=False)
    published = _published_by(bilingual, record, path, memory)
    if published is None and memory is None and not everything:
        raise InputError(f"{_untied(bilingual, record, path)}, and no translation memory to tell its machine "
                         f"English from edits: check the file and approve it with `tarjama tm import {path} --all`",
                         path=path)
    terms = _terms_by_source(record)
    edited: list[Correction] = []
    withdrawals: list[Withdrawal] = []
    warnings: list[str] = []
    for row in bilingual.rows:
        source, base, known = _anchor(row, published, bilingual, path, memory=memory, everything=everything)
        if not _shown(row.target):
            if any(not _shown(english) for english in known):
                continue  # the machine gave no English either: nothing to approve
            raise InputError(f"the English of {row.segment_id} is empty: an approval needs English. Type the "
                             "editor's English, or put back the English tarjama wrote in this file to leave the "
                             "sentence as it was", path=path, line=row.line)
        if not _is_correction(row, source, base, path, published and bilingual.run_id,
                              published and published.published_at, memory=memory, everything=everything,
                              overwrite=overwrite, withdrawals=withdrawals, warnings=warnings):
            continue
        missing = tuple(dict.fromkeys(t for t in terms.get(_shown(source), ()) if not term_in_words(t, row.target)))
        edited.append(Correction(row.segment_id, source, row.target, row.line, missing))
    return _Judged(_without_conflicts(edited, withdrawals, path), withdrawals, warnings, published is not None)


def _is_correction(row: EditedSentence, source: str, base: str | None, path: Path, run_id: str | None,
                   written_at: str | None, *,
                   memory: TranslationMemory | None, everything: bool, overwrite: bool,
                   withdrawals: list[Withdrawal], warnings: list[str]) -> bool:
    """Whether a row is to be approved, by :func:`tarjama.memory.approvals.decide` (the one policy); a withdrawal or a
    warning it calls for is added to ``withdrawals`` or ``warnings``; a conflict is refused."""
    where = f"{path}:{row.line}: {row.segment_id}"
    if everything:
        current = memory.approved(source) if memory is not None else None
        if current is not None and not same_english(current.target, row.target) and (
                run_id is None or current.run_id != run_id):
            warnings.append(f"{where} replaces the approval \u201c{excerpt(current.target)}\u201d "
                            f"({describe(current)}) (--all)")
        return True
    if memory is None:  # a tied file read without a memory: what differs from what its run published
        return base is None or not same_english(row.target, base)
    decision = decide(memory, source, row.target, base=base, run_id=run_id, file_name=path.name,
                      written_at=written_at, overwrite=overwrite)
    if decision.verdict == Verdict.CONFLICT:
        raise InputError(f"{row.segment_id}: {decision.message}; nothing was stored. Make the row's English the "
                         "memory's to keep that approval, or, to make this file's English win, import it with "
                         f"`tarjama tm import {path} --overwrite`", path=path, line=row.line)
    if decision.message and decision.verdict in (Verdict.STALE, Verdict.APPROVE):
        warnings.append(f"{where} {decision.message}")
    if decision.verdict == Verdict.WITHDRAW:
        withdrawals.append(Withdrawal(row.segment_id, source, row.line))
    return decision.verdict == Verdict.APPROVE


def _published_by(bilingual: BilingualFile, record: RunRecordView | None, path: Path,
                  memory: TranslationMemory | None) -> PublishedRun | None:
    """What the run named by the file's ``run_id`` published, by segment id; ``None`` for an untied file."""
    if bilingual.run_id is None:
        return None
    folders = [path.parent]
    if memory is not None and (memory_outputs := outputs_holding(memory.path)) is not None:
        folders.append(memory_outputs)
    found = published_run(folders, path.name.removesuffix(".bilingual.md"), bilingual.run_id)
    if found is None and record is not None and record.run_id == bilingual.run_id:
        # A run published before runs were remembered: its record. Its time is to the second: the end of it.
        try:
            written = (datetime.fromisoformat(record.created) + timedelta(seconds=1)).isoformat()
        except (TypeError, ValueError):
            written = None
        found = PublishedRun({key: (s.source, s.target) for key, s in record.segments_by_id.items()}, written)
    return found


def _anchor(row: EditedSentence, published: PublishedRun | None, bilingual: BilingualFile,
            path: Path, *, memory: TranslationMemory | None, everything: bool) -> tuple[str, str | None, set[str]]:
    """A row's published Arabic, the English its run published in the row (``None`` for an untied file) and
    the Englishes that are no edit; a row that cannot be placed is refused."""
    if published is not None:
        segment = published.segments.get(row.segment_id)
        if segment is None:
            raise InputError(f"{row.segment_id} is not a sentence of run {bilingual.run_id}: a row's segment id "
                             "must stay as published", path=path, line=row.line)
        source, target = segment
        if not same_english(row.source, source):
            raise InputError(f"the Arabic of {row.segment_id} is not the sentence tarjama published: "
                             f"{where_they_differ(row.source, source)}; only the English cell is the "
                             "editor's: put the Arabic back as it was, then import again", path=path,
                             line=row.line)
        return source, target, {target, source}
    known = _known_to_memory(row, memory)
    if not known and not everything:
        beside = _record_beside(path, required=False)
        raise InputError(f"{_untied(bilingual, beside, path)}, and the memory knows no sentence with "
                         f"{row.segment_id}'s Arabic, so nothing tells its English from an edit: if the Arabic "
                         "cell was changed, put it back as published; edit the current file; or, once every "
                         f"row is checked, approve them all with `tarjama tm import {path} --all`",
                         path=path, line=row.line)
    return row.source, None, known


def where_they_differ(found: str, published: str, context: int = 8) -> str:
    """Where ``found`` first differs from ``published`` (as shown), with a short excerpt of both around it.

    Spaces and other hard-to-see characters at that place are named, so a stray space or a changed mark shows.
    """
    a, b = _shown(found), _shown(published)
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    start = max(0, at - context)

    def around(text: str) -> str:
        piece = text[start:at + context + 1]
        return ("…" if start else "") + piece + ("…" if at + context + 1 < len(text) else "")

    return (f"at character {at + 1} the row has «{around(a)}» where tarjama published "
            f"«{around(b)}» ({_character(a, at)} instead of {_character(b, at)})")


def _character(text: str, at: int) -> str:
    """A character named so that it can be seen: a space, a mark, the end of the text."""
    if at >= len(text):
        return "the end"
    character = text[at]
    if character.isspace():
        return "a space"
    if unicodedata.category(character)[0] in "MC" or not character.isprintable():
        return f"U+{ord(character):04X} {unicodedata.name(character, 'character')}"
    return f"“{character}”"


def _untied(bilingual: BilingualFile, record: RunRecordView | None, path: Path) -> str:
    """Why a bilingual file cannot be compared with the record beside it."""
    if record is None:
        return f"there is no run record beside it ({_record_name(path)})"
    if bilingual.run_id is None:
        return (f"this file has no run_id in its front matter (saved without it?), so it cannot be compared with "
                f"{_record_name(path)}")
    return (f"this file's run ({bilingual.run_id}) is not one tarjama remembers here (nor {_record_name(path)}'s, "
            f"{record.run_id})")


def _terms_by_source(record: RunRecordView | None) -> dict[str, list[str]]:
    """Each recorded sentence's glossary targets, by its Arabic as shown (terms belong to the sentence)."""
    found: dict[str, list[str]] = {}
    for segment in record.segments_by_id.values() if record else ():
        found.setdefault(_shown(segment.source), []).extend(segment.term_targets)
    return found


def _known_to_memory(row: EditedSentence, memory: TranslationMemory | None) -> set[str]:
    """Every English the memory holds for ``row``'s Arabic (empty when it knows nothing of it)."""
    if memory is None:
        return set()
    known = memory.known_english(row.source)
    if known:
        known.add(row.source)  # a copied sentence (numbers, a name in Latin letters) is its own English
    return known


def _record_name(path: Path) -> str:
    return path.name.removesuffix(".bilingual.md") + ".run.json"


def _record_beside(path: Path, *, required: bool = True) -> RunRecordView | None:
    record_path = path.with_name(_record_name(path))
    if not record_path.is_file():
        if not required:
            return None
        raise InputError(f"no run record beside it ({record_path.name}) to tell corrections from machine "
                         "output: pass --all to approve every sentence", path=path)
    return read_record(record_path)


def _without_conflicts(rows: list[Correction], withdrawals: list[Withdrawal], path: Path) -> list[Correction]:
    """Each sentence's correction once; one Arabic sentence cannot be approved with two Englishes, nor approved
    and withdrawn by the same file (tarjama's English put back in one row, an edit in another)."""
    first: dict[str, Correction] = {}
    for row in rows:
        earlier = first.setdefault(normalise_source(row.source), row)
        if earlier is not row and not same_english(earlier.target, row.target):
            raise InputError(f"{row.segment_id} repeats the Arabic of {earlier.segment_id} (line {earlier.line}) with "
                             "a different English: approvals are per sentence, so make the two the same",
                             path=path, line=row.line)
    for withdrawal in withdrawals:
        edit = first.get(normalise_source(withdrawal.source))
        if edit is not None:
            later, earlier_line = (withdrawal, edit.line) if withdrawal.line > edit.line else (edit, withdrawal.line)
            other = edit.segment_id if later is withdrawal else withdrawal.segment_id
            raise InputError(f"{later.segment_id} repeats the Arabic of {other} (line {earlier_line}) with a "
                             "different English: one row puts tarjama's English back (withdrawing the approval), "
                             "the other approves an edit; approvals are per sentence, so make the two the same",
                             path=path, line=later.line)
    return list(first.values())


def harvest_corrections(out_dir: Path, stem: str, memory: TranslationMemory) -> int:
    """How many corrections :func:`harvest_bilingual` stored."""
    harvested = harvest_bilingual(out_dir, stem, memory)
    return harvested.stored if harvested is not None else 0


def harvest_bilingual(out_dir: Path, stem: str, memory: TranslationMemory) -> BilingualImport | None:
    """Approve what an editor changed in the article's bilingual file since tarjama wrote it (``None``: unchanged).

    Runs before a new translation rewrites that file, so that no run overwrites an editor's work
    even if nobody ran ``tarjama tm import``; judged as ``tm import`` judges it (a conflict stops the run).
    """
    if edited_bilingual(out_dir, stem) is None:
        return None  # the common case, decided without creating lock files in a fresh outputs folder
    with article_lock(out_dir, stem):
        edited = edited_bilingual(out_dir, stem)
        if edited is None:
            return None
        return import_bilingual(edited, memory)


def approve_bilingual(path: Path, memory: TranslationMemory, *, everything: bool = False,
                      mark_known: bool = True) -> int:
    """Approve a bilingual file's corrections into ``memory`` (see :func:`import_bilingual`); how many were stored."""
    return import_bilingual(path, memory, everything=everything, mark_known=mark_known).stored


def import_bilingual(path: Path, memory: TranslationMemory, *, everything: bool = False,
                     mark_known: bool = True, overwrite: bool = False) -> BilingualImport:
    """Approve a bilingual file's corrections into ``memory``; with ``mark_known``, remember the file as dealt with.

    Approvals are stored with the file's resolved path as their origin and, for a file tied to its run, that
    run's id (the same whether ``tm import`` or a run's harvest reads it); rows that put tarjama's English back
    over the approval the file showed withdraw it. Mark it only when ``memory`` is the one its outputs folder's
    runs use: the next run there may then rewrite it. The caller holds the article's lock when marking.
    Nothing is stored or marked when any row is refused.
    """
    path = Path(path)
    content = read_input_bytes(path, "bilingual file")
    judged = _judge(path, everything=everything, memory=memory, overwrite=overwrite)
    # Even with --all, an English the memory already approves is not approved (or counted) again.
    found = [c for c in judged.corrections
             if (current := memory.approved(c.source)) is None or not same_english(current.target, c.target)]
    # Every approval from a bilingual file carries the file's run id (with --all too): only legacy approvals,
    # made before approvals carried one, are matched to a file by its name.
    run_id = read_bilingual_file(path).run_id
    stored = (memory.approve([(c.source, c.target) for c in found], origin=origin_of(path), run_id=run_id)
              if found else 0)
    if judged.withdrawals:
        memory.withdraw([w.source for w in judged.withdrawals])
    if mark_known:
        publishing.mark_known(path.parent, path.name.removesuffix(".bilingual.md"), content)
    return BilingualImport(tuple(found), stored, tuple(w.segment_id for w in judged.withdrawals),
                           tuple([*judged.warnings, *_term_warnings(found, path)]))


def _term_warnings(found: list[Correction], path: Path) -> list[str]:
    return [w for c in found if (w := c.term_warning(path))]


def withdrawn_lines(segment_ids: Iterable[str]) -> list[str]:
    """The line telling of each approval an import withdrew."""
    return [f"withdrew the approval of {segment_id}: the row is tarjama's English again; the next run publishes "
            "the machine English" for segment_id in segment_ids]


@dataclass(frozen=True)
class ImportReport:
    """What ``tm import`` of any file did: the lines to print, and warnings (without their ``warning:`` prefix)."""

    lines: list[str]
    warnings: list[str]


def import_file(path: Path, *, memory_path: Path | None, outputs: Path, everything: bool = False,
                overwrite: bool = False) -> ImportReport:
    """``tm import``: a bilingual file, or a TMX or XLIFF file, into its memory.

    A bilingual file goes into ``memory_path`` or the memory beside it. Into the memory its outputs folder's
    runs use, the file is dealt with: marked under the article's lock, as a run's own harvest does, so the
    next run may rewrite it. Into another memory, the edits are not in this folder's runs yet: the file stays
    an edit to harvest. TMX and XLIFF go into ``memory_path`` or the one under ``outputs``.
    """
    if is_exchange_file(path):
        memory_path = memory_path or default_memory_path(outputs)
        check_memory_location(memory_path)
        with open_memory(memory_path) as memory:
            summary = import_exchange_file(path, memory, outputs=outputs, overwrite=overwrite)
        return ImportReport(summary.lines(), summary.warnings)
    memory_path = memory_path or default_memory_path(path.parent)
    stem = path.name.removesuffix(".bilingual.md")
    beside = memory_path.resolve() == default_memory_path(path.parent).resolve()
    if beside:
        check_outputs(path.parent, memory_path)
    else:
        check_memory_location(memory_path)
    with article_lock(path.parent, stem) if beside else nullcontext(), open_memory(memory_path) as memory:
        imported = import_bilingual(path, memory, everything=everything, mark_known=beside, overwrite=overwrite)
    lines = [f"{counted(imported.stored, 'sentence')} approved into {memory_path}"]
    if imported.corrections:
        lines.append("approved " + ", ".join(imported.segment_ids))
    lines += withdrawn_lines(imported.withdrawn)
    return ImportReport(lines, list(imported.warnings))


def withdraw_approvals(path: Path, segment_ids: list[str], *, memory_path: Path | None = None) -> list[str]:
    """``tm withdraw``: withdraw the approvals of an article's sentences (kept in the memory's history).

    ``path`` is the article's run record or bilingual file; each segment id is looked up in the run record
    beside it. An id the article lacks, or a sentence without an approval, is an :class:`InputError` and
    nothing is withdrawn. Returns a line per withdrawn approval.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder: give NAME.run.json or NAME.bilingual.md", path=path)
    if not path.name.endswith((".run.json", ".bilingual.md")):
        raise InputError("is neither an article's run record (NAME.run.json) nor its bilingual file "
                         "(NAME.bilingual.md)", path=path)
    if not path.exists():
        raise InputError("no such file", path=path)
    stem = path.name.removesuffix(".bilingual.md").removesuffix(".run.json")
    record_path = path.with_name(f"{stem}.run.json")
    if not record_path.exists():
        raise InputError("no such file: the article's run record is not beside its bilingual file", path=record_path)
    record = read_record(record_path)
    memory_path = memory_path or default_memory_path(path.parent)
    if not memory_path.is_file():
        raise InputError("no translation memory here: nothing is approved", path=memory_path)
    lines = []
    with open_memory(memory_path) as memory:
        sources = []
        for segment_id in dict.fromkeys(segment_ids):
            segment = record.segments_by_id.get(segment_id)
            if segment is None:
                raise InputError(f"{segment_id} is not a sentence of this article", path=record.path)
            current = memory.approved(segment.source)
            if current is None:
                raise InputError(f"{segment_id} has no approval in this memory: nothing to withdraw",
                                 path=memory_path)
            sources.append(segment.source)
            lines.append(f"withdrew the approval of {segment_id}: \u201c{excerpt(current.target)}\u201d "
                         f"({describe(current)}); the next run publishes the machine English")
        memory.withdraw(sources)
    return lines
