"""Command line: a thin layer over the library.

Each subcommand lives in `validator/commands/<name>.py` with `add_parser(subparsers)` and
`run(args) -> int`; every module there is picked up.  This file only turns errors into one-line
messages and exit codes: 0 passed, 1 clip failed, 2 usage/configuration error, 3 the tool could
not finish.  `--debug` (or VALIDATOR_DEBUG=1) shows tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence

from . import __version__, commands
from .errors import EXIT_FAIL, EXIT_PASS, EXIT_TOOL, EXIT_USAGE, ValidatorError

__all__ = ["EXIT_FAIL", "EXIT_PASS", "EXIT_TOOL", "EXIT_USAGE", "main"]
PROG = "validator"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG, description="Validate AI-avatar (replica) training clips before upload."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    mods = [
        importlib.import_module(f"{commands.__name__}.{m.name}")
        for m in pkgutil.iter_modules(commands.__path__)
        if not m.name.startswith("_")
    ]
    for mod in sorted(mods, key=lambda m: getattr(m, "ORDER", 50)):
        mod.add_parser(sub)
    for p in sub.choices.values():  # `validator check x --debug` works as well as before it
        p.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # OpenCV in one thread: the analysers have threads of their own (analysis/face_models.py).
    os.environ.setdefault("VALIDATOR_CV2_THREADS", "1")
    debug = args.debug or os.environ.get("VALIDATOR_DEBUG") == "1"
    try:
        return int(args.run(args))
    except ValidatorError as e:
        if debug:  # the traceback, then the same line and the same exit code as without --debug
            traceback.print_exc()
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `validator check ... | head`
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
        return EXIT_TOOL
    except Exception as e:  # the tool itself failed: one line, exit 3
        if debug:
            traceback.print_exc()
        hint = "" if debug else " (run with --debug for details)"
        print(f"{PROG}: internal error: {type(e).__name__}: {e}{hint}", file=sys.stderr)
        return EXIT_TOOL


if __name__ == "__main__":
    raise SystemExit(main())
