"""`validator prepare`: turn a fixable clip into an upload-ready MP4, safely, and prove it.

    from validator.prepare import prepare, PrepareOptions
    result = prepare("phone.mov", "upload.mp4")          # validate -> plan -> repair -> validate
    result.plan.describe(), result.after.passed

Steps: validate IN (with voice segments when trimming), plan the repairs (`plan.py`), write a
temporary file beside OUT (`repairs.py`, `safety.py`), validate it, and rename it to OUT only
when every promised repair holds and nothing that passed before fails now (`proof.py`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ..errors import ClipError, ToolError, UsageError
from ..pipeline import validate
from ..report import Report
from ..settings import Settings
from . import proof
from .plan import Fix, Plan, PrepareOptions, Trim, Unfixable, make_plan, plan_trim
from .repairs import OutputFull, RepairError, write
from .result import PrepareResult
from .safety import Interrupted, TempOutput, check_paths

ProgressFn = Callable[[str, float], None]

__all__ = [
    "prepare",
    "plan_clip",
    "PrepareOptions",
    "PrepareResult",
    "Plan",
    "Fix",
    "Unfixable",
    "Trim",
    "make_plan",
    "plan_trim",
    "Interrupted",
]


def _damage(before: Report) -> str | None:
    """The before-report's damage finding (MED001/MED011), if any: a repair that then fails
    failed because of the file."""
    for r in before.results:
        if r.rule in ("MED001", "MED011") and r.status == "fail":
            return f"{r.rule}: {r.message}"[:300]
    return None


def plan_clip(
    src: str | os.PathLike[str],
    settings: Settings | None = None,
    options: PrepareOptions | None = None,
    *,
    progress: ProgressFn | None = None,
) -> tuple[Plan, Report]:
    """Validate `src` and plan its repairs (nothing is written)."""
    settings = settings or Settings()
    options = options or PrepareOptions()
    extra = ("voice",) if options.trim == "auto" else ()
    before = validate(src, settings, progress=progress, extra_evidence=extra)
    return make_plan(before, options), before


def prepare(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str] | None,
    settings: Settings | None = None,
    options: PrepareOptions | None = None,
    *,
    dry_run: bool = False,
    progress: ProgressFn | None = None,
) -> PrepareResult:
    """Validate, plan, repair into a temporary file, validate the result, rename it to `dst`.

    Raises UsageError for bad paths (OUT equal to IN, OUT existing without `overwrite`, ...) and
    ToolError when the result could not be written or does not hold up; OUT is then untouched.
    """
    settings = settings or Settings()
    options = options or PrepareOptions()
    from ..photo import sniff_kind

    if sniff_kind(src) == "photo":  # by content: a photo gets a photo, JPEG or PNG
        from .photo import prepare_photo

        return prepare_photo(src, dst, settings, options, dry_run=dry_run, progress=progress)
    # A dry run writes nothing, so an existing OUT is no reason to refuse it.
    out = check_paths(src, dst, overwrite=options.overwrite or dry_run) if dst is not None else None
    if out is None and not dry_run:
        raise UsageError("an output file is needed (-o OUT.mp4), or use --dry-run")
    plan, before = plan_clip(src, settings, options, progress=progress)
    result = PrepareResult(plan, before)
    if dry_run or not plan.possible or out is None:
        return result
    damage = _damage(before)
    with TempOutput(out) as tmp:
        assert tmp.path is not None
        try:
            write(plan, src, tmp.path, progress=progress)
        except OutputFull as e:
            raise UsageError(
                f"{out}: {e}; nothing was written (free some space and run again)"
            ) from None
        except RepairError as e:
            if damage:  # the clip's own damage, not the tool, stopped the repair: exit 1
                raise ClipError(
                    f"{src}: the file is damaged ({damage}) and could not be rewritten ({e}); "
                    "nothing was written: copy or export it again from the original"
                ) from None
            raise ToolError(f"{src}: could not write the prepared clip: {e}") from None
        after = validate(tmp.path, settings, progress=progress)
        bad = proof.problems(plan, before, after)
        if bad:
            if damage:
                raise ClipError(
                    f"{src}: the file is damaged ({damage}); the rewritten clip did not hold up "
                    f"({'; '.join(bad)}), so nothing was written"
                )
            raise ToolError(
                "the prepared clip did not hold up, so it was not written: " + "; ".join(bad)
            )
        tmp.commit()
    after.path = str(out)  # the report names OUT, not the temporary file
    result.after = after
    result.output = out
    return result
