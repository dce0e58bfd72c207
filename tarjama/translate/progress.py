"""A run's progress through its model passes: one count, shown by a terminal bar (rich) or any other display.

:class:`RunProgress` is the one implementation of the :class:`~tarjama.translate.types.Progress` protocol:
it counts model inputs over every pass (the first pass, then strict mode's re-decoding), lets the total
grow when a pass is found to be needed, and never reads complete before :meth:`RunProgress.finish`.
Displays only draw the :class:`ProgressView` they are given.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tarjama.translate.types import Pass

if TYPE_CHECKING:
    from rich.console import Console

# Shown while work remains however far the count has got: int() of it is one less than the total.
_NOT_YET = 1e-6


@dataclass(frozen=True)
class ProgressView:
    """What a display shows: the run, the pass under way, model inputs done of all known, and whether it is over."""

    description: str
    current: Pass | None
    done: float
    total: int
    finished: bool

    @property
    def label(self) -> str:
        """The bar's text: the pass (``done`` once finished), then the run (cut first on a narrow terminal)."""
        state = "done" if self.finished else str(self.current or "starting")
        return f"{state} · {self.description}"

    @property
    def percent(self) -> float:
        """How far the run is, 0–100; 100 only once finished."""
        if self.finished:
            return 100.0
        return 100.0 * self.done / self.total if self.total else 0.0


ProgressDisplay = Callable[[ProgressView], None]
"""Draws a run's progress; called on every change (from the thread that decodes)."""


class RunProgress:
    """Counts a run's model inputs over all its passes into one figure that reads complete only at the end.

    ``planned`` first-pass inputs are known ahead (an article run translated in chunks plans them all, so
    the total does not grow chunk by chunk); any other pass adds its inputs to the total when it starts.
    """

    def __init__(self, description: str, planned: int = 0, displays: Sequence[ProgressDisplay] = ()) -> None:
        self.description = description
        self._planned_first = planned
        self._started_first = 0
        self._other = 0  # inputs of passes that are not first passes
        self._done = 0.0
        self._current: Pass | None = None
        self._finished = False
        self._displays = tuple(displays)
        self._lock = threading.Lock()  # a backend may report from its engine's threads

    @property
    def total(self) -> int:
        """Every model input known so far: planned or started first passes, and the later passes started."""
        return max(self._planned_first, self._started_first) + self._other

    def start_pass(self, kind: Pass, inputs: int) -> None:
        """A model pass over ``inputs`` inputs begins: named in the bar, and counted unless it was planned."""
        with self._lock:
            if kind.first:
                self._started_first += inputs
            else:
                self._other += inputs
            self._current = kind
            view = self._view()
        self._show(view)

    def advance(self, inputs: float) -> None:
        """``inputs`` more model inputs are done (fractions while a batch decodes)."""
        with self._lock:
            self._done += inputs
            view = self._view()
        self._show(view)

    def finish(self) -> None:
        """The run's model work is over: the count reads complete."""
        with self._lock:
            self._finished = True
            self._done = self.total
            view = self._view()
        self._show(view)

    def view(self) -> ProgressView:
        """What the displays are shown now."""
        with self._lock:
            return self._view()

    def _view(self) -> ProgressView:
        total = self.total
        done = min(self._done, total) if self._finished else max(0.0, min(self._done, total - _NOT_YET))
        return ProgressView(self.description, self._current, done, total, self._finished)

    def _show(self, view: ProgressView) -> None:
        for display in self._displays:
            display(view)


@contextmanager
def progress_bar(total: int, description: str, *, enabled: bool = True,
                 displays: Sequence[ProgressDisplay] = ()) -> Iterator[RunProgress | None]:
    """A :class:`RunProgress` of ``total`` planned first-pass inputs, finished when the block ends without error.

    It draws a bar on stderr when ``enabled`` and stderr is a terminal, and on the other ``displays``
    given (e.g. a Prefect progress artifact); ``None`` when there is nothing to show or count.
    """
    on_terminal = enabled and sys.stderr.isatty()
    if total == 0 or not (on_terminal or displays):
        yield None
        return
    if not on_terminal:
        progress = RunProgress(description, total, displays)
        yield progress
        progress.finish()
        return
    from rich.console import Console

    with terminal_bar(Console(stderr=True)) as bar:
        progress = RunProgress(description, total, (bar, *displays))
        bar(progress.view())  # drawn at once, before the first batch ends
        yield progress
        progress.finish()


@contextmanager
def terminal_bar(console: Console) -> Iterator[ProgressDisplay]:
    """A rich bar on ``console`` that draws the views it is given."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Column

    # Elapsed, not remaining: a pass found to be needed later makes any estimate of the rest a guess.
    # On a narrow terminal the text is cut, never the count.
    with Progress(TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
                  BarColumn(bar_width=None, table_column=Column(ratio=1)), MofNCompleteColumn(), TextColumn("inputs"),
                  TimeElapsedColumn(), console=console, transient=False, expand=True) as bar:
        task = bar.add_task("starting", total=None)
        labels: list[str] = []

        def draw(view: ProgressView) -> None:
            # A new pass is drawn at once; the count moves with rich's own refresh (ten times a second).
            new_label = not labels or labels[-1] != view.label
            if new_label:
                labels.append(view.label)
            bar.update(task, description=view.label, completed=view.done, total=view.total, refresh=new_label)

        yield draw
