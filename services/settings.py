"""One settings object for every process; env vars `GOLDENHOUR_*` or CLI flags set it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOLDENHOUR_")

    data_dir: Path = Path("data")
    # Embedded by default; `kafka://host:port[,host:port][?namespace=x&replication=3]`
    log_url: str = "sqlite:"
    # Embedded by default; `cassandra://host[,host]:port/keyspace[?replication=3]`
    store_url: str = "sqlite:"
    host: str = "127.0.0.1"
    http_port: int = 8080
    # The URL clients reach the API at (the region's ingress, e.g. https://fhir.county.example):
    # notifications sent by the subscription sender name resources under it. Empty: this
    # process's own address (one process serves and sends, as `serve` does embedded).
    public_url: str = ""
    mllp_port: int = 2575  # 0: any free port; -1: no MLLP listener
    run_processors: bool = True
    # Comma-separated names of the workers this process runs (stream_processors/topology.py:
    # processors, i.e. consumer groups, and background tasks); empty: all. A region runs
    # each in its own deployment, e.g. GOLDENHOUR_PROCESSORS=fhir-projector (rendered from
    # the topology by deploy/region/render.py).
    processors: str = ""
    # Where ECG reads go: the county's reading centre and its region (one per county here).
    reading_centre_id: str = "county-ecg-centre"
    region_id: str = "county"
    lease_minutes: float = 10.0
    # Signed reads go back over HL7 v2 (MLLP) to the clinics that sent ECGs that way:
    # {site id: "host:port"}; env GOLDENHOUR_HL7_REPORT_DESTINATIONS='{"clinic-a": "10.1.2.3:2575"}'
    hl7_report_destinations: dict[str, str] = {}
    # One-click escort: the city traffic platform's webhook (services/command/escort_sender.py);
    # empty: no escort requests are sent (they wait, listed, until a URL is set).
    traffic_escort_url: str = ""
    traffic_retry_first_s: float = 2.0  # then doubling, at most traffic_retry_max_s
    traffic_retry_max_s: float = 60.0  # a minute: an ambulance's route is minutes long
    # FHIR Subscriptions (rest-hook): retries back off from first_s doubling to max_s, then go
    # on at max_s for as long as the subscription lives (a day's outage is ~300 attempts).
    subscription_retry_first_s: float = 1.0
    subscription_retry_max_s: float = 300.0
    subscription_poll_s: float = 0.2  # how often the sender looks at each subscription
    subscription_timeout_s: float = 10.0  # per rest-hook POST
    subscription_max_count: int = 20  # notifications per Bundle
    # Key of the websocket binding tokens; empty: random per process (set it when several
    # API instances serve one region).
    subscription_token_key: str = ""
    # Rest-hook endpoints that resolve to loopback, private, link-local (cloud metadata),
    # unspecified or multicast addresses are refused at create and before every POST
    # (services/subscriptions/endpoints.py) unless named here: host names, addresses or
    # CIDRs. Env GOLDENHOUR_SUBSCRIPTION_ENDPOINT_ALLOWLIST='["emr.hospital.local", "10.2.0.0/16"]'
    subscription_endpoint_allowlist: list[str] = []
    # HTTP limits (services/limits.py): the largest request body (16 MiB holds the largest
    # ECG EcgIn accepts, 60 s x 2 kHz x 12 leads: 11.5 MB as JSON), and a token bucket per
    # client address: rate_limit_per_s requests a second, bursts of rate_limit_burst; 0: off.
    max_body_bytes: int = 16 * 1024 * 1024
    # `/readyz` says not ready when the data dir's file system has less free space than
    # this (the embedded log and store would soon fail writes: 503 with Retry-After).
    # 64 MiB: a few thousand 12-lead ECGs, time for an operator to react.
    min_free_disk_bytes: int = 64 * 1024 * 1024
    rate_limit_per_s: float = 50.0
    rate_limit_burst: int = 200
    # Proxies (addresses or CIDRs) whose X-Forwarded-For is believed for the client address
    # that the rate limit and the audit use. None by default: the peer's own address counts,
    # so a client cannot pick its own bucket or forge the audited address. Env
    # GOLDENHOUR_TRUSTED_PROXIES='["10.0.0.5", "10.1.0.0/24"]' (the region's load balancers).
    trusted_proxies: list[str] = []
    # Access control (services/auth/): bearer JWTs with SMART scopes and our roles, checked
    # on every HTTP route by one policy table. Off by default so the embedded demo runs
    # without tokens; a region sets GOLDENHOUR_AUTH_REQUIRED=true. The access audit has no
    # switch: it runs whatever these say.
    auth_required: bool = False
    auth_issuer: str = ""  # `iss` of the region's identity provider ("": none)
    auth_audience: str = "goldenhour"  # `aud` every token must carry
    auth_public_key_file: Path | None = None  # PEM: RSA (RS256) or EC P-256 (ES256)
    auth_hs256_secret_file: Path | None = None  # a shared HS256 secret, from a file...
    auth_hs256_secret: SecretStr = SecretStr("")  # ...or env GOLDENHOUR_AUTH_HS256_SECRET
    # Key ids (JWT header `kid`) of the two keys, when the issuer names its keys ("": any).
    auth_public_key_kid: str = ""
    auth_hs256_kid: str = ""
    auth_leeway_s: float = 30.0  # clock skew allowed on exp / iat / nbf
    # The longest a token may live (exp - iat) or still have to live (exp - now): a stolen
    # long-lived token is refused (401) however well signed. 12 h: one shift.
    auth_max_token_lifetime_s: float = 12 * 3600.0
    # The dev issuer (`goldenhour token`, key in <data_dir>/auth/): None = trusted only
    # when auth_required is off; a region sets it false.
    auth_dev_issuer: bool | None = None
    # SMART Backend Services clients (services/auth/clients.py): client id, public JWKS,
    # role, site and the most scope each may be granted. None: <data_dir>/auth/smart-clients.json.
    smart_clients_file: Path | None = None
    # MLLP peers: {sending facility (MSH-4): [allowed source addresses or CIDRs]}; when set,
    # a frame from any other facility or address is answered AR. Env
    # GOLDENHOUR_HL7_PEERS='{"CLINIC-A": ["10.1.2.0/24"]}'. Empty: any peer (the demo).
    hl7_peers: dict[str, list[str]] = {}
    # How each MLLP peer's messages are read, until the registry holds it (a registered
    # peer's PeerDetails win): {sending facility (MSH-4.1): {"time_zone": "Asia/Shanghai",
    # "identifier_authorities": {"HIS-MRN": "MR", "GAJ": "resident-id"}, "versions": [...],
    # "charset": "GB 18030-2000", "untyped_cx": "MR" | "ignore", "sending_application":
    # MSH-3.1 when MSH-4 is empty, "batch_ack": "message" | "batch", "organization_id": the
    # registered clinic/hospital a free-text MSH-4 such as "SEND FAC" stands for}}
    # (services/hl7_gateway/profiles.py). Env GOLDENHOUR_HL7_PEER_PROFILES='{...}'.
    hl7_peer_profiles: dict[str, dict[str, Any]] = {}
    # TLS for HTTP (uvicorn) and MLLP (the asyncio server): both on when both files are set.
    tls_cert_file: Path | None = None  # PEM certificate chain
    tls_key_file: Path | None = None  # PEM private key (a file mounted from a secret)


def chosen_processors(settings: Settings) -> set[str]:
    """The workers named in `settings.processors` (empty: all)."""
    return {n.strip() for n in settings.processors.split(",") if n.strip()}
