"""The frame analysers beside the decoder: sampled frames go through a short queue to one
analysis thread, which runs every frame sink on each frame in order.

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


class FrameThread:
    def __init__(self, sinks: Sequence[Callable[[Any], None]], maxsize: int = MAX_QUEUED):
        self._sinks = list(sinks)
        self._q: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="frame-analysis", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is _STOP:
                return
            if self._error is not None:
                continue  # failed: drain what the decoder still hands over
            try:
                for sink in self._sinks:
                    sink(item)
            except BaseException as e:  # re-raised in the decoding thread
                self._error = e

    def put(self, frame: Any) -> None:
        if self._error is not None:
            self._raise()
        self._q.put(frame)

    def close(self) -> None:
        """Wait for every queued frame to be analysed; raise a sink's exception."""
        self._q.put(_STOP)
        self._thread.join()
        if self._error is not None:
            self._raise()

    def abort(self) -> None:
        """The decode pass failed: stop without analysing what is still queued."""
        if self._thread.is_alive():
            self._error = self._error or RuntimeError("aborted")
            self._q.put(_STOP)
            self._thread.join()

    def _raise(self) -> None:
        err = self._error
        assert err is not None
        raise err.with_traceback(err.__traceback__)
