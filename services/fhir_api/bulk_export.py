"""FHIR Bulk Data export (https://hl7.org/fhir/uv/bulkdata/export.html): asynchronous
kick-off, status, NDJSON files, delete.

| request                                  | answer                                         |
|------------------------------------------|------------------------------------------------|
| GET /fhir/$export                        | every type served (system level)               |
| GET /fhir/Patient/$export                | patient-compartment types, every patient       |
| GET /fhir/Group/{hospital}/$export       | the same, for the patients of a hospital       |
|   with `Prefer: respond-async`           | 202, Content-Location: the status URL          |
| GET /fhir/_export/{job}                  | 202 + X-Progress while running; 200 manifest   |
| GET /fhir/_export/{job}/{Type}.ndjson    | one resource a line (application/fhir+ndjson)  |
| DELETE /fhir/_export/{job}               | cancels a running job, deletes its files: 202  |

Kick-off parameters: `_type` (comma list), `_since` (instant: resources changed at or after
it), `_outputFormat` (application/fhir+ndjson, its aliases application/ndjson, ndjson).

What is exported: each resource as the view held it at `transactionTime`, which is the
newest lastUpdated in the view for the types asked at kick-off (log time, not the wall
clock, so a follow-up export with `_since=<transactionTime>` misses nothing the view held;
a version a lagging processor projects later with an earlier lastUpdated is missed by such
a follow-up: overlap `_since` by the projection lag). A job walks the view store's change
list of each type up to transactionTime (keys only, newest first; the first key of each
resource is its version then) and vreads one body per resource: O(versions of the types).
A Group is a hospital (its site id): its patients are the subjects of the ambulance
Encounters whose destination (hospitalization.destination or a location) is that
hospital, as of transactionTime; a Group export walks the same types and keeps their
resources.

Jobs live as files under `<data dir>/exports/<job>/`: `job.json` (the request, written at
kick-off), `<Type>.ndjson`, and `manifest.json` written last. A job is deterministic (bounded
by its transactionTime), so one found without a manifest and not running in this process
(a restart killed it) is run again when its status is asked.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse

from kernel.codes import SITE_ID
from kernel.jurisdiction import SYSTEM, Viewer
from kernel.search_params import SEARCH_PARAMS
from services.auth.audit import REASON_KEY
from services.auth.context import current_principal, enforced
from services.deps import SystemDep
from services.fhir_api.instants import parse_instant
from services.fhir_api.negotiate import negotiate
from services.fhir_api.params import once, refuse_unknown
from services.outcome import FhirError
from services.system import System
from stream_processors.registry.published import organization, registry_in_force
from viewstore.base import StoredResource, ViewStore, change_instant
from viewstore.guarded import current_viewing, viewing

router = APIRouter(prefix="/fhir", tags=["fhir bulk export"])

OUTPUT_FORMATS = {"application/fhir+ndjson", "application/ndjson", "ndjson"}
KICKOFF_PARAMS = {"_type", "_since", "_outputFormat", "_format"}
NDJSON = "application/fhir+ndjson"
# Patient-compartment types: the Patient and every type with a `patient` search parameter.
PATIENT_TYPES = ("Patient", *(t for t, p in SEARCH_PARAMS.items() if "patient" in p))
RETRY_AFTER_S = 1
JOB_ID_LENGTH = 32


@dataclass(frozen=True)
class Job:
    """An export request as kicked off; the files of `job.json`."""

    id: str
    request: str
    transaction_time: str
    types: list[str]
    since: str | None
    group: str | None
    patient_level: bool
    owner: str = ""  # the organization (token site) that kicked it off; "": no auth (demo)
    # Whom the job reads as (kernel/jurisdiction.py): the kicking-off caller's organizations,
    # None for everything (admin, auth off). Kept in job.json: a resumed job reads the same.
    viewer: list[str] | None = None


class Exports:
    """The jobs of one data dir: files, and the threads running them in this process."""

    def __init__(self, root: Path, store: ViewStore) -> None:
        self.root = root
        self.store = store
        self._running: dict[str, threading.Event] = {}
        self._progress: dict[str, str] = {}
        self._lock = threading.Lock()

    def folder(self, job_id: str) -> Path:
        if len(job_id) != JOB_ID_LENGTH or not job_id.isalnum():
            raise FhirError(404, f"export job {job_id!r} not found", "not-found")
        return self.root / job_id

    def start(self, job: Job) -> None:
        folder = self.root / job.id
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomic(folder / "job.json", json.dumps(asdict(job)).encode())
        self._run(job)

    def _run(self, job: Job) -> None:
        with self._lock:
            if job.id in self._running:
                return
            cancel = self._running[job.id] = threading.Event()
        thread = threading.Thread(
            target=self._work, args=(job, cancel), name=f"export-{job.id[:8]}", daemon=True
        )
        thread.start()

    def _work(self, job: Job, cancel: threading.Event) -> None:
        reader = (
            SYSTEM if job.viewer is None else Viewer(frozenset(job.viewer), f"export@{job.owner}")
        )
        try:
            with viewing(reader):  # a worker thread: the request's viewing is not inherited
                run_job(self.store, job, self.root / job.id, cancel, self._set_progress)
        except Exception as exc:  # the client sees it in the status answer
            if not cancel.is_set():
                error = {"diagnostics": f"{type(exc).__name__}: {exc}"}
                _write_atomic(self.root / job.id / "error.json", json.dumps(error).encode())
        finally:
            with self._lock:
                self._running.pop(job.id, None)
                self._progress.pop(job.id, None)

    def _set_progress(self, job_id: str, text: str) -> None:
        self._progress[job_id] = text

    def status(self, job_id: str) -> tuple[str, Any]:
        """("done", manifest) | ("failed", reason) | ("running", progress)."""
        folder = self.folder(job_id)
        if (folder / "manifest.json").exists():
            return "done", json.loads((folder / "manifest.json").read_text())
        if (folder / "error.json").exists():
            return "failed", json.loads((folder / "error.json").read_text())["diagnostics"]
        if not (folder / "job.json").exists():
            raise FhirError(404, f"export job {job_id} not found", "not-found")
        with self._lock:
            running = job_id in self._running
        if not running:  # killed by a restart: run it again (it is deterministic)
            self._run(Job(**json.loads((folder / "job.json").read_text())))
        return "running", self._progress.get(job_id, "starting")

    def delete(self, job_id: str) -> None:
        folder = self.folder(job_id)
        if not folder.exists():
            raise FhirError(404, f"export job {job_id} not found", "not-found")
        with self._lock:
            cancel = self._running.get(job_id)
        if cancel is not None:
            cancel.set()
        shutil.rmtree(folder, ignore_errors=True)


# -- the job ----------------------------------------------------------------------------------


def run_job(
    store: ViewStore,
    job: Job,
    folder: Path,
    cancel: threading.Event,
    progress: Callable[[str, str], None],
) -> None:
    """Writes one NDJSON file per type with resources, then the manifest."""
    patients = _group_patients(store, job.group, job.transaction_time) if job.group else None
    output = []
    for n, rtype in enumerate(job.types, 1):
        progress(job.id, f"{rtype} ({n}/{len(job.types)})")
        count = _export_type(store, job, rtype, patients, folder / f"{rtype}.ndjson", cancel)
        if cancel.is_set():
            return
        if count:
            output.append({"type": rtype, "count": count, "file": f"{rtype}.ndjson"})
    manifest = {"transactionTime": job.transaction_time, "output": output}
    _write_atomic(folder / "manifest.json", json.dumps(manifest).encode())


def _export_type(
    store: ViewStore,
    job: Job,
    rtype: str,
    patients: set[str] | None,
    path: Path,
    cancel: threading.Event,
) -> int:
    count = 0
    with path.open("wb") as out:
        for resource in as_of(store, rtype, job.since, job.transaction_time):
            if cancel.is_set():
                break
            if job.patient_level and not _in_compartment(resource, patients):
                continue
            out.write(resource.body + b"\n")
            count += 1
    if not count:
        path.unlink(missing_ok=True)
    return count


def as_of(store: ViewStore, rtype: str, since: str | None, until: str) -> Iterator[StoredResource]:
    """Each resource of `rtype` changed since `since`, as its version current at `until`."""
    seen: set[str] = set()
    for change in store.changes([rtype], since=since, until=until):
        if change.id in seen:
            continue
        seen.add(change.id)
        found = store.vread(rtype, change.id, change.version)
        if found is not None:
            yield found


def _patient_of(resource: dict[str, Any]) -> str | None:
    """The Patient id a resource belongs to (its own, or its subject / for)."""
    if resource["resourceType"] == "Patient":
        return str(resource["id"])
    for element in ("subject", "for", "patient"):
        ref = (resource.get(element) or {}).get("reference", "")
        if isinstance(ref, str) and ref.startswith("Patient/"):
            return ref.split("/", 1)[1]
    return None


def _in_compartment(resource: StoredResource, patients: set[str] | None) -> bool:
    patient = _patient_of(json.loads(resource.body))
    return patient is not None and (patients is None or patient in patients)


def _group_patients(store: ViewStore, hospital: str, until: str) -> set[str]:
    """Subjects of the Encounters bound for `hospital` at `until`."""
    out = set()
    for stored in as_of(store, "Encounter", None, until):
        encounter = json.loads(stored.body)
        patient = _patient_of(encounter)
        if patient is not None and hospital in _destinations(encounter):
            out.add(patient)
    return out


def _destinations(encounter: dict[str, Any]) -> set[str]:
    """Site ids an Encounter is bound for: hospitalization.destination and its locations."""
    places = [encounter.get("hospitalization", {}).get("destination", {})]
    places += [loc.get("location", {}) for loc in encounter.get("location", [])]
    ids = [p.get("identifier", {}) for p in places]
    return {i["value"] for i in ids if i.get("system") == SITE_ID and "value" in i}


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


# -- HTTP -------------------------------------------------------------------------------------

_EXPORTS: dict[Path, Exports] = {}
_EXPORTS_LOCK = threading.Lock()


def _exports(system: System) -> Exports:
    root = system.settings.data_dir / "exports"
    with _EXPORTS_LOCK:
        if root not in _EXPORTS or _EXPORTS[root].store is not system.store:
            _EXPORTS[root] = Exports(root, system.store)
        return _EXPORTS[root]


def _kickoff_params(
    params: Sequence[tuple[str, str]], allowed: Sequence[str]
) -> tuple[list[str], str | None]:
    refuse_unknown(params, KICKOFF_PARAMS, "$export")
    formats = [v for p, v in params if p == "_outputFormat"]
    if any(f not in OUTPUT_FORMATS for f in formats):
        raise FhirError(400, f"_outputFormat must be {NDJSON}", "not-supported", ["_outputFormat"])
    types = [t.strip() for p, v in params if p == "_type" for t in v.split(",") if t.strip()]
    bad = sorted(set(types) - set(allowed))
    if bad:
        raise FhirError(
            400,
            f"_type {', '.join(bad)} not exported here (one of {', '.join(allowed)})",
            "not-supported",
            ["_type"],
        )
    since = once(params, "_since")
    low = None if since is None else change_instant(parse_instant(since, "_since").isoformat())
    return [t for t in allowed if not types or t in types], low


def _kickoff(
    request: Request, system: System, allowed: Sequence[str], group: str | None, patient_level: bool
) -> Response:
    if "respond-async" not in request.headers.get("prefer", ""):
        raise FhirError(
            400, "$export is asynchronous: send Prefer: respond-async", "invalid", ["http.Prefer"]
        )
    types, since = _kickoff_params(list(request.query_params.multi_items()), allowed)
    newest = next(system.store.changes(types), None)
    job = Job(
        id=uuid.uuid4().hex,
        request=str(request.url),
        transaction_time=newest.changed_at
        if newest
        else change_instant("1970-01-01T00:00:00+00:00"),
        types=types,
        since=since,
        group=group,
        patient_level=patient_level,
        owner=principal.site if (principal := current_principal.get()) else "",
        viewer=_viewer_orgs(),
    )
    _exports(system).start(job)
    status_url = f"{str(request.base_url).rstrip('/')}/fhir/_export/{job.id}"
    return Response(status_code=202, headers={"Content-Location": status_url})


@router.get("/$export", dependencies=[Depends(negotiate)])
def export_system(request: Request, system: SystemDep) -> Response:
    return _kickoff(request, system, list(SEARCH_PARAMS), None, patient_level=False)


@router.get("/Patient/$export", dependencies=[Depends(negotiate)])
def export_patients(request: Request, system: SystemDep) -> Response:
    return _kickoff(request, system, PATIENT_TYPES, None, patient_level=True)


@router.get("/Group/{group}/$export", dependencies=[Depends(negotiate)])
def export_group(group: str, request: Request, system: SystemDep) -> Response:
    if not _group_known(system.store, group):
        raise FhirError(404, f"Group/{group} is not known", "not-found")
    return _kickoff(request, system, PATIENT_TYPES, group, patient_level=True)


def _group_known(store: ViewStore, group: str) -> bool:
    """A Group is a hospital: registered as an organization (once a registry is in force),
    or else named as the destination of some Encounter."""
    if registry_in_force(store):
        return organization(store, group) is not None
    ids = {c.id for c in store.changes(["Encounter"])}
    encounters = (store.read("Encounter", i) for i in sorted(ids))
    return any(group in _destinations(json.loads(r.body)) for r in encounters if r is not None)


def _viewer_orgs() -> list[str] | None:
    seen = current_viewing.get()
    if seen is None or seen.viewer.orgs is None:
        return None
    return sorted(seen.viewer.orgs)


def _check_owner(system: System, job_id: str, request: Request) -> None:
    """A job is its kicking-off organization's (and admin's): anyone else, with auth
    required, gets the same 404 as for a job that never was; the audit gets the reason."""
    caller = current_principal.get() if enforced.get() else None
    if caller is None or caller.role == "admin":
        return
    path = _exports(system).folder(job_id) / "job.json"
    owner = json.loads(path.read_text()).get("owner", "") if path.exists() else caller.site
    if owner != caller.site:
        setattr(request.state, REASON_KEY, f"export job of another organization than {caller.site}")
        raise FhirError(404, f"export job {job_id} not found", "not-found")


@router.get("/_export/{job_id}")
def export_status(job_id: str, request: Request, system: SystemDep) -> Response:
    _check_owner(system, job_id, request)
    state, detail = _exports(system).status(job_id)
    if state == "running":
        return Response(
            status_code=202, headers={"X-Progress": detail, "Retry-After": str(RETRY_AFTER_S)}
        )
    if state == "failed":
        raise FhirError(500, f"export job {job_id} failed: {detail}", "exception")
    job = json.loads((_exports(system).folder(job_id) / "job.json").read_text())
    base = f"{str(request.base_url).rstrip('/')}/fhir/_export/{job_id}"
    manifest = {
        "transactionTime": detail["transactionTime"],
        "request": job["request"],
        "requiresAccessToken": system.settings.auth_required,  # the files need the token
        "output": [
            {"type": o["type"], "url": f"{base}/{o['file']}", "count": o["count"]}
            for o in detail["output"]
        ],
        "error": [],
    }
    return Response(json.dumps(manifest), media_type="application/json")


@router.get("/_export/{job_id}/{file_name}")
def export_file(job_id: str, file_name: str, request: Request, system: SystemDep) -> Response:
    _check_owner(system, job_id, request)
    rtype = file_name.removesuffix(".ndjson")
    folder = _exports(system).folder(job_id)
    if (
        rtype not in SEARCH_PARAMS
        or not file_name.endswith(".ndjson")
        or not (folder / "manifest.json").exists()
    ):
        raise FhirError(404, f"export file {job_id}/{file_name} not found", "not-found")
    path = folder / file_name
    if not path.exists():
        raise FhirError(404, f"export file {job_id}/{file_name} not found", "not-found")
    return FileResponse(path, media_type=NDJSON)


@router.delete("/_export/{job_id}")
def export_delete(job_id: str, request: Request, system: SystemDep) -> Response:
    _check_owner(system, job_id, request)
    _exports(system).delete(job_id)
    return Response(status_code=202)
