"""The repair plan is pinned: every field of `make_plan`'s Plan (and its `describe()` text) for a
representative set of failing reports, compared with `tests/data/prepare_plans.json`.

The expectations were written by the planner *before* it became a table of per-rule fixers
(the if-ladder of main at that time), so a refactor of the planner must reproduce them exactly.
Two sets: hand-built reports (every repair and every "cannot be repaired" branch, fast), and
small generated clips with several defects each, validated for real (MED and SEG rules).
After an intended change of a plan, regenerate with
`UPDATE_PLAN_PINS=1 python -m pytest tests/test_prepare_plan_pins.py` and say why in the commit.
"""

from __future__ import annotations

import dataclasses
import json
import os
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from clipgen import make_clip, room_tone, tone
from test_prepare import media
from test_prepare import report as prepare_report

from validator import Settings
from validator.evidence import AudioData, MediaInfo
from validator.prepare import PrepareOptions, make_plan, plan_clip
from validator.report import Report
from validator.spans import Span

PINS = Path(__file__).parent / "data" / "prepare_plans.json"
UPDATE = os.environ.get("UPDATE_PLAN_PINS") == "1"


def plain(value: Any) -> Any:
    """A plan as JSON-able data: every field, fractions as "n/d", floats rounded to 6 places."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def pinned(plan: Any) -> dict[str, Any]:
    return {"plan": plain(plan), "describe": plan.describe().splitlines()}


# ------------------------------------------------------------------------------ hand-built


def audio(rms: tuple[float, ...], *, rate: int = 48000, corr: float | None = None, level=0.05):
    rng = np.random.default_rng(3)
    return AudioData(
        pcm16k=(rng.standard_normal(16000 * 3) * level).astype(np.float32),
        sample_rate_hz=rate,
        channels=len(rms),
        channel_rms=rms,
        channel_peak=tuple(min(1.0, 8 * r) for r in rms),
        lr_correlation=corr,
    )


def report(
    m: MediaInfo | None,
    fails: dict[str, tuple] | None = None,
    *,
    voice: Any = None,
    aud: Any = None,
    pts: Any = None,
    spans: dict[str, tuple[Span, ...]] | None = None,
    settings: dict[str, Any] | None = None,
    profile: str = "phoenix-4",
) -> Report:
    """test_prepare's hand-built report, with findings' spans, settings and a profile."""
    rep = prepare_report(m, fails, voice=voice, audio=aud, pts=pts)
    rep.results = [dataclasses.replace(r, spans=(spans or {}).get(r.rule, ())) for r in rep.results]
    rep.settings, rep.profile = settings, profile
    return rep


def _vfr_pts(slow_every: int, base: float = 1 / 30, slow: float = 1 / 20) -> np.ndarray:
    d = np.full(300, base)
    d[::slow_every] = slow
    return np.concatenate([[0.0], np.cumsum(d)])


VOICE_LONG = SimpleNamespace(
    speaking=Span(95.0, 126.0),
    listening=Span(126.0, 300.0),
    speech_runs=(Span(95.0, 110.0), Span(111.0, 126.0), Span(150.0, 151.5)),
)
VOICE_120 = SimpleNamespace(speaking=Span(1.0, 31.0), listening=Span(31.0, 120.0))
LONG = dict(duration_s=300.0, video_duration_s=300.0)
TOO_LONG = {"MED008": ("300 s long", 300.0, 180.0)}
FAMILIES = {
    "SEG001": ("speaking segment 12 s", 12.0, 28.0),
    "AUD001": ("noise floor -38 dBFS", -38.0, -50.0),
    "FAC003": ("face height is 12%", 0.12, 0.25),
    "MTH001": ("lips open in 30% of listening", 0.3, 0.05),
    "IMG002": ("face too dark", 40, 60),
    "EDT001": ("a cut at 12.0 s", 1, 0),
    "CON001": ("no consent statement", None, None),
    "MED009": ("no audio stream", None, None),
    "MED011": ("3 decode errors", 3, 0),
    "XYZ001": ("a rule the planner has never heard of", None, None),
}
_pq = dict(
    pix_fmt="yuv420p10le", bit_depth=10, color_transfer="smpte2084", color_primaries="bt2020"
)


def hand_cases() -> dict[str, tuple[Report, PrepareOptions]]:
    none, auto = PrepareOptions(trim="none"), PrepareOptions()
    mean_vfr = 301 / float(_vfr_pts(10)[-1])
    return {
        "clean": (report(media()), none),
        "clean_forced_reencode_keep_metadata": (
            report(media()),
            PrepareOptions(trim="none", reencode=True, keep_metadata=True),
        ),
        "mov_pcm_rotated": (
            report(
                media(container="mov", audio_codec="pcm_s16le", rotation_deg=90),
                {
                    "MED002": ("container is mov", "mov", "mp4"),
                    "MED004": ("pcm_s16le", "pcm_s16le", "aac"),
                },
            ),
            auto,
        ),
        "webm_vp9_opus_44k": (
            report(
                media(
                    container="webm", video_codec="vp9", audio_codec="opus", sample_rate_hz=44100
                ),
                {
                    "MED002": ("webm", "webm", "mp4", "warning"),
                    "MED003": ("vp9", "vp9", "h264"),
                    "MED004": ("opus", "opus", "aac"),
                },
            ),
            auto,
        ),
        "odd_audio_rate_encoded": (
            report(
                media(audio_codec="opus", sample_rate_hz=47000),
                {"MED004": ("opus", "opus", "aac")},
            ),
            none,
        ),
        "hdr_pq_10bit": (report(media(**_pq), {"MED012": ("10-bit PQ", 10, 8, "warning")}), none),
        "hdr_hlg_not_failed": (report(media(color_transfer="arib-std-b67")), none),
        "bt2020_8bit_only": (report(media(color_primaries="bt2020")), none),
        "yuv422_8bit_med012": (
            report(media(pix_fmt="yuv422p"), {"MED012": ("4:2:2", 8, 8, "warning")}),
            none,
        ),
        "med012_failed_nothing_to_convert": (
            report(media(), {"MED012": ("HDR flag", 8, 8, "warning")}),
            none,
        ),
        "low_fps_and_vfr": (
            report(
                media(fps=20.0, fps_from_timestamps=20.0),
                {
                    "MED006": ("20.00 fps (needs at least 25)", 20.0, 25.0),
                    "MED010": ("varies", 0.3, 0.02, "warning"),
                },
            ),
            none,
        ),
        "vfr_nominal_30": (
            report(
                media(fps=mean_vfr, fps_from_timestamps=mean_vfr),
                {"MED010": ("varies", 0.1, 0.02, "warning")},
                pts=_vfr_pts(10),
            ),
            none,
        ),
        "vfr_29_97_no_pts": (
            report(
                media(fps=29.969, fps_from_timestamps=29.969),
                {"MED010": ("varies", 0.1, 0.02, "warning")},
            ),
            none,
        ),
        "8k_low_res_listed": (
            report(media(width=7680, height=4320), {"MED007": ("640x360", 360, 720)}),
            none,
        ),
        "portrait_8k": (report(media(width=4320, height=7680)), none),
        "too_long_trimmed": (report(media(**LONG), TOO_LONG, voice=VOICE_LONG), auto),
        "too_long_trimmed_phoenix3": (
            report(media(**LONG), TOO_LONG, voice=VOICE_LONG, profile="phoenix-3"),
            auto,
        ),
        "too_long_unknown_profile": (
            report(media(**LONG), TOO_LONG, voice=VOICE_LONG, profile="nonesuch"),
            auto,
        ),
        "too_long_no_voice": (report(media(**LONG), TOO_LONG), auto),
        "too_long_trim_off": (report(media(**LONG), TOO_LONG, voice=VOICE_LONG), none),
        "too_long_voice_without_segments": (
            report(media(**LONG), TOO_LONG, voice=SimpleNamespace(speaking=None, listening=None)),
            auto,
        ),
        "too_long_trim_not_enough": (
            report(
                media(**LONG),
                {"MED008": ("300 s long", 300.0, 50.0)},
                voice=VOICE_LONG,
            ),
            auto,
        ),
        "too_short": (report(media(duration_s=41.0), {"MED008": ("41 s long", 41.0, 58.0)}), auto),
        "trim_without_failure": (report(media(duration_s=120.0), voice=VOICE_120), auto),
        "seg004_after_cut": (
            report(
                media(duration_s=120.0),
                {"SEG004": ("2.0 s of speech", 2.0, 1.0)},
                voice=VOICE_120,
                spans={"SEG004": (Span(100.0, 102.0),)},
            ),
            auto,
        ),
        "seg004_before_cut": (
            report(
                media(duration_s=120.0),
                {"SEG004": ("2.0 s of speech", 2.0, 1.0)},
                voice=VOICE_120,
                spans={"SEG004": (Span(45.0, 47.0), Span(100.0, 102.0))},
            ),
            auto,
        ),
        "oversize_with_trim": (
            report(
                media(duration_s=1200.0, video_duration_s=1200.0, size_bytes=900_000_000),
                {"MED005": ("900 MB", 900_000_000, 750_000_000), **TOO_LONG},
                voice=VOICE_LONG,
            ),
            auto,
        ),
        "oversize_own_limit_mono": (
            report(
                media(duration_s=1200.0, size_bytes=90_000_000, channels=1),
                {"MED005": ("90 MB", 90_000_000, 50_000_000)},
                settings={"rule_params": {"MED005": {"max_size_bytes": 50_000_000}}},
            ),
            none,
        ),
        "oversize_zero_duration": (
            report(
                media(duration_s=0.0, video_duration_s=0.0),
                {"MED005": ("900 MB", 900_000_000, 750_000_000)},
            ),
            none,
        ),
        "silent_right_channel_44k": (
            report(
                media(sample_rate_hz=44100),
                {"MED013": ("right channel is silent", 44100, 16000, "warning")},
                aud=audio((0.05, 0.0)),
            ),
            none,
        ),
        "antiphase_low_rate": (
            report(
                media(sample_rate_hz=11025),
                {"MED013": ("channels in antiphase", -0.9, -0.5, "warning")},
                aud=audio((0.05, 0.05), rate=11025, corr=-0.9),
            ),
            none,
        ),
        "low_sample_rate_mono": (
            report(
                media(sample_rate_hz=8000, channels=1),
                {"MED013": ("sample rate 8000 Hz", 8000, 16000, "warning")},
                aud=audio((0.05,), rate=8000),
            ),
            none,
        ),
        "med013_no_audio_evidence": (
            report(media(), {"MED013": ("right channel is silent", 48000, 16000, "warning")}),
            none,
        ),
        "stereo_balanced_med013": (
            report(
                media(),
                {"MED013": ("one channel is quiet", 48000, 16000, "warning")},
                aud=audio((0.05, 0.04), corr=0.2),
            ),
            none,
        ),
        "loudness_quiet": (
            report(media(), aud=audio((0.003, 0.003), level=0.003)),
            PrepareOptions(trim="none", loudness=True),
        ),
        "loudness_fine": (
            report(media(), aud=audio((0.1, 0.1), level=0.1)),
            PrepareOptions(trim="none", loudness=True),
        ),
        "loudness_without_audio_evidence": (
            report(media()),
            PrepareOptions(trim="none", loudness=True),
        ),
        "no_audio_stream": (
            report(
                media(has_audio=False, audio_codec=None, channels=None, sample_rate_hz=None),
                {
                    "MED004": ("no audio", None, None),
                    "MED009": ("no audio stream", None, None),
                    "MED013": ("no audio", None, None),
                },
            ),
            PrepareOptions(loudness=True),
        ),
        "recording_problems_every_family": (report(media(), FAMILIES), none),
        "unreadable": (
            report(None, {"MED001": ("cannot read the file: truncated", None, None)}),
            auto,
        ),
        "no_video_stream": (report(media(has_video=False)), auto),
        "med001_with_media": (
            report(media(), {"MED001": ("not media", None, None)}),
            auto,
        ),
    }


# ------------------------------------------------------------------------------ clips

RELAX = {
    "MED007": {"min_short_side_px": 16, "error_short_side_px": 16},
    "MED008": {"tolerance_s": 59},
}


def clip_cases(d: Path) -> dict[str, tuple[Path, PrepareOptions]]:
    none, auto = PrepareOptions(trim="none"), PrepareOptions()
    t = np.concatenate([np.arange(20) / 30, 20 / 30 + np.arange(20) / 15])
    quiet_left = np.stack([tone(2.0, 220.0, 44100, -30.0), np.zeros(88200, np.float32)])
    return {
        "mov_pcm_rotated": (
            make_clip(d / "a.mov", acodec="pcm_s16le", rotation_cw=90, container_format="mov"),
            auto,
        ),
        "webm_vp9_opus": (
            make_clip(d / "b.webm", vcodec="libvpx-vp9", acodec="libopus"),
            auto,
        ),
        "mkv_vfr_silent_right": (
            make_clip(d / "c.mkv", frame_times_s=list(t), audio=quiet_left, sample_rate=44100),
            auto,
        ),
        "hevc_pq_10bit": (
            make_clip(
                d / "d.mp4",
                duration_s=1,
                vcodec="libx265",
                pix_fmt="yuv420p10le",
                color_trc=16,
            ),
            none,
        ),
        "low_fps_8k_mono_video_only_mjpeg": (
            make_clip(
                d / "e.avi",
                fps=20,
                vcodec="mjpeg",
                audio=room_tone(2.0, 8000),
                sample_rate=8000,
                acodec="pcm_s16le",
                container_format="avi",
            ),
            PrepareOptions(trim="auto", loudness=True),
        ),
        "no_audio": (make_clip(d / "f.mp4", audio=None), auto),
    }


# ------------------------------------------------------------------------------ the pins


def _load() -> dict[str, Any]:
    return json.loads(PINS.read_text()) if PINS.exists() else {}


def _check(group: str, got: dict[str, Any]) -> None:
    if UPDATE:
        doc = _load()
        doc[group] = got
        PINS.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        pytest.skip("pins written")
    want = _load().get(group)
    assert want is not None, f"{PINS} has no {group!r}: run with UPDATE_PLAN_PINS=1"
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], name


def test_plans_for_hand_built_reports_are_pinned():
    got = {name: pinned(make_plan(rep, opts)) for name, (rep, opts) in hand_cases().items()}
    _check("hand_built", got)


def test_plans_for_generated_clips_with_several_defects_are_pinned(tmp_path):
    settings = Settings(select=("MED", "SEG"), params=RELAX)
    got = {}
    for name, (src, opts) in clip_cases(tmp_path).items():
        plan, _ = plan_clip(src, settings, opts)
        got[name] = pinned(plan)
    _check("clips", got)


def test_the_planner_names_only_rules_and_families_that_exist():
    from validator.prepare import plan as plan_mod
    from validator.registry import load_all

    rules = load_all()
    named = {rid for fixer in plan_mod.FIXERS for rid in fixer.rules} | set(
        plan_mod._UNFIXABLE_RULE
    )
    assert named <= set(rules), named - set(rules)
    clip_families = {r.family for r in rules.values()} - {"MED", "PHO"}  # PHO: the photo's plan
    assert set(plan_mod._UNFIXABLE_FAMILY) == clip_families
