"""Prefect settings tarjama runs with: no telemetry, a quiet terminal, a patient temporary server."""

from __future__ import annotations

import os

PRIVATE_DEFAULTS = {
    # Newsroom text and usage must never leave the machine.
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # A cold temporary server on a busy 2-core machine can take longer than Prefect's default.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}
# Run logs still reach the Prefect API and UI; only the terminal is spared them.
QUIET_CONSOLE = {"PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL"}


def prefect_environment(*, quiet: bool = True) -> dict[str, str]:
    """The environment variables tarjama sets for Prefect unless the user already set them."""
    return {**PRIVATE_DEFAULTS, **(QUIET_CONSOLE if quiet else {})}


def configure_prefect(*, quiet: bool = True) -> None:
    """Apply tarjama's defaults before Prefect reads its settings (explicit settings win)."""
    for name, value in prefect_environment(quiet=quiet).items():
        os.environ.setdefault(name, value)
