"""The studio's web application: pages and a JSON API over a :class:`~tarjama.studio.articles.Studio`.

Safe by default: every request's Host must be the studio's own (no DNS rebinding), and every write carries the
session token that each page embeds (``<meta name="tarjama-token">``, sent back as ``X-Tarjama-Token``). Errors
are JSON ``{"error": …}``, never a traceback. Templates autoescape: no Arabic, glossary text or edit becomes HTML.
"""

from __future__ import annotations

import json
import secrets
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from tarjama.errors import InputError, TarjamaError
from tarjama.memory.store import check_memory
from tarjama.publish.escaping import spans_of
from tarjama.record.labels import flag_label, how_label
from tarjama.studio.articles import NotFoundError, NothingToUndoError, StaleVersionError, Studio, StudioSegment
from tarjama.studio.model import ModelChoice, StudioModel
from tarjama.studio.server import DEFAULT_HOST, DEFAULT_PORT, LOOPBACK_NAMES, is_any_address, is_loopback
from tarjama.translate.settings import RunSettings

TOKEN_HEADER = "X-Tarjama-Token"
SECRET_COOKIE = "tarjama-studio-secret"
_HERE = Path(__file__).parent
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY_BYTES = 1_000_000  # an article's longest English is a few kilobytes: anything near this is no edit


def allowed_hosts(host: str, port: int) -> frozenset[str] | None:
    """The Host headers the studio answers: its own host and port (and the loopback's other names on loopback).

    ``None`` (any Host) for a studio listening on every address: browsers then reach it by names it cannot know,
    and it asks every request for the operator's secret, which a rebound page does not have.
    """
    if is_any_address(host):
        return None
    names = {host}
    if is_loopback(host):
        names.update(LOOPBACK_NAMES)
    return frozenset(f"[{name}]:{port}" if ":" in name and not name.startswith("[") else f"{name}:{port}"
                     for name in names)


def create_app(out_dir: Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None,
               secret: str | None = None, settings: RunSettings | None = None, models: ModelChoice | None = None,
               memory_path: Path | None = None) -> Starlette:
    """The studio over the articles published in ``out_dir``, answering as ``host:port``.

    ``token`` is the session's write token (a fresh random one by default). ``secret`` (the operator's, for a
    studio other machines reach) is then asked of every request: once as ``?secret=…``, which sets a cookie,
    or in that cookie. The model's alternatives come from ``models`` (by default: from the model each article's
    run recorded), or from ``settings`` (one model and glossary for every article) when given.
    An ``out_dir`` that is not a folder is an :class:`InputError`.
    """
    if not Path(out_dir).is_dir():
        raise InputError("is not a folder of published articles", path=out_dir)
    studio = Studio(Path(out_dir), memory_path)
    if studio.memory_path.exists():
        check_memory(studio.memory_path)  # a damaged memory stops the start, not every page after it
    models = models or ModelChoice(settings=settings)
    token = token or secrets.token_urlsafe(32)
    pages = _Endpoints(studio, StudioModel(models), token)
    hosts = allowed_hosts(host, port)

    async def guard(request: Request, call_next: RequestResponseEndpoint) -> Response:
        if hosts is not None and request.headers.get("host", "") not in hosts:
            return _error(403, "this studio answers only requests addressed to its own host and port")
        offered = request.query_params.get("secret", "")
        if secret is not None and not (_same(offered, secret) or _same(request.cookies.get(SECRET_COOKIE, ""), secret)):
            return _error(403, "this studio needs its operator's secret: open it once as /?secret=…")
        if request.method not in _SAFE_METHODS and not _same(request.headers.get(TOKEN_HEADER, ""), token):
            return _error(403, f"a write needs the page's token in the {TOKEN_HEADER} header")
        if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
            return _error(413, f"the body is over {MAX_BODY_BYTES:,} bytes: no segment's English is that long")
        try:
            response = await call_next(request)
        except Exception as exc:  # noqa: BLE001 (the edge: one line in the terminal, JSON for the page)
            print(f"studio: {request.method} {request.url.path} failed: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            return _error(500, f"the studio could not answer: {type(exc).__name__}: {exc}")
        if secret is not None and _same(offered, secret):
            response.set_cookie(SECRET_COOKIE, secret, httponly=True, samesite="strict")
        return response

    segment = "/api/articles/{stem}/segments/{segment}"
    routes = [
        Route("/", pages.list_page),
        Route("/articles/{stem}", pages.article_page),
        Route("/api/articles", pages.list_api),
        Route("/api/articles/{stem}", pages.article_api),
        Route(segment, pages.confirm_api, methods=["PUT"]),
        Route(f"{segment}/check", pages.check_api, methods=["POST"]),
        Route(f"{segment}/alternatives", pages.alternatives_api, methods=["POST"]),
        Route(f"{segment}/fuzzy", pages.fuzzy_api),
        Route("/api/articles/{stem}/undo", pages.undo_api, methods=["POST"]),
        Route("/api/articles/{stem}/publish", pages.publish_api, methods=["POST"]),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    # No handler for Exception: Starlette would print its traceback after answering; the guard answers it instead.
    handlers = {HTTPException: _http_error, NotFoundError: _not_found, BodyTooLargeError: _too_large,
                InputError: _bad_request,
                TarjamaError: _failed}
    app = Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=guard)],
                    exception_handlers=handlers)
    app.state.studio, app.state.token = pages.studio, token
    app.state.model = pages.model
    return app


class _Endpoints:
    """The studio's pages and API over one :class:`Studio`, its model (loaded on first use) and its token."""

    def __init__(self, studio: Studio, model: StudioModel, token: str) -> None:
        self.studio, self.model, self.token = studio, model, token
        environment = jinja2.Environment(loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True,
                                         undefined=jinja2.StrictUndefined)
        environment.globals.update(arabic_pieces=arabic_pieces, flag_label=flag_label, how_label=how_label)
        environment.filters.update(when=shown_time, model_name=shown_model)
        self.templates = Jinja2Templates(env=environment)

    def list_page(self, request: Request) -> Response:
        return self.templates.TemplateResponse(request, "index.html",
                                               {"token": self.token, "articles": self.studio.summaries()})

    def article_page(self, request: Request) -> Response:
        article = self.studio.article(request.path_params["stem"])
        return self.templates.TemplateResponse(request, "article.html", {"token": self.token, "article": article})

    def list_api(self, request: Request) -> Response:
        return JSONResponse({"articles": [asdict(s) for s in self.studio.summaries()]})

    def article_api(self, request: Request) -> Response:
        article = self.studio.article(request.path_params["stem"])
        return JSONResponse({"stem": article.stem, "segments": [asdict(s) for s in article.segments]})

    async def confirm_api(self, request: Request) -> Response:
        target, version = _confirm_body(await _body(request))
        try:
            # In a worker thread: a confirm may wait for the memory's write lock, and the other tabs must not.
            segment = await run_in_threadpool(self.studio.confirm, request.path_params["stem"],
                                              request.path_params["segment"], target, version)
        except StaleVersionError as stale:
            return JSONResponse({"error": str(stale), "yours": {"target": target, "version": version},
                                 "current": asdict(stale.current)}, status_code=409)
        return JSONResponse(asdict(segment))

    async def check_api(self, request: Request) -> Response:
        target = _check_body(await _body(request))
        check = await run_in_threadpool(self.studio.check, request.path_params["stem"], request.path_params["segment"],
                                        target)
        return JSONResponse(asdict(check))

    def undo_api(self, request: Request) -> Response:
        try:
            undone = self.studio.undo(request.path_params["stem"])
        except StaleVersionError as stale:
            return JSONResponse({"error": str(stale), "current": asdict(stale.current)}, status_code=409)
        except NothingToUndoError as nothing:
            return _error(409, str(nothing))
        return JSONResponse(asdict(undone))

    def alternatives_api(self, request: Request) -> Response:
        # A plain function: Starlette runs it in a worker thread, so decoding never blocks the other requests.
        stem, segment_id = request.path_params["stem"], request.path_params["segment"]
        segment = self.studio.segment(stem, segment_id)
        recorded = self.studio.settings_of(self.studio.record(stem), need_glossary=not self.model.choice.own_glossary)
        alternatives = self.model.alternatives(segment, recorded)
        return JSONResponse({"alternatives": [asdict(a) for a in alternatives]})

    def fuzzy_api(self, request: Request) -> Response:
        matches = self.studio.fuzzy(request.path_params["stem"], request.path_params["segment"])
        return JSONResponse({"matches": [asdict(m) for m in matches]})

    def publish_api(self, request: Request) -> Response:
        published = self.studio.publish(request.path_params["stem"])
        return JSONResponse({**asdict(published), "created_shown": shown_time(published.created)})


def _same(offered: str, expected: str) -> bool:
    """A constant-time comparison of a token or secret."""
    return secrets.compare_digest(offered.encode(), expected.encode())


def arabic_pieces(segment: StudioSegment) -> list[tuple[str, int | None]]:
    """The segment's Arabic cut at its glossary terms, for the page to mark: ``(text, index of the term or None)``."""
    return spans_of(segment.source, [(t.start, t.end, index) for index, t in enumerate(segment.terms)
                                     if t.start is not None and t.end is not None])


def shown_time(iso: str | None) -> str:
    """A record's ISO 8601 time as a page shows it, in UTC to the minute ("2026-12-02 05:32 UTC")."""
    if not iso:
        return "(time not recorded)"
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M") + (" UTC" if moment.tzinfo is not None else "")


def shown_model(name: str | None) -> str:
    """A model as a page names it: a hub id as it is, a local folder by its own name (the path is its tooltip)."""
    if not name:
        return "(model not recorded)"
    return Path(name).name if name.startswith(("/", ".", "~")) else name


async def _body(request: Request) -> bytes:
    """The request's body, refused past :data:`MAX_BODY_BYTES` (a body sent without its length included)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BodyTooLargeError(f"the body is over {MAX_BODY_BYTES:,} bytes: no segment's English is that long")
    return bytes(body)


class BodyTooLargeError(InputError):
    """A request body past :data:`MAX_BODY_BYTES`."""


def _json_object(body: bytes, shape: str) -> dict:
    """The JSON object of a request's body; :class:`InputError` naming the expected ``shape`` for anything else."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InputError(f"the body is not JSON: send {shape}") from None
    if not isinstance(data, dict):
        raise InputError(f"the body must be a JSON object: {shape}")
    return data


def _confirm_body(body: bytes) -> tuple[str, int]:
    """``target`` and ``version`` of a confirm's JSON body; :class:`InputError` for anything else."""
    shape = '{"target": "…", "version": N}'
    data = _json_object(body, shape)
    if not isinstance(data.get("target"), str) or type(data.get("version")) is not int:
        raise InputError(f"the body must be {shape}: a text and a whole number")
    return data["target"], data["version"]


def _check_body(body: bytes) -> str:
    """``target`` of a check's JSON body; :class:`InputError` for anything else."""
    shape = '{"target": "…"}'
    target = _json_object(body, shape).get("target")
    if not isinstance(target, str):
        raise InputError(f"the body must be {shape}: a text")
    return target


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        return await _failed(request, exc)
    return _error(exc.status_code, str(exc.detail))


async def _too_large(request: Request, exc: Exception) -> Response:
    return _error(413, str(exc))


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(404, str(exc))


async def _bad_request(request: Request, exc: Exception) -> Response:
    return _error(400, exc.describe() if isinstance(exc, TarjamaError) else str(exc))


async def _failed(request: Request, exc: Exception) -> Response:
    message = exc.describe() if isinstance(exc, TarjamaError) else f"{type(exc).__name__}: {exc}"
    return _error(500, f"the studio could not answer: {message.splitlines()[0] if message else type(exc).__name__}")
