"""Notification latency: a trigger event appended to the log -> the rest-hook POST received.

Ours: a running server (notifier + sender, default settings) with one rest-hook
Subscription on the handover topic; a `HandoverSubmitted` is appended straight to the log
and the clock stops when a real HTTP receiver in this process gets the Bundle naming its
Composition. One event at a time, so this is latency, not throughput; BENCH_SUBSCRIPTION_N
events (300: a p99 is the 3rd slowest, not the maximum). The path: the notifier woken by
the append, match, `NotificationTriggered` appended, the notifier woken again (numbering),
the sender woken by that fold (`runner.VIEWS_APPLIED`), its look at the subscription and
the focus (a Composition the FHIR projector may not have written yet: then it looks again
at the next fold of any processor), and the POST.
Raw limit: the same encoded event appended with the backend's bare client and received by
a bare consumer, in the same run.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from avro_schemas.catalogue import INCIDENT
from avro_schemas.codec import Codec
from avro_schemas.events import HANDOVER_SUBMITTED
from bench.common import Figure, latency_figure, main, round_trips, server_settings
from eventlog.base import EventLog, NewRecord, TopicSpec
from kernel.jsontypes import Json
from services.server import Server
from services.settings import Settings
from services.subscriptions.request import FILTER_CRITERIA
from stream_processors.fhir_projector.incident.handover import composition_id
from stream_processors.notifier.topics import HANDOVER
from tests.conftest import free_port
from tests.incident_script import HOSPITAL, stemi_incident

N = int(os.environ.get("BENCH_SUBSCRIPTION_N", "300"))
WAIT_S = 60.0


class _Receiver:
    """Records when each focus reference first arrived (perf_counter)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.event = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                import json

                bundle = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                at = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.event:
                    for entry in bundle["entry"][1:]:
                        receiver.arrived.setdefault(entry["request"]["url"], at)
                    receiver.event.notify_all()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}/hook"

    def wait(self, ref: str) -> float:
        deadline = time.monotonic() + WAIT_S
        with self.event:
            while ref not in self.arrived:
                if not self.event.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"{ref} never arrived")
            return self.arrived[ref]


def _handover(incident: str) -> Json:
    now = dt.datetime.now(dt.UTC)
    events = dict(stemi_incident(incident, now, None))
    event: Json = events[HANDOVER_SUBMITTED]
    event["meta"] = {**event["meta"], "recorded_at": now}
    return event


def _append(log: EventLog, codec: Codec, topic: str, incident: str) -> float:
    event = _handover(incident)
    value = codec.encode(HANDOVER_SUBMITTED, event)
    t0 = time.perf_counter()
    log.append(topic, [NewRecord(incident, value, event["meta"]["event_id"])])
    return t0


def _subscribe(server: Server, endpoint: str) -> None:
    doc = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "benchmark",
        "criteria": HANDOVER.url,
        "_criteria": {
            "extension": [
                {"url": FILTER_CRITERIA, "valueString": f"Composition?destination={HOSPITAL}"}
            ]
        },
        "channel": {"type": "rest-hook", "endpoint": endpoint, "payload": "application/fhir+json"},
    }
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        sid = client.post("/fhir/Subscription", json=doc).raise_for_status().json()["id"]
        deadline = time.monotonic() + WAIT_S
        while client.get(f"/fhir/Subscription/{sid}").json().get("status") != "active":
            if time.monotonic() > deadline:
                raise TimeoutError("the subscription never became active")
            time.sleep(0.05)


def _ours(settings: Settings, tag: str) -> list[float]:
    # the receiver is on loopback, which the SSRF guard refuses unless allowed
    server = Server(
        settings.model_copy(update={"subscription_endpoint_allowlist": ["127.0.0.1/32"]})
    )
    server.start()
    receiver = _Receiver()
    lat = []
    try:
        _subscribe(server, receiver.url)
        for i in range(N):
            incident = f"bench-sub-{tag}-{i}"
            t0 = _append(server.system.log, server.system.codec, INCIDENT, incident)
            arrived = receiver.wait(f"Composition/{composition_id(incident)}")
            lat.append(arrived - t0)
    finally:
        receiver.http.shutdown()
        server.stop()
    return lat


def _raw(settings: Settings, tag: str) -> list[float]:
    from services.backends import open_log

    log = open_log(settings.log_url, settings.data_dir)
    topic = f"bench.raw.{time.time_ns()}"
    log.ensure_topics([TopicSpec(topic, 6)])
    consumer = log.consumer(f"bench-{time.time_ns()}", [topic], lambda tp: 0)
    consumer.poll(timeout_s=1.0)  # join the group before timing
    codec = Codec()
    try:
        return round_trips(
            N,
            lambda i: _append(log, codec, topic, f"bench-raw-{tag}-{i}"),
            lambda i: bool(consumer.poll(timeout_s=0.5)),
        )
    finally:
        consumer.close()
        log.close()


def run(backend: str) -> Figure:
    tag = str(time.time_ns())
    with tempfile.TemporaryDirectory() as tmp:
        settings = server_settings(backend, Path(tmp))
        ours = _ours(settings, tag)
        raw = _raw(settings, tag)
    return latency_figure(
        "subscription delivery",
        "Trigger event appended -> rest-hook notification received (latency)",
        backend,
        ours,
        raw,
    )


if __name__ == "__main__":
    main(run)
