"""Prefect flows that orchestrate the tarjama library; no domain logic lives here.

Importing this package switches Prefect's telemetry off (unless the environment already says
otherwise) before Prefect reads its settings: newsroom runs must not report to anyone, however
the flows are started (CLI, Python, a deployment).
"""

from flows.settings import configure_prefect

configure_prefect(quiet=False)
