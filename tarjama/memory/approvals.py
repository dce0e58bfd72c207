"""The approval policy: what an English offered by an editor's file or a CAT tool's file does to the memory.

One policy for every import (the bilingual Markdown, TMX, XLIFF, a run's harvest): an offered English is
compared with what the file showed the person (its *base*: what the run named by a bilingual file's ``run_id``
published for that segment, or the English of tarjama's export) and with what the memory holds for its Arabic
(its machine Englishes, its current approval and where that came from, its past approvals). Facts only: no file
path decides whose approval is whose. See :func:`decide`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from tarjama.memory.store import ApprovedEntry, TranslationMemory, normalise_source, same_english


class Verdict(StrEnum):
    """What an offered English does."""

    APPROVE = "approve"  # store it: the person's edit, or a first approval
    UNCHANGED = "unchanged"  # not an edit (what the file showed, or what the memory already holds)
    STALE = "stale"  # an earlier English while a newer approval exists: the approval is kept, with a warning
    CONFLICT = "conflict"  # new English over an approval made since, elsewhere: refused unless overwriting
    WITHDRAW = "withdraw"  # the person put tarjama's English back over the approval they were shown


@dataclass(frozen=True)
class Decision:
    """A verdict, the current approval it was judged against, and a message (a warning for ``APPROVE`` and
    ``STALE``, the reason for ``CONFLICT``, without place or prefix; empty when there is nothing to say)."""

    verdict: Verdict
    current: ApprovedEntry | None = None
    message: str = ""


def origin_of(path: Path | str) -> str:
    """How an approval's origin names a file: its resolved absolute path, whoever imports it from wherever."""
    return str(Path(path).resolve())


def describe(entry: ApprovedEntry) -> str:
    """``from ORIGIN, DATE`` of an approval, for messages."""
    return f"from {entry.origin}, {entry.approved_at}"


def excerpt(text: str, size: int = 60) -> str:
    """The start of a sentence as shown, for a message."""
    shown = normalise_source(text)
    return shown if len(shown) <= size else shown[:size].rstrip() + "…"


def decide(memory: TranslationMemory, source: str, offered: str, *, base: str | None, run_id: str | None = None,
           file_name: str | None = None, written_at: str | None = None, overwrite: bool = False) -> Decision:
    """What ``offered`` English for ``source`` does to ``memory``.

    ``base`` is what the file showed for this sentence when that is known (a bilingual file tied to a
    remembered run: what that run published; a unit of tarjama's export: the exported English), else ``None``;
    ``written_at`` is when the file was written (ISO 8601; ``None``: unknown, every approval counts as made
    since). ``run_id`` is the run the bilingual file comes from and ``file_name`` its name (an approval of an
    older memory, made before approvals carried run ids, from a file of that name is taken as a copy of this
    file's; an approval of no run, from TMX, XLIFF or a file without run id, never is).
    ``overwrite`` makes the file's English win over approvals made since (the decision's message names each).

    Tied (``base`` known): the row as shown → ``UNCHANGED`` (``STALE``, warned, when an approval was made
    since): a stale view never withdraws nor reverts. An edited row: the current approval → ``UNCHANGED``;
    over no approval → ``APPROVE``; over the approval the file showed, a machine English → ``WITHDRAW``, else
    ``APPROVE``; over an approval older than the file that the run did not show (set aside) → ``APPROVE``,
    warned; over one made since: a machine English → ``STALE``; from a copy of the same run's file (legacy: a
    file of this name) → ``APPROVE``, warned; else ``CONFLICT``.

    Untied: an English the memory knows (machine, current, past) → ``UNCHANGED``, or ``STALE`` when a different
    approval is current; new English → ``APPROVE`` over no approval, else ``CONFLICT``.

    Either way, without a current approval, the English of a withdrawn approval → ``STALE`` (warned: not
    approved again; ``APPROVE`` with ``overwrite``).
    """
    current = memory.approved(source)
    since = current is not None and _made_since(current, written_at)
    if base is not None and same_english(offered, base):
        if current is not None and since and not same_english(current.target, base):
            return Decision(Verdict.STALE, current, _newer(current))
        return Decision(Verdict.UNCHANGED, current)
    if current is not None and same_english(offered, current.target):
        return Decision(Verdict.UNCHANGED, current)
    past = memory.past_approvals(source)
    if current is None and (withdrawn := next((e for e in past if same_english(offered, e.target)), None)):
        if overwrite:
            return Decision(Verdict.APPROVE, None, f"approves again the English whose approval was withdrawn "
                                                   f"({describe(withdrawn)}) (--overwrite)")
        return Decision(Verdict.STALE, None, f"holds the English whose approval was withdrawn ({describe(withdrawn)}): "
                                             "not approved again (import with --overwrite to approve it again)")
    is_machine = any(same_english(offered, english) for english in memory.machine_targets(source))
    if base is None:
        if is_machine or any(same_english(offered, e.target) for e in past):
            return Decision(Verdict.STALE, current, _newer(current)) if current else Decision(Verdict.UNCHANGED)
        return Decision(Verdict.APPROVE) if current is None else _over(current, offered, overwrite)
    return _edited(current, offered, base, since=since, is_machine=is_machine, past=past, run_id=run_id,
                   file_name=file_name, overwrite=overwrite)


def _edited(current: ApprovedEntry | None, offered: str, base: str, *, since: bool, is_machine: bool,
            past: list[ApprovedEntry], run_id: str | None, file_name: str | None, overwrite: bool) -> Decision:
    """A row of a tied file that differs from what the file showed (its ``base``): see :func:`decide`."""
    if current is None:
        return Decision(Verdict.APPROVE)  # what differs from what the file showed is the person's
    if same_english(current.target, base):
        if is_machine:
            return Decision(Verdict.WITHDRAW, current, "the row is tarjama's English again")
        return Decision(Verdict.APPROVE, current)
    if not since:
        return Decision(Verdict.APPROVE, current, f"replaces the approval \u201c{excerpt(current.target)}\u201d "
                                                  f"({describe(current)}), which this file did not show")
    if is_machine:
        return Decision(Verdict.STALE, current, _newer(current))
    if _same_file(current, run_id, file_name):
        return Decision(Verdict.APPROVE, current, f"replaces the approval \u201c{excerpt(current.target)}\u201d "
                                                  f"imported earlier from {_copy_of(current)}")
    if any(same_english(offered, e.target) for e in past):
        return Decision(Verdict.STALE, current, _newer(current))
    return _over(current, offered, overwrite)


def _made_since(current: ApprovedEntry, written_at: str | None) -> bool:
    """Whether an approval was made after the file was written (unknown: taken as made since)."""
    if written_at is None:
        return True
    try:
        return datetime.fromisoformat(current.approved_at) > datetime.fromisoformat(written_at)
    except ValueError:
        return True


def _over(current: ApprovedEntry, offered: str, overwrite: bool) -> Decision:
    """New English over an approval the person did not see: refused, or with ``overwrite`` approved and named."""
    if overwrite:
        return Decision(Verdict.APPROVE, current,
                        f"replaces the approval \u201c{excerpt(current.target)}\u201d ({describe(current)}), "
                        "made since this file was written (--overwrite)")
    return Decision(Verdict.CONFLICT, current,
                    f"the memory holds another approval, \u201c{excerpt(current.target)}\u201d ({describe(current)}), "
                    f"made since this file was written or elsewhere; this file's English is "
                    f"\u201c{excerpt(offered)}\u201d")


def _newer(current: ApprovedEntry) -> str:
    return (f"holds an earlier English; the memory's newer approval ({describe(current)}: "
            f"\u201c{excerpt(current.target)}\u201d) is kept (`tarjama tm withdraw` withdraws it)")


def _same_file(current: ApprovedEntry, run_id: str | None, file_name: str | None) -> bool:
    """Whether the current approval came from a copy of this file: the same run's file, or (a legacy approval,
    made before approvals carried run ids) a file of the same name. An approval of no run (TMX, XLIFF, a file
    without run id) is never a copy of this file."""
    if current.run_id is not None:
        return run_id is not None and current.run_id == run_id
    return current.legacy and file_name is not None and Path(current.origin).name == file_name


def _copy_of(current: ApprovedEntry) -> str:
    if current.run_id is not None:
        return f"a copy of run {current.run_id}'s file ({current.origin}, {current.approved_at})"
    return f"{current.origin} ({current.approved_at})"
