"""MED: file, container and stream rules (MED001-MED013).

Every check here reads `Evidence.media` (probe facts completed by the decode pass),
`Evidence.stream` (timestamps and decode health over every packet) and `Evidence.audio`
(native-rate channel statistics).  Documented platform limits are marked "documented"; the rest
were set on generated clips (tests/test_med_*.py build each defect with PyAV) and on the real
footage in ../shared/media/real (GRID MPEG-1 studio clips, MP4 portrait and landscape clips).
"""

from __future__ import annotations

import math

import numpy as np

from ..evidence import Evidence
from ..registry import Param, Params, failed, passed, rule, skipped


def _db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else -math.inf


@rule(
    "MED001",
    "unreadable-media",
    "error",
    "the file cannot be opened, has no video stream, or is not media",
    hint="export the recording again from your camera or editing app as an .mp4 file; "
    "check that the upload or copy finished",
    needs=(),
)
def unreadable_media(ev: Evidence, p: Params):
    """What it does: opens the file with FFmpeg (through PyAV) and checks that it is media with a
    video stream that decodes to at least one frame.

    Why it matters: the platform rejects files it cannot decode (`video_processing`).

    How to fix: re-export the clip as MP4 (H.264/AAC); if the file came over a network, copy it
    again: empty and truncated files usually come from an interrupted transfer.

    Example: `MED001 fail: the MP4 index (moov atom) is missing: the file is truncated or was
    not finalised`.
    """
    if ev.open_error:
        return failed(f"cannot read the file: {ev.open_error}")
    m = ev.media
    if m is None or not m.has_video:
        return failed(
            "the file has no video stream (audio only?)", measured=0, limit=1, unit="video streams"
        )
    if ev.stream is not None and len(ev.stream.video_pts_s) == 0:
        return failed("the video stream decodes to no frames", measured=0, limit=1, unit="frames")
    return passed(f"readable {m.container} file with a video stream")


@rule(
    "MED002",
    "container-not-mp4",
    "error",
    "container is not MP4 (WebM: warning; MOV/MKV/AVI/other: error)",
    hint="export or convert to .mp4 (`validator prepare` does this without re-encoding when it can)",
    needs=("media",),
)
def container_not_mp4(ev: Evidence, p: Params):
    """What it does: reads the container.  MP4 and QuickTime share one FFmpeg demuxer, so the
    file's brand (`ftyp` major brand) tells them apart: a QuickTime file renamed to `.mp4` is
    still MOV.

    Why it matters: the platform's error table names `.mp4` (documented); its guide also lists
    WebM, so WebM is a warning, everything else an error (`video_format`).

    How to fix: `validator prepare IN -o OUT.mp4` remuxes to MP4.

    Example: `MED002 fail (error): container is mov (needs mp4)`.
    """
    c = ev.media.container
    if c == "mp4":
        return passed("container is mp4", measured=c, limit="mp4")
    if c == "webm":
        return failed(
            "container is webm; mp4 is safer (webm is only listed in the guide)",
            measured=c,
            limit="mp4",
            severity="warning",
        )
    return failed(f"container is {c} (needs mp4)", measured=c, limit="mp4")


@rule(
    "MED003",
    "video-codec-not-h264",
    "error",
    "video codec is not H.264 (documented)",
    hint="export with the H.264 (AVC) codec; on iPhone set Camera > Formats > Most Compatible",
    needs=("media",),
)
def video_codec_not_h264(ev: Evidence, p: Params):
    """What it does: reads the first video stream's codec.

    Why it matters: the platform states H.264 is "required for all uploads" (documented;
    `video_codec`).  Phones default to HEVC; screen recorders often write VP9.

    How to fix: re-encode to H.264 (`validator prepare` does it).

    Example: `MED003 fail: video codec is hevc (needs h264)`.
    """
    m = ev.media
    if not m.has_video:
        return skipped("not evaluated: the file has no video stream")
    if m.video_codec == "h264":
        return passed("video codec is h264", measured="h264", limit="h264")
    return failed(
        f"video codec is {m.video_codec} (needs h264)", measured=m.video_codec, limit="h264"
    )


@rule(
    "MED004",
    "audio-codec-not-aac",
    "error",
    "audio codec is not AAC",
    hint="export with AAC audio (`validator prepare` converts the audio track)",
    needs=("media",),
)
def audio_codec_not_aac(ev: Evidence, p: Params):
    """What it does: reads the first audio stream's codec.

    Why it matters: the platform expects AAC audio in MP4 (`video_codec_and_format`).

    How to fix: convert the audio to AAC; `validator prepare` does it and leaves the video as is.

    Example: `MED004 fail: audio codec is opus (needs aac)`.
    """
    m = ev.media
    if not m.has_audio:
        return skipped("not evaluated: the file has no audio stream (see MED009)")
    if m.audio_codec == "aac":
        return passed("audio codec is aac", measured="aac", limit="aac")
    return failed(
        f"audio codec is {m.audio_codec} (needs aac)", measured=m.audio_codec, limit="aac"
    )


@rule(
    "MED005",
    "file-too-large",
    "error",
    "file size is 750,000,000 bytes or more (documented)",
    hint="re-encode at a lower bitrate, or trim extra footage before and after the take "
    "(`validator prepare` does both)",
    needs=(),
    params=[
        Param(
            "max_size_bytes",
            750_000_000,
            "largest accepted file size, bytes (documented: < 750 MB)",
            minimum=1,
            maximum=10**12,
        )
    ],
)
def file_too_large(ev: Evidence, p: Params):
    """What it does: compares the file size with the platform's upload limit.

    Why it matters: larger files are rejected (`file_size`, documented "less than 750 MB";
    read as 750,000,000 bytes).

    How to fix: a 1080p H.264 clip at 8-12 Mbit/s is 60-90 MB per minute; re-encode or trim.

    Example: `MED005 fail: file is 812.4 MB (must be under 750.0 MB)`.
    """
    size = ev.size_bytes
    limit = int(p.max_size_bytes)
    if size >= limit:
        return failed(
            f"file is {size / 1e6:.1f} MB (must be under {limit / 1e6:.1f} MB)",
            measured=size,
            limit=limit,
            unit="bytes",
        )
    return passed(
        f"file is {size / 1e6:.1f} MB (limit {limit / 1e6:.1f} MB)",
        measured=size,
        limit=limit,
        unit="bytes",
    )


@rule(
    "MED006",
    "frame-rate-too-low",
    "error",
    "average frame rate below 25 fps (documented)",
    hint="record at 30 fps (set it in the camera app or desktop recorder); frame rate cannot be "
    "raised afterwards without inventing frames",
    needs=("media",),
    params=[
        Param(
            "min_fps",
            25.0,
            "lowest accepted average frame rate, frames per second (documented)",
            minimum=1,
            maximum=240,
        )
    ],
)
def frame_rate_too_low(ev: Evidence, p: Params):
    """What it does: reads the stream's declared average frame rate (falling back to the rate
    derived from frame timestamps when none is declared).

    Why it matters: the platform requires at least 25 fps (documented; `video_fps`).

    How to fix: record again at 30 fps.  Interpolating frames does not satisfy the platform.

    Example: `MED006 fail: 24.00 fps (needs at least 25)`.
    """
    m = ev.media
    if not m.has_video:
        return skipped("not evaluated: the file has no video stream")
    fps = m.fps or m.fps_from_timestamps
    if not fps:
        return skipped("not evaluated: the frame rate could not be determined")
    if fps + 1e-6 < p.min_fps:
        return failed(
            f"{fps:.2f} fps (needs at least {p.min_fps:g})",
            measured=fps,
            limit=p.min_fps,
            unit="fps",
        )
    return passed(f"{fps:.2f} fps", measured=fps, limit=p.min_fps, unit="fps")


@rule(
    "MED007",
    "resolution-too-low",
    "error",
    "short side (after display rotation) under 720 px: error; under 1080 px: warning",
    hint="record at 1080p (1920x1080) or higher in a desktop app or the phone's camera settings",
    needs=("media",),
    params=[
        Param(
            "min_short_side_px",
            1080,
            "short side below this is a warning, pixels (documented 1080p minimum)",
            minimum=16,
            maximum=8640,
        ),
        Param(
            "error_short_side_px",
            720,
            "short side below this is an error, pixels (documented failure cause)",
            minimum=16,
            maximum=8640,
        ),
    ],
)
def resolution_too_low(ev: Evidence, p: Params):
    """What it does: takes the display size (rotation applied, so a portrait 1080x1920 clip has
    a short side of 1080) and compares its short side with 1080 and 720.

    Why it matters: the platform asks for 1080p minimum and names under-720p as a failure cause
    (documented; `quality_issue_detected`).

    How to fix: record at 1080p or 4K.  Upscaling does not add detail and does not help.

    Example: `MED007 fail (warning): 1280x720: short side 720 px (recommended at least 1080)`.
    """
    m = ev.media
    if not m.has_video or not m.width or not m.height:
        return skipped("not evaluated: no video dimensions")
    short = min(m.width, m.height)
    dims = f"{m.width}x{m.height}"
    if short < p.error_short_side_px:
        return failed(
            f"{dims}: short side {short} px (needs at least {p.error_short_side_px}, "
            f"recommended {p.min_short_side_px})",
            measured=short,
            limit=p.error_short_side_px,
            unit="px",
        )
    if short < p.min_short_side_px:
        return failed(
            f"{dims}: short side {short} px (recommended at least {p.min_short_side_px})",
            measured=short,
            limit=p.min_short_side_px,
            unit="px",
            severity="warning",
        )
    return passed(
        f"{dims}: short side {short} px", measured=short, limit=p.min_short_side_px, unit="px"
    )


@rule(
    "MED008",
    "duration-out-of-range",
    "error",
    "shorter than the profile's total (60 s; phoenix-3 120 s) minus a tolerance, or longer than 3x the total",
    hint="record one take of the profile's length: speak, then listen silently, then stop",
    needs=("media",),
    params=[
        Param(
            "tolerance_s",
            2.0,
            "how much shorter than the profile total a clip may be, seconds",
            minimum=0,
            maximum=60,
        ),
        Param(
            "max_duration_ratio",
            3.0,
            "longest accepted clip as a multiple of the profile total",
            minimum=1,
            maximum=20,
        ),
    ],
)
def duration_out_of_range(ev: Evidence, p: Params):
    """What it does: compares the clip's duration with the profile: phoenix-4/4.5 expect 30 s of
    speaking plus 30 s of listening (60 s), phoenix-3 60 + 60 (120 s).

    Why it matters: the platform rejects clips that are too short (`video_duration`); very long
    clips mean the structure is wrong or extra footage was left in.

    How to fix: record one continuous take of the right length; trim extra minutes
    (`validator prepare --trim auto`).

    Example: `MED008 fail: 41.2 s long (phoenix-4 needs at least 58.0 s)`.
    """
    m = ev.media
    dur = m.duration_s or max(m.video_duration_s or 0.0, m.audio_duration_s or 0.0) or None
    if dur is None:
        return skipped("not evaluated: the duration could not be determined")
    total = p.profile.total_s
    lo = total - p.tolerance_s
    hi = total * p.max_duration_ratio
    name = p.profile.name
    if dur < lo:
        return failed(
            f"{dur:.1f} s long ({name} needs at least {lo:.1f} s: "
            f"{p.profile.speaking_s:g} s speaking + {p.profile.listening_s:g} s listening)",
            measured=dur,
            limit=lo,
            unit="s",
        )
    if dur > hi:
        return failed(
            f"{dur:.1f} s long ({name} accepts at most {hi:.0f} s)",
            measured=dur,
            limit=hi,
            unit="s",
            hint="trim the footage before the first word and after the listening part "
            "(`validator prepare --trim auto`)",
        )
    return passed(
        f"{dur:.1f} s long ({name}: {lo:.0f}-{hi:.0f} s)", measured=dur, limit=lo, unit="s"
    )


@rule(
    "MED009",
    "audio-missing",
    "error",
    "no audio stream, or the audio decodes to nothing or to digital silence",
    hint="record with the microphone on and check the recording app's audio source",
    needs=("media",),
)
def audio_missing(ev: Evidence, p: Params):
    """What it does: checks that there is an audio stream, that it decodes to samples, and that
    they are not all exactly zero (a muted track).

    Why it matters: the voice is cloned from this track and the listening segment is found from
    it (`audio_processing`).

    How to fix: record again with the microphone enabled; screen recorders often need audio
    turned on explicitly.

    Example: `MED009 fail: the file has no audio stream`.
    """
    m = ev.media
    if not m.has_audio:
        return failed("the file has no audio stream", measured=0, limit=1, unit="audio streams")
    a = ev.audio
    if a is None or len(a.pcm16k) == 0:
        return failed("the audio stream decodes to nothing", measured=0.0, limit=None, unit="s")
    if max(a.channel_peak) == 0.0:
        return failed(
            f"the audio track is digital silence ({a.duration_s:.1f} s of exact zeros): the microphone was muted",
            measured=0.0,
            limit=None,
            unit="peak",
        )
    return passed(f"{a.duration_s:.1f} s of audio", measured=round(a.duration_s, 2), unit="s")


@rule(
    "MED010",
    "variable-frame-rate",
    "warning",
    "frame intervals vary so the instantaneous rate drops below 25 fps, or the timestamp-derived rate "
    "differs from the declared one",
    hint="set the recorder to a constant frame rate (30 fps); `validator prepare` converts to constant rate",
    needs=("media", "stream"),
    params=[
        Param(
            "min_instant_fps",
            25.0,
            "instantaneous rate that counts as too slow, frames per second",
            minimum=1,
            maximum=240,
        ),
        Param(
            "jitter_ratio",
            0.10,
            "an interval this much longer than the median counts as varying, ratio",
            minimum=0.01,
            maximum=2,
        ),
        Param(
            "max_slow_interval_share",
            0.02,
            "largest share of intervals that may be varying and too slow, ratio",
            minimum=0,
            maximum=1,
        ),
        Param(
            "max_rate_mismatch_ratio",
            0.05,
            "largest relative gap between declared and timestamp rate, ratio",
            minimum=0,
            maximum=1,
        ),
    ],
)
def variable_frame_rate(ev: Evidence, p: Params):
    """What it does: looks at the interval between every pair of consecutive frames (all frames,
    not only sampled ones).  An interval is *varying* when it is more than `jitter_ratio` longer
    than the median interval, and *too slow* when it is longer than 1/`min_instant_fps`.  Fails
    when more than `max_slow_interval_share` of the intervals are both, or when the mean rate
    from timestamps differs from the declared rate by more than `max_rate_mismatch_ratio`.

    A steady 24 fps clip is not variable (MED006 reports it); a single dropped frame is a
    timestamp gap (EDT003), not a variable rate: 2% of a 60 s clip at 30 fps is 36 intervals.

    Why it matters: phones record variable frame rate to save power; the platform's frame-rate
    check and lip-sync training assume constant spacing (`video_fps`).

    How to fix: set a constant frame rate in the recorder or run `validator prepare`.

    Calibration: generated 30 fps clips whose timestamps alternate 30/20 fps fail (50% of
    intervals); constant 25/30/60 fps clips, including MKV/WebM with millisecond timestamps
    (intervals of 33/34 ms), measure 0%.

    Example: `MED010 fail: 48% of frame intervals vary and fall below 25 fps (slowest 20.0 fps)`.
    """
    m, s = ev.media, ev.stream
    pts = s.video_pts_s
    if len(pts) < 3:
        return skipped("not evaluated: fewer than 3 video frames")
    d = np.diff(pts)
    d = d[d > 0]
    if len(d) < 2:
        return skipped("not evaluated: frame timestamps do not advance")
    med = float(np.median(d))
    slow = (d > med * (1 + p.jitter_ratio)) & (d > 1.0 / p.min_instant_fps)
    share = float(slow.mean())
    slowest = 1.0 / float(d.max())
    ts_fps = m.fps_from_timestamps
    mismatch = abs(ts_fps - m.fps) / m.fps if (ts_fps and m.fps) else 0.0
    if share > p.max_slow_interval_share:
        idx = np.nonzero(slow)[0]
        return failed(
            f"{share:.0%} of frame intervals vary and fall below {p.min_instant_fps:g} fps "
            f"(slowest {slowest:.1f} fps)",
            measured=share,
            limit=p.max_slow_interval_share,
            unit="ratio",
            spans=[(float(pts[idx[0]]), float(pts[idx[-1] + 1]))],
        )
    if mismatch > p.max_rate_mismatch_ratio:
        return failed(
            f"timestamps give {ts_fps:.2f} fps but the stream declares {m.fps:.2f} fps "
            f"({mismatch:.0%} apart)",
            measured=mismatch,
            limit=p.max_rate_mismatch_ratio,
            unit="ratio",
        )
    return passed(
        f"constant frame rate ({share:.1%} varying intervals, timestamps {ts_fps or 0:.2f} fps)",
        measured=share,
        limit=p.max_slow_interval_share,
        unit="ratio",
    )


@rule(
    "MED011",
    "stream-damaged",
    "error",
    "decode errors, a truncated stream, or audio and video durations that disagree by more than 1 s",
    hint="the file is damaged: export or copy it again from the original recording",
    needs=("media", "stream"),
    params=[
        Param("max_decode_errors", 0, "decode errors tolerated, count", minimum=0, maximum=10**6),
        Param(
            "max_av_duration_diff_s",
            1.0,
            "largest gap between audio and video durations, seconds",
            minimum=0,
            maximum=3600,
        ),
        Param(
            "max_missing_s",
            1.0,
            "how much shorter than declared the decoded video may be, seconds",
            minimum=0,
            maximum=3600,
        ),
    ],
)
def stream_damaged(ev: Evidence, p: Params):
    """What it does: counts packets and frames the decoder rejected, notices a demuxer that stops
    early, compares the decoded video length with the length the container declares, and compares
    the audio and video lengths.

    Why it matters: the platform rejects damaged files (`video_processing`), and an audio track
    that is longer or shorter than the video desynchronises lip movement and voice.

    How to fix: copy or export the file again; if the recorder crashed, record again.

    Calibration: generated clips cut at 60% of their bytes (index at the start) decode 55-60% of
    their frames and fail; intact clips have 0 errors and |audio - video| under 0.05 s (AAC
    priming and last-frame rounding).  The decode pass also counts as errors: an MP4/MOV box or
    a Matroska segment that runs past the end of the file (a cut recording; none of the 17 real
    MP4s of ../shared/media, the sample, or the generated MKV/WebM clips is flagged), audio
    frames claiming implausible channel counts (damaged AAC claiming 63), and audio that
    changes rate or layout mid-stream.

    Example: `MED011 fail: stream ends at 31.4 s but the file declares 60.0 s (truncated)`.
    """
    m, s = ev.media, ev.stream
    problems: list[str] = []
    spans: list[tuple[float, float]] = []
    measured: float = float(s.decode_errors + s.corrupt_frames)
    if s.decode_errors + s.corrupt_frames > p.max_decode_errors:
        first = s.error_messages[0] if s.error_messages else "corrupt frames"
        problems.append(f"{s.decode_errors + s.corrupt_frames} decode error(s) (first: {first})")
    declared = m.duration_s
    vdec = s.video_decoded_s if m.has_video else None
    if declared and vdec is not None and declared - vdec > p.max_missing_s:
        problems.append(
            f"video ends at {vdec:.1f} s but the file declares {declared:.1f} s (truncated)"
        )
        spans.append((vdec, declared))
    if m.has_video and ev.audio is not None and vdec:
        adur = s.audio_decoded_s
        diff = abs(adur - vdec)
        if diff > p.max_av_duration_diff_s:
            problems.append(f"audio lasts {adur:.1f} s but video {vdec:.1f} s ({diff:.1f} s apart)")
            spans.append((min(adur, vdec), max(adur, vdec)))
    if s.truncated and not problems:
        problems.append("the container ends abruptly (demuxer error)")
    if problems:
        return failed(
            "; ".join(problems),
            measured=measured,
            limit=p.max_decode_errors,
            unit="errors",
            spans=spans,
        )
    return passed(
        "decoded without errors; audio and video lengths agree",
        measured=measured,
        limit=p.max_decode_errors,
        unit="errors",
    )


@rule(
    "MED012",
    "hdr-or-high-bit-depth",
    "warning",
    "10-bit or HDR (PQ/HLG) video; brightness checks are adjusted for it",
    hint="turn off HDR video in the camera settings (iPhone: Camera > Record Video > HDR Video); "
    "`validator prepare` converts to 8-bit SDR",
    needs=("media",),
)
def hdr_or_high_bit_depth(ev: Evidence, p: Params):
    """What it does: reads the decoded pixel format's bit depth and the colour transfer function.
    PQ (smpte2084) and HLG (arib-std-b67) are HDR.

    Why it matters: phones record 10-bit HDR by default; H.264 decoders in training pipelines
    expect 8-bit BT.709, and HDR footage looks washed out when read as SDR
    (`quality_issue_detected`).

    How to fix: disable HDR recording, or convert with `validator prepare`.

    Example: `MED012 fail: 10-bit video (yuv420p10le), transfer smpte2084 (HDR)`.
    """
    m = ev.media
    if not m.has_video:
        return skipped("not evaluated: the file has no video stream")
    depth = m.bit_depth or 8
    bits = []
    if depth > 8:
        bits.append(f"{depth}-bit video ({m.pix_fmt})")
    if m.is_hdr:
        bits.append(f"transfer {m.color_transfer} (HDR)")
    if bits:
        return failed(", ".join(bits), measured=depth, limit=8, unit="bits")
    return passed(f"{depth}-bit SDR video ({m.pix_fmt})", measured=depth, limit=8, unit="bits")


@rule(
    "MED013",
    "audio-format-poor",
    "warning",
    "sample rate under 16 kHz, or one stereo channel silent, or channels in antiphase",
    hint="record at 44.1 or 48 kHz with a mono or proper stereo microphone; check the recorder's "
    "channel settings",
    needs=("media", "audio"),
    params=[
        Param(
            "min_sample_rate_hz",
            16000,
            "lowest accepted sample rate, Hz",
            minimum=1000,
            maximum=384000,
        ),
        Param(
            "silent_channel_dbfs",
            -60.0,
            "a channel quieter than this is silent, dBFS RMS",
            minimum=-150,
            maximum=0,
        ),
        Param(
            "min_loud_channel_dbfs",
            -50.0,
            "the other channel must be louder than this, dBFS RMS",
            minimum=-150,
            maximum=0,
        ),
        Param(
            "antiphase_correlation",
            -0.5,
            "L/R correlation at or below this is antiphase",
            minimum=-1,
            maximum=0,
        ),
    ],
)
def audio_format_poor(ev: Evidence, p: Params):
    """What it does: checks the native sample rate, each channel's RMS level, and the correlation
    of the first two channels (computed over all native samples during the decode pass).

    Why it matters: under 16 kHz the voice clone loses the consonants; a silent channel (a mono
    mic on one side of a stereo input) halves the level after downmix; antiphase channels cancel
    to near silence when mixed to mono (`audio_processing`).

    How to fix: record at 44.1/48 kHz; set the interface to mono or fix the channel routing.

    Calibration: generated clips with one channel at exact zero measure -inf dBFS on that side;
    a real recording's quiet channel (room tone) sits around -55 to -70 dBFS RMS, hence the
    loud-channel guard: both channels quiet is a quiet recording (AUD004), not a dead channel.

    Example: `MED013 fail: right channel is silent (-inf dBFS RMS; left -24.1 dBFS)`.
    """
    a = ev.audio
    problems = []
    if a.sample_rate_hz < p.min_sample_rate_hz:
        problems.append(
            f"sample rate {a.sample_rate_hz} Hz (needs at least {p.min_sample_rate_hz})"
        )
    if a.channels >= 2:
        levels = [_db(r) for r in a.channel_rms[:2]]
        names = ("left", "right")
        for i in (0, 1):
            if levels[i] < p.silent_channel_dbfs and levels[1 - i] > p.min_loud_channel_dbfs:
                problems.append(
                    f"{names[i]} channel is silent ({levels[i]:.1f} dBFS RMS; "
                    f"{names[1 - i]} {levels[1 - i]:.1f} dBFS)"
                )
        if a.lr_correlation is not None and a.lr_correlation <= p.antiphase_correlation:
            problems.append(
                f"left and right are in antiphase (correlation {a.lr_correlation:.2f}): "
                "they cancel when mixed to mono"
            )
    if problems:
        return failed(
            "; ".join(problems), measured=a.sample_rate_hz, limit=p.min_sample_rate_hz, unit="Hz"
        )
    return passed(
        f"{a.sample_rate_hz} Hz, {a.channels} channel(s)",
        measured=a.sample_rate_hz,
        limit=p.min_sample_rate_hz,
        unit="Hz",
    )
