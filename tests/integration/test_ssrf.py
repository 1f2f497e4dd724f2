"""Issue 11, item 3: rest-hook endpoints cannot reach inside (SSRF, OWASP cheat sheet).

Over real HTTP on each backend pair: a Subscription whose endpoint is, or resolves to, a
loopback, private, link-local, cloud-metadata, unspecified or multicast address is refused
at create with a 422 OperationOutcome naming `Subscription.channel.endpoint`, and nothing
is appended (it never appears). An operator's allow-list lets a named network through.
At send time the endpoint is checked again: a subscription created while loopback was
allowed gets no POST from a server that no longer allows it, and its status says why.
The address classes come from RFC 1918 / RFC 4193 / RFC 3927 / RFC 4291 and the cloud
vendors' metadata documentation, not from the code under test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest

from services.server import Server
from tests.conftest import free_port
from tests.receivers import HookReceiver
from tests.waits import wait_until

Json = dict[str, Any]
TOPIC = "https://goldenhour.example.org/fhir/SubscriptionTopic/handover"
HEARTBEAT = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-heartbeat-period"
)

REFUSED = [
    "http://127.0.0.1:{port}/hook",  # loopback (RFC 1122)
    "http://localhost:{port}/hook",  # a name resolving to loopback
    "http://127.8.9.10/hook",
    "http://[::1]:{port}/hook",
    "http://10.20.30.40/hook",  # RFC 1918
    "http://172.16.5.4/hook",
    "http://192.168.1.1/hook",
    "http://[fd12:3456::1]/hook",  # RFC 4193 unique local
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",  # AWS, Azure
    "http://[fd00:ec2::254]/latest/meta-data/",  # AWS IPv6 metadata
    "http://metadata.google.internal/computeMetadata/v1/",  # GCP by name
    "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud (shared space 100.64/10)
    "http://[fe80::1]/hook",  # IPv6 link-local
    "http://0.0.0.0:{port}/hook",  # unspecified
    "http://[::]/hook",
    "http://224.0.0.1/hook",  # multicast
    "http://[ff02::1]/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",  # IPv4-mapped loopback
    "https://127.0.0.1:{port}/hook",
]


@pytest.fixture
def receiver() -> Iterator[HookReceiver]:
    with closing(HookReceiver()) as r:
        yield r


def subscription(endpoint: str, heartbeat_s: int = 0) -> Json:
    channel: Json = {"type": "rest-hook", "endpoint": endpoint, "payload": "application/fhir+json"}
    if heartbeat_s:
        channel["extension"] = [{"url": HEARTBEAT, "valueUnsignedInt": heartbeat_s}]
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "ssrf probe",
        "criteria": TOPIC,
        "channel": channel,
    }


def test_create__internal_endpoints_are_refused_with_422_and_nothing_is_kept(
    make_server: Callable[..., Server], receiver: HookReceiver
) -> None:
    server = make_server()
    client = httpx.Client(base_url=server.base_url, timeout=30)
    for template in REFUSED:
        endpoint = template.format(port=receiver.port)
        answer = client.post("/fhir/Subscription", json=subscription(endpoint))
        assert answer.status_code == 422, (endpoint, answer.text)
        outcome = answer.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["expression"] == ["Subscription.channel.endpoint"]
    assert client.get("/fhir/Subscription").json()["total"] == 0
    time.sleep(1.0)  # give a wrongly started sender time to misbehave (absence check)
    assert receiver.posts == []


def test_create__an_allow_listed_network_is_reached(
    make_server: Callable[..., Server], receiver: HookReceiver
) -> None:
    server = make_server(subscription_endpoint_allowlist=["127.0.0.0/8"], subscription_poll_s=0.05)
    client = httpx.Client(base_url=server.base_url, timeout=30)
    answer = client.post("/fhir/Subscription", json=subscription(receiver.url))
    assert answer.status_code == 201, answer.text
    wait_until(lambda: receiver.posts, "the handshake")
    # the allow-list names loopback only: a private network is still refused
    other = client.post("/fhir/Subscription", json=subscription("http://10.0.0.8/hook"))
    assert other.status_code == 422


def test_send__the_endpoint_is_checked_again_before_every_post(
    make_server: Callable[..., Server], receiver: HookReceiver
) -> None:
    first = make_server(subscription_endpoint_allowlist=["127.0.0.1/32"], subscription_poll_s=0.05)
    client = httpx.Client(base_url=first.base_url, timeout=30)
    answer = client.post("/fhir/Subscription", json=subscription(receiver.url, heartbeat_s=1))
    assert answer.status_code == 201, answer.text
    sid = answer.json()["id"]
    wait_until(lambda: len(receiver.posts) >= 2, "handshake and a heartbeat")
    first.stop()
    # the same log and views, served by a process whose guard no longer allows loopback
    second = make_server(http_port=free_port(), subscription_poll_s=0.05)
    client = httpx.Client(base_url=second.base_url, timeout=30)
    seen = len(receiver.posts)
    status = wait_until(
        lambda: (s := client.get(f"/fhir/Subscription/{sid}").json())["status"] == "error" and s,
        "the status to turn error",
    )
    assert "refused" in status["error"]
    time.sleep(2.5)  # > 2 heartbeat periods: a POST would have come by now
    assert len(receiver.posts) == seen
