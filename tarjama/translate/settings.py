"""A run's settings: the model, backend, decoding and batching, glossary, strict mode, memory and threads.

The CLI builds one :class:`RunSettings`, the flows pass it (a Prefect parameter: plain fields only), and
the article steps read it. :meth:`RunSettings.fingerprint` is the one definition of the settings that change
the English: the memory keys its translations by it, and an inbox run compares it with a run record's
(:func:`recorded_fingerprint`) to see whether an article's outputs are current.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tarjama.errors import InputError
from tarjama.memory.store import default_memory_path
from tarjama.record.reader import RunRecordView
from tarjama.translate.registry import DEFAULT_MODEL, ResolvedModel, resolve_model
from tarjama.translate.types import (
    DEFAULT_BACKEND,
    DEFAULT_BATCHING,
    BatchingOptions,
    DecodingOptions,
    TermSearch,
)


class ModelIdentity(Protocol):
    """What a fingerprint takes of a model (a :class:`ResolvedModel`, or a test's stand-in)."""

    name: str
    revision: str | None

    @property
    def fingerprint(self) -> str:
        """The model's files as they are now."""
        ...


@dataclass(frozen=True)
class RunSettings:
    """How to translate: everything a run is told besides the article, the reference and the outputs folder."""

    model: str = DEFAULT_MODEL  # registry name, hub id or local directory
    revision: str | None = None
    backend: str = DEFAULT_BACKEND
    decoding: DecodingOptions = field(default_factory=DecodingOptions)
    batching: BatchingOptions = field(default_factory=BatchingOptions)
    glossary: Path | None = None
    strict_terms: bool = False
    memory: Path | None = None  # the memory file; ``None``: the one in the outputs folder
    use_memory: bool = True
    threads: int | None = None  # CPU threads for the model; ``None``: every core

    @classmethod
    def from_options(cls, *, beam_size: int | None = None, **fields: Any) -> RunSettings:
        """The settings of the command line's run options: ``fields`` are this class's, the rest keep their defaults.

        Only the beam of the decoding options is an option of the command line.
        """
        decoding = DecodingOptions() if beam_size is None else DecodingOptions(beam_size=beam_size)
        return cls(decoding=decoding, **fields)

    def resolve_model(self) -> ResolvedModel:
        """The model found on local disk (see :func:`~tarjama.translate.registry.resolve_model`)."""
        return resolve_model(self.model, self.revision)

    def memory_path(self, out_dir: Path) -> Path | None:
        """The memory a run writing to ``out_dir`` uses, or ``None`` without one."""
        if not self.use_memory:
            return None
        return self.memory or default_memory_path(Path(out_dir))

    def fingerprint(self, model: ModelIdentity, quantization: str | None = None) -> dict:
        """What, besides the sentence and its glossary terms, the English depends on.

        ``model`` is this run's model as resolved; ``quantization`` is a CTranslate2 model's weight type
        (a run record does not keep it). Batch sizes and threads change the speed, not the English: they
        stay out.
        """
        return _fingerprint(model.name, model.revision, model.fingerprint, self.backend, quantization,
                            self.decoding.to_json(), _strict_method(self.strict_terms, self.decoding.term_search))

    def for_deployment(self) -> dict:
        """The settings as a JSON parameter of a deployment, paths made absolute (its runs start elsewhere)."""
        parameter = asdict(self)
        for name in ("glossary", "memory"):
            path = getattr(self, name)
            parameter[name] = str(path.resolve()) if path is not None else None
        return parameter


def recorded_fingerprint(record: RunRecordView) -> dict | None:
    """The :meth:`RunSettings.fingerprint` of the settings a run record was written with; ``None`` without them.

    The record's ``decoding`` object also holds the batch sizes (see :meth:`DecodingOptions.to_json`),
    which are left out; it keeps no quantization.
    """
    model, decoding = record.model, record.decoding
    if model is None or decoding is None:
        return None  # a foreign record: translate again
    batch_sizes = DEFAULT_BATCHING.to_json().keys()
    options = {key: value for key, value in asdict(decoding).items() if value is not None and key not in batch_sizes}
    # A strict record names its term search; one written before constraint-aware decoding names none: positional.
    # A soft record names it only when it is not the default (as DecodingOptions.to_json writes it).
    try:
        method = TermSearch(options.pop("term_search", TermSearch.POSITIONAL if record.strict_terms
                                        else TermSearch.CONSTRAINED))
    except ValueError:
        return None  # a term search this tarjama does not know: translate again
    if method is not TermSearch.CONSTRAINED:
        options["term_search"] = str(method)
    return _fingerprint(model.name, model.revision, model.fingerprint, model.backend, None, options,
                        _strict_method(record.strict_terms, method))


def recorded_settings(record: RunRecordView, *, memory: Path | None = None) -> RunSettings:
    """The settings a run record was written with (the model by its recorded name, the glossary by its path).

    The recorded name resolves as the run's did (a folder's name is its path, a registry model's its hub id), so
    the memory's translations of that run are found again.

    ``memory`` is the memory to use (``None``: the outputs folder's). Batch sizes and threads keep their defaults:
    they change the speed, not the English. A record without its model is an :class:`InputError`.
    """
    model, decoding = record.model, record.decoding
    if model is None or not (model.path or model.name):
        raise InputError("the run record names no model: translate the article again", path=record.path)
    options: dict[str, Any] = {} if decoding is None else {
        key: value for key, value in asdict(decoding).items()
        if value is not None and key in DecodingOptions.__dataclass_fields__}
    if "term_search" in options:
        try:
            options["term_search"] = TermSearch(options["term_search"])
        except ValueError:
            raise InputError(f"the run record's term search '{options['term_search']}' is not one this tarjama "
                             "knows: translate the article again", path=record.path) from None
    glossary = record.glossary.path if record.glossary is not None else None
    return RunSettings(model=model.name or model.path or DEFAULT_MODEL, revision=model.revision,
                       backend=model.backend or DEFAULT_BACKEND, decoding=DecodingOptions(**options),
                       glossary=Path(glossary) if glossary else None, strict_terms=bool(record.strict_terms),
                       memory=memory)


def _strict_method(strict_terms: object, term_search: TermSearch) -> object:
    """The fingerprint's ``strict_terms``: false, or how strict mode decodes the terms in (a memory entry made by
    positional forcing, ``true`` in the keys of runs before constraint-aware decoding, is not reused)."""
    return f"strict:{term_search}" if strict_terms else strict_terms


def _fingerprint(model: object, revision: object, model_fingerprint: object, backend: object, quantization: object,
                 decoding: dict, strict_terms: object) -> dict:
    # These keys are hashed into every memory key: renaming one would orphan every stored translation.
    return {"model": model, "revision": revision, "model_fingerprint": model_fingerprint, "backend": backend,
            "quantization": quantization, "decoding": decoding, "strict_terms": strict_terms}
