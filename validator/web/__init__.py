"""`validator serve`: the checks in a local web page (optional extra: `pip install
"replica-clip-validator[web]"`).

    from validator.web import run_server
    run_server(settings, host="127.0.0.1", port=0, open_browser=False)

The page (static/) drops files onto the server; each upload is streamed into a private
temporary folder, checked in a worker pool (`jobs.py`, over `batch.check_one`), and its
progress, verdict, rules and the HTML report's timeline and frames (`render/html.py`, shown in
a sandboxed frame) come back as server-sent events.  "Fix it" runs `prepare` on the upload copy
and offers the result for download.  Nothing is fetched from or sent to anywhere but this
server: the page, its CSS and JavaScript ship in the package, and a Content-Security-Policy
tells the browser so.  The temporary folder is removed when the server stops.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError
from ..settings import Settings

MISSING_HINT = 'validator serve needs the web extra: pip install "replica-clip-validator[web]"'


def available() -> str | None:
    """None when the web stack imports, else the message saying what to install."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        return MISSING_HINT
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, port: int) -> set[str]:
    """The Host header values this server answers to (anything else is DNS rebinding)."""
    names = {host}
    if is_loopback(host):
        names |= {"localhost", "127.0.0.1"} if ":" not in host else {"localhost"}
    out = set()
    for n in names:
        n = f"[{n}]" if ":" in n else n
        out.add(f"{n}:{port}")
    return out


def run_server(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = True,
    max_upload_bytes: int | None = None,
    workers: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    on_ready: Callable[[str], None] | None = None,
    take_seconds: tuple[float, float] | None = None,
) -> int:
    """Serve until Ctrl-C (or SIGTERM); returns the exit code.  The temporary upload folder is
    removed on the way out, whatever stopped the server."""
    import uvicorn

    from ..cache import ReportCache
    from .app import DEFAULT_MAX_UPLOAD_BYTES, create_app
    from .jobs import JobManager

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(64)
    port = sock.getsockname()[1]
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    origin = f"http://{netloc}"
    token = secrets.token_urlsafe(24)
    url = f"{origin}/?t={token}"

    workdir = Path(tempfile.mkdtemp(prefix="validator-serve-"))
    os.chmod(workdir, 0o700)
    manager = None
    try:
        manager = JobManager(workdir, ReportCache(cache_dir), workers)
        app = create_app(
            base_settings=settings,
            manager=manager,
            token=token,
            allowed_hosts=allowed_hosts(host, port),
            origin=origin,
            max_upload_bytes=max_upload_bytes or DEFAULT_MAX_UPLOAD_BYTES,
            take_seconds=take_seconds,
        )
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        if not is_loopback(host):
            print(
                f"validator: warning: serving on {host}, which is not this machine's loopback "
                "address: anyone who can reach it and has the address below can upload files",
                file=sys.stderr,
            )
        print(f"validator: serving on {url}  (Ctrl-C to stop)", file=sys.stderr, flush=True)
        if on_ready:
            on_ready(url)
        if open_browser:
            threading.Thread(target=_open, args=(url,), daemon=True).start()
        # uvicorn stops on SIGINT/SIGTERM and re-raises the signal afterwards: both end here,
        # so the temporary folder is removed whichever stopped it.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    finally:
        sock.close()
        if manager is not None:
            manager.close()
        shutil.rmtree(workdir, ignore_errors=True)
    print("validator: stopped; temporary uploads removed", file=sys.stderr)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _open(url: str) -> None:
    import webbrowser

    try:
        webbrowser.open(url)
    except Exception:
        pass  # no browser: the address is printed
