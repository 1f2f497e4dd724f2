"""FHIR read and search throughput: ours over HTTP, the raw store lookup, and HAPI FHIR.

Data: --patients scripted STEMI calls (services/simulate/stemi_incident.py without the ECG:
a patient identified by resident id, two vital-sign sets: 14 Observations, 2 of them heart
rates) posted to the tablet ingest API of `goldenhour serve` (its own process, processors on)
and folded by the real processors. Then three requests, each cycled over the patients:
- read: `GET /fhir/Patient/{id}`;
- identifier search: `GET /fhir/Patient?identifier={resident id system}|{number}`;
- Observation search: `GET /fhir/Observation?patient={id}&code=http://loinc.org|8867-4`.
Each is measured for --seconds on three sides, in --rounds that alternate the sides so the
machine's other load falls on all of them alike:
- ours: --clients client processes (httpx, one request at a time each) against `serve`,
  every request audited durably before its answer, as in production;
- raw: the same index lookups (the declared search parameters' indexes) and `read`s on the
  view store opened directly in a process of its own, no HTTP, one at a time: the floor of
  any FHIR layer over this store;
- HAPI FHIR: a plain HAPI FHIR 8.8.0 `RestfulServer` with in-memory Patient and Observation
  providers in Jetty 12 (bench/hapi/), built by bench/hapi/build.sh from Maven Central jars
  in the same run, loaded by PUT with the very resources ours serves (every Observation of
  every patient) and read by the same client processes. --skip-hapi (or no `mvn`/`javac`)
  leaves it out, and says so. The plain server, not HAPI's JPA server: the JPA starter is
  not published on Maven Central (bench/fhir_reads.py), and HAPI's in-memory providers
  serve these requests from hash maps, an upper bound for HAPI on this machine;
  hapi-fhir-server 8.12.1, 8.12.0 and 8.10.3 were not served by the registry here: 8.8.0.
Beside HAPI, the read also runs on the floor of any FastAPI server here: the bare app of
bench/bare_fhir.py (nothing of ours: the very Patient bytes from a dict) in as many uvicorn
worker processes as the machine has cores, read by the same clients. bare/HAPI is the most
the user-fixed stack (Python, FastAPI, uvicorn) reaches against HAPI on this machine with no
work at all, so it bounds what ours/HAPI can become by any change of ours.
Before timing, the sides must answer every request with the same resource ids.
Printed: requests/s, p50/p99 latency, peak RSS of each side's process, ours/raw, ours/HAPI,
bare/HAPI.

    python -m bench.fhir_search --backend embedded --patients 100 --seconds 10
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from bench.common import Figure

# Imports of the project stay inside the functions that need them: the client and raw
# processes start from this module (spawn), and bench.common's ECG payloads alone take
# seconds to import and tens of MiB that the raw side's RSS would count.

HEART_RATE = "http://loinc.org|8867-4"
HEART_RATES = 2  # the scripted call records vitals twice
START_DELAY_S = 4.0  # clients spawn and warm up (connections, caches, HAPI's JIT) this long
SEED_TIMEOUT_S = 900.0  # a ceiling for the folds, not a speed requirement
HAPI_DIR = Path(__file__).resolve().parent / "hapi"
HAPI_VERSION = "8.8.0"  # bench/hapi/pom.xml
HAPI_JVM = ["-Xmx1g"]  # ample for a few thousand resources; bounds the JVM's RSS growth
BARE_WORKERS = os.cpu_count() or 1  # HAPI's Jetty uses every core; so does the floor


@dataclass(frozen=True)
class Options:
    """What the command line (or `make bench`'s environment) chose."""

    patients: int = int(os.environ.get("BENCH_SEARCH_PATIENTS", "100"))
    seconds: float = float(os.environ.get("BENCH_SEARCH_SECONDS", "10"))
    rounds: int = int(os.environ.get("BENCH_SEARCH_ROUNDS", "2"))
    clients: int = int(os.environ.get("BENCH_SEARCH_CLIENTS", "4"))
    hapi: bool = not os.environ.get("BENCH_SKIP_HAPI")


@dataclass(frozen=True)
class Seed:
    """One seeded patient: its Patient id and its identifier token (`system|value`)."""

    patient: str
    identifier: str


@dataclass(frozen=True)
class Workload:
    """One kind of request: its label and, per seeded patient, its URL (path and query)."""

    name: str
    label: str
    url: Callable[[Seed], str]


WORKLOADS = (
    Workload("read", "FHIR read Patient/{id}", lambda s: f"/fhir/Patient/{s.patient}"),
    Workload(
        "identifier",
        "FHIR search Patient?identifier=system|value",
        lambda s: "/fhir/Patient?" + str(httpx.QueryParams({"identifier": s.identifier})),
    ),
    Workload(
        "observation",
        "FHIR search Observation?patient&code (heart rate: 2 hits a patient)",
        lambda s: (
            "/fhir/Observation?"
            + str(httpx.QueryParams({"patient": s.patient, "code": HEART_RATE}))
        ),
    ),
)


@dataclass(frozen=True)
class Timing:
    """One side's measurement: every latency, and the wall time from first start to last end."""

    latencies: list[float]
    wall_s: float

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall_s

    def __add__(self, other: Timing) -> Timing:
        return Timing(self.latencies + other.latencies, self.wall_s + other.wall_s)


def combined(parts: list[tuple[list[float], float, float]]) -> Timing:
    """Concurrent parts (latencies, start, end) as one timing: every latency, over the wall
    time from the earliest start to the latest end."""
    return Timing(
        [x for lat, _, _ in parts for x in lat],
        max(end for _, _, end in parts) - min(start for _, start, _ in parts),
    )


def answer_ids(body: dict[str, Any]) -> list[str]:
    """The ids a FHIR answer holds: the resource read, or a searchset's entries, sorted."""
    if body.get("resourceType") == "Bundle":
        return sorted(e["resource"]["id"] for e in body.get("entry", []))
    return [body["id"]]


# -- seeding through the tablet ingest API ------------------------------------------------------


def resident_id(i: int) -> str:
    """The i-th distinct, valid resident id (GB 11643: region, birth date, sequence, check)."""
    from services.simulate.stemi_incident import valid_resident_id

    born = dt.date(1950, 1, 1) + dt.timedelta(days=i // 1000)
    return valid_resident_id(f"110105{born:%Y%m%d}{i % 1000:03d}")


def _post_incidents(client: httpx.Client, n: int) -> list[str]:
    """Posts n scripted calls (ECG left out: these requests do not touch it); their ids."""
    from avro_schemas.events import ECG_ACQUIRED, short
    from services.simulate.stemi_incident import stemi_incident

    tag, residents = time.time_ns(), []
    for i in range(n):
        incident, resident = f"bench-search-{tag}-{i}", resident_id(i)
        events = [
            e
            for e in stemi_incident(incident, resident_id=resident)
            if e["type"] != short(ECG_ACQUIRED)
        ]
        body = {"expected_version": 0, "events": events}
        client.post(f"/ingest/incidents/{incident}/events", json=body).raise_for_status()
        residents.append(resident)
    return residents


def _folded(client: httpx.Client, identifier: str) -> Seed | None:
    """The patient once its Patient and both heart rates are in the view, else None."""
    found = client.get("/fhir/Patient", params={"identifier": identifier}).json()
    if not found.get("entry"):
        return None
    patient = Seed(found["entry"][0]["resource"]["id"], identifier)
    rates = client.get("/fhir/Observation", params={"patient": patient.patient, "code": HEART_RATE})
    return patient if len(rates.json().get("entry", [])) == HEART_RATES else None


def seed_patients(base: str, patients: int) -> list[Seed]:
    """Posts the calls and waits until the processors have folded every one of them."""
    from kernel.codes import RESIDENT_ID
    from tests.waits import wait_until

    with httpx.Client(base_url=base, timeout=60) as client:
        residents = _post_incidents(client, patients)
        return [
            wait_until(
                lambda r=r: _folded(client, f"{RESIDENT_ID}|{r}"),  # type: ignore[misc]
                f"patient {r} folded",
                SEED_TIMEOUT_S,
                interval_s=0.2,
            )
            for r in residents
        ]


# -- HTTP clients and the raw process -----------------------------------------------------------


def timed_loop(call: Callable[[int], object], start_at: float, stop_at: float) -> tuple[Any, ...]:
    """Calls `call(0)`, `call(1)`, ...: untimed until `start_at` (warm-up: connections, caches,
    a JIT), then timed one at a time until `stop_at`; (latencies, start, end)."""
    i = 0
    while time.time() < start_at:
        call(i)
        i += 1
    lat, start = [], time.time()
    while time.time() < stop_at:
        t0 = time.perf_counter()
        call(i)
        lat.append(time.perf_counter() - t0)
        i += 1
    return lat, start, time.time()


def _client(base: str, urls: list[str], start_at: float, stop_at: float) -> tuple[Any, ...]:
    """One client process: GETs one at a time, cycling over `urls` (timed_loop)."""
    with httpx.Client(base_url=base, timeout=60) as client:
        return timed_loop(
            lambda i: client.get(urls[i % len(urls)]).raise_for_status(), start_at, stop_at
        )


def _announce(started: Any) -> None:
    started.put(os.getpid())  # the pool's initializer: this process is up and imported


def _pool(stack: ExitStack, n: int) -> tuple[ProcessPoolExecutor, list[int]]:
    """A pool of n spawned processes, returned with their pids once every one of them is up
    (imports done), so that no timed start waits for a process to come up."""
    spawn = multiprocessing.get_context("spawn")
    started = spawn.Queue()
    pool = stack.enter_context(
        ProcessPoolExecutor(n, mp_context=spawn, initializer=_announce, initargs=(started,))
    )
    for _ in range(n):  # a process is spawned per task submitted while none is idle
        pool.submit(int)
    return pool, [started.get(timeout=120) for _ in range(n)]


def _over_http(pool: Executor, clients: int, base: str, urls: list[str], seconds: float) -> Timing:
    start_at = time.time() + START_DELAY_S
    futures = [
        pool.submit(_client, base, urls[c:] + urls[:c], start_at, start_at + seconds)
        for c in range(clients)
    ]
    return combined([f.result() for f in futures])


def raw_call(store: Any, workload: str, seed: Seed) -> list[str]:
    """What the API does for `workload` minus HTTP, auth, audit and Bundle: the declared
    parameters' index lookups and the reads; the ids found, sorted."""
    from kernel.search_params import SEARCH_PARAMS

    if workload == "read":
        found = store.read("Patient", seed.patient)
        return [found.id] if found else []
    if workload == "identifier":
        ids = {
            i
            for _, i in store.lookup(SEARCH_PARAMS["Patient"]["identifier"].index, seed.identifier)
        }
        rtype = "Patient"
    else:
        params = SEARCH_PARAMS["Observation"]
        by_patient = store.lookup(params["patient"].index, f"Patient/{seed.patient}")
        by_code = store.lookup(params["code"].index, HEART_RATE)
        ids = {i for _, i in by_patient} & {i for _, i in by_code}
        rtype = "Observation"
    return sorted(r.id for i in sorted(ids) if (r := store.read(rtype, i)) is not None)


def _raw_process(
    store_url: str, data_dir: str, workload: str, seeds: list[Seed], start_at: float, stop_at: float
) -> tuple[Any, ...]:
    """The raw side in its own process: every request's answer once, then a warm-up until
    `start_at` and the timed calls until `stop_at`; (answers, latencies, start, end)."""
    from services.backends import open_store

    store = open_store(store_url, Path(data_dir))
    try:
        answers = [raw_call(store, workload, s) for s in seeds]
        lat, start, end = timed_loop(
            lambda i: raw_call(store, workload, seeds[i % len(seeds)]), start_at, stop_at
        )
        return answers, lat, start, end
    finally:
        store.close()


# -- HAPI FHIR -----------------------------------------------------------------------------------


def build_hapi(out: Path) -> str | None:
    """Builds the HAPI server into `out`; None when built, else why it could not be."""
    missing = [tool for tool in ("mvn", "javac", "java") if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not on PATH"
    done = subprocess.run(
        ["bash", str(HAPI_DIR / "build.sh"), str(out)], capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        return f"bench/hapi/build.sh failed: {(done.stdout + done.stderr).strip()[-800:]}"
    return None


@contextmanager
def hapi_server(out: Path) -> Iterator[tuple[str, int]]:
    """The built HAPI server in its own JVM; yields (base URL, pid)."""
    from tests.conftest import free_port

    port = free_port()
    cmd = ["java", *HAPI_JVM, "-cp", f"{out}/classes:{out}/lib/*", "HapiBenchServer", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_up(base + "/fhir/metadata", proc)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the HAPI server did not answer {url} (exit {proc.poll()})")


def load_hapi(ours: str, hapi: str, seeds: list[Seed]) -> int:
    """PUTs every Patient and every Observation of the seeded patients, as ours serves them,
    into the HAPI server; how many resources."""
    n = 0
    with httpx.Client(base_url=ours, timeout=60) as src, httpx.Client(base_url=hapi) as dst:
        for s in seeds:
            page = src.get("/fhir/Observation", params={"patient": s.patient, "_count": "1000"})
            resources = [src.get(f"/fhir/Patient/{s.patient}").json()]
            resources += [e["resource"] for e in page.json().get("entry", [])]
            for r in resources:
                dst.put(
                    f"/fhir/{r['resourceType']}/{r['id']}",
                    content=json.dumps(r).encode(),
                    headers={"content-type": "application/fhir+json"},
                ).raise_for_status()
            n += len(resources)
    return n


# -- the run -------------------------------------------------------------------------------------


def patient_bodies(base: str, seeds: list[Seed]) -> dict[str, str]:
    """Each seeded Patient's id -> the exact body ours answers its read with."""
    with httpx.Client(base_url=base, timeout=60) as client:
        return {
            s.patient: client.get(f"/fhir/Patient/{s.patient}").raise_for_status().text
            for s in seeds
        }


def _answers(base: str, urls: list[str]) -> list[list[str]]:
    with httpx.Client(base_url=base, timeout=60) as client:
        return [answer_ids(client.get(u).raise_for_status().json()) for u in urls]


@dataclass(frozen=True)
class Sides:
    """Where each side runs during one backend's measurement, and the pools that drive them."""

    ours: str
    store_url: str
    data_dir: Path
    clients: Executor  # the client processes, shared by ours and HAPI
    raw: Executor  # the raw side's own process
    hapi: str | None = None
    bare: str | None = None  # the bare FastAPI floor, for the read only


def _check_same(workload: Workload, sides: Sides, urls: list[str], raw: list[list[str]]) -> None:
    """Refuses to time sides that do not give the same answers."""
    ours = _answers(sides.ours, urls)
    if ours != raw:
        raise RuntimeError(f"{workload.name}: ours and the raw lookup differ: {ours} vs {raw}")
    if sides.hapi and (hapi := _answers(sides.hapi, urls)) != ours:
        raise RuntimeError(f"{workload.name}: ours and HAPI differ: {ours} vs {hapi}")
    if sides.bare and _bare_side(workload, sides) and (bare := _answers(sides.bare, urls)) != ours:
        raise RuntimeError(f"{workload.name}: ours and the bare app differ: {ours} vs {bare}")


def _bare_side(workload: Workload, sides: Sides) -> bool:
    """Whether the bare FastAPI floor runs `workload` (the read, when HAPI runs beside)."""
    return sides.bare is not None and workload.name == "read"


def _over_raw(
    sides: Sides, workload: Workload, seeds: list[Seed], seconds: float
) -> tuple[list[list[str]], Timing]:
    """The raw side's answers and timing, from its own process."""
    start_at = time.time() + START_DELAY_S
    args = (sides.store_url, str(sides.data_dir), workload.name, seeds, start_at)
    answers, lat, start, end = sides.raw.submit(_raw_process, *args, start_at + seconds).result()
    return answers, Timing(lat, end - start)


def measure(
    workload: Workload, sides: Sides, seeds: list[Seed], options: Options
) -> dict[str, Timing]:
    """The workload on every side, in alternating rounds (ours, raw, HAPI, ours, ...); each
    side's timings summed over the rounds."""
    urls = [workload.url(s) for s in seeds]
    totals: dict[str, Timing] = {}
    for r in range(options.rounds):
        timings = {
            "ours": _over_http(sides.clients, options.clients, sides.ours, urls, options.seconds)
        }
        answers, timings["raw"] = _over_raw(sides, workload, seeds, options.seconds)
        if r == 0:
            _check_same(workload, sides, urls, answers)
        if sides.hapi:
            timings["hapi"] = _over_http(
                sides.clients, options.clients, sides.hapi, urls, options.seconds
            )
        if _bare_side(workload, sides):
            assert sides.bare is not None
            timings["bare"] = _over_http(
                sides.clients, options.clients, sides.bare, urls, options.seconds
            )
        for side, t in timings.items():
            totals[side] = totals[side] + t if side in totals else t
    return totals


def figures(
    workload: Workload, backend: str, t: dict[str, Timing], rss: dict[str, float], options: Options
) -> list[Figure]:
    """Prints the workload's figures; the README rows: ours vs raw, and ours vs HAPI."""
    from bench.common import Figure, latency_summary

    def text(side: str) -> str:
        summary = latency_summary(t[side].latencies)
        memory = f", RSS {rss[side]:.0f} MiB" if side in rss else ""  # bare: several processes
        return f"{t[side].rate:.1f} req/s, {summary}{memory}"

    vs_hapi = (
        f"; HAPI {text('hapi')}; ours/HAPI {t['ours'].rate / t['hapi'].rate:.3g}x"
        if "hapi" in t
        else ""
    )
    if "bare" in t:
        vs_hapi += f"; bare {text('bare')}; bare/HAPI {t['bare'].rate / t['hapi'].rate:.3g}x"
    print(
        f"{workload.label} [{backend}]: ours {text('ours')}; raw {text('raw')}; "
        f"ours/raw {t['ours'].rate / t['raw'].rate:.3g}x{vs_hapi} "
        f"({len(t['ours'].latencies)} samples ours)",
        flush=True,
    )
    clients = f"{options.clients} client processes"
    out = [
        Figure(
            f"{workload.label}, {clients}, each request audited",
            backend,
            text("ours"),
            f"{text('raw')} (index lookups + store reads, own process, no HTTP)",
            t["ours"].rate / t["raw"].rate,
        )
    ]
    if "hapi" in t:
        out.append(
            Figure(
                f"{workload.label}, {clients}: ours vs HAPI FHIR {HAPI_VERSION} (plain "
                "RestfulServer, in-memory providers, Jetty 12, same resources)",
                backend,
                text("ours"),
                f"HAPI {text('hapi')}",
                t["ours"].rate / t["hapi"].rate,
            )
        )
    if "bare" in t:
        out.append(
            Figure(
                f"{workload.label}, {clients}: the floor of the user-fixed stack, a bare "
                f"FastAPI app ({BARE_WORKERS} uvicorn processes, the same bytes from a dict, "
                "nothing of ours) vs HAPI",
                backend,
                f"bare {text('bare')}",
                f"HAPI {text('hapi')}",
                t["bare"].rate / t["hapi"].rate,
            )
        )
    return out


def _hapi_build(options: Options) -> Path | None:
    """The built HAPI server's folder, or None (printed why) when it is left out."""
    out = HAPI_DIR / "target"
    why = "--skip-hapi" if not options.hapi else build_hapi(out)
    if why:
        print(f"HAPI FHIR: not measured: {why}", flush=True)
        return None
    return out


def run(backend: str, options: Options | None = None) -> list[Figure]:
    """Every workload on `backend` (`embedded` or `kafka+cassandra`), with HAPI beside."""
    from bench.common import backend_urls, peak_rss_mib
    from services.settings import Settings
    from tests.processes import start_serve

    options = options or Options()
    hapi_build = _hapi_build(options)
    with tempfile.TemporaryDirectory() as tmp:
        log_url, store_url = backend_urls(backend, Path(tmp))
        settings = Settings(data_dir=Path(tmp), log_url=log_url, store_url=store_url)
        proc, base = start_serve(settings)
        try:
            began = time.monotonic()
            seeds = seed_patients(base, options.patients)
            print(
                f"FHIR search [{backend}]: {len(seeds)} patients posted and folded in "
                f"{time.monotonic() - began:.0f} s",
                flush=True,
            )
            results, rss = _measure_all(backend, base, settings, seeds, hapi_build, options)
            rss["ours"] = peak_rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
            _drop(log_url, store_url)
    return [f for w, m in results for f in figures(w, backend, m, rss, options)]


def _measure_all(
    backend: str,
    base: str,
    settings: Any,
    seeds: list[Seed],
    hapi_build: Path | None,
    options: Options,
) -> tuple[list[tuple[Workload, dict[str, Timing]]], dict[str, float]]:
    """Every workload on every side; and the peak RSS of the raw and HAPI processes."""
    from bench.common import peak_rss_mib
    from bench.fhir_reads import bare_app

    rss: dict[str, float] = {}
    with ExitStack() as stack:
        hapi = bare = None
        if hapi_build:
            hapi, hapi_pid = stack.enter_context(hapi_server(hapi_build))
            n = load_hapi(base, hapi, seeds)
            print(f"HAPI FHIR [{backend}]: loaded {n} resources", flush=True)
            bare = stack.enter_context(bare_app(patient_bodies(base, seeds), BARE_WORKERS))
        clients, _ = _pool(stack, options.clients)
        raw, (raw_pid,) = _pool(stack, 1)
        sides = Sides(base, settings.store_url, settings.data_dir, clients, raw, hapi, bare)
        results = [(w, measure(w, sides, seeds, options)) for w in WORKLOADS]
        rss["raw"] = peak_rss_mib(raw_pid)
        if hapi:
            rss["hapi"] = peak_rss_mib(hapi_pid)
    return results, rss


def _drop(log_url: str, store_url: str) -> None:
    """A Kafka + Cassandra run's topics and keyspace go with it (they fill the shared nodes)."""
    from tests.conftest import delete_topics, drop_keyspace

    drop_keyspace(store_url)
    delete_topics(log_url)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--backend",
        choices=("embedded", "kafka-cassandra"),
        action="append",
        help="default: every backend available (Kafka + Cassandra when "
        "GOLDENHOUR_TEST_KAFKA and GOLDENHOUR_TEST_CASSANDRA are set)",
    )
    defaults = Options()
    parser.add_argument("--patients", type=int, default=defaults.patients)
    parser.add_argument(
        "--seconds", type=float, default=defaults.seconds, help="per side, per round"
    )
    parser.add_argument("--rounds", type=int, default=defaults.rounds)
    parser.add_argument("--clients", type=int, default=defaults.clients)
    parser.add_argument("--skip-hapi", action="store_true", help="leave HAPI FHIR out (no Maven)")
    args = parser.parse_args(argv)
    options = replace(
        defaults,
        patients=args.patients,
        seconds=args.seconds,
        rounds=args.rounds,
        clients=args.clients,
        hapi=defaults.hapi and not args.skip_hapi,
    )
    from bench.common import backends

    chosen = [b.replace("-", "+") for b in args.backend] if args.backend else backends()
    rows = [f.row() for b in chosen for f in run(b, options)]
    print("\n".join(["", *rows]))


if __name__ == "__main__":
    main()
