"""validate(): probe -> one decode pass -> analysers -> checks -> Report.

A photo (an image by its first bytes) goes to `photo/validate.py` instead and gets the PHO
rules only; a clip gets every other family.

Only the analysers whose evidence a selected rule needs are run, so `--select MED` costs a
decode pass and nothing more.  `validate()` never prints and never exits; a bad clip becomes a
failing report (MED001), a bad call raises UsageError/SettingsError, a missing model ToolError.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .analysis import load_all as load_analysers
from .cache import file_sha256
from .errors import ToolError, UsageError, ValidatorError
from .evidence import AnalyserSpec, Evidence
from .frame_thread import FrameThread
from .frame_thread import enabled as frame_thread_enabled
from .judge import (  # noqa: F401  (SEPARATE_SKIPS, clip_spans, run_check: re-exported)
    SEPARATE_SKIPS,
    check_applicable,
    clip_spans,
    judge,
    run_check,
)
from .media.decode import decode_pass, degenerate_frames
from .media.probe import MediaOpenError, open_media
from .media.source import check_regular
from .registry import load_all
from .report import Report
from .settings import Settings

ProgressFn = Callable[[str, float], None]
# Evidence produced by the decode pass itself rather than by an analyser module.
BASE_EVIDENCE = ("media", "stream", "audio")


def validate(
    path: str | os.PathLike[str],
    settings: Settings | None = None,
    *,
    progress: ProgressFn | None = None,
    keep_evidence: bool = True,
    extra_evidence: tuple[str, ...] = (),
) -> Report:
    """Validate one clip.  `extra_evidence` asks for analysers no selected rule needs (renderers
    that draw timelines ask for "voice", "faces", "thumbnails", ...).

    Three stages: `_open()` (the call's checks and the photo dispatch), `measure()` (probe,
    the decode pass and the analysers, into `Evidence`) and `judge` (`run_check` per rule)."""
    settings = settings or Settings()
    p = _open(path, settings)
    from .photo import sniff_kind

    if sniff_kind(p) == "photo":  # decided by the file's first bytes, never by its name
        from .photo.validate import validate_photo

        report = validate_photo(
            p,
            settings,
            progress=progress,
            keep_evidence=keep_evidence,
            extra_evidence=tuple(extra_evidence),
        )
        report.path = str(path)
        return report

    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    rules = [r for r in load_all().values() if settings.is_selected(r.id) and r.family != "PHO"]
    check_applicable(path, "video", rules, settings)
    needed = {n for r in rules for n in r.needs} | set(extra_evidence)
    ev = measure(p, settings, needed, timings, progress)
    fields = {"media": ev.media.to_dict() if ev.media else None, "segments": _segments(ev)}
    return judge(str(path), ev, rules, settings, timings, t0, keep_evidence, **fields)


def _open(path: str | os.PathLike[str], settings: Any) -> Path:
    """The call's own checks: a UsageError for what is not a readable regular file."""
    if not isinstance(settings, Settings):
        raise UsageError("settings must be a validator.Settings")
    p = Path(os.fspath(path))
    if not p.exists():
        raise UsageError(f"{p}: no such file")
    if p.is_dir():
        raise UsageError(f"{p}: is a directory, not a clip")
    try:
        check_regular(p)  # a FIFO or a device is refused before a byte is read (no hang)
    except OSError as e:
        raise UsageError(f"{p}: {e.strerror or 'not a regular file'}") from None
    if not os.access(p, os.R_OK):
        raise UsageError(f"{p}: permission denied")
    return p


def measure(
    p: Path,
    settings: Settings,
    needed: set[str],
    timings: dict[str, float],
    progress: ProgressFn | None = None,
) -> Evidence:
    """Probe, one decode pass, the analysers providing `needed` (and what they require)."""
    t0 = time.perf_counter()
    ev = Evidence(path=str(p), size_bytes=p.stat().st_size)
    hasher = _Sha256(p)
    try:
        container, media = open_media(p)
    except MediaOpenError as e:
        ev.open_error = str(e)
        container = None
    except OSError as e:
        raise UsageError(f"{p}: cannot read ({e.strerror or e})") from None
    timings["probe"] = time.perf_counter() - t0
    if container is None:
        # Every kind of evidence, named by the analysers' specs (a new one is covered too).
        for n in (*BASE_EVIDENCE, *load_analysers()):
            ev.missing[n] = f"the file could not be read: {ev.open_error}"
    else:
        ev.media = media
        analysers = [(s, _start(s, settings, media, p)) for s in _plan(needed)]
        analysers = _decode(container, media, ev, analysers, settings, timings, progress)
        _finish_analysers(p, ev, analysers, timings, progress)
    ev.sha256 = hasher.result()
    return ev


def _decode(
    container: Any,
    media: Any,
    ev: Evidence,
    analysers: list[tuple[AnalyserSpec, Any]],
    settings: Settings,
    timings: dict[str, float],
    progress: ProgressFn | None,
) -> list[tuple[AnalyserSpec, Any]]:
    """The decode pass, frames handed to the frame analysers; returns the analysers to finish."""
    p = ev.path
    degenerate = degenerate_frames(media)  # 8000x8: no face model is run on such frames
    if degenerate:
        for s, a in analysers:
            if getattr(a, "wants_frames", False):
                ev.missing[s.provides] = degenerate
        analysers = [(s, a) for s, a in analysers if not getattr(a, "wants_frames", False)]
    wiring = _Wiring.of(p, media, analysers, settings, timings)
    if not media.has_video:
        ev.missing.update({s.provides: "the file has no video stream" for s in wiring.specs})
    t1 = time.perf_counter()
    stats, audio = _run_pass(container, media, settings, wiring, progress, p)
    ev.stream, ev.audio = stats, audio
    if audio is None:
        ev.missing["audio"] = "the file has no audio stream"
    elif len(audio.pcm16k) == 0:
        ev.audio = None
        ev.missing["audio"] = "the audio stream decodes to nothing"
    # The decode stage excludes what the frame analysers spent inside it (beside it, in the
    # analysis thread, the two overlap: then it is the pass's wall time).
    timings["decode"] = time.perf_counter() - t1
    if not wiring.beside:
        timings["decode"] -= sum(v for k, v in timings.items() if k.endswith("_frames"))
    return analysers


@dataclass
class _Wiring:
    """Where the decode pass's frames go: the frame analysers' sinks, beside the decoder
    (frame_thread.py) unless `VALIDATOR_FRAME_THREAD=0`, and the voice gate."""

    specs: list[AnalyserSpec]  # the frame analysers'
    sinks: list[Callable[[Any], None]]
    between: list[Callable[[Any], None]]
    beside: FrameThread | None
    gate: Any

    @classmethod
    def of(
        cls,
        p: str,
        media: Any,
        analysers: list[tuple[AnalyserSpec, Any]],
        settings: Settings,
        timings: dict[str, float],
    ) -> _Wiring:
        frame_analysers = [(s, a) for s, a in analysers if getattr(a, "wants_frames", False)]
        sinks = [_timed_sink(s.provides, a.on_frame, timings) for s, a in frame_analysers]
        # Beside the decoder, the sampled frames' analysers that others read (`writes_notes`:
        # the faces) run first, in one thread, and the rest after them in a second.
        first = [
            sk
            for sk, (_, a) in zip(sinks, frame_analysers, strict=True)
            if getattr(a, "writes_notes", False)
        ]
        later = [sk for sk in sinks if sk not in first] if first else []
        # Analysers that also follow the frames between samples (faces: the mouth track), only
        # where lip sync can use them (voice_gate.py): never without a sync measurement or audio.
        gate = _voice_gate(Path(p), media, analysers, settings)
        between = [
            _timed_sink(s.provides, a.on_between_frame, timings)
            for s, a in frame_analysers
            if hasattr(a, "on_between_frame") and gate is not None
        ]
        beside = (
            FrameThread([first or sinks, between], later=later)
            if sinks and frame_thread_enabled()
            else None
        )
        return cls([s for s, _ in frame_analysers], sinks, between, beside, gate)

    def frame_sinks(self) -> list[Callable[[Any], None]]:
        return [self.beside.putter(0)] if self.beside else self.sinks

    def between_sinks(self) -> list[Callable[[Any], None]]:
        if not self.beside:
            return self.between
        return [self.beside.putter(1)] if self.between else []


def _run_pass(
    container: Any,
    media: Any,
    settings: Settings,
    w: _Wiring,
    progress: ProgressFn | None,
    p: str,
) -> tuple[Any, Any]:
    """`decode_pass` with the frame analysers wired; their failures become ToolErrors."""
    if w.gate is not None:
        w.gate.start()
    try:
        try:
            out = decode_pass(
                container,
                media,
                sample_fps=settings.sample_fps,
                short_side_px=settings.analysis_short_side_px,
                frame_sinks=w.frame_sinks(),
                between_sinks=w.between_sinks(),
                progress=progress,
            )
        except BaseException:
            if w.beside:
                w.beside.abort()
            raise
        if w.beside:
            w.beside.close()  # the last frames' analysis; a sink's exception is raised here
        return out
    except ValidatorError:
        raise
    except MemoryError:
        raise ToolError(f"{p}: out of memory while decoding") from None
    except Exception as e:  # a frame analyser's bug (or a library's) is a tool failure
        raise ToolError(f"{p}: analysis failed: {type(e).__name__}: {e}") from e
    finally:
        if w.gate is not None:
            w.gate.stop()


def _voice_gate(
    p: Path, media: Any, analysers: list[tuple[AnalyserSpec, Any]], settings: Settings
) -> Any:
    """The audio read ahead for the mouth track (`analysis/voice_gate.py`), handed to every
    analyser that takes it (`use_voice_gate`); None when nothing follows the mouth: lip sync
    is not measured, or there is no audio to measure it against."""
    if media.audio_index is None or not any(s.provides == "sync" for s, _ in analysers):
        return None
    takers = [a for _, a in analysers if hasattr(a, "use_voice_gate")]
    if not any(hasattr(a, "on_between_frame") for a in takers):
        return None
    from .analysis.voice_gate import VoiceGate

    gate = VoiceGate(p, media.video_index, media.audio_index, 1.0 / settings.sample_fps)
    for a in takers:
        a.use_voice_gate(gate)
    return gate


def _finish_analysers(
    p: Path,
    ev: Evidence,
    analysers: list[tuple[AnalyserSpec, Any]],
    timings: dict[str, float],
    progress: ProgressFn | None,
) -> None:
    """Each analyser's `finish()`, in dependency order, into `Evidence.<provides>`."""
    for spec, analyser in analysers:
        if any(getattr(ev, r) is None for r in spec.requires):
            ev.missing[spec.provides] = next(
                ev.why_missing(r) for r in spec.requires if getattr(ev, r) is None
            )
            continue
        t2 = time.perf_counter()
        if progress:
            progress(spec.provides, 0.0)
        try:
            setattr(ev, spec.provides, analyser.finish(ev))
        except ValidatorError:
            raise
        except Exception as e:  # an analyser bug must not pass for a clip defect
            raise ToolError(f"{p}: {spec.provides} analysis failed: {type(e).__name__}: {e}") from e
        timings[spec.provides] = timings.get(spec.provides, 0.0) + time.perf_counter() - t2
        if getattr(ev, spec.provides) is None and spec.provides not in ev.missing:
            ev.missing[spec.provides] = f"{spec.provides} could not be measured"


def _start(spec: AnalyserSpec, settings: Settings, media: Any, p: Path) -> Any:
    """An analyser, or a ToolError: a library that lacks what we call (an OpenCV without an
    attribute, ...) must not escape `validate()` as a raw AttributeError."""
    try:
        return spec.factory(settings, media)
    except ValidatorError:
        raise
    except Exception as e:
        raise ToolError(
            f"{p}: {spec.provides} analysis could not start: {type(e).__name__}: {e}"
        ) from e


def _timed_sink(
    name: str, fn: Callable[[Any], None], timings: dict[str, float]
) -> Callable[[Any], None]:
    """Per-frame analyser work is accounted to the analyser, not to the decode pass."""
    key = f"{name}_frames"
    timings.setdefault(key, 0.0)

    def sink(frame: Any) -> None:
        t = time.perf_counter()
        fn(frame)
        timings[key] += time.perf_counter() - t

    return sink


def _plan(needed: set[str]) -> list[AnalyserSpec]:
    """Analysers providing `needed`, plus what they require, in dependency order."""
    if needed <= set(BASE_EVIDENCE):
        return []  # the decode pass alone (`--select MED`): no analyser module, no cv2 import
    registry = load_analysers()
    order: list[AnalyserSpec] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name in BASE_EVIDENCE or name not in registry:
            return
        seen.add(name)
        for dep in registry[name].requires:
            visit(dep)
        order.append(registry[name])

    for n in sorted(needed):
        visit(n)
    return order


def _segments(ev: Evidence) -> dict[str, Any]:
    out: dict[str, Any] = {"speaking": None, "listening": None}
    for key in out:
        span = getattr(ev.voice, key, None) if ev.voice is not None else None
        if span is not None:
            out[key] = {"start_s": round(span.start_s, 3), "end_s": round(span.end_s, 3)}
    return out


class _Sha256:
    """Hashes the file on a second thread while the decoder works (hashlib drops the GIL)."""

    def __init__(self, path: Path):
        self._digest: str | None = None
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            self._digest = file_sha256(path)
        except OSError:
            self._digest = None

    def result(self) -> str | None:
        self._thread.join()
        return self._digest
