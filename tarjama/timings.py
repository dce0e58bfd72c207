"""Where a run's time went: the seven measured stages, what measures them, and when the run started.

A run keeps one :class:`Timings`. Each step measures its stage with :func:`timed`; code far below the steps
(the pipeline's engine calls, a model's lazy load) measures into the run's timings made current with
:meth:`Timings.recording`, so that no signature in between has to carry them. Measurements nest: a model
loaded inside a translation is counted as ``model_load`` and not also as ``translate``. Whatever no stage
measured is ``overhead`` (Prefect, imports, start-up), so the parts always add up to ``total``, the wall time
from the run's start (an epoch time, which can travel to another process) to the moment the record is written.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")


class Stage(StrEnum):
    """A measured part of a run (the run record's ``timings`` keys, less ``overhead`` and ``total``)."""

    READ_SEGMENT = "read_segment"  # reading the article and cutting it into sentences
    TERMS = "terms"  # loading the glossary and finding its terms
    MODEL_LOAD = "model_load"  # loading the model in this run (0 when the process already had it)
    TRANSLATE = "translate"  # the model's first pass (in strict mode, the constraint-aware decoding of the terms)
    ENFORCE = "enforce"  # getting the terms in: hypothesis choice, the fall-back's re-decoding, last-resort placement
    SCORE = "score"  # building the record and its scores
    PUBLISH = "publish"  # writing the outputs


def _stopwatch() -> float:
    """Seconds for durations: monotonic and fine-grained."""
    return time.perf_counter()


def _wall_clock() -> float:
    """Seconds since the epoch: a run's start, which another process can compare with its own clock."""
    return time.time()


@dataclass
class _Open:
    """A measurement under way: its stage, when it began, and the seconds of the measurements inside it."""

    stage: Stage
    start: float
    inner: float = 0.0


@dataclass
class Timings:
    """One run's seconds per :class:`Stage`, and when the run started (seconds since the epoch).

    Plain fields only: a flow takes it as a parameter (what the CLI timed before the flow began).
    """

    started_at: float = field(default_factory=lambda: _wall_clock())  # noqa: PLW0108 - a test's clock, looked up
    seconds: dict[Stage, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._open: list[_Open] = []  # not a field: measurements under way stay in their process

    @classmethod
    def since_process_start(cls) -> Timings:
        """Timings of a run that began when this process did (the interpreter's start-up and imports count)."""
        started = process_started_at()
        return cls() if started is None else cls(started_at=started)

    @classmethod
    def accounted(cls, seconds: Mapping[Stage, float], overhead: float = 0.0) -> Timings:
        """Timings of work already done, not in one stretch (an article's share of a pooled folder run).

        The parts are ``seconds``; the start is put where ``total`` comes to their sum plus ``overhead``; what is
        measured from now on is added as usual, and the time it takes to the total.
        """
        return cls(started_at=_wall_clock() - sum(seconds.values()) - overhead, seconds=dict(seconds))

    @contextmanager
    def measure(self, stage: Stage) -> Iterator[None]:
        """Count the time of the ``with`` block as ``stage`` (less what measurements inside it count)."""
        measurement = _Open(stage, _stopwatch())
        self._open.append(measurement)
        try:
            yield
        finally:
            self._open.remove(measurement)
            elapsed = _stopwatch() - measurement.start
            self.seconds[stage] = self.seconds.get(stage, 0.0) + elapsed - measurement.inner
            if self._open:
                self._open[-1].inner += elapsed

    @contextmanager
    def recording(self) -> Iterator[Timings]:
        """Make these the current run's timings for :func:`timed` calls in the ``with`` block (this thread)."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)

    def parts(self) -> dict[Stage, float]:
        """Seconds per stage until now, measurements under way included (each stage present)."""
        now = _stopwatch()
        parts = {stage: self.seconds.get(stage, 0.0) for stage in Stage}
        inside = 0.0  # the elapsed time of the open measurement within the current one
        for measurement in reversed(self._open):
            elapsed = now - measurement.start
            parts[measurement.stage] += elapsed - measurement.inner - inside
            inside = elapsed
        return parts

    def unmeasured(self) -> float:
        """The seconds since the start that no stage measured (what ``to_json`` calls ``overhead``)."""
        return max(0.0, _wall_clock() - self.started_at - sum(self.parts().values()))

    def to_json(self) -> dict[str, float]:
        """The run record's ``timings``: each stage, ``overhead`` (the rest) and ``total`` (the wall time so far)."""
        parts = self.parts()
        measured = sum(parts.values())
        # A clock stepped back cannot make the parts exceed the whole: total is never less than what was measured.
        total = max(_wall_clock() - self.started_at, measured)
        return {**{stage.value: round(seconds, 4) for stage, seconds in parts.items()},
                "overhead": round(total - measured, 4), "total": round(total, 4)}


_current: ContextVar[Timings | None] = ContextVar("tarjama_timings", default=None)


def timed(stage: Stage, timings: Timings | None = None) -> AbstractContextManager[None]:
    """Measure the ``with`` block as ``stage`` into ``timings``, or the current run's (:meth:`Timings.recording`).

    Without either it measures nothing: code run outside a timed run (a test, the bench) is not slowed.
    """
    timings = timings if timings is not None else _current.get()
    return nullcontext() if timings is None else timings.measure(stage)


def timed_as(stage: Stage) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Decorate a function so that each call is measured as ``stage`` into the current run's timings (if any)."""
    def decorate(function: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(function)
        def measured(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            with timed(stage):
                return function(*args, **kwargs)
        return measured
    return decorate


def process_started_at() -> float | None:
    """When this process started, in seconds since the epoch; ``None`` where the system does not say (not Linux)."""
    try:
        stat = Path("/proc/self/stat").read_text(encoding="ascii")
        # Fields after the command name (in parentheses, which may hold spaces); the 22nd field is the start time,
        # in clock ticks since boot.
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return _wall_clock() - age if age >= 0 else None
