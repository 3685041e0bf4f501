// Record mode: camera and microphone in this browser, live readouts from the local checker,
// a guided take (speak, then listen with lips closed), then the take is checked and prepared
// like any dropped file.  Frames and sound go only to this page's own server.
"use strict";

(function () {
  const P = window.Portal;
  if (!P) return;
  const config = P.config;
  const $ = (s) => document.querySelector(s);
  const SCRIPT = [
    "Hi! I'm recording a short clip so my digital twin learns how I look and sound.",
    "I'm speaking at my normal pace, looking into the camera, and letting my teeth show when I talk.",
    "Today I'll tell you a little about my work, what I enjoy about it, and what I'd like to do next.",
    "When this part ends I'll stop talking, close my lips gently, and simply listen for a while.",
  ];
  const live = {
    session: "s" + Math.random().toString(36).slice(2, 12),
    stream: null,
    phase: "idle",
    running: false,
    frameBusy: false,
    audioBusy: false,
    audioCtx: null,
    pcm: [],
    pcmLen: 0,
    recorder: null,
    take: null, // the take in progress: { cancelled }
  };
  // Figures the tests (and curious users) can read: round trips and the server's own cost.
  const stats = (window.__liveStats = { frames: 0, rtt_ms: [], server_ms: [], cpu_ms: [], audio: 0, audio_rtt_ms: [], busy: 0, started: 0 });

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // --- modes ----------------------------------------------------------------------------
  const btnCheck = $("#mode-check"), btnRecord = $("#mode-record");
  function mode(rec) {
    $("#record").hidden = !rec;
    $("#drop").hidden = rec;
    btnCheck.classList.toggle("active", !rec);
    btnRecord.classList.toggle("active", rec);
    btnCheck.setAttribute("aria-pressed", String(!rec));
    btnRecord.setAttribute("aria-pressed", String(rec));
    if (!rec) stopCamera();
  }
  btnCheck.addEventListener("click", () => mode(false));
  btnRecord.addEventListener("click", () => mode(true));

  // --- devices --------------------------------------------------------------------------
  const camSel = $("#camera"), micSel = $("#microphone");
  async function fillDevices() {
    const devs = await navigator.mediaDevices.enumerateDevices();
    for (const [sel, kind] of [[camSel, "videoinput"], [micSel, "audioinput"]]) {
      const keep = sel.value;
      sel.replaceChildren();
      devs.filter((d) => d.kind === kind).forEach((d, i) => {
        const o = el("option", null, d.label || `${kind === "videoinput" ? "camera" : "microphone"} ${i + 1}`);
        o.value = d.deviceId;
        sel.appendChild(o);
      });
      if (keep) sel.value = keep;
    }
  }
  async function startCamera() {
    stopCamera();
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      $("#prompt").textContent = "This browser gives the page no camera access.";
      return;
    }
    const video = { width: { ideal: 1920 }, height: { ideal: 1080 }, frameRate: { ideal: 30 } };
    if (camSel.value) video.deviceId = { exact: camSel.value };
    // The platform wants the raw voice: no noise suppression, no automatic gain.
    const audio = { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 };
    if (micSel.value) audio.deviceId = { exact: micSel.value };
    try {
      live.stream = await navigator.mediaDevices.getUserMedia({ video, audio });
    } catch (e) {
      $("#prompt").textContent = "No camera or microphone: " + e.message;
      return;
    }
    const v = $("#preview");
    v.srcObject = live.stream;
    await v.play().catch(() => {});
    await fillDevices();
    live.running = true;
    stats.started = performance.now();
    $("#start-take").disabled = false;
    $("#start-camera").textContent = "Restart camera";
    $("#prompt").textContent = "Check the live readouts on the right, then start the take.";
    startAudio();
    frameLoop();
  }
  function stopCamera() {
    live.running = false;
    // A take cut short (camera stopped or changed, other mode) is dropped, not checked.
    if (live.take) live.take.cancelled = true;
    if (live.recorder && live.recorder.state !== "inactive") live.recorder.stop();
    if (live.stream) live.stream.getTracks().forEach((t) => t.stop());
    live.stream = null;
    if (live.audioCtx) live.audioCtx.close().catch(() => {});
    live.audioCtx = null;
    $("#start-take").disabled = true;
    fetch(`/api/live/end?session=${live.session}`, { method: "POST", headers: { "X-Validator-Token": config.token } }).catch(() => {});
  }
  $("#start-camera").addEventListener("click", startCamera);
  camSel.addEventListener("change", () => { if (live.running) startCamera(); });
  micSel.addEventListener("change", () => { if (live.running) startCamera(); });

  function liveUrl(kind, extra) {
    const q = new URLSearchParams({ session: live.session, phase: live.phase, profile: P.profile(), fail_on: P.failOn(), ...extra });
    return `/api/live/${kind}?` + q.toString();
  }
  // When a frame was taken, in seconds: from the take's start during a take (the times in the
  // readouts' messages then match the take's own), else on the page's clock.
  function frameTime(now) {
    const inTake = live.phase === "speak" || live.phase === "listen";
    return ((inTake ? now - live.takeStart : now) / 1000).toFixed(3);
  }

  // --- frames ---------------------------------------------------------------------------
  const canvas = document.createElement("canvas");
  async function frameLoop() {
    const period = 1000 / (config.liveFps || 3);
    let last = -Infinity;
    while (live.running) {
      const v = $("#preview");
      // One frame in flight at most; the next goes as soon as its answer is in and the period
      // has passed, so a slow machine gets fewer readouts rather than a queue.
      if (!live.frameBusy && v.videoWidth && performance.now() - last >= period) {
        last = performance.now();
        live.frameBusy = true;
        const w = Math.min(640, v.videoWidth), h = Math.round((v.videoHeight * w) / v.videoWidth);
        canvas.width = w;
        canvas.height = h;
        canvas.getContext("2d").drawImage(v, 0, 0, w, h);
        const t = frameTime(last);
        const blob = await new Promise((res) => canvas.toBlob(res, "image/jpeg", 0.85));
        sendFrame(blob, t, last).finally(() => { live.frameBusy = false; });
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  async function sendFrame(blob, t, last) {
    const t0 = performance.now();
    let r;
    try {
      r = await fetch(liveUrl("frame", { t }), { method: "POST", body: blob, headers: { "X-Validator-Token": config.token, "Content-Type": "image/jpeg" } });
    } catch (_) { return; }
    if (r.status === 503) { stats.busy++; return; }
    if (!r.ok) return;
    const doc = await r.json();
    stats.frames++;
    stats.rtt_ms.push(performance.now() - t0);
    stats.server_ms.push(doc.server_ms);
    stats.cpu_ms.push(doc.cpu_ms);
    if (stats.rtt_ms.length > 600) { stats.rtt_ms.shift(); stats.server_ms.shift(); stats.cpu_ms.shift(); }
    showReadouts("video", doc.readouts, last);
    showFace(doc.face, doc.readouts);
    showStats();
  }

  // --- sound ----------------------------------------------------------------------------
  function startAudio() {
    try {
      const ctx = new AudioContext({ sampleRate: 16000 });
      const src = ctx.createMediaStreamSource(live.stream);
      const proc = ctx.createScriptProcessor(4096, 1, 1);
      const mute = ctx.createGain();
      mute.gain.value = 0;
      proc.onaudioprocess = (e) => {
        if (!live.running) return;
        const x = e.inputBuffer.getChannelData(0);
        live.pcm.push(new Float32Array(x));
        live.pcmLen += x.length;
        if (live.pcmLen >= 16000) flushAudio();
      };
      src.connect(proc);
      proc.connect(mute);
      mute.connect(ctx.destination);
      live.audioCtx = ctx;
    } catch (e) {
      $("#live-stats").textContent = "No live sound check: " + e.message;
    }
  }
  async function flushAudio() {
    const parts = live.pcm, n = live.pcmLen;
    live.pcm = [];
    live.pcmLen = 0;
    // While speaking there is nothing to judge about the room; the take keeps recording.
    if (live.audioBusy || live.phase === "speak" || live.phase === "countdown") return;
    const out = new Int16Array(n);
    let o = 0;
    for (const p of parts) for (let i = 0; i < p.length; i++) out[o++] = Math.max(-32768, Math.min(32767, Math.round(p[i] * 32767)));
    live.audioBusy = true;
    const t0 = performance.now();
    try {
      const r = await fetch(liveUrl("audio"), { method: "POST", body: out.buffer, headers: { "X-Validator-Token": config.token, "Content-Type": "application/octet-stream" } });
      if (r.ok) {
        const doc = await r.json();
        stats.audio++;
        stats.audio_rtt_ms.push(performance.now() - t0);
        showReadouts("audio", doc.readouts, t0);
      }
    } catch (_) { /* next second */ } finally { live.audioBusy = false; }
  }

  // --- readouts -------------------------------------------------------------------------
  const latest = { video: [], audio: [] };
  // `at`: when what the readouts judge was captured (performance.now() of the frame, or of the
  // sound chunk's end), so a take warning says when the problem was seen, not when the answer
  // arrived.
  function showReadouts(kind, list, at) {
    latest[kind] = list || [];
    const ul = $("#readouts");
    ul.replaceChildren();
    const all = latest.video.concat(latest.audio);
    all.sort((a, b) => (a.status === "fail" ? 0 : 1) - (b.status === "fail" ? 0 : 1) || a.rule.localeCompare(b.rule));
    for (const r of all) {
      const li = el("li", r.status + " " + r.severity);
      li.dataset.rule = r.rule;
      li.dataset.status = r.status;
      li.append(el("b", null, r.rule + " "), document.createTextNode(r.message));
      if (r.status === "fail" && r.hint) li.appendChild(el("span", "do", "→ " + r.hint));
      ul.appendChild(li);
    }
    if (live.phase === "speak" || live.phase === "listen") {
      for (const r of list || []) if (r.status === "fail") takeWarning(r, at);
    }
  }
  const warned = new Map();
  function takeWarning(r, at) {
    const ul = $("#take-warnings");
    const none = ul.querySelector(".none");
    if (none) none.remove();
    const t = Math.max(0, ((at ?? performance.now()) - live.takeStart) / 1000).toFixed(1);
    let li = warned.get(r.rule);
    if (!li) {
      li = el("li", "fail " + r.severity);
      li.dataset.rule = r.rule;
      warned.set(r.rule, li);
      ul.appendChild(li);
    }
    li.replaceChildren(el("b", null, `${r.rule} at ${t} s (${live.phase}) `), document.createTextNode(r.message));
    li.dataset.phase = live.phase;
  }
  function showFace(face, readouts) {
    const box = $("#facebox");
    if (!face) { box.hidden = true; return; }
    const v = $("#preview"), scr = v.parentElement.getBoundingClientRect();
    // The picture is letterboxed into the screen and mirrored like a mirror.
    const ar = v.videoWidth / v.videoHeight, sar = scr.width / scr.height;
    const pw = ar > sar ? scr.width : scr.height * ar, ph = ar > sar ? scr.width / ar : scr.height;
    const ox = (scr.width - pw) / 2, oy = (scr.height - ph) / 2;
    box.style.left = ox + (1 - face.x1) * pw + "px";
    box.style.top = oy + face.y0 * ph + "px";
    box.style.width = (face.x1 - face.x0) * pw + "px";
    box.style.height = (face.y1 - face.y0) * ph + "px";
    box.classList.toggle("bad", (readouts || []).some((r) => r.status === "fail" && r.rule.startsWith("FAC")));
    box.hidden = false;
  }
  function median(a) {
    if (!a.length) return null;
    const s = a.slice().sort((x, y) => x - y);
    return s[Math.floor(s.length / 2)];
  }
  function showStats() {
    const secs = (performance.now() - stats.started) / 1000;
    const cpu = stats.cpu_ms.reduce((x, y) => x + y, 0) / 1000;
    $("#live-stats").textContent = `${stats.frames} frames checked · round trip ${Math.round(median(stats.rtt_ms))} ms (median) · ` +
      `checker CPU ${(100 * cpu / Math.max(1, secs)).toFixed(0)}% of one core`;
  }

  // --- the take -------------------------------------------------------------------------
  const phaseEl = $("#phase");
  function setPhase(name, label, seconds) {
    live.phase = name;
    phaseEl.hidden = name === "idle";
    phaseEl.className = "phase " + name;
    phaseEl.dataset.phase = name;
    phaseEl.replaceChildren(el("span", "label", label), el("span", "timer", seconds === undefined ? "" : `${Math.ceil(seconds)} s`));
  }
  async function countdownPhase(take, name, label, seconds) {
    const end = performance.now() + seconds * 1000;
    while (live.running && !take.cancelled) {
      const left = (end - performance.now()) / 1000;
      if (left <= 0) break;
      setPhase(name, label, left);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  // The take's plan for the chosen profile (phoenix-3: 60 + 60 s), shown before the take.
  function takePlan() {
    return config.takes[P.profile()] || [30, 30];
  }
  function showPlan() {
    const [speakS, listenS] = takePlan();
    const plan = $("#take-plan");
    plan.dataset.speakS = String(speakS);
    plan.dataset.listenS = String(listenS);
    plan.textContent = `The take (${P.profile()}): ${speakS} s speaking, then ${listenS} s listening with lips closed.`;
  }
  $("#profile").addEventListener("change", showPlan);
  showPlan();
  function abandon() {
    setPhase("idle", "");
    live.take = null;
    $("#prompt").textContent = "The take was stopped before its end; nothing was kept. Record again when you are ready.";
    $("#start-take").disabled = !live.running;
  }
  async function startTake() {
    if (!live.stream || live.take) return;
    const [speakS, listenS] = takePlan();
    const take = (live.take = { cancelled: false });
    $("#start-take").disabled = true;
    warned.clear();
    $("#take-warnings").replaceChildren(el("li", "none", "No warnings yet."));
    const prompt = $("#prompt");
    prompt.replaceChildren(el("p", null, "Get ready: look into the camera. Speak first, then listen in silence."));
    await countdownPhase(take, "countdown", "Starting in", 3);
    if (take.cancelled) return abandon();
    const types = ["video/webm;codecs=vp8,opus", "video/webm", "video/mp4"];
    const mimeType = types.find((t) => window.MediaRecorder && MediaRecorder.isTypeSupported(t)) || "";
    const chunks = [];
    const rec = new MediaRecorder(live.stream, mimeType ? { mimeType } : undefined);
    live.recorder = rec;
    rec.ondataavailable = (e) => { if (e.data && e.data.size) chunks.push(e.data); };
    const stopped = new Promise((r) => { rec.onstop = r; });
    rec.start(1000);
    live.takeStart = performance.now();
    prompt.replaceChildren(el("p", null, "Speak now: read this at your natural pace, teeth visible."), ...SCRIPT.map((l) => el("p", "script", l)));
    await countdownPhase(take, "speak", "Speak now", speakS);
    prompt.replaceChildren(el("p", "script", "Listen now: lips gently closed, stay still, breathe through your nose. Don't say anything until the timer ends."));
    await countdownPhase(take, "listen", "Listen now, lips closed", listenS);
    setPhase("idle", "");
    if (rec.state !== "inactive") rec.stop();
    await stopped;
    live.recorder = null;
    if (take.cancelled) return abandon();
    live.take = null;
    const type = rec.mimeType || mimeType || "video/webm";
    const ext = type.includes("mp4") ? "mp4" : "webm";
    const stamp = new Date().toISOString().replace(/[-:]/g, "").slice(0, 15);
    const file = new File(chunks, `take-${stamp}.${ext}`, { type });
    prompt.replaceChildren(el("p", null, "Done. Your take is being checked and prepared for upload below; record again any time."));
    $("#start-take").disabled = !live.running;
    P.upload(file, { autoFix: true });
  }
  $("#start-take").addEventListener("click", startTake);
})();
