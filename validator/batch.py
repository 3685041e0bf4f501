"""Many clips at once: which files, in which processes, from the cache or not, and the summary.

- `expand_inputs()` turns the command line's paths, directories (searched recursively for video
  extensions, hidden folders skipped) and glob patterns into a de-duplicated list of files, and
  refuses (UsageError, exit 2) a path that does not exist or a pattern that matches nothing,
  before any work starts.
- `run_batch()` looks every clip up in the cache (content hashes computed on threads), then
  validates the misses: in this process when there is one clip or `jobs == 1`, else in `jobs`
  worker processes ("spawn": no fork of a threaded parent).  Results come back in input order.
  A clip that could not be processed at all (a tool error, an analyser bug) becomes an
  `Outcome` with an error and exit code 3 instead of stopping the other clips.
- `summary_table()` and `worst_exit_code()` (3 > 2 > 1 > 0, the codes of `errors.py`).
"""

from __future__ import annotations

import dataclasses
import glob
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import pipeline
from .cache import ReportCache, cache_key, file_sha256
from .errors import (
    EXIT_FAIL,
    EXIT_PASS,
    EXIT_TOOL,
    EXIT_USAGE,
    ToolError,
    UsageError,
    ValidatorError,
)
from .fsutil import printable
from .progress import Progress
from .report import Report
from .settings import Settings
from .timeline import TIMELINE_EVIDENCE, Timeline

# Not ".ts": in a repository that is far more often TypeScript than an MPEG transport stream
# (a .ts clip named explicitly is still checked).
VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".qt",
        ".mkv",
        ".webm",
        ".avi",
        ".mpg",
        ".mpeg",
        ".mts",
        ".m2ts",
        ".3gp",
        ".wmv",
        ".flv",
        ".mxf",
        ".ogv",
    }
)
# Photos found in folders too (their kind is then decided by content, as for any file).
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".heic", ".heif", ".webp", ".tif", ".tiff", ".gif", ".bmp"}
)
__all__ = ["EXIT_FAIL", "EXIT_PASS", "EXIT_TOOL", "EXIT_USAGE", "Outcome", "run_batch"]


@dataclass
class Outcome:
    """One input clip: its report, or why there is none."""

    path: str
    report: Report | None
    error: str | None = None
    exit_code: int = EXIT_PASS
    cached: bool = False
    seconds: float = 0.0
    traceback: str | None = None  # of an internal error, for --debug

    @property
    def verdict(self) -> str:
        if self.report is None:
            return "ERROR"
        return self.report.verdict


# --- inputs ---------------------------------------------------------------------------------


def is_video(path: Path) -> bool:
    """A file a folder scan picks up: a video or photo extension."""
    return path.suffix.lower() in VIDEO_EXTENSIONS | IMAGE_EXTENSIONS


def _scan_dir(d: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(d):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))  # .git, .cache, ...
        out.extend(
            Path(root) / f for f in sorted(files) if not f.startswith(".") and is_video(Path(f))
        )
    return out


def expand_inputs(items: Sequence[str]) -> list[Path]:
    """Files named, files under directories, files matching patterns; each once, in order."""
    found: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found.extend(_scan_dir(p))
        elif p.exists():
            found.append(p)  # named explicitly: checked whatever its extension
        elif glob.has_magic(item):
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                raise UsageError(f"{item}: no file matches this pattern")
            for m in matches:
                mp = Path(m)
                if mp.is_dir():
                    found.extend(_scan_dir(mp))
                elif is_video(mp):
                    found.append(mp)
        else:
            raise UsageError(f"{item}: no such file or directory")
    seen: set[str] = set()
    unique = []
    for f in found:
        key = os.path.realpath(f)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    if not unique:
        raise UsageError(
            f"no clips or photos found in {', '.join(items)} "
            f"(looked for {', '.join(sorted(VIDEO_EXTENSIONS))}; "
            f"photos {', '.join(sorted(IMAGE_EXTENSIONS))})"
        )
    return unique


def default_jobs(n_files: int) -> int:
    return 1 if n_files <= 1 else max(1, min(2, os.cpu_count() or 1))


# --- one clip -------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _settings_kwargs(s: Settings) -> dict[str, Any]:
    """Settings as plain data, every field: its mapping proxies do not pickle into workers."""
    return {f.name: _plain(getattr(s, f.name)) for f in dataclasses.fields(s) if f.init}


def _failure(e: BaseException, seconds: float) -> dict[str, Any]:
    """The one mapping of an exception to an outcome: a ValidatorError keeps its message and
    exit code; anything else is an internal error (exit 3) that must not stop the other clips."""
    if isinstance(e, ValidatorError):
        error, code = str(e), e.exit_code
    else:
        error, code = f"internal error: {type(e).__name__}: {e}", EXIT_TOOL
    tb = "".join(traceback.format_exception(e))
    return {"error": error, "exit_code": code, "seconds": seconds, "traceback": tb}


def _error_outcome(path: str, res: dict[str, Any]) -> Outcome:
    return Outcome(
        path,
        None,
        res["error"],
        res["exit_code"],
        seconds=res["seconds"],
        traceback=res.get("traceback"),
    )


def check_one(
    path: str,
    settings: Settings,
    *,
    timeline: bool = False,
    keep_evidence: bool = False,
    extra_evidence: Sequence[str] = TIMELINE_EVIDENCE,
    progress: Callable[[str, float], None] | None = None,
) -> tuple[Report, Timeline | None]:
    """Validate one clip; with `timeline`, also measure what the HTML timeline draws.

    The timeline's extra analysers are a courtesy: if one of them fails (a model missing), the
    clip is validated again without them rather than failing a check no rule asked for.
    """
    tl: Timeline | None = None
    if timeline:
        try:
            report = pipeline.validate(
                path, settings, progress=progress, extra_evidence=tuple(extra_evidence)
            )
        except ToolError as e:
            report = pipeline.validate(
                path, settings, progress=progress, extra_evidence=("thumbnails",)
            )
            note = {"timeline": f"some measurements are missing: {e}"}
            tl = Timeline.from_evidence(report.evidence, report.results)
            tl = Timeline(tl.duration_s, tl.lanes, tl.stills, {**tl.missing, **note})
        else:
            tl = Timeline.from_evidence(report.evidence, report.results)
    else:
        report = pipeline.validate(path, settings, progress=progress)
    report.timeline = tl
    if not keep_evidence:
        report.evidence = None  # drop decoded audio, thumbnails...: only what renderers draw stays
    return report, tl


_QUEUE: Any = None  # set in worker processes: "started" notes and progress go to the parent
_PROGRESS = False


def _init_worker(queue: Any, progress: bool = False) -> None:
    global _QUEUE, _PROGRESS
    _QUEUE = queue
    _PROGRESS = progress
    # Ctrl-C reaches the whole process group; the parent handles it and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _worker(
    path: str, settings_kwargs: dict[str, Any], timeline: bool, extra_evidence: tuple[str, ...]
) -> dict[str, Any]:
    """Runs in a worker process; returns plain data (reports do not pickle with evidence)."""
    t0 = time.perf_counter()
    q = _QUEUE

    def progress(stage: str, fraction: float) -> None:
        q.put((path, stage, fraction))

    if q is not None:
        # Written synchronously (a SimpleQueue has no feeder thread), so the parent knows which
        # clip a worker was reading even if the worker dies on the next instruction.
        q.put((path, "starting", 0.0))
    try:
        report, tl = check_one(
            path,
            Settings(**settings_kwargs),
            timeline=timeline,
            extra_evidence=extra_evidence,
            progress=progress if (q is not None and _PROGRESS) else None,
        )
    except Exception as e:  # a bug must not take the other clips down with it
        return _failure(e, time.perf_counter() - t0)
    return {
        "report": report.to_dict(),
        "timeline": tl.to_dict() if tl else None,
        "seconds": time.perf_counter() - t0,
    }


# --- many clips -----------------------------------------------------------------------------


def run_batch(
    paths: Sequence[str | os.PathLike[str]],
    settings: Settings,
    *,
    jobs: int | None = None,
    cache: ReportCache | None = None,
    read_cache: bool = True,
    timeline: bool = False,
    keep_evidence: bool = False,
    extra_evidence: Sequence[str] = TIMELINE_EVIDENCE,
    progress: Progress | None = None,
    scheduler: str | None = None,
) -> list[Outcome]:
    """Validate every path; outcomes in the order of `paths`.  With `scheduler`
    ("tcp://HOST:PORT" or "local:N"), the clips the cache does not answer run on a Dask
    cluster (`dask_executor.py`) instead of local worker processes."""
    spaths = [os.fspath(p) for p in paths]
    jobs = default_jobs(len(spaths)) if jobs is None else jobs
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    prog = progress or Progress(len(spaths), enabled=False)
    outcomes: dict[int, Outcome] = {}
    keys: dict[int, str] = {}
    if cache is not None:
        _from_cache(cache, spaths, settings, jobs, read_cache, timeline, prog, outcomes, keys)

    todo = [i for i in range(len(spaths)) if i not in outcomes]

    def store(i: int, report: Report, tl: Timeline | None) -> None:
        if cache is not None and i in keys:
            cache.put(keys[i], report, tl)

    if todo and scheduler is not None:
        from .dask_executor import ClusterJob, run_on_cluster

        def finish(i: int, res: dict[str, Any]) -> None:
            outcomes[i] = _outcome_from_result(spaths[i], res, lambda r, t: store(i, r, t))
            prog.finish(spaths[i], outcomes[i].verdict, outcomes[i].seconds)

        job = ClusterJob(
            _worker, spaths, _settings_kwargs(settings), timeline, tuple(extra_evidence), finish
        )
        run_on_cluster(scheduler, todo, job)
    elif todo and (jobs == 1 or len(todo) == 1):
        for i in todo:
            t0 = time.perf_counter()
            prog.start(spaths[i])

            def cb(stage: str, fraction: float, _p: str = spaths[i]) -> None:
                prog.stage(_p, stage, fraction)

            try:
                report, tl = check_one(
                    spaths[i],
                    settings,
                    timeline=timeline,
                    keep_evidence=keep_evidence,
                    extra_evidence=extra_evidence,
                    progress=cb if prog.enabled else None,
                )
            except Exception as e:  # one bad clip's bug must not hide the others' reports
                outcomes[i] = _error_outcome(spaths[i], _failure(e, time.perf_counter() - t0))
            else:
                store(i, report, tl)
                outcomes[i] = Outcome(
                    spaths[i], report, exit_code=_code(report), seconds=time.perf_counter() - t0
                )
            prog.finish(spaths[i], outcomes[i].verdict, outcomes[i].seconds)
    elif todo:
        batch = _PoolBatch(spaths, settings, timeline, tuple(extra_evidence), prog, outcomes, store)
        _run_pool(todo, min(jobs, len(todo)), batch)
    prog.close()
    return [outcomes[i] for i in range(len(spaths))]


def _from_cache(
    cache: ReportCache,
    spaths: list[str],
    settings: Settings,
    jobs: int,
    read_cache: bool,
    timeline: bool,
    prog: Progress,
    outcomes: dict[int, Outcome],
    keys: dict[int, str],
) -> None:
    """Each clip's cache key (content hashes on threads) into `keys`; hits into `outcomes`."""

    def lookup(i: int) -> tuple[int, str | None, str | None]:
        try:
            sha = file_sha256(spaths[i])  # refuses FIFOs and devices (no hang)
        except OSError:
            return i, None, None  # unreadable: validate() says why
        return i, sha, cache_key(sha, settings)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for i, sha, key in pool.map(lookup, range(len(spaths))):
            if key is None:
                continue
            keys[i] = key
            if not read_cache:
                continue
            hit = cache.get(
                key, spaths[i], need_timeline=timeline, content_sha256=sha, settings=settings
            )
            if hit is not None:
                rep = hit.report
                outcomes[i] = Outcome(spaths[i], rep, exit_code=_code(rep), cached=True)
                prog.finish(spaths[i], outcomes[i].verdict, cached=True)


@dataclass(frozen=True)
class _PoolBatch:
    """What every pool round of one `run_batch` shares: the clips, how to check them, and
    where their outcomes go."""

    spaths: list[str]
    settings: Settings
    timeline: bool
    extra: tuple[str, ...]
    prog: Progress
    outcomes: dict[int, Outcome]
    store: Callable[[int, Report, Timeline | None], None]


def _run_pool(todo: list[int], workers: int, batch: _PoolBatch) -> None:
    """Validate `todo` in worker processes.  A worker that dies (a crash inside FFmpeg, the
    out-of-memory killer) breaks the whole pool; the clips it had not started are run again in
    a new pool, and the clips that were being read when it died are each run again alone, so
    only the clip that kills its worker is reported as failed, and every other clip still gets
    its report."""
    pending = list(todo)
    suspects: list[int] = []
    while pending or suspects:
        if pending:
            started, broken = _pool_round(pending, workers, batch)
            if broken:
                again = [i for i in broken if batch.spaths[i] in started]
                if not again:  # nothing is known: every unfinished clip is a suspect
                    again = list(broken)
                suspects.extend(again)
                pending = [i for i in broken if i not in again]
            else:
                pending = []
        else:
            i = suspects.pop(0)
            _, broken = _pool_round([i], 1, batch, alone=True)


def _pool_round(
    todo: list[int], workers: int, batch: _PoolBatch, *, alone: bool = False
) -> tuple[set[str], list[int]]:
    """One process pool over `todo`.  Returns the clips workers started and the clips left
    without an outcome because the pool broke (with `alone`, a clip that breaks its own pool
    gets an error outcome instead)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    spaths, prog, outcomes = batch.spaths, batch.prog, batch.outcomes
    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    started: set[str] = set()
    listener = _listen(queue, prog, started)
    kwargs = _settings_kwargs(batch.settings)
    others = set(mp.active_children())  # the workers are the children this pool adds
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(queue, prog.enabled),
    )
    broken: list[int] = []
    procs: list[Any] = []
    try:
        futures = {
            pool.submit(_worker, spaths[i], kwargs, batch.timeline, batch.extra): i for i in todo
        }
        procs = [p for p in mp.active_children() if p not in others]  # spawned on submit
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                res = fut.result()
            except BrokenProcessPool:
                if not alone:
                    broken.append(i)
                    continue
                res = {
                    "error": "the worker process reading this clip died"
                    + _death(procs)
                    + ": the file is probably damaged in a way the decoder cannot survive",
                    "exit_code": EXIT_TOOL,
                    "seconds": 0.0,
                }
            except Exception as e:  # the call itself failed (unpicklable result, ...)
                res = {
                    "error": f"worker failed: {type(e).__name__}: {e}",
                    "exit_code": EXIT_TOOL,
                    "seconds": 0.0,
                }
            outcomes[i] = _outcome_from_result(
                spaths[i], res, lambda r, t, i=i: batch.store(i, r, t)
            )
            prog.finish(spaths[i], outcomes[i].verdict, outcomes[i].seconds)
    except BaseException:
        # Ctrl-C (workers ignore SIGINT: the parent decides): stop the workers now rather than
        # letting them finish the clips already queued to them.
        for proc in procs or [p for p in mp.active_children() if p not in others]:
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        try:
            queue.put(None)  # stops the listener once every earlier message is read
        except OSError:
            pass
        listener.join(timeout=2)
        queue.close()
    return started, [i for i in todo if i in broken]


def _listen(queue: Any, prog: Progress, started: set[str]) -> threading.Thread:
    """A thread reading the workers' notes: the clips they start (into `started`) and their
    progress; it ends at a None message or when the queue closes."""

    def listen() -> None:
        while True:
            try:
                msg = queue.get()
            except (EOFError, OSError):
                return
            if msg is None:
                return
            p, stage, frac = msg
            if stage == "starting":
                started.add(p)
            if prog.enabled:
                prog.stage(p, stage, frac)

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    return listener


def _outcome_from_result(
    path: str, res: dict[str, Any], store: Callable[[Report, Timeline | None], None]
) -> Outcome:
    """An Outcome from what `_worker` returned (a report as plain data, or an error); the
    report, with its timeline, goes to `store` (the cache)."""
    if "report" not in res:
        return _error_outcome(path, res)
    report = Report.from_dict(res["report"])
    report.path = path
    tl = Timeline.from_dict(res["timeline"]) if res.get("timeline") else None
    report.timeline = tl
    store(report, tl)
    return Outcome(path, report, exit_code=_code(report), seconds=res["seconds"])


def _death(procs: list[Any]) -> str:
    """ " (SIGSEGV)" from a dead worker's exit code, when it is known."""
    for p in procs:
        code = _exit_code(p)
        if code is not None and code < 0:
            try:
                return f" ({signal.Signals(-code).name})"
            except ValueError:
                return f" (signal {-code})"
        if code:
            return f" (exit status {code})"
    return ""


def _exit_code(proc: Any, wait_s: float = 5.0) -> int | None:
    """A dead worker's exit code.  The pool's own thread reaps its workers too; when it wins
    the race, our `join` sees no child (ECHILD) and the code appears only once that thread
    stores it, so ask again for a few seconds rather than once."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            proc.join(timeout=0.2)  # reap it, so its exit code is known
        except (AssertionError, OSError, ValueError):
            pass
        code = getattr(proc, "exitcode", None)
        if code is not None or time.monotonic() >= deadline:
            return code


def _code(report: Report) -> int:
    return EXIT_PASS if report.passed else EXIT_FAIL


def worst_exit_code(outcomes: Sequence[Outcome]) -> int:
    """3 (could not process) > 2 (usage) > 1 (a clip failed) > 0."""
    return max((o.exit_code for o in outcomes), default=EXIT_PASS)


def summary_table(outcomes: Sequence[Outcome]) -> str:
    """A fixed-width table, one row per clip, and a totals line."""
    head = ("verdict", "errors", "warnings", "time", "clip")
    rows = []
    for o in outcomes:
        if o.report is None:
            err = o.error or ""
            err = err[len(o.path) :].lstrip(": ") if err.startswith(o.path) else err
            rows.append((o.verdict, "-", "-", f"{o.seconds:.1f}s", printable(f"{o.path}: {err}")))
            continue
        counts = o.report.counts()
        n_err, n_warn = counts["error"], counts["warning"]
        rows.append(
            (
                o.verdict,
                str(n_err),
                str(n_warn),
                "cached" if o.cached else f"{o.seconds:.1f}s",
                printable(o.path),
            )
        )
    widths = [max(len(r[c]) for r in [head, *rows]) for c in range(4)]
    lines = []
    for r in [head, *rows]:
        lines.append(
            "  ".join(
                [
                    r[0].ljust(widths[0]),
                    r[1].rjust(widths[1]),
                    r[2].rjust(widths[2]),
                    r[3].rjust(widths[3]),
                    r[4],
                ]
            )
        )
    n_pass = sum(o.verdict == "PASS" for o in outcomes)
    n_fail = sum(o.verdict == "FAIL" for o in outcomes)
    n_err = sum(o.verdict == "ERROR" for o in outcomes)
    n_cached = sum(o.cached for o in outcomes)
    total = f"{len(outcomes)} clips: {n_pass} passed, {n_fail} failed"
    if n_err:
        total += f", {n_err} could not be checked"
    if n_cached:
        total += f" ({n_cached} from cache)"
    lines.append(total)
    return "\n".join(lines) + "\n"
