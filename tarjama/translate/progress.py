"""A translation progress bar for terminals (rich); silent elsewhere."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tarjama.translate.types import ProgressCallback


@contextmanager
def progress_bar(total: int, description: str, *, enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """Yield a callback advancing a bar on stderr, or ``None`` when stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty() or total == 0:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda done: progress.advance(task, done)
