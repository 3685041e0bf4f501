"""`validator info FILE`: media facts without a verdict (MediaInfo-style).

Container, every stream (codec, profile, size, pixel format, bit depth, colour transfer, frame
rate declared and measured from the timestamps, rotation, sample rate, channels, duration,
bitrate), the decode pass's health (decode errors, truncation) and the integrated loudness of
the audio (BS.1770, `validator/loudness.py`) with its peak.  It runs the same probe and decode
pass as `check` (MED rules' evidence only, no face or voice models) and judges nothing.

A photo (told by its first bytes, as `check` tells it) gets its header facts instead: format,
size as displayed and as stored (EXIF orientation), colour mode and bit depth, transparency,
frames (animation), the embedded ICC profile, EXIF and whether it holds a GPS location, and
whether the pixels decode completely (the reader `check` uses, `photo/load.py`; no model runs).
Exit 0 when the facts could be read, 1 when the file is not readable media, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from ._common import write_output

ORDER = 30
EXIT_UNREADABLE = 1


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="show a clip's or photo's media facts (no verdict)",
        description="Container and stream facts, frame rate declared vs measured, rotation, "
        "decode health and loudness (a photo: format, size, orientation, colour, metadata), "
        "without judging anything. Exit 0: facts read; 1: not readable media; 2: usage error.",
    )
    p.add_argument("clip", metavar="FILE", help="a video (or audio) file, or a photo")
    p.add_argument("--format", default="text", choices=["text", "json"])
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    facts = media_facts(args.clip)
    if args.format == "json":
        write_output(json.dumps(facts, indent=2) + "\n", None)
    else:
        write_output(facts_text(facts), None)
    if facts.get("error"):
        import sys

        print(f"validator: {args.clip}: {facts['error']}", file=sys.stderr)
        return EXIT_UNREADABLE
    return 0


def media_facts(path: str) -> dict[str, Any]:
    """Everything `info` prints, as plain data."""
    from ..photo import sniff_kind
    from ..pipeline import validate
    from ..settings import Settings

    if sniff_kind(path) == "photo":  # by its first bytes, as `check` tells a photo
        return photo_facts(path)
    # The decode pass of `check`, with the cheap MED evidence only (the probe and the audio).
    report = validate(
        path, Settings(select=("MED",)), keep_evidence=True, extra_evidence=("audio",)
    )
    ev = report.evidence
    out: dict[str, Any] = {
        "path": str(path),
        "size_bytes": report.size_bytes,
        "sha256": report.sha256,
    }
    if ev is None or ev.media is None:
        out["error"] = f"not readable media: {getattr(ev, 'open_error', None) or 'unknown reason'}"
        return out
    m = ev.media
    out["container"] = _container_facts(m)
    out["streams"] = _streams(path, m)
    out["video"] = _video_facts(m, ev.stream) if m.has_video else None
    out["audio"] = _audio_facts(m, ev.audio) if m.has_audio else None
    out["decode"] = _decode_facts(ev.stream) if ev.stream is not None else None
    return out


def photo_facts(path: str) -> dict[str, Any]:
    """A photo's header facts and whether its pixels decode (`check`'s reader, no models)."""
    from ..cache import file_sha256
    from ..photo.load import PhotoReadError, read_photo

    out: dict[str, Any] = {"path": str(path), "kind": "photo"}
    try:
        # Decoded whole (a JPEG at a reduced DCT scale), so a truncated file says so, then
        # kept at 64 pixels: only the header's facts are shown.
        info, error = read_photo(path, max_long_side=64).info, None
    except PhotoReadError as e:
        info, error = e.info, str(e)
    except OSError as e:
        return {**out, "error": f"cannot read the file: {e.strerror or e}"}
    if error is not None and not error.startswith("not a readable image"):
        error = f"not a readable image: {error}"
    if info is None:
        return {**out, "error": error}
    try:
        out["sha256"] = file_sha256(path)
    except OSError:
        out["sha256"] = None
    out["size_bytes"] = info.size_bytes
    out["photo"] = {
        **info.to_dict(),
        "megapixels": info.megapixels,
        "has_exif": info.has_exif,
        "decode": "clean" if error is None else error,
    }
    if error is not None:
        out["error"] = error
    return out


def _photo_text(f: dict[str, Any]) -> list[str]:
    p = f["photo"]
    turned = (
        f" (EXIF orientation {p['orientation']}: shown turned {p['rotation_deg']} deg)"
        if p["rotation_deg"]
        else (f" (EXIF orientation {p['orientation']})" if p["orientation"] != 1 else "")
    )
    depth = f"{p['mode']} {p['bit_depth']}-bit" + (", transparency" if p["has_alpha"] else "")
    frames = "still" if p["frames"] <= 1 else f"animated, {p['frames']} frames"
    icc = f"ICC profile {p['icc_profile']!r}" if p["icc_profile"] else "no ICC profile (sRGB)"
    meta = (
        ("EXIF, with a GPS location" if p["has_gps"] else "EXIF, no GPS location")
        if p["has_exif"]
        else "no EXIF"
    )
    return [
        f"  image       {str(p['format']).upper()}, {p['width']}x{p['height']} as displayed"
        f"{turned}, {p['megapixels']:g} MP, {f['size_bytes']:,} bytes",
        f"  pixels      {depth}; {frames}; {icc}",
        f"  metadata    {meta}",
        f"  decode      {p['decode']}",
    ]


def _container_facts(m: Any) -> dict[str, Any]:
    return {
        "format": m.container,
        "demuxer": m.format_name,
        "brand": (m.brand or "").strip() or None,
        "duration_s": _r(m.duration_s),
        "bitrate_kbps": _r(8 * m.size_bytes / m.duration_s / 1000, 0) if m.duration_s else None,
    }


def _streams(path: str, m: Any) -> list[dict[str, Any]]:
    """Every stream as the container lists it (opened again: the probe keeps no streams)."""
    from ..media.probe import MediaOpenError, open_media

    try:
        container, _ = open_media(path)
    except (MediaOpenError, OSError):
        return []
    try:
        return [_stream(s, m) for s in container.streams]
    finally:
        container.close()


def _video_facts(m: Any, st: Any) -> dict[str, Any]:
    return {
        "display_width": m.width,
        "display_height": m.height,
        "coded_width": m.coded_width,
        "coded_height": m.coded_height,
        "rotation_deg": m.rotation_deg,
        "fps_declared": _r(m.fps),
        "fps_measured": _r(m.fps_from_timestamps),
        "frames_decoded": int(len(st.video_pts_s)) if st is not None else None,
        "pix_fmt": m.pix_fmt,
        "bit_depth": m.bit_depth,
        "color_transfer": m.color_transfer,
        "color_primaries": m.color_primaries,
        "hdr": m.is_hdr,
        "duration_s": _r(m.video_duration_s),
    }


def _audio_facts(m: Any, a: Any) -> dict[str, Any]:
    """The audio stream's facts, with loudness and peak when at least half a second decoded."""
    audio: dict[str, Any] = {
        "codec": m.audio_codec,
        "sample_rate_hz": m.sample_rate_hz,
        "channels": m.channels,
        "duration_s": _r(m.audio_duration_s),
        "loudness_lufs": None,
        "peak_dbfs": None,
    }
    if a is not None and len(a.pcm16k) >= a.RATE // 2:
        from ..loudness import integrated_loudness

        lufs = integrated_loudness(a.pcm16k, a.RATE)
        audio["loudness_lufs"] = _r(lufs, 1) if math.isfinite(lufs) else None
        peak = max(a.channel_peak) if a.channel_peak else 0.0
        audio["peak_dbfs"] = _r(20 * math.log10(peak), 1) if peak > 0 else None
    return audio


def _decode_facts(st: Any) -> dict[str, Any]:
    return {
        "decode_errors": st.decode_errors,
        "corrupt_frames": st.corrupt_frames,
        "truncated": st.truncated,
        "video_decoded_s": _r(st.video_decoded_s),
        "audio_decoded_s": _r(st.audio_decoded_s),
    }


def _stream(s: Any, m: Any) -> dict[str, Any]:
    cc = s.codec_context
    d: dict[str, Any] = {"index": s.index, "type": s.type, "codec": cc.name if cc else None}
    if cc is not None and getattr(cc, "profile", None):
        d["profile"] = cc.profile
    if s.type == "video" and cc is not None:
        d["size"] = f"{cc.width}x{cc.height}"
        d["pix_fmt"] = getattr(cc, "pix_fmt", None)
        rate = s.average_rate or s.guessed_rate
        d["fps_declared"] = _r(float(rate)) if rate else None
    elif s.type == "audio" and cc is not None:
        d["sample_rate_hz"] = cc.sample_rate
        d["channels"] = cc.channels
        d["layout"] = getattr(getattr(cc, "layout", None), "name", None)
    if s.duration and s.time_base:
        d["duration_s"] = _r(float(s.duration * s.time_base))
    if cc is not None and cc.bit_rate:
        d["bitrate_kbps"] = round(cc.bit_rate / 1000)
    lang = (s.metadata or {}).get("language")
    if lang and lang != "und":
        d["language"] = lang
    analysed = s.index in (m.video_index, m.audio_index)
    d["analysed"] = analysed
    return d


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)


def facts_text(f: dict[str, Any]) -> str:
    lines = [f"{f['path']}"]
    if f.get("photo"):  # a photo: its facts, even when its pixels do not decode
        return "\n".join([*lines, *_photo_text(f)]) + "\n"
    if f.get("error"):
        return "\n".join([*lines, f"  {f['error']}"]) + "\n"
    c = f["container"]
    size = f"{f['size_bytes']:,} bytes" if f.get("size_bytes") is not None else ""
    lines.append(
        f"  container   {c['format']} ({c['demuxer']}"
        + (f", brand {c['brand']}" if c.get("brand") else "")
        + f"), {_s(c['duration_s'])}, {size}"
        + (f", {c['bitrate_kbps']:.0f} kbit/s" if c.get("bitrate_kbps") else "")
    )
    for s in f["streams"]:
        bits = [f"#{s['index']} {s['type']}", str(s.get("codec"))]
        if s.get("profile"):
            bits[-1] += f" ({s['profile']})"
        for k, fmt in (
            ("size", "{}"),
            ("pix_fmt", "{}"),
            ("fps_declared", "{} fps"),
            ("sample_rate_hz", "{} Hz"),
            ("channels", "{} ch"),
            ("layout", "{}"),
            ("duration_s", "{} s"),
            ("bitrate_kbps", "{} kbit/s"),
            ("language", "{}"),
        ):
            if s.get(k) is not None:
                bits.append(fmt.format(s[k]))
        if not s.get("analysed") and s["type"] in ("video", "audio"):
            bits.append("(not analysed)")
        lines.append("  stream      " + ", ".join(bits))
    v = f.get("video")
    if v:
        lines.append(
            f"  picture     {v['display_width']}x{v['display_height']} as displayed"
            + (
                f" (coded {v['coded_width']}x{v['coded_height']}, rotated {v['rotation_deg']} deg)"
                if v["rotation_deg"]
                else ""
            )
            + f", {v['pix_fmt']}, {v['bit_depth']}-bit"
            + (f", transfer {v['color_transfer']}" if v.get("color_transfer") else "")
            + (" (HDR)" if v.get("hdr") else "")
        )
        lines.append(
            f"  frame rate  {_n(v['fps_declared'])} fps declared, {_n(v['fps_measured'])} fps "
            f"measured from {v['frames_decoded']} frame timestamps"
        )
    a = f.get("audio")
    if a:
        loud = (
            f"{a['loudness_lufs']:.1f} LUFS integrated (BS.1770, 16 kHz mono mix)"
            if a.get("loudness_lufs") is not None
            else "loudness not measurable (silent or too short)"
        )
        peak = f", peak {a['peak_dbfs']:.1f} dBFS" if a.get("peak_dbfs") is not None else ""
        lines.append(
            f"  audio       {a['codec']}, {a['sample_rate_hz']} Hz, {a['channels']} ch, "
            f"{_s(a['duration_s'])}; {loud}{peak}"
        )
    else:
        lines.append("  audio       none")
    d = f.get("decode")
    if d:
        health = (
            "clean"
            if not (d["decode_errors"] or d["corrupt_frames"] or d["truncated"])
            else f"{d['decode_errors']} decode errors, {d['corrupt_frames']} corrupt frames"
            + (", truncated" if d["truncated"] else "")
        )
        lines.append(
            f"  decode      {health}; video decoded to {_s(d['video_decoded_s'])}, "
            f"audio to {_s(d['audio_decoded_s'])}"
        )
    return "\n".join(lines) + "\n"


def _s(x: float | None) -> str:
    return "? s" if x is None else f"{x:.3f} s"


def _n(x: float | None) -> str:
    return "?" if x is None else f"{x:g}"
