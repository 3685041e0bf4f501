"""The rule registry: the one place where a rule is declared.

A rule is a pure check function decorated with `@rule(...)`.  The decorator records its stable
ID, kebab-case name, severity, bounded parameters (units in their names), the evidence it needs
and its docs (the function's docstring).  Everything else is generated from this registry: the
`rules` command, settings validation, the README rule table and the `results` list.

A check never touches media: it reads `Evidence` and its resolved parameters and returns one
`Outcome`.  Use the helpers `passed()`, `failed()` and `skipped()` to build it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .spans import Span, format_spans, merge_spans  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from .evidence import Evidence
    from .profiles import Profile

SEVERITIES = ("info", "warning", "error")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}

ParamValue = float | int | bool | str


@dataclass(frozen=True)
class Param:
    """One tunable threshold of a rule.

    `name` carries its unit (`min_height_ratio`, `max_gap_s`).  `minimum`/`maximum` bound what a
    user may set.  `by_profile` overrides the default for a profile (e.g. durations).
    """

    name: str
    default: ParamValue
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    by_profile: Mapping[str, ParamValue] = field(default_factory=dict)

    def default_for(self, profile: str) -> ParamValue:
        return self.by_profile.get(profile, self.default)

    def coerce(self, value: Any, where: str) -> ParamValue:
        """Validate a user-supplied value; raise SettingsError naming key and range."""
        from .errors import SettingsError

        kind = type(self.default)
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
                return value.lower() in ("true", "1", "yes")
            raise SettingsError(f"{where}: expected true or false, got {value!r}")
        if kind is str:
            return str(value)
        try:
            num = float(value) if kind is float else int(value)
        except (TypeError, ValueError):
            raise SettingsError(
                f"{where}: expected a number{self.range_text()}, got {value!r}"
            ) from None
        if isinstance(value, bool):
            raise SettingsError(f"{where}: expected a number{self.range_text()}, got {value!r}")
        if (self.minimum is not None and num < self.minimum) or (
            self.maximum is not None and num > self.maximum
        ):
            raise SettingsError(f"{where}: {num:g} is out of range{self.range_text()}")
        return num

    def range_text(self) -> str:
        if self.minimum is None and self.maximum is None:
            return ""
        lo = "-inf" if self.minimum is None else f"{self.minimum:g}"
        hi = "inf" if self.maximum is None else f"{self.maximum:g}"
        return f" (allowed {lo} to {hi})"


@dataclass(frozen=True)
class Outcome:
    """What a check returns.  `severity=None` means the rule's declared severity."""

    status: str
    message: str
    measured: Any = None
    limit: Any = None
    unit: str | None = None
    severity: str | None = None
    hint: str | None = None
    spans: tuple[Span, ...] = ()


def _spans(spans: Sequence[Span | tuple[float, float]] | None) -> tuple[Span, ...]:
    out = []
    for s in spans or ():
        out.append(s if isinstance(s, Span) else Span(float(s[0]), float(s[1])))
    return tuple(out)


def passed(
    message: str,
    measured: Any = None,
    limit: Any = None,
    unit: str | None = None,
    spans: Sequence[Span | tuple[float, float]] | None = None,
) -> Outcome:
    return Outcome("pass", message, measured, limit, unit, spans=_spans(spans))


def failed(
    message: str,
    measured: Any = None,
    limit: Any = None,
    unit: str | None = None,
    severity: str | None = None,
    hint: str | None = None,
    spans: Sequence[Span | tuple[float, float]] | None = None,
) -> Outcome:
    return Outcome("fail", message, measured, limit, unit, severity, hint, _spans(spans))


def skipped(message: str) -> Outcome:
    return Outcome("skip", message)


class Params:
    """Resolved parameter values of one rule, read as attributes (`p.min_height_ratio`)."""

    def __init__(self, values: Mapping[str, ParamValue], profile: Profile):
        self._values = dict(values)
        self.profile = profile

    def __getattr__(self, name: str) -> ParamValue:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def as_dict(self) -> dict[str, ParamValue]:
        return dict(self._values)


CheckFn = Callable[["Evidence", Params], Outcome]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: str
    summary: str
    hint: str
    needs: tuple[str, ...]
    params: tuple[Param, ...]
    check: CheckFn
    doc: str

    @property
    def family(self) -> str:
        return self.id[:3]

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)


RULES: dict[str, Rule] = {}


def rule(
    id: str,
    name: str,
    severity: str,
    summary: str,
    *,
    hint: str,
    needs: Sequence[str] = (),
    params: Sequence[Param] = (),
) -> Callable[[CheckFn], CheckFn]:
    """Register a check.  `needs` names Evidence attributes; if one is None the rule is skipped
    with the reason recorded in `Evidence.missing`."""
    if severity not in SEVERITIES:
        raise ValueError(f"{id}: bad severity {severity}")

    def deco(fn: CheckFn) -> CheckFn:
        if id in RULES:
            raise ValueError(f"rule {id} registered twice")
        RULES[id] = Rule(
            id,
            name,
            severity,
            summary,
            hint,
            tuple(needs),
            tuple(params),
            fn,
            inspect.cleandoc(fn.__doc__ or ""),
        )
        return fn

    return deco


def load_all() -> dict[str, Rule]:
    """Import every check module so that its rules register; return the registry in ID order."""
    from . import checks  # noqa: F401  (the package imports its modules)

    return dict(sorted(RULES.items()))


def matches(rule_id: str, patterns: Sequence[str]) -> bool:
    """`--select MED` selects a family, `MED00` a prefix, `MED001` one rule, `ALL` everything."""
    return any(p == "ALL" or rule_id.startswith(p) for p in patterns)
