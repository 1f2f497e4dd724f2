"""The Kafka broker stopped and started while clients write: nothing answered 2xx is lost.

Two tablets and two clinics post continuously to `goldenhour serve` (processors off: this is
about the write path). Twice, mid-stream, the broker is stopped (SIGTERM, `deploy/local/kafka/ctl
stop`), left down a few seconds and started again. Clients give up on a request after 8 s
(shorter than the backend's 30 s Kafka timeout), so some retries race a first attempt still
pending in the server. Every request not answered 2xx (503, timeout, refused connection) is
resent unchanged until accepted. Afterwards every accepted event id is in the log exactly
once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from services.settings import Settings
from tests.faults.checks import FAULT_MARKS, check_log, system_of
from tests.faults.local_servers import kafka_server
from tests.faults.traffic import Traffic
from tests.processes import start_serve

pytestmark = FAULT_MARKS

SEED = 17
RESTARTS = 2
DOWN_S = 4  # the broker stays stopped this long (its stop and start take more)
WRITERS = 2  # tablets, and as many clinics
CLIENT_TIMEOUT_S = 8
ACCEPTED_AROUND = 15  # requests accepted before the stop, and again after the start


def wait_accepted(traffic: Traffic, more: int, timeout_s: float = 120) -> None:
    wanted = traffic.tally.requests + more
    deadline = time.monotonic() + timeout_s
    while traffic.tally.requests < wanted:
        traffic.check()
        assert time.monotonic() < deadline, f"fewer than {more} requests accepted in {timeout_s}s"
        time.sleep(0.1)


def test_broker_restarted_mid_ingest__every_2xx_is_in_the_log_once_and_failures_retry_safely(
    regional: Settings, tmp_path: Path, fault_summary: Callable[[str], None]
) -> None:
    kafka = kafka_server()
    api, base = start_serve(regional, processors=False, output=tmp_path / "api.log")
    traffic = Traffic(
        base,
        seed=SEED,
        tablet_pause_s=0.1,
        ecg_pause_s=0.3,
        tag="k",
        request_timeout_s=CLIENT_TIMEOUT_S,
        writers=WRITERS,
    )
    stop_s = start_s = 0.0
    try:
        traffic.start()
        for _ in range(RESTARTS):
            wait_accepted(traffic, ACCEPTED_AROUND)
            stop_s += kafka.stop()
            time.sleep(DOWN_S)
            start_s += kafka.start()
        wait_accepted(traffic, ACCEPTED_AROUND)
        tally = traffic.stop()
    finally:
        kafka.start()  # whatever happened, the broker is up and ready for what follows
        traffic.halt()
        api.kill()
        api.wait()
    with system_of(regional) as system:
        logged = check_log(system.log, tally)

    lost = len(logged.lost)
    fault_summary(
        f"faults: {RESTARTS} Kafka broker restarts (each: stop {stop_s / RESTARTS:.0f}s, down "
        f"{DOWN_S}s, start {start_s / RESTARTS:.0f}s), {tally.requests} requests accepted ({tally.first_try} at once, "
        f"{tally.retried} after {tally.failed_attempts} failed attempts, {tally.replayed} of "
        f"which had landed), {logged.checked} events checked, lost {lost}, "
        f"doubled {len(logged.doubled)}"
    )
    logged.assert_each_once()
    assert tally.failed_attempts > 0, "the restart was not felt: no request failed"
