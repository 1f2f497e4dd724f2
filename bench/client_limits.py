"""The raw clients' own limits on this machine: kafka-python (what the log backend uses) vs
kcat (librdkafka, the C client, Debian package `kcat`), producing and consuming the same
records (1 KB, about an incident event with its envelope) with acks=all and idempotence,
pipelined (not one request at a time). Says how much of the gap to the raw figures of the
other rows is Python's client rather than Kafka. Kafka only; skipped without kcat.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

from bench.common import Figure, main
from bench.raw_append import kafka_topic

N = int(os.environ.get("BENCH_CLIENT_N", "20000"))
SIZE = 1024
PREFIX = "bench-client-"


def _python_produce(bootstrap: str, topic: str, value: bytes) -> float:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    start = time.perf_counter()
    futures = [producer.send(topic, key=str(i).encode(), value=value) for i in range(N)]
    for future in futures:
        future.get(timeout=60)
    elapsed = time.perf_counter() - start
    producer.close()
    return N / elapsed


def _python_consume(bootstrap: str, topic: str) -> float:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    seen, start = 0, time.perf_counter()
    while seen < N:
        seen += sum(len(r) for r in consumer.poll(timeout_ms=1000).values())
    elapsed = time.perf_counter() - start
    consumer.close()
    return N / elapsed


def _kcat(args: list[str], stdin: bytes | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(["kcat", *args], input=stdin, check=True, capture_output=True, timeout=300)
    return N / (time.perf_counter() - start)


def run(backend: str) -> Figure | None:
    if backend == "embedded" or shutil.which("kcat") is None:
        print(f"client limits [{backend}]: skipped (Kafka only; needs kcat)", flush=True)
        return None
    bootstrap = os.environ["GOLDENHOUR_TEST_KAFKA"]
    value = b"x" * SIZE
    py_topic, c_topic = kafka_topic(bootstrap, PREFIX), kafka_topic(bootstrap, PREFIX)
    py_produce = _python_produce(bootstrap, py_topic, value)
    py_consume = _python_consume(bootstrap, py_topic)
    lines = b"\n".join([value] * N) + b"\n"
    common = ["-b", bootstrap, "-t", c_topic]
    c_produce = _kcat(["-P", *common, "-X", "acks=all", "-X", "enable.idempotence=true"], lines)
    c_consume = _kcat(["-C", *common, "-o", "beginning", "-e", "-q"])
    print(
        f"client limits [{backend}]: produce kafka-python {py_produce:.0f}/s vs kcat "
        f"{c_produce:.0f}/s; consume {py_consume:.0f}/s vs {c_consume:.0f}/s ({N} x {SIZE} B)",
        flush=True,
    )
    return Figure(
        f"Raw clients, {N:,} x 1 KB pipelined, acks=all: kafka-python vs kcat (C)",
        backend,
        f"kafka-python produce {py_produce:,.0f}/s, consume {py_consume:,.0f}/s",
        f"kcat produce {c_produce:,.0f}/s, consume {c_consume:,.0f}/s",
        py_produce / c_produce,
    )


if __name__ == "__main__":
    main(run)
