// The reading workstation's behaviour. Plain browser JavaScript, no build step, no library.
// Pages are rendered by the server (services/reading/web.py); this script only: keeps the
// reader id, polls the queue, calls the JSON API (services/reading/routes.py) and shows its
// OperationOutcome errors (in the user's language: the server translates them), and counts
// the lease down. Its own texts come from the page's #messages block (services/i18n).
"use strict";

const READER_KEY = "goldenhour.readerId";
// As the API's reader id: letters of any script (李医生), digits, _ . : @ -
const READER_PATTERN = /^[\p{L}\p{N}_.:@\-]{1,64}$/u;
const MESSAGES = JSON.parse((document.getElementById("messages") || {}).textContent || "{}");

/** The catalogue's text for `id`, its {placeholders} filled from `params`. */
function t(id, params) {
  const text = MESSAGES[id] || id;
  return text.replace(/\{([a-z_]+)\}/g, (all, name) => (params && name in params ? String(params[name]) : all));
}

function timeFormat() {
  return new Intl.DateTimeFormat(document.body.dataset.lang || "zh-CN", {
    timeZone: document.body.dataset.tz || "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
}
const LEASE_WARN_S = 120; // the lease is shown in orange in its last two minutes

function readerId() {
  return (localStorage.getItem(READER_KEY) || "").trim();
}

/** The message of an API error: an OperationOutcome's diagnostics, else the status. */
function outcomeText(status, doc) {
  if (doc && doc.resourceType === "OperationOutcome" && Array.isArray(doc.issue)) {
    return doc.issue.map((i) => i.diagnostics || i.code).join("\n");
  }
  return t("HTTP {status}", { status });
}

class ApiError extends Error {}

/** POST JSON to the reading API; resolves with the body, rejects with ApiError(text). */
async function post(url, body) {
  let resp;
  try {
    resp = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(t("The server cannot be reached ({error}). Try again.", { error: err.message }));
  }
  let doc = null;
  try { doc = await resp.json(); } catch (_) { /* not JSON: status alone */ }
  if (!resp.ok) throw new ApiError(outcomeText(resp.status, doc));
  return doc;
}

function showError(el, message) {
  el.textContent = message || "";
  el.hidden = !message;
}


async function claim(ecgId, errorEl) {
  const reader = readerId();
  if (!READER_PATTERN.test(reader)) {
    showError(errorEl, t("Enter your reader id first (letters, digits, Chinese characters, . _ : @ -)."));
    return;
  }
  showError(errorEl, "");
  try {
    const body = { reader_id: reader };
    if (ecgId) body.ecg_id = ecgId;
    const item = await post("/reading/claims", body);
    window.location.assign(`/reading/ecg/${encodeURIComponent(item.ecg_id)}`);
  } catch (err) {
    showError(errorEl, err.message);
  }
}

// --- queue page ---------------------------------------------------------------------------

function initQueue() {
  const input = document.getElementById("reader-id");
  const errorEl = document.getElementById("error");
  const rows = document.getElementById("queue-rows");
  input.value = readerId();
  // "My claims" filters on the reader id kept in this browser (the token's, with auth on).
  const mine = document.getElementById("f-mine");
  if (mine) mine.value = readerId();
  input.addEventListener("input", () => {
    localStorage.setItem(READER_KEY, input.value.trim());
    if (mine) mine.value = readerId();
  });
  document.getElementById("reader").addEventListener("submit", (e) => e.preventDefault());
  document.getElementById("claim-next").addEventListener("click", () => claim(null, errorEl));
  // Rows are replaced on every poll: one listener on the table body.
  rows.addEventListener("click", (e) => {
    const button = e.target.closest("button.claim");
    if (button) claim(button.dataset.ecgId, errorEl);
  });
  const every = Number(document.body.dataset.pollS || 5) * 1000;
  setInterval(() => refreshQueue(rows), every);
}

async function refreshQueue(rows) {
  const status = document.getElementById("refresh-status");
  try {
    // The page's own filters (its query string) apply to every refresh.
    const resp = await fetch(`/reading/queue-rows${window.location.search}`, { headers: { Accept: "text/html" } });
    if (!resp.ok) throw new Error(t("HTTP {status}", { status: resp.status }));
    rows.innerHTML = await resp.text(); // server-rendered and escaped (web.py)
    status.textContent = t("Updated {time}.", { time: timeFormat().format(new Date()) });
    status.classList.remove("stale");
  } catch (err) {
    status.textContent = t("Not updated since the last refresh: {error}. Retrying.", { error: err.message });
    status.classList.add("stale");
  }
}

// --- ECG page -----------------------------------------------------------------------------

function initEcg() {
  document.getElementById("reader-shown").textContent = readerId() || t("— (set it on the queue page)");
  const form = document.getElementById("report-form");
  if (!form) return; // not requested, or already signed: nothing to act on
  const errorEl = document.getElementById("report-error");
  const ctx = {
    form,
    errorEl,
    ecgId: form.dataset.ecgId,
    leaseUntil: form.dataset.leaseUntil ? Date.parse(form.dataset.leaseUntil) : null,
    // The server's clock decides leases: count down against it, not the workstation's.
    skewMs: Date.parse(form.dataset.serverNow) - Date.now(),
    mine: form.dataset.status === "claimed" && form.dataset.holder === readerId(),
  };
  setFormEnabled(form, ctx.mine);
  const claimButton = document.getElementById("claim-this");
  claimButton.hidden = ctx.mine || form.dataset.available !== "true";
  claimButton.addEventListener("click", () => claimHere(ctx));
  form.addEventListener("submit", (e) => { e.preventDefault(); sign(ctx); });
  document.getElementById("save-edit").addEventListener("click", () => saveEdit(ctx));
  document.getElementById("release").addEventListener("click", () => release(ctx));
  tickLease(ctx);
  ctx.timer = setInterval(() => tickLease(ctx), 1000);
}

function setFormEnabled(form, enabled) {
  form.querySelectorAll("input, textarea, button").forEach((el) => { el.disabled = !enabled; });
}

function tickLease(ctx) {
  const el = document.getElementById("lease-status");
  const holder = ctx.form.dataset.holder;
  el.className = "lease-status";
  if (ctx.form.dataset.status !== "claimed") {
    el.textContent = t("Not claimed: claim it to report.");
    return;
  }
  const left = Math.floor((ctx.leaseUntil - (Date.now() + ctx.skewMs)) / 1000);
  if (left <= 0) {
    el.textContent = t("Lease of {holder} expired: claim again to report.", { holder });
    el.classList.add("gone");
    setFormEnabled(ctx.form, false);
    return;
  }
  const mmss = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  el.textContent = ctx.mine
    ? t("Held by you · lease {left} left", { left: mmss })
    : t("Held by {holder} · {left} left", { holder, left: mmss });
  if (left <= LEASE_WARN_S) el.classList.add("warn");
}

async function claimHere(ctx) {
  await claim(ctx.ecgId, ctx.errorEl);
}

async function release(ctx) {
  try {
    await post(`/reading/ecg/${encodeURIComponent(ctx.ecgId)}/release`, { reader_id: readerId() });
    window.location.assign("/reading/");
  } catch (err) {
    showError(ctx.errorEl, err.message);
  }
}

/** A fresh idempotency key, one per click (the server answers a resend of it once). getRandomValues,
 * not randomUUID, which browsers give only to https pages. */
function newEventId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "ui-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A reader's correction of one measurement; the automatic value stays beside it. */
async function saveEdit(ctx) {
  const field = document.getElementById("edit-field").value;
  const value = Number(document.getElementById("edit-value").value);
  if (!document.getElementById("edit-value").value || !Number.isFinite(value)) {
    showError(ctx.errorEl, t("Enter the corrected value."));
    return;
  }
  const reason = document.getElementById("edit-reason").value.trim() || null;
  showError(ctx.errorEl, "");
  try {
    const item = await post(`/reading/ecg/${encodeURIComponent(ctx.ecgId)}/measurements`, {
      reader_id: readerId(), measurement: field, value, reason, event_id: newEventId(),
    });
    const edit = item.edits[field];
    document.getElementById("edit-value").value = "";
    const note = document.getElementById("edit-saved") || document.getElementById("correct-measurement").appendChild(document.createElement("p"));
    note.id = "edit-saved";
    note.textContent = t("Correction saved: {value} (automatic {automatic}).", {
      value: edit.value, automatic: edit.automatic === null || edit.automatic === undefined ? "—" : Math.round(edit.automatic),
    });
  } catch (err) {
    showError(ctx.errorEl, err.message);
  }
}

/** An addendum to the signed read (any reader); the page then shows the amended report. */
function initAddendum() {
  const form = document.getElementById("addendum-form");
  if (!form) return;
  const errorEl = document.getElementById("addendum-error");
  const ecgId = document.getElementById("signed").dataset.ecgId;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = document.getElementById("addendum").value.trim();
    if (!text) { showError(errorEl, t("Write the addendum first.")); return; }
    try {
      await post(`/reading/ecg/${encodeURIComponent(ecgId)}/addendum`, {
        reader_id: readerId(), addendum: text, event_id: newEventId(),
      });
      window.location.reload();
    } catch (err) {
      showError(errorEl, err.message);
    }
  });
}

function ticked(form, name) {
  return Array.from(form.querySelectorAll(`input[name="${name}"]:checked`));
}

/** The report body from the form. The record stays canonical: confirmed statements as stored
 * (English), codes with the code system's display. An empty interpretation is built from the
 * ticked boxes' labels (`data-label`, in the page's language): the text the reader saw is the
 * text signed, and the one the clinic gets back. */
function reportBody(form) {
  const confirmed = ticked(form, "confirmed");
  const codes = ticked(form, "code");
  let text = form.querySelector("#interpretation").value.trim();
  if (!text) text = [...codes, ...confirmed].map((el) => el.dataset.label).join(t(". "));
  return {
    reader_id: readerId(),
    interpretation: text,
    codes: codes.map((el) => ({ system: el.dataset.system, code: el.value, display: el.dataset.display })),
    confirmed_statements: confirmed.map((el) => el.value),
  };
}

async function sign(ctx) {
  const body = reportBody(ctx.form);
  if (!body.interpretation) {
    showError(ctx.errorEl, t("Write an interpretation, or tick at least one statement."));
    return;
  }
  showError(ctx.errorEl, "");
  setFormEnabled(ctx.form, false);
  try {
    const item = await post(`/reading/ecg/${encodeURIComponent(ctx.ecgId)}/report`, body);
    clearInterval(ctx.timer);
    showSigned(ctx, item, body);
  } catch (err) {
    showError(ctx.errorEl, err.message);
    setFormEnabled(ctx.form, ctx.mine);
  }
}

function showSigned(ctx, item, body) {
  const signed = document.getElementById("signed");
  document.getElementById("signed-by").textContent = body.reader_id;
  document.getElementById("signed-at").textContent = timeFormat().format(new Date());
  document.getElementById("signed-text").textContent = body.interpretation;
  const list = document.getElementById("signed-codes");
  // As the server renders a signed report (ecg_page.py `_signed_html`): label, then code.
  list.replaceChildren(...ticked(ctx.form, "code").map((el) => {
    const li = document.createElement("li");
    const code = document.createElement("code");
    code.textContent = el.value;
    li.append(`${el.dataset.label} `, code);
    return li;
  }));
  const link = document.getElementById("report-link");
  link.href = `/fhir/${item.report}`;
  link.textContent = item.report;
  signed.dataset.report = item.report;
  signed.hidden = false;
  ctx.form.hidden = true;
  document.getElementById("lease-status").textContent = "";
  document.getElementById("claim-this").hidden = true;
}

// --- ECG display tools: gain, speed, zoom, calipers ----------------------------------------
// The SVG is drawn in mm at 25 mm/s and 10 mm/mV (services/reading/ecg_svg.py states both on
// the <svg> as data attributes). Gain and speed redraw the traces from their drawn points
// (x about the column start, y about the row baseline), so the grid stays true-scale paper:
// at 50 mm/s a 2.5 s column shows its first 1.25 s, clipped at the column's end. Zoom only
// changes the displayed size; calipers read mm in the SVG's own units, so they are exact at
// any zoom, and convert with the *current* speed and gain.

const ZOOMS = [1, 1.5, 2, 3, 4];
const SVG_NS = "http://www.w3.org/2000/svg";
const CAL_X = [1, 2.5, 7.5, 9]; // calibration pulse corners in mm (ecg_svg.py: CAL_MM, CAL_PULSE_MM)

/** Every print-out on the page, prepared once; then the tool bar drives them together. */
function initTools() {
  const tools = document.getElementById("ecg-tools");
  const svgs = Array.from(document.querySelectorAll("svg.ecg-paper"));
  if (!tools || !svgs.length) return;
  const base = { speed: Number(svgs[0].dataset.speedMmPerS), gain: Number(svgs[0].dataset.gainMmPerMv) };
  const view = { base, speed: base.speed, gain: base.gain, zoom: 0, calipers: false, papers: svgs.map(preparePaper) };
  tools.addEventListener("click", (e) => {
    const b = e.target.closest("button");
    if (!b) return;
    if (b.dataset.gain) view.gain = Number(b.dataset.gain);
    if (b.dataset.speed) view.speed = Number(b.dataset.speed);
    if (b.dataset.zoom) view.zoom = Math.max(0, Math.min(ZOOMS.length - 1, view.zoom + Number(b.dataset.zoom)));
    if (b.id === "calipers-toggle") view.calipers = !view.calipers;
    if (b.id === "calipers-clear") view.papers.forEach(clearCalipers);
    redraw(view);
  });
  view.papers.forEach((paper) => bindCalipers(view, paper));
  redraw(view);
}

/** Keep each path's drawn points; wrap traces in a clip to their column. */
function preparePaper(svg) {
  const defs = svg.insertBefore(document.createElementNS(SVG_NS, "defs"), svg.firstChild);
  const traces = Array.from(svg.querySelectorAll("path.trace:not(.missing)")).map((path, i) => {
    const y0 = Number(path.closest("g.row").dataset.baseline);
    const x0 = Number(path.dataset.x0);
    const clip = svgEl("clipPath", { id: `${svg.id}-clip-${i}` });
    // Clip time only: a tall R wave at 20 mm/mV may overlap the next row, as on paper.
    clip.appendChild(svgEl("rect", { x: x0, y: -1000, width: Number(path.dataset.seconds) * 25, height: 3000 }));
    defs.appendChild(clip);
    const g = svgEl("g", { "clip-path": `url(#${clip.id})` });
    path.parentNode.insertBefore(g, path);
    g.appendChild(path);
    return { path, x0, y0, points: parsePath(path.getAttribute("d")) };
  });
  const cals = Array.from(svg.querySelectorAll("path.cal")).map((path) => ({
    path, y0: Number(path.closest("g.row").dataset.baseline),
  }));
  const layer = svg.appendChild(svgEl("g", { class: "calipers" }));
  return { svg, traces, cals, layer, widthMm: parseFloat(svg.getAttribute("width")), heightMm: parseFloat(svg.getAttribute("height")), marks: null };
}

function svgEl(name, attrs) {
  const el = document.createElementNS(SVG_NS, name);
  Object.entries(attrs || {}).forEach(([k, v]) => el.setAttribute(k, String(v)));
  return el;
}

/** "M1 2 3 4 M5 6" -> [[{x,y},{x,y}], [{x,y}]]: one list per pen-down run. */
function parsePath(d) {
  return d.split("M").filter((run) => run.trim()).map((run) => {
    const n = run.trim().split(/\s+/).map(Number);
    const pts = [];
    for (let i = 0; i + 1 < n.length; i += 2) pts.push({ x: n[i], y: n[i + 1] });
    return pts;
  });
}

function redraw(view) {
  const sx = view.speed / view.base.speed;
  const sy = view.gain / view.base.gain;
  const zoom = ZOOMS[view.zoom];
  view.papers.forEach((p) => {
    p.traces.forEach((tr) => tr.path.setAttribute("d", tr.points.map((run) => "M" + run.map(
      (pt) => `${(tr.x0 + (pt.x - tr.x0) * sx).toFixed(2)} ${(tr.y0 + (pt.y - tr.y0) * sy).toFixed(2)}`,
    ).join(" ")).join(" ")));
    p.cals.forEach((c) => c.path.setAttribute("d",
      `M${CAL_X[0]} ${c.y0}H${CAL_X[1]}V${c.y0 - view.gain}H${CAL_X[2]}V${c.y0}H${CAL_X[3]}`));
    p.svg.dataset.speedMmPerS = String(view.speed);
    p.svg.dataset.gainMmPerMv = String(view.gain);
    p.svg.setAttribute("width", `${p.widthMm * zoom}mm`);
    p.svg.setAttribute("height", `${p.heightMm * zoom}mm`);
    p.svg.classList.toggle("measuring", view.calipers);
    const footer = p.svg.querySelector("text.footer");
    if (footer) footer.textContent = footer.textContent.replace(/^[\d.]+ mm\/s · [\d.]+ mm\/mV/, `${view.speed} mm/s · ${view.gain} mm/mV`);
    if (p.marks) drawCalipers(view, p);
  });
  document.querySelectorAll("#ecg-tools button[data-gain]").forEach((b) => b.setAttribute("aria-pressed", String(Number(b.dataset.gain) === view.gain)));
  document.querySelectorAll("#ecg-tools button[data-speed]").forEach((b) => b.setAttribute("aria-pressed", String(Number(b.dataset.speed) === view.speed)));
  document.getElementById("calipers-toggle").setAttribute("aria-pressed", String(view.calipers));
  document.getElementById("zoom-level").textContent = `${Math.round(zoom * 100)}%`;
}

/** The pointer's position in the SVG's mm (exact at any zoom or scroll). */
function toMm(svg, e) {
  const pt = new DOMPoint(e.clientX, e.clientY).matrixTransform(svg.getScreenCTM().inverse());
  return { x: pt.x, y: pt.y };
}

function bindCalipers(view, paper) {
  let dragging = false;
  paper.svg.addEventListener("pointerdown", (e) => {
    if (!view.calipers) return;
    e.preventDefault();
    const at = toMm(paper.svg, e);
    paper.marks = { a: at, b: at };
    dragging = true;
    drawCalipers(view, paper);
  });
  paper.svg.addEventListener("pointermove", (e) => {
    if (!dragging) return;
    paper.marks.b = toMm(paper.svg, e);
    drawCalipers(view, paper);
  });
  window.addEventListener("pointerup", () => { dragging = false; });
}

function clearCalipers(paper) {
  paper.marks = null;
  paper.layer.replaceChildren();
  const out = document.getElementById("caliper-readout");
  out.textContent = "";
  delete out.dataset.ms;
  delete out.dataset.mv;
}

/** Two vertical legs (time), two horizontal ticks (amplitude), and the reading. */
function drawCalipers(view, paper) {
  const { a, b } = paper.marks;
  const h = paper.heightMm;
  const line = (x1, y1, x2, y2, cls) => svgEl("line", { x1, y1, x2, y2, class: cls });
  const ms = (Math.abs(b.x - a.x) / view.speed) * 1000;
  const mv = (a.y - b.y) / view.gain; // up is positive
  const label = svgEl("text", { x: Math.max(a.x, b.x) + 1, y: Math.min(a.y, b.y) - 1, class: "caliper-text" });
  label.textContent = caliperText(ms, mv);
  paper.layer.replaceChildren(
    line(a.x, 0, a.x, h, "leg"), line(b.x, 0, b.x, h, "leg"),
    line(a.x, a.y, b.x, a.y, "span"), line(b.x - 3, b.y, b.x + 3, b.y, "tick"), line(a.x - 3, a.y, a.x + 3, a.y, "tick"),
    label,
  );
  const out = document.getElementById("caliper-readout");
  out.textContent = label.textContent;
  out.dataset.ms = ms.toFixed(1);
  out.dataset.mv = mv.toFixed(3);
}

function caliperText(ms, mv) {
  const rate = ms > 0 ? Math.round(60000 / ms) : 0;
  return t("{ms} ms ({rate}/min) · {mv} mV", { ms: Math.round(ms), rate, mv: mv.toFixed(2) });
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "queue") initQueue();
  if (page === "ecg") { initTools(); initAddendum(); initEcg(); }
});
