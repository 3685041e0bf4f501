"""What runs in the web app's worker processes: one check, one repair.  Plain data in and out
(reports do not pickle with their evidence); stage updates go to the queue the pool was started
with, as `(job_id, kind, stage, fraction)`.

Both functions are thin wrappers: `batch.check_one` + `prepare.make_plan` (a photo:
`prepare.photo.plan_photo`) for a check, `prepare.prepare` for a repair.  No check logic lives
here.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from ..batch import TIMELINE_EVIDENCE, _failure, check_one
from ..errors import ValidatorError
from ..settings import Settings

_QUEUE: Any = None


def tracked(pids: Any, init_fn: Any, *args: Any) -> None:
    """Pool initializer: reports this worker's pid (so the server can stop the workers it
    started, and only those), then runs `init_fn(*args)`."""
    pids.put(os.getpid())
    init_fn(*args)


def init(queue: Any) -> None:
    """Pool initializer.  Ctrl-C reaches the whole process group: the server decides."""
    global _QUEUE
    _QUEUE = queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _progress(job_id: str, kind: str):
    q = _QUEUE
    last = [0.0, ""]

    def cb(stage: str, fraction: float) -> None:
        if q is None:
            return
        now = time.monotonic()
        # A stage change always goes out; updates within a stage at most ten a second.
        if stage == last[1] and now - last[0] < 0.1:
            return
        last[0], last[1] = now, stage
        q.put((job_id, kind, stage, float(fraction or 0.0)))

    return cb


def _fixable(plan: Any, report: Any) -> list[str]:
    """Failing rules (at the report's fail-on level) that the plan promises to repair.  A
    photo's plan names the rules its crop, turn or conversion repairs
    (`PhotoPlan.fixed_rules`); a picture without duration is not a clip `prepare` can make:
    nothing."""
    from ..settings import severity_at_least

    failing = {r.rule for r in report.failures if severity_at_least(r.severity, report.fail_on)}
    if getattr(report, "kind", "video") == "photo":
        return sorted(set(plan.fixed_rules) & failing)
    media = report.media or {}
    # A recorder's WebM often has no container duration: the video stream's own counts too.
    duration = media.get("duration_s") or media.get("video_duration_s") or 0
    if getattr(report, "kind", "video") != "video" or not duration > 0.1:
        return []
    return sorted({f.rule for f in plan.fixes if f.rule in failing})


def _plan(report: Any) -> Any:
    """What `validator prepare` would do with the file: a photo's plan for a photo (JPEG or
    PNG out, see `prepared_suffix`), a clip's for a clip."""
    if getattr(report, "kind", "video") == "photo":
        from ..prepare.photo import OUTPUT_FORMATS, plan_photo

        # The format `prepare` will write for the fix's output name (start_fix uses the same
        # suffix), so the plan shown is the plan carried out.
        suffix = prepared_suffix({"kind": report.kind, "media": report.media})
        return plan_photo(report, OUTPUT_FORMATS[suffix])
    from ..prepare import PrepareOptions, make_plan

    return make_plan(report, PrepareOptions())


def prepared_suffix(report: dict[str, Any] | None) -> str:
    """The prepared file's extension: a clip becomes an MP4; a photo a PNG when it was one
    (lossless stays lossless), else a JPEG."""
    report = report or {}
    if report.get("kind", "video") != "photo":
        return ".mp4"
    fmt = str((report.get("media") or {}).get("format") or "").upper()
    return ".png" if fmt == "PNG" else ".jpg"


def check(job_id: str, path: str, settings_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Validate one uploaded file, with what the HTML timeline draws, and plan its repairs."""
    t0 = time.perf_counter()
    try:
        report, tl = check_one(
            path,
            Settings(**settings_kwargs),
            timeline=True,
            keep_evidence=True,
            extra_evidence=TIMELINE_EVIDENCE,
            progress=_progress(job_id, "check"),
        )
        try:
            plan = _plan(report)
            plan_doc: dict[str, Any] | None = plan.to_dict()
            plan_text: str | None = plan.describe()
            fixable = _fixable(plan, report) if plan.possible else []
        except ValidatorError:
            plan_doc, plan_text, fixable = None, None, []
    except Exception as e:  # a bug must not take the server down
        return _failure(e, time.perf_counter() - t0)
    return {
        "report": report.to_dict(),
        "timeline": tl.to_dict() if tl else None,
        "plan": plan_doc,
        "plan_text": plan_text,
        "fixable": fixable,
        "seconds": time.perf_counter() - t0,
    }


def fix(job_id: str, src: str, dst: str, settings_kwargs: dict[str, Any]) -> dict[str, Any]:
    """`validator prepare SRC -o DST` with default options; DST is written only if it holds up."""
    from ..prepare import PrepareOptions, prepare, proof

    t0 = time.perf_counter()
    try:
        res = prepare(
            src,
            dst,
            Settings(**settings_kwargs),
            PrepareOptions(),
            progress=_progress(job_id, "fix"),
        )
    except Exception as e:  # a bug must not take the server down
        return _failure(e, time.perf_counter() - t0)
    changes = []
    if res.after is not None:
        for c in proof.changes(res.before, res.after):
            changes.append(
                {
                    "rule": c.rule,
                    "name": c.name,
                    "before": _cell(c.before),
                    "after": _cell(c.after),
                }
            )
    return {
        "written": res.output is not None,
        "plan": res.plan.to_dict(),
        "plan_text": res.plan.describe(),
        "after": res.after.to_dict() if res.after is not None else None,
        "changes": changes,
        "table": proof.table(res.before, res.after) if res.after is not None else None,
        "seconds": time.perf_counter() - t0,
    }


def _cell(r: Any) -> str:
    if r is None:
        return "not run"
    return f"fail ({r.severity})" if r.status == "fail" else r.status
