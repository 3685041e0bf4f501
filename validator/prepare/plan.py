"""The repair plan: what `validator prepare` will do to a clip, decided from its report and the
live evidence the report was judged on.

`make_plan(report, options)` reads the input's validation report (which rules failed, with their
findings, measured values and limits; the media facts; the profile; MED005's size limit from its
settings) and the report's live `Evidence` (media facts, video frame timestamps, voice segments
and speech runs, audio channel levels and the 16 kHz signal), so the report must come straight
from `validate()`.  It says which failed rules it can repair and how (remux, re-encode, rotate,
convert, trim, constant frame rate, keep one channel), and lists the failures no preprocessing
can repair (frame rate below 25 fps, low resolution, lighting, framing, lips open while
listening, ...).

Each repair decision is a small fixer in the `FIXERS` table; `make_plan` runs them in order on a
`Draft`.  Nothing here touches media, so the planner is tested on hand-built reports and
Evidence (`tests/test_prepare.py`, `tests/test_prepare_plan_pins.py`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol

from ..evidence import Evidence, MediaInfo
from ..profiles import PROFILES, Profile
from ..report import Report, Result
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
        how = {
            "copy": "stream copy (lossless)",
            "encode": f"re-encode (H.264 8-bit 4:2:0, CRF {CRF}, preset {PRESET})",
        }
        audio = {"copy": "stream copy", "encode": "encode to AAC", "none": "none (no audio stream)"}
        return describe_repairs(
            self,
            head=(f"Video: {how[self.video]}", f"Audio: {audio[self.audio]}"),
            unreadable="the input cannot be read",
            nothing="the clip is copied into a clean MP4",
            retake="a new recording or a better source",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "possible": self.possible,
            "video": self.video,
            "audio": self.audio,
            **repairs_to_dict(self),
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


class _Repairs(Protocol):
    possible: bool
    fixes: tuple[Fix, ...]
    unfixable: tuple[Unfixable, ...]
    notes: tuple[str, ...]


def describe_repairs(
    plan: _Repairs, *, head: Sequence[str], unreadable: str, nothing: str, retake: str
) -> str:
    """A plan's text, for a clip's `Plan` and a photo's `PhotoPlan` alike: `head` (what will be
    written), the repairs, what cannot be repaired (it needs `retake`), the notes."""
    lines: list[str] = []
    if not plan.possible:
        lines.append(f"Nothing can be written: {unreadable}.")
    else:
        lines += [*head, ""]
        lines.append("Will repair:" if plan.fixes else f"Nothing to repair: {nothing}.")
        lines += [f"  {f.rule or '-':<7} {f.action:<13} {f.detail}" for f in plan.fixes]
    if plan.unfixable:
        lines += ["", f"Cannot be repaired by preprocessing (needs {retake}):"]
        for u in plan.unfixable:
            lines.append(f"  {u.rule:<7} {u.message}")
            lines.append(f"          why: {u.reason}")
    lines += [f"note: {n}" for n in plan.notes]
    return "\n".join(lines) + "\n"


def repairs_to_dict(plan: _Repairs) -> dict[str, Any]:
    """The repairs and the unrepairable failures of a plan, for its JSON."""
    return {
        "fixes": [
            {"rule": f.rule or None, "action": f.action, "detail": f.detail} for f in plan.fixes
        ],
        "unfixable": [
            {"rule": u.rule, "message": u.message, "reason": u.reason} for u in plan.unfixable
        ],
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
    """The voice evidence's speech runs (`VoiceEvidence.speech_runs`); empty when it has none
    (the planner then relies on the speaking/listening spans alone)."""
    runs = getattr(voice, "speech_runs", None) if voice is not None else None
    return [Span(float(v.start_s), float(v.end_s)) for v in runs or ()]


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


@dataclass
class Draft:
    """The plan being made.  Each fixer reads the report and evidence here and adds its
    decision: a repair (`fix`), a reason it cannot repair (`cannot`), settings for the writer."""

    report: Report
    options: PrepareOptions
    ev: Evidence  # the report's live evidence
    m: MediaInfo  # its media facts
    failed: dict[str, Result]
    profile: Profile
    duration: float
    fixes: list[Fix] = field(default_factory=list)
    unfixable: list[Unfixable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    settled: set[str] = field(default_factory=set)  # decided without a fix or a reason
    encode_video: bool = False
    audio: str = "none"
    rotate: int = 0
    tone_map: str | None = None
    source_matrix: str | None = None
    fps: Fraction | None = None
    size: tuple[int, int] | None = None
    trim: Trim | None = None
    gain_db: float = 0.0
    audio_channel: int | None = None
    max_bitrate: int = MAX_VIDEO_BITRATE
    audio_bitrate: int = AUDIO_BITRATE_STEREO
    audio_rate: int | None = None

    def fix(self, rule: str, action: str, detail: str, *, fixed: bool = True) -> None:
        """Plan a repair; `rule` ("" for none) then counts as repaired unless `fixed` is False."""
        self.fixes.append(Fix(rule, action, detail))
        if rule and fixed:
            self.fixed.append(rule)

    def cannot(self, rule: str, reason: str) -> None:
        """List the failed `rule` as not repairable, with its own finding and `reason`."""
        self.unfixable.append(Unfixable(rule, self.failed[rule].message, reason))

    def decided(self, rule: str) -> bool:
        return (
            rule in self.fixed
            or rule in self.settled
            or any(u.rule == rule for u in self.unfixable)
        )

    def kept_s(self) -> float:
        """The duration the output keeps: the trimmed length, or the whole clip's."""
        t = self.trim
        if t is None:
            return self.duration
        return (t.end_s if t.end_s is not None else self.duration) - t.start_s

    def plan(self) -> Plan:
        return Plan(
            possible=True,
            video="encode" if self.encode_video else "copy",
            audio=self.audio,
            fixes=tuple(self.fixes),
            unfixable=tuple(sorted(self.unfixable, key=lambda u: u.rule)),
            rotate_cw=self.rotate,
            tone_map=self.tone_map,
            source_matrix=self.source_matrix,
            fps=self.fps if self.encode_video else None,
            size=self.size,
            trim=self.trim,
            gain_db=self.gain_db,
            audio_channel=self.audio_channel,
            max_video_bitrate=self.max_bitrate,
            audio_bitrate=self.audio_bitrate,
            audio_rate=self.audio_rate,
            keep_metadata=self.options.keep_metadata,
            notes=tuple(self.notes),
            fixed_rules=tuple(self.fixed),
        )


@dataclass(frozen=True)
class Fixer:
    """One repair decision: `decide(draft)` for the failed `rules` it owns (none for a repair
    that no rule asks for, such as applying a rotation flag)."""

    rules: tuple[str, ...]
    decide: Callable[[Draft], None]


def _forced_reencode(d: Draft) -> None:
    if d.options.reencode:
        d.encode_video = True
        d.fix("", "encode-video", "re-encode asked for (--reencode)")


def _container(d: Draft) -> None:
    # The output is always MP4: MED002 is repaired even by a plain stream copy.
    if "MED002" in d.failed:
        d.fix("MED002", "remux", f"{d.m.container} -> mp4")


def _video_codec(d: Draft) -> None:
    if "MED003" in d.failed:
        d.encode_video = True
        d.fix("MED003", "encode-video", f"{d.m.video_codec} -> h264")


def _rotation(d: Draft) -> None:
    d.rotate = int(d.m.rotation_deg or 0) % 360
    if d.rotate:
        d.encode_video = True
        d.fix(
            "",
            "rotate",
            f"display rotation {d.rotate} deg applied to the pixels "
            "(some pipelines ignore the rotation flag)",
        )


def _colour(d: Draft) -> None:
    m = d.m
    d.tone_map = {"smpte2084": "pq", "arib-std-b67": "hlg"}.get(m.color_transfer or "")
    high_bit = (m.bit_depth or 8) > 8
    not_420 = bool(m.pix_fmt) and m.pix_fmt not in ("yuv420p", "yuvj420p") and not high_bit
    d.source_matrix = "bt2020" if (m.color_primaries == "bt2020" or d.tone_map) else None
    if not (d.tone_map or high_bit or not_420):
        # A failed MED012 with nothing here to convert is left as it is, and not listed.
        d.settled.add("MED012")
        return
    d.encode_video = True
    what = []
    if high_bit:
        what.append(f"{m.bit_depth}-bit -> 8-bit")
    if d.tone_map:
        what.append(f"{'PQ' if d.tone_map == 'pq' else 'HLG'} HDR tone-mapped to SDR BT.709")
    elif d.source_matrix:
        what.append("BT.2020 -> BT.709")
    if not_420:
        what.append(f"{m.pix_fmt} -> yuv420p")
    d.fix("MED012" if "MED012" in d.failed else "", "convert", ", ".join(what))


def _frame_rate(d: Draft) -> None:
    # Below 25 fps nothing honest can be done; a variable rate becomes constant at the source's
    # own rate.
    stream_pts = d.ev.stream.video_pts_s if d.ev.stream is not None else None
    d.fps = output_rate(d.report.media or {}, stream_pts)
    if "MED006" in d.failed:
        d.cannot("MED006", _UNFIXABLE_RULE["MED006"])
    if "MED010" not in d.failed:
        return
    d.encode_video = True
    if "MED006" in d.failed:
        d.fix("", "cfr", f"constant {float(d.fps or 0):.3g} fps (still below 25: MED006 stays)")
        d.cannot(
            "MED010",
            "the average rate is below 25 fps, so a constant rate at the source "
            "rate stays below 25 fps",
        )
    else:
        d.fix("MED010", "cfr", f"constant {float(d.fps or 0):.5g} fps (the source's nominal rate)")


def _resolution(d: Draft) -> None:
    # Down above 4K, never up.
    w, h = d.m.width, d.m.height
    if w and h and min(w, h) > MAX_SHORT_SIDE_PX:
        s = MAX_SHORT_SIDE_PX / min(w, h)
        d.size = (_even(w * s), _even(h * s))
        d.encode_video = True
        d.fix("", "scale", f"{w}x{h} -> {d.size[0]}x{d.size[1]} (above 4K)")
    if "MED007" in d.failed:
        d.cannot("MED007", _UNFIXABLE_RULE["MED007"])


def _too_long(r: Result | None) -> bool:
    return r is not None and r.measured is not None and r.limit is not None and r.measured > r.limit


def _trim(d: Draft) -> None:
    # Trimming by the voice segments; a trim that brings a too-long clip under its limit
    # repairs MED008.
    if d.options.trim != "auto":
        return
    voice = getattr(d.ev, "voice", None)
    speaking = getattr(voice, "speaking", None) if voice is not None else None
    listening = getattr(voice, "listening", None) if voice is not None else None
    d.trim = plan_trim(speaking, listening, d.duration, d.profile, speech_regions(voice))
    if d.trim is None:
        if voice is None:
            d.notes.append(
                "no voice segments were measured, so nothing was trimmed "
                f"({d.ev.why_missing('voice')})"
            )
        return
    d.encode_video = True
    med8 = d.failed.get("MED008")
    fits = med8 is not None and _too_long(med8) and d.kept_s() <= float(med8.limit or 0)
    d.fix("MED008" if med8 else "", "trim", d.trim.reason, fixed=fits)


def _speech_after_cut(d: Draft) -> None:
    # Speech found inside the listening segment (SEG004) that lies wholly after the cut goes
    # with the cut: a "that's it, thanks" at the end of a long tail.
    seg4, trim = d.failed.get("SEG004"), d.trim
    if seg4 is None or trim is None or trim.end_s is None or not seg4.spans:
        return
    if all(sp.start_s >= trim.end_s for sp in seg4.spans):
        d.fix("SEG004", "trim", f"the speech at {seg4.spans[0].start_s:.1f} s is after the cut")


def _duration(d: Draft) -> None:
    r = d.failed.get("MED008")
    if r is None or "MED008" in d.fixed:
        return
    if not _too_long(r):
        d.cannot("MED008", "a clip cannot be made longer: record the full take")
    elif d.options.trim == "none":
        d.cannot("MED008", "trimming is off (--trim none)")
    elif d.trim is not None:
        d.cannot(
            "MED008",
            f"the trim keeps {d.kept_s():.1f} s, still over the {float(r.limit or 0):.0f} s "
            "limit: shorten the take (speak and listen for less time)",
        )
    else:
        d.cannot(
            "MED008",
            "the speaking and listening segments were not found, so there is no safe place to cut",
        )


def _file_size(d: Draft) -> None:
    # A capped re-encode (and any trim) brings the file under the limit: MED005's own threshold
    # when the report carries it, else the documented 750 MB.
    rule_params = (d.report.settings or {}).get("rule_params", {})
    size_limit = float(rule_params.get("MED005", {}).get("max_size_bytes", SIZE_LIMIT_BYTES))
    kept = d.kept_s() or d.duration
    if kept > 0:
        # Container overhead: index and headers, well under 1 MB for an hour of video.
        overhead = min(1_000_000, 0.02 * size_limit)
        budget_bits = (size_limit * SIZE_SAFETY - overhead) * 8 - d.audio_bitrate * kept
        # maxrate * (duration + 1 s of VBV buffer) stays within the budget.
        d.max_bitrate = int(max(100_000, min(MAX_VIDEO_BITRATE, budget_bits / (kept + 1.0))))
    if "MED005" in d.failed:
        d.encode_video = True
        d.fix(
            "MED005",
            "encode-video",
            f"re-encode capped at {d.max_bitrate / 1e6:.1f} Mbit/s "
            f"(under {size_limit / 1e6:.1f} MB for {kept:.0f} s)",
        )


def _audio_codec(d: Draft) -> None:
    if not d.m.has_audio:
        return
    d.audio = "copy"
    if "MED004" in d.failed:
        d.audio = "encode"
        d.fix("MED004", "encode-audio", f"{d.m.audio_codec} -> aac")


def _audio_channels(d: Draft) -> None:
    # A silent or antiphase channel: keep the live one as mono.  A low sample rate stays.
    if not d.m.has_audio or "MED013" not in d.failed:
        return
    a = d.ev.audio
    ch = _live_channel(a) if a is not None and a.channels >= 2 else None
    if ch is not None:
        d.audio = "encode"
        d.audio_channel = ch
        d.fix(
            "MED013",
            "channels",
            f"keep the {('left', 'right')[ch]} channel as mono "
            "(the other is silent or in antiphase)",
            fixed=(d.m.sample_rate_hz or 0) >= 16000,
        )
    if "MED013" not in d.fixed:
        d.cannot("MED013", "sound that was never recorded (a low sample rate) cannot be restored")


def _loudness(d: Draft) -> None:
    if not (d.m.has_audio and d.options.loudness and d.ev.audio is not None):
        return
    d.gain_db, note = plan_gain(d.ev.audio)
    d.notes.append(note)
    if d.gain_db:
        d.audio = "encode"
        d.fix("", "gain", f"{d.gain_db:+.1f} dB (gentle loudness normalisation, gain only)")


def _audio_encoding(d: Draft) -> None:
    if not d.m.has_audio:
        return
    if d.trim is not None:
        # Cutting the video re-times everything; the audio is re-cut on the same timeline.
        d.audio = "encode"
    if d.audio == "encode":
        rate = d.m.sample_rate_hz or 48000
        d.audio_rate = rate if rate in AAC_RATES else 48000
        if d.audio_channel is not None:
            d.audio_bitrate = AUDIO_BITRATE_MONO


# The repair decisions, in the order they run and their repairs are listed.  A later fixer sees
# what the earlier ones decided (the size budget and the audio see the trim).  A failed rule no
# fixer decides on is listed as not repairable, with `_UNFIXABLE_RULE` / `_UNFIXABLE_FAMILY`'s
# reason.
FIXERS: tuple[Fixer, ...] = (
    Fixer((), _forced_reencode),
    Fixer(("MED002",), _container),
    Fixer(("MED003",), _video_codec),
    Fixer((), _rotation),
    Fixer(("MED012",), _colour),
    Fixer(("MED006", "MED010"), _frame_rate),
    Fixer(("MED007",), _resolution),
    Fixer(("MED008",), _trim),
    Fixer(("SEG004",), _speech_after_cut),
    Fixer(("MED008",), _duration),
    Fixer(("MED005",), _file_size),
    Fixer(("MED004",), _audio_codec),
    Fixer(("MED013",), _audio_channels),
    Fixer((), _loudness),
    Fixer((), _audio_encoding),
)


def _draft(report: Report, options: PrepareOptions) -> Draft | None:
    """The empty draft, or None when nothing can be written (no readable video stream)."""
    media, ev, failed = report.media or {}, report.evidence, _failed(report)
    if not media or "MED001" in failed or not (ev and ev.media and ev.media.has_video):
        return None
    m = ev.media
    return Draft(
        report=report,
        options=options,
        ev=ev,
        m=m,
        failed=failed,
        profile=PROFILES.get(report.profile) or next(iter(PROFILES.values())),
        duration=float(media.get("duration_s") or m.video_duration_s or 0.0),
        audio_bitrate=AUDIO_BITRATE_MONO if (m.channels or 1) == 1 else AUDIO_BITRATE_STEREO,
    )


def _failed(report: Report) -> dict[str, Result]:
    return {r.rule: r for r in report.results if r.failed}


def make_plan(report: Report, options: PrepareOptions | None = None) -> Plan:
    """Decide the repairs for the clip behind `report`: each fixer of `FIXERS` in turn, then
    every failed rule none of them decided on is listed as not repairable, with a reason.

    Reads the report's results (which rules failed, their findings, measured values, limits and
    SEG004's spans), `media`, `profile` and `settings` (MED005's size limit), and its live
    `Evidence` (`validate()`'s report, or `check_one(keep_evidence=True)`'s; without it the plan
    is "nothing can be written"): the media facts
    (`ev.media`), the video frame timestamps (`ev.stream`, for a variable rate's nominal rate),
    the voice segments and speech runs (`ev.voice`, for trimming; validated with the "voice"
    evidence when trimming is wanted) and the audio channel levels and 16 kHz signal
    (`ev.audio`, for MED013's channel fix and `--loudness`).  It touches no media file."""
    options = options or PrepareOptions()
    d = _draft(report, options)
    if d is None:
        r = _failed(report).get("MED001")
        msg = r.message if r else "the file has no readable video stream"
        reason = _UNFIXABLE_RULE["MED001"]
        return Plan(False, "copy", "none", unfixable=(Unfixable("MED001", msg, reason),))
    for fixer in FIXERS:
        fixer.decide(d)
    for rid in d.failed:
        if not d.decided(rid):
            d.cannot(rid, _unfixable_reason(rid))
    return d.plan()


def _unfixable_reason(rule: str) -> str:
    return (
        _UNFIXABLE_RULE.get(rule)
        or _UNFIXABLE_FAMILY.get(rule[:3])
        or "no preprocessing step addresses this rule"
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
