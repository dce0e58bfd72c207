"""Issue 14: a folder run fills the engine's batches from several articles and still publishes each on its own."""

import json

import pytest
from test_timings import fake_model  # noqa: F401 - a fixture

from tarjama.runs.article import translate_and_publish
from tarjama.runs.folder import translate_folder_pooled
from tarjama.translate import backends
from tarjama.translate.settings import RunSettings
from tarjama.translate.types import Translation

GUILTY = "guilty"


class RecordingTranslator:
    """Stands in for a model: tags each text, remembers every call's texts, and fails on a guilty sentence."""

    backend = "transformers"
    max_source_tokens = 512

    def __init__(self, model, on_call=None):
        self.model, self.calls, self.on_call = model, [], on_call

    def count_tokens(self, texts):
        return [len(text.split()) + 1 for text in texts]

    def translate(self, texts, options, progress=None, *, n_best=1, constraints=None, batching=None):
        self.calls.append(list(texts))
        if self.on_call:
            self.on_call(self)
        if any(GUILTY in text for text in texts):
            raise RuntimeError("the engine choked")
        if progress:
            progress(len(texts))
        return [Translation(f"<{text}>", tokens=len(text.split())) for text in texts]


def paragraphs(sample_path):
    return [line for line in sample_path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_articles(folder, sample_path, count=4):
    """``count`` short articles of distinct sample paragraphs (a title and two paragraphs each)."""
    folder.mkdir()
    lines = paragraphs(sample_path)
    paths = []
    for n in range(count):
        path = folder / f"a{n}.txt"
        path.write_text("\n".join(lines[3 * n:3 * n + 3]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture
def settings(tiny_marian, glossary_path):
    return RunSettings.from_options(model=str(tiny_marian), beam_size=1, glossary=glossary_path)


def comparable(record_path):
    """A run record without what differs between any two runs (ids, times, where the memory is)."""
    record = json.loads(record_path.read_text(encoding="utf-8"))
    for key in ("run_id", "created", "timings", "bilingual_sha256"):  # the bilingual file names its run
        record.pop(key, None)
    record["memory"].pop("path")
    return record


@pytest.mark.parametrize("strict", [False, True])
def test_pooled_batches_mix_articles_and_each_record_equals_an_article_runs(tmp_path, sample_path, settings,
                                                                           monkeypatch, strict):
    from dataclasses import replace

    settings = replace(settings, strict_terms=strict)
    model = settings.resolve_model()
    sources = write_articles(tmp_path / "inbox", sample_path)
    pooled = RecordingTranslator(model)
    outcomes = translate_folder_pooled(sources, settings, tmp_path / "pooled", model=model, translator=pooled)
    assert [o.error for o in outcomes] == [None] * len(sources)

    # Some call to the engine holds sentences of several articles.
    article_of = {}
    for n, source in enumerate(sources):
        for line in source.read_text(encoding="utf-8").splitlines():
            for word in line.split()[:3]:
                article_of.setdefault(word, n)
    mixed = [call for call in pooled.calls if len({article_of.get(text.split()[0]) for text in call}) > 1]
    assert mixed, pooled.calls

    alone = RecordingTranslator(model)
    monkeypatch.setattr(backends, "_create", lambda *args: alone)  # where a run's model is made, lazily
    monkeypatch.setattr(backends, "_loaded", {})
    for source, outcome in zip(sources, outcomes, strict=True):
        single = translate_and_publish(source, settings, tmp_path / "alone", model=model)
        assert outcome.published.record.name == single.published.record.name
        assert comparable(outcome.published.record) == comparable(single.published.record)
        for kind in ("english", "bilingual"):
            ours, theirs = getattr(outcome.published, kind), getattr(single.published, kind)
            assert _without_ids(ours.read_text(encoding="utf-8")) == _without_ids(theirs.read_text(encoding="utf-8"))
    assert len(pooled.calls) < len(alone.calls)  # fewer, fuller calls


def _without_ids(text):
    import re

    return re.sub(r"(run[_ -]?id\W+)[\w-]+|\d{4}-\d\d-\d\dT[\d:+.-]+", r"\1", text)


def test_an_unreadable_or_failing_article_leaves_the_others_published(tmp_path, sample_path, settings):
    model = settings.resolve_model()
    sources = write_articles(tmp_path / "inbox", sample_path, count=4)
    (tmp_path / "inbox" / "bad.txt").write_text("No Arabic here.\n", encoding="utf-8")
    guilty = sources[1]
    guilty.write_text(guilty.read_text(encoding="utf-8") + f"قال الكرملين {GUILTY} إن الوضع هادئ.\n",
                      encoding="utf-8")
    translator = RecordingTranslator(model)
    outcomes = translate_folder_pooled([*sources, tmp_path / "inbox" / "bad.txt"], settings, tmp_path / "out",
                                       model=model, translator=translator)
    by_name = {o.source.name: o for o in outcomes}
    assert "no Arabic text" in by_name["bad.txt"].error.describe()
    assert isinstance(by_name["a1.txt"].error, RuntimeError) and by_name["a1.txt"].published is None
    assert not (tmp_path / "out" / "a1.run.json").exists()
    for name in ("a0.txt", "a2.txt", "a3.txt"):
        assert by_name[name].error is None and by_name[name].published.record.is_file()
    # The failed pooled call was translated again article by article: the innocent ones alone.
    assert any(GUILTY in text for text in translator.calls[0])


def test_an_article_changed_or_removed_before_publishing_is_not_published_the_others_are(tmp_path, sample_path,
                                                                                         settings):
    from tarjama.publish.publisher import SourceChanged, SourceGone

    model = settings.resolve_model()
    sources = write_articles(tmp_path / "inbox", sample_path, count=3)

    def change_once(translator):
        if len(translator.calls) == 1:
            sources[0].write_text(sources[0].read_text(encoding="utf-8") + "فقرة جديدة.\n", encoding="utf-8")
            sources[2].unlink()

    outcomes = translate_folder_pooled(sources, settings, tmp_path / "out", model=model,
                                       translator=RecordingTranslator(model, change_once))
    assert isinstance(outcomes[0].error, SourceChanged) and outcomes[0].published is None
    assert isinstance(outcomes[2].error, SourceGone) and outcomes[2].published is None
    assert outcomes[1].published.record.name == "a1.run.json"
    assert sorted(p.name for p in (tmp_path / "out").glob("*.run.json")) == ["a1.run.json"]


def test_a_rerun_takes_every_sentence_from_the_memory(tmp_path, sample_path, settings):
    model = settings.resolve_model()
    sources = write_articles(tmp_path / "inbox", sample_path, count=3)
    first = RecordingTranslator(model)
    translate_folder_pooled(sources, settings, tmp_path / "out", model=model, translator=first)
    assert first.calls
    again = RecordingTranslator(model)
    outcomes = translate_folder_pooled(sources, settings, tmp_path / "out", model=model, translator=again)
    assert again.calls == []
    for outcome in outcomes:
        record = json.loads(outcome.published.record.read_text(encoding="utf-8"))
        assert record["memory"]["model_inputs"] == 0
        assert record["memory"]["reused"] == sum(1 for s in record["segments"] if s["origin"] == "memory") > 0


def test_the_folder_flow_pools_articles_with_tasks_named_after_each(prefect_server, tmp_path, sample_path, settings,
                                                                    monkeypatch):
    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
    )

    import flows.translate as module

    model = settings.resolve_model()
    sources = write_articles(tmp_path / "inbox", sample_path, count=3)
    translator = RecordingTranslator(model)
    monkeypatch.setattr(backends, "_create", lambda *args: translator)  # where a run's model is made, lazily
    monkeypatch.setattr(backends, "_loaded", {})
    out = tmp_path / "out"
    outcomes = module.translate_folder(tmp_path / "inbox", settings=settings, out_dir=out, only_changed=True)
    assert [(o.article.name, o.status) for o in outcomes] == [(s.name, "translated") for s in sources]
    assert len(translator.calls) == 1  # three short articles, one engine call
    logged = json.loads((out / ".tarjama" / "inbox-log.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    with get_client(sync_client=True) as client:
        names = {t.name for t in client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[logged["flow_run_id"]])))}
    # One task for the pool (reading, translating, scoring, publishing); the articles' own tasks only check them.
    pool = "translate 3 articles together: a0, a1, a2"
    assert names == {f"check {s.stem}" for s in sources} | {"load glossary", pool}
    with get_client(sync_client=True) as client:
        keys = {a.key for a in client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[logged["flow_run_id"]])))}
    assert {f"scores-{s.stem}" for s in sources} <= keys


def test_the_folder_flow_logs_the_article_that_fails_its_pool_and_publishes_the_others(
        prefect_server, tmp_path, sample_path, settings, monkeypatch):
    import flows.translate as module
    from tarjama.errors import RunError

    model = settings.resolve_model()
    sources = write_articles(tmp_path / "inbox", sample_path, count=3)
    sources[2].write_text(sources[2].read_text(encoding="utf-8") + f"قال {GUILTY} إن الوضع هادئ.\n", encoding="utf-8")
    monkeypatch.setattr(backends, "_create", lambda *args: RecordingTranslator(model))
    monkeypatch.setattr(backends, "_loaded", {})
    out = tmp_path / "out"
    with pytest.raises(RunError, match=r"1 of 3 articles failed: RuntimeError: the engine choked"):
        module.translate_folder(tmp_path / "inbox", settings=settings, out_dir=out, only_changed=True)
    logged = json.loads((out / ".tarjama" / "inbox-log.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert [(a["article"].rsplit("/", 1)[-1], a["status"]) for a in logged["articles"]] == [
        ("a0.txt", "translated"), ("a1.txt", "translated"), ("a2.txt", "failed")]
    assert sorted(p.name for p in out.glob("*.run.json")) == ["a0.run.json", "a1.run.json"]


class FailingTranslator(RecordingTranslator):
    """The machine fails (whatever the sentences) on its first ``failures`` calls, then works."""

    def __init__(self, model, failures):
        super().__init__(model)
        self.failures = failures

    def translate(self, texts, options, progress=None, **kwargs):
        if len(self.calls) < self.failures:
            self.calls.append(list(texts))
            raise MemoryError("out of memory")
        return super().translate(texts, options, progress, **kwargs)


def test_a_chunk_failing_for_every_article_fails_the_pool_one_guilty_article_fails_alone(tmp_path, sample_path,
                                                                                        settings):
    from tarjama.runs.folder import read_member, translate_and_publish_pool

    model = settings.resolve_model()
    sources = write_articles(tmp_path / "inbox", sample_path, count=3)
    members = [read_member(source, None) for source in sources]
    machine = FailingTranslator(model, failures=10**6)
    with pytest.raises(MemoryError):
        translate_and_publish_pool(members, machine, model, settings, None, tmp_path / "out")
    assert len(machine.calls) == 2  # the chunk, then the first article alone: out of memory is the machine's
    assert not list((tmp_path / "out").glob("*.run.json"))
    # A pool of one article too: its failure for want of memory is the machine's, to be tried again.
    with pytest.raises(MemoryError):
        translate_and_publish_pool(members[:1], FailingTranslator(model, failures=10**6), model, settings, None,
                                   tmp_path / "out")
    # Without Prefect (no retry), each article of the pool fails with the machine's error.
    outcomes = translate_folder_pooled(sources, settings, tmp_path / "out", model=model,
                                       translator=FailingTranslator(model, failures=10**6))
    assert all(isinstance(o.error, MemoryError) and o.published is None for o in outcomes)
    # One guilty article among innocent ones: it alone fails, the pool goes on and publishes the others.
    sources[1].write_text(sources[1].read_text(encoding="utf-8") + f"قال {GUILTY} إن الوضع هادئ.\n", encoding="utf-8")
    members = [read_member(source, None) for source in sources]
    outcomes = translate_and_publish_pool(members, RecordingTranslator(model), model, settings, None, tmp_path / "out")
    assert [type(o.error) for o in outcomes] == [type(None), RuntimeError, type(None)]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.run.json")) == ["a0.run.json", "a2.run.json"]


def test_the_folder_flow_retries_a_pool_the_machine_failed(prefect_server, tmp_path, sample_path, settings,
                                                           monkeypatch):
    import flows.translate as module

    model = settings.resolve_model()
    sources = write_articles(tmp_path / "inbox", sample_path, count=3)
    # Out of memory on the first two tries (the chunk, then its first article alone); the third try works.
    translator = FailingTranslator(model, failures=4)
    monkeypatch.setattr(backends, "_create", lambda *args: translator)
    monkeypatch.setattr(backends, "_loaded", {})
    monkeypatch.setattr(module, "translate_pooled", module.translate_pooled.with_options(retry_delay_seconds=0))
    outcomes = module.translate_folder(tmp_path / "inbox", settings=settings, out_dir=tmp_path / "out",
                                       only_changed=True)
    assert [(o.article.name, o.status) for o in outcomes] == [(s.name, "translated") for s in sources]
    assert len(translator.calls) == 4 + 1


def test_each_pooled_record_holds_its_share_of_the_pools_time(tmp_path, sample_path, settings, fake_model):  # noqa: F811
    """Records of articles translated together: consistent timings, which share the pool's model load and passes."""
    from test_timings import consistent

    sources = write_articles(tmp_path / "inbox", sample_path, count=3)
    sources[2].write_text(sources[1].read_text(encoding="utf-8"), encoding="utf-8")  # the same sentences as a1
    outcomes = translate_folder_pooled(sources, settings, tmp_path / "out")
    figures = [consistent(json.loads(o.published.record.read_text(encoding="utf-8"))["timings"]) for o in outcomes]
    # The fake load takes 2 s and each engine call 3 s; the articles' shares add up to that, by model inputs.
    assert len(fake_model) == 1
    assert sum(f["model_load"] for f in figures) == pytest.approx(2.0, abs=0.01)
    assert all(f["translate"] > 0 and f["read_segment"] >= 0 for f in figures)
    again = translate_folder_pooled(sources, settings, tmp_path / "out")
    for outcome in again:
        rerun = consistent(json.loads(outcome.published.record.read_text(encoding="utf-8"))["timings"])
        assert (rerun["model_load"], rerun["translate"], rerun["enforce"]) == (0.0, 0.0, 0.0)
