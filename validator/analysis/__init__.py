"""Analysers measure and never decide.  Each module registers an `AnalyserSpec` with
`register()`; the pipeline runs only the analysers whose evidence a selected rule needs (and
what those analysers require in turn).  Adding an analyser means adding a module here."""

from __future__ import annotations

import importlib
import pkgutil

from ..evidence import AnalyserSpec

ANALYSERS: dict[str, AnalyserSpec] = {}


def register(spec: AnalyserSpec) -> AnalyserSpec:
    if spec.provides in ANALYSERS:
        raise ValueError(f"two analysers provide {spec.provides!r}")
    ANALYSERS[spec.provides] = spec
    return spec


def load_all() -> dict[str, AnalyserSpec]:
    for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{m.name}")
    return ANALYSERS
