// The ED board and the region view: live by server-sent events, no framework.
// The server renders every fragment (escaped once, in Python, in the user's language and
// time zone); this script only swaps them in, keeps what the clinician is typing, ticks
// countdowns and ages with the same words (the page's #messages block, from the one
// catalogue: services/i18n), and posts the handover acceptance.
"use strict";

(function () {
  const body = document.body;
  const content = document.getElementById("live-content");
  const liveText = document.getElementById("live-text");
  const live = document.getElementById("live");
  const NAME_KEY = "goldenhour.clinicianName";
  let offlineTimer = null;
  const MESSAGES = JSON.parse(document.getElementById("messages").textContent || "{}");
  const CLOCK = new Intl.DateTimeFormat(body.dataset.lang || "zh-CN", {
    timeZone: body.dataset.tz || "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });

  /** The catalogue's text for `id`, its {placeholders} filled from `params`. */
  function t(id, params) {
    const text = MESSAGES[id] || id;
    return text.replace(/\{([a-z_]+)\}/g, function (all, name) {
      return params && name in params ? String(params[name]) : all;
    });
  }

  function minutesText(ms) {
    const m = ms >= 0 ? Math.floor(ms / 60000) : -Math.floor(-ms / 60000);
    return m > 0 ? t("in {n} min", { n: m }) : m === 0 ? t("due now") : t("{n} min late", { n: -m });
  }

  // As services/i18n.age_text: beyond a day the server's date stays (null: leave it).
  function ageText(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) { return t("just now"); }
    if (s < 7200) { return t("{n} min ago", { n: Math.floor(s / 60) }); }
    if (s < 86400) { return t("{n} h ago", { n: Math.floor(s / 3600) }); }
    return null;
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll(".eta[data-eta]").forEach(function (e) {
      const b = e.querySelector(".eta-minutes");
      if (b) { b.textContent = minutesText(new Date(e.dataset.eta).getTime() - now); }
    });
    document.querySelectorAll("[data-age]").forEach(function (e) {
      const text = ageText(now - new Date(e.dataset.age).getTime());
      if (text !== null) { e.textContent = text; }
    });
    const clock = document.getElementById("clock");
    if (clock) { clock.textContent = CLOCK.format(new Date()); }
  }

  function prefillNames(root) {
    const name = localStorage.getItem(NAME_KEY) || "";
    root.querySelectorAll("form.accept input[name=accepted_by]").forEach(function (i) {
      if (!i.value) { i.value = name; }
    });
  }

  // Swap in a new fragment, keeping typed names and the focused field of each card.
  function swap(html) {
    const typed = {};
    let focused = null;
    content.querySelectorAll("form.accept").forEach(function (f) {
      const input = f.querySelector("input[name=accepted_by]");
      typed[f.dataset.incidentId] = input.value;
      if (document.activeElement === input) { focused = f.dataset.incidentId; }
    });
    content.innerHTML = html;
    content.querySelectorAll("form.accept").forEach(function (f) {
      const input = f.querySelector("input[name=accepted_by]");
      if (typed[f.dataset.incidentId]) { input.value = typed[f.dataset.incidentId]; }
      if (focused === f.dataset.incidentId) { input.focus(); }
    });
    prefillNames(content);
    tick();
  }

  function setLive(ok) {
    live.classList.toggle("offline", !ok);
    liveText.textContent = ok ? t("live") : t("reconnecting…");
  }

  function connect() {
    const source = new EventSource(body.dataset.events + "?since=" + encodeURIComponent(body.dataset.digest || ""));
    source.onopen = function () { clearTimeout(offlineTimer); offlineTimer = null; setLive(true); };
    // The server ends each stream after a few seconds and the browser reconnects at once;
    // only a reconnection that takes long is shown.
    source.onerror = function () {
      if (!offlineTimer) { offlineTimer = setTimeout(function () { setLive(false); }, 3000); }
    };
    source.addEventListener(body.dataset.page, function (ev) {
      const data = JSON.parse(ev.data);
      body.dataset.digest = data.digest;
      swap(data.html);
    });
  }

  function showError(text) {
    const box = document.getElementById("error");
    if (!box) { return; }
    box.textContent = text;
    box.hidden = !text;
  }

  async function accept(form) {
    const input = form.querySelector("input[name=accepted_by]");
    const name = input.value.trim();
    if (!name) { input.focus(); return; }
    localStorage.setItem(NAME_KEY, name);
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    try {
      const resp = await fetch(form.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ accepted_by: name }),
      });
      if (!resp.ok) {
        const outcome = await resp.json().catch(function () { return {}; });
        const issue = (outcome.issue || [{}])[0];
        throw new Error(issue.diagnostics || t("HTTP {status}", { status: resp.status }));
      }
      showError("");
      const cards = await fetch("/board/" + encodeURIComponent(body.dataset.hospitalId) + "/cards");
      if (cards.ok) { swap(await cards.text()); }
    } catch (err) {
      showError(t("Handover not accepted: {error}", { error: err.message }));
      form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
    }
  }

  document.addEventListener("submit", function (ev) {
    const form = ev.target;
    if (form.matches && form.matches("form.accept")) { ev.preventDefault(); accept(form); }
  });

  prefillNames(document);
  tick();
  setInterval(tick, 1000);
  connect();
})();
