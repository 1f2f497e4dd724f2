"""MLLP ORU^R01 ingest (HL7 v2 12-lead ECGs as carts send them) vs the raw log append of the
same message bytes.

Ours: `goldenhour serve` in its own process (processors off, so only ingest is measured)
with its MLLP listener, one client on one TCP connection sending 10 s, 500 Hz 12-lead
ORU^R01 messages (~400 KB of ER7 each, built as tests/hl7_messages.py builds them, in the
profile services/hl7_gateway/oru_ecg.py documents) framed 0x0B ... 0x1C 0x0D, and waiting
for each ACK, which must be AA: header, peer, decode, parse, validate, encode, durable
append of the ECG, its read request and the exchange's audit record. Raw limit: each
message's bytes appended as one record with the backend's bare client and the same
durability (bench/raw_append.py).

Floor: the same messages over one connection to bench/bare_mllp.py, which only reads each
frame, its samples and MSH-10, appends it with the bare client and answers AA. bare/raw is
the most any Python MLLP ECG ingest reaches here; ours/raw can only approach it.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import (
    Figure,
    bare_log,
    bare_server,
    bytes_ingest_figure,
    latency_summary,
    main,
    ours_vs_raw,
    payloads,
    peak_rss_mib,
)
from bench.raw_append import timed
from services.settings import Settings
from tests.conftest import free_port
from tests.hl7_messages import oru_r01
from tests.processes import start_serve

N = int(os.environ.get("BENCH_MLLP_N", "100"))
WARMUP = 5
START, END = b"\x0b", b"\x1c\x0d"  # MLLP start and end blocks
RECV_BYTES = 64 * 1024


def _messages(n: int) -> list[bytes]:
    return [oru_r01(body).encode() for body in payloads(n)]


def _exchange(sock: socket.socket, message: bytes) -> None:
    """Send one framed message and read its ACK; RuntimeError unless it is AA."""
    sock.sendall(START + message + END)
    reply = b""
    while not reply.endswith(END):
        chunk = sock.recv(RECV_BYTES)
        if not chunk:
            raise RuntimeError(f"connection closed before the ACK ({reply[:200]!r})")
        reply += chunk
    msa = next((s for s in reply.split(b"\r") if s.startswith(b"MSA|")), b"")
    if msa.split(b"|")[1:2] != [b"AA"]:
        raise RuntimeError(f"not accepted: {reply.strip(START + END)[:400]!r}")


def timed_frames(
    settings: Settings, messages: list[bytes], warmup: int
) -> tuple[float, list[float], float]:
    """`goldenhour serve` in its own process with MLLP on a free port, one connection
    sending `messages` one after the other, each waiting for its AA, the first `warmup`
    untimed. Returns (seconds of the timed messages, latency of each, server peak RSS MiB)."""
    port = free_port()
    proc, _ = start_serve(settings, processors=False, mllp_port=port)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            elapsed, lat = timed(lambda message: _exchange(sock, message), messages, warmup)
        return elapsed, lat, peak_rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run(backend: str) -> list[Figure]:
    messages = _messages(N + WARMUP)
    batches = [[(f"raw-{n}", message)] for n, message in enumerate(messages)]
    run = ours_vs_raw(
        backend, lambda settings: timed_frames(settings, messages, WARMUP), batches, WARMUP
    )
    size_kb = sum(map(len, messages)) / len(messages) / 1024
    capability = (
        f"MLLP ORU^R01 ingest (12 leads, 10 s, {size_kb:.0f} KB), 1 connection, AA after "
        "durable append"
    )
    ours = bytes_ingest_figure("mllp ingest", capability, backend, "message", run)
    seconds, lat = _bare(backend, messages)
    rate = len(lat) / seconds
    print(
        f"mllp ingest [{backend}]: floor, bare MLLP + samples read + bare append {rate:.1f} "
        f"messages/s ({latency_summary(lat)}); bare/raw {rate / run.raw_rate:.2f}x",
        flush=True,
    )
    floor = Figure(
        f"{capability}: the floor, a bare asyncio MLLP server reading each frame's samples "
        "and MSH-10, appending its bytes with the bare client, nothing of ours "
        "(bench/bare_mllp.py)",
        backend,
        f"bare {rate:.1f} messages/s, {latency_summary(lat)}",
        f"{run.raw_rate:.1f} messages/s (message bytes appended), {latency_summary(run.raw_lat)}",
        rate / run.raw_rate,
    )
    return [ours, floor]


def _bare(backend: str, messages: list[bytes]) -> tuple[float, list[float]]:
    """The messages through bench/bare_mllp.py on `backend`'s bare client, one connection:
    (seconds of the timed ones, latency of each)."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        _bare_server(backend, Path(tmp)) as port,
        socket.create_connection(("127.0.0.1", port), timeout=60) as sock,
    ):
        return timed(lambda message: _exchange(sock, message), messages, WARMUP)


@contextmanager
def _bare_server(backend: str, data_dir: Path) -> Iterator[int]:
    """bench/bare_mllp.py in its own process; yields its port once it accepts."""
    port = free_port()
    cmd = [sys.executable, "-m", "bench.bare_mllp", str(port), bare_log(backend, data_dir)]
    with bare_server(cmd, lambda: _accepts(port)):
        yield port


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


if __name__ == "__main__":
    main(run)
