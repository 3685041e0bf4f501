"""A golden JSON report guards the schema: keys, order, rounding and wording of the MED rules.

Volatile fields (path, hash, sizes, timings, tool version) are removed.  After an intended
change, regenerate with `UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from clipgen import make_clip

from validator import Settings, validate

GOLDEN = Path(__file__).parent / "golden" / "med_hevc_report.json"


def normalise(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc["input"] = {k: "<volatile>" for k in doc["input"]}
    doc["tool"]["version"] = "<volatile>"
    doc["timings_s"] = sorted(doc["timings_s"])
    doc["media"]["size_bytes"] = "<volatile>"
    for r in doc["results"]:
        if r["rule"] == "MED005":
            r["measured"] = r["message"] = "<volatile>"
    return doc


def test_golden_json_report(tmp_path):
    clip = make_clip(tmp_path / "hevc.mp4", vcodec="libx265", size=(320, 240), duration_s=2.0)
    doc = normalise(validate(clip, Settings(select=("MED",))).to_dict())
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(doc, indent=2) + "\n")
    assert doc == json.loads(GOLDEN.read_text())
    assert list(doc)[:9] == [
        "schema_version",
        "tool",
        "input",
        "profile",
        "passed",
        "media",
        "segments",
        "results",
        "timings_s",
    ]
