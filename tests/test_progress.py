"""Progress that tells the truth: every model pass counted, moving inside a batch, complete only at the end."""

import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.console import Console

from tarjama.record.labels import How
from tarjama.terms.english import term_in_words
from tarjama.terms.entries import Glossary, GlossaryEntry
from tarjama.terms.matching import find_terms
from tarjama.text.articles import segment_text
from tarjama.translate.backends.base import BatchedTranslator
from tarjama.translate.incremental import prepare
from tarjama.translate.pipeline import translate_segments
from tarjama.translate.progress import ProgressView, RunProgress, progress_bar, terminal_bar
from tarjama.translate.registry import ResolvedModel
from tarjama.translate.settings import RunSettings
from tarjama.translate.types import BatchingOptions, DecodingOptions, Pass, TermSearch, Translation


class Terminal(io.StringIO):
    def isatty(self):
        return True


@dataclass
class Recorder:
    """A display that keeps every view it is shown."""

    views: list[ProgressView] = field(default_factory=list)

    def __call__(self, view):
        self.views.append(view)

    def passes(self):
        """Each pass as it started, with the total known then."""
        seen, previous = [], None
        for view in self.views:
            if view.current is not previous:
                seen.append((view.current, view.total))
                previous = view.current
        return seen

    def check_truthful(self):
        """Never complete before the end; the count never goes back; finished once, last."""
        *before, last = self.views
        assert last.finished and last.done == last.total and last.percent == 100
        assert not any(view.finished for view in before)
        assert all(int(view.done) < view.total and view.percent < 100 for view in before if view.total)
        done = [view.done for view in self.views]
        assert done == sorted(done)


@dataclass
class SteppingEngine(BatchedTranslator):
    """A fake engine: each batch reports ``steps`` decoding steps; forced terms are appended when asked."""

    steps_per_batch: int = 4
    calls: list = field(default_factory=list)
    backend = "fake"
    model = ResolvedModel(name="fake/model", path=Path("/models/fake"), architecture="marian", source_lang="ar",
                          target_lang="en")

    @property
    def max_source_tokens(self):
        return 100

    def count_tokens(self, texts):
        return [len(text.split()) + 1 for text in texts]

    def _translate_batch(self, texts, budget, options, n_best, constraints, *, steps=None):
        self.calls.append((len(texts), any(constraints)))
        for step in range(1, self.steps_per_batch + 1):
            if steps is not None:
                steps(step / self.steps_per_batch)
        # Under constraint-aware decoding the terms are carried in; the fall-back forces them.
        how = "carried" if options.term_search is TermSearch.CONSTRAINED else "forced"
        return [Translation(" ".join(["It said so.", *(c.text for c in wanted
                                                        if not term_in_words(c.text, "It said so."))]),
                            tokens=4, **{how: frozenset(c.text for c in wanted)}) for wanted in constraints]


ARTICLE = "قال الكرملين إن موسكو رفضت.\nوقال شاهد إن الحريق كبير.\nولم يعلق الملف.\nوصل الوفد صباح الأحد.\n"
GLOSSARY = Glossary(path=Path("g.tsv"), sha256="0", entries=(
    GlossaryEntry("الكرملين", "Kremlin"), GlossaryEntry("موسكو", "Moscow"), GlossaryEntry("الملف", "Dossier Center")))


def test_a_strict_run_counts_both_passes_moves_inside_batches_and_is_complete_only_at_the_end():
    document = segment_text(ARTICLE, "a.txt")
    matches = find_terms(document, GLOSSARY)
    engine, recorder = SteppingEngine(), Recorder()
    progress = RunProgress("a.txt", planned=4, displays=[recorder])
    translate_segments(document.segments, engine, DecodingOptions(term_search=TermSearch.POSITIONAL), progress,
                       matches, strict_terms=True)
    assert [view.finished for view in recorder.views].count(True) == 0
    progress.finish()
    recorder.check_truthful()
    # The first pass (choosing among hypotheses, as the article has glossary terms) over all 4 sentences,
    # then the re-decoding of the 2 that miss a term: the total grows by them when it starts.
    assert recorder.passes() == [(Pass.TRANSLATE_CHOOSING, 4), (Pass.FORCE_TERMS, 6)]
    assert engine.calls == [(4, False), (2, True)]
    first = [v for v in recorder.views if v.current is Pass.TRANSLATE_CHOOSING]
    # Inside the one batch of the first pass the count moved step by step, not 0 then 4.
    assert len({v.done for v in first}) > 3 and max(v.done for v in first) < 4
    forcing = [v for v in recorder.views if v.current is Pass.FORCE_TERMS and not v.finished]
    assert min(v.done for v in forcing) == pytest.approx(4) and max(v.done for v in forcing) < 6
    assert forcing[-1].label == "forcing terms (strict) · a.txt" and recorder.views[-1].label == "done · a.txt"


def test_an_article_run_in_chunks_plans_its_first_pass_and_grows_only_for_forcing():
    document = segment_text(ARTICLE, "a.txt")
    matches = find_terms(document, GLOSSARY)
    engine, recorder = SteppingEngine(), Recorder()
    settings = RunSettings(strict_terms=True, batching=BatchingOptions(max_sentences=2),
                           decoding=DecodingOptions(term_search=TermSearch.POSITIONAL))
    work = prepare(document.segments, matches, engine, settings, memory=None)
    progress = RunProgress("a.txt", planned=work.pending_inputs, displays=[recorder])
    work.run(progress, chunk_size=2)
    progress.finish()
    recorder.check_truthful()
    # Chunk by chunk: the planned first pass does not grow the total; each forcing pass does.
    assert recorder.passes() == [(Pass.TRANSLATE_CHOOSING, 4), (Pass.FORCE_TERMS, 5), (Pass.TRANSLATE_CHOOSING, 5),
                                 (Pass.FORCE_TERMS, 6)]


def test_a_strict_run_with_constraint_aware_decoding_is_one_pass():
    document = segment_text(ARTICLE, "a.txt")
    engine, recorder = SteppingEngine(), Recorder()
    progress = RunProgress("a.txt", planned=4, displays=[recorder])
    results = translate_segments(document.segments, engine, DecodingOptions(), progress,
                                 find_terms(document, GLOSSARY), strict_terms=True)
    progress.finish()
    recorder.check_truthful()
    # The terms travel with the first pass; nothing is left for a forcing pass.
    assert recorder.passes() == [(Pass.TRANSLATE_CHOOSING, 4)] and engine.calls == [(4, True)]
    assert [term.how for result in results for term in result.terms] == [How.CONSTRAINED] * 3


def test_a_plain_run_without_terms_is_one_pass():
    document = segment_text(ARTICLE, "a.txt")
    recorder = Recorder()
    progress = RunProgress("a.txt", planned=4, displays=[recorder])
    translate_segments(document.segments, SteppingEngine(), DecodingOptions(), progress)
    progress.finish()
    recorder.check_truthful()
    assert recorder.passes() == [(Pass.TRANSLATE, 4)]


def test_progress_bar_only_on_a_terminal_or_for_other_displays(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress_bar(3, "a.txt") as progress:
        assert progress is None
    recorder = Recorder()
    with progress_bar(3, "a.txt", displays=[recorder]) as progress:
        progress.start_pass(Pass.TRANSLATE, 3)
        progress.advance(3)
    recorder.check_truthful()
    with progress_bar(0, "a.txt", displays=[recorder]) as progress:
        assert progress is None  # nothing for the model: no bar
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar(3, "a.txt") as progress:
        progress.start_pass(Pass.TRANSLATE, 3)
        progress.advance(2)
        progress.advance(1)
    assert "done · a.txt" in terminal.getvalue() and "3/3" in terminal.getvalue()


def test_the_rich_bar_names_each_pass_and_reads_complete_only_when_done():
    out = io.StringIO()
    console = Console(force_terminal=True, no_color=True, file=out, width=120)
    with terminal_bar(console) as draw:
        progress = RunProgress("a.txt", planned=4, displays=[draw])
        progress.start_pass(Pass.TRANSLATE, 4)
        progress.advance(4)
        progress.start_pass(Pass.FORCE_TERMS, 2)
        progress.advance(2)
        progress.finish()
    frames = [frame for frame in out.getvalue().split("\r") if "a.txt" in frame]
    assert any("translating · a.txt" in frame and "0/4 inputs" in frame for frame in frames)
    assert any("forcing terms (strict) · a.txt" in frame and "4/6 inputs" in frame for frame in frames)
    assert "done · a.txt" in frames[-1] and "6/6 inputs" in frames[-1]
    assert all("done" in frame for frame in frames if "6/6" in frame)


def test_a_failed_run_never_reads_complete(monkeypatch):
    recorder = Recorder()
    with pytest.raises(RuntimeError), progress_bar(2, "a.txt", displays=[recorder]) as progress:
        progress.start_pass(Pass.TRANSLATE, 2)
        progress.advance(2)
        raise RuntimeError("the engine failed")
    assert not any(view.finished for view in recorder.views)
    assert all(int(view.done) < view.total for view in recorder.views)


@pytest.mark.parametrize("backend", ["transformers", "ctranslate2"])
def test_the_engines_report_progress_while_a_batch_decodes(backend, tiny_marian, tmp_path, monkeypatch):
    from tarjama.translate.backends import load_translator
    from tarjama.translate.backends.ctranslate2_backend import convert
    from tarjama.translate.registry import resolve_model
    from tarjama.translate.types import TermConstraint

    monkeypatch.setenv("TARJAMA_MODEL_STORE", str(tmp_path))
    monkeypatch.setattr("tarjama.translate.backends._loaded", {})
    model = resolve_model(str(tiny_marian))
    if backend == "ctranslate2":
        convert(model, "float32")
    translator = load_translator(model, backend, threads=1)
    texts = ["قال الكرملين إن الوضع هادئ.", "وصل الوفد إلى موسكو.", "روسيا", "الملف"]
    options = DecodingOptions(beam_size=2, max_output_tokens=6)
    for constraints in (None, [[TermConstraint("Moscow")], [TermConstraint("Kremlin", 2)], [], []]):
        done = []
        translator.translate(texts, options, done.append, constraints=constraints)
        # One batch, told in several steps (per decoding step, or per sentence as it comes back), in all its size.
        assert len(done) > 1 and all(amount > 0 for amount in done) and sum(done) == pytest.approx(len(texts))
