"""Live readouts for the Record mode: the server's own analysers and rules on the frames and
sound the page sends a few times a second.

Runs in a process of its own (a one-worker pool beside the check pool), so readouts never
wait behind a check and never hold the server.  Per page session it keeps one `FaceAnalyser`
and one `ImageAnalyser` (the tracker works across frames as in a clip) and the last seconds of
sound.  Each readout is the real rule (`registry`), judged with the resolved settings
(`Settings.resolve`), on a short window of the live samples:

- every frame, over the last `WINDOW` samples: FAC001-FAC007 (face found, one face, size,
  centred, head in frame, turned) and IMG002-IMG004 (too dark, blown out, uneven);
- while listening (the guided take says when), MTH001 (lips apart) over the same window;
- over the take so far: FAC009 (leaning in and out);
- the sound, every second over the last `AUDIO_WINDOW_S`: AUD001 (room noise, before the
  take) and, while listening, SEG004's allowance for speech (`max_speech_s`).

The readouts' messages and hints are the rules' own, so the page says what `check` will say.
"""

from __future__ import annotations

import copy
import signal
import time
from types import SimpleNamespace
from typing import Any

import numpy as np

from ..evidence import AudioData, Evidence, Frame, MediaInfo
from ..registry import load_all
from ..settings import Settings
from ..spans import Span

LIVE_FPS = 3.0  # frames the page sends per second (the analysers' sample rate for live use)
WINDOW = 3  # samples: the last second
MIN_LIVE_FPS = 0.5  # a live sample stands for at most 2 s, however long the page took
TAKE_MAX_SAMPLES = 3 * 60 * 3  # a phoenix-3 take (120 s) at LIVE_FPS, with margin
AUDIO_WINDOW_S = 2.0
FRAME_RULES = (
    "FAC001",
    "FAC002",
    "FAC003",
    "FAC004",
    "FAC005",
    "FAC006",
    "FAC007",
    "IMG002",
    "IMG003",
    "IMG004",
)
LISTEN_RULES = ("MTH001",)
TAKE_RULES = ("FAC009",)
SESSION_IDLE_S = 120.0

_SESSIONS: dict[str, dict[str, Any]] = {}


def init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def warm() -> bool:
    """Load the face models once, before the first frame arrives."""
    from ..analysis.face_models import load_models

    load_models()
    return True


def _live_settings(kwargs: dict[str, Any]) -> Settings:
    # Every live rule is judged whatever the server's --select (coaching covers the whole take);
    # an explicitly ignored rule stays ignored.
    kw = dict(kwargs, sample_fps=LIVE_FPS, select=("ALL",))
    return Settings(**kw)


def _session(sid: str, settings: Settings, w: int, h: int, t_s: float) -> dict[str, Any]:
    from ..analysis.faces import FaceAnalyser
    from ..analysis.image import ImageAnalyser

    now = time.monotonic()
    for k in [k for k, s in _SESSIONS.items() if now - s["used"] > SESSION_IDLE_S]:
        del _SESSIONS[k]
    s = _SESSIONS.get(sid)
    # A frame earlier than the last one is on a new clock (the take began): new analysers, so
    # the readouts' times are the take's own.
    if s is None or s["size"] != (w, h) or t_s < s.get("t_s", -1.0):
        media = MediaInfo("live", "live", None, 0, True, False, width=w, height=h, bit_depth=8)
        s = {
            "faces": FaceAnalyser(settings, media),
            "image": ImageAnalyser(settings, media),
            "media": media,
            "size": (w, h),
            "audio": np.zeros(0, np.float32),
            "n": 0,
            "take": [],  # face samples since the take started
        }
        _SESSIONS[sid] = s
    s["used"], s["t_s"] = now, t_s
    return s


def _results(ids: tuple[str, ...], ev: Evidence, settings: Settings) -> list[dict[str, Any]]:
    from ..judge import run_check

    rules = load_all()
    out = []
    for rid in ids:
        r = rules.get(rid)
        if r is None or not settings.is_selected(rid):
            continue
        res = run_check(r, ev, settings)
        out.append(
            {
                "rule": res.rule,
                "name": res.name,
                "severity": res.severity,
                "status": res.status,
                "message": res.message,
                "hint": res.hint,
            }
        )
    return out


def _rate(samples: list[Any]) -> float:
    """Samples per second as the page really sent them (at most `LIVE_FPS`: a slow machine
    sends fewer), from their times; `LIVE_FPS` until two samples are in."""
    if len(samples) < 2 or samples[-1].t_s <= samples[0].t_s:
        return LIVE_FPS
    rate = (len(samples) - 1) / (samples[-1].t_s - samples[0].t_s)
    return min(LIVE_FPS, max(MIN_LIVE_FPS, rate))


def frame(
    sid: str,
    jpeg: bytes,
    phase: str,
    settings_kwargs: dict[str, Any],
    t_s: float | None = None,
) -> dict[str, Any]:
    """One camera frame: the readouts for the last second (and the take so far).  `t_s`: when
    the page took it, in seconds (from the take's start during a take), so the times in the
    rules' messages are real ones; without it, frames are taken as `LIVE_FPS` apart."""
    import cv2

    from ..analysis.faces import build_evidence

    t0, c0 = time.perf_counter(), time.process_time()
    settings = _live_settings(settings_kwargs)
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return {"error": "the frame is not a JPEG image"}
    h, w = img.shape[:2]
    short = min(w, h)
    target = int(settings.analysis_short_side_px)
    if short > target:
        k = target / short
        img = cv2.resize(img, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA)
    h, w = img.shape[:2]
    prev = _SESSIONS.get(sid, {})
    if t_s is None:
        t_s = prev.get("t_s", -1.0 / LIVE_FPS) + 1.0 / LIVE_FPS
    s = _session(sid, settings, w, h, t_s)
    fa, ia = s["faces"], s["image"]
    n = s["n"]
    s["n"] = n + 1
    fr = Frame(n, t_s, img, 1.0)
    fa.on_frame(fr)
    ia.on_frame(fr)
    if phase in ("speak", "listen"):
        s["take"].append(fa.samples[-1])
        del s["take"][:-TAKE_MAX_SAMPLES]
    else:
        s["take"] = []
    # Bounded memory: the analysers keep only what a window needs.
    del fa.samples[:-WINDOW]
    del ia.rows[:-WINDOW]
    ev = Evidence(path="live", size_bytes=0, media=s["media"])
    fa.sample_fps = _rate(fa.samples)  # a sample stands for the time until the next one
    ev.faces = fa.finish(ev)
    ev.image = copy.copy(ia).finish(ev)
    window = ev.faces.t_s
    ids = FRAME_RULES
    if phase == "listen" and len(window):
        # The guided take says this is the listening part: MTH001 judges exactly that span.
        ev.voice = SimpleNamespace(
            listening=Span(float(window[0]), float(window[-1] + 1 / fa.sample_fps)), speaking=None
        )
        ids = ids + LISTEN_RULES
    readouts = _results(ids, ev, settings)
    if phase in ("speak", "listen") and len(s["take"]) >= 2 * LIVE_FPS:
        take_ev = Evidence(path="live", size_bytes=0, media=s["media"])
        take_ev.faces = build_evidence(s["take"], s["size"], _rate(s["take"]))
        readouts += _results(TAKE_RULES, take_ev, settings)
    box = fr.notes.get("face_box")
    face = None
    if box is not None:
        x0, y0, x1, y1 = (float(v) for v in box)
        face = {"x0": x0 / w, "y0": y0 / h, "x1": x1 / w, "y1": y1 / h}
    return {
        "readouts": readouts,
        "face": face,
        "server_ms": round(1000 * (time.perf_counter() - t0), 1),
        "cpu_ms": round(1000 * (time.process_time() - c0), 1),
    }


def audio(sid: str, pcm16: bytes, phase: str, settings_kwargs: dict[str, Any]) -> dict[str, Any]:
    """About a second of 16 kHz mono 16-bit sound: room noise, and speech while listening."""
    from ..analysis.voice import VoiceAnalyser

    t0, c0 = time.perf_counter(), time.process_time()
    settings = _live_settings(settings_kwargs)
    s = _SESSIONS.get(sid)
    if s is None:
        s = {"audio": np.zeros(0, np.float32), "used": time.monotonic(), "size": None, "n": 0}
        s["take"] = []
        _SESSIONS[sid] = s
    s["used"] = time.monotonic()
    x = np.frombuffer(pcm16[: len(pcm16) // 2 * 2], "<i2").astype(np.float32) / 32768.0
    keep = int(AUDIO_WINDOW_S * AudioData.RATE)
    buf = np.concatenate([s["audio"], x])[-keep:]
    s["audio"] = buf
    if len(buf) < AudioData.RATE:  # AUD001 needs at least 1 s
        return {"readouts": [], "level_dbfs": None}
    rms = float(np.sqrt(np.mean(buf.astype(np.float64) ** 2)))
    peak = float(np.max(np.abs(buf)))
    ev = Evidence(path="live", size_bytes=0)
    ev.audio = AudioData(buf, AudioData.RATE, 1, (rms,), (peak,), None)
    ev.voice = VoiceAnalyser(settings).finish(ev)
    out: list[dict[str, Any]] = []
    if phase != "speak":
        out = _results(("AUD001",), ev, settings) if phase != "listen" else []
    speech_s = 0.0
    if ev.voice is not None:
        speech_s = float(np.sum(ev.voice.speech) * ev.voice.window_s)
    if phase == "listen":
        rules = load_all()
        if "SEG004" in rules and settings.is_selected("SEG004"):
            p = settings.resolve(rules["SEG004"])
            limit = float(p.max_speech_s)
            bad = speech_s > limit
            out.append(
                {
                    "rule": "SEG004",
                    "name": rules["SEG004"].name,
                    "severity": rules["SEG004"].severity,
                    "status": "fail" if bad else "pass",
                    "message": f"{speech_s:.1f} s of speech in the last {AUDIO_WINDOW_S:.0f} s "
                    f"of listening (allowed {limit:g} s in the whole listening part)",
                    "hint": rules["SEG004"].hint if bad else None,
                }
            )
    level = 20 * np.log10(max(rms, 1e-6))
    return {
        "readouts": out,
        "level_dbfs": round(float(level), 1),
        "speech_s": round(speech_s, 2),
        "server_ms": round(1000 * (time.perf_counter() - t0), 1),
        "cpu_ms": round(1000 * (time.process_time() - c0), 1),
    }


def end(sid: str) -> bool:
    _SESSIONS.pop(sid, None)
    return True
