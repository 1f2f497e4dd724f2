"""FHIR reads over HTTP: audited reads beside a bare FastAPI app, and the raw store reads.

Data: BENCH_FHIR_ECGS clinic ECGs (10 s, 12 leads) over BENCH_FHIR_PATIENTS patients, posted
through the ingest API and folded by the real processors. Then:
- audited read: `GET /fhir/Patient/{id}` over the patients, cycled, by BENCH_FHIR_CLIENTS
  client processes at once (BENCH_FHIR_READS_PER_CLIENT each, BENCH_FHIR_ROUNDS rounds
  alternating with the raw: 3,000 samples a side by default, for a p99), every read
  audited durably before its answer (services/auth/audit.py) and folded into an AuditEvent
  by the server's processors, as `serve` runs them. Raw: a bare FastAPI app on uvicorn in a
  process of its own (bench/bare_fhir.py) serving the same Patient bytes from a dict, read
  by the same client processes: the same HTTP work minus our layer.
One client, sequential:
- $everything: `GET /fhir/Patient/{id}/$everything` (the ECG waveforms included, ~0.5 MB
  each); raw: the same lookups and `store.read`s in process.
- search: `GET /fhir/Observation?patient=..&code=..` (the measurement panels); raw: the
  lookups of both criteria and the reads of the page.

Comparison: HAPI FHIR JPA server was looked for on Maven Central (2026-11):
`ca.uhn.hapi.fhir:hapi-fhir-jpaserver-starter` is not published there (404; it is a
GitHub project built into a WAR with Maven), `hapi-fhir-cli` (whose `run-server` once
started a JPA server) is not there either, and `hapi-fhir-jpaserver-base` 8.8.0 is a
library that needs the starter's Spring Boot application around it. So the raw store read
of the same rows is the comparison; it is the floor of what any FHIR layer over this store
can do.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

from avro_schemas.catalogue import AUDIT
from bench.common import (
    Figure,
    answers,
    bare_server,
    body_bytes,
    latency_summary,
    main,
    payloads,
    server_settings,
)
from eventlog.group_commit import group_appender
from kernel.ids import resource_id
from services.fhir_api.everything import PATIENT_LINKS
from services.server import Server
from stream_processors.fhir_projector.measured_to_fhir import measurement_observation_id
from viewstore.base import ViewStore

ECGS = int(os.environ.get("BENCH_FHIR_ECGS", "40"))
PATIENTS = int(os.environ.get("BENCH_FHIR_PATIENTS", "10"))
CLIENTS = int(os.environ.get("BENCH_FHIR_CLIENTS", "4"))
READS_PER_CLIENT = int(os.environ.get("BENCH_FHIR_READS_PER_CLIENT", "250"))
ROUNDS = int(os.environ.get("BENCH_FHIR_ROUNDS", "3"))  # ours, raw, ours, raw, ...
WARM_UP_READS = 20  # per client, before the timed reads (connection, caches)
START_DELAY_S = 3.0  # client processes start together this long after they are submitted
EVERYTHINGS = int(os.environ.get("BENCH_FHIR_EVERYTHINGS", "50"))
SEARCHES = int(os.environ.get("BENCH_FHIR_SEARCHES", "300"))
LOAD_TIMEOUT_S = 300.0
PANEL = "http://loinc.org|34534-8"  # the automatic measurements' 12 lead EKG panel

Ref = tuple[str, str]


def _load(server: Server) -> tuple[list[Ref], list[str]]:
    """Posts the ECGs, waits until every resource they make is in the view; (small
    resources, patient ids)."""
    refs: list[Ref] = []
    patients: set[str] = set()
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        for body in payloads(ECGS, PATIENTS):
            resp = client.post(
                "/ingest/ecg",
                content=body_bytes(body),
                headers={"content-type": "application/json"},
            )
            resp.raise_for_status()
            key = body["ecg_id"]
            patients.add(resp.json()["patient"].split("/")[1])
            refs += [
                ("Observation", measurement_observation_id(key)),
                ("ServiceRequest", resource_id("ServiceRequest", "ecg-read", key)),
                ("Task", resource_id("Task", "ecg-read", key)),
            ]
    wanted = refs + [("Patient", p) for p in patients]
    deadline = time.monotonic() + LOAD_TIMEOUT_S
    store = server.system.store
    while any(store.read(*ref) is None for ref in wanted):
        if time.monotonic() > deadline:
            raise RuntimeError("the processors did not fold the benchmark's ECGs in time")
        time.sleep(0.2)
    return refs + [("Patient", p) for p in sorted(patients)], sorted(patients)


def _timed(n: int, call: Callable[[int], object]) -> tuple[list[float], float]:
    """Latencies of n calls and the wall time of all of them."""
    lat = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        call(i)
        lat.append(time.perf_counter() - t0)
    return lat, time.perf_counter() - start


def _get(client: httpx.Client, url: str, params: dict[str, str] | None = None) -> bytes:
    resp = client.get(url, params=params)
    resp.raise_for_status()
    return resp.content


def _raw_everything(store: ViewStore, patient: str) -> int:
    found = [store.read("Patient", patient)]
    for rtype, index in PATIENT_LINKS.items():
        for t, i in store.lookup(index, f"Patient/{patient}"):
            if t == rtype:
                found.append(store.read(rtype, i))
    return len(json.dumps([len(r.body) for r in found if r is not None]))


def _raw_search(store: ViewStore, patient: str) -> int:
    by_patient = {i for t, i in store.lookup("Observation.subject", f"Patient/{patient}")}
    by_code = {i for t, i in store.lookup("Observation.code", PANEL)}
    return sum(
        len(r.body) for i in sorted(by_patient & by_code) if (r := store.read("Observation", i))
    )


def _figure(
    name: str,
    backend: str,
    ours: tuple[list[float], float],
    raw: tuple[list[float], float],
    unit: str,
) -> Figure:
    (o_lat, o_wall), (r_lat, r_wall) = ours, raw
    o_rate, r_rate = len(o_lat) / o_wall, len(r_lat) / r_wall
    print(
        f"{name} [{backend}]: ours {o_rate:.1f} {unit}/s {latency_summary(o_lat)}; "
        f"raw {r_rate:.1f} {unit}/s {latency_summary(r_lat)}",
        flush=True,
    )
    return Figure(
        name,
        backend,
        f"{o_rate:.1f} {unit}/s, {latency_summary(o_lat)}",
        f"{r_rate:.1f} {unit}/s, {latency_summary(r_lat)}",
        o_rate / r_rate,
    )


def run(backend: str) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = server_settings(backend, Path(tmp))
        server = Server(settings)
        server.start()
        try:
            return _measure(server, backend)
        finally:
            server.stop()


# -- concurrent audited reads vs a bare FastAPI app -------------------------------------------

Timing = tuple[list[float], float, float]  # latencies, wall-clock start, wall-clock end


def _client(base_url: str, paths: list[str], n: int, start_at: float) -> Timing:
    """One client process: warm up, wait for the common start, then n sequential GETs."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for i in range(WARM_UP_READS):
            _get(client, paths[i % len(paths)])
        time.sleep(max(0.0, start_at - time.time()))
        lat, start = [], time.time()
        for i in range(n):
            t0 = time.perf_counter()
            _get(client, paths[i % len(paths)])
            lat.append(time.perf_counter() - t0)
        return lat, start, time.time()


def _concurrent(base_url: str, paths: list[str]) -> tuple[list[float], float]:
    """All clients' latencies and the wall time from the first read to the last."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(CLIENTS, mp_context=context) as pool:
        start_at = time.time() + START_DELAY_S
        futures = [
            pool.submit(_client, base_url, paths[c:] + paths[:c], READS_PER_CLIENT, start_at)
            for c in range(CLIENTS)
        ]
        timings = [f.result() for f in futures]
    lat = [x for t in timings for x in t[0]]
    return lat, max(t[2] for t in timings) - min(t[1] for t in timings)


@contextmanager
def bare_app(bodies: dict[str, str], workers: int = 1) -> Iterator[str]:
    """The bare FastAPI app in its own uvicorn process (`workers` > 1: uvicorn's worker
    processes on one socket); yields its base URL."""
    from tests.conftest import free_port

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bodies.json"
        path.write_text(json.dumps(bodies))
        port = free_port()
        cmd = [sys.executable, "-m", "uvicorn", "bench.bare_fhir:app", "--port", str(port)]
        cmd += ["--workers", str(workers)] if workers > 1 else []
        url = f"http://127.0.0.1:{port}"
        env = {"BENCH_BARE_BODIES": str(path)}
        ready = f"{url}/fhir/Patient/{next(iter(bodies))}"
        with bare_server([*cmd, "--log-level", "warning"], lambda: answers(ready), env):
            yield url


def _audited_reads(server: Server, backend: str, patients: list[str]) -> Figure:
    paths = [f"/fhir/Patient/{p}" for p in patients]
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        bodies = {p: _get(client, path).decode() for p, path in zip(patients, paths, strict=True)}
    audit_before = _audit_records(server)
    commits = group_appender(server.system.log, AUDIT)
    appends_before = commits.appends
    o_lat: list[float] = []
    r_lat: list[float] = []
    o_wall = r_wall = 0.0
    with bare_app(bodies) as url:
        # Alternating rounds: the machine's load (other jobs) falls on both sides alike.
        for _ in range(ROUNDS):
            lat, wall = _concurrent(server.base_url, paths)
            o_lat, o_wall = o_lat + lat, o_wall + wall
            lat, wall = _concurrent(url, paths)
            r_lat, r_wall = r_lat + lat, r_wall + wall
    audited = _audit_records(server) - audit_before
    # Records per durable append: how far the group commit shared its fsyncs / produces.
    per_commit = audited / max(1, commits.appends - appends_before)
    o_rate, r_rate = len(o_lat) / o_wall, len(r_lat) / r_wall
    name = f"FHIR read (Patient), {CLIENTS} client processes, each read audited"
    print(
        f"{name} [{backend}]: ours {o_rate:.1f} reads/s {latency_summary(o_lat)} "
        f"({audited} audit records for {len(o_lat) + ROUNDS * CLIENTS * WARM_UP_READS} reads, "
        f"{per_commit:.2f} per durable append); "
        f"bare FastAPI {r_rate:.1f} reads/s {latency_summary(r_lat)}; {len(o_lat)} samples each",
        flush=True,
    )
    return Figure(
        name,
        backend,
        f"{o_rate:.1f} reads/s, {latency_summary(o_lat)}, {per_commit:.1f} audit records/commit",
        f"{r_rate:.1f} reads/s, {latency_summary(r_lat)} (bare FastAPI, same bytes)",
        o_rate / r_rate,
    )


def _audit_records(server: Server) -> int:
    """Records in the audit topic: every read above must have added one."""
    return sum(server.system.log.end_offsets(AUDIT).values())


def _measure(server: Server, backend: str) -> list[Figure]:
    refs, patients = _load(server)
    store = server.system.store
    figures = [_audited_reads(server, backend, patients)]
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        every = _timed(
            EVERYTHINGS,
            lambda i: _get(
                client,
                f"/fhir/Patient/{patients[i % len(patients)]}/$everything",
                {"_count": "500"},
            ),
        )
        raw_every = _timed(
            EVERYTHINGS, lambda i: _raw_everything(store, patients[i % len(patients)])
        )
        search = _timed(
            SEARCHES,
            lambda i: _get(
                client, "/fhir/Observation", {"patient": patients[i % len(patients)], "code": PANEL}
            ),
        )
        raw_search = _timed(SEARCHES, lambda i: _raw_search(store, patients[i % len(patients)]))
    return figures + [
        _figure(
            f"FHIR Patient/$everything ({ECGS // PATIENTS} ECGs a patient), 1 client",
            backend,
            every,
            raw_every,
            "ops",
        ),
        _figure(
            "FHIR search Observation?patient&code, 1 client",
            backend,
            search,
            raw_search,
            "searches",
        ),
    ]


if __name__ == "__main__":
    main(run)
