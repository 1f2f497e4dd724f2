"""Scale-out: the FHIR projector folding one backlog with 1 and then 2 processes (Kafka only).

Each run: a fresh namespace, N EcgSubmitted events encoded beforehand, then `goldenhour
serve` processes running only the FHIR projector and the patient projector
(GOLDENHOUR_PROCESSORS, as a region's replicas) join their consumer groups; once Kafka
shows every partition of the projector's group assigned, the events are appended and the
clock runs until both projectors' checkpoints (stored with their views) reach the log's
end. Two workloads: one patient per ECG and every ECG of a few patients (each Patient fed
by several partitions of clinic.ecg; the projector re-keys its facts to patient.facts, so
one patient projector process writes it: tests/integration/test_scale_out.py). The figure
is the 2-process rate beside the 1-process rate ("raw" column); ratio 2 processes / 1
(2.00x would be perfect scaling on a machine with cores to spare).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import tempfile
import time
from pathlib import Path

from avro_schemas.catalogue import CLINIC_ECG
from avro_schemas.codec import Codec
from avro_schemas.events import ECG_SUBMITTED
from bench.common import Figure, Result, bench_settings, main, payloads
from eventlog.base import NewRecord
from eventlog.kafka import KafkaEventLog
from services.ingest.ecg_models import EcgIn, ecg_event
from services.settings import Settings
from services.system import System, bootstrap
from stream_processors.fhir_projector.patients import PROCESSOR as PATIENT_PROJECTOR
from stream_processors.fhir_projector.processor import PROCESSOR as FHIR_PROJECTOR
from tests.processes import start_serve

N = int(os.environ.get("BENCH_SCALE_OUT_N", "200"))
SHARED_PATIENTS = 3  # the shared workload: every Patient fed from several partitions
APPEND_CHUNK = 50
GROUPS = (FHIR_PROJECTOR.name, PATIENT_PROJECTOR.name)  # what each process runs
JOIN_TIMEOUT_S = 120  # processes starting and their group's assignment settling
FOLD_TIMEOUT_S = 900


def _records(n: int, patients: int) -> list[NewRecord]:
    codec, now = Codec(), dt.datetime.now(dt.UTC)
    out = []
    for body in payloads(n, patients):
        event = ecg_event(EcgIn.model_validate(body), now)
        value = codec.encode(ECG_SUBMITTED, event)
        out.append(NewRecord(body["ecg_id"], value, body["event_id"]))
    return out


def _await_assigned(system: System, members: int) -> None:
    """Until Kafka shows `members` members of the projector's group sharing every partition."""
    assert isinstance(system.log, KafkaEventLog)
    partitions = sum(system.log.partition_count(t) for t in FHIR_PROJECTOR.topics)
    deadline = time.monotonic() + JOIN_TIMEOUT_S
    while time.monotonic() < deadline:
        owned = system.log.group_members(FHIR_PROJECTOR.name).values()
        if len(owned) == members and all(owned) and sum(map(len, owned)) == partitions:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{members} projector processes never shared the partitions")


def _fold_seconds(system: System, records: list[NewRecord]) -> float:
    """Append `records` and time until both projectors' checkpoints reach the log's end (the
    FHIR projector's first: it appends the facts the patient projector folds)."""
    start = time.perf_counter()
    for i in range(0, len(records), APPEND_CHUNK):
        system.log.append(CLINIC_ECG, records[i : i + APPEND_CHUNK])
    for runner in [r for name in GROUPS for r in system.runners if r.projection.name == name]:
        while runner.lag() > 0:
            if time.perf_counter() - start > FOLD_TIMEOUT_S:
                raise RuntimeError(f"{runner.projection.name} still {runner.lag()} behind")
            time.sleep(0.1)
    return time.perf_counter() - start


def _rate(processes: int, records: list[NewRecord], tmp: Path) -> tuple[float, int]:
    """(events/s folded by `processes` projector processes, batches they refolded)."""
    settings: Settings = bench_settings("kafka+cassandra", tmp / f"data-{processes}")
    outputs = [tmp / f"projector-{processes}-{i}.log" for i in range(processes)]
    system = bootstrap(settings.model_copy(update={"run_processors": False}))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        env = {"GOLDENHOUR_PROCESSORS": ",".join(GROUPS)}
        for out in outputs:
            procs.append(start_serve(settings, env=env, output=out)[0])
        _await_assigned(system, processes)
        seconds = _fold_seconds(system, records)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        system.close()
    refolds = sum(
        out.read_text(errors="replace").count("after a version conflict") for out in outputs
    )
    return len(records) / seconds, refolds


def _workload(name: str, patients: int, tmp: Path) -> Figure:
    records = _records(N, patients)
    one, _ = _rate(1, records, tmp)
    two, refolds = _rate(2, records, tmp)
    print(
        f"scale-out [{name}]: 1 process {one:.1f} events/s; 2 processes {two:.1f} events/s "
        f"({refolds} batches refolded on a version conflict); ratio {two / one:.2f}x",
        flush=True,
    )
    return Figure(
        f"FHIR projector scale-out, {N} ECG events, {name}: 2 processes vs 1",
        "kafka+cassandra",
        f"{two:.1f} events/s (2 processes)",
        f"{one:.1f} events/s (1 process)",
        two / one,
    )


def run(backend: str) -> Result:
    if backend != "kafka+cassandra":
        return None  # the embedded log has one consumer per group: nothing to scale
    with tempfile.TemporaryDirectory() as tmp:
        return [
            _workload("one patient per ECG", N, Path(tmp)),
            _workload(
                f"{SHARED_PATIENTS} patients shared by every ECG", SHARED_PATIENTS, Path(tmp)
            ),
        ]


if __name__ == "__main__":
    main(run)
