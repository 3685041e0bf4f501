"""`validator check PATH...`: validate clips (files, folders, glob patterns) and render the report.

The work is in `validator/batch.py` (inputs, worker processes, cache lookups, summary) and the
renderers; this module only wires flags to them.  Report on stdout (or `-o`); progress, the
per-clip summary table and per-clip errors on stderr.  Exit code: the worst outcome over all
clips (3 could not process > 2 usage > 1 a clip failed > 0 all passed).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path

from ..batch import default_jobs, expand_inputs, run_batch, summary_table, worst_exit_code
from ..cache import ReportCache
from ..errors import UsageError
from ..fsutil import printable
from ..progress import Progress
from ..render import FORMATS
from ._common import (
    add_settings_options,
    settings_from_args,
    use_colour,
    verdict_text,
    write_output,
)

ORDER = 10
# Formats that draw the measurements over time (they need the timeline's extra analysers).
TIMELINE_FORMATS = frozenset({"html"})


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="validate one or more clips",
        description="Validate training clips: files, folders (searched recursively for "
        "video files) or glob patterns such as 'clips/**/*.mp4'. Exit 0: all "
        "passed; 1: a clip failed; 2: usage or configuration error; 3: a clip "
        "could not be processed.",
    )
    p.add_argument("clips", nargs="+", metavar="PATH", help="video file, folder or glob pattern")
    p.add_argument(
        "--format",
        default="text",
        choices=sorted(FORMATS),
        help="report format (default text; html and junit for people and CI)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="text format: one line per clip (verdict, clip, failing rules)",
    )
    p.add_argument(
        "--stats", metavar="FILE", help="write per-sample measurements (CSV) for one clip"
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        metavar="N",
        help="clips validated in parallel worker processes (default 1 for one clip, "
        "else min(2, CPU count))",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="run the clips on a Dask cluster: tcp://HOST:8786, or local:N for N local worker "
        "processes (needs the dask extra; workers must see the clips at the same path)",
    )
    p.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the report cache"
    )
    p.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="report cache folder (default $XDG_CACHE_HOME/replica-clip-validator)",
    )
    add_settings_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    scheduler = getattr(args, "scheduler", None)
    if scheduler is not None:
        from ..dask_executor import parse_scheduler

        parse_scheduler(scheduler)  # a bad address is a usage error before any work starts
        if args.jobs is not None:
            raise UsageError("--jobs and --scheduler cannot be combined (local:N sets N)")
    paths = expand_inputs(args.clips)  # every input checked before any work starts
    if args.stats and len(paths) != 1:
        raise UsageError("--stats takes exactly one clip")
    cache = None if args.no_cache else ReportCache(Path(args.cache_dir) if args.cache_dir else None)
    progress = Progress(len(paths))
    outcomes = run_batch(
        paths,
        settings,
        jobs=args.jobs if args.jobs is not None else default_jobs(len(paths)),
        cache=cache,
        read_cache=not args.stats,  # --stats needs the live measurements
        timeline=args.format in TIMELINE_FORMATS,
        keep_evidence=bool(args.stats),
        progress=progress,
        scheduler=scheduler,
    )
    reports = [o.report for o in outcomes if o.report is not None]
    errors = [
        {"path": o.path, "message": o.error, "exit_code": o.exit_code}
        for o in outcomes
        if o.error is not None
    ]
    debug = getattr(args, "debug", False) or os.environ.get("VALIDATOR_DEBUG") == "1"
    for o in outcomes:
        if o.error is None:
            continue
        if debug and o.traceback:
            sys.stderr.write(o.traceback)
        msg = o.error if o.error.startswith(o.path) else f"{o.path}: {o.error}"
        print(f"validator: error: {printable(msg)}", file=sys.stderr)
    if reports or errors:
        # Formats that can say so (json, junit, html) list the clips that could not be processed;
        # text renders nothing for them (they are on stderr above).
        rendered = FORMATS[args.format](
            reports,
            errors,
            quiet=bool(getattr(args, "quiet", False)),
            colour=args.output in (None, "-") and use_colour(sys.stdout),
        )
        if rendered:
            write_output(rendered, args.output)
    if args.output not in (None, "-") and (reports or errors):
        print(f"validator: wrote {args.output}: {verdict_text(outcomes)}", file=sys.stderr)
    if args.stats and reports:
        write_output(stats_csv(reports[0]), args.stats)
    if len(outcomes) > 1:
        sys.stderr.write(summary_table(outcomes))
    return worst_exit_code(outcomes)


def stats_csv(report) -> str:
    ev = report.evidence
    rows = ev.stats_rows() if ev is not None and hasattr(ev, "stats_rows") else []
    cols: list[str] = ["t_s", "stream"]
    for row in rows:
        cols.extend(k for k in row if k not in cols)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: _fmt(v) for k, v in row.items()})
    return buf.getvalue()


def _fmt(v: object) -> object:
    if isinstance(v, float):
        return f"{v:.4f}"
    return v
