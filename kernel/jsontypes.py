"""JSON values as the system passes them around: decoded events, FHIR resources, view rows."""

from __future__ import annotations

from typing import Any

# A JSON object (or an Avro record decoded to a dict): keys are strings, values anything.
Json = dict[str, Any]
