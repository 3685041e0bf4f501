"""Where the voice may be, known ahead of the decode pass: so the face analyser follows the
mouth on every frame (for lip sync, MTH003) only where lip sync can use it.

MTH003 compares only the frames within `sync.ACTIVE_GUARD_S` (0.5 s) of a speech window of the
voice analyser.  Every speech window lies within `voice.MAX_GAP_S / 2` (0.15 s) of a window
whose Silero probability is at least `voice.SILERO_KEEP_WITH_WEBRTC` (0.15): speech starts at
Silero >= 0.5, continues at >= 0.15 at the lowest, and only gaps under 0.3 s are closed.  So a
frame farther than 0.5 + 0.15 + 0.016 s from every such window is never compared.  The gate
follows every frame within `MARGIN_S` (0.8 s) plus one sample interval (0.2 s at 5 fps) of one:
the extra interval puts a sampled frame between the first followed frame and the first compared
one (below).

The decode pass reads the file in its own order, and containers put the audio up to ~1 s
*behind* the video (the bundled sample: 1.1 s), so the audio the decode pass has reached cannot
say whether speech starts in the next second.  This gate therefore reads the file's audio on
its own, in a thread beside the decode pass (audio is ~1% of the bytes and decodes in a few
tenths of a second a minute): the same demuxer opening (`media.source.open_input`, the name is
never interpreted), the same resampling to 16 kHz mono, the same lead of silence before a
stream that starts late, the same 512-sample windows from the first sample and the same Silero
model, so its probabilities are the voice analyser's (measured equal, to the bit, on the sample
and the shared real clips).  It keeps only the probabilities (4 bytes per 32 ms window), which
the voice analyser reuses instead of running Silero a second time when they cover the whole
clip.

It only ever says "quiet" where it has heard the audio: ahead of what it has decoded, after a
failure (a damaged stream, a change of audio format) or when it is stopped, every frame is
followed, as without it.  On the frames it lets through, the mouth track is unchanged: between
two sampled frames the track starts again from the sampled frame's landmarks, and a sample lies
between the first followed frame and the first compared one, so every compared frame sees the
same chain of landmarks as before (`tests/test_voice_gate.py`).
"""

from __future__ import annotations

import itertools
import threading
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..buffers import Growing
from ..evidence import AudioData
from ..media.decode import MAX_ANALYSIS_S, audio_lead_s, pcm_resampler, resampled_pcm
from . import voice

MARGIN_S = 0.8  # 0.5 + 0.15 + 0.016 s needed, and slack
CANDIDATE_PROB = voice.SILERO_KEEP_WITH_WEBRTC  # the lowest Silero probability speech can have
WINDOW = voice.WINDOW
STOP_WAIT_S = 5.0
BLOCK_WINDOWS = 64  # windows measured together (2 s of audio)
WINDOW_S = voice.WINDOW_S


class VoiceGate:
    """`wanted(t)`: whether the frame at `t` (seconds on the decode pass's clock) may be within
    reach of speech.  `start()` runs the audio reader in a daemon thread; `stop()` ends it."""

    def __init__(
        self,
        path: str | Path,
        video_index: int | None,
        audio_index: int,
        sample_interval_s: float = 0.2,
    ):
        self.path = str(path)
        self.video_index, self.audio_index = video_index, audio_index
        self._probs = Growing(1024)  # per window
        self._crc = 0  # CRC-32 of the measured windows' samples: the voice analyser's check
        self._done = False  # the audio was read to its end (or to MAX_ANALYSIS_S)
        self._failed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.margin_windows = int(np.ceil((MARGIN_S + sample_interval_s) / WINDOW_S))

    # -- the reader ------------------------------------------------------------------------
    def start(self) -> VoiceGate:
        self._thread = threading.Thread(target=self._run, name="voice-gate", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Asks the reader to end and waits for it a moment; a reader still stuck inside the
        demuxer then (a hostile file) is a daemon thread left to finish on its own, and the
        voice analyser runs Silero itself."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_WAIT_S)

    def _run(self) -> None:
        try:
            self._read()
        except Exception:  # a damaged stream: every frame is followed from here on
            self._failed = True

    def _read(self) -> None:
        from ..media.source import open_input

        with open_input(self.path, metadata_errors="ignore") as c:
            streams = list(c.streams)
            a = streams[self.audio_index]
            v = streams[self.video_index] if self.video_index is not None else None
            # The decode pass's lead: PCM sample i is at i/16000 s on the common clock.
            lead = int(round(audio_lead_s(a, v) * AudioData.RATE))
            self._windows(self._pcm(c, a), lead)

    def _pcm(self, c: Any, stream: Any) -> Any:
        """16 kHz mono float32 pieces, as `media.decode._AudioSide` makes them."""
        resampler = pcm_resampler()
        fmt = None
        for packet in c.demux(stream):
            for frame in packet.decode():
                now = (frame.format.name, frame.layout.name, frame.sample_rate)
                if fmt is not None and now != fmt:
                    # The decode pass drains and restarts its resampler here: this reader
                    # stops, and the rest of the clip is followed whole.
                    raise ValueError("audio format changes")
                fmt = now
                for out in resampler.resample(frame):
                    yield resampled_pcm(out)
                if self._stop.is_set():
                    return
        for out in resampler.resample(None):
            yield resampled_pcm(out)

    def _windows(self, pieces: Any, lead: int) -> None:
        """Silero over the 512-sample windows of the lead and the pieces, a block of
        `BLOCK_WINDOWS` at a time (one finiteness check and one CRC update per block)."""
        vad = voice._silero()
        limit = int(MAX_ANALYSIS_S * AudioData.RATE // WINDOW)
        block = np.empty(BLOCK_WINDOWS * WINDOW, np.float32)
        fill = 0
        for piece in itertools.chain([np.zeros(lead, np.float32)] if lead else [], pieces):
            at = 0
            while at < len(piece):
                k = min(len(block) - fill, len(piece) - at)
                block[fill : fill + k] = piece[at : at + k]
                fill, at = fill + k, at + k
                if fill == len(block) and not self._block(vad, block, fill, limit):
                    return
                fill %= len(block)
        if self._block(vad, block, fill - fill % WINDOW, limit):
            self._done = True

    def _block(self, vad: Any, block: np.ndarray, n: int, limit: int) -> bool:
        """Measures the whole windows of `block[:n]` (up to `limit` in all); False: stop
        reading (the limit reached, or stopped)."""
        x = block[: min(n // WINDOW, limit - self._probs.n) * WINDOW]
        if not np.isfinite(x).all():  # the voice analyser cleans NaN first: no reuse, no gate
            raise ValueError("non-finite samples")
        self._crc = zlib.crc32(x, self._crc)
        self._probs.extend(voice.silero_probs(x.reshape(-1, WINDOW), vad))
        if self._probs.n >= limit:
            self._done = True
            return False
        return not self._stop.is_set()

    # -- the questions ---------------------------------------------------------------------
    def wanted(self, t_s: float) -> bool:
        """False only where the audio around `t_s` (+-MARGIN_S) was heard and holds no window
        speech could be part of."""
        n = self._probs.n  # read once: the reader appends meanwhile
        a = max(0, int(t_s / WINDOW_S) - self.margin_windows)
        b = int(t_s / WINDOW_S) + self.margin_windows + 1
        if b > n and not (self._done and not self._failed):
            return True  # not heard yet (or never will be): follow
        return bool((self._probs.data[a : min(b, n)] >= CANDIDATE_PROB).any())

    def matching_probs(self, n_windows: int, crc: int) -> np.ndarray | None:
        """The Silero probabilities of the voice analyser's `n_windows` windows whose samples
        have CRC-32 `crc`, when this reader measured exactly those (same count, same CRC, read
        to the end without a failure); else None."""
        if self._thread is not None and self._thread.is_alive():
            return None
        if not self._done or self._failed or self._probs.n != n_windows or crc != self._crc:
            return None
        return self._probs.view().copy()
