"""ECG ingest through the HTTP API vs the raw log append of the same Avro bytes.

Ours: `goldenhour serve` in its own process (processors off, so only ingest is measured),
one client posting 10 s 12-lead ECGs (~0.4 MB JSON) and waiting for each 202.
Raw limit: the same encoded events appended with the backend's bare client and the same
durability: kafka-python `acks=all`, idempotent, one `send().get()` per event; or sqlite3
INSERT + COMMIT with `synchronous=FULL` in WAL mode.
"""

from __future__ import annotations

import datetime as dt
import os

from avro_schemas.codec import Codec
from avro_schemas.events import ECG_SUBMITTED
from bench.common import Figure, body_bytes, ingest_vs_raw, latency_summary, main, payloads
from services.ingest.ecg_models import EcgIn, ecg_event

N = int(os.environ.get("BENCH_INGEST_N", "150"))
WARMUP = 5


def _encoded(bodies: list[dict]) -> list[tuple[str, bytes]]:  # type: ignore[type-arg]
    codec, now = Codec(), dt.datetime.now(dt.UTC)
    return [
        (
            b["ecg_id"],
            codec.encode(ECG_SUBMITTED, ecg_event(EcgIn.model_validate(b), now)),
        )
        for b in bodies
    ]


def run(backend: str) -> Figure:
    bodies = payloads(N + WARMUP)
    posts = [("/ingest/ecg", body_bytes(b)) for b in bodies]
    batches = [[event] for event in _encoded(bodies)]  # one ECG per request, as the clients post
    seconds, lat, rss, raw_rate, raw_lat = ingest_vs_raw(backend, posts, batches, WARMUP)
    rate = len(lat) / seconds
    print(
        f"ingest [{backend}]: ours {rate:.1f} ECG/s ({latency_summary(lat)}, server peak RSS {rss:.0f} MiB); "
        f"raw {raw_rate:.1f} ECG/s ({latency_summary(raw_lat)}); ratio {rate / raw_rate:.2f}x",
        flush=True,
    )
    return Figure(
        "ECG ingest, 1 client, HTTP 202 after durable append",
        backend,
        f"{rate:.1f} ECG/s, {latency_summary(lat)}, RSS {rss:.0f} MiB",
        f"{raw_rate:.1f} ECG/s, {latency_summary(raw_lat)}",
        rate / raw_rate,
    )


if __name__ == "__main__":
    main(run)
