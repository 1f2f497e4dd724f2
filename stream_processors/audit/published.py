"""What services may use of the access audit projection: the route whose records it folds
as logins (the SMART token endpoint's grants, services/auth/smart.py)."""

from __future__ import annotations

from stream_processors.audit.to_fhir import LOGIN_ROUTE

__all__ = ["LOGIN_ROUTE"]
