"""Probe: container and stream facts from an opened PyAV container (no decoding here).

`open_media()` opens the file once (through `source.open_input`: the name is never read as a
protocol); the same container object is then handed to the decode
pass, so nothing re-opens the file.  Facts only visible in decoded frames (display rotation,
real pixel format of some streams) are filled in by the decode pass.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import av

from ..evidence import MediaInfo
from .source import MAX_FRAME_PIXELS, check_regular, open_input, open_regular

WEBM_VIDEO = {"vp8", "vp9", "av1"}
WEBM_AUDIO = {"vorbis", "opus"}


class MediaOpenError(Exception):
    """The file is not readable media; the message is one plain sentence."""


def quiet_ffmpeg() -> None:
    """FFmpeg's own log lines would reach the user's terminal; decode problems are counted and
    reported as MED011 instead."""
    av.logging.set_level(None)  # PyAV >= 14: None disables the log callback entirely


def open_media(path: str | os.PathLike[str]) -> tuple[Any, MediaInfo]:
    """Open `path` and read container facts.  Raises MediaOpenError for anything that is not
    usable media (empty, random bytes, missing index, no streams)."""
    quiet_ffmpeg()
    size = check_regular(path).st_size  # NotRegularFile (an OSError) for FIFOs and devices
    if size == 0:
        raise MediaOpenError("the file is empty (0 bytes)")
    try:
        container = open_input(path, metadata_errors="ignore")
    except av.error.FFmpegError as e:
        raise MediaOpenError(_plain_open_error(e)) from None
    except (UnicodeDecodeError, ValueError) as e:
        raise MediaOpenError(f"not a media file ({e})") from None
    try:
        media = _facts(container, Path(path), size)
        too_big = _too_many_pixels(media)
        if too_big:
            raise MediaOpenError(too_big)
        if "mov" in media.format_name.split(",") or "mp4" in media.format_name.split(","):
            cut = box_truncation(path, size)
            if cut:
                container.damage.append(cut)
        elif "matroska" in media.format_name.split(",") or "webm" in media.format_name:
            cut = ebml_truncation(path, size)
            if cut:
                container.damage.append(cut)
    except Exception:
        container.close()
        raise
    if not media.has_video and not media.has_audio:
        container.close()
        raise MediaOpenError("the file has no audio or video streams")
    return container, media


def _too_many_pixels(media: MediaInfo) -> str | None:
    w, h = media.coded_width or 0, media.coded_height or 0
    if w * h > MAX_FRAME_PIXELS:
        return (
            f"the video claims {w}x{h} frames ({w * h / 1e6:.0f} MP), above the "
            f"{MAX_FRAME_PIXELS / 1e6:.0f} MP this tool decodes (8K is 33 MP): "
            "the header is damaged or the clip is far larger than any training clip"
        )
    return None


# Top-level ISO-BMFF boxes; a box of one of these types that runs past the end of the file
# means the file was cut short.  Other four-character codes are not trusted (trailing junk).
_TOP_BOXES = {
    b"ftyp", b"moov", b"mdat", b"moof", b"mfra", b"free", b"skip", b"wide", b"uuid",
    b"meta", b"sidx", b"styp", b"pdin", b"emsg", b"prft", b"ssix",
}  # fmt: skip


def box_truncation(path: str | os.PathLike[str], size: int) -> str | None:
    """ "box 'moov' ..." when a top-level MP4/MOV box declares more bytes than the file has (a
    truncated index or a fragmented recording cut mid-fragment), else None.  Reads only the
    box headers."""
    try:
        with open_regular(path) as f:
            pos = 0
            for _ in range(100_000):
                if pos + 8 > size:
                    return None
                f.seek(pos)
                head = f.read(16)
                if len(head) < 8:
                    return None
                n, typ = int.from_bytes(head[:4], "big"), head[4:8]
                if typ not in _TOP_BOXES:
                    return None
                if n == 1 and len(head) >= 16:
                    n = int.from_bytes(head[8:16], "big")
                elif n == 0:  # "to the end of the file"
                    return None
                if n < 8:
                    return None
                if pos + n > size:
                    name = typ.decode("latin-1")
                    return (
                        f"the file is truncated: its '{name}' box declares {n} bytes at offset "
                        f"{pos}, but the file ends {size - pos} bytes into it"
                    )
                pos += n
    except OSError:
        return None
    return None


def _plain_open_error(e: Exception) -> str:
    text = str(e)
    low = text.lower()
    if "invalid data" in low:
        return "not a playable media file (FFmpeg: invalid data found when processing input)"
    if "moov atom not found" in low:
        return "the MP4 index (moov atom) is missing: the file is truncated or was not finalised"
    if "end of file" in low:
        return "the file ends before its header is complete (truncated)"
    if "permission" in low:
        return "permission denied"
    return f"cannot be opened as media ({text.split(':', 1)[-1].strip() or text})"


def _facts(container: Any, path: Path, size: int) -> MediaInfo:
    fmt = container.format.name or ""
    meta = {str(k).lower(): str(v) for k, v in (container.metadata or {}).items()}
    brand = meta.get("major_brand")
    # A stream whose codec header is damaged or unknown has no decoder (codec_context is None):
    # it cannot be read, so it does not count.  A file whose only video is like that is
    # unreadable (MED001), not a crash.
    all_video = list(container.streams.video)
    vstreams = [s for s in all_video if s.codec_context is not None]
    astreams = [s for s in container.streams.audio if s.codec_context is not None]
    if all_video and not vstreams:
        raise MediaOpenError(
            "the video stream cannot be decoded: its codec is unknown or its header is damaged"
        )
    v = vstreams[0] if vstreams else None
    a = astreams[0] if astreams else None
    duration = container.duration / 1_000_000 if container.duration else None

    media = MediaInfo(
        container=_container_name(fmt, brand, path, v, a),
        video_index=v.index if v is not None else None,
        audio_index=a.index if a is not None else None,
        format_name=fmt,
        duration_s=duration,
        size_bytes=size,
        has_video=v is not None,
        has_audio=a is not None,
        audio_streams=len(astreams),
        video_streams=len(vstreams),
        brand=brand.strip() if brand else None,
    )
    if v is not None:
        cc = v.codec_context
        media.video_codec = cc.name
        media.video_profile = getattr(v, "profile", None)
        media.coded_width = cc.width or None
        media.coded_height = cc.height or None
        media.width, media.height = media.coded_width, media.coded_height
        media.pix_fmt = cc.pix_fmt
        media.bit_depth = bit_depth_of(cc.pix_fmt)
        media.fps = declared_fps(v)
        media.video_frames = v.frames or None
        if v.duration and v.time_base:
            media.video_duration_s = float(v.duration * v.time_base)
        media.color_transfer = _color_name(getattr(cc, "color_trc", None), _TRC)
        media.color_primaries = _color_name(getattr(cc, "color_primaries", None), _PRIMARIES)
    if a is not None:
        cc = a.codec_context
        media.audio_codec = cc.name
        media.sample_rate_hz = cc.sample_rate or a.rate or None
        media.channels = cc.channels or (a.layout.nb_channels if a.layout else None)
        if a.duration and a.time_base:
            media.audio_duration_s = float(a.duration * a.time_base)
    return media


# Above this, a rate FFmpeg only guessed from the timebase is not a frame rate (phones film slow
# motion at 240 fps; a MediaRecorder WebM's timebase is 1/1000 s).
MAX_GUESSED_FPS = 240.0


def declared_fps(v: Any) -> float | None:
    """The video stream's declared frame rate.  None when all FFmpeg has is its guess from the
    timebase: a browser's MediaRecorder WebM stores no frame duration, so the guess is 1000 fps
    (1 / its 1 ms timebase); the decode pass then measures the rate from the timestamps."""
    if v.average_rate:
        return float(v.average_rate)
    rate = v.guessed_rate
    if not rate:
        return None
    tb = v.time_base
    if tb and float(rate) * float(tb) == 1.0 and float(rate) > MAX_GUESSED_FPS:
        return None
    return float(rate)


def _container_name(fmt: str, brand: str | None, path: Path, v: Any, a: Any) -> str:
    """A short container name users recognise.  FFmpeg's one demuxer reads MP4 and QuickTime
    alike, so MP4 vs MOV is told by the file's brand, and WebM vs Matroska by its codecs."""
    names = fmt.split(",")
    ext = path.suffix.lower().lstrip(".")
    if "mp4" in names or "mov" in names:
        b = (brand or "").strip().lower()
        if b == "qt":
            return "mov"
        if b.startswith("3g"):
            return "3gp"
        if not b:
            return "mov" if ext == "mov" else "mp4"
        return "mp4"
    if "matroska" in names or "webm" in names:
        vcodec = v.codec_context.name if v is not None else None
        acodec = a.codec_context.name if a is not None else None
        webm_ok = (vcodec is None or vcodec in WEBM_VIDEO) and (
            acodec is None or acodec in WEBM_AUDIO
        )
        return "webm" if webm_ok and (ext == "webm" or vcodec is not None) else "mkv"
    if names[0] == "mpeg":
        return "mpeg"
    return names[0] or "unknown"


def bit_depth_of(pix_fmt: str | None) -> int | None:
    """Bits per component of an FFmpeg pixel format name (8 when the name says nothing)."""
    if not pix_fmt:
        return None
    for depth in (16, 14, 12, 10, 9):
        if (
            f"p{depth}" in pix_fmt
            or pix_fmt.endswith(f"{depth}le")
            or pix_fmt.endswith(f"{depth}be")
        ):
            return depth
    if pix_fmt in ("p010le", "p010be", "x2rgb10le", "x2bgr10le"):
        return 10
    return 8


# FFmpeg enum values (AVColorTransferCharacteristic / AVColorPrimaries) -> names.
_TRC = {
    1: "bt709",
    2: None,
    4: "gamma22",
    5: "gamma28",
    6: "smpte170m",
    7: "smpte240m",
    8: "linear",
    13: "iec61966-2-1",
    14: "bt2020-10",
    15: "bt2020-12",
    16: "smpte2084",
    18: "arib-std-b67",
}
_PRIMARIES = {1: "bt709", 2: None, 5: "bt470bg", 6: "smpte170m", 9: "bt2020", 12: "smpte432"}


def _color_name(value: Any, table: dict[int, str | None]) -> str | None:
    if value is None:
        return None
    try:
        return table.get(int(value), f"unknown({int(value)})")
    except (TypeError, ValueError):
        return str(value)


def _vint(b: bytes, pos: int, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-length integer at `pos`: (value, length), or None if malformed.  A size
    whose bits are all 1 ("unknown size", live recordings) is returned as -1."""
    if pos >= len(b) or b[pos] == 0:
        return None
    first = b[pos]
    n = 8 - first.bit_length() + 1
    if pos + n > len(b):
        return None
    value = first if keep_marker else first & ((1 << (8 - n)) - 1)
    for x in b[pos + 1 : pos + n]:
        value = (value << 8) | x
    if not keep_marker and value == (1 << (7 * n)) - 1:
        return -1, n
    return value, n


def ebml_truncation(path: str | os.PathLike[str], size: int) -> str | None:
    """ "...truncated" when a Matroska/WebM file's Segment declares more bytes than the file has
    (a recording cut short), else None.  A live recording's "unknown size" says nothing."""
    try:
        with open_regular(path) as f:
            head = f.read(4096)
    except OSError:
        return None
    ident = _vint(head, 0, True)
    if ident is None or ident[0] != 0x1A45DFA3:
        return None
    hsize = _vint(head, ident[1], False)
    if hsize is None or hsize[0] < 0:
        return None
    pos = ident[1] + hsize[1] + hsize[0]
    seg = _vint(head, pos, True)
    if seg is None or seg[0] != 0x18538067:
        return None
    ssize = _vint(head, pos + seg[1], False)
    if ssize is None or ssize[0] < 0:
        return None
    end = pos + seg[1] + ssize[1] + ssize[0]
    if end > size:
        return (
            f"the file is truncated: its Matroska segment declares {end} bytes, but the file "
            f"has {size}"
        )
    return None
