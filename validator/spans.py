"""Time spans: the one type and the few operations every layer uses (ground floor: imports
nothing of the package, so analysers, checks, the report and the renderers can all use it).

- `Span(start_s, end_s)`: a stretch of the clip, seconds on the decode pass's clock.
- From a boolean series: `index_runs` (half-open index runs), `runs` (sample runs as spans,
  joined over small time gaps: FAC/MTH), `sample_spans` (each sample stands for [t, t + dt):
  IMG), `interval_spans` (interval i is (t[i-1], t[i]]: IMG shake and drift).
- Joining: `join_touching` (spans that touch or overlap), `merge_spans` (gap below a bound).
- `format_spans` for messages: "41.5-43.0 s, 50.02-50.08 s and 2 more".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

TOUCH_S = 1e-6  # spans this close count as touching (float noise on sample times)


@dataclass(frozen=True)
class Span:
    start_s: float
    end_s: float

    def to_dict(self) -> dict[str, float]:
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3)}


def index_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True as half-open index ranges [a, b)."""
    if len(mask) == 0:
        return []
    d = np.diff(np.concatenate([[0], np.asarray(mask).astype(np.int8), [0]]))
    return list(zip(np.nonzero(d == 1)[0].tolist(), np.nonzero(d == -1)[0].tolist(), strict=True))


def runs(mask: np.ndarray, t_s: np.ndarray, dt_s: float, bridge_s: float = 0.0) -> list[Span]:
    """Runs of True samples as time spans [first, last + dt).  Hits at most `bridge_s` apart
    join into one run (a detector that fires every other sample still makes one event)."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return []
    out: list[Span] = []
    start = prev = idx[0]
    for i in idx[1:]:
        if t_s[i] - t_s[prev] > dt_s * 1.5 + bridge_s:
            out.append(Span(float(t_s[start]), float(t_s[prev] + dt_s)))
            start = i
        prev = i
    out.append(Span(float(t_s[start]), float(t_s[prev] + dt_s)))
    return out


def sample_spans(mask: np.ndarray, t: np.ndarray, dt: float) -> list[Span]:
    """Spans of consecutive True samples; each sample stands for [t, t + dt).  Runs that touch
    in time (a gap in the sample times) are joined."""
    return join_touching(Span(float(t[a]), float(t[b - 1]) + dt) for a, b in index_runs(mask))


def interval_spans(bad: np.ndarray, t: np.ndarray) -> list[Span]:
    """Interval i covers (t[i-1], t[i]]; touching intervals are joined."""
    return join_touching(Span(float(t[i - 1]), float(t[i])) for i in np.nonzero(bad)[0])


def join_touching(spans: Iterable[Span | tuple[float, float]]) -> list[Span]:
    """Spans in order, each joined to the previous one when it starts at or before its end."""
    out: list[Span] = []
    for s in spans:
        a, b = (s.start_s, s.end_s) if isinstance(s, Span) else (float(s[0]), float(s[1]))
        if out and a <= out[-1].end_s + TOUCH_S:
            out[-1] = Span(out[-1].start_s, max(out[-1].end_s, b))
        else:
            out.append(Span(a, b))
    return out


def merge_spans(spans: Sequence[Span], gap_s: float) -> list[Span]:
    """Sort and join spans whose gap is shorter than `gap_s` (overlapping ones always join)."""
    out: list[Span] = []
    for s in sorted(spans, key=lambda s: s.start_s):
        if out and s.start_s - out[-1].end_s < gap_s:
            out[-1] = Span(out[-1].start_s, max(out[-1].end_s, s.end_s))
        else:
            out.append(s)
    return out


def format_spans(spans: Sequence[Span], limit: int = 3) -> str:
    """ "41.5-43.0 s, 50.02-50.08 s and 2 more": short spans get two decimals, so a 60 ms knock
    does not read "45.5-45.5 s"."""

    def one(s: Span) -> str:
        nd = 2 if s.end_s - s.start_s < 0.5 else 1
        return f"{s.start_s:.{nd}f}-{s.end_s:.{nd}f} s"

    text = ", ".join(one(s) for s in spans[:limit])
    return text + (f" and {len(spans) - limit} more" if len(spans) > limit else "")
