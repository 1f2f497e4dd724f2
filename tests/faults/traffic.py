"""Clients that keep writing while faults are injected, and remember what was accepted.

Two kinds of writer, each in its own thread, as the field sends them:
* a tablet posting ambulance STEMI incidents (services/simulate/stemi_incident.py) in
  batches of 1-4 events with `expected_version`, one incident after the other;
* a clinic posting 12-lead ECGs to /ingest/ecg.

A request answered 5xx, or not answered (timeout, refused connection), is resent unchanged
(same event ids, same expected version) until it is accepted: the API promises that this is
safe. Any other refusal (4xx) is a failure of the test. What was accepted is recorded per
event id, with whether the accepting answer was a replay of an earlier attempt that had
landed after all.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from kernel.jsontypes import Json
from services.simulate.ecg_synth import synth_ecg
from services.simulate.stemi_incident import stemi_incident
from tests.ecg_payloads import ecg_payload

ECG_SECONDS = 3  # short waveforms (the minimum is 2.5 s): these tests count events, not samples
# Above the Kafka backend's 30 s request timeout, so its 503 comes first; a shorter one makes
# the client give up and resend while the first attempt is still pending in the server.
REQUEST_TIMEOUT_S = 40
RETRY_PAUSE_S = 0.5
GIVE_UP_S = 240  # one request retried this long is a failure (a restart takes ~10-60 s)


class Refused(AssertionError):
    """The API refused a request for a reason a retry cannot fix (4xx)."""


@functools.lru_cache(maxsize=16)
def short_leads(seed: int) -> dict[str, list[int]]:
    return synth_ecg(heart_rate_bpm=80, seconds=ECG_SECONDS, rate_hz=500, seed=seed)


def incident_script(incident_id: str, seed: int) -> list[Json]:
    """The scripted STEMI call, with a short ECG (the tablet API takes any length)."""
    script = stemi_incident(incident_id, seed=seed)
    for event in script:
        if event["type"] == "EcgAcquired":
            event["leads"] = short_leads(seed % 16)
    return script


@dataclass
class Tally:
    """What the writers saw; `accepted` maps every accepted event id to its topic's name."""

    requests: int = 0  # requests that were eventually accepted
    first_try: int = 0  # of which accepted at the first attempt
    failed_attempts: int = 0  # 5xx answers, timeouts, refused connections
    retried: int = 0  # requests accepted after one or more failed attempts
    replayed: int = 0  # of which the answer said a failed attempt had landed
    ecgs: dict[str, str] = field(default_factory=dict)  # ECG event id -> Observation, in order
    incidents: dict[str, list[str]] = field(default_factory=dict)  # incident -> event ids
    failures: list[str] = field(default_factory=list)  # a sample of failed attempts


class Traffic:
    """Writer threads against one API base URL, from `start()` until `stop()`."""

    def __init__(
        self,
        base_url: str,
        seed: int,
        tablet_pause_s: float = 0.4,
        ecg_pause_s: float = 1.0,
        tag: str = "f",
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        writers: int = 1,
    ) -> None:
        self.base_url = base_url
        self.tally = Tally()
        self._seed = seed
        self._writers = writers
        self._tablet_pause_s = tablet_pause_s
        self._ecg_pause_s = ecg_pause_s
        self._tag = tag
        self._timeout_s = request_timeout_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._errors: list[BaseException] = []

    def start(self) -> None:
        """`writers` tablets and as many clinics, each a thread with its own seeded choices."""
        for n in range(self._writers):
            for name, loop in (("tablet", self._tablet_loop), ("clinic", self._ecg_loop)):
                rng = random.Random(f"{self._seed}/{name}/{n}")
                thread = threading.Thread(
                    target=self._guard, args=(loop, rng, n), name=f"{name}-{n}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def stop(self) -> Tally:
        """Stop after the requests in flight are accepted; re-raise a writer's failure."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=GIVE_UP_S + REQUEST_TIMEOUT_S)
        if self._errors:
            raise self._errors[0]
        assert not any(t.is_alive() for t in self._threads), "a writer never finished"
        return self.tally

    def halt(self) -> None:
        """Stop without waiting long or raising (cleanup after a failed test)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REQUEST_TIMEOUT_S)

    def check(self) -> None:
        """Raise a writer's failure now (call while the traffic runs)."""
        if self._errors:
            raise self._errors[0]

    def _guard(
        self, loop: Callable[[httpx.Client, random.Random, int], None], rng: random.Random, n: int
    ) -> None:
        try:
            with httpx.Client(base_url=self.base_url, timeout=self._timeout_s) as client:
                loop(client, rng, n)
        except BaseException as exc:  # reported by stop() / check()
            self._errors.append(exc)

    # -- writers ---------------------------------------------------------------------------

    def _tablet_loop(self, client: httpx.Client, rng: random.Random, writer: int) -> None:
        number = 0
        while not self._stop.is_set():
            incident = f"inc-{self._tag}-{writer}-{number}"
            number += 1
            script = incident_script(incident, seed=number)
            sent = version = 0
            while sent < len(script) and not self._stop.is_set():
                batch = script[sent : sent + rng.randint(1, 4)]
                body = {"expected_version": version, "device_id": "tab-f", "events": batch}
                answer = self._post(client, f"/ingest/incidents/{incident}/events", body)
                version = answer["version"]
                sent += len(batch)
                with self._lock:
                    ids = self.tally.incidents.setdefault(incident, [])
                    ids += [e["event_id"] for e in batch]
                self._stop.wait(self._tablet_pause_s)

    def _ecg_loop(self, client: httpx.Client, rng: random.Random, writer: int) -> None:
        while not self._stop.is_set():
            body = ecg_payload(leads=short_leads(rng.randrange(16)))
            answer = self._post(client, "/ingest/ecg", body)
            with self._lock:
                self.tally.ecgs[body["event_id"]] = answer["observation"]
            self._stop.wait(self._ecg_pause_s)

    def _post(self, client: httpx.Client, url: str, body: Json) -> Json:
        """POST until accepted (2xx); 5xx and no answer are retried unchanged."""
        deadline = time.monotonic() + GIVE_UP_S
        failed = 0
        while True:
            try:
                resp = client.post(url, json=body)
            except httpx.TransportError as exc:
                why = f"{url}: no answer ({type(exc).__name__})"
            else:
                if resp.is_success:
                    self._accepted(failed, resp)
                    return resp.json()  # type: ignore[no-any-return]
                if resp.status_code < 500:
                    raise Refused(f"{url}: {resp.status_code} {resp.text[:1000]}")
                why = f"{url}: {resp.status_code} {resp.text[:200]}"
            failed += 1
            self._failed(why)
            if time.monotonic() > deadline:
                raise AssertionError(f"not accepted after {GIVE_UP_S}s: {why}")
            time.sleep(RETRY_PAUSE_S)

    def _accepted(self, failed: int, resp: httpx.Response) -> None:
        with self._lock:
            self.tally.requests += 1
            if failed:
                self.tally.retried += 1
                self.tally.replayed += resp.headers.get("Idempotent-Replayed") == "true"
            else:
                self.tally.first_try += 1

    def _failed(self, why: str) -> None:
        with self._lock:
            self.tally.failed_attempts += 1
            if len(self.tally.failures) < 5:
                self.tally.failures.append(why)
