"""The Dask executor (`--scheduler`): a LocalCluster of 2 worker processes on 127.0.0.1 gives
the same reports as a local run, survives a worker killed mid-clip, and reports a clip whose
worker dies twice as a tool error (exit 3) while the other clips finish."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from clipgen import RELAX_MED_ARGS, make_clip

from validator import batch
from validator.dask_executor import LOCAL_CONFIG, parse_scheduler
from validator.errors import UsageError
from validator.settings import Settings

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

ROOT = Path(__file__).resolve().parents[1]
RELAXED = {
    "MED007": {"min_short_side_px": 16, "error_short_side_px": 16},
    "MED008": {"tolerance_s": 59},
}
MED = Settings(select=("MED",), params=RELAXED)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[str]:
    """A passing clip (when relaxed), a failing one (too short for MED008's default window is
    relaxed; this one fails MED007's size), and a file that is not a video (MED001)."""
    d = tmp_path_factory.mktemp("dask")
    make_clip(d / "good.mp4", duration_s=3.0)
    make_clip(d / "small.mp4", duration_s=3.0, size=(16, 12))
    (d / "broken.mp4").write_bytes(b"not a video at all" * 50)
    make_clip(d / "later.mp4", duration_s=3.0, size=(160, 120))
    return [str(d / n) for n in ("good.mp4", "small.mp4", "broken.mp4", "later.mp4")]


def _plain(outcomes) -> list[dict]:
    """Each outcome as comparable data: the report without its timings, or the error."""
    out = []
    for o in outcomes:
        if o.report is None:
            out.append({"error": o.error, "exit_code": o.exit_code})
            continue
        d = o.report.to_dict()
        d.pop("timings_s", None)
        out.append({"report": d, "exit_code": o.exit_code})
    return out


@pytest.fixture(scope="module")
def local_run(clips) -> list[dict]:
    return _plain(batch.run_batch(clips, MED, jobs=1))


@pytest.fixture
def cluster():
    """An in-process scheduler with 2 nanny-supervised worker processes, 127.0.0.1 only."""
    with dask.config.set(LOCAL_CONFIG):
        c = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=50,
        )
    client = distributed.Client(c)
    try:
        yield c, client
    finally:
        client.close()
        c.close()


def test_scheduler_addresses_are_checked():
    assert parse_scheduler("local:2") == ("local", 2)
    assert parse_scheduler("tcp://10.0.0.5:8786") == ("remote", "tcp://10.0.0.5:8786")
    for bad in ("local:0", "local:x", "10.0.0.5:8786", "http://h:8786", "tcp://h:8786/x"):
        with pytest.raises(UsageError):
            parse_scheduler(bad)


def test_local_cluster_gives_the_local_reports_in_input_order(clips, local_run):
    outcomes = batch.run_batch(clips, MED, scheduler="local:2")
    assert [o.path for o in outcomes] == clips
    assert _plain(outcomes) == local_run
    assert [o.exit_code for o in outcomes] == [0, 1, 1, 0]
    assert batch.worst_exit_code(outcomes) == 1


def test_cli_json_identical_to_a_local_run_and_exit_codes(clips, tmp_path):
    def check(*extra: str) -> tuple[int, dict]:
        r = subprocess.run(
            [sys.executable, "-m", "validator", "check", *clips, "--format", "json"]
            + ["--no-cache", *RELAX_MED_ARGS, *extra],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
        )
        doc = json.loads(r.stdout)
        for rep in doc["reports"]:
            rep.pop("timings_s", None)
        return r.returncode, doc

    code_local, doc_local = check("--jobs", "1")
    code_dask, doc_dask = check("--scheduler", "local:2")
    assert code_local == code_dask == 1
    assert doc_dask == doc_local
    # only the two passing clips: exit 0 on the cluster too
    r = subprocess.run(
        [sys.executable, "-m", "validator", "check", clips[0], clips[3], "--no-cache"]
        + [*RELAX_MED_ARGS, "--scheduler", "local:2", "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    # a bad address is a usage error before any work starts
    r = subprocess.run(
        [sys.executable, "-m", "validator", "check", clips[0], "--scheduler", "nowhere"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "tcp://HOST:PORT or local:N" in r.stderr


def _kill_worker_running(client, clip_index: int, kills: int, stop: threading.Event) -> list:
    """SIGKILL the worker process holding clip `clip_index`'s task, `kills` times (each time
    the clip is picked up again after a retry).  Returns the killed worker addresses."""
    marker = f"-{clip_index:06d}-"
    killed: list[str] = []
    while len(killed) < kills and not stop.is_set():
        for addr, keys in client.processing().items():
            if addr in killed:
                continue
            if any(marker in str(k) for k in keys):
                pid = client.run(os.getpid, workers=[addr])[addr]
                os.kill(pid, signal.SIGKILL)
                killed.append(addr)
                break
        time.sleep(0.01)
    return killed


def _run_with_kills(cluster, clips, kills: int):
    c, client = cluster
    client.wait_for_workers(2, timeout=60)
    stop = threading.Event()
    result: dict = {}

    def work() -> None:
        try:
            result["outcomes"] = batch.run_batch(clips, MED, scheduler=c.scheduler_address)
        finally:
            stop.set()

    t = threading.Thread(target=work)
    t.start()
    killed = _kill_worker_running(client, 0, kills, stop)
    t.join(timeout=300)
    assert not t.is_alive()
    return killed, result["outcomes"]


def test_a_killed_worker_costs_a_retry_not_the_run(cluster, clips, local_run):
    killed, outcomes = _run_with_kills(cluster, clips, kills=1)
    assert len(killed) == 1
    assert _plain(outcomes) == local_run


def test_a_clip_whose_worker_dies_twice_is_a_tool_error(cluster, clips, local_run):
    killed, outcomes = _run_with_kills(cluster, clips, kills=2)
    assert len(killed) == 2
    assert outcomes[0].report is None and outcomes[0].exit_code == 3
    assert "died" in outcomes[0].error and outcomes[0].error.startswith(clips[0])
    assert _plain(outcomes)[1:] == local_run[1:]
    assert batch.worst_exit_code(outcomes) == 3
