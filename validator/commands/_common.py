"""Options and helpers shared by subcommands: settings from config + flags, output writing."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import SettingsError, UsageError
from ..fsutil import atomic_write
from ..profiles import PROFILES
from ..settings import Settings, config_from_pyproject, find_project_config


def add_settings_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("settings (override [tool.validator] in pyproject.toml)")
    g.add_argument(
        "--profile", choices=list(PROFILES), help="recording structure (default phoenix-4)"
    )
    g.add_argument(
        "--select",
        metavar="IDS",
        help="only these rules: IDs, prefixes or families, comma-separated (e.g. MED,FAC003)",
    )
    g.add_argument("--ignore", metavar="IDS", help="skip these rules (IDs, prefixes or families)")
    g.add_argument(
        "--fail-on",
        choices=["error", "warning"],
        help="lowest severity that fails the clip (default error)",
    )
    g.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="RULE.PARAM=VALUE",
        help="override a rule threshold, e.g. --set FAC003.min_height_ratio=0.2 (repeatable)",
    )
    g.add_argument(
        "--sample-fps", type=float, metavar="FPS", help="frames per second analysed (default 5)"
    )
    g.add_argument(
        "--consent",
        choices=["none", "start", "separate"],
        help="check the spoken consent statement: at the start of the clip, or the file is a "
        "separate consent video (CON rules; default none)",
    )
    g.add_argument(
        "--consent-name", metavar="NAME", help='full name the consent statement says ("Jane Doe")'
    )
    g.add_argument("--config", metavar="FILE", help="read [tool.validator] from this TOML file")
    g.add_argument("--no-config", action="store_true", help="ignore pyproject.toml configuration")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Code defaults -> profile -> project config -> flags, validated once."""
    kwargs: dict[str, Any] = {}
    if args.config:
        kwargs.update(config_from_pyproject(Path(args.config)))
        kwargs["config_file"] = str(args.config)
    elif not args.no_config:
        found = find_project_config(Path.cwd())
        if found:
            kwargs.update(config_from_pyproject(found))
            kwargs["config_file"] = str(found)
    if args.profile:
        kwargs["profile"] = args.profile
    if args.select:
        kwargs["select"] = args.select
    if args.ignore:
        kwargs["ignore"] = args.ignore
    if args.fail_on:
        kwargs["fail_on"] = args.fail_on
    if args.sample_fps is not None:
        kwargs["sample_fps"] = args.sample_fps
    if getattr(args, "consent", None):
        kwargs["consent"] = args.consent
    if getattr(args, "consent_name", None) is not None:
        kwargs["consent_name"] = args.consent_name
    params: dict[str, dict[str, Any]] = {
        k: dict(v) for k, v in dict(kwargs.pop("params", {})).items()
    }
    for item in args.overrides:
        key, sep, value = item.partition("=")
        rid, dot, pname = key.partition(".")
        if not sep or not dot or not rid or not pname:
            raise SettingsError(
                f"--set {item!r}: expected RULE.PARAM=VALUE, e.g. FAC003.min_height_ratio=0.2"
            )
        params.setdefault(rid.strip().upper(), {})[pname.strip()] = value.strip()
    kwargs["params"] = params
    return Settings(**kwargs)


def use_colour(stream: Any) -> bool:
    """ANSI colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR", "") != "" or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def verdict_text(outcomes: Sequence[Any]) -> str:
    """ "FAIL (2 errors)" for one clip, "1 of 3 clips passed, 1 could not be checked" for many."""
    if len(outcomes) == 1:
        o = outcomes[0]
        if o.report is None:
            return "ERROR (the clip could not be checked)"
        f = o.report.failures
        n_err = sum(r.severity == "error" for r in f)
        n_warn = len(f) - n_err
        bits = [f"{n_err} error{'s' if n_err != 1 else ''}"] if n_err else []
        bits += [f"{n_warn} warning{'s' if n_warn != 1 else ''}"] if n_warn else []
        return ("PASS" if o.report.passed else "FAIL") + (f" ({', '.join(bits)})" if bits else "")
    ok = sum(1 for o in outcomes if o.report is not None and o.report.passed)
    bad = sum(1 for o in outcomes if o.report is None)
    return f"{ok} of {len(outcomes)} clips passed" + (
        f", {bad} could not be checked" if bad else ""
    )


def write_output(text: str | bytes, out: str | None) -> None:
    """To stdout, or atomically to `out` (temporary file beside it, then rename)."""
    if out is None or out == "-":
        if isinstance(text, bytes):
            sys.stdout.buffer.write(text)
        else:
            enc = sys.stdout.encoding or "utf-8"
            try:
                text.encode(enc)
            except UnicodeEncodeError:  # a non-UTF-8 file name: shown as \udcff, as in files
                text = text.encode(enc, "backslashreplace").decode(enc)
            sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_atomic(Path(out), text)


def write_atomic(path: Path, data: str | bytes) -> None:
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{path}: is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{path}: folder {parent} does not exist")
    try:
        atomic_write(path, data)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise UsageError(
                f"{path}: no space left on the output's device; nothing was written"
            ) from None
        raise
