"""Nothing accepted is lost when the process is killed: `goldenhour serve` is killed with
SIGKILL repeatedly while ECGs arrive and processors fold them; after the last restart every
ECG that got a 202 is in the log, and the views equal a clean rebuild from offset zero."""

from __future__ import annotations

import os
import signal
import time

import httpx

from avro_schemas.catalogue import CLINIC_ECG
from services.settings import Settings
from services.system import bootstrap
from tests.ecg_payloads import ecg_payload
from tests.processes import run_rebuild, serving, start_serve

KILLS = 5
ECGS_PER_ROUND = 4


def post_round(base: str, accepted: set[str]) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(ECGS_PER_ROUND):
            body = ecg_payload()
            if client.post("/ingest/ecg", json=body).status_code == 202:
                accepted.add(body["event_id"])


def current_views(settings: Settings) -> dict[tuple[str, str], bytes]:
    system = bootstrap(settings.model_copy(update={"run_processors": False}))
    try:
        assert system.lag() == 0
        return {(r.resource_type, r.id): r.body for r in system.store.scan()}
    finally:
        system.close()


def logged_event_ids(settings: Settings) -> set[str]:
    system = bootstrap(settings.model_copy(update={"run_processors": False}))
    try:
        log = system.log
        return {
            r.event_id
            for p in range(log.partition_count(CLINIC_ECG))
            for r in log.read(CLINIC_ECG, p, 0, 100_000)
        }
    finally:
        system.close()


def wait_caught_up(settings: Settings) -> None:
    system = bootstrap(settings.model_copy(update={"run_processors": False}))
    try:
        for _ in range(600):
            if system.lag() == 0:
                return
            time.sleep(0.1)
        raise AssertionError(f"processors still {system.lag()} records behind")
    finally:
        system.close()


def test_sigkill_mid_stream_loses_nothing_and_views_equal_a_rebuild(settings: Settings) -> None:
    accepted: set[str] = set()
    for _ in range(KILLS):
        proc, base = start_serve(settings)
        post_round(base, accepted)
        os.kill(proc.pid, signal.SIGKILL)  # mid-fold: processors are still working the round
        proc.wait()
    with serving(settings):
        wait_caught_up(settings)
    assert accepted <= logged_event_ids(settings)
    live = current_views(settings)

    done = run_rebuild(settings)
    assert done.returncode == 0, done.stderr
    rebuilt = current_views(settings)
    print(
        f"\nkill test: {KILLS} SIGKILLs, {len(accepted)} ECGs accepted, all in the log, "
        f"{len(live)} resources equal after rebuild: {live == rebuilt}"
    )
    assert rebuilt == live
    assert sum(1 for t, _ in live if t == "Observation") >= len(accepted)
