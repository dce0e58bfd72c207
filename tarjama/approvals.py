"""The approval policy: what an English offered by an editor's file or a CAT tool's file does to the memory.

One policy for every import (the bilingual Markdown, TMX, XLIFF): an offered English is compared with what
the memory holds for its Arabic (its machine Englishes, its current approval, its past approvals) and with
what the person was given, when that is known (the English tarjama wrote in the file). See :func:`decide`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from tarjama.memory import ApprovedEntry, TranslationMemory, normalise_source, same_english


class Verdict(StrEnum):
    """What an offered English does."""

    APPROVE = "approve"  # store it: the person's edit, or a first approval
    UNCHANGED = "unchanged"  # the memory already holds it, or the person left what they were given
    STALE = "stale"  # an earlier English (machine or past approval) while a newer approval exists: kept
    CONFLICT = "conflict"  # new English while an approval the person never saw exists
    WITHDRAW = "withdraw"  # the person put back the English tarjama wrote over their own approval


@dataclass(frozen=True)
class Decision:
    """A verdict, the current approval it was judged against, and why (a sentence without place or prefix)."""

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


def decide(memory: TranslationMemory, source: str, offered: str, *, given: str | None, origin: str,
           own: bool) -> Decision:
    """What ``offered`` English for ``source`` does to ``memory``.

    ``given`` is the English the person was given for this sentence when known (a file tied to its run:
    the English tarjama wrote there), else ``None``; ``origin`` is the file's :func:`origin_of`; ``own``
    says whether the file is this newsroom's (an editor's bilingual file, an article's XLIFF placed through
    its run record) rather than a memory from elsewhere.

    - the current approval's English → ``UNCHANGED``;
    - what the person was given: ``WITHDRAW`` when the current approval came from this same file (the
      editor put back the English tarjama wrote; ``APPROVE`` instead when that English was itself an earlier
      approval), ``STALE`` when another approval was made since, else ``UNCHANGED``;
    - an English this same file approved before, whose approval was withdrawn → ``STALE``;
    - no current approval, or one from this same file (the person revises their own work) → ``APPROVE``;
    - any other English over the approval the person was given (an own file) → ``APPROVE``;
    - else, over an approval made since (or one the person may not have seen): an English the memory held
      before (a machine English, a past approval) → ``STALE``; new English → ``CONFLICT``.
    """
    current = memory.approved(source)
    if current is not None and same_english(offered, current.target):
        return Decision(Verdict.UNCHANGED, current)
    past = memory.past_approvals(source)
    mine = current is not None and current.origin == origin
    newer = (f"holds an earlier English; the memory's newer approval ({describe(current)}) is kept"
             if current is not None else "")
    if given is not None and same_english(offered, given):
        if current is None:
            return Decision(Verdict.UNCHANGED)
        if mine:
            if any(same_english(offered, entry.target) for entry in past):
                return Decision(Verdict.APPROVE, current)
            return Decision(Verdict.WITHDRAW, current, "withdrew the approval")
        return Decision(Verdict.STALE, current, newer)
    withdrawn = next((entry for entry in past if entry.origin == origin and same_english(offered, entry.target)), None)
    if current is None and withdrawn is not None:
        # This file's approval was withdrawn (``tm withdraw``) while the file still shows it: not an edit.
        return Decision(Verdict.STALE, None, f"holds the English whose approval was withdrawn ({describe(withdrawn)}): "
                                             "not approved again (import with --all to approve it again)")
    if current is None or mine:
        return Decision(Verdict.APPROVE, current)
    if own and given is not None and same_english(current.target, given):
        return Decision(Verdict.APPROVE, current)  # the person saw the current approval and changed it
    known = memory.machine_targets(source) | {entry.target for entry in past}
    if any(same_english(offered, english) for english in known):
        return Decision(Verdict.STALE, current, newer)
    return Decision(Verdict.CONFLICT, current,
                    f"the memory holds another approval, \u201c{excerpt(current.target)}\u201d ({describe(current)}), "
                    "made after this file was written or elsewhere")
