"""Two processes of one processor on Kafka share its partitions and survive one being killed.

Two `goldenhour serve` processes run only the FHIR projector and the patient projector
(GOLDENHOUR_PROCESSORS, as a region's deployments of two replicas each do) in one
namespace; ECGs are appended to `clinic.ecg` (6 partitions, keyed by ECG). Two workloads:
- one patient per ECG: every resource has one writer (one partition feeds it);
- ECGs of two patients: each Patient is fed from several partitions of `clinic.ecg`. The
  FHIR projector does not write it: it re-keys what each ECG says of its patient to
  `patient.facts`, keyed by the Patient (fhir_projector/patient_facts.py), so the one
  patient projector process owning that partition writes it. Before, both processes wrote
  it and lost updates on Cassandra (each checked, then wrote, the same next version: a
  Patient v86 where a rebuild gave v90).

Checked with Kafka's own view of the groups (the admin API's DescribeGroups, what
`kafka-consumer-groups.sh --describe` prints): both members own partitions of each group;
after one process is SIGKILLed mid-stream, the survivor owns them all. Then: no process
paused on a version conflict, every ECG has its Observation, and the views (every
resource's current version, byte for byte, and its number of versions) equal a rebuild of
both projectors from offset 0.

`goldenhour rebuild` on Kafka sets every processor's group offsets to 0 before replaying
and commits as it goes (so Kafka's lag tools tell how much is left): it is refused, before
dropping anything, while a member of a group is running, and afterwards every group's
committed offsets are at the log's end, derived events not derived twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from avro_schemas.catalogue import CLINIC_ECG, READING
from avro_schemas.codec import Codec
from avro_schemas.events import ECG_SUBMITTED
from eventlog.base import Consumer, NewRecord, TopicPartition
from eventlog.kafka import KafkaEventLog
from services.ingest.ecg_models import EcgIn, ecg_event
from services.ingest.resident_id import check_char
from services.settings import Settings
from services.system import System
from stream_processors.ecg_measurement.processor import PROCESSOR as MEASURER
from stream_processors.fhir_projector.patients import PROCESSOR as PATIENT_PROJECTOR
from stream_processors.fhir_projector.processor import PROCESSOR as FHIR_PROJECTOR
from stream_processors.runner import Runner
from tests.conftest import BACKENDS, delete_topics, drop_keyspace
from tests.ecg_payloads import ecg_payload
from tests.faults.checks import current_views, event_id_counts, system_of, view_differences
from tests.processes import run_rebuild, start_serve

pytestmark = [
    # Kafka and Cassandra only: the embedded log has one consumer per group.
    pytest.mark.parametrize("settings", [p for p in BACKENDS if p.id != "embedded"], indirect=True),
    pytest.mark.timeout(900),
]

GROUP = FHIR_PROJECTOR.name
GROUPS = (GROUP, PATIENT_PROJECTOR.name)  # what each process runs; folded in this order
SHARED_PATIENTS = 2  # each fed by ECGs in several partitions of clinic.ecg
ECGS_BEFORE = 60  # folded by the two processes together
ECGS_DURING = 120  # appended while one process is killed
APPEND_CHUNK = 6  # ECGs per append: a chunk lands on several partitions
KILL_AFTER_S = 0.7  # of the 2 s the ECGS_DURING take to append (a chunk per 0.1 s)
ASSIGNMENT_TIMEOUT_S = 120  # a member joining or leaving: session timeout plus a rebalance
CATCH_UP_S = 300  # the machine is shared: folding 180 ECGs may take minutes
# How a process's log names a version conflict that made its runner pause (services/cli.py
# logs an exception as "(Type: message; ...)").
CONFLICT_FAILURE = "(VersionConflict:"


@pytest.fixture
def regional(settings: Settings) -> Iterator[Settings]:
    """The settings fixture's fresh Kafka + Cassandra namespace, removed afterwards."""
    yield settings
    drop_keyspace(settings.store_url)
    delete_topics(settings.log_url)


def ecg_records(n: int, start: int, patients: int) -> list[NewRecord]:
    """`n` EcgSubmitted records (ECGs `start`...) spread over `patients` patients."""
    codec, now = Codec(), dt.datetime.now(dt.UTC)
    out = []
    for i in range(start, start + n):
        first17 = f"11010519800101{i % patients:03d}"
        body = ecg_payload(ecg_id=f"scale-{i:05d}", resident=first17 + check_char(first17))
        event = ecg_event(EcgIn.model_validate(body), now)
        value = codec.encode(ECG_SUBMITTED, event)
        out.append(NewRecord(body["ecg_id"], value, body["event_id"]))
    return out


def append_ecgs(system: System, records: list[NewRecord], pause_s: float = 0.0) -> None:
    for i in range(0, len(records), APPEND_CHUNK):
        system.log.append(CLINIC_ECG, records[i : i + APPEND_CHUNK])
        time.sleep(pause_s)


def group_assignment(system: System, group: str) -> dict[str, set[TopicPartition]]:
    """Kafka's own view of a group (DescribeGroups): each member's partitions."""
    assert isinstance(system.log, KafkaEventLog)
    return {m: set(tps) for m, tps in system.log.group_members(group).items()}


def wait_assignment(system: System, members: int, group: str) -> dict[str, set[TopicPartition]]:
    """Until `group` has `members` members, each owning some of its topics' partitions, all
    of them in all."""
    partitions = topic_partitions(system, group)
    deadline = time.monotonic() + ASSIGNMENT_TIMEOUT_S
    owned: dict[str, set[TopicPartition]] = {}
    while time.monotonic() < deadline:
        owned = group_assignment(system, group)
        total = sum(len(tps) for tps in owned.values())
        if len(owned) == members and all(owned.values()) and total == partitions:
            return owned
        time.sleep(0.5)
    raise AssertionError(f"group never had {members} members sharing {partitions}: {owned}")


def topic_partitions(system: System, group: str) -> int:
    return sum(system.log.partition_count(t) for t in projector(system, group).projection.topics)


def projector(system: System, group: str = GROUP) -> Runner:
    return next(r for r in system.runners if r.projection.name == group)


def wait_folded(system: System) -> None:
    """Until both projectors' checkpoints (stored with their views) reach the log's end: the
    FHIR projector's first, as it appends the facts the patient projector folds."""
    deadline = time.monotonic() + CATCH_UP_S
    for group in GROUPS:
        while (lag := projector(system, group).lag()) > 0:
            assert time.monotonic() < deadline, f"{group} {lag} behind after {CATCH_UP_S}s"
            time.sleep(0.5)


def start_projector(settings: Settings, output: Path) -> subprocess.Popen[bytes]:
    env = {"GOLDENHOUR_PROCESSORS": ",".join(GROUPS)}
    proc, _ = start_serve(settings, env=env, output=output)
    return proc


def version_counts(system: System) -> Counter[tuple[str, str]]:
    """How many versions each resource has."""
    return Counter((r.resource_type, r.id) for r in system.store.scan())


def field_differences(
    live: dict[tuple[str, str], bytes], rebuilt: dict[tuple[str, str], bytes]
) -> list[str]:
    """Of the first resources differing from the rebuild: version, lastUpdated, the
    compartments only one side has, and the other top-level fields that differ."""
    out = []
    for key in [k for k in live if live[k] != rebuilt.get(k)][:3]:
        ours, theirs = json.loads(live[key]), json.loads(rebuilt.get(key) or b"{}")
        mine, other = ours.pop("meta", {}), theirs.pop("meta", {})
        codes = [{c["code"] for c in m.get("security", [])} for m in (mine, other)]
        out.append(
            f"{key}: v{mine.get('versionId')} vs rebuilt v{other.get('versionId')}, "
            f"lastUpdated {mine.get('lastUpdated')} vs {other.get('lastUpdated')}, "
            f"compartments only live {sorted(codes[0] - codes[1])[:5]}, "
            f"only rebuilt {sorted(codes[1] - codes[0])[:5]}, other fields differing "
            f"{[n for n in set(ours) | set(theirs) if ours.get(n) != theirs.get(n)]}"
        )
    return out


def rebuild_projector(system: System) -> None:
    """Truncate the views and fold both projectors' topics from offset 0 in this process
    (the only processors that ran: `goldenhour rebuild` would run them all). The facts are
    not derived again (runner.py 6): the patient projector refolds those in the log."""
    system.store.truncate()
    for group in GROUPS:
        projector(system, group).catch_up()


@pytest.mark.parametrize(
    "patients",
    [
        pytest.param(ECGS_BEFORE + ECGS_DURING, id="one-patient-per-ecg"),
        pytest.param(SHARED_PATIENTS, id="patients-shared"),
    ],
)
def test_two_projector_processes__split_partitions_survive_a_kill_and_equal_a_rebuild(
    regional: Settings, tmp_path: Path, patients: int
) -> None:
    settings = regional
    with system_of(settings) as system:
        partitions = {group: topic_partitions(system, group) for group in GROUPS}
        before = ecg_records(ECGS_BEFORE, 0, patients)
        after = ecg_records(ECGS_DURING, ECGS_BEFORE, patients)
        outputs = [tmp_path / "projector-a.log", tmp_path / "projector-b.log"]
        procs = [start_projector(settings, out) for out in outputs]
        try:
            split = {group: wait_assignment(system, 2, group) for group in GROUPS}
            append_ecgs(system, before)  # folded by both at once
            wait_folded(system)
            during = threading.Thread(target=append_ecgs, args=(system, after, 0.1))
            during.start()
            time.sleep(KILL_AFTER_S)  # a third appended, being folded
            os.kill(procs[1].pid, signal.SIGKILL)
            procs[1].wait()
            during.join()
            survivor = {group: wait_assignment(system, 1, group) for group in GROUPS}
            wait_folded(system)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)
        live, live_versions = current_views(system), version_counts(system)
        rebuild_projector(system)
        rebuilt, rebuilt_versions = current_views(system), version_counts(system)

    for group in GROUPS:
        owned = split[group].values()
        assert all(len(tps) < partitions[group] for tps in owned), split
        assert set().union(*survivor[group].values()) == set().union(*owned)
    logs = [out.read_text(errors="replace") for out in outputs]
    assert not any(CONFLICT_FAILURE in text for text in logs), "a version conflict paused"
    observations = [k for k in live if k[0] == "Observation"]
    patient_ids = [k for k in live if k[0] == "Patient"]
    assert len(patient_ids) == patients
    # Every ECG made one version of its Patient: none was lost to a concurrent writer.
    assert sum(live_versions[k] for k in patient_ids) == ECGS_BEFORE + ECGS_DURING
    assert len(observations) >= ECGS_BEFORE + ECGS_DURING, len(observations)
    print("\n".join(field_differences(live, rebuilt)))
    assert not view_differences(live, rebuilt), view_differences(live, rebuilt)
    assert live_versions == rebuilt_versions, "a resource has more or fewer versions"
    refolds = sum(text.count("after a version conflict") for text in logs)
    print(f"scale-out: split {[len(t) for t in split[GROUP].values()]}, refolds {refolds}")


def join(system: System, group: str) -> Consumer:
    """A member of `group` in this process, once Kafka shows it owning partitions."""
    assert isinstance(system.log, KafkaEventLog)
    member = system.log.consumer(group, FHIR_PROJECTOR.topics, lambda tp: 0)
    deadline = time.monotonic() + ASSIGNMENT_TIMEOUT_S
    while not any(system.log.group_members(group).values()):
        assert time.monotonic() < deadline, f"never joined {group}"
        member.poll(timeout_s=0.5)
    return member


def test_rebuild_on_kafka__refused_under_a_live_group_then_its_offsets_follow_the_replay(
    regional: Settings,
) -> None:
    with system_of(regional) as system:
        append_ecgs(system, ecg_records(APPEND_CHUNK, 0, APPEND_CHUNK))
        projector(system).catch_up()
        member = join(system, GROUP)
        try:
            refused = run_rebuild(regional)
        finally:
            member.close()
        views_kept = projector(system).lag() == 0
        done = run_rebuild(regional)
        ends = system.log.end_offsets(CLINIC_ECG)
        committed = {
            (group, tp): system.log.committed(group, tp)
            for group in (GROUP, MEASURER.name)
            for tp in ends
        }
        measured = event_id_counts(system.log, READING)

    assert refused.returncode == 1, refused.stderr
    assert GROUP in refused.stderr and "Traceback" not in refused.stderr, refused.stderr
    assert views_kept, "a refused rebuild dropped the views"
    assert done.returncode == 0, done.stderr[-3000:]
    # Kafka's lag (end - committed) is 0 once the replay is done; a partition with no
    # records has nothing to commit.
    assert {k: c for k, c in committed.items() if ends[k[1]]} == {
        (g, tp): end for (g, tp) in committed if (end := ends[tp])
    }
    assert len(measured) == APPEND_CHUNK and set(measured.values()) == {1}, measured
