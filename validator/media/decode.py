"""The one decode pass.

Demuxes the opened container once, in file order, and:

- decodes every video packet (H.264 needs the whole chain anyway), records each frame's
  timestamp and each packet's size and key flag, and hands frames at `sample_fps` to the frame
  analysers as downscaled, display-rotated BGR images;
- decodes the first audio stream into 16 kHz mono float32 PCM, while counting native-rate
  statistics that need the original channels (per-channel level, L/R correlation, clipping);
- counts decode errors instead of stopping at the first one.

Memory stays flat as clips get longer: frames are dropped once the analysers have seen them; the
16 kHz PCM (64 KB/s, up to `MAX_ANALYSIS_S`) goes to an unnamed temporary file
(`buffers.Spilled`), read back a block at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ..buffers import Spilled
from ..evidence import AudioData, Frame, MediaInfo, StreamStats

# Nothing past this point of a clip is analysed (sampled frames, PCM).  Timestamps are still
# read to the end.  A clip this long already fails MED008 for every profile.
MAX_ANALYSIS_S = 600.0
MAX_LEAD_S = 10.0  # audio claiming to start later than this after the video is damage: capped
CLIP_LEVEL = 0.999
# More channels than 22.2 surround (24) in a frame is damage, not audio (a damaged AAC frame
# can claim 62); such frames are counted as decode errors and never converted.
MAX_AUDIO_CHANNELS = 24
# Audio frames whose level statistics are counted together (one AAC frame is 1024 samples).
STATS_BATCH_FRAMES = 64

# Frames narrower than this, or more elongated than this ratio, are not pictures of a person
# (8000x8 H.264 is valid): the frame analysers (face models) are not run on them, and their
# rules skip with the reason instead of failing or crashing in a resize.
MIN_FRAME_SIDE_PX = 16
MAX_FRAME_ASPECT = 16.0

FrameSink = Callable[[Frame], None]


def degenerate_frames(media: MediaInfo) -> str | None:
    """Why the frames cannot be analysed (too narrow or elongated), or None."""
    w, h = media.width or 0, media.height or 0
    if not w or not h:
        return None  # unknown until decoded: nothing to judge here
    short, long_ = min(w, h), max(w, h)
    if short < MIN_FRAME_SIDE_PX or long_ / short > MAX_FRAME_ASPECT:
        return (
            f"the frames are {w}x{h}: too narrow to analyse (needs a short side of at least "
            f"{MIN_FRAME_SIDE_PX} px and an aspect ratio under {MAX_FRAME_ASPECT:g}:1)"
        )
    return None


ProgressFn = Callable[[str, float], None]


def decode_pass(
    container: Any,
    media: MediaInfo,
    *,
    sample_fps: float,
    short_side_px: int,
    frame_sinks: Sequence[FrameSink] = (),
    between_sinks: Sequence[FrameSink] = (),
    progress: ProgressFn | None = None,
) -> tuple[StreamStats, AudioData | None]:
    vstream = container.streams[media.video_index] if media.video_index is not None else None
    astream = container.streams[media.audio_index] if media.audio_index is not None else None
    streams = [s for s in (vstream, astream) if s is not None]
    if vstream is not None:
        vstream.thread_type = "AUTO"  # frame threads: both cores decode

    # One time origin for both streams: the earliest stream start.  Times are measured from it,
    # so a face at 12.0 s and a voice at 12.0 s happened together even when the video stream
    # starts later than the audio (a real stage clip here starts its video 0.84 s in).
    origin = min((stream_start_s(s) for s in streams), default=0.0)
    video = (
        _VideoSide(vstream, media, sample_fps, short_side_px, frame_sinks, origin, between_sinks)
        if vstream
        else None
    )
    audio = (
        _AudioSide(
            astream,
            lead_s=audio_lead_s(astream, vstream),
            expected_s=media.audio_duration_s or media.duration_s or 0.0,
        )
        if astream is not None
        else None
    )
    # Damage the probe found in the container itself (a box cut short by truncation).
    errors: list[str] = list(getattr(container, "damage", None) or [])
    n_errors = len(errors)
    truncated = bool(errors)
    try:
        n_errors, truncated = _demux(
            container, streams, video, audio, errors, n_errors, truncated, media, progress
        )
        if video and truncated:
            # The demuxer stopped before its end-of-stream packet: the frames still inside the
            # decoder (frame threads, B-frame delay) are flushed here, or they go uncounted.
            try:
                video.flush()
            except SinkFailure as e:
                raise e.__cause__ from None  # type: ignore[misc]
            except av.error.FFmpegError as e:
                n_errors += 1
                errors.append(f"video flush: {_short(e)}")
        if audio:
            audio.drain_resampler()
            if audio.format_changes:
                n_errors += len(audio.format_changes)
                errors[:0] = audio.format_changes[:5]
    finally:
        container.close()

    stats = _stream_stats(video, n_errors, errors, truncated)
    if video:
        video.finalise(media, stats)
    audio_data = None
    if audio:
        stats.audio_decoded_s = audio.native_samples / audio.rate if audio.rate else 0.0
        audio_data = audio.result()
        if media.audio_duration_s is None or stats.truncated:
            media.audio_duration_s = stats.audio_decoded_s
    if stats.video_decoded_s > MAX_ANALYSIS_S:
        stats.analysis_cut_s = MAX_ANALYSIS_S
    return stats, audio_data


def _demux(
    container: Any,
    streams: list[Any],
    video: _VideoSide | None,
    audio: _AudioSide | None,
    errors: list[str],
    n_errors: int,
    truncated: bool,
    media: MediaInfo,
    progress: ProgressFn | None,
) -> tuple[int, bool]:
    """Every packet to its side's decoder; damage counted into `errors`.  Returns the error
    count and whether the demuxer stopped early."""
    total = media.duration_s or 0.0
    last_report = -1.0
    packets = container.demux(*streams)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except av.error.FFmpegError as e:  # demuxer gave up: truncated or corrupt container
            n_errors += 1
            truncated = True
            errors.append(f"demux: {_short(e)}")
            break
        try:
            if video and packet.stream is video.stream:
                video.packet(packet)
            elif audio and packet.stream is audio.stream:
                audio.packet(packet)
        except SinkFailure as e:  # an analyser's exception, not the file's: a tool failure
            raise e.__cause__ from None  # type: ignore[misc]
        except (av.error.FFmpegError, DamagedAudioFrame, IndexError) as e:
            # IndexError: PyAV reading a damaged frame's planes or side data (seen on bit-flipped
            # MPEG-TS); the analysers' own exceptions arrive as SinkFailure above.
            n_errors += 1
            if len(errors) < 20:
                errors.append(f"{packet.stream.type} at {_pts_s(packet)}: {_short(e)}")
        if progress and total and video and video.last_t - last_report >= 1.0:
            last_report = video.last_t
            progress("decode", min(1.0, video.last_t / total))
    return n_errors, truncated


def _stream_stats(
    video: _VideoSide | None, n_errors: int, errors: list[str], truncated: bool
) -> StreamStats:
    if video is None:
        return StreamStats(
            video_pts_s=np.zeros(0),
            video_packet_bytes=np.zeros(0, np.int64),
            video_keyframe_pts_s=np.zeros(0),
            decode_errors=n_errors,
            error_messages=errors,
            truncated=truncated,
            corrupt_frames=0,
        )
    return StreamStats(
        video_pts_s=np.array(sorted(video.pts), dtype=np.float64),
        video_packet_bytes=np.array(video.packet_bytes, dtype=np.int64),
        video_keyframe_pts_s=np.array(sorted(video.key_pts), dtype=np.float64),
        decode_errors=n_errors,
        error_messages=errors,
        truncated=truncated,
        corrupt_frames=video.corrupt + video.corrupt_packets,
    )


def stream_start_s(stream: Any) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def audio_lead_s(audio_stream: Any, video_stream: Any | None) -> float:
    """How long after the common origin (the earlier stream start) the audio starts: that much
    silence precedes its PCM, so PCM sample i is at i/16000 s on the frames' clock.  Capped at
    `MAX_LEAD_S`: a stream claiming to start minutes late is damaged (MED011 compares the
    durations)."""
    start = stream_start_s(audio_stream)
    origin = min(start, stream_start_s(video_stream)) if video_stream is not None else start
    return min(max(0.0, start - origin), MAX_LEAD_S)


def pcm_resampler() -> Any:
    """The resampler every 16 kHz analysis PCM goes through (packed float32 mono)."""
    return av.AudioResampler(format="flt", layout="mono", rate=AudioData.RATE)


def resampled_pcm(out: Any) -> np.ndarray:
    """A `pcm_resampler()` output frame's samples: packed float32 mono, its one plane."""
    return np.frombuffer(out.planes[0], np.float32, count=out.samples)


def _short(e: Exception) -> str:
    return str(e).split("] ", 1)[-1].strip()[:160]


def _pts_s(packet: Any) -> str:
    if packet.pts is None or packet.time_base is None:
        return "?"
    return f"{float(packet.pts * packet.time_base):.2f}s"


class _VideoSide:
    def __init__(
        self,
        stream: Any,
        media: MediaInfo,
        sample_fps: float,
        short_side_px: int,
        sinks: Sequence[FrameSink],
        origin_s: float,
        between_sinks: Sequence[FrameSink] = (),
    ):
        self.stream = stream
        self.sinks = list(sinks)
        # Sinks that also want the decoded frames between samples (the mouth track for lip
        # sync); they get the same analysis-size image, with index -1.
        self.between_sinks = list(between_sinks)
        self.interval = 1.0 / sample_fps
        self.short_side_px = short_side_px
        self.next_sample_t = 0.0
        self.sample_index = 0
        self.pts: list[float] = []
        self.key_pts: list[float] = []
        self.packet_bytes: list[int] = []
        self.corrupt = 0
        self.corrupt_packets = 0
        self.time_base = stream.time_base
        # pts * num / den in integers is what float(Fraction) gives, without a Fraction a frame.
        tb = stream.time_base
        self.tb_num, self.tb_den = (tb.numerator, tb.denominator) if tb else (0, 1)
        self.rate = float(stream.average_rate or stream.guessed_rate or 30)
        self.start = origin_s
        self.rotation: int | None = None
        self.frame_pix_fmt: str | None = None
        self.color_trc: int | None = None
        self.last_t = 0.0
        self.target: tuple[int, int] | None = None
        self.scale = 1.0

    def packet(self, packet: Any) -> None:
        self.packet_bytes.append(packet.size)
        if packet.size and getattr(packet, "is_corrupt", False):
            self.corrupt_packets += 1  # the demuxer knows it is incomplete (a cut-off file)
        for frame in packet.decode():
            self._frame(frame)

    def flush(self) -> None:
        for frame in self.stream.codec_context.decode(None):
            self._frame(frame)

    def _frame(self, frame: Any) -> None:
        if frame.pts is None:  # no timestamp at all: assume the declared spacing
            t = self.last_t + (1.0 / self.rate if self.pts else 0.0)
        else:
            t = frame.pts * self.tb_num / self.tb_den - self.start
        self.pts.append(t)
        self.last_t = max(self.last_t, t)
        if frame.key_frame:
            self.key_pts.append(t)
        if getattr(frame, "is_corrupt", False):
            self.corrupt += 1
        if self.rotation is None:
            self.rotation = right_angle(getattr(frame, "rotation", 0))
            self.frame_pix_fmt = frame.format.name
            self.color_trc = getattr(frame, "color_trc", None)
        if not self.sinks or t > MAX_ANALYSIS_S:
            return
        if t + 1e-6 < self.next_sample_t:
            if self.between_sinks:
                between = _BetweenFrame(
                    t,
                    lambda: self._image(frame),
                    self.scale,
                    frame,
                    self.target,
                    self.rotation or 0,
                )
                _feed(self.between_sinks, between)
            return
        while self.next_sample_t <= t + 1e-6:
            self.next_sample_t += self.interval
        image = self._image(frame)
        f = Frame(self.sample_index, t, image, self.scale, frame)
        self.sample_index += 1
        _feed(self.sinks, f)

    def _image(self, frame: Any) -> np.ndarray:
        if self.target is None:
            w, h = frame.width, frame.height
            short = min(w, h)
            self.scale = min(1.0, self.short_side_px / short) if short else 1.0
            self.target = (
                max(2, int(round(w * self.scale / 2)) * 2),
                max(2, int(round(h * self.scale / 2)) * 2),
            )
        tw, th = self.target
        image = _scale(frame, tw, th, "frame")
        return rotate_for_display(image, self.rotation or 0)

    def finalise(self, media: MediaInfo, stats: StreamStats) -> None:
        rot = self.rotation or 0
        media.rotation_deg = display_rotation_cw(rot)
        if media.rotation_deg in (90, 270) and media.coded_width and media.coded_height:
            media.width, media.height = media.coded_height, media.coded_width
        if self.frame_pix_fmt:
            from .probe import bit_depth_of

            media.pix_fmt = self.frame_pix_fmt
            media.bit_depth = bit_depth_of(self.frame_pix_fmt)
        pts = stats.video_pts_s
        if len(pts) >= 2:
            d = np.diff(pts)
            d = d[d > 0]
            if len(d):
                # Mean frame duration over the whole stream: what a player would derive.
                media.fps_from_timestamps = (
                    float((len(pts) - 1) / (pts[-1] - pts[0])) if pts[-1] > pts[0] else None
                )
                stats.video_decoded_s = float(pts[-1] + np.median(d))
        elif len(pts) == 1:
            stats.video_decoded_s = float(pts[0]) + (1.0 / media.fps if media.fps else 0.0)
        if media.video_duration_s is None or stats.truncated:
            media.video_duration_s = stats.video_decoded_s or None
        media.video_frames = len(pts)


def right_angle(rotation: Any) -> int:
    """The display matrix angle as a multiple of 90 degrees, as FFmpeg's own players apply it:
    within 2 degrees of a right angle it is that angle; any other angle (45 degrees, or the NaN
    of an all-zero matrix) is not a rotation a player applies, so it is ignored (0)."""
    try:
        a = float(rotation or 0.0)
    except (TypeError, ValueError):
        return 0
    if not np.isfinite(a):
        return 0
    k = round(a / 90.0)
    if abs(a - 90.0 * k) > 2.0:
        return 0
    return int(90 * k) % 360


class _BetweenFrame(Frame):
    """A frame between two samples (index -1): its analysis image is only made if a sink
    looks at it (the mouth track skips frames past ~30/s and frames after losing the face).
    `region()` converts only a rectangle of it (the mouth track's face crop)."""

    def __init__(
        self,
        t_s: float,
        make: Callable[[], np.ndarray],
        scale: float,
        av_frame: Any,
        target: tuple[int, int] | None = None,
        rotation: int = 0,
    ):
        self.index = -1
        self.t_s = t_s
        self.scale = scale
        self.av_frame = av_frame
        self.notes: dict[str, Any] = {}
        self._make = make
        self._target = target
        self._rotation = rotation

    @cached_property
    def image(self) -> np.ndarray:  # type: ignore[override]
        return self._make()

    def region(self, x0: float, y0: float, x1: float, y1: float) -> tuple[np.ndarray, int, int]:
        """(pixels, ox, oy): a piece of `image` covering the rectangle (analysis pixels,
        clipped to the image) whose top-left corner is at (ox, oy), the same pixels as the
        whole image would hold there up to rounding (within a few levels at the piece's
        edges).  Only that rectangle of the decoded picture is converted, when it can be cut
        on the scaler's grid; otherwise (or once the image exists) it is a slice of `image`."""
        if "image" not in self.__dict__ and self._target is not None:
            cut = _native_region(self.av_frame, self._target, self._rotation, (x0, y0, x1, y1))
            if cut is not None:
                return cut
        img = self.image
        h, w = img.shape[:2]
        ix0, iy0 = min(w, max(0, int(x0))), min(h, max(0, int(y0)))
        ix1, iy1 = max(ix0, min(w, int(np.ceil(x1)))), max(iy0, min(h, int(np.ceil(y1))))
        return img[iy0:iy1, ix0:ix1], ix0, iy0


_SCALERS = threading.local()


def _scale(
    frame: Any, width: int, height: int, kind: str, threads: int | None = None
) -> np.ndarray:
    """`frame.reformat(width, height, "bgr24")` through one scaler per thread and `kind`
    (whole frames, mouth crops), kept from frame to frame: FFmpeg then reuses its scaling
    context while the sizes stay the same (measured on the sample: 2.7 instead of 4.7 ms CPU
    per frame to 640x360) instead of building one per frame; the pixels are identical.
    `threads`: swscale's slice threads (None: one per core; a new context starts its own pool
    of them, which costs more than scaling a mouth crop)."""
    r = getattr(_SCALERS, kind, None)
    if r is None:
        r = VideoReformatter()
        setattr(_SCALERS, kind, r)
    global _REFORMAT_THREADS
    if threads is not None and _REFORMAT_THREADS:
        try:
            out = r.reformat(frame, width=width, height=height, format="bgr24", threads=threads)
            return out.to_ndarray()
        except TypeError:  # an older PyAV (14) has no `threads`: FFmpeg's default, same pixels
            _REFORMAT_THREADS = False
    return r.reformat(frame, width=width, height=height, format="bgr24").to_ndarray()


_REFORMAT_THREADS = True  # this PyAV's reformat() takes `threads` (until it says otherwise)


_REGION_FORMATS = ("yuv420p", "yuvj420p")
_REGION_MAX_STEP = 64  # native pixels between the points where the scaler's grids meet


def _grid_step(n: int, tn: int) -> int | None:
    """The smallest native step (n pixels scaled to tn) that lands on an even native pixel and
    an even analysis pixel: swscale shares one chroma sample between two output pixels, so
    an odd offset would pair them differently.  None above `_REGION_MAX_STEP`."""
    base = n // np.gcd(n, tn)
    for k in range(1, 5):
        s = k * base
        if s % 2 == 0 and (s * tn // n) % 2 == 0:
            return int(s) if s <= _REGION_MAX_STEP else None
    return None


def _native_region(
    frame: Any, target: tuple[int, int], rotation: int, rect: tuple[float, float, float, float]
) -> tuple[np.ndarray, int, int] | None:
    """The display-rotated analysis pixels of `rect` converted from the decoded 4:2:0 planes
    alone: the cut starts and ends where a native pixel boundary meets an analysis one (and on
    even native pixels, for the chroma), so swscale's filters sample the same positions as for
    the whole frame.  None when that grid is too coarse or the format is not 8-bit 4:2:0.

    Converted by a scaler of its own with one slice thread: the crop's size changes from frame
    to frame with the face, and swscale builds a new context for a new size, which with its
    default threads (one per core) starts a pool of threads each time.  Measured on the mouth
    track's real crops (CPU per crop, isolated, 1080p to 1280x720): 1.11 ms on the 1080p
    speaker before, 0.77 with one thread, 0.62 also written straight into a kept frame (the
    bundled sample: 0.61, 0.52, 0.39); the pixels are identical.  (Padding the crop to a size
    kept from frame to frame, so that the context is reused, cost more than it saved: 15%
    larger crops scaled 0.71 ms.)"""
    w, h = frame.width, frame.height
    tw, th = target
    fmt = frame.format.name
    if fmt not in _REGION_FORMATS or w % 2 or h % 2:
        return None
    cw = display_rotation_cw(rotation)
    x0, y0, x1, y1 = rect
    # The rectangle in the coded (unrotated) analysis image.
    if cw == 90:
        x0, y0, x1, y1 = y0, th - x1, y1, th - x0
    elif cw == 180:
        x0, y0, x1, y1 = tw - x1, th - y1, tw - x0, th - y0
    elif cw == 270:
        x0, y0, x1, y1 = tw - y1, x0, tw - y0, x1
    sx, sy = _grid_step(w, tw), _grid_step(h, th)
    if sx is None or sy is None:
        return None
    nx0 = int(max(0, np.floor(x0 * w / tw / sx) * sx))
    ny0 = int(max(0, np.floor(y0 * h / th / sy) * sy))
    nx1 = int(min(w, np.ceil(x1 * w / tw / sx) * sx))
    ny1 = int(min(h, np.ceil(y1 * h / th / sy) * sy))
    if nx1 - nx0 < 2 * sx or ny1 - ny0 < 2 * sy:
        return None
    pw, ph = nx1 - nx0, ny1 - ny0
    piece = _region_piece(pw, ph, fmt)
    for k, (src, dst) in enumerate(zip(frame.planes[:3], piece.planes[:3], strict=True)):
        a = np.frombuffer(src, np.uint8).reshape(-1, src.line_size)
        b = np.frombuffer(dst, np.uint8).reshape(-1, dst.line_size)
        if k == 0:
            b[:ph, :pw] = a[ny0:ny1, nx0:nx1]
        else:
            b[: ph // 2, : pw // 2] = a[ny0 // 2 : ny1 // 2, nx0 // 2 : nx1 // 2]
    piece.colorspace, piece.color_range = frame.colorspace, frame.color_range
    bgr = _scale(piece, pw * tw // w, ph * th // h, "region", threads=1)
    ox, oy = nx0 * tw // w, ny0 * th // h
    bgr = rotate_for_display(bgr, rotation)
    if cw == 90:
        ox, oy = th - (oy + bgr.shape[1]), ox
    elif cw == 180:
        ox, oy = tw - (ox + bgr.shape[1]), th - (oy + bgr.shape[0])
    elif cw == 270:
        ox, oy = oy, tw - (ox + bgr.shape[0])
    return bgr, ox, oy


# The 4:2:0 frames region cuts are copied into, per thread, by size (a face's crop keeps its
# size over runs of frames and moves between a few sizes): the cut is written straight into the
# frame swscale reads, instead of into a new array copied once more into a new frame.  At most
# _MAX_PIECES sizes and _MAX_PIECE_BYTES are kept (a 4K close-up's crops are ~6 MB each).
_PIECES = threading.local()
_MAX_PIECES = 8
_MAX_PIECE_BYTES = 16 << 20


def _region_piece(pw: int, ph: int, fmt: str) -> Any:
    pieces: dict[tuple[int, int, str], Any] | None = getattr(_PIECES, "by_size", None)
    if pieces is None:
        pieces = _PIECES.by_size = {}
    key = (pw, ph, fmt)
    piece = pieces.pop(key, None)
    if piece is None:
        piece = av.VideoFrame(pw, ph, fmt)
    # Least recently used first: the oldest go while too many or too large are kept.
    while pieces and (
        len(pieces) >= _MAX_PIECES
        or (pw * ph + sum(k[0] * k[1] for k in pieces)) * 3 // 2 > _MAX_PIECE_BYTES
    ):
        del pieces[next(iter(pieces))]
    pieces[key] = piece
    return piece


def display_rotation_cw(frame_rotation_ccw: int) -> int:
    """PyAV's `frame.rotation` is the display matrix angle, counter-clockwise.  Users know the
    clockwise "rotate" tag phones write (90 for a portrait iPhone clip), so that is reported."""
    return int((-frame_rotation_ccw) % 360)


def rotate_for_display(image: np.ndarray, frame_rotation_ccw: int) -> np.ndarray:
    cw = display_rotation_cw(frame_rotation_ccw)
    if cw in (90, 180, 270):
        import cv2  # here, not at the top: `--select MED` never imports OpenCV

    if cw == 90:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    if cw == 180:
        return cv2.rotate(image, cv2.ROTATE_180)
    if cw == 270:
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return image


class _AudioSide:
    def __init__(self, stream: Any, lead_s: float = 0.0, expected_s: float = 0.0):
        self.stream = stream
        self.rate = stream.codec_context.sample_rate or stream.rate or 0
        self.resampler = pcm_resampler()
        # `lead_s` of silence first (`audio_lead_s`): PCM sample i is at time i/16000 on the
        # same clock as the video frames.
        lead = int(round(lead_s * AudioData.RATE))
        # The 16 kHz PCM goes straight into an unnamed temporary file (`buffers.Spilled`), not
        # into memory: a 10-minute clip peaks where a 1-minute one does.  The capacity, from
        # the declared duration, is for its fallback to memory.
        try:
            expected = min(float(expected_s), MAX_ANALYSIS_S) if expected_s > 0 else 60.0
        except (TypeError, ValueError):
            expected = 60.0
        self.pcm = Spilled(
            limit=int(MAX_ANALYSIS_S * AudioData.RATE),
            capacity=lead + int((expected + 2) * AudioData.RATE),
        )
        self.pcm.extend(np.zeros(lead, np.float32))
        self.native_lead = int(round(lead_s * self.rate))
        self.native_samples = self.native_lead  # position on the common clock, native rate
        self.decoded_native = 0  # samples actually decoded (for levels)
        self.channels = 0
        self.sum_sq: np.ndarray | None = None
        self.peak: np.ndarray | None = None
        self.sum_lr = 0.0
        self.spw = max(1, self.rate // 100) if self.rate else 160
        self.clipped: dict[int, int] = {}
        self.format: tuple[str, str, int] | None = None
        self.first_format: tuple[str, str, int] | None = None
        self.format_changes: list[str] = []
        self.frames_seen = 0
        # Frames whose native-rate statistics are not yet counted (same shape, at most
        # STATS_BATCH_FRAMES), and each one's position: counted a batch at a time.
        self.pending: list[np.ndarray] = []
        self.pending_pos: list[int] = []

    def packet(self, packet: Any) -> None:
        for frame in packet.decode():
            self._frame(frame)

    def drain_resampler(self) -> None:
        for out in self.resampler.resample(None):
            self._pcm(out)

    def _flush_stats(self) -> None:
        """Count the pending frames into the native-rate statistics, with the same arithmetic
        (and so the same floating-point results) as one frame at a time, in fewer numpy calls:
        per-frame sums of squares (one einsum over the batch), added in frame order."""
        xs, pos = self.pending, self.pending_pos
        if not xs:
            return
        self.pending, self.pending_pos = [], []
        assert self.sum_sq is not None and self.peak is not None
        ch, n = xs[0].shape
        k = len(xs)
        x = np.concatenate(xs, axis=1) if k > 1 else xs[0]  # (ch, k * n)
        x3 = x.reshape(ch, k, n)
        per_frame = np.einsum("ikj,ikj->ik", x3, x3, dtype=np.float64)
        acc = np.concatenate([self.sum_sq[:, None], per_frame], axis=1)
        self.sum_sq = np.cumsum(acc, axis=1)[:, -1]  # cumsum adds strictly in order
        mag = np.abs(x)
        self.peak = np.maximum(self.peak, mag.max(axis=1))
        if ch >= 2:
            for f in xs:
                self.sum_lr += float(np.dot(f[0].astype(np.float64), f[1]))
        hot = np.nonzero((mag >= CLIP_LEVEL).any(axis=0))[0]
        if len(hot):
            at = np.asarray(pos, dtype=np.int64)[hot // n] + hot % n
            windows = at // self.spw
            for w, c in zip(*np.unique(windows, return_counts=True), strict=True):
                self.clipped[int(w)] = self.clipped.get(int(w), 0) + int(c)

    def _format_of(self, frame: Any) -> tuple[str, str, int]:
        return (frame.format.name, frame.layout.name, int(frame.sample_rate))

    def _frame(self, frame: Any) -> None:
        frame_channels(frame)  # DamagedAudioFrame before anything touches the samples
        fmt = self._format_of(frame)
        self.frames_seen += 1
        if self.format is None:
            self.format = fmt
        elif fmt != self.format and self.frames_seen <= 2:
            # A decoder may settle its output only after the first frame (implicit SBR/PS in
            # HE-AAC doubles the rate or adds a channel): not a change of the recording.
            self.format = fmt
            self.drain_resampler()
            self.resampler = pcm_resampler()
            self.pending, self.pending_pos = [], []  # counted from the settled format on
            self.sum_sq = self.peak = self.first_format = None
            self.sum_lr = 0.0
            self.rate = int(frame.sample_rate)
            self.spw = max(1, self.rate // 100)
        elif fmt != self.format:
            # The stream changed its sample rate, layout or sample format mid-stream (pieces of
            # MPEG-TS joined together): a finding, and the PCM goes on through a new resampler.
            change = (
                f"audio format changes at {self.native_samples / max(self.rate, 1):.2f} s: "
                f"{_fmt_desc(self.format)} -> {_fmt_desc(fmt)}"
            )
            self.format = fmt
            self.format_changes.append(change)
            self.drain_resampler()
            self.resampler = pcm_resampler()
        if not self.rate:
            self.rate = frame.sample_rate
            self.spw = max(1, self.rate // 100)
        x = native_float(frame)  # (channels, n)
        n = x.shape[1]
        if frame.sample_rate != self.rate:  # position kept in samples of the first rate
            n = int(round(n * self.rate / frame.sample_rate))
        if self.sum_sq is None:
            self.channels = x.shape[0]
            self.first_format = fmt
            self.sum_sq = np.zeros(self.channels)
            self.peak = np.zeros(self.channels)
        if fmt == self.first_format and x.shape[1]:
            if self.pending and (
                x.shape != self.pending[0].shape or len(self.pending) >= STATS_BATCH_FRAMES
            ):
                self._flush_stats()
            self.pending.append(x)
            self.pending_pos.append(self.native_samples)
        self.native_samples += n
        self.decoded_native += n
        if self.native_samples / max(self.rate, 1) <= MAX_ANALYSIS_S + 1:
            for out in self.resampler.resample(frame):
                self._pcm(out)

    def _pcm(self, out: Any) -> None:
        self.pcm.extend(resampled_pcm(out))

    def result(self) -> AudioData:
        self._flush_stats()
        pcm = self.pcm
        n = max(self.decoded_native, 1)
        ch = self.channels or (self.stream.codec_context.channels or 1)
        sum_sq = self.sum_sq if self.sum_sq is not None else np.zeros(ch)
        rms = tuple(float(np.sqrt(s / n)) for s in sum_sq)
        peak = tuple(float(p) for p in (self.peak if self.peak is not None else np.zeros(ch)))
        corr = None
        if ch >= 2 and sum_sq[0] > 0 and sum_sq[1] > 0:
            corr = float(self.sum_lr / np.sqrt(sum_sq[0] * sum_sq[1]))
        n_windows = int(np.ceil(self.native_samples / self.spw)) if self.native_samples else 0
        clipped = np.zeros(n_windows, np.int32)
        for w, c in self.clipped.items():
            if w < n_windows:
                clipped[w] = c
        return AudioData(
            pcm16k=pcm,
            sample_rate_hz=int(self.rate),
            channels=int(ch),
            channel_rms=rms,
            channel_peak=peak,
            lr_correlation=corr,
            clipped_per_10ms=clipped,
            samples_per_10ms=int(self.spw),
        )


class SinkFailure(Exception):
    """A frame sink (an analyser) raised: carried out of the packet loop as itself, never
    counted as damage of the file."""


def _feed(sinks: Sequence[FrameSink], frame: Any) -> None:
    for sink in sinks:
        try:
            sink(frame)
        except Exception as e:
            raise SinkFailure() from e


class DamagedAudioFrame(ValueError):
    """A decoded audio frame that cannot be real audio (implausible channel count or layout);
    it is counted as a decode error (MED011), never converted."""


def frame_channels(frame: Any) -> int:
    """The channel count an audio frame claims; DamagedAudioFrame when it is implausible."""
    layout = frame.layout
    ch = int(layout.nb_channels) if layout is not None else 0
    if ch < 1 or ch > MAX_AUDIO_CHANNELS:
        raise DamagedAudioFrame(
            f"a frame claims {ch} audio channels (at most {MAX_AUDIO_CHANNELS} are plausible)"
        )
    if frame.sample_rate is None or not 1000 <= int(frame.sample_rate) <= 768_000:
        raise DamagedAudioFrame(f"a frame claims a sample rate of {frame.sample_rate} Hz")
    return ch


def _fmt_desc(fmt: tuple[str, str, int]) -> str:
    return f"{fmt[2]} Hz {fmt[1]} {fmt[0]}"


def native_float(frame: Any) -> np.ndarray:
    """Audio frame -> float32 array (channels, samples) in [-1, 1], whatever the sample format.

    Raises DamagedAudioFrame for a frame with an implausible channel count or rate (damaged
    AAC can claim 62 channels).  PyAV's `to_ndarray` finds a planar frame's planes by walking
    a pointer array to its first NULL, which runs off the array at 8 or more channels and
    crashes the process; such frames are first converted to one interleaved plane by FFmpeg's
    resampler, which knows the real plane count."""
    ch = frame_channels(frame)
    fmt = frame.format
    if fmt.is_planar and ch >= 8:
        r = av.AudioResampler(format="flt", layout=frame.layout, rate=frame.sample_rate)
        outs = [*r.resample(frame), *r.resample(None)]
        parts = [o.to_ndarray().reshape(-1, ch).T for o in outs]
        return np.concatenate(parts, axis=1) if parts else np.zeros((ch, 0), np.float32)
    if fmt.name in ("flt", "fltp"):
        # The usual case (AAC, Opus decode to float): the planes as they are, without the
        # copies of `to_ndarray` (the same values).
        n = frame.samples
        if fmt.is_planar:
            planes = frame.planes
            if ch == 1:
                return np.frombuffer(planes[0], np.float32, count=n)[None, :]
            return np.stack([np.frombuffer(p, np.float32, count=n) for p in planes[:ch]])
        return np.frombuffer(frame.planes[0], np.float32, count=n * ch).reshape(-1, ch).T
    x = frame.to_ndarray()
    if not fmt.is_planar:
        x = x.reshape(-1, ch).T
    if x.dtype == np.int16:
        return x.astype(np.float32) / 32768.0
    if x.dtype == np.int32:
        return x.astype(np.float32) / 2147483648.0
    if x.dtype == np.uint8:
        return (x.astype(np.float32) - 128.0) / 128.0
    return x.astype(np.float32, copy=False)
