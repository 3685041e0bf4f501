"""Progress on stderr, only when stderr is a terminal.

One status line, rewritten in place, shows every clip being worked on and its stage
("[2/5 done] a.mp4 decode 40% | b.mp4 faces"); when a clip finishes, a permanent line says its
verdict.  When stderr is not a terminal (CI logs, pipes, files) nothing is written at all, so
logs stay clean and the report on stdout is never mixed with progress.  Thread-safe: worker
processes' stage updates arrive on a listener thread (see batch.py).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

MIN_INTERVAL_S = 0.1  # redraw at most this often: a terminal cannot show more anyway


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            try:
                enabled = self.stream.isatty()
            except (AttributeError, ValueError):
                enabled = False
        self.enabled = bool(enabled)
        self.total = total
        self.done = 0
        self.active: dict[str, str] = {}  # path -> "decode 40%"
        self.finished: set[str] = set()  # late stage messages from workers are ignored
        self._lock = threading.Lock()
        self._last_draw = 0.0
        self._line_shown = False

    def _name(self, path: str) -> str:
        return os.path.basename(path) or path

    def start(self, path: str) -> None:
        self.stage(path, "starting", None)

    def stage(self, path: str, stage: str, fraction: float | None) -> None:
        if not self.enabled:
            return
        with self._lock:
            if path in self.finished:
                return
            self.active[path] = (
                stage if fraction is None or fraction <= 0 else f"{stage} {fraction:.0%}"
            )
            now = time.monotonic()
            if now - self._last_draw >= MIN_INTERVAL_S:
                self._last_draw = now
                self._draw()

    def finish(
        self, path: str, verdict: str, seconds: float | None = None, cached: bool = False
    ) -> None:
        with self._lock:
            self.done += 1
            self.finished.add(path)
            self.active.pop(path, None)
            if not self.enabled:
                return
            self._clear()
            how = "cached" if cached else (f"{seconds:.1f} s" if seconds is not None else "")
            self.stream.write(
                f"[{self.done}/{self.total}] {verdict:<5} {path}"
                + (f"  ({how})" if how else "")
                + "\n"
            )
            self._draw()

    def close(self) -> None:
        with self._lock:
            if self.enabled:
                self._clear()
                self.stream.flush()

    def _clear(self) -> None:
        if self._line_shown:
            self.stream.write("\r\x1b[K")
            self._line_shown = False

    def _draw(self) -> None:
        self._clear()
        if not self.active:
            self.stream.flush()
            return
        width = _columns()
        parts = " | ".join(f"{self._name(p)} {s}" for p, s in self.active.items())
        line = f"[{self.done}/{self.total} done] {parts}"
        if len(line) > width - 1:
            line = line[: max(10, width - 2)] + "…"
        self.stream.write(line)
        self.stream.flush()
        self._line_shown = True


def _columns() -> int:
    try:
        cols = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError, AttributeError):
        cols = 0
    return cols if cols >= 40 else 100  # a pseudo-terminal may report 0 columns
