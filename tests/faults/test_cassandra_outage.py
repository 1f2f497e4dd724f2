"""Cassandra stopped while events arrive: processors pause, resume, and lose nothing.

A `goldenhour serve` with processors off takes the traffic (ingest needs only the log);
another runs every processor. Once the processors are seen folding, Cassandra is stopped
(`deploy/local/cassandra/ctl stop`) and left down while events keep arriving: the
processor process must stay up (its runners pause with backoff, stream_processors/runner.py)
while the log grows. Cassandra is started again; the processors must resume by themselves
(a fresh ECG folded), catch up, and the views equal a clean rebuild; nothing may have been
dead-lettered (an unreachable store is not poison).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from avro_schemas.catalogue import TOPICS
from services.backends import open_log
from services.settings import Settings
from tests.faults.checks import (
    FAULT_MARKS,
    all_dead_letters,
    check_log,
    current_views,
    outcome,
    rebuilt_views,
    stop_ingest,
    system_of,
    wait_caught_up,
    wait_folding,
)
from tests.faults.local_servers import cassandra_server
from tests.faults.traffic import Traffic
from tests.processes import start_serve

pytestmark = FAULT_MARKS

SEED = 5
DOWN_S = 8  # Cassandra stays stopped this long after its stop returned


def log_size(settings: Settings) -> int:
    """Records in every event topic (read from Kafka alone: Cassandra may be down)."""
    log = open_log(settings.log_url, settings.data_dir)
    try:
        return sum(sum(log.end_offsets(t.name).values()) for t in TOPICS)
    finally:
        log.close()


def test_cassandra_down_mid_stream__processors_pause_resume_and_views_equal_a_rebuild(
    regional: Settings, tmp_path: Path, fault_summary: Callable[[str], None]
) -> None:
    cassandra = cassandra_server()
    t0 = time.monotonic()
    api, base = start_serve(regional, processors=False, output=tmp_path / "api.log")
    proc, _ = start_serve(regional, processors=True, output=tmp_path / "proc.log")
    traffic = Traffic(base, seed=SEED, tag="c")
    try:
        traffic.start()
        with system_of(regional) as system:
            wait_folding(system, traffic, proc)
            lag_before = system.lag()
        size_before = log_size(regional)
        stop_s = cassandra.stop()
        time.sleep(DOWN_S)
        appended_while_down = log_size(regional) - size_before
        assert proc.poll() is None, f"the processor process died with Cassandra ({proc.returncode})"
        start_s = cassandra.start()
        with system_of(regional) as system:
            resumed_s = wait_folding(system, traffic, proc)
            tally = stop_ingest(traffic, api)
            caught_up_s = wait_caught_up(system)
            assert proc.poll() is None, f"the processor process died ({proc.returncode})"
            proc.terminate()
            proc.wait(timeout=60)
            logged = check_log(system.log, tally)
            live = current_views(system)
            letters = all_dead_letters(system)
    finally:
        cassandra.start()  # whatever happened, Cassandra is up and ready for what follows
        traffic.halt()
        for p in (proc, api):
            p.kill()
            p.wait()
    result = outcome(logged, live, rebuilt_views(regional), tally)
    fault_summary(
        f"faults: 1 Cassandra outage (stop {stop_s:.0f}s, down {DOWN_S}s, start {start_s:.0f}s; "
        f"lag {lag_before} before, {appended_while_down} records appended while down), "
        f"processors resumed {resumed_s:.0f}s after Cassandra was ready and caught up "
        f"{caught_up_s:.0f}s later, {logged.checked} events checked ({len(tally.ecgs)} ECGs, "
        f"{len(tally.incidents)} incidents), lost {result.lost}, doubled {len(logged.doubled)}, "
        f"{len(letters)} dead letters, {len(live)} resources equal to a rebuild: "
        f"{not result.differences} "
        f"[{time.monotonic() - t0:.0f}s in all]"
    )
    assert appended_while_down > 0, "no event arrived while Cassandra was down"
    logged.assert_each_once(result.unfolded)
    assert not result.differences, f"views differ from a rebuild: {result.differences}"
    # A store that is down is not poison: the runner must pause, not dead-letter the record
    # (a letter moves the checkpoint past its record once the store answers again).
    assert not letters, f"{len(letters)} records dead-lettered for an outage: {letters[:5]}"
