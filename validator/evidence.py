"""Evidence: everything the analysers measured about one clip, and nothing they decided.

Checks read only this.  Each field is filled by one producer:

- `media`       probe.py, completed by the decode pass (rotation, bit depth from real frames)
- `stream`      decode.py: every video packet's timestamp/size/key flag, decode errors,
                stream durations (cheap; always present when the file opened)
- `audio`       decode.py: 16 kHz mono PCM plus native-rate channel statistics
- `voice`       analysis/voice.py   (voice-activity timeline, segments, levels)
- `faces`       analysis/faces.py   (per-sample face boxes, landmarks, pose, mouth)
- `image`       analysis/image.py   (per-sample sharpness, exposure, noise, motion)
- `continuity`  analysis/continuity.py (cuts, frozen runs, timestamp gaps, shot breaks)
- `sync`        analysis/lip_sync.py (the mouth track against the voice: the lip-sync curve)
- `thumbnails`  small JPEG thumbnails of sampled frames (only when a renderer asks)

A field is None when it could not be measured; `missing[field]` then says why in a sentence the
user can read ("the file has no audio stream").  Checks that need it are skipped with that reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    import av

    from .analysis.consent import ConsentEvidence
    from .analysis.continuity import ContinuityEvidence
    from .analysis.faces import FaceEvidence
    from .analysis.image import ImageEvidence
    from .analysis.lip_sync import SyncEvidence
    from .analysis.thumbnails import Thumbnails
    from .analysis.voice import VoiceEvidence


@dataclass
class MediaInfo:
    """Container and stream facts.  Width/height are *display* size (after rotation)."""

    container: str  # short name: mp4, mov, webm, mkv, avi, mpeg, ...
    format_name: str  # FFmpeg's demuxer name(s), e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    duration_s: float | None
    size_bytes: int
    has_video: bool
    has_audio: bool
    width: int | None = None
    height: int | None = None
    coded_width: int | None = None
    coded_height: int | None = None
    rotation_deg: int = 0
    fps: float | None = None  # declared average rate
    fps_from_timestamps: float | None = None
    video_codec: str | None = None
    video_profile: str | None = None
    pix_fmt: str | None = None
    bit_depth: int | None = None
    color_transfer: str | None = None  # "bt709", "smpte2084" (PQ), "arib-std-b67" (HLG), ...
    color_primaries: str | None = None
    video_frames: int | None = None
    audio_codec: str | None = None
    sample_rate_hz: int | None = None
    channels: int | None = None
    audio_streams: int = 0
    video_streams: int = 0
    video_duration_s: float | None = None
    audio_duration_s: float | None = None
    brand: str | None = None  # MP4 major_brand ("qt  " is a QuickTime file named .mp4)
    video_index: int | None = None  # container stream index of the video/audio stream analysed
    audio_index: int | None = None

    @property
    def is_hdr(self) -> bool:
        return self.color_transfer in ("smpte2084", "arib-std-b67")

    def to_dict(self) -> dict[str, Any]:
        """The `media` object of the JSON report: the contract's keys first, then extras."""
        return {
            "container": self.container,
            "duration_s": _r(self.duration_s),
            "width": self.width,
            "height": self.height,
            "rotation_deg": self.rotation_deg,
            "fps": _r(self.fps),
            "video_codec": self.video_codec,
            "audio_codec": self.audio_codec,
            "sample_rate_hz": self.sample_rate_hz,
            "channels": self.channels,
            "fps_from_timestamps": _r(self.fps_from_timestamps),
            "pix_fmt": self.pix_fmt,
            "bit_depth": self.bit_depth,
            "color_transfer": self.color_transfer,
            "video_duration_s": _r(self.video_duration_s),
            "audio_duration_s": _r(self.audio_duration_s),
            "size_bytes": self.size_bytes,
        }


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)


@dataclass
class StreamStats:
    """What the decode pass saw of the streams, over *every* packet (not only sampled frames)."""

    video_pts_s: np.ndarray  # presentation time of every decoded video frame, seconds, sorted
    video_packet_bytes: np.ndarray  # size of every video packet, in decode order
    video_keyframe_pts_s: np.ndarray
    decode_errors: int = 0  # packets/frames the decoder rejected
    error_messages: list[str] = field(default_factory=list)
    truncated: bool = False  # demuxing stopped early on an error
    corrupt_frames: int = 0
    audio_decoded_s: float = 0.0  # seconds of audio actually decoded
    video_decoded_s: float = 0.0  # last video pts + one frame duration
    analysis_cut_s: float | None = None  # analysis stopped here (clip longer than analysed)


@dataclass
class AudioData:
    """Decoded audio: 16 kHz mono float32 PCM for analysis, plus native-rate statistics that
    need the original channels (computed on the fly, so memory stays flat)."""

    # float32, mono, 16 kHz, [-1, 1]: an array, or from the decode pass a `buffers.Spilled`
    # (the same reads: len, slices, np.asarray) whose samples are in a temporary file; read it
    # a block at a time, as `analysis/voice.py` and `analysis/sync.py` do.
    pcm16k: Any
    sample_rate_hz: int  # native rate
    channels: int  # native channel count
    channel_rms: tuple[float, ...]  # per native channel, linear
    channel_peak: tuple[float, ...]
    lr_correlation: float | None  # Pearson correlation of first two channels; None if mono
    # Native-rate samples at or above 0.999 full scale, counted per 10 ms window (for AUD003).
    clipped_per_10ms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    samples_per_10ms: int = 160

    RATE = 16000

    @property
    def duration_s(self) -> float:
        return len(self.pcm16k) / self.RATE


class Frame:
    """One sampled video frame, handed to each frame analyser in turn.

    `image` is BGR uint8 at analysis resolution with display rotation applied.  `scale` maps
    analysis pixels back to display pixels (display = analysis / scale).  `av_frame` is the
    decoded frame as it came out of the decoder (coded orientation, native bit depth), for
    measurements that need the real sample values (10-bit, HDR).  Analysers may leave per-frame
    results in `notes` for analysers that run after them (faces before image).
    """

    def __init__(
        self,
        index: int,
        t_s: float,
        image: np.ndarray,
        scale: float,
        av_frame: av.VideoFrame | None = None,
    ):
        self.index = index
        self.t_s = t_s
        self.image = image
        self.scale = scale
        self.av_frame = av_frame
        self.notes: dict[str, Any] = {}

    @cached_property
    def gray(self) -> np.ndarray:
        import cv2

        return cv2.cvtColor(self.image, cv2.COLOR_BGR2GRAY)

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


class Analyser(Protocol):
    """A measurement stage.  Created per clip by its factory; sees sampled frames in time order
    (if `wants_frames`), then `finish()` once with the evidence gathered so far, and returns the
    value stored at `Evidence.<provides>`.  Analysers measure; they never decide pass/fail."""

    wants_frames: bool

    def on_frame(self, frame: Frame) -> None: ...

    def finish(self, ev: Evidence) -> Any: ...


@dataclass(frozen=True)
class AnalyserSpec:
    provides: str  # Evidence attribute it fills
    factory: Any  # callable(settings: Settings, media: MediaInfo) -> Analyser
    requires: tuple[str, ...] = ()  # evidence it reads (runs after those producers)


@dataclass
class Evidence:
    path: str
    size_bytes: int
    sha256: str | None = None
    media: MediaInfo | None = None
    stream: StreamStats | None = None
    audio: AudioData | None = None
    # One field per analyser (`AnalyserSpec.provides`), typed by what its finish() returns.
    voice: VoiceEvidence | None = None
    faces: FaceEvidence | None = None
    image: ImageEvidence | None = None
    continuity: ContinuityEvidence | None = None
    thumbnails: Thumbnails | None = None
    consent: ConsentEvidence | None = None  # only when consent checking is on
    sync: SyncEvidence | None = None
    open_error: str | None = None  # why the file could not be opened as media (MED001)
    missing: dict[str, str] = field(default_factory=dict)

    def why_missing(self, name: str) -> str:
        return self.missing.get(name) or f"{name} could not be measured"

    def stats_rows(self) -> list[dict[str, Any]]:
        """Per-sample rows for `--stats FILE`: each evidence object that has `stats_rows()`
        contributes rows with a `t_s` and a `stream` ("audio" or "video") column."""
        # Analysers of the same stream sample the same instants: their rows for one instant are
        # merged into one row, so a CSV line holds everything measured at that time.
        # Every evidence field whose value has stats_rows(), in field order (a new analyser's
        # evidence is included by having the method).
        merged: dict[tuple[float, str], dict[str, Any]] = {}
        for f in fields(self):
            obj = getattr(self, f.name)
            if obj is not None and hasattr(obj, "stats_rows"):
                for row in obj.stats_rows():
                    key = (round(float(row.get("t_s", 0.0)), 4), str(row.get("stream", "")))
                    merged.setdefault(key, {}).update(row)
        return [merged[k] for k in sorted(merged)]
