"""`/healthz` (the process is up), `/readyz` (its log and view store answer, its data dir
has room, and no processor is stalled (see progress.py): take traffic), `/metrics`
(Prometheus text format, see metrics.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from avro_schemas.catalogue import INCIDENT
from services.deps import SystemDep
from services.ops import metrics, progress

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
    checks["disk"] = _disk(system.settings.data_dir, system.settings.min_free_disk_bytes)
    try:
        checks["processors"] = progress.stalled(system)
    except Exception as exc:
        checks["processors"] = f"{type(exc).__name__}: {exc}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


def _disk(data_dir: Path, min_free: int) -> str:
    """ "ok", or why the data dir's file system cannot take writes."""
    try:
        free = shutil.disk_usage(data_dir).free
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return "ok" if free >= min_free else f"full: {free} bytes free, {min_free} needed"


@router.get("/metrics")
async def prometheus(system: SystemDep) -> Response:
    text = await run_in_threadpool(metrics.render, system)
    return Response(text, media_type=metrics.CONTENT_TYPE)
