"""`validator check CLIP...`: validate clips and render the report."""

from __future__ import annotations

import argparse
import csv
import io

from ..pipeline import validate
from ..render import FORMATS, render
from ._common import add_settings_options, settings_from_args, write_output

ORDER = 10


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="validate one or more clips",
                       description="Validate training clips. Exit 0: passed; 1: a clip failed; "
                                   "2: usage or configuration error; 3: the tool could not finish.")
    p.add_argument("clips", nargs="+", metavar="CLIP", help="video file(s) to validate")
    p.add_argument("--format", default="text", choices=sorted(FORMATS), help="report format (default text)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--stats", metavar="FILE", help="write per-sample measurements (CSV) for one clip")
    add_settings_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if args.stats and len(args.clips) != 1:
        from ..errors import UsageError

        raise UsageError("--stats takes exactly one clip")
    reports = [validate(path, settings) for path in args.clips]
    write_output(render(args.format, reports), args.output)
    if args.stats:
        write_output(stats_csv(reports[0]), args.stats)
    return 0 if all(r.passed for r in reports) else 1


def stats_csv(report) -> str:
    ev = report.evidence
    rows = ev.stats_rows() if ev is not None else []
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


