"""The studio's web application: pages and a JSON API over a :class:`~tarjama.studio.articles.Studio`.

Safe by default: every request's Host must be the studio's own (no DNS rebinding), and every write carries the
session token that each page embeds (``<meta name="tarjama-token">``, sent back as ``X-Tarjama-Token``). Errors
are JSON ``{"error": …}``, never a traceback. Templates autoescape: no Arabic, glossary text or edit becomes HTML.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from tarjama.errors import InputError, TarjamaError
from tarjama.studio.articles import NotFoundError, StaleVersionError, Studio
from tarjama.studio.model import StudioModel
from tarjama.studio.server import DEFAULT_HOST, DEFAULT_PORT
from tarjama.translate.settings import RunSettings

TOKEN_HEADER = "X-Tarjama-Token"
SECRET_COOKIE = "tarjama-studio-secret"
_HERE = Path(__file__).parent
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The Host headers the studio answers: its own host and port (and the loopback's other names on loopback)."""
    names = {host, f"[{host}]" if ":" in host and not host.startswith("[") else host}
    if host in _LOOPBACK_NAMES:
        names.update(_LOOPBACK_NAMES)
    return frozenset(f"{name}:{port}" for name in names)


def create_app(out_dir: Path, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None,
               secret: str | None = None, settings: RunSettings | None = None,
               memory_path: Path | None = None) -> Starlette:
    """The studio over the articles published in ``out_dir``, answering as ``host:port``.

    ``token`` is the session's write token (a fresh random one by default). ``secret`` (the operator's, for a
    studio other machines reach) is then asked of every request: once as ``?secret=…``, which sets a cookie,
    or in that cookie. ``settings`` are the model, backend and glossary for the model's alternatives.
    An ``out_dir`` that is not a folder is an :class:`InputError`.
    """
    if not Path(out_dir).is_dir():
        raise InputError("is not a folder of published articles", path=out_dir)
    studio = Studio(Path(out_dir), memory_path)
    settings = settings or RunSettings()
    model = StudioModel(settings)  # loads the model on the first request for alternatives, then keeps it
    token = token or secrets.token_urlsafe(32)
    hosts = allowed_hosts(host, port)
    templates = Jinja2Templates(env=jinja2.Environment(loader=jinja2.FileSystemLoader(_HERE / "templates"),
                                                       autoescape=True, undefined=jinja2.StrictUndefined))

    async def guard(request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.headers.get("host", "") not in hosts:
            return _error(403, "this studio answers only requests addressed to its own host and port")
        offered = request.query_params.get("secret")
        if secret is not None and not _same(offered or request.cookies.get(SECRET_COOKIE, ""), secret):
            return _error(403, "this studio needs its operator's secret: open it once as /?secret=…")
        if request.method not in _SAFE_METHODS and not _same(request.headers.get(TOKEN_HEADER, ""), token):
            return _error(403, f"a write needs the page's token in the {TOKEN_HEADER} header")
        response = await call_next(request)
        if secret is not None and offered:
            response.set_cookie(SECRET_COOKIE, secret, httponly=True, samesite="strict")
        return response

    def list_page(request: Request) -> Response:
        return templates.TemplateResponse(request, "index.html", {"token": token, "articles": studio.summaries()})

    def article_page(request: Request) -> Response:
        article = studio.article(request.path_params["stem"])
        return templates.TemplateResponse(request, "article.html", {"token": token, "article": article})

    def list_api(request: Request) -> Response:
        return JSONResponse({"articles": [asdict(s) for s in studio.summaries()]})

    def article_api(request: Request) -> Response:
        article = studio.article(request.path_params["stem"])
        return JSONResponse({"stem": article.stem, "segments": [asdict(s) for s in article.segments]})

    async def confirm_api(request: Request) -> Response:
        target, version = _confirm_body(await request.body())
        try:
            segment = studio.confirm(request.path_params["stem"], request.path_params["segment"], target, version)
        except StaleVersionError as stale:
            return JSONResponse({"error": str(stale), "yours": {"target": target, "version": version},
                                 "current": asdict(stale.current)}, status_code=409)
        return JSONResponse(asdict(segment))

    def alternatives_api(request: Request) -> Response:
        # A plain function: Starlette runs it in a worker thread, so decoding never blocks the other requests.
        stem, segment_id = request.path_params["stem"], request.path_params["segment"]
        segment = studio.segment(stem, segment_id)
        alternatives = model.alternatives(segment, studio.glossary_of(stem))
        return JSONResponse({"alternatives": [asdict(a) for a in alternatives]})

    def fuzzy_api(request: Request) -> Response:
        matches = studio.fuzzy(request.path_params["stem"], request.path_params["segment"])
        return JSONResponse({"matches": [asdict(m) for m in matches]})

    def publish_api(request: Request) -> Response:
        return JSONResponse(asdict(studio.publish(request.path_params["stem"])))

    routes = [
        Route("/", list_page),
        Route("/articles/{stem}", article_page),
        Route("/api/articles", list_api),
        Route("/api/articles/{stem}", article_api),
        Route("/api/articles/{stem}/segments/{segment}", confirm_api, methods=["PUT"]),
        Route("/api/articles/{stem}/segments/{segment}/alternatives", alternatives_api, methods=["POST"]),
        Route("/api/articles/{stem}/segments/{segment}/fuzzy", fuzzy_api),
        Route("/api/articles/{stem}/publish", publish_api, methods=["POST"]),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    handlers = {HTTPException: _http_error, NotFoundError: _not_found, InputError: _bad_request,
                TarjamaError: _failed, Exception: _failed}
    app = Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=guard)],
                    exception_handlers=handlers)
    app.state.studio, app.state.token, app.state.settings = studio, token, settings
    app.state.model = model
    return app


def _same(offered: str, expected: str) -> bool:
    """A constant-time comparison of a token or secret."""
    return secrets.compare_digest(offered.encode(), expected.encode())


def _confirm_body(body: bytes) -> tuple[str, int]:
    """``target`` and ``version`` of a confirm's JSON body; :class:`InputError` for anything else."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InputError('the body is not JSON: send {"target": "…", "version": N}') from None
    if not isinstance(data, dict) or not isinstance(data.get("target"), str) or \
            type(data.get("version")) is not int:
        raise InputError('the body must be {"target": "…", "version": N}: a text and a whole number')
    return data["target"], data["version"]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):
        return await _failed(request, exc)
    return _error(exc.status_code, str(exc.detail))


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(404, str(exc))


async def _bad_request(request: Request, exc: Exception) -> Response:
    return _error(400, exc.describe() if isinstance(exc, TarjamaError) else str(exc))


async def _failed(request: Request, exc: Exception) -> Response:
    message = exc.describe() if isinstance(exc, TarjamaError) else f"{type(exc).__name__}: {exc}"
    return _error(500, f"the studio could not answer: {message.splitlines()[0] if message else type(exc).__name__}")
