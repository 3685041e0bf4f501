"""Options and helpers shared by subcommands: settings from config + flags, output writing."""

from __future__ import annotations

import argparse
import sys
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
    elif not args.no_config:
        found = find_project_config(Path.cwd())
        if found:
            kwargs.update(config_from_pyproject(found))
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


def write_output(text: str | bytes, out: str | None) -> None:
    """To stdout, or atomically to `out` (temporary file beside it, then rename)."""
    if out is None or out == "-":
        if isinstance(text, bytes):
            sys.stdout.buffer.write(text)
        else:
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
    atomic_write(path, data)
