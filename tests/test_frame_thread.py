"""Frame analysers beside the decoder (validator/frame_thread.py): the same frames in the same
order, the same reports as analysing in the decode loop, and a sink's exception still stops the
pass as a ToolError."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from clipgen import make_clip

from validator import pipeline
from validator.analysis import load_all as load_analysers
from validator.errors import ToolError
from validator.frame_thread import FrameThread
from validator.settings import Settings


def test_sinks_see_every_frame_in_order_off_the_calling_thread():
    seen: list[tuple[str, int, str]] = []
    sinks = [
        lambda f: seen.append(("a", f, threading.current_thread().name)),
        lambda f: seen.append(("b", f, threading.current_thread().name)),
    ]
    between = [lambda f: seen.append(("between", f, threading.current_thread().name))]
    ft = FrameThread([sinks, between], maxsize=2)
    sample, other = ft.putter(0), ft.putter(1)
    for i in range(50):
        (sample if i % 5 == 0 else other)(i)
    ft.close()
    assert [(s, i) for s, i, _ in seen] == [
        (s, i) for i in range(50) for s in ("ab" if i % 5 == 0 else ("between",))
    ]
    assert {name for _, _, name in seen} == {"frame-analysis"}


def test_later_sinks_see_each_sampled_frame_after_the_first_stage():
    marks: dict[int, str] = {}
    seen: list[tuple[str, int, str]] = []

    def first(f: int) -> None:
        marks[f] = "faces"  # what the face analyser leaves in frame.notes
        seen.append(("first", f, threading.current_thread().name))

    def later(f: int) -> None:
        assert marks.get(f) == "faces"
        seen.append(("later", f, threading.current_thread().name))

    between = [lambda f: seen.append(("between", f, threading.current_thread().name))]
    ft = FrameThread([[first], between], maxsize=2, later=[later])
    sample, other = ft.putter(0), ft.putter(1)
    for i in range(60):
        (sample if i % 3 == 0 else other)(i)
    ft.close()
    by = {k: [(f, n) for s, f, n in seen if s == k] for k in ("first", "later", "between")}
    assert [f for f, _ in by["first"]] == [f for f, _ in by["later"]] == list(range(0, 60, 3))
    assert [f for f, _ in by["between"]] == [i for i in range(60) if i % 3]
    assert {n for _, n in by["first"] + by["between"]} == {"frame-analysis"}
    assert {n for _, n in by["later"]} == {"frame-analysis-2"}


def test_a_later_sink_exception_reaches_the_caller():
    def later(f: int) -> None:
        if f == 5:
            raise ValueError("bad image")

    ft = FrameThread([[lambda f: None]], maxsize=1, later=[later])
    put = ft.putter(0)
    with pytest.raises(ValueError, match="bad image"):
        for i in range(1000):
            put(i)
        ft.close()


def test_a_sink_exception_reaches_the_caller():
    def sink(f: int) -> None:
        if f == 3:
            raise ValueError("bad frame")

    ft = FrameThread([[sink]], maxsize=1)
    put = ft.putter(0)
    with pytest.raises(ValueError, match="bad frame"):
        for i in range(1000):  # stops early: put() raises once the sink has failed
            put(i)
        ft.close()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    p = tmp_path_factory.mktemp("ft") / "clip.mp4"
    make_clip(p, duration_s=3.0)
    return p


def _plain(report) -> dict:
    d = report.to_dict()
    d.pop("timings_s")
    return d


def test_same_report_beside_the_decoder_and_in_the_decode_loop(clip, monkeypatch):
    beside = _plain(pipeline.validate(clip, Settings()))
    monkeypatch.setenv("VALIDATOR_FRAME_THREAD", "0")
    inline = _plain(pipeline.validate(clip, Settings()))
    assert beside == inline


def test_an_analyser_failing_on_a_frame_is_a_tool_error(clip, monkeypatch):
    spec = load_analysers()["image"]
    real = spec.factory

    def factory(settings, media):
        a = real(settings, media)

        def on_frame(frame):
            if frame.index == 4:
                raise RuntimeError("boom")

        a.on_frame = on_frame
        return a

    monkeypatch.setitem(load_analysers(), "image", dataclasses.replace(spec, factory=factory))
    with pytest.raises(ToolError, match="analysis failed: RuntimeError: boom"):
        pipeline.validate(clip, Settings(select=("IMG",)))
