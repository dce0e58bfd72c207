"""Serving the studio: where it may listen, and the listening itself (uvicorn on a socket bound first).

Loopback by default. Any other address lets the network in, so it needs the operator's secret in the
environment (``TARJAMA_STUDIO_SECRET``); the studio then asks every request for it (see
:func:`tarjama.studio.app.create_app`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from collections.abc import Mapping

from tarjama.errors import InputError

SECRET_ENV = "TARJAMA_STUDIO_SECRET"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def is_any_address(host: str) -> bool:
    """Whether ``host`` listens on every address of the machine (0.0.0.0, ::): browsers reach it by many names."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


def bind_secret(host: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The operator's secret a studio listening on ``host`` requires (``None`` on loopback).

    A non-loopback host without ``TARJAMA_STUDIO_SECRET`` set is an :class:`InputError`.
    """
    environ = os.environ if environ is None else environ
    secret = environ.get(SECRET_ENV, "").strip() or None
    if is_loopback(host):
        return secret
    if secret is None:
        raise InputError(f"--host {host} lets other machines reach the studio: set {SECRET_ENV} to a secret of your "
                         f"own first (every request must then carry it), or leave --host at {DEFAULT_HOST}")
    if len(secret) < 16:
        raise InputError(f"{SECRET_ENV} is too short for a studio other machines reach: use 16 characters or more")
    return secret


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port`` (port 0: any free port); :class:`InputError` when it cannot."""
    ipv6 = ":" in host
    try:
        # "::" is every address, IPv4 too where the system can listen on both at once.
        return socket.create_server((host.strip("[]"), port), family=socket.AF_INET6 if ipv6 else socket.AF_INET,
                                    dualstack_ipv6=ipv6 and is_any_address(host) and socket.has_dualstack_ipv6())
    except (OSError, OverflowError) as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc}") from None


def address(host: str, port: int) -> str:
    """The studio's address as a browser takes it (an IPv6 host in brackets)."""
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}/"


def serve(app: object, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until Ctrl+C or SIGTERM, then return (uvicorn, quiet but for errors).

    Stopping is the normal end of a studio: uvicorn finishes the requests in flight, then hands the signal back
    as :class:`KeyboardInterrupt`, which ends here.
    """
    import uvicorn

    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
