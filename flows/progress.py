"""A run's translation progress in the Prefect UI: a progress artifact that follows the library's count."""

from __future__ import annotations

import logging
import math
import re
import time
from uuid import UUID

from prefect.artifacts import create_progress_artifact, update_progress_artifact

from tarjama.translate.progress import ProgressView

_log = logging.getLogger(__name__)
# Each update is a call to the Prefect API from the decoding thread: a few a run, not one per step.
UPDATE_EVERY_SECONDS = 2.0


def artifact_key(kind: str, stem: str) -> str:
    """An article's artifact key, e.g. ``progress-crocus-city-hall-ar`` (Prefect allows a-z, digits and dashes)."""
    return f"{kind}-" + (re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "article")


class ProgressArtifact:
    """A :data:`~tarjama.translate.progress.ProgressDisplay` drawing on a Prefect progress artifact.

    Created with the run's first view; updated when the pass changes, when the run finishes, and otherwise
    at most every ``every`` seconds. Its description names the pass and the count, as the terminal bar does.
    """

    def __init__(self, key: str, *, every: float = UPDATE_EVERY_SECONDS) -> None:
        self.key, self.every = key, every
        self.artifact_id: UUID | None = None
        self._shown: tuple[object, bool] | None = None  # the pass and whether finished, as last sent
        self._sent_at = -math.inf
        self.failed = False  # the API refused once: no more tries in this run

    def __call__(self, view: ProgressView) -> None:
        """Send the view to the API, unless nothing but the count changed since a moment ago."""
        state = (view.current, view.finished)
        now = time.monotonic()
        if self.artifact_id is not None and state == self._shown and now - self._sent_at < self.every:
            return
        if self.failed:
            return
        description = f"{view.label}: {int(view.done)}/{view.total} model inputs"
        try:
            if self.artifact_id is None:
                self.artifact_id = create_progress_artifact(progress=view.percent, key=self.key,
                                                            description=description)
            else:
                update_progress_artifact(self.artifact_id, progress=view.percent, description=description)
        except Exception as exc:  # noqa: BLE001 - a display: the API's trouble must never fail the translation
            self.failed = True
            _log.warning("the Prefect UI's progress %s stops here: %s: %s", self.key, type(exc).__name__, exc)
            return
        self._shown, self._sent_at = state, now
