"""`/healthz` (the process is up), `/readyz` (its log and view store answer: take traffic),
`/metrics` (Prometheus text format, see metrics.py)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from avro_schemas.catalogue import INCIDENT
from services.deps import SystemDep
from services.ops import metrics

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(system: SystemDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        system.log.end_offset(INCIDENT, 0)
        checks["log"] = "ok"
    except Exception as exc:  # any failure means "not ready", with the reason
        checks["log"] = f"{type(exc).__name__}: {exc}"
    try:
        system.store.checkpoint("readiness-probe", INCIDENT, 0)
        checks["store"] = "ok"
    except Exception as exc:
        checks["store"] = f"{type(exc).__name__}: {exc}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


@router.get("/metrics")
async def prometheus(system: SystemDep) -> Response:
    text = await run_in_threadpool(metrics.render, system)
    return Response(text, media_type=metrics.CONTENT_TYPE)
