// The crew tablet app: forms and one-tap buttons that write entries to the outbox
// (outbox.js), a record of the incident as this tablet knows it, and the sync state.
// Strings come from the page's #messages block (the one catalogue, services/i18n, in the
// page's language; ids are the English texts), never from here. Codes (statuses, vital
// signs, SNOMED picks, event types) are named through /crew/reference.json's `labels`.

import { describe } from "./gb11643.js";
import { openDb, Sync } from "./outbox.js";
import { problems } from "./vitals.js";

const SETTINGS_KEY = "goldenhour.crew.settings";
const CURRENT_KEY = "goldenhour.crew.current";

let ref = null; // /crew/reference.json
let text = {}; // message id -> this language's text (the page's #messages block)
let store = null;
let sync = null;
let incidents = []; // every incident this tablet holds, from IndexedDB
let pending = []; // every outbox entry
let noticeTimer = null;

// -- small helpers ---------------------------------------------------------------------------

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** A message of the catalogue (its English id) in the page's language, `{name}` filled. */
function t(id, params = {}) {
  const template = text[id] ?? id;
  return template.replace(/\{(\w+)\}/g, (_, name) => (params[name] === undefined ? `{${name}}` : String(params[name])));
}

/** The name of a code of `kind` (a status, vital sign, SNOMED pick…): its catalogue id from
 * the reference, translated; `fallback` (or the code) for one it does not name (a partner's). */
function label(kind, code, fallback) {
  const id = ((ref && ref.labels[kind]) || {})[code];
  return id ? t(id) : fallback || code;
}

const unitLabel = (ucum) => label("unit", ucum, ucum);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const pad = (n) => String(n).padStart(2, "0");

/** Now, with the tablet's UTC offset (the API refuses a time without one). */
function nowIso(date = new Date()) {
  const off = -date.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const abs = Math.abs(off);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

const stamp = (d = new Date()) =>
  `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
const shortRandom = () => newId().replace(/-/g, "").slice(0, 4).toUpperCase();
const DEFAULT_ZONE = "Asia/Shanghai"; // the project's default zone; a tablet may set its own
const clock = (iso) =>
  new Date(iso).toLocaleTimeString(document.documentElement.lang, {
    hour12: false,
    timeZone: settings().tz || DEFAULT_ZONE,
  });

function settings() {
  try {
    return JSON.parse(localStorage.getItem(SETTINGS_KEY)) || {};
  } catch {
    return {};
  }
}

function notice(message, kind = "info") {
  const box = $("#notice");
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  clearTimeout(noticeTimer);
  if (kind === "info") noticeTimer = setTimeout(() => (box.hidden = true), 6000);
}

function showTab(name) {
  for (const s of $$("main > section")) s.hidden = s.dataset.section !== name;
  for (const b of $$("#tabs button")) b.classList.toggle("active", b.dataset.tab === name);
}

// -- the incident as this tablet knows it -------------------------------------------------------

const currentId = () => localStorage.getItem(CURRENT_KEY);
const current = () => incidents.find((i) => i.id === currentId());

/** Synced entries, then pending ones, in order: what the crew has recorded. */
function entries(incident) {
  if (!incident) return [];
  const synced = incident.log.map((x) => ({ ...x, state: "synced" }));
  const waiting = pending
    .filter((p) => p.incident_id === incident.id)
    .map((p) => ({ event: p.event, origin: "mine", state: "pending" }));
  return [...synced, ...waiting];
}

async function reload() {
  [incidents, pending] = await Promise.all([store.incidents(), store.pending()]);
  incidents.sort((a, b) => (a.opened_at < b.opened_at ? 1 : -1));
  render();
}

async function record(type, fields) {
  const incident = current();
  if (!incident) {
    notice(t("No incident yet: start one first"), "warn");
    showTab("incident");
    return false;
  }
  const event = { type, event_id: newId(), occurred_at: nowIso(), ...fields };
  await store.add(incident.id, event);
  notice(`${label("event", type)}：${t("Saved on this tablet, waiting to sync")}`);
  await reload();
  sync.kick();
  return true;
}

// -- rendering ----------------------------------------------------------------------------------

function render() {
  renderSync();
  renderIncidents();
  renderTimeline();
  renderLog();
  const incident = current();
  $("#incident-label").textContent = incident ? `${incident.id} · ${incident.dispatch_reason}` : t("No incident yet: start one first");
}

function renderSync() {
  const out = $("#sync-state");
  const n = pending.length;
  const s = sync ? sync.state : { online: null };
  out.dataset.pending = String(n);
  out.dataset.online = s.online === null ? "unknown" : String(s.online);
  let status = s.online === false ? t("Offline") : t("Online");
  if (s.notAllowed) status = t("Token invalid or not allowed: update it in Settings");
  out.textContent = `${status} · ${n ? t("{n} waiting to sync", { n }) : t("All synced")}`;
}

function renderIncidents() {
  const list = $("#incident-list");
  list.replaceChildren(
    ...incidents.map((inc) =>
      el(
        "li",
        { dataset: { incidentId: inc.id }, class: inc.id === currentId() ? "current" : "" },
        el(
          "button",
          {
            type: "button",
            onclick: () => {
              localStorage.setItem(CURRENT_KEY, inc.id);
              render();
              showTab("timeline");
            },
          },
          `${clock(inc.opened_at)} · ${inc.dispatch_reason} · ${inc.id}`,
        ),
      ),
    ),
  );
}

function unitStatuses(incident) {
  const unit = incident ? incident.unit_id : null;
  const done = new Map();
  for (const { event } of entries(incident)) {
    if (event.type === "UnitStatusChanged" && event.unit_id === unit) done.set(event.status, event.occurred_at);
  }
  return done;
}

/** The status buttons, made once: re-rendering updates them in place, so a tap is never
 * lost to a button replaced under the finger while the sync re-renders the page. */
function buildTimeline() {
  $("#status-buttons").replaceChildren(
    ...ref.statuses.map((status) =>
      el(
        "button",
        {
          type: "button",
          class: "status",
          dataset: { status },
          onclick: () => {
            const incident = current();
            if (incident) record("UnitStatusChanged", { unit_id: incident.unit_id, status });
          },
        },
        el("span", { class: "label" }, label("status", status)),
        el("span", { class: "time" }),
      ),
    ),
  );
}

function renderTimeline() {
  const incident = current();
  const done = unitStatuses(incident);
  const rank = Math.max(-1, ...[...done.keys()].map((s) => ref.statuses.indexOf(s)));
  ref.statuses.forEach((status, i) => {
    const button = $(`#status-buttons button[data-status="${status}"]`);
    const at = done.get(status);
    button.classList.toggle("done", Boolean(at));
    button.classList.toggle("next", i === rank + 1);
    button.disabled = !incident || i <= rank;
    $(".time", button).textContent = at ? `${t("recorded")} ${clock(at)}` : "";
  });
}

function summary(event) {
  switch (event.type) {
    case "IncidentOpened":
      return `${event.dispatch_reason} (${event.priority})`;
    case "UnitStatusChanged":
      return `${event.unit_id} ${label("status", event.status)}`;
    case "PatientRecorded": {
      const id = (event.identifiers || [])[0];
      const name = `${event.family || ""}${event.given || ""}`;
      return [name, id ? id.value : event.temporary_id, event.gender ? label("gender", event.gender) : ""]
        .filter(Boolean)
        .join(" ");
    }
    case "VitalsRecorded":
      return event.vitals.map((v) => `${label("vital", v.code, v.code)} ${v.value} ${unitLabel(v.unit)}`).join("，");
    case "InterventionPerformed":
      return `${label("intervention", event.code.code, event.code.display)}${event.note ? `（${event.note}）` : ""}`;
    case "MedicationGiven":
      return [
        label("medication", event.medication.code, event.medication.display),
        `${event.dose.value} ${event.dose.unit}`,
        label("route", event.route.code, event.route.display),
      ].join(" ");
    case "EcgAcquired":
      return event.ecg_id;
    case "PreAlertRaised":
      return `${label("prealert", event.kind)} → ${hospitalName(event.destination_id)}`;
    case "HandoverSubmitted":
      return `→ ${hospitalName(event.destination_id)}`;
    case "HandoverAccepted":
      return event.accepted_by;
    default:
      return "";
  }
}

function logItem({ event, origin, state }, why) {
  const badge = state === "synced" ? (origin === "partner" ? t("partner tablet") : t("synced")) : label("log", state);
  return el(
    "li",
    { dataset: { eventId: event.event_id, type: event.type, origin, state } },
    el("time", { datetime: event.occurred_at }, clock(event.occurred_at)),
    el("strong", {}, label("event", event.type)),
    el("span", { class: "what" }, summary(event)),
    el("span", { class: "badge" }, badge),
    why ? el("span", { class: "why" }, why) : null,
  );
}

function renderLog() {
  const incident = current();
  const items = entries(incident).map((x) => logItem(x));
  if (incident) {
    for (const ev of incident.merged || []) items.push(logItem({ event: ev, origin: "mine", state: "merged" }));
    for (const r of incident.refused || []) items.push(logItem({ event: r.event, origin: "mine", state: "refused" }, r.why));
  }
  $("#log").replaceChildren(...items);
}

function hospitalName(id) {
  const h = ref.hospitals.find((x) => x.id === id);
  return h ? h.names[document.documentElement.lang] || h.names["zh-CN"] || id : id;
}

// -- forms --------------------------------------------------------------------------------------

function formValue(form, name) {
  const field = form.elements[name];
  return field ? String(field.value || "").trim() : "";
}

async function openIncident(form) {
  const s = settings();
  if (!s.station_id || !s.unit_id) {
    notice(t("{field} is required", { field: `${t("EMS station")}/${t("Unit")}` }), "warn");
    showTab("settings");
    return;
  }
  const opened_at = nowIso();
  const incident = {
    id: `INC-${stamp()}-${shortRandom()}`,
    station_id: s.station_id,
    unit_id: s.unit_id,
    dispatch_reason: formValue(form, "dispatch_reason"),
    opened_at,
    version: 0,
    log: [],
    refused: [],
    merged: [],
  };
  const address = formValue(form, "address");
  const event = {
    type: "IncidentOpened",
    event_id: newId(),
    occurred_at: opened_at,
    dispatch_reason: incident.dispatch_reason,
    priority: formValue(form, "priority") || "1",
    station_id: s.station_id,
    unit_id: s.unit_id,
    scene: address ? { address } : null,
  };
  await store.openIncident(incident, event);
  localStorage.setItem(CURRENT_KEY, incident.id);
  form.reset();
  notice(`${label("event", "IncidentOpened")}：${t("Saved on this tablet, waiting to sync")}`);
  await reload();
  showTab("timeline");
  sync.kick();
}

function residentHelp(input) {
  const d = describe(input.value);
  const help = $("#resident-id-help");
  const params = { ...d.params };
  if (d.state === "ok") params.sex = label("gender", d.gender);
  help.textContent = t(d.key, params);
  help.dataset.state = d.state;
  if (d.state === "ok") {
    const gender = $(`#patient-form input[name=gender][value=${d.gender}]`);
    if (gender) gender.checked = true;
  }
  return d;
}

async function savePatient(form) {
  const identified = formValue(form, "identified") === "yes";
  const gender = formValue(form, "gender") || null;
  let fields;
  if (identified) {
    const d = residentHelp(form.elements.resident_id);
    if (d.state !== "ok") {
      form.elements.resident_id.focus();
      return;
    }
    fields = {
      identifiers: [{ system: ref.resident_id_system, value: d.value }],
      family: formValue(form, "family") || null,
      given: formValue(form, "given") || null,
      gender,
      birth_date: d.birthDate,
    };
  } else {
    const age = formValue(form, "estimated_age_years");
    fields = {
      identifiers: [],
      temporary_id: formValue(form, "temporary_id"),
      gender,
      estimated_age_years: age === "" ? null : Number(age),
    };
  }
  if (await record("PatientRecorded", fields)) showTab("log");
}

function toggleIdentified(form) {
  const identified = formValue(form, "identified") === "yes";
  $("#identified-fields").hidden = !identified;
  $("#unidentified-fields").hidden = identified;
  if (!identified && !form.elements.temporary_id.value) {
    form.elements.temporary_id.value = `EMS-${stamp().slice(0, 8)}-${shortRandom()}`;
  }
}

function vitalValues(form) {
  const values = {};
  for (const kind of ref.vitals) {
    const raw = formValue(form, kind.code);
    if (raw !== "") values[kind.code] = Number(raw);
  }
  return values;
}

function checkVitals(form) {
  const found = problems(vitalValues(form), ref.vitals, ref.blood_pressure);
  for (const box of $$(".vital", form)) box.dataset.problem = found.some((p) => p.code === box.dataset.code) ? "yes" : "no";
  $("#vitals-problems").textContent = found
    .map((p) => t(p.key, { ...p.params, name: label("vital", p.params.name), unit: p.params.unit && unitLabel(p.params.unit) }))
    .join("；");
  return found;
}

async function saveVitals(form) {
  const values = vitalValues(form);
  if (!Object.keys(values).length) {
    $("#vitals-problems").textContent = t("Fill in at least one");
    return;
  }
  if (checkVitals(form).length) return;
  const vitals = ref.vitals.filter((k) => k.code in values).map((k) => ({ code: k.code, value: values[k.code], unit: k.unit }));
  if (await record("VitalsRecorded", { vitals })) form.reset();
}

function buildVitals() {
  $("#vital-fields").replaceChildren(
    ...ref.vitals.map((k) =>
      el(
        "label",
        { class: "vital", dataset: { code: k.code } },
        el("span", {}, `${label("vital", k.code)}（${unitLabel(k.unit)}）`),
        el("input", { name: k.code, type: "number", step: k.integer ? "1" : "any", inputmode: "decimal" }),
        el("small", {}, t("Recordable {low}–{high} {unit}", { low: k.low, high: k.high, unit: unitLabel(k.unit) })),
      ),
    ),
  );
}

function coding(prefix, code) {
  return { system: ref.snomed, code, display: label(prefix, code) };
}

function buildTreatment() {
  $("#intervention-buttons").replaceChildren(
    ...ref.interventions.map((code) =>
      el(
        "button",
        {
          type: "button",
          dataset: { code },
          onclick: async () => {
            const note = $("#intervention-note").value.trim() || null;
            if (await record("InterventionPerformed", { code: coding("intervention", code), note })) $("#intervention-note").value = "";
          },
        },
        label("intervention", code),
      ),
    ),
  );
  const form = $("#medication-form");
  form.elements.unit.replaceChildren(...ref.dose_units.map((u) => el("option", { value: u }, u)));
  form.elements.route.replaceChildren(...ref.routes.map((r) => el("option", { value: r }, label("route", r))));
  $("#medication-choices").replaceChildren(
    ...ref.medications.map((m, i) =>
      el(
        "label",
        { class: "pick" },
        el("input", {
          type: "radio",
          name: "medication",
          value: m.code,
          checked: i === 0,
          onchange: () => {
            form.elements.dose.value = m.dose;
            form.elements.unit.value = m.unit;
            form.elements.route.value = m.route;
          },
        }),
        el("span", {}, label("medication", m.code)),
      ),
    ),
  );
  const first = ref.medications[0];
  form.elements.dose.value = first.dose;
  form.elements.unit.value = first.unit;
  form.elements.route.value = first.route;
}

async function giveMedication(form) {
  const code = formValue(form, "medication");
  const dose = Number(formValue(form, "dose"));
  if (!(dose > 0)) {
    form.elements.dose.focus();
    return;
  }
  await record("MedicationGiven", {
    medication: coding("medication", code),
    dose: { value: dose, unit: formValue(form, "unit") },
    route: coding("route", formValue(form, "route")),
  });
}

/** An ECG as the tablet API takes it: sampling rate and the 12 leads in µV. */
function checkEcg(doc) {
  const leads = doc && doc.leads;
  if (!leads || typeof leads !== "object") return "leads";
  const missing = ref.leads.filter((l) => !Array.isArray(leads[l]));
  if (missing.length) return missing.join(", ");
  if (!(doc.sampling_rate_hz >= 100 && doc.sampling_rate_hz <= 2000)) return "sampling_rate_hz";
  return null;
}

async function attachEcg(doc) {
  const why = checkEcg(doc);
  if (why) {
    $("#ecg-result").textContent = t("Not a 12-lead ECG: {why}", { why });
    return;
  }
  const s = settings();
  const ecg_id = `${current() ? current().unit_id : "ecg"}-${stamp()}-${shortRandom()}`;
  const leads = Object.fromEntries(ref.leads.map((l) => [l, doc.leads[l].map((x) => Math.round(x))]));
  const ok = await record("EcgAcquired", {
    ecg_id,
    device: { id: s.device_id || "tablet" },
    sampling_rate_hz: doc.sampling_rate_hz,
    units: "uV",
    leads,
  });
  if (ok) {
    const seconds = (leads.I.length / doc.sampling_rate_hz).toFixed(1);
    $("#ecg-result").textContent = t("ECG {id} recorded ({leads} leads, {seconds} s)", { id: ecg_id, leads: ref.leads.length, seconds });
  }
}

function buildDestinations() {
  for (const select of $$("select.destinations")) {
    if (!ref.hospitals.length) {
      // No registry yet (a development setup): the crew types the hospital's id.
      select.replaceWith(el("input", { name: "destination_id", maxlength: "64", class: "destinations", required: true }));
      continue;
    }
    const lang = document.documentElement.lang;
    select.replaceChildren(...ref.hospitals.map((h) => el("option", { value: h.id }, h.names[lang] || h.names["zh-CN"] || h.id)));
  }
  $("#prealert-kinds").append(
    ...ref.prealert_kinds.map((kind, i) =>
      el("label", {}, el("input", { type: "radio", name: "kind", value: kind, checked: i === 0 }), el("span", {}, label("prealert", kind))),
    ),
  );
}

async function sendPreAlert(form) {
  const minutes = formValue(form, "eta_minutes");
  const eta = minutes === "" ? null : nowIso(new Date(Date.now() + Number(minutes) * 60000));
  await record("PreAlertRaised", {
    kind: formValue(form, "kind"),
    destination_id: formValue(form, "destination_id"),
    eta,
    note: formValue(form, "note") || null,
  });
}

/** ATMIST prefilled from what this incident holds; the crew edits before submitting. */
function fillHandover(form) {
  const all = entries(current()).map((x) => x.event);
  const last = (type) => all.filter((e) => e.type === type).at(-1);
  const patient = last("PatientRecorded");
  const opened = last("IncidentOpened");
  const vitals = last("VitalsRecorded");
  const lines = [];
  if (patient) {
    const age = patient.birth_date
      ? new Date().getFullYear() - Number(patient.birth_date.slice(0, 4))
      : patient.estimated_age_years;
    lines.push([age !== undefined && age !== null ? `${age}` : "", patient.gender ? label("gender", patient.gender) : ""].join(" "));
  }
  form.elements.age.value = lines.join("");
  const contact = all.find((e) => e.type === "UnitStatusChanged" && e.status === "AT_PATIENT");
  form.elements.time.value = opened ? `${clock(opened.occurred_at)}${contact ? ` / ${label("status", "AT_PATIENT")} ${clock(contact.occurred_at)}` : ""}` : "";
  form.elements.mechanism.value = opened ? opened.dispatch_reason : "";
  form.elements.injuries.value = all.filter((e) => e.type === "PreAlertRaised").map((e) => label("prealert", e.kind)).join("，");
  form.elements.signs.value = vitals ? summary(vitals) : "";
  form.elements.treatment.value = all
    .filter((e) => e.type === "MedicationGiven" || e.type === "InterventionPerformed")
    .map(summary)
    .join("；");
  const alert = last("PreAlertRaised");
  if (alert && form.elements.destination_id) form.elements.destination_id.value = alert.destination_id;
}

async function submitHandover(form) {
  const atmist = {};
  for (const k of ["age", "time", "mechanism", "injuries", "signs", "treatment"]) atmist[k] = formValue(form, k) || null;
  await record("HandoverSubmitted", {
    destination_id: formValue(form, "destination_id"),
    atmist,
    narrative: formValue(form, "narrative") || null,
  });
}

function buildSettings() {
  const form = $("#settings-form");
  const s = settings();
  for (const name of ["station_id", "unit_id", "device_id", "user_id", "token", "tz"]) form.elements[name].value = s[name] || "";
  const lang = document.documentElement.lang;
  $("#station-ids").replaceChildren(...ref.stations.map((st) => el("option", { value: st.id }, st.names[lang] || st.id)));
  $("#unit-ids").replaceChildren(
    ...ref.stations.flatMap((st) => st.units.map((u) => el("option", { value: u.id }, u.names[lang] || u.id))),
  );
}

function saveSettings(form) {
  const s = {};
  for (const name of ["station_id", "unit_id", "device_id", "user_id", "token", "tz"]) s[name] = formValue(form, name);
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
  notice(t("Settings saved"));
  sync.kick();
}

// -- start --------------------------------------------------------------------------------------

function onSubmit(id, handler) {
  $(id).addEventListener("submit", (ev) => {
    ev.preventDefault();
    handler(ev.currentTarget);
  });
}

function wire() {
  for (const b of $$("#tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  onSubmit("#incident-form", openIncident);
  onSubmit("#patient-form", savePatient);
  onSubmit("#vitals-form", saveVitals);
  onSubmit("#medication-form", giveMedication);
  onSubmit("#prealert-form", sendPreAlert);
  onSubmit("#handover-form", submitHandover);
  onSubmit("#settings-form", saveSettings);
  const patient = $("#patient-form");
  patient.elements.resident_id.addEventListener("input", (ev) => residentHelp(ev.target));
  for (const r of $$("input[name=identified]", patient)) r.addEventListener("change", () => toggleIdentified(patient));
  $("#vitals-form").addEventListener("input", (ev) => checkVitals(ev.currentTarget));
  $("#handover-fill").addEventListener("click", () => fillHandover($("#handover-form")));
  $("#ecg-demo").addEventListener("click", async () => attachEcg(await (await fetch("/crew/demo-ecg.json")).json()));
  $("#ecg-file").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    try {
      await attachEcg(JSON.parse(await file.text()));
    } catch (err) {
      $("#ecg-result").textContent = t("Not a 12-lead ECG: {why}", { why: err.message });
    }
    ev.target.value = "";
  });
  window.addEventListener("online", () => sync.kick());
}

function onSync(what, detail) {
  if (what === "merged" && detail.partner.length) {
    const what_ = detail.partner.map((e) => `${label("event", e.type)} ${summary(e)}`).join("，");
    notice(t("The partner tablet recorded {n}: {what}. Merged; this tablet's {m} follow and are sent again.", { n: detail.partner.length, what: what_, m: detail.resent }), "merge");
  } else if (what === "refused") {
    notice(t("The server refused {n} entries: {why}", { n: detail.refused.length, why: detail.why }), "warn");
  }
  reload();
}

async function start() {
  ref = await (await fetch("/crew/reference.json")).json();
  text = JSON.parse($("#messages").textContent || "{}");
  store = await openDb();
  sync = new Sync(store, settings, onSync);
  buildTimeline();
  buildVitals();
  buildTreatment();
  buildDestinations();
  buildSettings();
  wire();
  showTab(currentId() ? "timeline" : "incident");
  await reload();
  sync.kick();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/crew/sw.js", { scope: "/crew/" }).catch((err) => console.warn("no offline shell", err));
  }
  document.body.dataset.ready = "true";
}

start();
