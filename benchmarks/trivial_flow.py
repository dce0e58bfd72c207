"""Prefect's floor: a flow that does nothing, run as a script (what any Prefect run pays before its work).

    .venv/bin/python benchmarks/trivial_flow.py

``benchmarks/rerun.py`` times ``tarjama translate`` against this. Telemetry off, as tarjama runs Prefect.
"""

import os

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow  # the settings above are read when Prefect is imported


@flow
def trivial() -> int:
    """Nothing: the run's cost is Prefect's own."""
    return 1


if __name__ == "__main__":
    trivial()
