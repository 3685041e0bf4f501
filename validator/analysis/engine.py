"""Which runtime runs the face models: LiteRT when installed, unless `VALIDATOR_FACE_ENGINE=opencv`
(or `cv2`) forces `cv2.dnn`.  One place for the switch: the face models (`face_models.py`)
and the report cache's key (`cache.face_engine`) read it here.  Imports nothing heavy."""

from __future__ import annotations

import os

ENV = "VALIDATOR_FACE_ENGINE"


def opencv_forced() -> bool:
    return os.environ.get(ENV, "").lower() in ("opencv", "cv2")
