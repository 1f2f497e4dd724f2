"""The HTTP limit of a file ingest: a bare FastAPI app on uvicorn whose one route takes the
raw body and appends it as one record with the backend's bare client (bench/raw_append.py's
durability: SQLite `synchronous=FULL`, or kafka-python acks=all), then answers 202. Nothing
of ours is in the way: no parse, no validation, no audit, no event. Whatever ours does on
top of this, it cannot beat it, so bare/raw bounds what ours/raw can become.

Run by bench/ecg_file_ingest.py in a process of its own, with the same uvicorn defaults as
our server (services/server.py):

    BENCH_BARE_LOG=sqlite:/tmp/x.sqlite python -m uvicorn bench.bare_ingest:app --port N
    BENCH_BARE_LOG=kafka:127.0.0.1:9092 python -m uvicorn bench.bare_ingest:app --port N
"""

from __future__ import annotations

import os
import time

from fastapi import FastAPI, Request, Response

from bench.raw_append import appender

_append = appender(os.environ["BENCH_BARE_LOG"])
app = FastAPI()


@app.post("/ingest/ecg-file", status_code=202)
async def post_file(request: Request) -> Response:
    """The body appended as it came (blocking the loop: one client, nothing else to serve)."""
    _append(str(time.time_ns()), await request.body())
    return Response(status_code=202)
