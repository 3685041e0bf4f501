"""EDT: one continuous take (EDT001-EDT003).

Every check reads `Evidence.continuity` (analysis/continuity.py): signature comparisons between
consecutive sampled frames (5 fps by default) and the timestamps and packet sizes of every
frame from the decode pass.  MED010 owns a variable frame rate (many uneven intervals); EDT003
owns isolated gaps, so a clip is not reported twice for the same timestamps.

Calibration footage: ../shared/media/real (GRID studio clips, LivePortrait clips, the dim stage
clip fr_short_hamilton_clip with its cuts) and the generated degradations of lp_src_s18 in
tests/degrade.py (spliced, repeated run, dropped second, and the others that must not trigger).
"""

from __future__ import annotations

import numpy as np

from ..evidence import Evidence
from ..registry import Param, Params, failed, passed, rule, skipped
from ..spans import join_touching


def _times(spans: list[tuple[float, float]]) -> str:
    shown = ", ".join(f"{(a + b) / 2:.1f} s" for a, b in spans[:5])
    return shown + (f" and {len(spans) - 5} more" if len(spans) > 5 else "")


@rule(
    "EDT001",
    "cut-detected",
    "error",
    "a shot cut or transition",
    hint="record the whole clip in one continuous take; do not edit, trim the middle, or join "
    "recordings",
    needs=("continuity",),
    params=[
        Param(
            "max_corr",
            0.30,
            "thumbnail correlation between consecutive samples below "
            "this is a different shot, -1 to 1",
            minimum=-1,
            maximum=1,
        ),
        Param(
            "min_hist_dist",
            0.10,
            "colour-histogram distance a cut must also show, Bhattacharyya 0-1",
            minimum=0,
            maximum=1,
        ),
        Param(
            "min_changed_cells",
            0.6,
            "share of the picture's 4x4 cells that must change "
            "(a person moving in a close shot changes only the cells they cover), ratio",
            minimum=0,
            maximum=1,
        ),
        Param(
            "include_transitions",
            True,
            "also report gradual transitions (dissolves, "
            "fades to another shot) spread over several samples",
        ),
        Param(
            "min_transition_colour",
            0.6,
            "total colour-histogram change over a gradual "
            "transition (sum of the per-step distances), Bhattacharyya",
            minimum=0,
            maximum=100,
        ),
    ],
)
def cut_detected(ev: Evidence, p: Params):
    """What it does: compares each sampled frame with the one before it: the correlation of
    their blurred 64x48 grey thumbnails (structure: insensitive to a lighting change), the share
    of the thumbnail's 4x4 cells whose content changed, and the distance between their colour
    histograms.  A pair below `max_corr` that also changes `min_changed_cells` of its cells and
    differs by `min_hist_dist` in colour is a cut.  With `include_transitions`, a run of two or
    more consecutive steps that each change the colours by `min_hist_dist` (none of them a
    cut), `min_transition_colour` in all, and that ends on a different shot (the sample before
    the run and the run's last sample pass the correlation and cell tests of a cut) is a
    gradual transition (a dissolve).  Spans run from the last sample before to the first sample
    after.  Any hard cut is visible at 5 fps (one sample pair always straddles it); a dissolve
    shorter than two sample intervals looks like a cut.

    Why it matters: the platform needs one continuous take (`one_continuous_shot`); an edit
    makes the replica jump.

    How to fix: record again in one take; if you stumble, keep going or start over.

    Calibration: consecutive samples of real single-take clips correlate at 0.46 or more (lp_d12,
    a handheld selfie, 0.46-0.99, histogram distance at most 0.17, at most 56% of cells
    changed; lp_src_s13 0.65; lp_d6 with extreme expressions 0.70; GRID 0.995+); none has a
    cut or transition.  The stage clip has three cuts (stage to a close profile at 0.7 s, to
    the singer at the curtain at 2.7 s, to the audience at 7.1 s): correlation 0.01-0.20,
    62-75% of cells, colour 0.22-0.31; all three are found.  Inside its close profile shot the
    singer's head leaves the frame (1.6 s): correlation 0.04 and colour 0.15, but only 50% of
    cells change (the audience behind stays), so it is not a cut; that run of colour changes
    sums to 0.39, under the 0.6 a transition needs (the largest run in any real single take:
    0.27, lp_d12).  s18 spliced to a GRID clip at 3.0 s measures 0.19 (81% of cells, colour
    0.80), the synthetic splice 0.14.  s18 cross-faded into the GRID clip over 0.5 / 1 / 2 s
    from 2.5 s: runs of colour change summing to 1.7 / 2.1 / 2.3, the shots either side
    correlating at 0.19-0.21 with 81% of cells changed: each is one transition, spanning
    2.4-3.0 / 3.6 / 4.4 s.  A 1-stop brightness step measures 0.998 (no cut; its colour jump
    is a single step), random 16-px camera jitter 0.61, a person walking behind 0.68.  At a
    lower --sample-fps, motion between samples lowers the correlation: recalibrate below 2 fps.

    Example: `EDT001 fail: 4 cuts (at 0.7 s, 1.5 s, 2.7 s, 7.1 s)`.
    """
    co = ev.continuity
    if co.n < 2:
        return skipped("not evaluated: fewer than two sampled frames")
    cuts, transitions = co.shot_events(
        p.max_corr,
        p.min_hist_dist,
        p.min_changed_cells,
        p.include_transitions,
        p.min_transition_colour,
    )
    n_cuts = len(cuts)
    events = sorted(cuts + transitions)
    lowest = float(np.nanmin(co.corr_prev)) if np.isfinite(co.corr_prev).any() else 1.0
    if events:
        n_tr = len(events) - n_cuts
        what = f"{n_cuts} cut{'s' if n_cuts != 1 else ''}" if n_cuts else ""
        if n_tr:
            what += (" and " if what else "") + f"{n_tr} transition{'s' if n_tr != 1 else ''}"
        return failed(
            f"{what} (at {_times(events)})",
            measured=len(events),
            limit=0,
            unit="cuts",
            spans=events,
        )
    return passed(
        f"one continuous shot (lowest sample-to-sample correlation {lowest:.2f}, "
        f"cut below {p.max_corr:g})",
        measured=0,
        limit=0,
        unit="cuts",
    )


@rule(
    "EDT002",
    "frozen-frames",
    "error",
    "runs of identical frames (frozen or duplicated video)",
    hint="record again: a frozen picture usually means the recorder or the connection stalled; "
    "close other apps and record to local storage",
    needs=("continuity",),
    params=[
        Param(
            "max_still_levels",
            0.25,
            "largest pixel difference between samples that "
            "counts as identical, 8-bit levels (busiest of 4x4 cells)",
            minimum=0,
            maximum=255,
        ),
        Param(
            "min_frozen_s", 0.4, "shortest frozen run reported, seconds", minimum=0.04, maximum=60
        ),
    ],
)
def frozen_frames(ev: Evidence, p: Params):
    """What it does: finds runs where the picture does not change at all, two ways.  (1) Sampled
    frames: the mean grey difference between consecutive samples (160 px wide copy) in the
    busiest of 4x4 cells is below `max_still_levels`; a person sitting still still breathes and
    blinks and the sensor still has grain, so some cell always changes.  (2) Every frame: a run
    of near-empty video packets (at most 48 bytes, or 3% of the median packet), which an encoder
    writes for a frame that repeats the previous one; one larger packet between two tiny ones
    (the encoder refining the repeated picture) does not end a run.  Either run lasting
    `min_frozen_s` or more fails.  At 5 fps a freeze of 0.4 s always covers two samples;
    shorter freezes are seen through the packets.

    Why it matters: frozen or duplicated frames break lip sync and motion; the platform rejects
    edited or damaged video.

    How to fix: record again with a steady recorder (local storage, other apps closed).

    Calibration: still real clips keep a busiest-cell difference of 0.99 levels or more between
    samples (GRID id2 0.99, lp_d13 1.11, lp_d3 2.39), and 1 tiny packet per clip (the end of the
    stream).  s18 darkened to 30% keeps 1.02; the synthetic scene darkened to 30% 0.39.  s18
    with 1.2 s of one repeated frame measures 0.009-0.11 levels over 5 samples (x264 refines the
    repeated picture for a few frames) and 23 tiny packets in a 28-frame run.

    Example: `EDT002 fail: the picture is frozen for 1.2 s (at 2.0 s)`.
    """
    co = ev.continuity
    spans: list[tuple[float, float]] = []
    # (1) samples: pair i is still when sample i equals sample i-1.
    still = np.nan_to_num(co.diff_peak, nan=np.inf) < p.max_still_levels
    i = 1
    while i < co.n:
        if still[i]:
            j = i
            while j + 1 < co.n and still[j + 1]:
                j += 1
            a, b = float(co.t_s[i - 1]), float(co.t_s[j])
            if b - a >= p.min_frozen_s - 1e-6:
                spans.append((a, b))
            i = j + 1
        else:
            i += 1
    # (2) packets: decode order is presentation order up to a few frames of reordering.
    pts = co.frame_pts_s
    tiny = co.tiny_packet.copy()
    # An encoder refining a repeated picture writes a slightly larger packet every few frames
    # (x264: one in four); a single such packet between tiny ones does not end the run.
    if len(tiny) >= 3:
        tiny[1:-1] |= tiny[:-2] & tiny[2:]
    if len(pts) >= 2 and len(tiny):
        frame_s = float(np.median(np.diff(pts))) or (1.0 / (co.declared_fps or 30.0))
        k = 0
        m = min(len(tiny), len(pts))
        while k < m:
            if tiny[k]:
                e = k
                while e + 1 < m and tiny[e + 1]:
                    e += 1
                dur = (e - k + 1) * frame_s
                if dur >= p.min_frozen_s - 1e-6:
                    spans.append((float(pts[max(0, k - 1)]), float(pts[e])))
                k = e + 1
            else:
                k += 1
    frozen = join_touching(sorted(spans))
    if frozen:
        total = sum(s.end_s - s.start_s for s in frozen)
        longest = max(frozen, key=lambda s: s.end_s - s.start_s)
        return failed(
            f"the picture is frozen for {total:.1f} s (longest {longest.end_s - longest.start_s:.1f} s "
            f"at {longest.start_s:.1f} s)",
            measured=round(total, 2),
            limit=p.min_frozen_s,
            unit="s",
            spans=frozen,
        )
    lowest = float(np.nanmin(co.diff_peak)) if np.isfinite(co.diff_peak).any() else float("nan")
    return passed(
        f"no frozen frames (smallest change between samples {lowest:.2f} levels)",
        measured=0.0,
        limit=p.min_frozen_s,
        unit="s",
    )


@rule(
    "EDT003",
    "timestamp-gap",
    "warning",
    "gaps in video timestamps (dropped frames, spliced files)",
    hint="record to local storage with other apps closed; if the file was joined from pieces, "
    "record one continuous take instead",
    needs=("continuity",),
    params=[
        Param(
            "gap_ratio",
            1.8,
            "an interval this many times the median frame interval has frames missing, ratio",
            minimum=1.1,
            maximum=1000,
        ),
        Param(
            "min_missing_s",
            0.1,
            "shortest stretch of missing video reported, seconds",
            minimum=0.0,
            maximum=60,
        ),
        Param(
            "max_gap_share",
            0.02,
            "above this share of uneven intervals the timing is a "
            "variable frame rate (MED010), not isolated gaps, ratio",
            minimum=0,
            maximum=1,
        ),
    ],
)
def timestamp_gap(ev: Evidence, p: Params):
    """What it does: reads the timestamp of every decoded frame (not only sampled ones) and finds
    intervals longer than `gap_ratio` times the median interval.  Each such interval has
    (interval - median) of video missing: dropped frames, or two files joined with a hole.
    Fails when a gap is missing at least `min_missing_s` in total.  When more than
    `max_gap_share` of all intervals are long, the timing varies throughout: that is a variable
    frame rate, reported by MED010, and this rule skips rather than report it twice.

    Why it matters: missing frames make the mouth jump and break lip sync with the audio.

    How to fix: record again to local storage with a constant frame rate; do not join files.

    Calibration: every real clip (GRID MPEG-1 at 25 fps, lp MP4 at 25/30 fps) has a largest
    interval within 1.0x of its median; generated 25 fps clips measure 0.040 s everywhere.  s18
    with one second of frames removed at 3.0 s measures one 1.04 s interval (1.00 s missing).
    A 60 s clip with one 1 s gap shows 1.7% fewer frames than declared, under MED010's 5%
    rate-mismatch limit, so only this rule reports it; in a short clip MED010's rate check may
    see the same gap too.

    Example: `EDT003 fail: 1.0 s of video missing in 1 gap (at 3.0 s): dropped frames or a splice`.
    """
    pts = ev.continuity.frame_pts_s
    if len(pts) < 3:
        return skipped("not evaluated: fewer than 3 video frames")
    d = np.diff(pts)
    pos = d[d > 0]
    if len(pos) < 2:
        return skipped("not evaluated: frame timestamps do not advance")
    med = float(np.median(pos))
    long_ = d > p.gap_ratio * med
    share = float(long_.mean())
    if share > p.max_gap_share:
        return skipped(
            f"not evaluated: {share:.0%} of frame intervals are uneven: a variable frame "
            "rate (see MED010), not isolated gaps"
        )
    idx = np.nonzero(long_)[0]
    missing = d[idx] - med
    total = float(missing.sum()) if len(idx) else 0.0
    if len(idx) and total >= p.min_missing_s - 1e-9:
        spans = [(float(pts[i]), float(pts[i + 1])) for i in idx]
        return failed(
            f"{total:.1f} s of video missing in {len(idx)} gap{'s' if len(idx) != 1 else ''} "
            f"(at {', '.join(f'{a:.1f} s' for a, _ in spans[:5])}): dropped frames or a splice",
            measured=round(total, 3),
            limit=p.min_missing_s,
            unit="s",
            spans=spans,
        )
    return passed(
        f"no timestamp gaps (largest interval {float(d.max()):.3f} s, median {med:.3f} s)",
        measured=round(total, 3),
        limit=p.min_missing_s,
        unit="s",
    )
