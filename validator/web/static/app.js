// The local page: drop files, follow their checks as server-sent events, show the report.
// Every element is built with textContent: names, messages and metadata are never HTML.
"use strict";

(function () {
  const config = JSON.parse(document.body.dataset.config);
  const cards = new Map(); // job id -> card state
  const pending = new Map(); // client ref -> card state (upload in flight)
  let lastSeq = 0;
  let refCounter = 0;

  const $ = (sel) => document.querySelector(sel);
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function mb(n) {
    return n >= 1e9 ? (n / 1e9).toFixed(2) + " GB" : n >= 1e6 ? (n / 1e6).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1e3)) + " kB";
  }
  function api(path) {
    return path + (path.includes("?") ? "&" : "?") + "t=" + encodeURIComponent(config.token);
  }
  function status(text) { $("#status").textContent = text || ""; }

  // --- controls -------------------------------------------------------------------------
  const profileSel = $("#profile");
  for (const p of config.profiles) {
    const o = el("option", null, p);
    o.value = p;
    profileSel.appendChild(o);
  }
  profileSel.value = localStorage.getItem("profile") || config.profile;
  if (!config.profiles.includes(profileSel.value)) profileSel.value = config.profile;
  const warnBox = $("#warnings-fail");
  const storedWarn = localStorage.getItem("warningsFail");
  warnBox.checked = storedWarn === null ? config.failOn === "warning" : storedWarn === "1";
  profileSel.addEventListener("change", () => localStorage.setItem("profile", profileSel.value));
  warnBox.addEventListener("change", () => localStorage.setItem("warningsFail", warnBox.checked ? "1" : "0"));
  $("#limit").textContent = mb(config.maxUploadBytes);
  const scope = [];
  if (!(config.select.length === 1 && config.select[0] === "ALL")) scope.push("rules: " + config.select.join(", "));
  if (config.ignore.length) scope.push("ignoring " + config.ignore.join(", "));
  if (scope.length) $("#scope").textContent = "Checking with the server's settings: " + scope.join("; ") + ".";

  $("#clear").addEventListener("click", async () => {
    const r = await fetch("/api/clear", { method: "POST", headers: { "X-Validator-Token": config.token } });
    if (!r.ok) { status("Could not clear: " + (await r.text())); return; }
    const doc = await r.json();
    status(doc.cleared ? `Cleared ${doc.cleared} file${doc.cleared === 1 ? "" : "s"}.` : "Nothing to clear.");
  });

  // --- drop zone ------------------------------------------------------------------------
  const drop = $("#drop");
  ["dragenter", "dragover"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => { if (e.dataTransfer && e.dataTransfer.files) addFiles(e.dataTransfer.files); });
  // Dropping a file anywhere else must not navigate away from the page.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
  const input = $("#file-input");
  input.addEventListener("change", () => { addFiles(input.files); input.value = ""; });

  function addFiles(list) {
    for (const f of Array.from(list)) upload(f);
  }

  function upload(file, opts) {
    const ref = "c" + (++refCounter) + "-" + Date.now().toString(36);
    const card = makeCard(file.name);
    card.autoFix = !!(opts && opts.autoFix);
    pending.set(ref, card);
    document.getElementById("cards").prepend(card.root);
    card.sub.textContent = mb(file.size) + " · uploading to this computer's checker";
    if (file.size > config.maxUploadBytes) {
      showError(card, `${file.name}: ${mb(file.size)} is larger than this page accepts (${mb(config.maxUploadBytes)}); the platform accepts at most ${mb(config.platformLimitBytes)} per file.`);
      pending.delete(ref);
      return;
    }
    if (file.size === 0) { showError(card, `${file.name}: the file is empty.`); pending.delete(ref); return; }
    const q = new URLSearchParams({ profile: profileSel.value, fail_on: warnBox.checked ? "warning" : "error", ref: ref });
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/files?" + q.toString());
    xhr.setRequestHeader("X-Validator-Token", config.token);
    xhr.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    const upStage = stageChip(card, "upload");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) setChip(upStage, e.loaded / e.total); };
    xhr.onload = () => {
      pending.delete(ref);
      let doc = null;
      try { doc = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status !== 201 || !doc) {
        showError(card, (doc && doc.error) || `${file.name}: upload refused (${xhr.status} ${xhr.statusText || xhr.responseText})`);
        return;
      }
      finishChip(upStage);
      const existing = cards.get(doc.id);
      if (existing && existing !== card) { existing.root.remove(); }
      cards.set(doc.id, card);
      card.root.dataset.jobId = doc.id;
      update(card, doc);
    };
    xhr.onerror = () => { pending.delete(ref); showError(card, `${file.name}: the upload was interrupted (is validator serve still running?)`); };
    xhr.send(file);
  }

  // --- cards ----------------------------------------------------------------------------
  function makeCard(name) {
    const root = el("article", "card");
    root.dataset.name = name;
    const head = el("div", "card-head");
    const verdict = el("div", "verdict busy", "waiting");
    const title = el("div", "title");
    const nameEl = el("h2", "name", name);
    const sub = el("p", "sub");
    title.append(nameEl, sub);
    head.append(verdict, title);
    const stages = el("ul", "stages");
    const body = el("div", "body");
    root.append(head, stages, body);
    return { root, verdict, sub, stages, body, chips: new Map(), shown: null, job: null, fixShown: null };
  }

  function stageChip(card, name) {
    let chip = card.chips.get(name);
    if (chip) return chip;
    for (const c of card.chips.values()) if (!c.li.classList.contains("done")) finishChip(c);
    const li = el("li", "stage active");
    li.dataset.stage = name;
    const bar = el("i", "bar");
    const label = el("span", null, name);
    li.append(bar, label);
    card.stages.appendChild(li);
    chip = { li, bar, label, name };
    card.chips.set(name, chip);
    return chip;
  }
  function setChip(chip, fraction) {
    chip.bar.style.width = Math.round(Math.max(0, Math.min(1, fraction)) * 100) + "%";
    chip.label.textContent = fraction > 0 && fraction < 1 ? `${chip.name} ${Math.round(fraction * 100)}%` : chip.name;
  }
  function finishChip(chip) {
    chip.li.classList.remove("active");
    chip.li.classList.add("done");
    chip.bar.style.width = "0";
    chip.label.textContent = chip.name;
  }

  function showError(card, text) {
    card.verdict.className = "verdict ERROR";
    card.verdict.textContent = "ERROR";
    card.root.dataset.state = "error";
    card.body.replaceChildren(el("p", "message error", text));
  }

  function cardFor(job) {
    let card = cards.get(job.id);
    if (card) return card;
    if (job.ref && pending.has(job.ref)) {
      card = pending.get(job.ref);
    } else {
      card = makeCard(job.name);
      const list = document.getElementById("cards");
      if (job.earlier) list.appendChild(card.root); else list.prepend(card.root);
    }
    cards.set(job.id, card);
    card.root.dataset.jobId = job.id;
    return card;
  }

  function update(card, job) {
    card.job = job;
    const bits = [];
    if (job.size_bytes) bits.push(mb(job.size_bytes));
    bits.push("profile " + job.profile);
    if (job.fail_on === "warning") bits.push("warnings fail");
    if (job.earlier) bits.push("from an earlier session");
    else if (job.cached && job.state === "done") bits.push("unchanged since last checked (from the cache)");
    else if (job.state === "done" && job.seconds) bits.push(`checked in ${job.seconds.toFixed(1)} s`);
    card.sub.textContent = bits.join(" · ");
    if (card.root.dataset.state !== job.state) {
      card.root.dataset.state = job.state;
      // The states this card went through, as the server reported them (for people and tests).
      card.root.dataset.states = ((card.root.dataset.states || "") + " " + job.state).trim();
    }
    card.root.classList.toggle("earlier", !!job.earlier);
    if (job.state === "queued") {
      card.verdict.className = "verdict busy";
      card.verdict.textContent = "queued";
    } else if (job.state === "running") {
      card.verdict.className = "verdict busy";
      card.verdict.textContent = "checking";
      if (job.stage) setChip(stageChip(card, job.stage), job.fraction || 0);
    } else if (job.state === "error") {
      for (const c of card.chips.values()) finishChip(c);
      showError(card, job.error || "could not be checked");
    } else if (job.state === "done") {
      for (const c of card.chips.values()) finishChip(c);
      showReport(card, job);
    }
  }

  function showReport(card, job) {
    const rep = job.report;
    const v = rep.passed ? "PASS" : "FAIL";
    card.verdict.className = "verdict " + v;
    card.verdict.textContent = v;
    card.root.dataset.verdict = v;
    if (card.shown !== job.id) {
      card.shown = job.id;
      card.body.replaceChildren();
      const fails = rep.results.filter((r) => r.status === "fail");
      const rank = { error: 0, warning: 1, info: 2 };
      fails.sort((a, b) => (rank[a.severity] - rank[b.severity]) || a.rule.localeCompare(b.rule));
      const counts = ["error", "warning", "info"].map((s) => [s, fails.filter((r) => r.severity === s).length]).filter(([, n]) => n);
      const nPass = rep.results.filter((r) => r.status === "pass").length;
      const nSkip = rep.results.filter((r) => r.status === "skip").length;
      let line = `${nPass} rule${nPass === 1 ? "" : "s"} passed`;
      for (const [s, n] of counts) line += `, ${n} ${s}${n === 1 ? "" : "s"}`;
      if (nSkip) line += `, ${nSkip} not evaluated`;
      card.body.appendChild(el("p", "message", line + "."));
      if (fails.length) {
        const ul = el("ul", "rules");
        for (const r of fails) ul.appendChild(ruleItem(r));
        card.body.appendChild(ul);
      } else {
        card.body.appendChild(el("p", "allgood", "Every selected rule passed: this file is ready to upload."));
      }
      card.fixBox = el("div", "fix-slot");
      card.body.appendChild(card.fixBox);
      const det = el("details", "report");
      det.open = !rep.passed; // where it fails matters; a pass needs no second look
      det.appendChild(el("summary", null, rep.passed ? "Show the timeline, frames and every rule" : "Timeline, frames and every rule"));
      const frame = document.createElement("iframe");
      frame.className = "report";
      frame.title = "report for " + job.name;
      frame.setAttribute("sandbox", "allow-same-origin");
      frame.src = api(`/api/jobs/${encodeURIComponent(job.id)}/report.html`);
      const fit = () => {
        try {
          const h = frame.contentDocument.documentElement.scrollHeight;
          if (h > 0 && det.open) frame.style.height = h + 4 + "px";
        } catch (_) { /* keep the default height */ }
      };
      frame.addEventListener("load", fit);
      det.addEventListener("toggle", fit);
      det.appendChild(frame);
      card.body.appendChild(det);
    }
    showFix(card, job);
  }

  function ruleItem(r) {
    const li = el("li", "rule " + r.severity);
    li.dataset.rule = r.rule;
    const head = el("div", "rule-head");
    head.append(el("span", "rule-id", r.rule), el("span", "sev", r.severity), el("span", "rule-name", r.name));
    li.appendChild(head);
    li.appendChild(el("p", "rule-msg", r.message));
    if (r.hint) {
      const hint = el("p", "rule-hint");
      hint.append(el("b", null, "How to fix: "), document.createTextNode(r.hint));
      li.appendChild(hint);
    }
    return li;
  }

  function showFix(card, job) {
    if (!card.fixBox) return;
    const key = [job.fix_state, (job.fixable || []).join(","), !!job.plan].join("|");
    if (card.fixShown === key) return;
    card.fixShown = key;
    const box = card.fixBox;
    box.replaceChildren();
    const unfixable = (job.plan && job.plan.unfixable) || [];
    if (!job.fixable || !job.fixable.length) {
      if (!job.report.passed && unfixable.length) {
        const redo = job.prepared_ext === "mp4" ? "a new recording" : "a new photo";
        box.appendChild(el("p", "unfixable", "Preparing cannot repair " + unfixable.map((u) => u.rule).join(", ") + `: these need ${redo} or a better source.`));
      }
      return;
    }
    const wrap = el("div", "fix");
    const made = { mp4: "MP4", jpg: "JPEG photo", png: "PNG photo" }[job.prepared_ext] || "file";
    wrap.appendChild(el("p", null, `Preparing can repair ${job.fixable.join(", ")}: it writes a new upload-ready ${made} and never touches your file.`));
    const row = el("div", "row");
    const btn = el("button", "fix-button", "Fix it");
    btn.type = "button";
    btn.addEventListener("click", async () => {
      btn.disabled = true;
      btn.textContent = "Preparing…";
      const r = await fetch(`/api/jobs/${encodeURIComponent(job.id)}/fix`, { method: "POST", headers: { "X-Validator-Token": config.token } });
      if (!r.ok) {
        let msg = r.statusText;
        try { msg = (await r.json()).error; } catch (_) { /* keep */ }
        btn.disabled = false;
        btn.textContent = "Fix it";
        row.appendChild(el("span", "message error", msg));
      }
    });
    row.appendChild(btn);
    if (card.autoFix && !card.autoFixed && !job.fix_state && job.state === "done") {
      // A recorded take is prepared for upload straight away.
      card.autoFixed = true;
      setTimeout(() => btn.click(), 0);
    }
    if (job.fix_state === "running") { btn.disabled = true; btn.textContent = "Preparing…"; }
    if (job.fix_state === "error") row.appendChild(el("span", "message error", job.fix_error));
    wrap.appendChild(row);
    if (job.fix_state === "done" && job.fix) {
      const fx = job.fix;
      btn.remove();
      if (fx.after) {
        const v = fx.after.passed ? "PASS" : "FAIL";
        const line = el("p", "after");
        line.append(document.createTextNode("Prepared file: "), el("b", "after-verdict", v), document.createTextNode(fx.after.passed ? " — ready to upload." : " — still fails what preparing cannot repair."));
        wrap.insertBefore(line, row);
      }
      if (fx.written) {
        const a = el("a", "download", "Download the prepared file");
        a.href = api(`/api/jobs/${encodeURIComponent(job.id)}/prepared.${job.prepared_ext || "mp4"}`);
        a.setAttribute("download", "");
        row.appendChild(a);
      }
      if (fx.changes && fx.changes.length) {
        const t = el("table", "changes");
        const hr = el("tr");
        for (const h of ["rule", "name", "before", "after"]) hr.appendChild(el("th", null, h));
        t.appendChild(hr);
        for (const c of fx.changes) {
          const tr = el("tr");
          tr.dataset.rule = c.rule;
          tr.append(el("td", null, c.rule), el("td", null, c.name), el("td", c.before.split(" ")[0], c.before), el("td", c.after.split(" ")[0], c.after));
          t.appendChild(tr);
        }
        wrap.appendChild(t);
      }
    }
    box.appendChild(wrap);
  }

  // --- server state and events ----------------------------------------------------------
  async function loadJobs() {
    const r = await fetch(api("/api/jobs"), { headers: { "X-Validator-Token": config.token } });
    if (!r.ok) { status("Could not reach the checker: " + r.status); return; }
    const doc = await r.json();
    lastSeq = doc.seq;
    const earlier = doc.jobs.filter((j) => j.earlier).length;
    for (const job of doc.jobs) update(cardFor(job), job);
    if (earlier) status(`${earlier} file${earlier === 1 ? "" : "s"} from earlier sessions (reports kept in the cache; "Clear history" forgets them).`);
    listen();
  }

  function listen() {
    const src = new EventSource(api("/api/events?since=" + lastSeq));
    const onJob = (e) => {
      const ev = JSON.parse(e.data);
      if (ev.seq <= lastSeq) return;
      lastSeq = ev.seq;
      if (!ev.job) return;
      const card = cardFor(ev.job);
      update(card, ev.job);
      if (ev.type === "fix-stage") {
        const b = card.root.querySelector(".fix-button");
        if (b) b.textContent = `Preparing… ${ev.stage} ${Math.round((ev.fraction || 0) * 100)}%`;
      }
    };
    for (const t of ["queued", "stage", "done", "error", "plan", "fix-queued", "fix-stage", "fixed", "fix-error"]) src.addEventListener(t, onJob);
    src.addEventListener("cleared", (e) => {
      const ev = JSON.parse(e.data);
      lastSeq = Math.max(lastSeq, ev.seq);
      for (const id of ev.ids) {
        const c = cards.get(id);
        if (c) { c.root.remove(); cards.delete(id); }
      }
    });
    src.onerror = () => status("Connection to the checker lost; retrying… (is validator serve still running?)");
    src.onopen = () => { if ($("#status").textContent.startsWith("Connection")) status(""); };
  }

  loadJobs();
  // For the Record mode (record.js): the same upload path and settings as dropped files.
  window.Portal = {
    config,
    upload,
    profile: () => profileSel.value,
    failOn: () => (warnBox.checked ? "warning" : "error"),
    status,
  };
})();
