"""Checks judge the measured evidence with their own parameters only: the evidence carries no
settings (a rule reaching another rule's parameters through it was the back door of issue 10),
and no module under `validator/checks/` reads a `settings` attribute."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

from validator.evidence import Evidence
from validator.photo.validate import PhotoEvidence

CHECKS = Path(__file__).resolve().parents[1] / "validator" / "checks"


def test_evidence_has_no_settings():
    assert "settings" not in {f.name for f in fields(Evidence)}
    assert "settings" not in {f.name for f in fields(PhotoEvidence)}
    assert not hasattr(Evidence(path="x", size_bytes=1), "settings")


def test_no_check_reads_settings():
    readers = [
        f"{f.name}:{node.lineno}"
        for f in sorted(CHECKS.glob("*.py"))
        for node in ast.walk(ast.parse(f.read_text()))
        if isinstance(node, ast.Attribute) and node.attr == "settings"
    ]
    assert readers == []
