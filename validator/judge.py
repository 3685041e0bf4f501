"""Judge: the selected rules over the measured evidence, one `Result` each.

`run_check()` is the one place a rule's check is called: a rule whose evidence is missing is
skipped with the analyser's reason, its resolved parameters are passed in, and its spans are
clipped to the clip's end.  Used by `pipeline.validate()` (clips) and `photo/validate.py`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from .errors import UsageError
from .evidence import Evidence
from .registry import Outcome, Rule, skipped
from .report import Report, Result
from .settings import Settings
from .spans import Span

# Structure rule families that do not apply to a separate consent video (`consent = "separate"`).
SEPARATE_SKIPS = ("SEG", "MTH")


def check_applicable(path: object, kind: str, rules: list[Rule], settings: Settings) -> None:
    """A UsageError (exit 2) when no selected rule applies to this input: a report of zero rules
    would read PASS having judged nothing (`--select MED` on a photo, `--select PHO` on a clip),
    as a selection that matches no rule ID is refused."""
    if rules:
        return
    what = (
        "a photo (photos get the PHO rules)"
        if kind == "photo"
        else ("a video clip (the PHO rules are for photos)")
    )
    sel = f"--select {','.join(settings.select)}"
    if settings.ignore:
        sel += f" --ignore {','.join(settings.ignore)}"
    fam = "PHO" if kind == "photo" else "MED"
    raise UsageError(
        f"{path}: no selected rule applies to {what}; {sel} (add {fam} to the selection to "
        "check it, or leave it out of the inputs)"
    )


def run_check(r: Rule, ev: Evidence, settings: Settings) -> Result:
    missing = [n for n in r.needs if getattr(ev, n) is None]
    if settings.consent == "separate" and r.family in SEPARATE_SKIPS:
        out: Outcome = skipped(
            "not evaluated: --consent separate: the file is a consent video, not a training clip"
        )
    elif missing:
        out = skipped(f"not evaluated: {ev.why_missing(missing[0])}")
    else:
        out = r.check(ev, settings.resolve(r))
    out = clip_spans(out, _clip_duration(ev))
    return Result(
        rule=r.id,
        name=r.name,
        severity=out.severity or r.severity,
        status=out.status,
        message=out.message,
        measured=out.measured,
        limit=out.limit,
        unit=out.unit,
        hint=(out.hint or r.hint) if out.status == "fail" else None,
        spans=out.spans,
    )


def judge(
    path: str,
    ev: Any,
    rules: list[Rule],
    settings: Settings,
    timings: dict[str, float],
    t0: float,
    keep_evidence: bool,
    **fields: Any,
) -> Report:
    """The last stage for a clip and a photo alike: every rule's check over `ev`, into the
    report (`fields`: its `media`, `segments`, `kind`).  `timings` gains "checks" and "total"
    (since `t0`)."""
    t1 = time.perf_counter()
    results = [run_check(r, ev, settings) for r in rules]
    timings["checks"] = time.perf_counter() - t1
    timings["total"] = time.perf_counter() - t0
    return Report(
        path=path,
        size_bytes=ev.size_bytes,
        sha256=ev.sha256,
        profile=settings.profile,
        fail_on=settings.fail_on,
        results=results,
        timings_s=timings,
        settings=settings.to_dict(),
        evidence=ev if keep_evidence else None,
        **fields,
    )


def _clip_duration(ev: Evidence) -> float | None:
    m = getattr(ev, "media", None)
    if m is None:
        return None
    if m.duration_s:  # the container's duration: what the report and a player show
        return m.duration_s
    durations = [d for d in (m.video_duration_s, m.audio_duration_s) if d]
    return max(durations) if durations else None


def clip_spans(out: Outcome, duration_s: float | None) -> Outcome:
    """Spans end at the clip's end: a sample's width must not put a finding at 64.4 s in a
    64.333 s clip.  The message's own "a-b s" text for a clipped span is corrected with it."""
    if not duration_s or not out.spans:
        return out
    spans, message = [], out.message
    for sp in out.spans:
        a, b = max(0.0, sp.start_s), min(duration_s, sp.end_s)
        if (a, b) != (sp.start_s, sp.end_s):
            for nd in (1, 2):
                message = message.replace(
                    f"{sp.start_s:.{nd}f}-{sp.end_s:.{nd}f} s", f"{a:.{nd}f}-{b:.{nd}f} s"
                )
        spans.append(Span(a, max(a, b)))
    return replace(out, spans=tuple(spans), message=message)
