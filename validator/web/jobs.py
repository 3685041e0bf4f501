"""Jobs: uploaded files, their checks and repairs in a worker pool, and the event log the page
follows.

- Checks and repairs run in a `ProcessPoolExecutor` ("spawn") of `default_workers()` processes,
  so decoding and analysis never hold the server's event loop or its GIL.
- Stage updates come back on a multiprocessing queue (read by one listener thread) and every
  state change becomes an event in one log with increasing sequence numbers.  The page reads
  the log as server-sent events and resumes from `Last-Event-ID` after a reconnect, so a
  dropped connection loses nothing.  One stream for all files: browsers allow only six
  connections per host.
- Finished reports go into the report cache (`validator.cache`, the one `check` uses) and the
  history list beside it, so a reopened page shows the last files; "clear" forgets them.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import secrets
import shutil
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..batch import _settings_kwargs as settings_kwargs
from ..cache import ReportCache, cache_key
from ..fsutil import atomic_write
from ..render import html as html_render
from ..report import Report
from ..settings import Settings
from ..timeline import Timeline
from . import worker

HISTORY_FILE = "web-history.json"
HISTORY_MAX = 50
EVENT_LOG_MAX = 20000
MAX_WORKERS = 4  # each worker holds one decode and the face models: bound the memory


def default_workers() -> int:
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


@dataclass
class Job:
    id: str
    name: str  # the name the user's file had: shown (escaped), never interpreted
    settings: Settings
    path: Path | None  # the uploaded copy (None for a file from an earlier session)
    size_bytes: int
    key: str | None = None  # report cache key
    state: str = "queued"  # queued | running | done | error
    stage: str | None = None
    fraction: float = 0.0
    report: dict[str, Any] | None = None
    html: str | None = None
    plan: dict[str, Any] | None = None
    plan_text: str | None = None
    fixable: list[str] = field(default_factory=list)
    error: str | None = None
    cached: bool = False
    earlier: bool = False  # from the history of an earlier session
    seconds: float = 0.0
    created: float = field(default_factory=time.time)
    fix_state: str | None = None  # None | running | done | error
    fix: dict[str, Any] | None = None
    fix_error: str | None = None
    fixed_path: Path | None = None
    ref: str | None = None  # the page's own name for the upload (matches events to its card)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "ref": self.ref,
            "size_bytes": self.size_bytes,
            "state": self.state,
            "stage": self.stage,
            "fraction": self.fraction,
            "profile": self.settings.profile,
            "fail_on": self.settings.fail_on,
            "report": self.report,
            "plan": self.plan,
            "plan_text": self.plan_text,
            "fixable": self.fixable if self.path is not None else [],
            "error": self.error,
            "cached": self.cached,
            "earlier": self.earlier,
            "seconds": round(self.seconds, 2),
            "fix_state": self.fix_state,
            "fix": self.fix,
            "fix_error": self.fix_error,
            # What a repair writes: "mp4" for a clip, "jpg" or "png" for a photo.
            "prepared_ext": worker.prepared_suffix(self.report)[1:],
        }


class JobManager:
    def __init__(self, workdir: Path, cache: ReportCache, workers: int | None = None):
        self.workdir = workdir
        self.cache = cache
        self.workers = workers or default_workers()
        self.jobs: dict[str, Job] = {}
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENT_LOG_MAX)
        self.seq = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.changed: asyncio.Condition | None = None
        self.closing = False
        self._lock = threading.Lock()
        ctx = mp.get_context("spawn")
        self.queue = ctx.Queue()
        self._pids = ctx.SimpleQueue()  # each worker's pid, from its initializer
        self.pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=ctx,
            initializer=worker.tracked,
            initargs=(self._pids, worker.init, self.queue),
        )
        self._stop = threading.Event()
        self._listener = threading.Thread(target=self._listen, name="progress", daemon=True)
        # Live readouts (Record mode) in a process of their own: never queued behind a check.
        from . import live

        self.live_pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=ctx,
            initializer=worker.tracked,
            initargs=(self._pids, live.init),
        )
        self.live_pending = 0

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.changed = asyncio.Condition()
        self._listener.start()
        self._load_history()
        from . import live

        self.live_pool.submit(live.warm)  # face models loaded before the first frame

    async def live(self, fn: Any, *args: Any) -> dict[str, Any] | None:
        """Run a live-readout function; None when readouts are already queued (the page
        sends the next frame when this one is answered, so a backlog means another tab)."""
        if self.live_pending >= 2 or self.closing:
            return None
        self.live_pending += 1
        try:
            return await asyncio.wrap_future(self.live_pool.submit(fn, *args))
        finally:
            self.live_pending -= 1

    def close(self) -> None:
        """Stop the workers now (a check in progress is abandoned) and the listener."""
        self.closing = True
        self._stop.set()
        self._terminate_workers()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.live_pool.shutdown(wait=False, cancel_futures=True)
        if self._listener.is_alive():
            self._listener.join(timeout=1)

    def _terminate_workers(self) -> None:
        """SIGTERM to both pools' workers: the children of this process whose pid a worker
        reported (an unreaped child keeps its pid, so no other process can be hit)."""
        pids: set[int] = set()
        try:
            while not self._pids.empty():
                pids.add(self._pids.get())
        except (OSError, EOFError, ValueError):
            pass
        for proc in mp.active_children():
            if proc.pid in pids:
                try:
                    proc.terminate()
                except OSError:
                    pass

    # --- events -------------------------------------------------------------------------

    def _publish(self, kind: str, job: Job, **extra: Any) -> None:
        """Runs on the event loop thread."""
        self.seq += 1
        self.events.append({"seq": self.seq, "type": kind, "job": job.summary(), **extra})
        if self.changed is not None:
            asyncio.ensure_future(self._notify())

    async def _notify(self) -> None:
        assert self.changed is not None
        async with self.changed:
            self.changed.notify_all()

    def _threadsafe(self, fn: Any, *args: Any) -> None:
        if self.loop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:  # the loop stopped meanwhile
                pass

    def events_after(self, seq: int) -> list[dict[str, Any]]:
        return [e for e in self.events if e["seq"] > seq]

    async def wait_for_events(self, seq: int, timeout: float) -> None:
        assert self.changed is not None
        if self.seq > seq:
            return
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: self.seq > seq), timeout)
            except TimeoutError:
                pass

    def _listen(self) -> None:
        import queue as q

        while not self._stop.is_set():
            try:
                job_id, kind, stage, fraction = self.queue.get(timeout=0.2)
            except q.Empty:
                continue
            except (EOFError, OSError, ValueError):
                return
            self._threadsafe(self._on_stage, job_id, kind, stage, fraction)

    def _on_stage(self, job_id: str, kind: str, stage: str, fraction: float) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            return
        if kind == "check":
            if job.state not in ("queued", "running"):
                return
            job.state, job.stage, job.fraction = "running", stage, fraction
            self._publish("stage", job)
        else:
            if job.fix_state != "running":
                return
            self._publish("fix-stage", job, stage=stage, fraction=fraction)

    # --- checks -------------------------------------------------------------------------

    def new_job_dir(self) -> tuple[str, Path]:
        job_id = secrets.token_hex(8)
        d = self.workdir / job_id
        d.mkdir(mode=0o700)
        return job_id, d

    def submit(
        self,
        job_id: str,
        name: str,
        path: Path,
        size: int,
        sha256: str,
        settings: Settings,
        ref: str | None = None,
    ) -> Job:
        job = Job(job_id, name, settings, path, size, ref=ref)
        self.jobs[job_id] = job
        try:
            job.key = cache_key(sha256, settings)
        except Exception:
            job.key = None
        hit = (
            self.cache.get(
                job.key, name, need_timeline=True, content_sha256=sha256, settings=settings
            )
            if job.key
            else None
        )
        if hit is not None:
            self._finish(job, hit.report, hit.timeline, cached=True)
            # The plan needs the evidence the cache does not keep: check again, quietly, so
            # "Fix it" knows what it can repair.  The verdict shown is the cached one.
            if not hit.report.passed:
                fut = self.pool.submit(worker.check, job_id, str(path), settings_kwargs(settings))
                fut.add_done_callback(lambda f: self._threadsafe(self._plan_done, job, f))
            return job
        self._publish("queued", job)
        fut = self.pool.submit(worker.check, job_id, str(path), settings_kwargs(settings))
        fut.add_done_callback(lambda f: self._threadsafe(self._check_done, job, f))
        return job

    def _result(self, fut: Future) -> dict[str, Any]:
        try:
            return fut.result()
        except Exception as e:  # the worker died, or the pool was shut down
            return {"error": f"worker failed: {type(e).__name__}: {e}", "exit_code": 3}

    def _check_done(self, job: Job, fut: Future) -> None:
        if self.jobs.get(job.id) is not job:
            return  # cleared meanwhile
        res = self._result(fut)
        job.seconds = float(res.get("seconds") or 0.0)
        if "report" not in res:
            job.state, job.error = "error", res["error"]
            self._publish("error", job)
            return
        report = Report.from_dict(res["report"])
        tl = Timeline.from_dict(res["timeline"]) if res.get("timeline") else None
        job.plan, job.plan_text, job.fixable = res["plan"], res["plan_text"], res["fixable"]
        self._finish(job, report, tl, cached=False)

    def _plan_done(self, job: Job, fut: Future) -> None:
        if self.jobs.get(job.id) is not job:
            return
        res = self._result(fut)
        if "report" in res:
            job.plan, job.plan_text, job.fixable = res["plan"], res["plan_text"], res["fixable"]
            self._publish("plan", job)

    def _finish(self, job: Job, report: Report, tl: Timeline | None, cached: bool) -> None:
        report.path = job.name  # the report names the user's file, not the upload copy
        report.timeline = tl
        job.report = report.to_dict()
        job.html = html_render.render([report])
        job.state, job.stage, job.fraction, job.cached = "done", None, 1.0, cached
        if not cached and job.key:
            self.cache.put(job.key, report, tl)
        if job.key:
            self._remember(job)
        self._publish("done", job)

    # --- repairs ------------------------------------------------------------------------

    def start_fix(self, job: Job) -> None:
        assert job.path is not None
        job.fix_state, job.fix, job.fix_error = "running", None, None
        dst = job.path.parent / ("prepared" + worker.prepared_suffix(job.report))
        if dst.exists():
            dst.unlink()
        self._publish("fix-queued", job)
        fut = self.pool.submit(
            worker.fix, job.id, str(job.path), str(dst), settings_kwargs(job.settings)
        )
        fut.add_done_callback(lambda f: self._threadsafe(self._fix_done, job, dst, f))

    def _fix_done(self, job: Job, dst: Path, fut: Future) -> None:
        if self.jobs.get(job.id) is not job:
            return
        res = self._result(fut)
        if "error" in res:
            job.fix_state, job.fix_error = "error", res["error"]
            self._publish("fix-error", job)
            return
        if res["after"] is not None:
            res["after"]["input"]["path"] = prepared_name(job.name, dst.suffix)
        job.fix_state, job.fix = "done", res
        job.fixed_path = dst if res["written"] and dst.is_file() else None
        self._publish("fixed", job)

    # --- history ------------------------------------------------------------------------

    @property
    def history_path(self) -> Path:
        return self.cache.dir / HISTORY_FILE

    def _read_history(self) -> list[dict[str, Any]]:
        try:
            doc = json.loads(self.history_path.read_text(encoding="utf-8"))
            items = doc.get("files") if isinstance(doc, dict) else None
            return [i for i in items or [] if isinstance(i, dict) and isinstance(i.get("key"), str)]
        except (OSError, ValueError):
            return []

    def _write_history(self, items: list[dict[str, Any]]) -> None:
        try:
            self.history_path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.history_path, json.dumps({"files": items[-HISTORY_MAX:]}))
        except OSError:
            pass  # a read-only cache: the page still works, without history

    def _remember(self, job: Job) -> None:
        with self._lock:
            items = [i for i in self._read_history() if i["key"] != job.key]
            items.append(
                {
                    "key": job.key,
                    "name": job.name,
                    "size_bytes": job.size_bytes,
                    "settings": settings_kwargs(job.settings),
                    "time": time.time(),
                }
            )
            self._write_history(items)

    def _load_history(self) -> None:
        for item in self._read_history():
            try:
                s = Settings(**item["settings"])
            except Exception:
                continue
            hit = self.cache.get(item["key"], str(item.get("name", "")), settings=s)
            if hit is None:
                continue
            job = Job(secrets.token_hex(8), str(item.get("name", "")), s, None, 0)
            job.size_bytes = int(item.get("size_bytes") or 0)
            job.key, job.earlier, job.cached = item["key"], True, True
            job.created = float(item.get("time") or 0)
            hit.report.path = job.name
            job.report = hit.report.to_dict()
            job.html = html_render.render([hit.report])
            job.state = "done"
            self.jobs[job.id] = job

    def clear(self) -> int:
        """Forget every finished file: uploads, repaired copies, cached reports, history."""
        gone = [j for j in self.jobs.values() if j.state in ("done", "error")]
        if any(j.fix_state == "running" for j in gone):
            gone = [j for j in gone if j.fix_state != "running"]
        keys = {j.key for j in gone if j.key} | {i["key"] for i in self._read_history()}
        for j in gone:
            del self.jobs[j.id]
            if j.path is not None:
                shutil.rmtree(j.path.parent, ignore_errors=True)
        for key in keys:
            try:
                self.cache._path(key).unlink(missing_ok=True)  # noqa: SLF001
            except (OSError, AttributeError):
                pass
        with self._lock:
            remaining = [i for i in self._read_history() if i["key"] not in keys]
            if remaining:
                self._write_history(remaining)
            else:
                self.history_path.unlink(missing_ok=True)
        self.seq += 1
        self.events.append({"seq": self.seq, "type": "cleared", "ids": [j.id for j in gone]})
        if self.changed is not None:
            asyncio.ensure_future(self._notify())
        return len(gone)


def prepared_name(name: str, suffix: str = ".mp4") -> str:
    """The name a prepared file is offered under: the user's name with `-prepared` and the
    prepared file's own extension (an MP4 for a clip, JPEG or PNG for a photo)."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{stem or 'clip'}-prepared{suffix}"
