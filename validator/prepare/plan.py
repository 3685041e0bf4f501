"""The repair plan: what `validator prepare` will do to a clip, decided from its report alone.

`make_plan(report, options)` is a pure function of the input's validation report (its results,
media facts and voice segments): it says which failed MED/SEG rules it can repair and how
(remux, re-encode, rotate, convert, trim, constant frame rate), and lists the failures no
preprocessing can repair (frame rate below 25 fps, low resolution, lighting, framing, lips open
while listening, ...).  Nothing here touches media, so the planner is tested on hand-built reports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..profiles import PROFILES, Profile
from ..report import Report
from ..spans import Span

# Documented upload limit (MED005); the encode aims 5% under it so the container overhead and
# the VBV window can never push the file over.
SIZE_LIMIT_BYTES = 750_000_000
SIZE_SAFETY = 0.95
# Above 4K the platform gains nothing and uploads get slow: scale the short side down to this.
MAX_SHORT_SIDE_PX = 2160
# libx264 quality: CRF 18 is visually lossless for talking-head footage; `fast` keeps a 60 s
# 1080p encode in tens of seconds on a laptop.  The bitrate cap (maxrate/bufsize) only bites on
# very long or very noisy footage, where it keeps the file under the size limit.
CRF = 18
PRESET = "fast"
MAX_VIDEO_BITRATE = 40_000_000  # bit/s: far above what CRF 18 needs for 4K talking heads
AUDIO_BITRATE_STEREO = 192_000
AUDIO_BITRATE_MONO = 128_000
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
# Standard rates a measured rate is snapped to (a phone's 29.97 stays 30000/1001).
STANDARD_RATES = (
    Fraction(24000, 1001),
    Fraction(24),
    Fraction(25),
    Fraction(30000, 1001),
    Fraction(30),
    Fraction(48),
    Fraction(50),
    Fraction(60000, 1001),
    Fraction(60),
)
MIN_FPS = 25.0
# Trimming: keep this much before the first word and after the required listening time.
LEAD_MARGIN_S = 1.0
TAIL_MARGIN_S = 2.0
# Only trim when it removes more than this at either end: a few seconds of extra room tone is
# harmless and not worth re-encoding a clip that could otherwise be stream-copied.
MIN_TRIM_S = 5.0
# Gentle loudness normalisation (only with --loudness): leave speech alone inside this window,
# otherwise move it to the target, never by more than MAX_GAIN_DB and never past the peak ceiling.
LOUDNESS_TARGET_LUFS = -20.0
LOUDNESS_WINDOW_LUFS = (-26.0, -14.0)
MAX_GAIN_DB = 12.0
PEAK_CEILING_DBFS = -1.0

# Why a failed rule cannot be repaired by preprocessing, by rule and then by family.
_UNFIXABLE_RULE = {
    "MED001": "the file cannot be read: export or copy it again from the original recording",
    "MED006": "frames that were never recorded cannot be invented honestly: record again at 30 fps",
    "MED007": "upscaling adds no detail: record again at 1080p",
    "MED009": "there is no voice to repair: record again with the microphone on",
    "MED011": "the damage is in the file itself: copy or export it again from the original",
}
_UNFIXABLE_FAMILY = {
    "SEG": "the speaking/listening structure is in the recording itself: record again",
    "AUD": "the sound was recorded this way; the platform wants the raw voice, so no filtering: record again",
    "FAC": "framing, pose and movement are in the picture itself: record again",
    "MTH": "mouth behaviour is in the recording itself: record again",
    "IMG": "light, focus and noise are in the picture itself: record again",
    "EDT": "the take itself is edited or broken: record one continuous take",
    "CON": "the consent statement is in the recording itself: record it again",
}


@dataclass(frozen=True)
class PrepareOptions:
    """What the user asked for.  `trim`: "auto" trims by the voice segments, "none" never trims."""

    trim: str = "auto"
    keep_metadata: bool = False
    loudness: bool = False
    reencode: bool = False  # force a re-encode even when the video could be stream-copied
    overwrite: bool = False  # replace an existing OUT (never IN)

    def __post_init__(self) -> None:
        if self.trim not in ("auto", "none"):
            from ..errors import UsageError

            raise UsageError(f"trim: {self.trim!r} is not one of auto, none")


@dataclass(frozen=True)
class Fix:
    """One planned repair: the rule it addresses ("" when no rule failed, e.g. a rotation flag)."""

    rule: str
    action: str  # remux | encode-video | encode-audio | rotate | convert | cfr | scale | trim | gain | channels
    detail: str


@dataclass(frozen=True)
class Unfixable:
    rule: str
    message: str  # the rule's own finding
    reason: str  # why preprocessing cannot repair it


@dataclass(frozen=True)
class Trim:
    start_s: float
    end_s: float | None  # None: keep to the end
    reason: str


@dataclass(frozen=True)
class Plan:
    """Everything the repair step needs; `possible` is False when there is nothing to write
    (the input cannot be read)."""

    possible: bool
    video: str  # "copy" | "encode"
    audio: str  # "copy" | "encode" | "none"
    fixes: tuple[Fix, ...] = ()
    unfixable: tuple[Unfixable, ...] = ()
    rotate_cw: int = 0
    tone_map: str | None = None  # "pq" | "hlg": HDR transfer to tone-map to SDR
    source_matrix: str | None = None  # "bt2020" when the source is BT.2020 (converted to BT.709)
    fps: Fraction | None = None  # constant output rate (encode only)
    size: tuple[int, int] | None = None  # output display size, when scaled
    trim: Trim | None = None
    gain_db: float = 0.0
    audio_channel: int | None = None  # keep only this input channel (0 left, 1 right) as mono
    max_video_bitrate: int = MAX_VIDEO_BITRATE
    audio_bitrate: int = AUDIO_BITRATE_STEREO
    audio_rate: int | None = None
    keep_metadata: bool = False
    notes: tuple[str, ...] = ()
    fixed_rules: tuple[str, ...] = field(default=())  # rules the result must pass

    def describe(self) -> str:
        """The plan as the user reads it (`--dry-run` prints this)."""
        lines: list[str] = []
        if not self.possible:
            lines.append("Nothing can be written: the input cannot be read.")
        else:
            how = {
                "copy": "stream copy (lossless)",
                "encode": f"re-encode (H.264 8-bit 4:2:0, CRF {CRF}, preset {PRESET})",
            }
            lines.append(f"Video: {how[self.video]}")
            audio = {
                "copy": "stream copy",
                "encode": "encode to AAC",
                "none": "none (no audio stream)",
            }
            lines.append(f"Audio: {audio[self.audio]}")
            lines.append("")
            lines.append(
                "Will repair:"
                if self.fixes
                else "Nothing to repair: the clip is copied into a clean MP4."
            )
            for f in self.fixes:
                lines.append(f"  {f.rule or '-':<7} {f.action:<13} {f.detail}")
        if self.unfixable:
            lines.append("")
            lines.append(
                "Cannot be repaired by preprocessing (needs a new recording or a better source):"
            )
            for u in self.unfixable:
                lines.append(f"  {u.rule:<7} {u.message}")
                lines.append(f"          why: {u.reason}")
        for n in self.notes:
            lines.append(f"note: {n}")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "possible": self.possible,
            "video": self.video,
            "audio": self.audio,
            "fixes": [
                {"rule": f.rule or None, "action": f.action, "detail": f.detail} for f in self.fixes
            ],
            "unfixable": [
                {"rule": u.rule, "message": u.message, "reason": u.reason} for u in self.unfixable
            ],
            "trim": None
            if self.trim is None
            else {
                "start_s": round(self.trim.start_s, 3),
                "end_s": None if self.trim.end_s is None else round(self.trim.end_s, 3),
            },
            "fps": None if self.fps is None else float(self.fps),
            "rotate_cw": self.rotate_cw,
            "tone_map": self.tone_map,
            "gain_db": round(self.gain_db, 2),
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------- trimming


def plan_trim(
    speaking: Span | None,
    listening: Span | None,
    duration_s: float,
    profile: Profile,
    speech: Sequence[Span] = (),
    *,
    lead_margin_s: float = LEAD_MARGIN_S,
    tail_margin_s: float = TAIL_MARGIN_S,
    min_trim_s: float = MIN_TRIM_S,
) -> Trim | None:
    """Where to cut so the clip starts `lead_margin_s` before the first word and ends
    `tail_margin_s` after the profile's listening time, never inside speech.

    `speech` (optional) are voice-activity regions; a cut that would fall inside one is moved
    outside it.  Returns None when there is nothing worth trimming (less than `min_trim_s` at
    both ends) or the segments are unknown."""
    if speaking is None or duration_s <= 0:
        return None
    regions = sorted((s for s in speech if s.end_s > s.start_s), key=lambda s: s.start_s)
    first_word = min([speaking.start_s] + [r.start_s for r in regions[:1]])
    start = max(0.0, first_word - lead_margin_s)
    end: float | None = None
    if listening is not None:
        want = listening.start_s + profile.listening_s + tail_margin_s
        # Never cut inside speech: a region straddling the cut pushes the cut past its end.
        for r in regions:
            if r.start_s < want < r.end_s:
                want = r.end_s + tail_margin_s
        if want < duration_s:
            end = want
    lead = start
    tail = duration_s - end if end is not None else 0.0
    if lead < min_trim_s:
        start = 0.0
    if tail < min_trim_s:
        end = None
    if start == 0.0 and end is None:
        return None
    parts = []
    if start > 0:
        parts.append(f"cut {start:.1f} s before the first word (kept {first_word - start:.1f} s)")
    if end is not None:
        parts.append(
            f"cut {duration_s - end:.1f} s after the listening time "
            f"({profile.listening_s:g} s + {tail_margin_s:g} s margin)"
        )
    return Trim(start, end, "; ".join(parts))


def speech_regions(voice: Any) -> list[Span]:
    """Voice-activity regions from the voice evidence, whatever it names them; empty when it
    offers none (the planner then relies on the speaking/listening spans alone)."""
    if voice is None:
        return []
    for name in ("speech_runs", "speech_spans", "speech_regions", "speech", "regions"):
        value = getattr(voice, name, None)
        if isinstance(value, list | tuple) and all(
            hasattr(v, "start_s") and hasattr(v, "end_s") for v in value
        ):
            return [Span(float(v.start_s), float(v.end_s)) for v in value]
    return []


# ---------------------------------------------------------------------------------- rates


def snap_rate(fps: float) -> Fraction:
    """The nearest standard rate when within 0.5% of `fps`, else `fps` itself as a small fraction."""
    best = min(STANDARD_RATES, key=lambda r: abs(float(r) - fps))
    if abs(float(best) - fps) / float(best) < 0.005:
        return best
    return Fraction(fps).limit_denominator(1001)


def output_rate(media: dict[str, Any], stream_pts_s: Sequence[float] | None) -> Fraction | None:
    """The source's own rate: the declared average, or for a variable-rate clip the nominal rate
    the camera aimed at (median frame interval), provided the average is at least 25 fps."""
    declared = media.get("fps") or media.get("fps_from_timestamps")
    if not declared:
        return None
    if stream_pts_s is not None and len(stream_pts_s) > 2:
        import numpy as np

        d = np.diff(np.asarray(stream_pts_s, dtype=np.float64))
        d = d[d > 0]
        if len(d):
            nominal = 1.0 / float(np.median(d))
            if declared + 1e-6 >= MIN_FPS and nominal >= declared:
                return snap_rate(nominal)
    return snap_rate(float(declared))


# ---------------------------------------------------------------------------------- planning


def make_plan(report: Report, options: PrepareOptions | None = None) -> Plan:
    """Decide the repairs for the clip behind `report` (validated with voice evidence when
    trimming is wanted)."""
    options = options or PrepareOptions()
    media = report.media or {}
    failed = {r.rule: r for r in report.results if r.failed}
    ev = report.evidence
    if (
        not media
        or failed.get("MED001") is not None
        or not (ev and ev.media and ev.media.has_video)
    ):
        r = failed.get("MED001")
        msg = r.message if r else "the file has no readable video stream"
        return Plan(
            False, "copy", "none", unfixable=(Unfixable("MED001", msg, _UNFIXABLE_RULE["MED001"]),)
        )
    m = ev.media
    profile = PROFILES.get(report.profile) or next(iter(PROFILES.values()))

    fixes: list[Fix] = []
    unfixable: list[Unfixable] = []
    notes: list[str] = []
    fixed: list[str] = []
    encode_video = options.reencode
    if options.reencode:
        fixes.append(Fix("", "encode-video", "re-encode asked for (--reencode)"))

    # Container: the output is always MP4; MED002 is repaired even by a plain stream copy.
    if "MED002" in failed:
        fixes.append(Fix("MED002", "remux", f"{m.container} -> mp4"))
        fixed.append("MED002")

    if "MED003" in failed:
        encode_video = True
        fixes.append(Fix("MED003", "encode-video", f"{m.video_codec} -> h264"))
        fixed.append("MED003")

    rotate = int(m.rotation_deg or 0) % 360
    if rotate:
        encode_video = True
        fixes.append(
            Fix(
                "",
                "rotate",
                f"display rotation {rotate} deg applied to the pixels "
                "(some pipelines ignore the rotation flag)",
            )
        )

    tone_map = {"smpte2084": "pq", "arib-std-b67": "hlg"}.get(m.color_transfer or "")
    high_bit = (m.bit_depth or 8) > 8
    not_420 = bool(m.pix_fmt) and m.pix_fmt not in ("yuv420p", "yuvj420p") and not high_bit
    source_matrix = "bt2020" if (m.color_primaries == "bt2020" or tone_map) else None
    if tone_map or high_bit or not_420:
        encode_video = True
        what = []
        if high_bit:
            what.append(f"{m.bit_depth}-bit -> 8-bit")
        if tone_map:
            what.append(f"{'PQ' if tone_map == 'pq' else 'HLG'} HDR tone-mapped to SDR BT.709")
        elif source_matrix:
            what.append("BT.2020 -> BT.709")
        if not_420:
            what.append(f"{m.pix_fmt} -> yuv420p")
        fixes.append(Fix("MED012" if "MED012" in failed else "", "convert", ", ".join(what)))
        if "MED012" in failed:
            fixed.append("MED012")

    # Frame rate.  Below 25 fps nothing honest can be done; a variable rate becomes constant
    # at the source's own rate.
    stream_pts = ev.stream.video_pts_s if ev.stream is not None else None
    fps = output_rate(media, stream_pts)
    if "MED006" in failed:
        unfixable.append(Unfixable("MED006", failed["MED006"].message, _UNFIXABLE_RULE["MED006"]))
    if "MED010" in failed:
        encode_video = True
        if "MED006" in failed:
            fixes.append(
                Fix("", "cfr", f"constant {float(fps or 0):.3g} fps (still below 25: MED006 stays)")
            )
            unfixable.append(
                Unfixable(
                    "MED010",
                    failed["MED010"].message,
                    "the average rate is below 25 fps, so a constant rate at the source "
                    "rate stays below 25 fps",
                )
            )
        else:
            fixes.append(
                Fix(
                    "MED010",
                    "cfr",
                    f"constant {float(fps or 0):.5g} fps (the source's nominal rate)",
                )
            )
            fixed.append("MED010")

    # Resolution: down above 4K, never up.
    size = None
    if m.width and m.height and min(m.width, m.height) > MAX_SHORT_SIDE_PX:
        s = MAX_SHORT_SIDE_PX / min(m.width, m.height)
        size = (_even(m.width * s), _even(m.height * s))
        encode_video = True
        fixes.append(Fix("", "scale", f"{m.width}x{m.height} -> {size[0]}x{size[1]} (above 4K)"))
    if "MED007" in failed:
        unfixable.append(Unfixable("MED007", failed["MED007"].message, _UNFIXABLE_RULE["MED007"]))

    # Trimming by the voice segments.
    duration = float(media.get("duration_s") or m.video_duration_s or 0.0)
    trim = None
    voice = getattr(ev, "voice", None)
    if options.trim == "auto":
        speaking = getattr(voice, "speaking", None) if voice is not None else None
        listening = getattr(voice, "listening", None) if voice is not None else None
        trim = plan_trim(speaking, listening, duration, profile, speech_regions(voice))
        if trim is not None:
            encode_video = True
            fixes.append(Fix("MED008" if "MED008" in failed else "", "trim", trim.reason))
            new_duration = (trim.end_s if trim.end_s is not None else duration) - trim.start_s
            if (
                "MED008" in failed
                and failed["MED008"].measured is not None
                and failed["MED008"].limit is not None
                and failed["MED008"].measured > failed["MED008"].limit
            ):
                lim = float(failed["MED008"].limit)
                if new_duration <= lim:
                    fixed.append("MED008")
        elif voice is None:
            notes.append(
                "no voice segments were measured, so nothing was trimmed "
                f"({ev.why_missing('voice')})"
            )
    # Speech found inside the listening segment (SEG004) that lies wholly after the cut goes
    # with the cut: a "that's it, thanks" at the end of a long tail.
    seg4 = failed.get("SEG004")
    if (
        seg4 is not None
        and trim is not None
        and trim.end_s is not None
        and seg4.spans
        and all(sp.start_s >= trim.end_s for sp in seg4.spans)
    ):
        fixes.append(
            Fix("SEG004", "trim", f"the speech at {seg4.spans[0].start_s:.1f} s is after the cut")
        )
        fixed.append("SEG004")
    if "MED008" in failed and "MED008" not in fixed:
        r = failed["MED008"]
        too_long = r.measured is not None and r.limit is not None and r.measured > r.limit
        reason = (
            "the speaking and listening segments were not found, so there is no safe place to cut"
            if too_long
            else "a clip cannot be made longer: record the full take"
        )
        if too_long and options.trim == "none":
            reason = "trimming is off (--trim none)"
        unfixable.append(Unfixable("MED008", r.message, reason))

    # File size: a capped re-encode (and any trim) brings it under the limit (MED005's own
    # threshold when the report carries it, else the documented 750 MB).
    size_limit = float(
        (report.settings or {})
        .get("rule_params", {})
        .get("MED005", {})
        .get("max_size_bytes", SIZE_LIMIT_BYTES)
    )
    kept = (
        (trim.end_s if trim and trim.end_s is not None else duration)
        - (trim.start_s if trim else 0.0)
    ) or duration
    audio_bitrate = AUDIO_BITRATE_MONO if (m.channels or 1) == 1 else AUDIO_BITRATE_STEREO
    max_bitrate = MAX_VIDEO_BITRATE
    if kept > 0:
        # Container overhead: index and headers, well under 1 MB for an hour of video.
        overhead = min(1_000_000, 0.02 * size_limit)
        budget_bits = (size_limit * SIZE_SAFETY - overhead) * 8 - audio_bitrate * kept
        # maxrate * (duration + 1 s of VBV buffer) stays within the budget.
        max_bitrate = int(max(100_000, min(MAX_VIDEO_BITRATE, budget_bits / (kept + 1.0))))
    if "MED005" in failed:
        encode_video = True
        fixes.append(
            Fix(
                "MED005",
                "encode-video",
                f"re-encode capped at {max_bitrate / 1e6:.1f} Mbit/s "
                f"(under {size_limit / 1e6:.1f} MB for {kept:.0f} s)",
            )
        )
        fixed.append("MED005")

    # Audio.
    audio = "none"
    audio_channel = None
    audio_rate = None
    gain_db = 0.0
    if m.has_audio:
        audio = "copy"
        if "MED004" in failed:
            audio = "encode"
            fixes.append(Fix("MED004", "encode-audio", f"{m.audio_codec} -> aac"))
            fixed.append("MED004")
        if "MED013" in failed and ev.audio is not None and ev.audio.channels >= 2:
            ch = _live_channel(ev.audio)
            if ch is not None:
                audio = "encode"
                audio_channel = ch
                fixes.append(
                    Fix(
                        "MED013",
                        "channels",
                        f"keep the {('left', 'right')[ch]} channel as mono "
                        "(the other is silent or in antiphase)",
                    )
                )
                if (m.sample_rate_hz or 0) >= 16000:
                    fixed.append("MED013")
        if "MED013" in failed and "MED013" not in fixed:
            unfixable.append(
                Unfixable(
                    "MED013",
                    failed["MED013"].message,
                    "sound that was never recorded (a low sample rate) cannot be restored",
                )
            )
        if options.loudness and ev.audio is not None:
            gain_db, loud_note = plan_gain(ev.audio)
            notes.append(loud_note)
            if gain_db:
                audio = "encode"
                fixes.append(
                    Fix("", "gain", f"{gain_db:+.1f} dB (gentle loudness normalisation, gain only)")
                )
        if trim is not None:
            # Cutting the video re-times everything; the audio is re-cut on the same timeline.
            audio = "encode"
        if audio == "encode":
            rate = m.sample_rate_hz or 48000
            audio_rate = rate if rate in AAC_RATES else 48000
            if audio_channel is not None:
                audio_bitrate = AUDIO_BITRATE_MONO
    for rid, r in failed.items():
        if rid in fixed or any(u.rule == rid for u in unfixable):
            continue
        if rid == "MED002" or rid == "MED012":
            continue
        reason = (
            _UNFIXABLE_RULE.get(rid)
            or _UNFIXABLE_FAMILY.get(rid[:3])
            or "no preprocessing step addresses this rule"
        )
        unfixable.append(Unfixable(rid, r.message, reason))

    return Plan(
        possible=True,
        video="encode" if encode_video else "copy",
        audio=audio,
        fixes=tuple(fixes),
        unfixable=tuple(sorted(unfixable, key=lambda u: u.rule)),
        rotate_cw=rotate,
        tone_map=tone_map,
        source_matrix=source_matrix,
        fps=fps if encode_video else None,
        size=size,
        trim=trim,
        gain_db=gain_db,
        audio_channel=audio_channel,
        max_video_bitrate=max_bitrate,
        audio_bitrate=audio_bitrate,
        audio_rate=audio_rate,
        keep_metadata=options.keep_metadata,
        notes=tuple(notes),
        fixed_rules=tuple(fixed),
    )


def plan_gain(audio: Any) -> tuple[float, str]:
    """Gentle gain from the integrated loudness (ITU-R BS.1770, `validator.loudness`: the same
    measurement as pyloudnorm, without scipy) of the 16 kHz mono analysis signal.  Returns
    (gain_db, a sentence for the user)."""
    import numpy as np

    from ..loudness import integrated_loudness

    pcm = np.asarray(audio.pcm16k, dtype=np.float64)
    if len(pcm) < audio.RATE // 2:
        return 0.0, "loudness: too little audio to measure; left unchanged"
    loudness = integrated_loudness(pcm, audio.RATE)
    if not math.isfinite(loudness):
        return 0.0, "loudness: the audio is silent; left unchanged"
    lo, hi = LOUDNESS_WINDOW_LUFS
    if lo <= loudness <= hi:
        return 0.0, f"loudness: {loudness:.1f} LUFS is within {lo:g} to {hi:g} LUFS; left unchanged"
    gain = max(-MAX_GAIN_DB, min(MAX_GAIN_DB, LOUDNESS_TARGET_LUFS - loudness))
    peak = max(audio.channel_peak) if audio.channel_peak else 0.0
    if peak > 0:
        gain = min(gain, PEAK_CEILING_DBFS - 20 * math.log10(peak))
    gain = round(gain, 1)
    if abs(gain) < 0.5:
        return (
            0.0,
            f"loudness: {loudness:.1f} LUFS; the peak leaves no room for gain; left unchanged",
        )
    return (
        gain,
        f"loudness: {loudness:.1f} LUFS -> about {loudness + gain:.1f} LUFS ({gain:+.1f} dB gain)",
    )


def _live_channel(audio: Any) -> int | None:
    """Index of the channel to keep when one is silent or the pair is in antiphase."""
    rms = list(audio.channel_rms[:2])
    if len(rms) < 2:
        return None
    if min(rms) <= 0 or 20 * math.log10(min(rms) / max(rms)) < -30:
        return int(rms[1] > rms[0])
    if audio.lr_correlation is not None and audio.lr_correlation <= -0.5:
        return 0
    return None


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)
