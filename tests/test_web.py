"""`validator serve` without a browser: the safety points (Host, origin, token, upload size,
temporary files), history across restarts, and the command without the web extra."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import sys

import pytest
from clipgen import RELAX_MED_ARGS, make_clip
from webserver import Served, web_missing

from validator import cli

needs_web = pytest.mark.skipif(web_missing() is not None, reason=web_missing() or "")


def test_serve_without_the_web_extra_says_what_to_install(monkeypatch, capsys):
    # An ImportError for starlette, as in an install without the extra.
    monkeypatch.setitem(sys.modules, "starlette", None)
    assert cli.main(["serve", "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "replica-clip-validator[web]"' in err
    assert err.count("\n") == 1


@needs_web
def test_loopback_and_allowed_hosts():
    from validator.web import allowed_hosts, is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert allowed_hosts("127.0.0.1", 8765) == {"127.0.0.1:8765", "localhost:8765"}
    assert allowed_hosts("192.168.1.4", 80) == {"192.168.1.4:80"}
    assert allowed_hosts("::1", 9) == {"[::1]:9", "localhost:9"}


@needs_web
def test_bad_arguments_are_usage_errors(capsys):
    assert cli.main(["serve", "--no-browser", "--port", "70000"]) == 2
    assert cli.main(["serve", "--no-browser", "--max-upload-mb", "0"]) == 2
    assert "--max-upload-mb" in capsys.readouterr().err


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    if web_missing():
        pytest.skip(web_missing())
    with Served(
        tmp_path_factory.mktemp("serve"), *RELAX_MED_ARGS, "--max-upload-mb", "1", "--workers", "1"
    ) as s:
        yield s


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("webclips") / "small.mov", duration_s=1)


def test_page_is_served_with_its_assets_and_a_strict_policy(srv):
    status, headers, body = srv.request("GET", "/?t=" + srv.token, token=False)
    assert status == 200
    page = body.decode()
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    # Nothing the page refers to is outside this server.
    assert "http://" not in page.replace(srv.base, "") and "https://" not in page
    assert '<input type="file" id="file-input" multiple' in page
    for asset in ("/static/app.js", "/static/app.css", "/favicon.ico"):
        status, _, body = srv.request("GET", asset, token=False)
        assert status == 200, asset
        body = body.replace(b'xmlns="http://www.w3.org/2000/svg"', b"")  # a name, not a fetch
        assert b"https://" not in body and b"http://" not in body, asset


def test_foreign_host_is_refused(srv):
    # DNS rebinding: evil.example resolves to 127.0.0.1, the browser sends its own Host.
    for host in ("evil.example", f"evil.example:{srv.netloc.split(':')[1]}", "127.0.0.1"):
        status, _, body = srv.request("GET", "/", headers={"Host": host})
        assert status == 421, host
        assert b"answers only to" in body
    status, _, _ = srv.request("GET", "/?t=" + srv.token, headers={"Host": srv.netloc})
    assert status == 200
    # The right host without this run's token: the page is not handed out.
    status, _, body = srv.request("GET", "/", headers={"Host": srv.netloc}, token=False)
    assert status == 403 and b"validator serve" in body


def test_cross_origin_post_is_refused(srv, small_clip):
    data = small_clip.read_bytes()
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": srv.base.replace("127.0.0.1", "localhost") + "1"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        status, _, body = srv.request("POST", "/api/files", data, headers)
        assert status == 403, headers
        assert b"cross-origin" in body
    status, _, body = srv.request("POST", "/api/clear", b"", {"Origin": "http://evil.example"})
    assert status == 403
    # Same origin but without the per-run token (a form post cannot set the header).
    status, _, body = srv.request("POST", "/api/files", data, {"Origin": srv.base}, token=False)
    assert status == 403 and b"X-Validator-Token" in body
    status, _, _ = srv.request(
        "POST", "/api/files", data, {"X-Validator-Token": "guess"}, token=False
    )
    assert status == 403
    # Reading the user's reports needs the token too.
    status, _, _ = srv.request("GET", "/api/jobs", token=False)
    assert status == 403
    assert not any(srv.tmp.glob("validator-serve-*/*/upload*"))


def test_oversized_upload_is_refused_with_a_message(srv):
    # Announced size over the limit: refused before a byte of the body is read.
    conn = socket.create_connection(srv.netloc.split(":"))
    try:
        conn.sendall(
            (
                f"POST /api/files HTTP/1.1\r\nHost: {srv.netloc}\r\n"
                f"X-Validator-Token: {srv.token}\r\nX-File-Name: big.mp4\r\n"
                "Content-Length: 5000000000\r\n\r\n"
            ).encode()
        )
        reply = http.client.HTTPResponse(conn)
        reply.begin()
        status, body = reply.status, reply.read()
    finally:
        conn.close()
    assert status == 413
    msg = json.loads(body)["error"]
    assert msg.startswith("big.mp4: larger than this page accepts (1 MB)")
    assert "750 MB" in msg
    # No announced size (chunked): counted as it arrives and cut off at the limit.
    conn2 = http.client.HTTPConnection(srv.netloc, timeout=30)
    chunks = (b"\0" * 65536 for _ in range(24))  # 1.5 MB
    conn2.request(
        "POST",
        "/api/files",
        body=chunks,
        headers={"X-Validator-Token": srv.token, "X-File-Name": "stream.mp4"},
        encode_chunked=True,
    )
    r = conn2.getresponse()
    assert r.status == 413
    assert json.loads(r.read())["error"].startswith("stream.mp4: larger than")
    conn2.close()
    assert not any(srv.tmp.glob("validator-serve-*/*/upload*"))  # partial uploads deleted


def test_bad_page_settings_are_refused(srv, small_clip):
    status, doc = srv.upload(small_clip.read_bytes(), "x.mov", profile="phoenix-9")
    assert status == 400 and "phoenix-9" in doc["error"]
    status, doc = srv.upload(b"", "empty.mp4")
    assert status == 400 and "empty" in doc["error"]


def test_upload_is_checked_and_fixed_without_touching_the_upload(srv, small_clip):
    data = small_clip.read_bytes()
    status, job = srv.upload(data, "../../etc/passwd <x>.mov")
    assert status == 201
    assert job["name"] == ".._.._etc_passwd <x>.mov"  # shown, never used as a path
    done = srv.wait_done(job["id"])
    assert done["state"] == "done" and not done["report"]["passed"]
    assert done["report"]["input"]["path"] == job["name"]
    failing = {r["rule"] for r in done["report"]["results"] if r["status"] == "fail"}
    assert failing == {"MED002"} and done["fixable"] == ["MED002"]
    uploads = list(srv.tmp.glob("validator-serve-*/*/upload.mov"))
    assert len(uploads) == 1 and uploads[0].read_bytes() == data
    status, _, body = srv.request("POST", f"/api/jobs/{job['id']}/fix", b"")
    assert status == 202, body
    fixed = srv.wait_done(job["id"], fix=True)
    assert fixed["fix_state"] == "done", fixed["fix_error"]
    assert fixed["fix"]["after"]["passed"]
    assert {c["rule"]: (c["before"], c["after"]) for c in fixed["fix"]["changes"]} == {
        "MED002": ("fail (error)", "pass")
    }
    assert uploads[0].read_bytes() == data  # the original is never touched
    status, headers, body = srv.request("GET", f"/api/jobs/{job['id']}/prepared.mp4")
    assert status == 200 and body[4:8] == b"ftyp"
    assert headers["content-disposition"].startswith('attachment; filename="')
    assert (
        "passwd" in headers["content-disposition"]
        and "/" not in headers["content-disposition"].split("filename*=")[0]
    )
    # The report page is the HTML renderer's, sandboxed, and needs the token.
    status, headers, body = srv.request("GET", f"/api/jobs/{job['id']}/report.html")
    assert status == 200 and b"Training-clip report" in body
    assert b"passwd &lt;x&gt;.mov" in body
    assert "sandbox" in headers["content-security-policy"]
    status, _, _ = srv.request("GET", f"/api/jobs/{job['id']}/report.html", token=False)
    assert status == 403


@pytest.fixture(scope="module")
def photo_srv(tmp_path_factory):
    """A server with the default rule selection (`srv`'s is the MED rules, for clips)."""
    if web_missing():
        pytest.skip(web_missing())
    with Served(tmp_path_factory.mktemp("serve-photo"), "--workers", "1") as s:
        yield s


@pytest.mark.realmedia
def test_photo_is_planned_and_fixed_as_a_photo(photo_srv, shared_media, tmp_path):
    """A photo's card names the photo rules preparing can and cannot repair (not a clip's
    MED001), and its repair is a JPEG, offered as one."""
    import photogen as pg

    portrait = pg.portrait(shared_media)
    small = pg.save(pg.small_in_frame(portrait, 0.5), tmp_path / "small.jpg", quality=90)
    status, job = photo_srv.upload(small.read_bytes(), "portrait.jpg")
    assert status == 201, job
    done = photo_srv.wait_done(job["id"])
    assert done["state"] == "done", done["error"]
    failing = {r["rule"] for r in done["report"]["results"] if r["status"] == "fail"}
    assert "PHO007" in failing and done["fixable"] == ["PHO007"], (failing, done["plan"])
    assert done["plan"]["kind"] == "photo" and done["prepared_ext"] == "jpg"
    status, _, body = photo_srv.request("POST", f"/api/jobs/{job['id']}/fix", b"")
    assert status == 202, body
    fixed = photo_srv.wait_done(job["id"], fix=True)
    assert fixed["fix_state"] == "done", fixed["fix_error"]
    after = {r["rule"]: r["status"] for r in fixed["fix"]["after"]["results"]}
    assert after["PHO007"] == "pass" and fixed["fix"]["written"]
    assert {c["rule"]: c["after"] for c in fixed["fix"]["changes"]}["PHO007"] == "pass"
    assert fixed["fix"]["after"]["input"]["path"] == "portrait-prepared.jpg"
    status, headers, body = photo_srv.request("GET", f"/api/jobs/{job['id']}/prepared.jpg")
    assert status == 200 and body[:3] == b"\xff\xd8\xff"  # a JPEG
    assert headers["content-type"] == "image/jpeg"
    assert 'filename="portrait-prepared.jpg"' in headers["content-disposition"]
    status, _, _ = photo_srv.request("GET", f"/api/jobs/{job['id']}/prepared.mp4")
    assert status == 404  # not what this repair wrote

    # A photo nothing can repair: its own rules are listed, nothing is offered.
    blurred = pg.save(pg.blur(portrait, 8), tmp_path / "blur.png")
    status, job = photo_srv.upload(blurred.read_bytes(), "blurred.png")
    assert status == 201, job
    done = photo_srv.wait_done(job["id"])
    assert done["fixable"] == [] and done["prepared_ext"] == "png"
    unfixable = {u["rule"] for u in done["plan"]["unfixable"]}
    assert "PHO009" in unfixable and "MED001" not in unfixable, done["plan"]


def test_history_survives_a_restart_and_clear_forgets_it(tmp_path, small_clip):
    if web_missing():
        pytest.skip(web_missing())
    cache = tmp_path / "cache"
    with Served(tmp_path / "a", *RELAX_MED_ARGS, "--workers", "1", cache=cache) as s:
        (tmp_path / "a").mkdir(exist_ok=True)
        status, job = s.upload(small_clip.read_bytes(), "take 1.mov")
        assert status == 201
        first = s.wait_done(job["id"])
        assert first["state"] == "done" and not first["cached"]
        # The same bytes again: the cached report, at once.
        status, again = s.upload(small_clip.read_bytes(), "take 1 copy.mov")
        assert again["state"] == "done" and again["cached"]
        assert again["report"]["passed"] == first["report"]["passed"]
    (tmp_path / "b").mkdir()
    with Served(tmp_path / "b", *RELAX_MED_ARGS, cache=cache) as s:
        earlier = s.jobs()
        # One entry per content and settings: the copy's report is the same report.
        assert [j["name"] for j in earlier] == ["take 1 copy.mov"]
        assert all(j["earlier"] and j["state"] == "done" and j["fixable"] == [] for j in earlier)
        rid = earlier[0]["id"]
        status, _, body = s.request("GET", f"/api/jobs/{rid}/report.html")
        assert status == 200 and b"Training-clip report" in body
        status, _, body = s.request("POST", "/api/clear", b"")
        assert status == 200 and json.loads(body)["cleared"] == 1
        assert s.jobs() == []
    (tmp_path / "c").mkdir()
    with Served(tmp_path / "c", *RELAX_MED_ARGS, cache=cache) as s:
        assert s.jobs() == []
    assert not list(cache.rglob("*.json"))  # the cached reports (with thumbnails) are gone too


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_temporary_uploads_are_gone_after_shutdown(tmp_path, small_clip, sig):
    if web_missing():
        pytest.skip(web_missing())
    with Served(tmp_path, "--select", "MED001", "--workers", "1") as s:
        status, job = s.upload(small_clip.read_bytes(), "a.mov")
        assert status == 201
        s.wait_done(job["id"])
        work = list(s.tmp.glob("validator-serve-*"))
        assert len(work) == 1 and any(work[0].rglob("upload.mov"))
        assert oct(work[0].stat().st_mode & 0o777) == "0o700"
        # A second upload still in flight when the server stops.
        s.upload(small_clip.read_bytes() + b"\0", "b.mov")
        code = s.stop(sig)
    assert code == 0, s.stderr
    assert list(s.tmp.iterdir()) == []
    assert "temporary uploads removed" in s.stderr
    assert "Traceback" not in s.stderr


def _children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (Linux /proc)."""
    from pathlib import Path

    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    from pathlib import Path

    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_check_in_progress_does_not_hold_the_stop(tmp_path):
    """Stopping ends the workers at once (a check in progress is abandoned, not waited for)
    and no worker outlives the server.  The check here takes ~20 s alone (7.8 CPU-s measured):
    a server that waited for it would take far longer than the 10 s allowed."""
    if web_missing():
        pytest.skip(web_missing())
    import time

    clip = make_clip(tmp_path / "long.mov", duration_s=30)
    with Served(tmp_path / "home", "--workers", "1") as s:
        status, job = s.upload(clip.read_bytes(), "long.mov")
        assert status == 201
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = next(j for j in s.jobs() if j["id"] == job["id"])["state"]
            if state != "queued":
                break
            time.sleep(0.1)
        assert state == "running"
        assert s.proc is not None
        workers = _children(s.proc.pid)
        assert len(workers) >= 2  # the check worker and the live-readout worker
        t0 = time.monotonic()
        code = s.stop(signal.SIGTERM)
        took = time.monotonic() - t0
    assert code == 0, s.stderr
    assert took < 10, f"the stop took {took:.1f} s"
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in workers if _alive(p)]


def test_live_readout_endpoints_refuse_bad_input(srv):
    status, _, body = srv.request("POST", "/api/live/frame?session=s1&phase=idle", b"not a jpeg")
    assert status == 400 and b"not a JPEG" in body
    status, _, _ = srv.request("POST", "/api/live/frame?session=s1&phase=dance", b"x")
    assert status == 400
    status, _, _ = srv.request("POST", "/api/live/frame?session=../x&phase=idle", b"x")
    assert status == 400
    status, _, _ = srv.request("POST", "/api/live/frame?session=s1", b"x" * 2_000_001)
    assert status == 413
    status, _, _ = srv.request(
        "POST", "/api/live/audio?session=s1", b"\0" * 100, {"Origin": "http://evil.example"}
    )
    assert status == 403
    # Half a second of silence: too little to judge the room yet, and says nothing wrong.
    status, _, body = srv.request("POST", "/api/live/audio?session=s1", b"\0" * 16000)
    assert status == 200 and json.loads(body)["readouts"] == []


def test_live_readout_times_are_the_frames_own():
    """The live readouts' messages give the times the page took the frames at (from the
    take's start during a take), not a nominal frame count: the page sends fewer frames than
    `LIVE_FPS` when the machine is slow."""
    import cv2
    import numpy as np

    from validator.batch import _settings_kwargs
    from validator.settings import Settings
    from validator.web import live

    kw = _settings_kwargs(Settings())
    ok, jpeg = cv2.imencode(".jpg", np.full((240, 320, 3), 128, np.uint8))  # nobody there
    assert ok

    def lost(t: float) -> str:
        res = live.frame("times", jpeg.tobytes(), "listen", kw, t)
        return next(r["message"] for r in res["readouts"] if r["rule"] == "FAC001")

    try:
        for t in (40.0, 40.5, 41.0):  # 2 frames a second, before the take
            msg = lost(t)
        # Each sample stands for the half second until the next (not a nominal 1/3 s).
        assert "longest run 1.5 s" in msg and "at 40.0-41.5 s" in msg, msg
        for t in (0.1, 0.6, 1.1):  # the take began: its own clock
            msg = lost(t)
        assert "at 0.1-1.6 s" in msg, msg
    finally:
        live.end("times")
