"""One settings object for every process; env vars `GOLDENHOUR_*` or CLI flags set it."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

BACKGROUND_TASKS = ("queue-sweeper", "hl7-report-sender", "subscription-sender")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOLDENHOUR_")

    data_dir: Path = Path("data")
    # Embedded by default; `kafka://host:port[,host:port][?namespace=x&replication=3]`
    log_url: str = "sqlite:"
    # Embedded by default; `cassandra://host[,host]:port/keyspace[?replication=3]`
    store_url: str = "sqlite:"
    host: str = "127.0.0.1"
    http_port: int = 8080
    mllp_port: int = 2575  # 0: any free port; -1: no MLLP listener
    run_processors: bool = True
    # Comma-separated processor names (consumer groups, stream_processors/topology.py) and
    # background tasks (BACKGROUND_TASKS) this process runs; empty: all. A region scales each
    # on its own, e.g. GOLDENHOUR_PROCESSORS=fhir-projector; run each sender once per region.
    processors: str = ""
    # Where ECG reads go: the county's reading centre and its region (one per county here).
    reading_centre_id: str = "county-ecg-centre"
    region_id: str = "county"
    lease_minutes: float = 10.0
    # Signed reads go back over HL7 v2 (MLLP) to the clinics that sent ECGs that way:
    # {site id: "host:port"}; env GOLDENHOUR_HL7_REPORT_DESTINATIONS='{"clinic-a": "10.1.2.3:2575"}'
    hl7_report_destinations: dict[str, str] = {}
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
    # HTTP limits (services/limits.py): the largest request body (16 MiB holds the largest
    # ECG EcgIn accepts, 60 s x 2 kHz x 12 leads: 11.5 MB as JSON), and a token bucket per
    # client address: rate_limit_per_s requests a second, bursts of rate_limit_burst; 0: off.
    max_body_bytes: int = 16 * 1024 * 1024
    rate_limit_per_s: float = 50.0
    rate_limit_burst: int = 200
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
    auth_leeway_s: float = 30.0  # clock skew allowed on exp / iat / nbf
    # The dev issuer (`goldenhour token`, key in <data_dir>/auth/): None = trusted only
    # when auth_required is off; a region sets it false.
    auth_dev_issuer: bool | None = None
    # MLLP peers: {sending facility (MSH-4): [allowed source addresses or CIDRs]}; when set,
    # a frame from any other facility or address is answered AR. Env
    # GOLDENHOUR_HL7_PEERS='{"CLINIC-A": ["10.1.2.0/24"]}'. Empty: any peer (the demo).
    hl7_peers: dict[str, list[str]] = {}
    # TLS for HTTP (uvicorn) and MLLP (the asyncio server): both on when both files are set.
    tls_cert_file: Path | None = None  # PEM certificate chain
    tls_key_file: Path | None = None  # PEM private key (a file mounted from a secret)


def chosen_processors(settings: Settings) -> set[str]:
    """The processors and background tasks named in `settings.processors` (empty: all)."""
    return {n.strip() for n in settings.processors.split(",") if n.strip()}


def runs(settings: Settings, name: str) -> bool:
    """Does this process run processor or background task `name`?"""
    chosen = chosen_processors(settings)
    return settings.run_processors and (not chosen or name in chosen)
