"""The HTTP application: one routing table for every service. Who may call each route,
and the access audit of patient data, are one layer: services/auth/policy.py. Every
answer a person reads is in their language (services/i18n, the outermost layer).

| prefix        | router                        | what                                  |
|---------------|-------------------------------|---------------------------------------|
| /, /static,   | services/home/routes.py       | landing page by role; Swagger UI and  |
| /docs, /redoc |                               | ReDoc from packaged assets (offline)  |
| /healthz,     | services/ops/routes.py        | liveness, readiness (log + store),    |
| /readyz,      |                               | Prometheus metrics (lag, queue, DLQ)  |
| /metrics      |                               |                                       |
| /.well-known, | services/auth/smart_routes.py | SMART discovery (also under /fhir),   |
| /auth         |                               | Backend Services token endpoint, JWKS |
| /ingest       | services/ingest/routes.py     | ECG submission (clinics, carts)       |
| /ingest       | services/ingest/tablet_routes | ambulance tablets: incident events    |
|               |                               | (batches, versions), unit positions   |
| /fhir         | services/fhir_api/bulk_export | $export (system, Patient, Group):     |
|               |                               | kick-off, status, NDJSON files        |
| /fhir         | services/fhir_api/            | Subscription (+$status, $events,      |
|               | subscription_routes.py        | $get-ws-binding-token), Subscription- |
|               |                               | Topic, websocket channel /fhir/ws     |
| /fhir         | services/fhir_api/            | Patient/$merge, Patient/$unmerge      |
|               | identity_routes.py            | (identity links; before the main FHIR |
|               |                               | router, whose /{rtype}/{rid} matches) |
| /fhir         | services/fhir_api/routes.py   | FHIR R4 read, vread, history, search  |
|               |                               | (paged), Patient/$everything          |
| /reading      | services/reading/routes.py    | read queue, claims/leases, reports    |
| /reading/     | services/reading/web.py       | the reader's workstation (HTML, SVG)  |
| /board        | services/board/routes.py      | ED board of incoming ambulances (HTML,|
|               |                               | JSON, SSE), handover acceptance       |
| /region       | services/board/routes.py      | region's units: map, table (SSE)      |
| /crew         | services/crew/routes.py       | the crew's tablet app (offline shell: |
|               |                               | page, manifest, service worker, ref.) |
| /registry     | services/registry/routes.py   | who is who (admin): organizations,    |
|               |                               | units, practitioners + roles, devices,|
|               |                               | HL7 peers; read back through /fhir    |
| /command      | services/command/routes.py    | command centre: MCIs, capacity and    |
|               |                               | distribution, escorts, alerts; page   |
| /kpi          | services/kpi/routes.py        | quality indicators as of any instant: |
|               |                               | JSON, report page (SVG), CSV, FHIR    |
|               |                               | MeasureReport                         |
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services import auth, i18n, limits, outcome
from services.auth.smart_routes import router as smart_router
from services.board.routes import board_router, region_router
from services.command.routes import router as command_router
from services.crew.routes import router as crew_router
from services.fhir_api.bulk_export import router as export_router
from services.fhir_api.identity_routes import router as identity_router
from services.fhir_api.outcome_routes import router as outcome_router
from services.fhir_api.routes import router as fhir_router
from services.fhir_api.subscription_routes import router as subscription_router
from services.home.routes import router as home_router
from services.ingest.ecg_models import EcgIn
from services.ingest.fast_body import register_schemas
from services.ingest.routes import router as ingest_router
from services.ingest.tablet_models import IncidentBatch, PositionBatch
from services.ingest.tablet_routes import router as tablet_router
from services.kpi.routes import router as kpi_router
from services.ops.routes import router as ops_router
from services.reading.routes import router as reading_router
from services.reading.web import router as web_router
from services.registry.models import MODELS as PARTY_MODELS
from services.registry.models import RetireIn, RoleIn
from services.registry.routes import router as registry_router
from services.system import System


def create_app(system: System) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.system = system
        yield

    app = FastAPI(
        title="goldenhour",
        summary="Regional emergency (120) and remote-ECG record system",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served offline by services/home/routes.py
        redoc_url=None,
    )
    app.state.system = system
    outcome.install(app)
    auth.install(app, system)  # inside the limits: a flood is refused before any token check
    limits.install(app, system.settings)
    i18n.install(app)  # outermost: refusals of the layers above are translated too
    app.include_router(home_router)
    app.include_router(ops_router)
    app.include_router(smart_router)  # before fhir_router: /fhir/.well-known/... would match it
    app.include_router(ingest_router)
    app.include_router(tablet_router)
    app.include_router(export_router)  # before fhir_router: its /{type}/{id} would match
    app.include_router(subscription_router)  # before fhir_router: its /{type}/{id} would match
    app.include_router(identity_router)
    app.include_router(outcome_router)  # writes: before fhir_router's catch-all routes
    app.include_router(fhir_router)
    app.include_router(reading_router)
    app.include_router(web_router)
    app.include_router(board_router)
    app.include_router(region_router)
    app.include_router(command_router)
    app.include_router(crew_router)
    app.include_router(kpi_router)
    app.include_router(registry_router)
    register_schemas(
        app, EcgIn, IncidentBatch, PositionBatch, *PARTY_MODELS.values(), RetireIn, RoleIn
    )
    return app
