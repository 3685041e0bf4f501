"""The frame analysers beside the decoder: sampled frames (and the frames between samples, for
the sinks that follow those too) go through a short queue to one analysis thread, which runs
each frame's sinks in the order the decoder produced the frames.

The decode pass keeps feeding FFmpeg's frame threads while the face models (cv2.dnn), numpy and
OpenCV's image code, which release the GIL, work on the frames already sampled, so the two cores
are not idle in turn.  The sinks see exactly the frames, in exactly the order, of a call in the
decode loop (one thread, first in first out), so every measurement is the same; only when they
run changes.  The queue holds at most `MAX_QUEUED` frames (a few MB), so memory stays flat.

An exception in a sink stops the analysis: the next `put()` (or `close()`) raises it in the
decoding thread, as the direct call did.  `VALIDATOR_FRAME_THREAD=0` runs the sinks in the
decode loop instead (for benchmarks: `scripts/benchmark.py` compares the two).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

MAX_QUEUED = 4
_STOP = object()


def enabled() -> bool:
    return os.environ.get("VALIDATOR_FRAME_THREAD", "1") != "0"


Sink = Callable[[Any], None]


class FrameThread:
    """`groups[k]` are the sinks of the frames handed to `putter(k)` (0: sampled frames, 1: the
    frames between samples); all groups share one queue, so their order is kept.

    `later`: sinks of the sampled frames that run in a second thread, each frame after
    `groups[0]` has seen it (the face analyser leaves `frame.notes` that the image analyser and
    the thumbnails read), in the same order.  While the first thread follows the faces of the
    next frames, the second measures the image of this one: three threads (decoder, faces,
    image) keep both cores busy where two took turns.  Every sink still sees exactly the
    frames it saw, in the order it saw them, and only frames it saw."""

    def __init__(
        self,
        groups: Sequence[Sequence[Sink]],
        maxsize: int = MAX_QUEUED,
        later: Sequence[Sink] = (),
    ):
        self._groups = [list(g) for g in groups]
        self._later_sinks = list(later)
        self._error: BaseException | None = None
        self._later = _Worker("frame-analysis-2", self._run_later, maxsize, self) if later else None
        self._first = _Worker("frame-analysis", self._run_first, maxsize, self)

    def _run_first(self, item: tuple[int, Any]) -> None:
        group, frame = item
        for sink in self._groups[group]:
            sink(frame)
        if group == 0 and self._later is not None:
            self._later.put(frame)

    def _run_later(self, frame: Any) -> None:
        for sink in self._later_sinks:
            sink(frame)

    def putter(self, group: int) -> Sink:
        def put(frame: Any) -> None:
            if self._error is not None:
                self._raise()
            self._first.put((group, frame))

        return put

    def close(self) -> None:
        """Wait for every queued frame to be analysed; raise a sink's exception."""
        self._first.close()
        if self._later is not None:
            self._later.close()
        if self._error is not None:
            self._raise()

    def abort(self) -> None:
        """The decode pass failed: stop without analysing what is still queued."""
        self._error = self._error or RuntimeError("aborted")
        self._first.close()
        if self._later is not None:
            self._later.close()

    def _raise(self) -> None:
        err = self._error
        assert err is not None
        raise err.with_traceback(err.__traceback__)


class _Worker:
    """One analysis thread behind a short queue: `run(item)` for each item in order; the first
    exception is kept in `owner._error` (re-raised in the decoding thread), and what is queued
    after it is drained unanalysed."""

    def __init__(self, name: str, run: Sink, maxsize: int, owner: FrameThread):
        self._run_item, self._owner = run, owner
        self._q: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: Any) -> None:
        self._q.put(item)

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is _STOP:
                return
            if self._owner._error is not None:
                continue  # failed: drain what is still handed over
            try:
                self._run_item(item)
            except BaseException as e:
                self._owner._error = self._owner._error or e

    def close(self) -> None:
        if self._thread.is_alive():
            self._q.put(_STOP)
            self._thread.join()
