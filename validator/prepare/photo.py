"""`validator prepare photo.heic -o photo.jpg`: an upload-ready photo, safely, and proven.

Steps, as for a clip: validate IN, plan (`plan_photo`), write a temporary file beside OUT,
validate it, rename it to OUT only when every promised repair holds and nothing that passed
before fails now (`proof.problems`).  IN is never written.

What it repairs:
- orientation: the EXIF orientation is applied to the pixels (the tag is not written), and a
  photo lying on its side without a tag is turned when its face was only found turned;
- format and encoding: 8-bit sRGB JPEG (quality 95) or PNG, chosen by OUT's extension; CMYK,
  16-bit and ICC-tagged images converted, transparency flattened on white;
- metadata: nothing of the input's is copied (no EXIF, so no location, device or dates);
- framing: when the face is off-centre (PHO011) or too small in the frame (PHO007), a
  centred 3:4 head-and-shoulders crop: the face (hairline to chin) a third of the height (down
  to a quarter when that is what keeps 512 px), the
  top of the skull a tenth below the top edge, padded with the border's colour above the
  head if the photo has no room there; never upscaled, so when the crop has fewer than 512
  pixels on its short side or the face fewer than 150, that is reported as not repairable;
- size: a long side above `MAX_LONG_SIDE` is downscaled (area averaging).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import ToolError, UsageError
from ..report import Report
from ..settings import Settings
from .plan import Fix, PrepareOptions, Unfixable, describe_repairs, repairs_to_dict
from .safety import TempOutput, check_output

OUTPUT_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}
MAX_LONG_SIDE = 4096
FACE_SHARE = 1 / 3  # hairline-to-chin height / output height
MIN_FACE_SHARE = 0.25
HEADROOM = 0.10  # skull top below the top edge, share of the output height
ASPECT = 3 / 4  # width / height of a reframed photo
MIN_SHORT_SIDE = 512
MIN_FACE_PX = 150
REFRAME_RULES = ("PHO007", "PHO011")


@dataclass(frozen=True)
class PhotoPlan:
    """The photo's repairs; the same surface as a clip's `Plan` for the command and proof."""

    possible: bool
    fixes: tuple[Fix, ...] = ()
    unfixable: tuple[Unfixable, ...] = ()
    turn_cw: int = 0
    crop: tuple[int, int, int, int] | None = None  # x0, y0, x1, y1 (may reach outside: padded)
    size: tuple[int, int] | None = None  # output width, height
    fmt: str = "JPEG"
    notes: tuple[str, ...] = ()
    fixed_rules: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        w, h = self.size or (0, 0)
        return describe_repairs(
            self,
            head=(f"Photo: {self.fmt} 8-bit sRGB, {w}x{h}, no metadata",),
            unreadable="the image cannot be read",
            nothing="re-encoded clean",
            retake="a new photo or a better source",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "possible": self.possible,
            "kind": "photo",
            **repairs_to_dict(self),
            "turn_cw": self.turn_cw,
            "crop": list(self.crop) if self.crop else None,
            "size": list(self.size) if self.size else None,
            "format": self.fmt,
            "notes": list(self.notes),
        }


def check_photo_paths(src: Any, dst: Any, *, overwrite: bool = False) -> Path:
    s, d = Path(os.fspath(src)), Path(os.fspath(dst))
    if not s.exists():
        raise UsageError(f"{s}: no such file")
    return check_output(
        s,
        d,
        tuple(OUTPUT_FORMATS),
        "a prepared photo is a JPEG or PNG; give it a .jpg or .png name",
        overwrite=overwrite,
    )


def plan_photo(before: Report, fmt: str = "JPEG") -> PhotoPlan:
    """Plan from the input's report and its live evidence (`PhotoEvidence`)."""
    ev = before.evidence
    info = getattr(ev, "photo_info", None)
    failed = {r.rule: r for r in before.results if r.failed}
    if ev is None or ev.open_error or info is None:
        msg = failed["PHO001"].message if "PHO001" in failed else "the image cannot be read"
        return PhotoPlan(
            False, unfixable=(Unfixable("PHO001", msg, "the file has no readable picture"),)
        )
    pm = ev.photo
    fixes: list[Fix] = []
    fixed: list[str] = []
    notes: list[str] = []
    if "PHO001" in failed:
        fixes.append(
            Fix("PHO001", "convert", f"{info.format.upper()} {info.mode} -> {fmt} 8-bit sRGB")
        )
        fixed.append("PHO001")
    if info.orientation != 1:
        fixes.append(Fix("", "rotate", f"apply the EXIF orientation ({info.rotation_deg} degrees)"))
    if info.has_exif or info.icc_profile:
        gps = " (including its location)" if info.has_gps else ""
        fixes.append(Fix("", "metadata", f"drop the input's metadata{gps}"))
    W, H = (pm.width, pm.height) if pm is not None else (info.width, info.height)
    turn = pm.turned_deg if pm is not None else 0
    if turn:
        residual = abs(_residual_roll(pm))
        if residual <= _limit(before, "PHO005", "max_roll_deg", 15.0):
            fixes.append(
                Fix(
                    "PHO005",
                    "rotate",
                    f"turn the photo {turn} degrees clockwise (it lies on its side)",
                )
            )
            if set(failed) & {"PHO005"} and _only_roll(failed["PHO005"].message):
                fixed.append("PHO005")
    crop = None
    reframe = [rid for rid in REFRAME_RULES if rid in failed]
    if reframe and pm is not None and pm.faces:
        crop, why_not = _framing(pm)
        if crop is not None:
            cw, ch = crop[2] - crop[0], crop[3] - crop[1]
            fixes.append(
                Fix(
                    ",".join(reframe),
                    "crop",
                    f"centred head-and-shoulders crop {cw}x{ch} (never upscaled)",
                )
            )
            fixed.extend(reframe)
            W, H = cw, ch
        else:
            notes.append(f"no reframing: {why_not}")
    k = min(1.0, MAX_LONG_SIDE / max(W, H))
    size = (max(1, round(W * k)), max(1, round(H * k)))
    if k < 1.0:
        fixes.append(Fix("", "scale", f"downscale {W}x{H} -> {size[0]}x{size[1]}"))
    unfix = []
    for rid, r in sorted(failed.items()):
        if rid in fixed:
            continue
        unfix.append(Unfixable(rid, r.message, _why(rid)))
    return PhotoPlan(True, tuple(fixes), tuple(unfix), turn if any(f.action == "rotate" and f.rule == "PHO005" for f in fixes) else 0,
                     crop, size, fmt, tuple(notes), tuple(fixed))  # fmt: skip


def _limit(report: Report, rid: str, name: str, default: float) -> float:
    params = (report.settings or {}).get("rule_params", {}).get(rid, {})
    return float(params.get(name, default))


def _residual_roll(pm: Any) -> float:
    return (pm.roll_deg + pm.turned_deg + 180.0) % 360.0 - 180.0


def _only_roll(message: str) -> bool:
    return all(
        part.startswith("head roll") or part.startswith("the photo") for part in message.split("; ")
    )


def _why(rid: str) -> str:
    return {
        "PHO002": "upscaling adds no detail: use the original, larger file or retake it",
        "PHO003": "no face to keep: use a photo of your face",
        "PHO004": "the tool does not choose between people: crop the photo to yourself",
        "PHO005": "a turned head or averted gaze needs a new photo",
        "PHO006": "the missing part of the head cannot be invented: retake with space above it",
        "PHO007": "the face has too few pixels to crop to: retake closer or use the original",
        "PHO008": "the shoulders are not in the picture: retake further back",
        "PHO009": "focus cannot be restored: retake in focus, in good light",
        "PHO010": "light cannot be fixed without inventing detail: retake facing soft light",
        "PHO011": "too little picture around the face to centre it",
        "PHO012": "retake with the eyes open",
    }.get(rid, "needs a new photo")


def _framing(pm: Any) -> tuple[tuple[int, int, int, int] | None, str]:
    """Crop box (in the upright photo's pixels) for a centred head-and-shoulders framing."""
    fh = pm.face_height_px
    if fh < MIN_FACE_PX:
        return None, f"the face has only {fh:.0f} px (hairline to chin; needs {MIN_FACE_PX})"
    W, H = pm.width, pm.height
    out_h = fh / FACE_SHARE
    if out_h * ASPECT < MIN_SHORT_SIDE:
        # A smaller face share (down to MIN_FACE_SHARE, still well above PHO007's 0.2) when
        # the ideal crop would have too few pixels.
        out_h = min(MIN_SHORT_SIDE / ASPECT, fh / MIN_FACE_SHARE)
    y0 = pm.skull_top_y - HEADROOM * out_h
    y1 = min(float(H), y0 + out_h)  # never pad below: less chest instead
    x0f, _, x1f, _ = pm.face_box
    cx = (x0f + x1f) / 2
    half = min(out_h * ASPECT / 2, cx, W - cx)  # centred on the face, inside the sides
    if half < 0.8 * (x1f - x0f):
        half = out_h * ASPECT / 2  # too little room beside the face: pad the sides
    box = (round(cx - half), round(y0), round(cx + half), round(y1))
    if min(box[2] - box[0], box[3] - box[1]) < MIN_SHORT_SIDE:
        return None, (
            f"a centred crop would be {box[2] - box[0]}x{box[3] - box[1]} px, under "
            f"{MIN_SHORT_SIDE} on its short side, and prepare never upscales"
        )
    return box, ""


def write_photo(plan: PhotoPlan, src: Any, dst: Path) -> None:
    from PIL import Image

    from ..photo.load import read_photo
    from ..photo.measure import _rotate

    rgb = read_photo(src).rgb  # upright (EXIF applied), 8-bit sRGB, every pixel
    if plan.turn_cw:
        rgb = _rotate(rgb, plan.turn_cw)
    if plan.crop is not None:
        rgb = _crop_pad(rgb, plan.crop)
    if plan.size and (rgb.shape[1], rgb.shape[0]) != plan.size:
        rgb = cv2.resize(rgb, plan.size, interpolation=cv2.INTER_AREA)
    buf = io.BytesIO()
    im = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    if plan.fmt == "JPEG":
        im.save(buf, "JPEG", quality=95, subsampling=0)
    else:
        im.save(buf, "PNG", optimize=True)
    with open(dst, "wb") as f:
        f.write(buf.getvalue())


def _crop_pad(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    top, left, right, bottom = max(0, -y0), max(0, -x0), max(0, x1 - w), max(0, y1 - h)
    inner = rgb[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
    if not (top or left or right or bottom):
        return inner.copy()
    strip = np.concatenate(
        [inner[:4].reshape(-1, 3), inner[:, :4].reshape(-1, 3), inner[:, -4:].reshape(-1, 3)]
    )
    colour = tuple(int(c) for c in np.median(strip, axis=0))
    return cv2.copyMakeBorder(inner, top, bottom, left, right, cv2.BORDER_CONSTANT, value=colour)


def prepare_photo(
    src: Any,
    dst: Any,
    settings: Settings,
    options: PrepareOptions,
    *,
    dry_run: bool = False,
    progress: Any = None,
) -> Any:
    from ..pipeline import validate
    from . import proof
    from .result import PrepareResult

    out = (
        check_photo_paths(src, dst, overwrite=options.overwrite or dry_run)
        if dst is not None
        else None
    )
    if out is None and not dry_run:
        raise UsageError("an output file is needed (-o OUT.jpg or OUT.png), or use --dry-run")
    fmt = OUTPUT_FORMATS[out.suffix.lower()] if out is not None else "JPEG"
    before = validate(src, settings, progress=progress)
    plan = plan_photo(before, fmt)
    before.evidence = None  # the pixels are read again for writing; do not keep two copies
    result = PrepareResult(plan, before)  # type: ignore[arg-type]
    if dry_run or not plan.possible or out is None:
        return result
    with TempOutput(out) as tmp:
        assert tmp.path is not None
        try:
            write_photo(plan, src, tmp.path)
        except Exception as e:  # noqa: BLE001  (a decoder or disk error, said in one line)
            raise ToolError(f"{src}: could not write the prepared photo: {e}") from None
        after = validate(tmp.path, settings, progress=progress)
        bad = proof.problems(plan, before, after)  # type: ignore[arg-type]
        if bad:
            raise ToolError(
                "the prepared photo did not hold up, so it was not written: " + "; ".join(bad)
            )
        tmp.commit()
    after.path = str(out)
    result.after = after
    result.output = out
    return result
