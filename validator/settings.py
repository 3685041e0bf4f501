"""Settings: one frozen object, resolved once, copied into every report.

Precedence, lowest first: code defaults (the registry) -> profile -> project config
(`[tool.validator]` in a pyproject.toml) -> command-line flags.  Every value is validated here,
so a bad key or an out-of-range number is a `SettingsError` naming the key and the allowed range.

Project config example::

    [tool.validator]
    profile = "phoenix-3"
    fail-on = "warning"
    ignore = ["MED012"]
    sample-fps = 6

    [tool.validator.rules.FAC003]
    min_height_ratio = 0.2
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import SettingsError
from .profiles import DEFAULT_PROFILE, PROFILES, Profile
from .registry import SEVERITIES, Params, ParamValue, Rule, load_all, matches

FAIL_ON = ("error", "warning")
SAMPLE_FPS_RANGE = (0.5, 30.0)
ANALYSIS_SIDE_RANGE = (240, 2160)


@dataclass(frozen=True)
class Settings:
    """Everything that decides a verdict.  Construct with keywords; every field is optional."""

    profile: str = DEFAULT_PROFILE
    fail_on: str = "error"
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    # Frames per second handed to the frame analysers.  5 fps sees a 0.5 s event in 2-3 samples.
    sample_fps: float = 5.0
    # Sampled frames are downscaled so their short side is at most this (never upscaled).
    analysis_short_side_px: int = 720
    # Per-rule parameter overrides: {"FAC003": {"min_height_ratio": 0.2}}.
    params: Mapping[str, Mapping[str, ParamValue]] = field(default_factory=dict)
    # The config file these settings were read from (None: code defaults and flags only).  Not a
    # config key; reported so that a gate says which settings judged the clip.
    config_file: str | None = None
    # Consent statement (CON rules): "none" (off), "start" (opens the training clip) or
    # "separate" (the file is a consent video); the full name the statement should say.
    consent: str = "none"
    consent_name: str | None = None

    def __post_init__(self) -> None:
        _check_consent(self.consent, self.consent_name)
        if self.profile not in PROFILES:
            raise SettingsError(
                f"profile: unknown profile {self.profile!r} (allowed: {', '.join(PROFILES)})"
            )
        if self.fail_on not in FAIL_ON:
            raise SettingsError(f"fail-on: {self.fail_on!r} is not one of {', '.join(FAIL_ON)}")
        object.__setattr__(self, "select", _ids("select", self.select))
        object.__setattr__(self, "ignore", _ids("ignore", self.ignore))
        lo, hi = SAMPLE_FPS_RANGE
        if not isinstance(self.sample_fps, int | float) or not lo <= self.sample_fps <= hi:
            raise SettingsError(
                f"sample-fps: {self.sample_fps!r} is out of range (allowed {lo:g} to {hi:g})"
            )
        lo, hi = ANALYSIS_SIDE_RANGE
        if (
            not isinstance(self.analysis_short_side_px, int)
            or not lo <= self.analysis_short_side_px <= hi
        ):
            raise SettingsError(
                f"analysis-short-side-px: {self.analysis_short_side_px!r} is out of range (allowed {lo} to {hi})"
            )
        rules = load_all()
        clean: dict[str, Mapping[str, ParamValue]] = {}
        for rid, values in dict(self.params).items():
            rid = str(rid).upper()
            if rid not in rules:
                raise SettingsError(f"rules.{rid}: unknown rule ID (see `validator rules`)")
            r = rules[rid]
            out: dict[str, ParamValue] = {}
            for key, value in dict(values).items():
                try:
                    p = r.param(key)
                except KeyError:
                    allowed = ", ".join(x.name for x in r.params) or "none"
                    raise SettingsError(
                        f"rules.{rid}.{key}: unknown parameter (allowed: {allowed})"
                    ) from None
                out[key] = p.coerce(value, f"rules.{rid}.{key}")
            clean[rid] = MappingProxyType(out)
        object.__setattr__(self, "params", MappingProxyType(clean))

    @property
    def profile_obj(self) -> Profile:
        return PROFILES[self.profile]

    def is_selected(self, rule_id: str) -> bool:
        return matches(rule_id, self.select) and not matches(rule_id, self.ignore)

    def resolve(self, r: Rule) -> Params:
        """Code default -> profile -> user override, for one rule."""
        values = {p.name: p.default_for(self.profile) for p in r.params}
        values.update(self.params.get(r.id, {}))
        return Params(values, self.profile_obj)

    def rule_params(self, rule_id: str) -> Params:
        """`resolve()` by rule ID: for an analyser whose measurement is defined by a rule's
        parameters (the continuity analyser's shot breaks are cuts as EDT001 sees them).  Read
        when the analyser starts, never by another rule at judge time."""
        return self.resolve(load_all()[rule_id])

    def merged(self, **changes: Any) -> Settings:
        """A copy with `changes` applied; `params` are merged per rule rather than replaced."""
        if "params" in changes:
            merged = {k: dict(v) for k, v in self.params.items()}
            for rid, vals in dict(changes["params"]).items():
                merged.setdefault(str(rid).upper(), {}).update(vals)
            changes["params"] = merged
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The settings that judged a report, including every resolved rule parameter."""
        rules = load_all()
        # Consent keys only when consent checking is on (reports without it keep their shape).
        consent = (
            {"consent": self.consent, "consent_name": self.consent_name}
            if self.consent != "none"
            else {}
        )
        return {
            "profile": self.profile,
            "fail_on": self.fail_on,
            "select": list(self.select),
            "ignore": list(self.ignore),
            "sample_fps": self.sample_fps,
            "analysis_short_side_px": self.analysis_short_side_px,
            "config_file": self.config_file,
            **consent,
            "rule_params": {
                rid: self.resolve(r).as_dict()
                for rid, r in rules.items()
                if r.params and self.is_selected(rid)
            },
        }


CONSENT_MODES = ("none", "start", "separate")


def _check_consent(mode: object, name: object) -> None:
    if mode not in CONSENT_MODES:
        raise SettingsError(f"consent: {mode!r} is not one of {', '.join(CONSENT_MODES)}")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 200):
        raise SettingsError(f"consent-name: expected a non-empty name, got {name!r}")


def _ids(key: str, value: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    rules = load_all()
    families = {r[:3] for r in rules}
    out = []
    for item in value:
        for part in str(item).split(","):
            part = part.strip().upper()
            if not part:
                continue
            if (
                part != "ALL"
                and not any(r.startswith(part) for r in rules)
                and part[:3] not in families
            ):
                raise SettingsError(f"{key}: {part!r} matches no rule ID (see `validator rules`)")
            out.append(part)
    return tuple(out)


_CONFIG_KEYS = {
    f.name.replace("_", "-"): f.name
    for f in fields(Settings)
    if f.name not in ("params", "config_file")
}


def find_project_config(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` that has a [tool.validator] table.

    A pyproject.toml that cannot be read or parsed is a SettingsError naming the file and the
    line, not skipped: skipping it would run the defaults, settings nobody chose."""
    start = start.resolve()
    for d in [start, *start.parents]:
        candidate = d / "pyproject.toml"
        if candidate.is_file():
            data = _read_toml(candidate)
            tool = data.get("tool", {})
            if isinstance(tool, dict) and "validator" in tool:
                return candidate
    return None


def config_from_pyproject(path: Path) -> dict[str, Any]:
    """Read `[tool.validator]` into keyword arguments for Settings (not yet validated)."""
    data = _read_toml(Path(path))
    tool = data.get("tool", {})
    table = tool.get("validator", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [tool.validator] must be a table")
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key == "rules":
            if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
                raise SettingsError(f"{path}: [tool.validator.rules.ID] tables expected")
            out["params"] = value
        elif key in _CONFIG_KEYS:
            out[_CONFIG_KEYS[key]] = value
        else:
            allowed = ", ".join(sorted([*_CONFIG_KEYS, "rules"]))
            raise SettingsError(f"{path}: tool.validator.{key}: unknown key (allowed: {allowed})")
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    text = ""
    try:
        text = path.read_text(encoding="utf-8")
        return tomllib.loads(text)
    except FileNotFoundError:
        raise SettingsError(f"{path}: config file not found") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{path}: cannot read config (not UTF-8 text)") from None
    except OSError as e:
        raise SettingsError(f"{path}: cannot read config ({e.strerror or e})") from None
    except tomllib.TOMLDecodeError as e:  # the message names line and column ...
        msg = str(e)
        if "at end of document" in msg:  # ... except at the end: name the last line
            msg = msg.replace(
                "at end of document", f"at line {len(text.splitlines()) or 1}, end of file"
            )
        raise SettingsError(f"{path}: invalid TOML: {msg}") from None


def severity_at_least(severity: str, level: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(level)
