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
    assert [p.record.name for p in published] == ["crocus.run.json", "short.run.json"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{stem}.{kind}" for stem in ("crocus", "short") for kind in ("bilingual.md", "en.md", "run.json"))
    assert len(loads) == 1


def test_translation_is_retried_after_a_transient_failure_but_not_after_bad_input(
        prefect_server, inbox, tmp_path, tiny_marian, monkeypatch):
    import flows.translate as module

    monkeypatch.setattr(module, "translate", module.translate.with_options(retry_delay_seconds=0))
    real = module.translate_segments
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("worker lost")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "translate_segments", flaky)
    published = module.translate_article(inbox / "short.txt", model=str(tiny_marian), out_dir=tmp_path / "a",
                                         beam_size=1)
    assert published.record.exists() and len(calls) == 2

    def bad_input(*args, **kwargs):
        calls.append(1)
        raise InputError("cannot be fixed by retrying")

    calls.clear()
    monkeypatch.setattr(module, "translate_segments", bad_input)
    with pytest.raises(InputError):
        module.translate_article(inbox / "short.txt", model=str(tiny_marian), out_dir=tmp_path / "b", beam_size=1)
    assert len(calls) == 1
    assert not (tmp_path / "b").exists()
