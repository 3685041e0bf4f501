"""`validator check DIR --scheduler tcp://HOST:8786` (or `local:N`): clips on a Dask cluster.

Optional: `pip install "replica-clip-validator[dask]"` (the `distributed` package).  Nothing here
is imported unless `--scheduler` is given.

What runs where:

- The client (the `validator check` process) expands the inputs, looks every clip up in the
  report cache, and for each miss submits one task: `batch._worker(path, settings, ...)`, the
  same per-clip function `--jobs` runs in its worker processes.  It collects the results as
  they finish, writes them to the cache, and renders the reports in input order.
- A worker process runs that task: it opens the clip *by its absolute path* and decodes and
  analyses it there (models load once per worker process and stay loaded).  Only the report
  (plain data, a few kB) travels back; the clip itself never goes over the network, so every
  worker must see the clips at the same absolute path as the client (a shared file system:
  NFS, SMB, a bind mount at the same place).  A worker that cannot see a clip says so, naming
  the worker, and that clip is a tool error (exit 3).
- A worker that dies mid-clip (the out-of-memory killer, a crash inside FFmpeg) is restarted by
  its nanny, and the scheduler gives the clip to another worker.  For `local:N` the scheduler
  allows a clip one such retry: a clip whose worker dies twice is reported as a tool error
  (exit 3) and the other clips still finish.  A remote scheduler applies its own
  `distributed.scheduler.allowed-failures` (Dask's default is 3 retries; set it to 1 for the
  same behaviour).
- `local:N` starts a LocalCluster of N single-threaded worker processes bound to 127.0.0.1 (no
  dashboard, nothing listening beyond this machine) and stops it afterwards.

Exit codes and report order are those of a local run: the cluster changes where the per-clip
function runs, nothing else.
"""

from __future__ import annotations

import os
import re
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import EXIT_TOOL, UsageError

_TCP = re.compile(r"^(tcp|tls)://[^\s/:]+(:\d{1,5})?$")
_LOCAL = re.compile(r"^local:(\d{1,3})$")
# For local:N: a clip gets one retry after its worker dies; one long task per worker thread.
LOCAL_CONFIG = {
    "distributed.scheduler.allowed-failures": 1,
    "distributed.scheduler.worker-saturation": 1.0,
}


def parse_scheduler(spec: str) -> tuple[str, Any]:
    """("local", N) or ("remote", address); UsageError for anything else."""
    m = _LOCAL.match(spec)
    if m:
        n = int(m.group(1))
        if n < 1:
            raise UsageError(f"--scheduler {spec}: local needs at least one worker")
        return "local", n
    if _TCP.match(spec):
        return "remote", spec
    raise UsageError(f"--scheduler {spec}: expected tcp://HOST:PORT or local:N")


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError(
            "--scheduler needs the dask extra: pip install 'replica-clip-validator[dask]'"
        ) from None
    return distributed


def _clip_task(
    work: Callable[..., dict[str, Any]],
    path: str,
    settings_kwargs: dict[str, Any],
    timeline: bool,
    extra: tuple[str, ...],
) -> dict[str, Any]:
    """Runs on a worker: the local per-clip function `work` (`batch._worker`, passed in so that
    this module does not import batch), after checking the worker sees the file."""
    if not os.path.exists(path):
        return {
            "error": f"{path}: not visible on worker {socket.gethostname()}: every worker must "
            "see the clips at the same absolute path as the client (a shared file system)",
            "exit_code": EXIT_TOOL,
            "seconds": 0.0,
        }
    return work(path, settings_kwargs, timeline, extra)


@dataclass(frozen=True)
class ClusterJob:
    """One batch's clips, as the cluster runs them: `work(path, settings_kwargs, timeline,
    extra)` for each (`batch._worker`), and `finish(i, result)` with what it returned."""

    work: Callable[..., dict[str, Any]]
    spaths: list[str]
    settings_kwargs: dict[str, Any]
    timeline: bool
    extra: tuple[str, ...]
    finish: Callable[[int, dict[str, Any]], None]


def run_on_cluster(spec: str, todo: list[int], job: ClusterJob) -> None:
    """Run every clip of `todo` (indices into `job.spaths`) on the cluster `spec`;
    `job.finish(i, result)` for each, where result is what `batch._worker` returns (a report,
    or an error and an exit code)."""
    kind, arg = parse_scheduler(spec)
    distributed = _import_distributed()
    import dask

    cluster = None
    try:
        if kind == "local":
            with dask.config.set(LOCAL_CONFIG):
                cluster = distributed.LocalCluster(
                    n_workers=arg,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=50,  # CRITICAL only: our stderr is the user's
                )
            client = distributed.Client(cluster)
        else:
            try:
                client = distributed.Client(arg, timeout=30)
            except (OSError, TimeoutError) as e:
                raise UsageError(f"--scheduler {arg}: cannot reach the scheduler: {e}") from None
        _run(client, distributed, todo, job)
    finally:
        if cluster is not None:
            try:
                client.close()
            except Exception:
                pass
            cluster.close()
        elif kind == "remote" and "client" in locals():
            client.close()


def _run(client: Any, distributed: Any, todo: list[int], job: ClusterJob) -> None:
    run = uuid.uuid4().hex[:12]
    futures = {}
    for i in todo:
        absolute = os.path.abspath(job.spaths[i])
        fut = client.submit(
            _clip_task,
            job.work,
            absolute,
            job.settings_kwargs,
            job.timeline,
            job.extra,
            key=f"validator-clip-{i:06d}-{run}",
            pure=False,
        )
        futures[fut] = (i, absolute)
    t0 = {fut: time.perf_counter() for fut in futures}
    try:
        for fut in distributed.as_completed(list(futures)):
            i, absolute = futures[fut]
            try:
                res = fut.result()
            except distributed.KilledWorker:
                res = {
                    "error": f"{absolute}: the worker processing this clip died, and again on "
                    "the retry: the file is probably damaged in a way the decoder cannot "
                    "survive (or the workers run out of memory)",
                    "exit_code": EXIT_TOOL,
                    "seconds": time.perf_counter() - t0[fut],
                }
            except Exception as e:  # the task itself failed (unpicklable result, lost worker)
                res = {
                    "error": f"{absolute}: cluster task failed: {type(e).__name__}: {e}",
                    "exit_code": EXIT_TOOL,
                    "seconds": time.perf_counter() - t0[fut],
                }
            if res.get("error") and absolute != job.spaths[i]:
                res["error"] = res["error"].replace(absolute, job.spaths[i], 1)
            job.finish(i, res)
            fut.release()
    except BaseException:
        client.cancel(list(futures))
        raise
