"""The temporary Prefect server of a ``tarjama`` process: it dies with the process, even on ``kill -9``.

Without ``PREFECT_API_URL``, Prefect starts a temporary server of its own as a plain child process,
and stops it from an ``atexit`` hook: a process killed with -9 never runs the hook, and the server
(about 200 MB) lives on, adopted by PID 1. tarjama therefore starts that server itself, with the
same command and settings Prefect uses, but asks Linux to kill it when its parent dies
(``PR_SET_PDEATHSIG``), and points the run at it. It boots while the model loads.

The server runs in a session of its own, so that Ctrl-C in the terminal reaches only ``tarjama``,
which stops the server at exit once its flow run is reported.

Linux only sends that signal when the *thread* that started the child ends: start the server
from the main thread. Elsewhere than Linux, Prefect's own temporary server is used as before.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flows.settings import PRIVATE_DEFAULTS
from tarjama.errors import InputError, RunError

_PR_SET_PDEATHSIG = 1
# What Prefect's own temporary server runs with: no UI, ephemeral services only.
_SERVER_ENVIRONMENT = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
_PORT_IN_USE = 3  # uvicorn's exit status when it cannot bind


def _die_with_parent(libc: ctypes.CDLL, parent: int) -> None:
    """In the child, before ``exec``: be killed when the parent ends (and if it already has, end now).

    ``libc`` is loaded by the parent: a forked child should not load libraries.
    """
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class TemporaryServer:
    """A Prefect API server, child of this process, on ``127.0.0.1:port``."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def api_url(self) -> str:
        """The ``PREFECT_API_URL`` of this server."""
        return f"http://127.0.0.1:{self.port}/api"

    @classmethod
    def start(cls) -> TemporaryServer:
        """Start the server process; it is not ready yet (see :meth:`wait_ready`)."""
        parent, libc = os.getpid(), ctypes.CDLL(None, use_errno=True)
        port = _free_port()
        command = [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
                   "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on"]
        # No telemetry from the server either (DO_NOT_TRACK, PREFECT_SERVER_ANALYTICS_ENABLED): the user's settings win.
        environment = {**PRIVATE_DEFAULTS, **os.environ, **_SERVER_ENVIRONMENT}
        # A session of its own: the terminal's Ctrl-C (SIGINT to the foreground process group) must not stop the
        # server while this process's Prefect engine still reports to it; the atexit hook stops it after.
        process = subprocess.Popen(command, env=environment, stdin=subprocess.DEVNULL, start_new_session=True,
                                   preexec_fn=lambda: _die_with_parent(libc, parent))  # noqa: PLW1509 - main thread
        return cls(process, port)

    def wait_ready(self, timeout: float) -> None:
        """Wait until the API answers its health check; start again on another port if this one was taken."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.process.poll()
            if status == _PORT_IN_USE:
                replacement = TemporaryServer.start()
                self.process, self.port = replacement.process, replacement.port
                continue
            if status is not None:
                raise RunError(f"the temporary Prefect server stopped at start (exit status {status}); "
                               "set PREFECT_API_URL to use a running Prefect server instead")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RunError(f"the temporary Prefect server did not start within {timeout:g} s (raise "
                       "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or set PREFECT_API_URL)")

    def stop(self) -> None:
        """Stop the server: politely, then for good."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class _Current:
    server: TemporaryServer | None = None


_current = _Current()  # one server per process, as Prefect's own


def _needs_own_server() -> bool:
    """No API URL is configured (environment or Prefect profile) and a temporary server is allowed."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return False
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    return not settings.api.url and settings.server.ephemeral.enabled


def _startup_timeout() -> float:
    from prefect.settings import get_current_settings

    return float(get_current_settings().server.ephemeral.startup_timeout_seconds)


def start_temporary_server() -> None:
    """Start this process's temporary server unless a Prefect API is configured; do not wait for it.

    Call it once the inputs are checked: the server boots while the caller loads the model, and
    the first flow run in :func:`connected` waits for it. One server per process, stopped at exit.
    """
    if not _needs_own_server():
        return
    if _current.server is None or _current.server.process.poll() is not None:
        _current.server = TemporaryServer.start()
        atexit.register(_current.server.stop)


@contextmanager
def connected() -> Iterator[None]:
    """Flow runs in this block use the temporary server, once it answers (if one was started)."""
    server = _current.server
    if server is None or not _needs_own_server():
        yield
        return
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    server.wait_ready(_startup_timeout())
    # Heartbeats let a lasting server tell a crashed run from a running one; this server dies with the run, so
    # they would tell no one anything, and stopping their thread holds every flow run's end for up to a second.
    with temporary_settings(updates={PREFECT_API_URL: server.api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def check_schedule(cron: str | None) -> None:
    """Fail before serving when ``cron`` is not a cron schedule, or no Prefect server is set to serve against."""
    if cron:
        from prefect.client.schemas.schedules import CronSchedule

        try:
            CronSchedule(cron=cron)
        except ValueError:  # pydantic's ValidationError is a ValueError
            raise InputError(f"not a cron schedule: '{cron}' (five fields, e.g. \"*/10 * * * *\")") from None
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise InputError("schedules need a Prefect server: start one with `prefect server start --host 127.0.0.1` "
                         "and set PREFECT_API_URL=http://127.0.0.1:4200/api (another port: see docs/operations.md, "
                         "Scheduled inbox runs)")
