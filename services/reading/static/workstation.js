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
  input.addEventListener("input", () => localStorage.setItem(READER_KEY, input.value.trim()));
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
    const resp = await fetch("/reading/queue-rows", { headers: { Accept: "text/html" } });
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

/** The report body from the form: confirmed statements, SNOMED codes, interpretation. */
function reportBody(form) {
  const checked = (name) => Array.from(form.querySelectorAll(`input[name="${name}"]:checked`));
  const confirmed = checked("confirmed").map((el) => el.value);
  const codes = checked("code").map((el) => ({
    system: el.dataset.system, code: el.value, display: el.dataset.display,
  }));
  let text = form.querySelector("#interpretation").value.trim();
  if (!text) text = [...codes.map((c) => c.display), ...confirmed].join(". ");
  return { reader_id: readerId(), interpretation: text, codes, confirmed_statements: confirmed };
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
  list.replaceChildren(...body.codes.map((c) => {
    const li = document.createElement("li");
    li.textContent = `${c.display} (SNOMED CT ${c.code})`;
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

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "queue") initQueue();
  if (page === "ecg") initEcg();
});
