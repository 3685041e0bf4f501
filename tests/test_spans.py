"""spans.py: the one span type and its operations (the checks' former copies, one each)."""

from __future__ import annotations

import numpy as np

from validator.spans import (
    Span,
    index_runs,
    interval_spans,
    join_touching,
    merge_spans,
    runs,
    sample_spans,
)

T = np.arange(10) * 0.5


def test_index_runs_are_half_open():
    m = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 1], bool)
    assert index_runs(m) == [(1, 3), (4, 5), (7, 10)]
    assert index_runs(np.zeros(0, bool)) == []


def test_sample_spans_cover_each_sample_for_dt_and_join_touching_runs():
    m = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 1], bool)
    assert sample_spans(m, T, 0.5) == [Span(0.5, 1.5), Span(2.0, 2.5), Span(3.5, 5.0)]
    # A gap in the sample times but not in time: the runs touch and join.
    t = np.array([0.0, 0.5, 1.0, 1.0, 1.5])
    assert sample_spans(np.array([1, 1, 0, 1, 1], bool), t, 0.5) == [Span(0.0, 2.0)]


def test_runs_bridge_small_time_gaps():
    m = np.array([0, 1, 0, 1, 0, 0, 0, 1, 0, 0], bool)
    assert runs(m, T, 0.5) == [Span(0.5, 1.0), Span(1.5, 2.0), Span(3.5, 4.0)]
    assert runs(m, T, 0.5, bridge_s=0.5) == [Span(0.5, 2.0), Span(3.5, 4.0)]


def test_interval_spans_and_joining():
    bad = np.array([0, 1, 1, 0, 0, 1, 0, 0, 0, 0], bool)
    assert interval_spans(bad, T) == [Span(0.0, 1.0), Span(2.0, 2.5)]
    assert join_touching([(0.0, 1.0), (1.0, 2.0), (3.0, 4.0)]) == [Span(0.0, 2.0), Span(3.0, 4.0)]
    assert merge_spans([Span(3.0, 4.0), Span(0.0, 1.0), Span(1.2, 2.0)], 0.5) == [
        Span(0.0, 2.0),
        Span(3.0, 4.0),
    ]
