import sys
from pathlib import Path

# Case-file helpers live beside the tests.
sys.path.insert(0, str(Path(__file__).parent))

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "crocus-city-hall.ar.txt"
GLOSSARY = ROOT / "glossaries" / "news-ar-en.tsv"


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def glossary_path() -> Path:
    return GLOSSARY

ENGLISH_TEMPLATES = [
    "The {who} said on {day} that the attack near {where} killed many people.",
    "Documents obtained by the {org} show that {who} knew about the threat.",
    "{who} rejected the warnings from {where} as provocative.",
    "Four suspects from {where} appeared in court in {day}.",
]
FILLERS = {
    "who": ["Kremlin", "Vladimir Putin", "Mikhail Khodorkovsky", "Adrienne Watson", "Ilya Ponomarev",
            "Erin Burnett", "Security Council", "ISIS", "ISIS-K"],
    "where": ["Moscow", "Crocus City Hall", "Washington", "Tajikistan", "Kabul", "Cologne", "Kyrgyzstan"],
    "org": ["Dossier Center", "CNN", "US Embassy", "European Union"],
    "day": ["Friday", "Sunday", "March", "2022"],
}


def english_corpus() -> list[str]:
    lines = []
    for n, template in enumerate(ENGLISH_TEMPLATES * 10):
        lines.append(template.format(**{k: v[n % len(v)] for k, v in FILLERS.items()}))
    # Every glossary target, so that the target vocabulary can spell each term for forced decoding.
    rows = [line.split("\t") for line in GLOSSARY.read_text(encoding="utf-8").splitlines()[1:]
            if line and not line.startswith(("#", "source\t"))]
    return lines + [row[1] for row in rows]


def arabic_corpus() -> list[str]:
    return [line for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="session")
def tiny_marian(tmp_path_factory) -> Path:
    from tarjama.dev.random_models import build_random_marian

    return build_random_marian(tmp_path_factory.mktemp("models") / "tiny-marian", arabic_corpus(),
                               english_corpus())


@pytest.fixture(scope="session")
def tiny_nllb(tmp_path_factory) -> Path:
    from tarjama.dev.random_models import build_random_nllb

    return build_random_nllb(tmp_path_factory.mktemp("models") / "tiny-nllb", arabic_corpus() + english_corpus())


@pytest.fixture(scope="session")
def cli_env(tmp_path_factory) -> dict[str, str]:
    """Environment for running the CLI: offline, isolated, telemetry off, one Prefect home per session."""
    import os

    env = dict(os.environ)
    env.update({"PREFECT_HOME": str(tmp_path_factory.mktemp("prefect-home")), "HF_HUB_OFFLINE": "1",
                # No model of the developer's may leak in, and a "download" meets a closed loopback port.
                "HF_HOME": str(tmp_path_factory.mktemp("hf-home")), "HF_ENDPOINT": "http://127.0.0.1:9",
                "TARJAMA_MODEL_STORE": str(tmp_path_factory.mktemp("model-store")),
                "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PYTHONUNBUFFERED": "1"})
    return env


@pytest.fixture(scope="module")
def prefect_server(cli_env, monkeypatch_module):
    """Prefect's own temporary server, started by the first flow call, in the session's Prefect home."""
    from flows.settings import prefect_environment

    monkeypatch_module.setenv("PREFECT_HOME", cli_env["PREFECT_HOME"])
    for name, value in prefect_environment().items():
        monkeypatch_module.setenv(name, value)


@pytest.fixture
def no_model_work(monkeypatch):
    """Fail the test if the command gets as far as loading a model."""
    from tarjama.translate import backends

    def refuse(*_args, **_kwargs):
        raise AssertionError("model work began where none was due")

    # The one place a model is made, looked up when called: every caller's load_translator reaches it.
    monkeypatch.setattr(backends, "_create", refuse)
    monkeypatch.setattr(backends, "_loaded", {})  # a model an earlier test loaded must not be handed out either


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="session")
def toy_model(tmp_path_factory) -> Path:
    """The small toy model (a Marian that really translates its synthetic templates), trained once; lab set in lab/."""
    from tarjama.dev.toy import ToySize
    from tarjama.dev.toy.model import build_toy_model

    return build_toy_model(tmp_path_factory.mktemp("models") / "toy", ToySize.SMALL).out_dir


@pytest.fixture(scope="session")
def default_toy(tmp_path_factory):
    """The default toy model (about 3 minutes to train: slow tests only), with what its build measured."""
    from tarjama.dev.toy.model import build_toy_model

    return build_toy_model(tmp_path_factory.mktemp("models") / "toy-default")
