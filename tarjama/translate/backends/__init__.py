"""Translation backends: one small protocol, one loaded model per process and settings."""

from __future__ import annotations

from tarjama.errors import InputError
from tarjama.translate.registry import ResolvedModel
from tarjama.translate.types import BACKENDS, DEFAULT_BACKEND, Translator

_loaded: dict[tuple[str, str, str | None, str, int | None], Translator] = {}


def loaded_models() -> list[tuple[str, str, str | None, str, int | None]]:
    """What this process has loaded: ``(backend, path, revision, fingerprint, threads)`` per model."""
    return list(_loaded)


def load_translator(model: ResolvedModel, backend: str = DEFAULT_BACKEND, *, threads: int | None = None
                    ) -> Translator:
    """Load a model once per process; later calls with the same arguments reuse it.

    A model replaced on disk (another fingerprint) is loaded anew: a long-lived worker never keeps
    translating with the old weights.
    """
    key = (backend, str(model.path), model.revision, model.fingerprint, threads)
    if key not in _loaded:
        for old in [k for k in _loaded if k[:3] == key[:3] and k[4] == threads]:
            del _loaded[old]  # the replaced model's weights are not kept alive beside the new ones
        _loaded[key] = _create(model, backend, threads)
    return _loaded[key]


def check_model_loads(model: ResolvedModel, backend: str = DEFAULT_BACKEND) -> None:
    """Load the model and let it go: a broken model or a missing conversion fails here, not in every run."""
    _create(model, backend, 1)


def _create(model: ResolvedModel, backend: str, threads: int | None) -> Translator:
    if backend == "transformers":
        from tarjama.translate.backends.transformers_backend import TransformersTranslator

        return TransformersTranslator(model, threads=threads)
    if backend == "ctranslate2":
        from tarjama.translate.backends.ctranslate2_backend import CTranslate2Translator

        return CTranslate2Translator(model, threads=threads)
    raise InputError(f"unknown backend '{backend}' (choose from {', '.join(BACKENDS)})")
