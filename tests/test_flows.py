"""The Prefect flows in-process, on a temporary Prefect server shared by this module."""

import shutil

import pytest
import torch

from tarjama.errors import InputError
from tarjama.translate.settings import RunSettings


def tiny_settings(model, **options):
    """These tests' run settings: the (tiny) model given, greedy."""
    return RunSettings.from_options(model=str(model), beam_size=1, **options)


@pytest.fixture
def inbox(tmp_path, sample_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(sample_path, folder / "crocus.txt")
    (folder / "short.txt").write_text("عنوان قصير\nقال الكرملين إن الوضع هادئ.\n", encoding="utf-8")
    (folder / "notes.md").write_text("not an article", encoding="utf-8")
    return folder


def test_folder_flow_translates_every_article_with_one_model_load(prefect_server, inbox, tmp_path, tiny_marian,
                                                                   glossary_path, monkeypatch):
    from flows.translate import translate_folder
    from tarjama.translate.backends import transformers_backend

    loads = []
    original_init = transformers_backend.TransformersTranslator.__init__

    def counting_init(self, *args, **kwargs):
        loads.append(kwargs)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(transformers_backend.TransformersTranslator, "__init__", counting_init)
    monkeypatch.setattr("tarjama.translate.backends._loaded", {})
    threads = torch.get_num_threads()
    try:
        published = translate_folder(inbox, settings=tiny_settings(tiny_marian, glossary=glossary_path, threads=1),
                                     out_dir=tmp_path / "out")
    finally:
        torch.set_num_threads(threads)  # the setting is process-wide: later tests keep every core
    assert [o.published.record.name for o in published] == ["crocus.run.json", "short.run.json"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.name != ".tarjama") == sorted(
        f"{stem}.{kind}" for stem in ("crocus", "short")
        for kind in ("bilingual.md", "en.md", "run.json", "report.html"))
    assert loads == [{"threads": 1}]  # one load, with the thread setting passed down from the flow


def test_translation_is_retried_after_a_transient_failure_but_not_after_bad_input(
        prefect_server, inbox, tmp_path, tiny_marian, monkeypatch):
    import flows.translate as module
    import tarjama.translate.incremental as incremental

    monkeypatch.setattr(module, "translate", module.translate.with_options(retry_delay_seconds=0))
    real = incremental.run_translation
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("worker lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(incremental, "run_translation", flaky)
    published = module.translate_article(inbox / "short.txt", settings=tiny_settings(tiny_marian),
                                         out_dir=tmp_path / "a")
    assert published.record.exists() and len(calls) == 2

    def bad_input(*args, **kwargs):
        calls.append(1)
        raise InputError("cannot be fixed by retrying")

    calls.clear()
    monkeypatch.setattr(incremental, "run_translation", bad_input)
    with pytest.raises(InputError):
        module.translate_article(inbox / "short.txt", settings=tiny_settings(tiny_marian), out_dir=tmp_path / "b")
    assert len(calls) == 1
    assert not (tmp_path / "b").exists()


def test_one_bad_article_does_not_stop_the_folder(prefect_server, inbox, tmp_path, tiny_marian):
    from flows.translate import translate_folder
    from tarjama.errors import RunError

    (inbox / "bad.txt").write_text("No Arabic here.\n", encoding="utf-8")
    (inbox / ".hidden.txt").write_text("عنوان\n", encoding="utf-8")
    with pytest.raises(RunError, match=r"1 of 3 articles failed: .*bad.txt: no Arabic text"):
        translate_folder(inbox, settings=tiny_settings(tiny_marian), out_dir=tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").glob("*.run.json")) == ["crocus.run.json", "short.run.json"]


def test_importing_the_flows_switches_telemetry_off():
    import subprocess
    import sys

    code = ("import os, flows.translate; "
            "print(os.environ['DO_NOT_TRACK'], os.environ['PREFECT_SERVER_ANALYTICS_ENABLED'])")
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.split() == ["1", "false"]


def test_each_run_publishes_its_scores_and_progress_as_prefect_artifacts(prefect_server, inbox, tmp_path, tiny_marian,
                                                                         glossary_path):
    from prefect.artifacts import Artifact

    from flows.translate import translate_article

    published = translate_article(inbox / "short.txt", settings=tiny_settings(tiny_marian, glossary=glossary_path),
                                  out_dir=tmp_path / "out")
    artifact = Artifact.get("scores-short")
    assert artifact is not None and artifact.type == "markdown"
    record = __import__("json").loads(published.record.read_text(encoding="utf-8"))
    scores = record["scores"]
    assert f"{scores['terms_hit']}/{scores['terms_matched']}" in artifact.data
    assert "| BLEU | – |" in artifact.data  # no reference given
    # The translate task's progress, in the UI: complete once the model's work was done, with its count.
    progress = Artifact.get("progress-short")
    assert progress is not None and progress.type == "progress" and float(progress.data) == 100
    assert progress.description == "done · short.txt: 2/2 model inputs"
    # The flow returns the record it published, the very one in the record file.
    assert published.run is not None and published.run.to_json()["run_id"] == record["run_id"]
    assert published.run.to_json()["segments"] == record["segments"]


@pytest.mark.slow
def test_articles_run_on_a_local_two_worker_dask_cluster(prefect_server, inbox, tmp_path, tiny_marian,
                                                          glossary_path):
    import os

    from flows.translate import dask_runner, translate_folder_distributed

    for n in range(4):
        (inbox / f"extra{n}.txt").write_text(f"عنوان {n}\nقال الكرملين إن الوضع هادئ في اليوم {n}.\n",
                                             encoding="utf-8")
    distributed = translate_folder_distributed.with_options(task_runner=dask_runner(workers=2))
    results = distributed(inbox, settings=tiny_settings(tiny_marian, glossary=glossary_path), out_dir=tmp_path / "out")
    assert sorted(r.published.record.name for r in results) == sorted(
        f"{stem}.run.json" for stem in ("crocus", "short", "extra0", "extra1", "extra2", "extra3"))
    assert all(r.published.report.exists() for r in results)
    loads_by_process = {}
    for result in results:
        loads_by_process.setdefault(result.process, set()).add(result.models_loaded)
    assert os.getpid() not in loads_by_process  # the work ran on the workers, not in the flow's process
    assert 1 <= len(loads_by_process) <= 2
    assert all(loads == {1} for loads in loads_by_process.values())  # one model load per worker


def test_the_distributed_flow_logs_articles_it_cannot_check(prefect_server, inbox, tmp_path, tiny_marian):
    # A wrong glossary path used to end the whole run while checking what changed, with no log line.
    import json

    from flows.translate import translate_folder_distributed
    from tarjama.errors import RunError

    out = tmp_path / "out"
    with pytest.raises(RunError, match=r"2 of 2 articles failed: .*no-such-glossary.tsv"):
        translate_folder_distributed(
            inbox, settings=tiny_settings(tiny_marian, glossary=tmp_path / "no-such-glossary.tsv"), out_dir=out,
            only_changed=True)
    logged = json.loads((out / ".tarjama" / "inbox-log.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert sorted((a["article"].rsplit("/", 1)[-1], a["status"]) for a in logged["articles"]) == [
        ("crocus.txt", "failed"), ("short.txt", "failed")]


def test_a_deployment_parameter_of_settings_becomes_run_settings_again():
    # `tarjama serve` hands the settings to Prefect as JSON; each scheduled run must get RunSettings back.
    # (That a run loaded from the deployment's entrypoint can resolve the annotation is for the slow serve test.)
    import json
    from pathlib import Path

    from flows.translate import translate_folder
    from tarjama.translate.types import DecodingOptions

    settings = RunSettings.from_options(model="m", beam_size=2, glossary=Path("g.tsv"))
    parameters = json.loads(json.dumps({"inbox": "inbox", "settings": settings.for_deployment()}))
    validated = translate_folder.validate_parameters(parameters)["settings"]
    assert isinstance(validated, RunSettings) and isinstance(validated.decoding, DecodingOptions)
    assert validated == RunSettings.from_options(model="m", beam_size=2, glossary=settings.glossary.resolve())


def test_a_progress_artifact_the_api_refuses_never_fails_the_translation(monkeypatch):
    """The Prefect UI's progress is a display: an API error stops it, once, and the run goes on."""
    import flows.progress as progress_module
    from flows.progress import ProgressArtifact
    from tarjama.translate.progress import RunProgress
    from tarjama.translate.types import Pass

    calls = []

    def refuse(**kwargs):
        calls.append(kwargs)
        raise OSError("the API is unreachable")

    monkeypatch.setattr(progress_module, "create_progress_artifact", refuse)
    artifact = ProgressArtifact("progress-a")
    progress = RunProgress("a.txt", 4, [artifact])
    progress.start_pass(Pass.TRANSLATE, 4)
    progress.advance(4)
    progress.finish()
    assert artifact.failed and len(calls) == 1  # tried once, then left alone
    assert progress.view().finished
