"""`validator serve` as the tests run it: a real server process on 127.0.0.1 and a free port.

    with Served(tmp_path, "--select", "MED") as srv:
        srv.url, srv.base, srv.token
        srv.post("/api/files", data, headers={...})
    # on exit: SIGINT, as Ctrl-C would, and the exit code and stderr are kept

The server gets its own TMPDIR (so a test can see its temporary uploads vanish) and its own
XDG_CACHE_HOME (report cache and history).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


def web_missing() -> str | None:
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        return 'the web extra is not installed (pip install -e ".[web]")'
    return None


class Served:
    def __init__(self, home: Path, *args: str, cache: Path | None = None):
        self.home = Path(home)
        self.tmp = self.home / "tmp"
        self.cache = Path(cache) if cache is not None else self.home / "cache"
        self.args = list(args)
        self.proc: subprocess.Popen | None = None
        self.stderr = ""
        self.returncode: int | None = None

    def __enter__(self) -> Served:
        self.tmp.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, TMPDIR=str(self.tmp), XDG_CACHE_HOME=str(self.cache))
        env.pop("VALIDATOR_DEBUG", None)
        self._err = open(self.home / "serve.stderr", "w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "validator", "serve", "--port", "0", "--no-browser", *self.args],
            cwd=self.home,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self._err,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = (self.home / "serve.stderr").read_text()
            m = re.search(r"serving on (http://\S+)", text)
            if m:
                self.url = m.group(1)
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"validator serve exited {self.proc.returncode}: {text}")
            time.sleep(0.05)
        else:
            self.proc.kill()
            raise RuntimeError("validator serve did not start within 60 s")
        parts = urlsplit(self.url)
        self.netloc = parts.netloc
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.token = parts.query.split("t=", 1)[1]
        return self

    def stop(self, sig: int = signal.SIGINT) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.returncode = self.proc.returncode
        self._err.seek(0)
        self.stderr = self._err.read()
        self._err.close()
        return self.returncode

    def __exit__(self, *exc: Any) -> None:
        if self.returncode is None:
            self.stop()

    # --- plain HTTP, for the tests that are not about the page ---------------------------

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: bool = True,
    ) -> tuple[int, dict[str, str], bytes]:
        hs = {"Host": self.netloc}
        if token:
            hs["X-Validator-Token"] = self.token
        hs.update(headers or {})
        conn = http.client.HTTPConnection(self.netloc, timeout=30)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            if body is not None and "Content-Length" not in hs:
                hs["Content-Length"] = str(len(body))
            for k, v in hs.items():
                conn.putheader(k, v)
            conn.endheaders()
            if body is not None:
                conn.send(body)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def upload(self, data: bytes, name: str, **query: str) -> tuple[int, dict[str, Any]]:
        from urllib.parse import quote, urlencode

        q = ("?" + urlencode(query)) if query else ""
        status, _, body = self.request("POST", "/api/files" + q, data, {"X-File-Name": quote(name)})
        return status, json.loads(body)

    def jobs(self) -> list[dict[str, Any]]:
        status, _, body = self.request("GET", "/api/jobs")
        assert status == 200, body
        return json.loads(body)["jobs"]

    def wait_done(self, job_id: str, timeout: float = 120, fix: bool = False) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = next((j for j in self.jobs() if j["id"] == job_id), None)
            if job is not None:
                if fix and job["fix_state"] in ("done", "error"):
                    return job
                if not fix and job["state"] in ("done", "error"):
                    return job
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s")
