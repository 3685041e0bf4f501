"""Renderers: one module per format, each with `FORMAT = "<name>"` and
`render(reports: Sequence[Report]) -> str | bytes`.  They hold no logic beyond layout."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence

from ..report import Report

Renderer = Callable[[Sequence[Report]], "str | bytes"]
FORMATS: dict[str, Renderer] = {}

for _m in pkgutil.iter_modules(__path__):
    _mod = importlib.import_module(f"{__name__}.{_m.name}")
    if hasattr(_mod, "FORMAT"):
        FORMATS[_mod.FORMAT] = _mod.render


def render(fmt: str, reports: Sequence[Report]) -> str | bytes:
    return FORMATS[fmt](reports)
