"""The model registry (``registry.toml``, shipped beside this module), the local model store, and model resolution.

A model is named by a registry name, a Hugging Face hub id or a local directory. Resolution
looks locally first (directory, store, Hugging Face cache) and downloads only when allowed,
so an offline machine fails fast with a message that says how to get the model.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from tarjama.errors import InputError, ModelNotAvailable, RunError

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # a source checkout's root (samples/, glossaries/, models/)
DEFAULT_MODEL = "Helsinki-NLP/opus-mt-ar-en"
ARCHITECTURES = {"marian": "marian", "m2m_100": "nllb"}
DEFAULT_LANGS = {"marian": ("ar", "en"), "nllb": ("arb_Arab", "eng_Latn")}
# Files a translation model needs; skips other frameworks' weights that would triple a download.
_DOWNLOAD_IGNORE = ["*.h5", "*.msgpack", "*.ot", "*.onnx", "tf_model*", "flax_model*", "rust_model*"]
_HUB_ID = re.compile(r"[\w.-]+(/[\w.-]+)?")
_TRUTHY = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry."""

    name: str
    id: str
    architecture: str
    source_lang: str
    target_lang: str
    licence: str
    description: str = ""
    revision: str = "main"


# A fingerprint reads this many evenly spaced blocks of a large file (every tensor of a fine-tune moves).
_SAMPLES = 256
_SAMPLE_BYTES = 4 * 1024


@dataclass(frozen=True)
class ResolvedModel:
    """A model found on local disk, ready to load."""

    name: str
    path: Path
    architecture: str
    source_lang: str
    target_lang: str
    revision: str | None = None

    @cached_property
    def fingerprint(self) -> str:
        """The model's files as they are now: their names, sizes and contents.

        A name and revision do not change when a directory's model is replaced in place (a new
        fine-tune copied over, a newer ``main`` pulled); the memory, the inbox and CTranslate2
        conversions compare this instead, so such a model is never mistaken for the old one. The
        same files copied to another machine keep it (no modification times). Large weight files
        are sampled (:data:`_SAMPLES` evenly spaced blocks) rather than read whole, so that a 2 GB
        model costs milliseconds.
        """
        digest = hashlib.sha256()
        for path in sorted(self.path.rglob("*")):
            relative = path.relative_to(self.path)
            if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                continue  # download metadata and caches are not the model
            size = path.stat().st_size
            digest.update(f"{relative.as_posix()}\t{size}\n".encode())
            with path.open("rb") as stream:
                if size <= _SAMPLES * _SAMPLE_BYTES:
                    digest.update(stream.read())
                    continue
                for n in range(_SAMPLES):
                    stream.seek((size - _SAMPLE_BYTES) * n // (_SAMPLES - 1))
                    digest.update(stream.read(_SAMPLE_BYTES))
        return digest.hexdigest()[:16]

    def to_json(self) -> dict:
        """Model fields for the run record."""
        return {"name": self.name, "path": str(self.path), "architecture": self.architecture,
                "revision": self.revision, "fingerprint": self.fingerprint, "source_lang": self.source_lang,
                "target_lang": self.target_lang}


def registry_path() -> Path:
    """The registry file, package data of ``tarjama.translate``: an installed tarjama has it too."""
    return Path(__file__).with_name("registry.toml")


def store_dir() -> Path:
    """The local model store: ``$TARJAMA_MODEL_STORE``, else a source checkout's ``models/store``.

    An installed tarjama (no checkout around it) keeps its store in the user's data folder.
    """
    if configured := os.environ.get("TARJAMA_MODEL_STORE"):
        return Path(configured)
    if (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "models").is_dir():
        return PROJECT_ROOT / "models" / "store"
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "tarjama" / "models"


def load_registry(path: Path | None = None) -> tuple[ModelSpec, ...]:
    """Read the registry entries."""
    path = path or registry_path()
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return tuple(ModelSpec(**entry) for entry in data.get("model", []))


def find_spec(name: str, registry: tuple[ModelSpec, ...] | None = None) -> ModelSpec | None:
    """The registry entry named ``name`` (short name or hub id), if any."""
    for spec in registry if registry is not None else load_registry():
        if name in (spec.name, spec.id):
            return spec
    return None


def store_path_for(name: str) -> Path:
    """Where the store keeps a model: its registry name, or its hub id with ``/`` as ``--``."""
    spec = find_spec(name)
    return store_dir() / (spec.name if spec else name.replace("/", "--"))


def registry_listing() -> list[dict]:
    """``tarjama models list``: each registry entry, and whether the local store has it (``local``)."""
    return [{"name": s.name, "id": s.id, "architecture": s.architecture, "source_lang": s.source_lang,
             "target_lang": s.target_lang, "licence": s.licence,
             "local": (store_path_for(s.name) / "config.json").is_file(), "description": s.description}
            for s in load_registry()]


def offline() -> bool:
    """True when downloads are switched off (``HF_HUB_OFFLINE`` or ``TARJAMA_OFFLINE``)."""
    return any(os.environ.get(var, "").lower() in _TRUTHY for var in ("HF_HUB_OFFLINE", "TARJAMA_OFFLINE"))


def resolve_model(name: str, revision: str | None = None, *, allow_download: bool | None = None
                  ) -> ResolvedModel:
    """Find ``name`` on disk (downloading it if allowed), or raise :class:`ModelNotAvailable`."""
    local = Path(name).expanduser()
    if local.exists():
        return _from_directory(local, display_name=name, revision=revision)
    if _looks_like_path(name):
        raise InputError(f"no model directory at '{name}'. {_TRY_OFFLINE}")
    if not _HUB_ID.fullmatch(name):
        raise InputError(f"'{name}' is neither a model directory nor a Hugging Face model id")
    spec = find_spec(name)
    hub_id = spec.id if spec else name
    revision = revision or (spec.revision if spec else None)
    stored = store_path_for(name)
    if (stored / "config.json").is_file():
        return _from_directory(stored, display_name=hub_id, revision=revision, spec=spec)
    cached = _hub_snapshot(hub_id, revision, local_files_only=True)
    if cached is None and (allow_download if allow_download is not None else not offline()):
        cached = _hub_snapshot(hub_id, revision, local_files_only=False, local_dir=stored)
    if cached is None:
        raise ModelNotAvailable(_how_to_get(name, hub_id, stored))
    return _from_directory(cached, display_name=hub_id, revision=revision, spec=spec)


def pull_model(name: str, revision: str | None = None) -> Path:
    """Download a model into the store; raise :class:`RunError` when the hub is out of reach."""
    if not _HUB_ID.fullmatch(name):
        raise InputError(f"'{name}' is not a registry name or Hugging Face model id")
    spec = find_spec(name)
    hub_id = spec.id if spec else name
    stored = store_path_for(name)
    if offline():
        raise InputError(f"downloads are switched off (HF_HUB_OFFLINE or TARJAMA_OFFLINE): cannot pull '{hub_id}'")
    path = _hub_snapshot(hub_id, revision or (spec.revision if spec else None), local_files_only=False,
                         local_dir=stored)
    if path is None:
        raise RunError(
            f"could not download '{hub_id}' from the Hugging Face hub (no connection from this machine). "
            f"Run `tarjama models pull {name}` on a networked machine and copy {stored} to the same "
            f"place here, or pass --model DIR with a local copy")
    return path


def _hub_snapshot(hub_id: str, revision: str | None, *, local_files_only: bool,
                  local_dir: Path | None = None) -> Path | None:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        return Path(snapshot_download(hub_id, revision=revision, local_files_only=local_files_only,
                                      local_dir=local_dir, ignore_patterns=_DOWNLOAD_IGNORE))
    except RepositoryNotFoundError:
        raise InputError(f"no model '{hub_id}' on the Hugging Face hub") from None
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError):
        return None


# The way to try the pipeline without a real model: every "no model here" error ends with it.
_TRY_OFFLINE = ("To try the pipeline without a real model, build a random-weight one (its English is gibberish): "
                "`tarjama models random DIR`, then --model DIR")


def _how_to_get(name: str, hub_id: str, stored: Path) -> str:
    return (f"model '{hub_id}' is not on this machine and cannot be downloaded here. "
            f"Run `tarjama models pull {name}` on a machine that reaches the Hugging Face hub and copy "
            f"{stored} to the same place here, or pass --model DIR with a local copy of the model. {_TRY_OFFLINE}")


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or name.endswith("/") or (os.sep != "/" \
        and os.sep in name)


def _from_directory(path: Path, *, display_name: str, revision: str | None,
                    spec: ModelSpec | None = None) -> ResolvedModel:
    if not path.is_dir():
        raise InputError("is a file, not a model directory", path=path)
    config_file = path / "config.json"
    if not config_file.is_file():
        raise InputError("not a model directory: no config.json (expected a Hugging Face model folder). "
                         + _TRY_OFFLINE, path=path)
    try:
        model_type = json.loads(config_file.read_text(encoding="utf-8")).get("model_type", "")
    except (ValueError, UnicodeDecodeError):
        raise InputError("config.json is not valid JSON", path=config_file) from None
    architecture = ARCHITECTURES.get(model_type)
    if architecture is None:
        raise InputError(f"unsupported model type '{model_type}' (tarjama runs MarianMT and NLLB/M2M100)",
                         path=config_file)
    source_lang, target_lang = (spec.source_lang, spec.target_lang) if spec else DEFAULT_LANGS[architecture]
    return ResolvedModel(name=display_name, path=path, architecture=architecture,
                         source_lang=source_lang, target_lang=target_lang, revision=revision)
