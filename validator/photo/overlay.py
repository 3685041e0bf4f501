"""The annotated preview of a photo for the HTML report: what the models saw, drawn over it.

Drawn into a JPEG (long side `PREVIEW_PX`) so that it travels with the report cache like a
clip's thumbnails: the person mask's outline (cyan), every face found (main green, others
orange), the 468 mesh landmarks and the iris centres, the estimated top of the skull and the
chin (magenta lines), the top of the hair (dotted), and the framing guides (yellow: the image's
vertical centre, the off-centre limits at +-15% of the width, the 1% edge margins).
"""

from __future__ import annotations

import cv2
import numpy as np

from .load import LoadedPhoto
from .measure import PhotoMeasure

PREVIEW_PX = 900
GREEN, ORANGE, MAGENTA, CYAN, YELLOW, RED, WHITE = (
    (60, 200, 60), (0, 150, 255), (220, 60, 220), (220, 200, 40), (0, 220, 240), (40, 40, 230),
    (245, 245, 245),
)  # fmt: skip


def _dashed(img: np.ndarray, p0: tuple[int, int], p1: tuple[int, int], color, step: int = 10):
    n = max(1, int(np.hypot(p1[0] - p0[0], p1[1] - p0[1]) // step))
    for i in range(0, n, 2):
        a = (p0[0] + (p1[0] - p0[0]) * i // n, p0[1] + (p1[1] - p0[1]) * i // n)
        b = (p0[0] + (p1[0] - p0[0]) * (i + 1) // n, p0[1] + (p1[1] - p0[1]) * (i + 1) // n)
        cv2.line(img, a, b, color, 1, cv2.LINE_AA)


def annotated_jpeg(loaded: LoadedPhoto, pm: PhotoMeasure) -> bytes:
    rgb = loaded.rgb
    W, H = loaded.info.width, loaded.info.height
    k = min(1.0, PREVIEW_PX / max(W, H)) if max(W, H) else 1.0
    pw, ph = max(1, round(W * k)), max(1, round(H * k))
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    img = cv2.resize(bgr, (pw, ph), interpolation=cv2.INTER_AREA)
    img = (img.astype(np.float32) * 0.85).astype(np.uint8)  # dimmed so the drawing reads

    def pt(x: float, y: float) -> tuple[int, int]:
        return int(round(x * k)), int(round(y * k))

    # Framing guides.
    _dashed(img, (pw // 2, 0), (pw // 2, ph - 1), YELLOW)
    for f in (0.35, 0.65):
        _dashed(img, (int(pw * f), 0), (int(pw * f), ph - 1), YELLOW, 4)
    m = max(1, int(0.01 * ph))
    cv2.rectangle(img, (m, m), (pw - 1 - m, ph - 1 - m), YELLOW, 1, cv2.LINE_AA)
    for c in pm.mask_outline:
        cv2.polylines(img, [np.round(c * k).astype(np.int32)], True, CYAN, 1, cv2.LINE_AA)
    for i, f in enumerate(pm.faces):
        cv2.rectangle(
            img,
            pt(f.box[0], f.box[1]),
            pt(f.box[2], f.box[3]),
            GREEN if i == 0 else ORANGE,
            2,
            cv2.LINE_AA,
        )
    if pm.landmarks is not None:
        for x, y in pm.landmarks[:, :2]:
            cv2.circle(img, pt(x, y), 1, WHITE, -1, cv2.LINE_AA)
        for x, y in pm.iris_px:
            cv2.circle(img, pt(x, y), 3, RED, -1, cv2.LINE_AA)
        if pm.turned_deg == 0 and pm.face_box is not None:  # lines drawn upright only
            x0, _, x1, _ = pm.face_box
            pad = 0.15 * (x1 - x0)
            for y, label in ((pm.skull_top_y, "skull top (est.)"), (pm.chin_y, "chin")):
                outside = y < 0 or y > H
                if outside:  # drawn at the edge it lies beyond, dashed, with how far
                    label += f": {-y if y < 0 else y - H:.0f} px outside"
                    y = min(max(y, 2 / k), H - 2 / k)
                a, b = pt(x0 - pad, y), pt(x1 + pad, y)
                if outside:
                    _dashed(img, a, b, MAGENTA, 8)
                else:
                    cv2.line(img, a, b, MAGENTA, 2, cv2.LINE_AA)
                org = (min(b[0] + 4, pw - 190), b[1] + 14 if b[1] < 12 else b[1] + 4)
                font = cv2.FONT_HERSHEY_SIMPLEX
                cv2.putText(img, label, org, font, 0.45, MAGENTA, 1, cv2.LINE_AA)
            if pm.hair_top_y is not None:
                _dashed(img, pt(x0, pm.hair_top_y), pt(x1, pm.hair_top_y), CYAN, 6)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return np.asarray(buf).tobytes() if ok else b""
