"""Backend selection: a URL picks the engine; the embedded SQLite files are the default."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

from eventlog.base import EventLog
from kernel.text import ascii_digits
from viewstore.base import ViewStore


def _query(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(url).query).items()}


def _hosts_problem(netloc: str, default_port: int | None) -> str | None:
    if not netloc:
        return "names no host"
    for hostport in netloc.split(","):
        host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
        if not host:
            return f"names no host in {hostport!r}"
        if port == "" and default_port is None:
            return f"{hostport!r} has no port"
        if port and not (ascii_digits(port) and 0 < int(port) < 65536):
            return f"port {port!r} is not a port number"
    return None


def url_problem(url: str, kind: str) -> str | None:
    """Why `url` cannot name the event log (`kind` "log") or view store ("store"), or None:
    checked before anything is opened or created, so a typo is a usage error."""
    schemes = {"log": ("kafka", 9092), "store": ("cassandra", 9042)}
    scheme, default_port = schemes[kind]
    if url.startswith("sqlite:"):
        return None
    if not url.startswith(f"{scheme}://"):
        return f"{kind} URL {url!r}: use sqlite: or {scheme}://host:port"
    why = _hosts_problem(urlparse(url).netloc, default_port)
    return f"{kind} URL {url!r} {why}" if why else None


def open_log(url: str, data_dir: Path) -> EventLog:
    """`sqlite:` (embedded, in data_dir) or
    `kafka://h:p[,h:p]?namespace=&replication=&min_isr=&id_horizon_days=` (region:
    replication=3&min_isr=2; id_horizon_days: how long an event id's retry is deduplicated
    across restarts, default 7, `all` for the whole topic, see eventlog/kafka/producer.py)."""
    if url.startswith("sqlite:"):
        from eventlog.sqlite import SqliteEventLog

        return SqliteEventLog(data_dir / "log.sqlite")
    if url.startswith("kafka://"):
        from eventlog.kafka import KafkaEventLog

        q = _query(url)
        return KafkaEventLog(
            urlparse(url).netloc,
            namespace=q.get("namespace", ""),
            replication_factor=int(q.get("replication", "1")),
            min_insync_replicas=int(q["min_isr"]) if "min_isr" in q else None,
            id_horizon_s=_id_horizon_s(q.get("id_horizon_days")),
        )
    raise ValueError(f"unknown event log URL {url!r}: use sqlite: or kafka://host:port")


def _id_horizon_s(days: str | None) -> float | None:
    """The Kafka log's `id_horizon_s` from the URL's `id_horizon_days` (`all`: None)."""
    from eventlog.kafka.producer import DEFAULT_ID_HORIZON_S

    if days is None:
        return DEFAULT_ID_HORIZON_S
    return None if days == "all" else float(days) * 24 * 3600


def open_store(url: str, data_dir: Path) -> ViewStore:
    """`sqlite:` (embedded, in data_dir) or
    `cassandra://h[,h]:port/keyspace?replication=&consistency=` (default LOCAL_QUORUM)."""
    if url.startswith("sqlite:"):
        from viewstore.sqlite import SqliteViewStore

        return SqliteViewStore(data_dir / "views.sqlite")
    if url.startswith("cassandra://"):
        from viewstore.cassandra import CassandraViewStore

        parsed, q = urlparse(url), _query(url)
        hosts = (parsed.hostname or "127.0.0.1").split(",")
        return CassandraViewStore(
            hosts,
            port=parsed.port or 9042,
            keyspace=parsed.path.strip("/") or "goldenhour",
            replication_factor=int(q.get("replication", "1")),
            consistency=q.get("consistency", "LOCAL_QUORUM"),
        )
    raise ValueError(f"unknown view store URL {url!r}: use sqlite: or cassandra://host:port/ks")
