"""The Prefect flows in-process, on a temporary Prefect server shared by this module."""

import shutil

import pytest

from tarjama.errors import InputError


@pytest.fixture(scope="module")
def prefect_server(cli_env, monkeypatch_module):
    """Prefect's own temporary server, started by the first flow call, in the session's Prefect home."""
    from flows.settings import prefect_environment

    monkeypatch_module.setenv("PREFECT_HOME", cli_env["PREFECT_HOME"])
    for name, value in prefect_environment().items():
        monkeypatch_module.setenv(name, value)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


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
    from tarjama.backends import transformers_backend

    loads = []
    original_init = transformers_backend.TransformersTranslator.__init__

    def counting_init(self, *args, **kwargs):
        loads.append(args)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(transformers_backend.TransformersTranslator, "__init__", counting_init)
    monkeypatch.setattr("tarjama.backends._loaded", {})
    published = translate_folder(inbox, model=str(tiny_marian), glossary=glossary_path, out_dir=tmp_path / "out",
                                 beam_size=1)
    assert [o.published.record.name for o in published] == ["crocus.run.json", "short.run.json"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{stem}.{kind}" for stem in ("crocus", "short")
        for kind in ("bilingual.md", "en.md", "run.json", "report.html"))
    assert len(loads) == 1


def test_translation_is_retried_after_a_transient_failure_but_not_after_bad_input(
        prefect_server, inbox, tmp_path, tiny_marian, monkeypatch):
    import flows.translate as module

    monkeypatch.setattr(module, "translate", module.translate.with_options(retry_delay_seconds=0))
    real = module.run_translation
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("worker lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "run_translation", flaky)
    published = module.translate_article(inbox / "short.txt", model=str(tiny_marian), out_dir=tmp_path / "a",
                                         beam_size=1)
    assert published.record.exists() and len(calls) == 2

    def bad_input(*args, **kwargs):
        calls.append(1)
        raise InputError("cannot be fixed by retrying")

    calls.clear()
    monkeypatch.setattr(module, "run_translation", bad_input)
    with pytest.raises(InputError):
        module.translate_article(inbox / "short.txt", model=str(tiny_marian), out_dir=tmp_path / "b", beam_size=1)
    assert len(calls) == 1
    assert not (tmp_path / "b").exists()


def test_one_bad_article_does_not_stop_the_folder(prefect_server, inbox, tmp_path, tiny_marian):
    from flows.translate import translate_folder
    from tarjama.errors import RunError

    (inbox / "bad.txt").write_text("No Arabic here.\n", encoding="utf-8")
    (inbox / ".hidden.txt").write_text("عنوان\n", encoding="utf-8")
    with pytest.raises(RunError, match=r"1 of 3 articles failed: .*bad.txt: no Arabic text"):
        translate_folder(inbox, model=str(tiny_marian), out_dir=tmp_path / "out", beam_size=1)
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


def test_each_run_publishes_its_scores_as_a_prefect_artifact(prefect_server, inbox, tmp_path, tiny_marian,
                                                             glossary_path):
    from prefect.artifacts import Artifact

    from flows.translate import translate_article

    published = translate_article(inbox / "short.txt", model=str(tiny_marian), glossary=glossary_path,
                                  out_dir=tmp_path / "out", beam_size=1)
    artifact = Artifact.get("scores-short")
    assert artifact is not None and artifact.type == "markdown"
    record = __import__("json").loads(published.record.read_text(encoding="utf-8"))
    scores = record["scores"]
    assert f"{scores['terms_hit']}/{scores['terms_matched']}" in artifact.data
    assert "| BLEU | – |" in artifact.data  # no reference given
