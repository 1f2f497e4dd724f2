"""The regional read queue: one ordered stream per ECG on `diagnosis.reading` (request,
measurement, claims, releases, report, escalation) folded into a `QueueItem` each, rendered
as a FHIR `Task`. Lease decisions are made by the fold, in log order, so two readers can
never hold one ECG and a rebuild decides exactly as the live run did."""
