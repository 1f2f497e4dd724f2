"""SMART Backend Services, the pure parts: the scopes a client is granted (the request
narrowed to its registration, v1 and v2 forms: hl7.org/fhir/smart-app-launch/
scopes-and-launch-context.html) and the client registry's refusals. Expected grants are
written from the scope grammar, not from the code."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services.auth.clients import ClientRegistryError, parse_clients
from services.auth.smart import narrow


@pytest.mark.parametrize(
    ("requested", "allowed", "granted"),
    [
        ("system/*.read", ("system/*.rs",), ["system/*.read"]),  # v1 asked, v2 registered
        ("system/*.rs", ("system/*.read",), ["system/*.rs"]),  # and the other way round
        (
            "system/Patient.read system/Observation.rs",
            ("system/*.read",),
            ["system/Patient.read", "system/Observation.rs"],
        ),
        ("system/*.read", ("system/Patient.rs",), ["system/Patient.read"]),  # only its type
        ("system/*.*", ("system/*.rs",), ["system/*.read"]),  # cut to what is allowed
        ("system/*.cruds", ("system/*.read",), ["system/*.rs"]),
        ("system/*.sr", ("system/*.cruds",), ["system/*.rs"]),  # v2 letters in cruds order
        ("system/Encounter.cu", ("system/*.write",), ["system/Encounter.cu"]),
        ("system/*.write", ("system/*.rs",), []),  # nothing in common
        ("patient/*.read user/*.read launch openid", ("system/*.read",), []),  # not for systems
        ("system/*.read", ("user/*.read",), []),  # a registration of user/ grants no system/
        ("system/*.read system/*.rs", ("system/*.read",), ["system/*.read", "system/*.rs"]),
        ("system/Patient.read system/Patient.read", ("system/*.read",), ["system/Patient.read"]),
    ],
)
def test_narrow__grants_the_request_cut_to_the_registration(
    requested: str, allowed: tuple[str, ...], granted: list[str]
) -> None:
    assert narrow(requested, allowed) == granted


def public_jwk(private: Any) -> dict[str, Any]:
    if isinstance(private, rsa.RSAPrivateKey):
        return dict(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True))
    return dict(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True))


def entry(**changes: Any) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    base = {
        "client_id": "emr-1",
        "jwks": {"keys": [{**public_jwk(key), "kid": "k1"}]},
        "role": "hospital",
        "site": "county-hospital",
        "scope": "system/*.rs",
    }
    return {**base, **changes}


def test_a_client_is_read_with_its_role_site_scopes_and_keys() -> None:
    es = ec.generate_private_key(ec.SECP384R1())
    p256 = ec.generate_private_key(ec.SECP256R1())
    doc = entry(jwks={"keys": [{**public_jwk(es), "kid": "e1"}, {**public_jwk(p256), "kid": "e2"}]})
    client = parse_clients({"clients": [doc]})["emr-1"]
    assert (client.role, client.site, client.scopes) == (
        "hospital",
        "county-hospital",
        ("system/*.rs",),
    )
    assert len(client.keys_for("ES384", "")) == 1  # the P-256 key cannot sign ES384
    assert len(client.keys_for("ES384", "e1")) == 1
    assert client.keys_for("ES384", "e2") == []
    assert client.keys_for("RS384", "") == []


@pytest.mark.parametrize(
    "bad",
    [
        {"role": "superuser"},
        {"scope": "everything please"},
        {"jwks": {"keys": []}},
        {"client_id": None},
    ],
)
def test_a_malformed_registration_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ClientRegistryError):
        parse_clients({"clients": [entry(**bad)]})


def test_a_registration_holding_a_private_key_is_refused() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = dict(jwt.algorithms.RSAAlgorithm.to_jwk(key, as_dict=True))
    with pytest.raises(ClientRegistryError, match="public keys only"):
        parse_clients({"clients": [entry(jwks={"keys": [private]})]})


def test_a_client_registered_twice_is_refused() -> None:
    with pytest.raises(ClientRegistryError, match="twice"):
        parse_clients({"clients": [entry(), entry()]})
