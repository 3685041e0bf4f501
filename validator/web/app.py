"""The Starlette app: the page, its assets, the upload/fix/history API and the event stream.

Safety, in `Guard` (pure ASGI middleware, before any route):
- `Host` must be the address served (DNS rebinding: a foreign name resolving to 127.0.0.1 is
  refused);
- every state-changing request (POST, DELETE, ...) must come from the page itself: an `Origin`
  header, when sent, must be the served origin, and the per-run token must be in the
  `X-Validator-Token` header (a custom header a cross-origin page cannot send without a CORS
  preflight, which is never granted);
- the page and every read of the user's data (reports, events, downloads) need the token too
  (header or `t=`: the address `serve` prints carries it);
- every response carries a Content-Security-Policy that allows nothing but this server.
Uploads are streamed to a private folder, counted as they arrive and refused past the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from ..errors import SettingsError
from ..profiles import PROFILES
from ..settings import FAIL_ON, Settings
from . import live
from .jobs import Job, JobManager, prepared_name, settings_kwargs
from .live import LIVE_FPS

PLATFORM_LIMIT_BYTES = 750_000_000  # the platform's upload limit (MED005)
DEFAULT_MAX_UPLOAD_BYTES = 800_000_000  # the limit plus margin: MED005 should say "too big"
CHUNK = 1 << 16
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-src 'self'; media-src 'self' blob:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'; sandbox allow-same-origin"
)
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
# What a repair writes (web/worker.prepared_suffix): a clip's MP4, a photo's JPEG or PNG.
PREPARED_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".png": "image/png"}
SAFE_METHODS = {"GET", "HEAD"}
LIVE_PHASES = {"idle", "countdown", "speak", "listen"}
LIVE_MAX_BYTES = 2_000_000
SESSION_ID = re.compile(r"[A-Za-z0-9-]{1,40}")  # the page's names for a live session, an upload


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


class Guard:
    """Host, origin and token checks; security headers on every response."""

    def __init__(self, app: Any, allowed_hosts: set[str], origin: str, token: str):
        self.app = app
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.origins = {f"http://{h}" for h in self.allowed_hosts}
        self.origin = origin
        self.token = token

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "").lower()
        if host not in self.allowed_hosts:
            await _plain(send, 421, f"this server answers only to {self.origin} (Host {host!r})")
            return
        method = scope["method"]
        path = scope["path"]
        token_ok = self._token_ok(headers.get("x-validator-token"), scope)
        if method not in SAFE_METHODS:
            origin = headers.get("origin")
            site = headers.get("sec-fetch-site")
            if (origin is not None and origin.lower() not in self.origins) or (
                site is not None and site not in ("same-origin", "none")
            ):
                await _plain(send, 403, "cross-origin request refused")
                return
            if not self._token_ok(headers.get("x-validator-token"), None):
                await _plain(send, 403, "missing or wrong X-Validator-Token")
                return
        elif (path.startswith("/api/") or path == "/") and not token_ok:
            # The page itself too: another user or program on this machine cannot read this
            # run's token from it.
            await _plain(
                send, 403, "missing or wrong token: open the address `validator serve` printed"
            )
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                hs = list(message.get("headers", []))
                names = {k.lower() for k, _ in hs}
                extra = {
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"no-referrer",
                    b"cache-control": b"no-store",
                    b"cross-origin-resource-policy": b"same-origin",
                    b"cross-origin-opener-policy": b"same-origin",
                }
                if b"content-security-policy" not in names:
                    extra[b"content-security-policy"] = PAGE_CSP.encode()
                for k, v in extra.items():
                    if k not in names:
                        hs.append((k, v))
                message = {**message, "headers": hs}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _token_ok(self, header: str | None, scope: Any) -> bool:
        given = header
        if given is None and scope is not None:
            qs = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = (qs.get("t") or [None])[0]
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())


async def _plain(send: Any, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"x-content-type-options", b"nosniff"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def safe_name(raw: str | None) -> str:
    """The name to show for an upload: decoded, control characters removed, bounded.  It is
    only ever shown (escaped by the page), never used as a path."""
    from urllib.parse import unquote

    name = unquote(raw or "") if raw else ""
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = name.replace("/", "_").replace("\\", "_").strip() or "unnamed file"
    return name[:200]


def _suffix(name: str) -> str:
    """The upload copy keeps a plain extension (".mp4", ".jpg") and nothing else of the name."""
    m = re.search(r"\.([A-Za-z0-9]{1,5})$", name)
    return f".{m.group(1).lower()}" if m else ""


def _attachment(name: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "prepared.mp4"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def _json_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


@dataclass(frozen=True)
class WebState:
    """What the handlers share: the server's settings, the jobs, the token, the limits."""

    base_settings: Settings
    manager: JobManager
    token: str
    max_upload_bytes: int
    take_seconds: tuple[float, float] | None
    page: str  # index.html, with a {{CONFIG}} placeholder


def create_app(
    *,
    base_settings: Settings,
    manager: JobManager,
    token: str,
    allowed_hosts: set[str],
    origin: str,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    take_seconds: tuple[float, float] | None = None,
) -> Any:
    app = Starlette(routes=ROUTES, lifespan=_lifespan)
    app.state.web = WebState(
        base_settings=base_settings,
        manager=manager,
        token=token,
        max_upload_bytes=max_upload_bytes,
        take_seconds=take_seconds,
        page=_static("index.html").decode(),
    )
    return Guard(app, allowed_hosts, origin, token)


@asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    await _state(app).manager.start()
    yield


def _state(app: Any) -> WebState:
    return app.state.web


def _web(request: Request) -> WebState:
    return _state(request.app)


# --- the page and its assets ------------------------------------------------------------------


async def index(request: Request) -> Response:
    st = _web(request)
    base = st.base_settings
    config = {
        "token": st.token,
        "maxUploadBytes": st.max_upload_bytes,
        "platformLimitBytes": PLATFORM_LIMIT_BYTES,
        "profiles": list(PROFILES),
        "profile": base.profile,
        "failOn": base.fail_on,
        "select": list(base.select),
        "ignore": list(base.ignore),
        "workers": st.manager.workers,
        "takes": {
            name: list(st.take_seconds or (p.speaking_s, p.listening_s))
            for name, p in PROFILES.items()
        },
        "liveFps": LIVE_FPS,
    }
    # JSON in a data attribute, HTML-escaped: the page reads it with JSON.parse.
    body = st.page.replace("{{CONFIG}}", escape(json.dumps(config), quote=True))
    return HTMLResponse(body)


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ("app.js", "record.js", "app.css", "icon.svg"):
        return _not_found("not found")
    return Response(_static(name), media_type=STATIC_TYPES[Path(name).suffix])


async def favicon(request: Request) -> Response:
    return Response(_static("icon.svg"), media_type="image/svg+xml")


# --- uploads and jobs -------------------------------------------------------------------------


async def upload(request: Request) -> Response:
    st = _web(request)
    name = safe_name(request.headers.get("x-file-name"))
    settings = _request_settings(st, request)
    if isinstance(settings, Response):
        return settings
    limit_text = (
        f"{name}: larger than this page accepts ({st.max_upload_bytes / 1e6:.0f} MB); "
        f"the platform accepts at most {PLATFORM_LIMIT_BYTES / 1e6:.0f} MB per file"
    )
    length = request.headers.get("content-length")
    if length is not None:
        try:
            if int(length) > st.max_upload_bytes:
                return _json_error(413, limit_text)
        except ValueError:
            return _json_error(400, "bad Content-Length")
    if st.manager.closing:
        return _json_error(503, "the server is stopping")
    job_id, d = st.manager.new_job_dir()
    path = d / f"upload{_suffix(name)}"
    try:
        size, sha256 = await _receive(request, path, st.max_upload_bytes)
    except _TooBig:
        _rmtree(d)
        return _json_error(413, limit_text)
    except Exception:
        _rmtree(d)
        raise
    if size == 0:
        _rmtree(d)
        return _json_error(400, f"{name}: the file is empty")
    ref = request.query_params.get("ref")
    ref = ref if ref and SESSION_ID.fullmatch(ref) else None
    job = st.manager.submit(job_id, name, path, size, sha256, settings, ref)
    return JSONResponse(job.summary(), status_code=201)


async def _receive(request: Request, path: Path, limit: int) -> tuple[int, str]:
    """Stream the request body into `path`, counting as it arrives: (size, SHA-256).  Raises
    _TooBig past `limit` bytes."""
    h = hashlib.sha256()
    size = 0
    with open(path, "wb") as f:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _TooBig
            h.update(chunk)
            f.write(chunk)
    return size, h.hexdigest()


async def jobs(request: Request) -> Response:
    manager = _web(request).manager
    items = sorted(manager.jobs.values(), key=lambda j: j.created)
    return JSONResponse({"seq": manager.seq, "jobs": [j.summary() for j in items]})


def _job(request: Request) -> Job | None:
    return _web(request).manager.jobs.get(request.path_params["id"])


async def report_html(request: Request) -> Response:
    job = _job(request)
    if job is None or job.html is None:
        return _not_found("no such report")
    return HTMLResponse(job.html, headers={"content-security-policy": REPORT_CSP})


async def fix(request: Request) -> Response:
    job = _job(request)
    if job is None:
        return _json_error(404, "no such file")
    if job.path is None:
        return _json_error(409, f"{job.name}: from an earlier session; drop the file again")
    if job.state != "done" or not job.fixable:
        return _json_error(409, f"{job.name}: nothing here that preparing can repair")
    if job.fix_state == "running":
        return _json_error(409, f"{job.name}: already being repaired")
    _web(request).manager.start_fix(job)
    return JSONResponse(job.summary(), status_code=202)


async def download(request: Request) -> Response:
    job = _job(request)
    if job is None or job.fixed_path is None or not job.fixed_path.is_file():
        return _not_found("no repaired file")
    suffix = job.fixed_path.suffix
    if "." + request.path_params.get("ext", "") != suffix:
        return _not_found(f"no repaired file: this one is prepared{suffix}")
    return FileResponse(
        job.fixed_path,
        media_type=PREPARED_TYPES.get(suffix, "application/octet-stream"),
        headers={"content-disposition": _attachment(prepared_name(job.name, suffix))},
    )


async def clear(request: Request) -> Response:
    n = _web(request).manager.clear()
    return JSONResponse({"cleared": n})


# --- live readouts (Record mode) ----------------------------------------------------------------


async def _live_post(request: Request, fn: Any) -> Response:
    st = _web(request)
    sid = request.query_params.get("session", "")
    phase = request.query_params.get("phase", "idle")
    if not SESSION_ID.fullmatch(sid) or phase not in LIVE_PHASES:
        return _json_error(400, "bad live session or phase")
    settings = _request_settings(st, request)
    if isinstance(settings, Response):
        return settings
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > LIVE_MAX_BYTES:
            return _json_error(413, "a live frame or sound chunk is at most 2 MB")
    args: tuple[Any, ...] = (sid, bytes(body), phase, settings_kwargs(settings))
    if fn is live.frame:
        args += (_frame_time(request.query_params.get("t")),)
    res = await st.manager.live(fn, *args)
    if res is None:
        return JSONResponse({"busy": True}, status_code=503)
    return JSONResponse(res, status_code=400 if "error" in res else 200)


def _frame_time(raw: str | None) -> float | None:
    """The page's capture time of a frame (seconds, `t=`); None when absent or not a time."""
    try:
        t = float(raw) if raw else None
    except ValueError:
        return None
    return t if t is not None and 0.0 <= t < 1e7 else None


async def live_frame(request: Request) -> Response:
    return await _live_post(request, live.frame)


async def live_audio(request: Request) -> Response:
    return await _live_post(request, live.audio)


async def live_end(request: Request) -> Response:
    sid = request.query_params.get("session", "")
    await _web(request).manager.live(live.end, sid)
    return JSONResponse({"ended": True})


# --- the event stream ---------------------------------------------------------------------------


async def events(request: Request) -> Response:
    try:
        seq = int(request.headers.get("last-event-id") or request.query_params.get("since", 0))
    except ValueError:
        seq = 0
    return StreamingResponse(
        _event_stream(request, _web(request).manager, seq),
        media_type="text/event-stream",
        headers={"x-accel-buffering": "no"},
    )


async def _event_stream(request: Request, manager: JobManager, seq: int) -> AsyncIterator[str]:
    """Every event after `seq`, then each new one as it comes, until the page goes away or
    the server stops; a comment line every few seconds keeps proxies from closing it."""
    yield "retry: 1000\n\n"
    while not manager.closing:
        batch = manager.events_after(seq)
        for e in batch:
            seq = e["seq"]
            yield f"id: {seq}\nevent: {e['type']}\ndata: {json.dumps(e)}\n\n"
        if await request.is_disconnected():
            return
        await manager.wait_for_events(seq, timeout=5.0)
        if not batch and manager.seq <= seq:
            yield ": keep-alive\n\n"


ROUTES = [
    Route("/", index),
    Route("/favicon.ico", favicon),
    Route("/static/{name}", static),
    Route("/api/files", upload, methods=["POST"]),
    Route("/api/jobs", jobs),
    Route("/api/jobs/{id}/report.html", report_html),
    Route("/api/jobs/{id}/fix", fix, methods=["POST"]),
    Route("/api/jobs/{id}/prepared.{ext}", download),
    Route("/api/clear", clear, methods=["POST"]),
    Route("/api/events", events),
    Route("/api/live/frame", live_frame, methods=["POST"]),
    Route("/api/live/audio", live_audio, methods=["POST"]),
    Route("/api/live/end", live_end, methods=["POST"]),
]


class _TooBig(Exception):
    pass


def _rmtree(d: Path) -> None:
    shutil.rmtree(d, ignore_errors=True)


def _not_found(text: str) -> Response:
    return Response(f"{text}\n", 404, media_type="text/plain")


def _request_settings(st: WebState, request: Request) -> Settings | Response:
    """The settings a page request asks for, or the 400 answer saying why they are refused."""
    try:
        return _page_settings(st.base_settings, request.query_params)
    except SettingsError as e:
        return _json_error(400, str(e))


def _page_settings(base: Settings, query: Any) -> Settings:
    """The page's profile selector and "warnings fail" toggle over the server's settings."""
    changes: dict[str, Any] = {}
    profile = query.get("profile")
    if profile:
        if profile not in PROFILES:
            raise SettingsError(f"profile: {profile!r} is not one of {', '.join(PROFILES)}")
        changes["profile"] = profile
    fail_on = query.get("fail_on")
    if fail_on:
        if fail_on not in FAIL_ON:
            raise SettingsError(f"fail-on: {fail_on!r} is not one of {', '.join(FAIL_ON)}")
        changes["fail_on"] = fail_on
    return base.merged(**changes) if changes else base
