"""Issue 14: where a run's time went (the record's ``timings``), and no model load when the memory holds every sentence.

No test here asserts how long anything takes: only that the figures are there, consistent, and counted where
they belong (a fake clock where it matters).
"""

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
from test_edges_editor import edit_cells
from test_edges_review import cli_in_process  # noqa: F401 - a fixture

from tarjama import cli, timings
from tarjama.publish.publisher import output_paths
from tarjama.record.reader import parse_record, read_record
from tarjama.runs.article import needs_model, translate_and_publish
from tarjama.timings import Stage, Timings, timed
from tarjama.translate import backends
from tarjama.translate.settings import RunSettings
from tarjama.translate.types import DecodingOptions, Translation

ARTICLE = "عنوان قصير\nقال الكرملين إن الوضع هادئ.\nوصل الوفد إلى موسكو.\n"
KEYS = {"read_segment", "terms", "model_load", "translate", "enforce", "score", "publish", "overhead", "total"}
ROOT = Path(__file__).resolve().parents[1]


def consistent(figures):
    """The record's timings: all nine, none negative, the parts adding up to the total (within 5%)."""
    assert set(figures) == KEYS
    assert all(isinstance(value, float) and value >= 0 for value in figures.values()), figures
    parts = sum(value for key, value in figures.items() if key != "total")
    assert abs(parts - figures["total"]) <= 0.05 * figures["total"] + 1e-3, figures
    return figures


class FakeClock:
    """Both of tarjama.timings' clocks, moved only by the test."""

    def __init__(self, monkeypatch):
        self.now = 1000.0
        monkeypatch.setattr(timings, "_stopwatch", lambda: self.now)
        monkeypatch.setattr(timings, "_wall_clock", lambda: self.now)

    def tick(self, seconds):
        self.now += seconds


def test_measurements_inside_others_count_once_and_the_rest_is_overhead(monkeypatch):
    clock = FakeClock(monkeypatch)
    run = Timings()
    clock.tick(0.5)  # start-up: overhead
    with run.measure(Stage.TRANSLATE):
        clock.tick(1)
        with run.measure(Stage.MODEL_LOAD):  # a lazy load inside the first pass is model_load, not translate
            clock.tick(3)
        clock.tick(2)
    with run.measure(Stage.PUBLISH):
        clock.tick(0.25)
        figures = run.to_json()  # the record is written while publishing is under way: counted so far
    assert figures == {"read_segment": 0.0, "terms": 0.0, "model_load": 3.0, "translate": 3.0, "enforce": 0.0,
                       "score": 0.0, "publish": 0.25, "overhead": 0.5, "total": 6.75}
    assert run.to_json()["publish"] == 0.25


def test_code_below_the_steps_measures_into_the_current_run_only(monkeypatch):
    clock = FakeClock(monkeypatch)
    with timed(Stage.ENFORCE):  # outside any run: measures nothing, fails nothing
        clock.tick(1)
    run = Timings()
    with run.recording(), timed(Stage.ENFORCE):
        clock.tick(2)
    with timed(Stage.ENFORCE):
        clock.tick(4)
    assert run.parts()[Stage.ENFORCE] == 2


def test_the_process_start_is_before_now():
    started = timings.process_started_at()
    assert started is None or started <= timings._wall_clock()


def test_a_record_without_timings_still_reads():
    record = {"segments": [{"id": "p0.s0", "source": "س", "target": "t"}]}
    assert parse_record(json.dumps(record), "old.run.json").timings is None
    figures = dict.fromkeys(KEYS, 0.5) | {"total": 4.0}
    view = parse_record(json.dumps({**record, "timings": figures}), "new.run.json").timings
    assert (view.model_load, view.overhead, view.total) == (0.5, 0.5, 4.0)
    assert view.summary().startswith("time: 4.0 s in all: read 0.5 · terms 0.5 · model load 0.5 · translate 0.5")
    with pytest.raises(Exception, match=r"timings.total is not a number"):
        parse_record(json.dumps({**record, "timings": {"total": "soon"}}), "bad.run.json")


class FakeEngine:
    """A loaded model that answers every sentence at once, moving the fake clock as an engine would."""

    backend = "transformers"
    max_source_tokens = 100

    def __init__(self, model, clock):
        self.model, self.clock = model, clock

    def count_tokens(self, texts):
        return [len(text.split()) + 1 for text in texts]

    def translate(self, texts, options, progress=None, *, n_best=1, constraints=None, batching=None):
        self.clock.tick(3)
        return [Translation(f"English of {len(text)} characters.", tokens=5) for text in texts]


@pytest.fixture
def fake_model(monkeypatch, tiny_marian):
    """The tiny model's identity with a fake engine and a fake clock: a load takes 2 s, a translation 3 s."""
    clock, created = FakeClock(monkeypatch), []

    def create(model, backend, threads):
        clock.tick(2)
        created.append(model)
        return FakeEngine(model, clock)

    monkeypatch.setattr(backends, "_create", create)
    monkeypatch.setattr(backends, "_loaded", {})
    return created


def test_translate_and_publish_times_each_part_and_a_second_run_loads_nothing(tmp_path, fake_model, tiny_marian):
    article = tmp_path / "short.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    settings = RunSettings(model=str(tiny_marian), use_memory=False)
    first = consistent(json.loads(translate_and_publish(article, settings, tmp_path / "out").published.record
                                  .read_text(encoding="utf-8"))["timings"])
    assert (first["model_load"], first["translate"]) == (2.0, 3.0)  # the lazy load is not the translation's
    again = translate_and_publish(article, settings, tmp_path / "out")
    figures = consistent(asdict(read_record(again.published.record).timings))
    assert (figures["model_load"], figures["translate"]) == (0.0, 3.0)  # this process had the model
    assert len(fake_model) == 1


def test_an_article_held_by_the_memory_loads_no_model_but_one_changed_sentence_loads_it_once(tmp_path, fake_model,
                                                                                             tiny_marian, monkeypatch):
    article, out = tmp_path / "short.txt", tmp_path / "out"
    article.write_text(ARTICLE, encoding="utf-8")
    settings = RunSettings(model=str(tiny_marian))
    assert needs_model(article, settings, out)  # no memory yet
    translate_and_publish(article, settings, out)
    assert not needs_model(article, settings, out)
    # An editor's correction only approves a sentence: still nothing for the model.
    edit_cells(output_paths(out, "short").bilingual, "p1.s0", english="The Kremlin said all is calm.")
    monkeypatch.setattr(backends, "_loaded", {})
    rerun = translate_and_publish(article, settings, out)
    record = read_record(rerun.published.record)
    assert (record.memory.approved, record.memory.reused, record.memory.translated) == (1, 2, 0)
    assert rerun.models_loaded == 0 and len(fake_model) == 1
    assert (record.timings.model_load, record.timings.translate) == (0.0, 0.0)
    article.write_text(ARTICLE.replace("موسكو", "كابول"), encoding="utf-8")
    assert needs_model(article, settings, out)
    changed = read_record(translate_and_publish(article, settings, out).published.record)
    assert changed.memory.translated == 1 and len(fake_model) == 2
    assert (changed.timings.model_load, changed.timings.translate) == (2.0, 3.0)


def test_a_rerun_from_the_memory_imports_no_model_library(tmp_path, tiny_marian, cli_env):
    article, out = tmp_path / "short.txt", tmp_path / "out"
    article.write_text(ARTICLE, encoding="utf-8")
    settings = RunSettings(model=str(tiny_marian), decoding=DecodingOptions(beam_size=1), threads=1)
    translate_and_publish(article, settings, out)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tarjama.runs.article import translate_and_publish\n"
        "from tarjama.translate.settings import RunSettings\n"
        "from tarjama.translate.types import DecodingOptions\n"
        f"settings = RunSettings(model={str(tiny_marian)!r}, decoding=DecodingOptions(beam_size=1), threads=1)\n"
        f"result = translate_and_publish(Path({str(article)!r}), settings, Path({str(out)!r}))\n"
        "print(result.models_loaded, sorted(m for m in ('torch', 'transformers', 'ctranslate2') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env={**cli_env, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "[]"]


@pytest.mark.usefixtures("cli_in_process")
def test_translate_prints_where_the_time_went_and_a_rerun_loads_no_model(tmp_path, tiny_marian, capsys, monkeypatch):
    article, out = tmp_path / "short.txt", tmp_path / "out"
    article.write_text(ARTICLE, encoding="utf-8")
    command = ["translate", str(article), "--model", str(tiny_marian), "--out", str(out), "--beam-size", "1",
               "--threads", "1"]
    # Called inside another program (here pytest), the run starts when main() is called, not with the process:
    # a process a day old must not make the run a day long.
    monkeypatch.setattr(timings, "process_started_at", lambda: timings._wall_clock() - 86_400)
    assert cli.main(command) == 0
    printed = capsys.readouterr().err.splitlines()
    record = read_record(output_paths(out, "short").record)
    first = consistent(asdict(record.timings))
    assert first["total"] < 86_400
    assert printed[-1] == record.timings.summary() and printed[-1].startswith("time: ")
    assert first["model_load"] + first["translate"] > 0
    refused = []
    monkeypatch.setattr(backends, "_create", lambda *args: refused.append(args))  # a load would fail the run
    monkeypatch.setattr(backends, "_loaded", {})
    assert cli.main(command) == 0
    rerun = read_record(output_paths(out, "short").record)
    assert refused == [] and (rerun.memory.reused, rerun.memory.model_inputs) == (3, 0)
    figures = consistent(asdict(rerun.timings))
    assert (figures["model_load"], figures["translate"], figures["enforce"]) == (0.0, 0.0, 0.0)


def test_the_start_up_says_whether_it_loads_a_model(tmp_path, fake_model, tiny_marian):
    """What the CLI's start-up status line is told: the model it loads, or that the memory holds every sentence."""
    from tarjama.runs.article import load_model_if_needed

    article, out = tmp_path / "short.txt", tmp_path / "out"
    article.write_text(ARTICLE, encoding="utf-8")
    settings = RunSettings(model=str(tiny_marian))
    said = []
    assert load_model_if_needed(article, settings, out, announce=said.append)
    assert said == [f"loading {settings.resolve_model().name} (transformers)"] and len(fake_model) == 1
    translate_and_publish(article, settings, out)
    said.clear()
    assert not load_model_if_needed(article, settings, out, announce=said.append)
    assert said == ["every sentence is in the memory: no model to load"] and len(fake_model) == 1
