"""Translating an article through the translation memory: only what is new goes to the model.

Each sentence is, in order of preference, an editor's approved English (used as is, never changed),
an earlier run's translation under the same key (see :mod:`tarjama.memory.store`), or translated now.
Under ``--strict-terms`` an approved English that lacks one of the sentence's glossary terms is set
aside for that run (the contract puts every term in), flagged, and kept in the memory.
Sentences are translated in chunks and each chunk is committed to the memory at once, so a run
killed midway loses at most one chunk of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from tarjama.memory.store import MachineEntry, TranslationMemory, normalise_source, segment_key
from tarjama.record.labels import Flag, How, Origin
from tarjama.record.reader import RunRecordView
from tarjama.terms.english import target_in_translation
from tarjama.terms.matching import TermMatch
from tarjama.text.articles import Segment
from tarjama.text.segmentation import is_translatable
from tarjama.translate.enforcement import TermOutcome, TermSource, term_flags
from tarjama.translate.pipeline import SegmentTranslation, SetAsideApproval, plan_translation, run_translation
from tarjama.translate.settings import RunSettings
from tarjama.translate.types import Progress, Translator


@dataclass
class MemoryStats:
    """What a run took from the memory and what it sent to the model."""

    approved: int = 0
    approvals_set_aside: int = 0  # strict mode only: approved Englishes missing a glossary term
    reused: int = 0
    translated: int = 0
    model_inputs: int = 0  # pieces sent to the model in the first pass (long sentences are cut)

    def to_json(self, path: str) -> dict:
        """The run record's ``memory`` object."""
        return {"path": path, "approved": self.approved, "approvals_set_aside": self.approvals_set_aside,
                "reused": self.reused, "translated": self.translated, "model_inputs": self.model_inputs}


def memory_settings(translator: Translator, settings: RunSettings) -> dict:
    """The settings a machine translation is remembered under (part of its key): the settings' fingerprint,
    with the loaded model's quantization (CTranslate2's weight type)."""
    return settings.fingerprint(translator.model, getattr(translator, "quantization", None))


@dataclass
class IncrementalTranslation:
    """An article's sentences sorted into approved, remembered and still to translate."""

    segments: tuple[Segment, ...]
    matches_in: dict[str, list[TermMatch]]
    translator: Translator
    settings: RunSettings
    memory: TranslationMemory | None
    done: dict[str, SegmentTranslation] = field(default_factory=dict)
    pending: list[Segment] = field(default_factory=list)
    set_aside: set[str] = field(default_factory=set)  # segment ids whose approval strict mode could not use
    set_aside_approvals: dict[str, SetAsideApproval] = field(default_factory=dict)  # by segment id
    stats: MemoryStats = field(default_factory=MemoryStats)

    @property
    def pending_inputs(self) -> int:
        """How many model inputs the pending sentences make (the progress bar's total)."""
        return len(plan_translation(self.pending, self.translator, self.settings.decoding).units)

    @property
    def memory_settings(self) -> dict:
        """The settings this run's machine translations are remembered under."""
        return memory_settings(self.translator, self.settings)

    def run(self, progress: Progress | None = None, chunk_size: int | None = None
            ) -> list[SegmentTranslation]:
        """Translate the pending sentences chunk by chunk, committing each chunk; all results in order.

        ``progress`` hears every chunk's passes: plan it with :attr:`pending_inputs` first-pass inputs.
        """
        size = chunk_size or self.settings.batching.max_sentences
        for start in range(0, len(self.pending), size):
            self.translate_chunk(self.pending[start:start + size], progress)
        return self.results()

    def translate_chunk(self, chunk: Sequence[Segment], progress: Progress | None = None) -> None:
        """Translate some of the pending sentences and commit them (:meth:`commit`)."""
        plan = plan_translation(chunk, self.translator, self.settings.decoding)
        matches = [m for s in chunk for m in self.matches_in.get(s.id, [])]
        translated = run_translation(plan, self.translator, self.settings.decoding, progress, matches,
                                     strict_terms=self.settings.strict_terms, batching=self.settings.batching)
        self.commit(chunk, translated, len(plan.units))

    def commit(self, chunk: Sequence[Segment], translated: Sequence[SegmentTranslation], model_inputs: int) -> None:
        """Take the English of some pending sentences (``model_inputs`` pieces went to the model for them):
        counted, stored in the memory at once, kept for :meth:`results`.

        A folder run translates several articles' chunks together and commits each article's share here.
        """
        self.stats.translated += sum(1 for t in translated if t.origin == Origin.MODEL)
        self.stats.model_inputs += model_inputs
        if self.memory is not None:
            settings, by_id = self.memory_settings, {s.id: s for s in chunk}
            self.memory.remember(
                MachineEntry(key=self._key(by_id[t.segment_id], settings), source=normalise_source(
                    by_id[t.segment_id].text), target=t.target, flags=t.flags,
                    term_hows=tuple(o.how for o in t.terms), settings=settings)
                for t in translated if t.origin == Origin.MODEL)
        self.done.update((t.segment_id, t) for t in translated)

    def results(self) -> list[SegmentTranslation]:
        """Every segment's English in reading order, once nothing is pending."""
        return [replace(self.done[s.id], flags=(*self.done[s.id].flags, Flag.APPROVAL_SET_ASIDE),
                        set_aside=self.set_aside_approvals.get(s.id)) if s.id in self.set_aside
                else self.done[s.id] for s in self.segments]

    def _key(self, segment: Segment, settings: dict) -> str:
        return segment_key(segment.text, settings, [(m.source, m.target) for m in self.matches_in.get(segment.id, [])])


def prepare(segments: Sequence[Segment], matches: Sequence[TermMatch], translator: Translator,
            settings: RunSettings, *, memory: TranslationMemory | None) -> IncrementalTranslation:
    """Look every sentence up in the memory; what is not found is left pending for :meth:`run`.

    ``translator`` is the loaded model of ``settings`` (its decoding, batching and strict mode are used).
    """
    matches_in: dict[str, list[TermMatch]] = {}
    for match in matches:
        matches_in.setdefault(match.segment, []).append(match)
    work = IncrementalTranslation(tuple(segments), matches_in, translator, settings, memory)
    strict_terms = settings.strict_terms
    memory_settings = work.memory_settings
    for segment in segments:
        found = None
        if memory is not None:  # an editor may correct a date or a number too
            found = _approved(segment, matches_in.get(segment.id, []), memory)
            if found is not None and strict_terms and any(o.how != How.APPROVED for o in found.terms):
                # The contract's strict mode puts every term in; the approval stays in the memory, and the
                # bilingual file shows the editor what was set aside and why.
                missing = tuple(dict.fromkeys(o.match.target for o in found.terms if o.how != How.APPROVED))
                work.set_aside_approvals[segment.id] = SetAsideApproval(found.target, missing)
                found = None
                work.set_aside.add(segment.id)
                work.stats.approvals_set_aside += 1
            if found is None and is_translatable(segment.text):
                key = work._key(segment, memory_settings)
                found = _remembered(segment, matches_in.get(segment.id, []), memory, key)
        if found is None:
            work.pending.append(segment)
            continue
        work.done[segment.id] = found
        if found.origin == Origin.APPROVED:
            work.stats.approved += 1
        else:
            work.stats.reused += 1
    return work


def _approved(segment: Segment, matches: list[TermMatch], memory: TranslationMemory) -> SegmentTranslation | None:
    entry = memory.approved(segment.text)
    if entry is None:
        return None
    outcomes = [TermOutcome.settled(m, TermSource.APPROVAL, entry.target) for m in matches]
    return SegmentTranslation(segment.id, entry.target, 0, (Flag.APPROVED, *term_flags(outcomes)), tuple(outcomes),
                              origin=Origin.APPROVED)


def _remembered(segment: Segment, matches: list[TermMatch], memory: TranslationMemory, key: str
                ) -> SegmentTranslation | None:
    entry = memory.machine(key)
    if entry is None or len(entry.term_hows) != len(matches) or Flag.COPIED in entry.flags:
        return None
    # The earlier run decided its terms' hows and flags on this very English: they are reused as recorded.
    try:
        hows, flags = [How(how) for how in entry.term_hows], tuple(Flag(flag) for flag in entry.flags)
    except ValueError:  # a vocabulary this tarjama does not know: translated again
        return None
    outcomes = [TermOutcome(m, target_in_translation(m.target, entry.target), how)
                for m, how in zip(matches, hows, strict=True)]
    return SegmentTranslation(segment.id, entry.target, 0, flags, tuple(outcomes), origin=Origin.MEMORY)


def set_aside_summary(record: RunRecordView) -> str:
    """One line for a run record's approvals set aside under ``--strict-terms``: how many, which, and why."""
    segments = [s for s in record.segments if Flag.APPROVAL_SET_ASIDE in s.flags]
    count = record.memory.approvals_set_aside if record.memory else None
    count = len(segments) if count is None else count
    which = "; ".join(f"{s.id} (lacks {', '.join(s.set_aside.missing_terms if s.set_aside else ()) or 'a term'})"
                      for s in segments)
    return (f"{count} editor approval{'s' if count != 1 else ''} set aside under --strict-terms (translated again "
            f"with the glossary terms; the approvals stay in the memory): {which}")


@dataclass(frozen=True)
class TranslatedArticle:
    """Every segment's English, and what came from the memory (``None`` without a memory)."""

    translations: list[SegmentTranslation]
    memory: dict | None
