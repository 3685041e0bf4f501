"""Renderers: one module per format, each with `FORMAT = "<name>"` and one contract,

    render(reports, errors=(), *, quiet=False, colour=False) -> str | bytes

`errors` are the clips that could not be processed at all ({"path", "message", "exit_code"});
formats that have no place for them (text: the command prints them on stderr) leave them out.
`quiet` and `colour` are the text format's; the others accept and ignore them.  Renderers hold
no logic beyond layout: verdicts and counts come from `Report.verdict` / `Report.counts()`."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence
from typing import Any, Protocol

from ..report import Report


class Renderer(Protocol):
    def __call__(
        self,
        reports: Sequence[Report],
        errors: Sequence[dict[str, Any]] = (),
        *,
        quiet: bool = False,
        colour: bool = False,
    ) -> str | bytes: ...


FORMATS: dict[str, Renderer] = {}

for _m in pkgutil.iter_modules(__path__):
    _mod = importlib.import_module(f"{__name__}.{_m.name}")
    if hasattr(_mod, "FORMAT"):
        FORMATS[_mod.FORMAT] = _mod.render


def render(
    fmt: str, reports: Sequence[Report], errors: Sequence[dict[str, Any]] = ()
) -> str | bytes:
    return FORMATS[fmt](reports, errors)
