"""Translation backends: one small protocol, one loaded model per process and settings, loaded when first needed.

A run's translator is a :class:`RunTranslator`: the model's identity at once (the memory keys need no
more), the model itself on first use, through :func:`load_translator`'s cache. An article whose sentences are
all in the memory never loads a model, nor imports the libraries that run one.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from tarjama.errors import InputError
from tarjama.timings import Stage, Timings, timed
from tarjama.translate.registry import ResolvedModel
from tarjama.translate.types import (
    BACKENDS,
    DEFAULT_BACKEND,
    DEFAULT_BATCHING,
    BatchingOptions,
    DecodingOptions,
    ProgressCallback,
    TermConstraint,
    Translation,
    Translator,
)

_loaded: dict[tuple[str, str, str | None, str, int | None], Translator] = {}


def loaded_models() -> list[tuple[str, str, str | None, str, int | None]]:
    """What this process has loaded: ``(backend, path, revision, fingerprint, threads)`` per model."""
    return list(_loaded)


def load_translator(model: ResolvedModel, backend: str = DEFAULT_BACKEND, *, threads: int | None = None,
                    timings: Timings | None = None) -> Translator:
    """Load a model once per process; later calls with the same arguments reuse it.

    A model replaced on disk (another fingerprint) is loaded anew: a long-lived worker never keeps
    translating with the old weights. A load counts as ``model_load`` in ``timings`` (or the current run's);
    a reuse counts nothing.
    """
    key = (backend, str(model.path), model.revision, model.fingerprint, threads)
    if key not in _loaded:
        for old in [k for k in _loaded if k[:3] == key[:3] and k[4] == threads]:
            del _loaded[old]  # the replaced model's weights are not kept alive beside the new ones
        with timed(Stage.MODEL_LOAD, timings):
            _loaded[key] = _create(model, backend, threads)
    return _loaded[key]


class RunTranslator:
    """A run's :class:`~tarjama.translate.types.Translator`: the model of :func:`load_translator`, loaded on first use.

    Its identity (``model``, ``backend``, a CTranslate2 conversion's ``quantization``) is known without loading;
    counting tokens or translating loads it, timed as the current run's ``model_load`` (nothing when this
    process already has it). Nothing to count or translate loads nothing.
    """

    def __init__(self, model: ResolvedModel, backend: str = DEFAULT_BACKEND, *, threads: int | None = None) -> None:
        if backend not in BACKENDS:
            raise InputError(f"unknown backend '{backend}' (choose from {', '.join(BACKENDS)})")
        self.model, self.backend, self.threads = model, backend, threads
        self._translator: Translator | None = None

    @cached_property
    def quantization(self) -> str | None:
        """A CTranslate2 model's weight type, from its conversion's marker (part of the memory keys)."""
        if self.backend != "ctranslate2":
            return None
        from tarjama.translate.backends.ctranslate2_backend import converted_quantization, find_converted

        return converted_quantization(find_converted(self.model))

    @property
    def loaded(self) -> Translator:
        """The model itself, loaded now if this process does not have it yet."""
        if self._translator is None:
            self._translator = load_translator(self.model, self.backend, threads=self.threads)
        return self._translator

    @property
    def max_source_tokens(self) -> int:
        """The model's position limit (loads the model)."""
        return self.loaded.max_source_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Each text's length in source tokens (loads the model when there is a text)."""
        return self.loaded.count_tokens(texts) if texts else []

    def translate(self, texts: Sequence[str], options: DecodingOptions,
                  progress: ProgressCallback | None = None, *, n_best: int = 1,
                  constraints: Sequence[Sequence[TermConstraint]] | None = None,
                  batching: BatchingOptions = DEFAULT_BATCHING) -> list[Translation]:
        """Translate with the model (loaded when there is a text)."""
        if not texts:
            return []
        return self.loaded.translate(texts, options, progress, n_best=n_best, constraints=constraints,
                                     batching=batching)


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
