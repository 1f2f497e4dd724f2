"""A processor process SIGKILLed over and over while ingest goes on loses nothing.

One `goldenhour serve` takes the traffic with its processors off (the API of a region);
another runs every processor (and answers HTTP on its own port, unused). The processor
process is killed with SIGKILL 20 times at seeded random moments: about a third of them while
it starts and joins its consumer groups, the rest 0-1 s after it was seen folding (an ECG
accepted since its start has its Observation). Halfway, a poison record is appended to
`clinic.ecg` and to `ems.incident`. Then a last processor process catches up, and:
every accepted event is in the log once, every accepted ECG has its Observation, each
processor of each poisoned topic dead-lettered the poison exactly once, and the views equal
a clean rebuild from offset zero (current version of every resource, byte for byte).
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

from avro_schemas.catalogue import CLINIC_ECG, INCIDENT
from avro_schemas.codec import MAGIC
from eventlog.base import NewRecord
from services.settings import Settings
from services.system import System
from stream_processors.topology import projections
from tests.faults.checks import (
    FAULT_MARKS,
    check_log,
    current_views,
    dead_letters,
    outcome,
    rebuilt_views,
    stop_ingest,
    system_of,
    wait_caught_up,
    wait_folding,
)
from tests.faults.traffic import Traffic
from tests.processes import serving, start_serve

pytestmark = FAULT_MARKS

KILLS = 20
SEED = 20261123
KILL_WHILE_STARTING = 0.3  # share of kills right after the process answers HTTP
POISON = MAGIC + bytes(8) + b"\x00poison: no writer schema has fingerprint zero"
POISONED = {CLINIC_ECG: ("ecg-poison", "poison-ecg"), INCIDENT: ("inc-poison", "poison-incident")}


def append_poison(system: System) -> None:
    for topic, (key, event_id) in POISONED.items():
        system.log.append(topic, [NewRecord(key, POISON, event_id)])


def expected_letters(system: System) -> dict[str, set[tuple[str, str]]]:
    """Per poisoned topic: (processor, poison event id) for each processor reading it."""
    every = projections(system.settings.reading_centre_id, system.settings.region_id)
    return {
        topic: {(p.name, event_id) for p in every if topic in p.topics}
        for topic, (_, event_id) in POISONED.items()
    }


def kill_loop(
    settings: Settings, system: System, traffic: Traffic, output: Path
) -> tuple[int, int]:
    """SIGKILL a fresh processor process KILLS times; (kills while starting, mid-stream)."""
    rng = random.Random(SEED)
    starting = 0
    for n in range(KILLS):
        proc, _ = start_serve(settings, processors=True, output=output)
        if n == KILLS // 2:
            append_poison(system)
        if rng.random() < KILL_WHILE_STARTING:
            starting += 1
            time.sleep(rng.uniform(0, 0.5))
        else:
            wait_folding(system, traffic, proc)
            time.sleep(rng.uniform(0, 1.0))
        assert proc.poll() is None, f"the processor process exited by itself ({proc.returncode})"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return starting, KILLS - starting


def catch_up(settings: Settings, system: System, output: Path) -> float:
    """A last processor process folds what is left; stopped once caught up."""
    with serving(settings, processors=True, output=output):
        return wait_caught_up(system)


def test_processor_sigkilled_20_times_mid_stream__nothing_lost_and_views_equal_a_rebuild(
    regional: Settings, tmp_path: Path, fault_summary: Callable[[str], None]
) -> None:
    settings = regional
    t0 = time.monotonic()
    api, base = start_serve(settings, processors=False, output=tmp_path / "api.log")
    traffic = Traffic(base, seed=SEED)
    try:
        with system_of(settings) as system:
            traffic.start()
            starting, mid_stream = kill_loop(settings, system, traffic, tmp_path / "proc.log")
            tally = stop_ingest(traffic, api)
            caught_up_s = catch_up(settings, system, tmp_path / "proc.log")
            logged = check_log(system.log, tally)
            live = current_views(system)
            letters = {t: dead_letters(system, t) for t in POISONED}
            wanted_letters = expected_letters(system)
        rebuilt = rebuilt_views(settings)
        with system_of(settings) as system:
            letters_after = {t: dead_letters(system, t) for t in POISONED}
    finally:
        traffic.halt()
        api.kill()
        api.wait()

    result = outcome(logged, live, rebuilt, tally)
    fault_summary(
        f"faults: {starting + mid_stream} processor kills ({mid_stream} mid-stream, "
        f"{starting} while starting), 2 poison records, {logged.checked} events checked "
        f"({len(tally.ecgs)} ECGs, {len(tally.incidents)} incidents), lost {result.lost}, "
        f"doubled {len(logged.doubled)}, {len(live)} resources equal to a rebuild: "
        f"{not result.differences} [caught up in {caught_up_s:.0f}s, "
        f"{time.monotonic() - t0:.0f}s in all]"
    )
    logged.assert_each_once(result.unfolded)
    for topic, wanted in wanted_letters.items():
        assert set(letters[topic]) == wanted, f"{topic}: dead letters {letters[topic]}"
        assert all(n == 1 for n in letters[topic].values()), letters[topic]
        assert letters_after[topic] == letters[topic], f"{topic}: after the rebuild"
    assert not result.differences, f"views differ from a rebuild: {result.differences}"
