"""One settings object for every process; env vars `GOLDENHOUR_*` or CLI flags set it."""

from __future__ import annotations

from pathlib import Path

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
    mllp_port: int = 2575  # 0: any free port; -1: no MLLP listener
    run_processors: bool = True
    # Where ECG reads go: the county's reading centre and its region (one per county here).
    reading_centre_id: str = "county-ecg-centre"
    region_id: str = "county"
    lease_minutes: float = 10.0
    # Signed reads go back over HL7 v2 (MLLP) to the clinics that sent ECGs that way:
    # {site id: "host:port"}; env GOLDENHOUR_HL7_REPORT_DESTINATIONS='{"clinic-a": "10.1.2.3:2575"}'
    hl7_report_destinations: dict[str, str] = {}
