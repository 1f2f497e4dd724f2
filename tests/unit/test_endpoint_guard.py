"""The rest-hook SSRF guard's decisions (services/subscriptions/endpoints.py), with a
resolver the test controls: what a name resolves to decides, every time it is asked
(DNS rebinding), and the POST is pinned to the address that was checked."""

from __future__ import annotations

import pytest

from services.subscriptions.endpoints import EndpointGuard, EndpointRefused

PUBLIC = "8.8.8.8"


class Rebinding:
    """A name server that answers a public address first, then loopback."""

    def __init__(self, answers: list[list[str]]):
        self.answers = answers
        self.asked = 0

    def __call__(self, host: str, port: int) -> list[str]:
        answer = self.answers[min(self.asked, len(self.answers) - 1)]
        self.asked += 1
        return answer


def test_dns_rebinding__a_name_that_turns_to_loopback_is_refused_on_the_next_check() -> None:
    guard = EndpointGuard(resolver=Rebinding([[PUBLIC], ["127.0.0.1"]]))
    assert guard.check("http://emr.example.com/hook").url == f"http://{PUBLIC}/hook"
    with pytest.raises(EndpointRefused, match="127.0.0.1"):
        guard.check("http://emr.example.com/hook")


def test_one_internal_address_among_public_ones_is_enough_to_refuse() -> None:
    guard = EndpointGuard(resolver=Rebinding([[PUBLIC, "10.0.0.1"]]))
    with pytest.raises(EndpointRefused, match="10.0.0.1"):
        guard.check("https://emr.example.com/hook")


def test_pinned__https_keeps_the_name_for_host_header_and_tls() -> None:
    guard = EndpointGuard(resolver=Rebinding([["2001:4860:4860::8888"]]))
    pinned = guard.check("https://user:pw@emr.example.com:8443/fhir/hook?x=1")
    assert pinned.url == "https://[2001:4860:4860::8888]:8443/fhir/hook?x=1"
    assert pinned.host_header == "emr.example.com:8443"
    assert pinned.tls_server_name == "emr.example.com"


def test_an_unresolvable_name_is_refused() -> None:
    def nowhere(host: str, port: int) -> list[str]:
        raise OSError("no such name")

    with pytest.raises(EndpointRefused, match="does not resolve"):
        EndpointGuard(resolver=nowhere).check("http://emr.invalid/hook")


def test_allow_list_by_name_and_by_network() -> None:
    by_name = EndpointGuard(["emr.hospital.local"], resolver=Rebinding([["10.2.3.4"]]))
    assert by_name.check("http://EMR.hospital.local./hook").url == "http://10.2.3.4/hook"
    by_net = EndpointGuard(["10.2.0.0/16"], resolver=Rebinding([["10.2.3.4"], ["10.3.0.1"]]))
    assert by_net.check("http://emr.hospital.local/hook").url == "http://10.2.3.4/hook"
    with pytest.raises(EndpointRefused):
        by_net.check("http://emr.hospital.local/hook")
