"""The HTTP limit of a FHIR read: a bare FastAPI app on uvicorn serving ready-made Patient
bodies from a dict, with nothing of ours in the way (no store, no auth, no audit).

Run by bench/fhir_reads.py in a process of its own, with the same uvicorn defaults as our
server (services/server.py):

    BENCH_BARE_BODIES=bodies.json python -m uvicorn bench.bare_fhir:app --port N

`bodies.json` maps a Patient id to the exact body our server serves for it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastapi import FastAPI, Response

FHIR_JSON = "application/fhir+json"

_BODIES: dict[str, bytes] = {
    rid: body.encode()
    for rid, body in json.loads(Path(os.environ["BENCH_BARE_BODIES"]).read_text()).items()
}

app = FastAPI()


@app.get("/fhir/Patient/{rid}")
def read_patient(rid: str) -> Response:
    """The stored bytes, as our read answers them (404 for an unknown id)."""
    body = _BODIES.get(rid)
    if body is None:
        return Response(status_code=404)
    return Response(content=body, media_type=FHIR_JSON)
