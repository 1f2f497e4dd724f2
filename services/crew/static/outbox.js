// The tablet's outbox: every entry is written to IndexedDB first, then synced in order with
// the tablet API's expected-version protocol (services/ingest/tablet_routes.py).
//
// Delivery reasoning, in order:
// 1. An entry is an event with its own event_id, made here: the server's idempotency key.
//    A batch resent after a lost answer is answered as a replay, never appended twice.
// 2. Entries of one incident go in outbox order (IndexedDB auto-increment `seq`), as one
//    batch at the incident's version as this tablet knows it (`expected_version`).
// 3. 202: the entries leave the outbox and join the incident's record in one transaction.
// 4. 409 with `missed-events`: another tablet (or the hospital) wrote meanwhile. Its events
//    join the record (shown as the partner's), the version moves to the server's, entries
//    that repeat a fact the partner recorded (the same unit status) are dropped, and the
//    rest are resent after them: the outbox is re-based, nothing lost, nothing doubled.
// 5. 422: the server names the refused entries (`events[i]`); they leave the outbox for the
//    record's refused list, with the reason, and the rest are resent.
// 6. No network, 5xx: everything stays; retried with a short back-off and on `online`.

const DB_NAME = "goldenhour-crew";
const DB_VERSION = 1;
const MAX_BATCH = 500; // the tablet API's MAX_BATCH
const MAX_ROUNDS = 20; // per incident per pass: re-bases and refusals each take one
const RETRY_S = [1, 2, 4, 5]; // back-off; a tablet back in coverage syncs within seconds
const EXT = "https://goldenhour.health/fhir/StructureDefinition/";

class Offline extends Error {}
class NotAllowed extends Error {}

function done(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export async function openDb() {
  const req = indexedDB.open(DB_NAME, DB_VERSION);
  req.onupgradeneeded = () => {
    const db = req.result;
    db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true }).createIndex("incident", "incident_id");
    db.createObjectStore("incidents", { keyPath: "id" });
  };
  return new Store(await done(req));
}

/** IndexedDB: the outbox (pending entries) and each incident's record as this tablet knows it. */
export class Store {
  constructor(db) {
    this.db = db;
  }

  async _tx(stores, mode, work) {
    const t = this.db.transaction(stores, mode);
    const finished = new Promise((resolve, reject) => {
      t.oncomplete = resolve;
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
    const result = await work(t);
    await finished;
    return result;
  }

  incidents() {
    return this._tx(["incidents"], "readonly", (t) => done(t.objectStore("incidents").getAll()));
  }

  incident(id) {
    return this._tx(["incidents"], "readonly", (t) => done(t.objectStore("incidents").get(id)));
  }

  async pending(incidentId) {
    const all = await this._tx(["outbox"], "readonly", (t) => done(t.objectStore("outbox").getAll()));
    return incidentId === undefined ? all : all.filter((e) => e.incident_id === incidentId);
  }

  /** A new incident and its IncidentOpened entry, in one transaction. */
  openIncident(incident, event) {
    return this._tx(["incidents", "outbox"], "readwrite", async (t) => {
      await done(t.objectStore("incidents").put(incident));
      return done(t.objectStore("outbox").add({ incident_id: incident.id, event }));
    });
  }

  add(incidentId, event) {
    return this._tx(["outbox"], "readwrite", (t) => done(t.objectStore("outbox").add({ incident_id: incidentId, event })));
  }

  /** Apply `change(incident)` and delete outbox entries `seqs`, in one transaction. */
  update(id, seqs, change) {
    return this._tx(["incidents", "outbox"], "readwrite", async (t) => {
      const incidents = t.objectStore("incidents");
      const incident = await done(incidents.get(id));
      change(incident);
      await done(incidents.put(incident));
      for (const seq of seqs) await done(t.objectStore("outbox").delete(seq));
      return incident;
    });
  }
}

function extension(outcome, name) {
  return (outcome.extension || []).find((e) => e.url === EXT + name);
}

/** Indexes of refused batch entries named by a 422's issues (`events[3]`, `events.3.x`). */
function refusedIndexes(outcome) {
  const out = new Set();
  for (const issue of outcome.issue || []) {
    for (const where of issue.expression || []) {
      const m = /^events[.[](\d+)/.exec(where);
      if (m) out.add(Number(m[1]));
    }
  }
  return out;
}

function diagnostics(outcome) {
  const issues = outcome.issue || [];
  return issues.slice(issues.length > 1 ? 1 : 0).map((i) => i.diagnostics).join("; ");
}

/** The sync loop: one pass at a time, incidents in outbox order, entries in outbox order. */
export class Sync {
  constructor(store, settings, listener) {
    this.store = store;
    this.settings = settings; // () => {device_id, user_id, token}
    this.listener = listener; // (what, detail) => void: "state", "merged", "refused", "synced"
    this.running = false;
    this.again = false;
    this.failures = 0;
    this.timer = null;
    this.state = { online: null, notAllowed: false, retryIn: 0 };
    this.single = new Set(); // incidents sent one entry at a time to isolate a refusal
  }

  kick() {
    clearTimeout(this.timer);
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this._loop().finally(() => {
      this.running = false;
    });
  }

  async _loop() {
    try {
      do {
        this.again = false;
        await this._pass();
      } while (this.again);
      this.failures = 0;
      this.state = { online: true, notAllowed: false, retryIn: 0 };
    } catch (err) {
      if (err instanceof NotAllowed) {
        this.state = { online: true, notAllowed: true, retryIn: 0 };
      } else {
        if (!(err instanceof Offline)) console.warn("sync failed, will retry", err);
        const wait = RETRY_S[Math.min(this.failures, RETRY_S.length - 1)];
        this.failures += 1;
        this.state = { online: false, notAllowed: false, retryIn: wait };
        this.timer = setTimeout(() => this.kick(), wait * 1000);
      }
    }
    this.listener("state", this.state);
  }

  async _pass() {
    const entries = await this.store.pending();
    for (const id of [...new Set(entries.map((e) => e.incident_id))]) await this._incident(id);
  }

  async _incident(id) {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const size = this.single.has(id) ? 1 : MAX_BATCH;
      const entries = (await this.store.pending(id)).slice(0, size);
      if (!entries.length) {
        this.single.delete(id);
        return;
      }
      const incident = await this.store.incident(id);
      const resp = await this._post(id, incident.version, entries);
      if (resp.ok) {
        await this._accepted(incident, entries, await resp.json());
        continue;
      }
      const outcome = await resp.json().catch(() => ({}));
      if (resp.status === 409 && extension(outcome, "missed-events")) {
        await this._rebase(incident, outcome);
      } else if ([401, 403].includes(resp.status)) {
        throw new NotAllowed(diagnostics(outcome));
      } else if ([404, 409, 422].includes(resp.status)) {
        await this._refused(incident, entries, outcome);
      } else {
        throw new Offline(`HTTP ${resp.status}`);
      }
    }
  }

  async _post(id, version, entries) {
    const { device_id, user_id, token } = this.settings();
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const body = {
      expected_version: version,
      device_id: device_id || null,
      user_id: user_id || null,
      events: entries.map((e) => e.event),
    };
    try {
      return await fetch(`/ingest/incidents/${encodeURIComponent(id)}/events`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        cache: "no-store",
      });
    } catch (err) {
      throw new Offline(String(err));
    }
  }

  async _accepted(incident, entries, answer) {
    const seqs = entries.map((e) => e.seq);
    const firstNew = answer.events.find((e) => !e.duplicate);
    const inOrder = !answer.events.some((e) => e.duplicate) && firstNew && firstNew.sequence === incident.version + 1;
    if (inOrder) {
      const updated = await this.store.update(incident.id, seqs, (inc) => {
        answer.events.forEach((a, i) => inc.log.push({ event: entries[i].event, origin: "mine", sequence: a.sequence }));
        inc.version = answer.version;
      });
      this.listener("synced", updated);
      return;
    }
    // A replay (our earlier attempt landed, its answer was lost) or someone wrote between:
    // read what the incident holds after our version, in the log's order.
    await this._catchUp(incident, entries, seqs);
  }

  async _catchUp(incident, entries, seqs) {
    const { token } = this.settings();
    let resp;
    try {
      resp = await fetch(`/ingest/incidents/${encodeURIComponent(incident.id)}/events?since=${incident.version}`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        cache: "no-store",
      });
    } catch (err) {
      throw new Offline(String(err));
    }
    if (!resp.ok) throw new Offline(`HTTP ${resp.status}`);
    const doc = await resp.json();
    const mine = new Set(entries.map((e) => e.event.event_id));
    const updated = await this.store.update(incident.id, seqs, (inc) => {
      const known = new Set(inc.log.map((x) => x.event.event_id));
      doc.events.forEach((event, i) => {
        if (known.has(event.event_id)) return;
        inc.log.push({ event, origin: mine.has(event.event_id) ? "mine" : "partner", sequence: incident.version + i + 1 });
      });
      inc.version = doc.version;
    });
    this.listener("synced", updated);
  }

  async _rebase(incident, outcome) {
    const version = extension(outcome, "incident-version").valueInteger;
    const missed = JSON.parse(extension(outcome, "missed-events").valueString);
    const pending = await this.store.pending(incident.id);
    const pendingIds = new Set(pending.map((e) => e.event.event_id));
    const partner = [];
    const drop = [];
    await this.store.update(incident.id, [], (inc) => {
      const known = new Set(inc.log.map((x) => x.event.event_id));
      missed.forEach((event, i) => {
        if (known.has(event.event_id)) return;
        const origin = pendingIds.has(event.event_id) ? "mine" : "partner";
        inc.log.push({ event, origin, sequence: incident.version + i + 1 });
        if (origin === "partner") partner.push(event);
      });
      inc.version = version;
      // Entries the log now holds (ours that landed) or that repeat a partner's status.
      const statuses = new Set(
        inc.log.filter((x) => x.event.type === "UnitStatusChanged").map((x) => `${x.event.unit_id}/${x.event.status}`),
      );
      const inLog = new Set(inc.log.map((x) => x.event.event_id));
      for (const entry of pending) {
        const ev = entry.event;
        if (inLog.has(ev.event_id)) drop.push(entry);
        else if (ev.type === "UnitStatusChanged" && statuses.has(`${ev.unit_id}/${ev.status}`)) {
          drop.push(entry);
          inc.merged = [...(inc.merged || []), ev];
        }
      }
    });
    const seqs = drop.map((e) => e.seq);
    const rebased = await this.store.update(incident.id, seqs, () => {});
    this.listener("merged", { incident: rebased, partner, resent: pending.length - drop.length });
  }

  async _refused(incident, entries, outcome) {
    let indexes = refusedIndexes(outcome);
    if (!indexes.size) {
      if (entries.length > 1) {
        this.single.add(incident.id); // isolate the refused entry: one at a time from here
        return;
      }
      indexes = new Set([0]);
    }
    const why = diagnostics(outcome);
    const refused = entries.filter((_, i) => indexes.has(i));
    const updated = await this.store.update(
      incident.id,
      refused.map((e) => e.seq),
      (inc) => {
        inc.refused = [...(inc.refused || []), ...refused.map((e) => ({ event: e.event, why }))];
      },
    );
    this.listener("refused", { incident: updated, refused, why });
  }
}
