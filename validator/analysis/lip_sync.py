"""Lip sync as evidence (`Evidence.sync`; MTH003): the face analyser's mouth track against the
voice, measured once after the faces and voice analysers with `analysis/sync.py`'s method, so
the check only judges (and the cost shows under `sync` in the report's timings).

Inputs: `FaceEvidence.mouth_t_s` / `mouth_open_track` (every decoded frame up to ~30/s; the
sampled frames' `mouth_open` when there is no track), the voice analyser's speech windows
(`voice.t_s`, `voice.speech`, `voice.window_s`; stand-ins without them: the speaking segment
counts as speech) and the decode pass's 16 kHz PCM.  Only speech within 0.1 s of a mouth
sample (the face in view) is compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..evidence import AnalyserSpec, Evidence
from . import register
from .sync import SyncResult, measure
from .sync import _near as near_sorted

# A speech window counts as seen when a mouth sample lies this close (one frame at 10 fps).
SEEN_GUARD_S = 0.1
MIN_PCM_SAMPLES = 2048  # 0.13 s at 16 kHz: less is no audio to compare with


@dataclass(frozen=True)
class SyncEvidence:
    speech_s: float  # seconds of speech with the face in view
    result: SyncResult | None  # None: too few frames with a visible, moving mouth while speaking


def mouth_track(f: Any) -> tuple[np.ndarray, np.ndarray]:
    """The mouth opening on every tracked frame (the face analyser's native-rate track), or the
    sampled frames' when there is no track (hand-built evidence)."""
    t = getattr(f, "mouth_t_s", None)
    if t is not None and len(t) > 0:
        return np.asarray(t), np.asarray(f.mouth_open_track)
    m = f.present & np.isfinite(f.mouth_open)
    return f.t_s[m], f.mouth_open[m]


def measure_sync(faces: Any, voice: Any, audio: Any) -> tuple[SyncEvidence | None, str]:
    """(evidence, "") or (None, why it cannot be measured: a sentence for the skip)."""
    speaking = getattr(voice, "speaking", None)
    if speaking is None:
        return None, "no speaking segment was found (see SEG001)"
    if audio is None or len(audio.pcm16k) < MIN_PCM_SAMPLES:
        return None, "no audio to compare the mouth with"
    speech = getattr(voice, "speech", None)
    vt = getattr(voice, "t_s", None)
    if speech is not None and vt is not None and len(vt) == len(speech):
        speech_t, window_s = np.asarray(vt)[np.asarray(speech, bool)], float(voice.window_s)
    else:  # stand-in voice objects: the speaking segment is speech
        window_s = 0.032
        speech_t = np.arange(speaking.start_s, speaking.end_s, window_s) + window_s / 2
    t, mo = mouth_track(faces)
    if len(t) == 0:
        return None, "no face with a visible mouth"
    seen = near_sorted(speech_t, np.sort(np.asarray(t, np.float64)), SEEN_GUARD_S)
    speech_s = float(seen.sum() * window_s)
    return SyncEvidence(speech_s, measure(t, mo, audio.pcm16k, speech_t[seen], window_s)), ""


class _SyncAnalyser:
    wants_frames = False

    def on_frame(self, frame: Any) -> None:  # pragma: no cover - wants_frames is False
        pass

    def finish(self, ev: Evidence) -> SyncEvidence | None:
        out, why = measure_sync(ev.faces, ev.voice, ev.audio)
        if out is None:
            ev.missing["sync"] = why
        return out


def _factory(settings: Any, media: Any) -> _SyncAnalyser:
    return _SyncAnalyser()


register(AnalyserSpec(provides="sync", factory=_factory, requires=("faces", "voice", "audio")))
