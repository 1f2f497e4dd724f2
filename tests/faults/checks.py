"""What the fault tests check afterwards: the log holds every accepted event once, the
views are caught up and equal a clean rebuild, poison went to the dead-letter topics."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from avro_schemas.catalogue import CLINIC_ECG, DEAD_LETTER, INCIDENT, TOPICS, dlq_topic
from eventlog.base import EventLog
from kernel.jsontypes import Json
from services.settings import Settings
from services.system import System, bootstrap
from tests.faults.traffic import Tally, Traffic
from tests.processes import run_rebuild

# Every fault test: real servers, restarted or starved, for minutes.
FAULT_MARKS = [
    pytest.mark.faults,
    pytest.mark.kafka,
    pytest.mark.cassandra,
    pytest.mark.timeout(600),  # minutes of real processes and server restarts
]

CATCH_UP_S = 180  # processors folding the backlog an outage or the kills left behind
FOLDING_TIMEOUT_S = 90  # a processor process must fold a fresh ECG within this


@contextmanager
def system_of(settings: Settings) -> Iterator[System]:
    """The backends of `settings`, opened in the test process, running no processor."""
    system = bootstrap(settings.model_copy(update={"run_processors": False}))
    try:
        yield system
    finally:
        system.close()


def event_id_counts(log: EventLog, topic: str) -> Counter[str]:
    """How many times each event id is in the topic."""
    counts: Counter[str] = Counter()
    for p in range(log.partition_count(topic)):
        offset = 0
        while batch := log.read(topic, p, offset, 500):
            counts.update(r.event_id for r in batch)
            offset = batch[-1].offset + 1
    return counts


@dataclass
class LogCheck:
    checked: int  # accepted event ids looked up in the log
    lost: list[str]  # accepted, not in the log
    doubled: list[str]  # accepted, in the log more than once

    def assert_each_once(self, unfolded: list[str] | None = None) -> None:
        """Every accepted event is in the log exactly once (and, given `unfolded`, every
        accepted ECG was folded into its Observation)."""
        unfolded = unfolded or []
        assert not self.lost and not unfolded, (
            f"accepted (answered 2xx), not in the log: {self.lost[:10]}; "
            f"not folded: {unfolded[:10]}"
        )
        assert not self.doubled, f"in the log more than once: {self.doubled[:10]}"


def check_log(log: EventLog, tally: Tally) -> LogCheck:
    """Every accepted ECG and tablet event is in the log, once."""
    ecg = event_id_counts(log, CLINIC_ECG)
    incident = event_id_counts(log, INCIDENT)
    wanted = [(ecg, i) for i in tally.ecgs] + [
        (incident, i) for ids in tally.incidents.values() for i in ids
    ]
    return LogCheck(
        checked=len(wanted),
        lost=[i for counts, i in wanted if counts[i] == 0],
        doubled=[i for counts, i in wanted if counts[i] > 1],
    )


def missing_observations(views: dict[tuple[str, str], bytes], tally: Tally) -> list[str]:
    """Accepted ECGs whose Observation is not in the views."""
    refs = [ref.split("/", 1) for ref in tally.ecgs.values()]
    return [f"{t}/{i}" for t, i in refs if (t, i) not in views]


def wait_caught_up(system: System, timeout_s: float = CATCH_UP_S) -> float:
    """Wait until every processor's stored checkpoint is at the log's end; the seconds it took."""
    t0 = time.monotonic()
    lag = -1
    while time.monotonic() - t0 < timeout_s:
        lag = system.lag()
        if lag == 0:
            return time.monotonic() - t0
        time.sleep(0.5)
    raise AssertionError(f"processors still {lag} records behind after {timeout_s}s")


def wait_folding(system: System, traffic: Traffic, proc: subprocess.Popen[bytes]) -> float:
    """Until the first ECG accepted after this call has its Observation in the views (the
    processor process folds new records); the seconds it took."""
    seen = len(traffic.tally.ecgs)
    t0 = time.monotonic()
    deadline = t0 + FOLDING_TIMEOUT_S
    while time.monotonic() < deadline:
        traffic.check()
        assert proc.poll() is None, f"the processor process exited by itself ({proc.returncode})"
        refs = list(traffic.tally.ecgs.values())
        if len(refs) > seen:
            rtype, rid = refs[seen].split("/", 1)
            if system.store.read(rtype, rid) is not None:
                return time.monotonic() - t0
        time.sleep(0.1)
    raise AssertionError(f"the processor process folded no new ECG in {FOLDING_TIMEOUT_S}s")


def current_views(system: System) -> dict[tuple[str, str], bytes]:
    """The current version of every resource (scan is version-ordered: the last wins)."""
    return {(r.resource_type, r.id): r.body for r in system.store.scan()}


def rebuilt_views(settings: Settings) -> dict[tuple[str, str], bytes]:
    """`goldenhour rebuild` (a real process: truncate, fold from offset 0), then the views."""
    done = run_rebuild(settings)
    assert done.returncode == 0, done.stderr[-3000:]
    with system_of(settings) as system:
        return current_views(system)


def view_differences(
    live: dict[tuple[str, str], bytes], rebuilt: dict[tuple[str, str], bytes]
) -> list[str]:
    """Resources that differ between the live views and the rebuild (the first 10)."""
    out = []
    for key in sorted(set(live) | set(rebuilt)):
        if live.get(key) != rebuilt.get(key):
            state = "differs" if key in live and key in rebuilt else "only on one side"
            out.append(f"{key[0]}/{key[1]}: {state}")
    return out[:10] + ([f"... {len(out)} in all"] if len(out) > 10 else [])


@dataclass(frozen=True)
class Outcome:
    """What a fault test found once the log stood still: the log's check, the accepted ECGs
    with no Observation in the live views, and where those views differ from a rebuild."""

    logged: LogCheck
    unfolded: list[str]
    differences: list[str]

    @property
    def lost(self) -> int:
        """Accepted events not in the log, plus accepted ECGs never folded."""
        return len(self.logged.lost) + len(self.unfolded)


def outcome(
    logged: LogCheck,
    live: dict[tuple[str, str], bytes],
    rebuilt: dict[tuple[str, str], bytes],
    tally: Tally,
) -> Outcome:
    """The live views judged against the accepted traffic and a clean rebuild."""
    return Outcome(logged, missing_observations(live, tally), view_differences(live, rebuilt))


def stop_ingest(traffic: Traffic, api: subprocess.Popen[bytes]) -> Tally:
    """Stop the traffic, then the API process: its access audit appends too, and the log
    must stand still before it is checked. What was accepted."""
    tally = traffic.stop()
    api.terminate()
    api.wait(timeout=60)
    return tally


def letters_of(system: System, topic: str) -> list[Json]:
    """The dead letters of `topic`, decoded."""
    out = []
    log = system.log
    for p in range(log.partition_count(dlq_topic(topic))):
        offset = 0
        while batch := log.read(dlq_topic(topic), p, offset, 500):
            for r in batch:
                name, letter = system.codec.decode(r.value)
                assert name == DEAD_LETTER
                out.append(letter)
            offset = batch[-1].offset + 1
    return out


def dead_letters(system: System, topic: str) -> Counter[tuple[str, str]]:
    """(processor, source event id) of each letter in `topic`'s dead-letter topic."""
    return Counter((x["processor"], x["event_id"]) for x in letters_of(system, topic))


def all_dead_letters(system: System) -> list[str]:
    """Every dead letter of every event topic, as "processor topic/partition@offset: reason"."""
    return [
        f"{x['processor']} {x['source_topic']}/{x['source_partition']}@{x['source_offset']}: "
        f"{x['reason'][:80]}"
        for t in TOPICS
        for x in letters_of(system, t.name)
    ]
