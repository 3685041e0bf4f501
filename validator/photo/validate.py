"""`validate_photo()`: read -> measure -> PHO checks -> the same `Report` a clip gets.

Called by `pipeline.validate()` when the file's first bytes are an image's.  Only the PHO rules
apply to a photo (and only the other families to a clip): `rules_for("photo")`.  The report's
`kind` is "photo", its `media` the photo's header facts; it has no segments.  For the HTML
report (`extra_evidence` naming "thumbnails"), the evidence carries one annotated preview of
the photo (face box, landmarks, head top and chin, framing guides), which the report cache
keeps like a clip's thumbnails.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cache import file_sha256
from ..registry import Rule, load_all
from ..report import Report
from ..settings import Settings
from .load import PhotoInfo, PhotoReadError, read_photo
from .measure import ANALYSIS_LONG_SIDE, PhotoMeasure, measure

PHOTO_FAMILIES = ("PHO",)


def rules_for(kind: str) -> list[Rule]:
    """The registered rules that apply to an input of this kind ("photo" or "video")."""
    rules = load_all().values()
    if kind == "photo":
        return [r for r in rules if r.family in PHOTO_FAMILIES]
    return [r for r in rules if r.family not in PHOTO_FAMILIES]


@dataclass
class PhotoEvidence:
    """What was measured about one photo; checks read it like `Evidence` for a clip."""

    path: str
    size_bytes: int
    sha256: str | None = None
    photo_info: PhotoInfo | None = None
    photo: PhotoMeasure | None = None
    photo_face: PhotoMeasure | None = None
    thumbnails: Any = None
    open_error: str | None = None
    missing: dict[str, str] = field(default_factory=dict)
    # Clip evidence a renderer may look for: a photo has none.
    media: Any = None
    stream: Any = None
    audio: Any = None
    voice: Any = None
    faces: Any = None
    image: Any = None

    def why_missing(self, name: str) -> str:
        return self.missing.get(name) or f"{name} could not be measured"

    def stats_rows(self) -> list[dict[str, Any]]:
        if self.photo is None:
            return []
        row = {"t_s": 0.0, "stream": "photo"}
        row.update({k: v for k, v in self.photo.to_dict().items() if k != "faces"})
        return [row]


def validate_photo(
    p: Path,
    settings: Settings,
    *,
    progress: Any = None,
    keep_evidence: bool = True,
    extra_evidence: tuple[str, ...] = (),
) -> Report:
    from ..judge import check_applicable, judge

    t0 = time.perf_counter()
    rules = [r for r in rules_for("photo") if settings.is_selected(r.id)]
    check_applicable(p, "photo", rules, settings)
    ev = PhotoEvidence(str(p), p.stat().st_size)
    ev.sha256 = _sha256_file(p)
    needs = {n for r in rules for n in r.needs} | set(extra_evidence)
    loaded = None
    try:
        loaded = read_photo(p, ANALYSIS_LONG_SIDE)
        ev.photo_info = loaded.info
    except PhotoReadError as e:
        ev.open_error = str(e)
        ev.photo_info = e.info
        reason = f"the image could not be read: {e}"
        ev.missing.update({"photo": reason, "photo_face": reason})
    except MemoryError:
        from ..errors import ToolError

        raise ToolError(f"{p}: out of memory while decoding the image") from None
    timings = {"decode": time.perf_counter() - t0}
    if loaded is not None and needs & {"photo", "photo_face", "faces", "thumbnails"}:
        if progress:
            progress("photo", 0.0)
        t1 = time.perf_counter()
        info = loaded.info
        pm = measure(loaded.rgb, info.width, info.height, loaded.scale)
        ev.photo = pm
        if pm.faces:
            ev.photo_face = pm
        else:
            ev.missing["photo_face"] = "no face found in the photo (PHO003)"
        timings["photo"] = time.perf_counter() - t1
        if "thumbnails" in extra_evidence:
            from ..analysis.thumbnails import Thumbnails
            from .overlay import annotated_jpeg

            ev.thumbnails = Thumbnails([0.0], [annotated_jpeg(loaded, pm)])
    media = ev.photo_info.to_dict() if ev.photo_info else None
    return judge(str(p), ev, rules, settings, timings, t0, keep_evidence, media=media, kind="photo")


def _sha256_file(p: Path) -> str | None:
    try:
        return file_sha256(p)
    except OSError:
        return None
