"""`validator serve`: a local web page that checks clips and photos as they are dropped on it."""

from __future__ import annotations

import argparse
import sys

from ._common import add_settings_options, settings_from_args

ORDER = 40


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="open a local web page that checks clips and photos as you drop them",
        description="Start a local web app (needs the web extra: pip install "
        '"replica-clip-validator[web]") and open the default browser on it. Files dropped on the '
        "page are checked on this machine; nothing is sent anywhere else. Ctrl-C stops it and "
        "removes the temporary uploads. Settings flags apply to every file checked (the page "
        "adds its own profile and warnings-fail choice).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.add_argument(
        "--max-upload-mb",
        type=float,
        default=800.0,
        metavar="MB",
        help="largest file accepted (default 800: the platform's 750 MB limit plus margin)",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="files checked in parallel worker processes (default: CPU count, at most 4)",
    )
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="report cache and history folder (default $XDG_CACHE_HOME/replica-clip-validator)",
    )
    p.add_argument(
        "--take-seconds",
        metavar="SPEAK,LISTEN",
        help="length of the Record mode's guided take (default: the profile's, e.g. 30,30; "
        "shorter takes are for practice and tests)",
    )
    add_settings_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError

    try:
        from ..web import available, run_server
    except ImportError:  # pragma: no cover - validator.web itself imports nothing optional
        available, run_server = None, None
    missing = available() if available else "the web module is missing"
    if missing:
        print(f"validator: error: {missing}", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: not a port number (0-65535)")
    if args.max_upload_mb <= 0:
        raise UsageError("--max-upload-mb must be positive")
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    take = None
    if args.take_seconds:
        try:
            a, b = (float(x) for x in args.take_seconds.split(","))
        except ValueError:
            raise UsageError(
                f"--take-seconds {args.take_seconds!r}: expected SPEAK,LISTEN seconds, e.g. 30,30"
            ) from None
        if not (1 <= a <= 300 and 1 <= b <= 300):
            raise UsageError("--take-seconds: each part must be 1-300 seconds")
        take = (a, b)
    settings = settings_from_args(args)
    return run_server(
        settings,
        host=args.host,
        port=args.port,
        open_browser=not args.no_browser,
        max_upload_bytes=int(args.max_upload_mb * 1_000_000),
        workers=args.workers,
        cache_dir=args.cache_dir,
        take_seconds=take,
    )
