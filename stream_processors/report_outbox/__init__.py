"""The report outbox: which signed ECG reads still have to go back to the site that sent the
ECG. One `OutboxItem` per ECG that came in over a channel reports go back on (MLLP; an HTTP
sender reads the FHIR DiagnosticReport, so nothing is stored for it), folded from its
stream on `diagnosis.reading` (request, claims, releases, report, delivery). Items whose
signed report is not yet acknowledged are filed under the `OutboxItem.pending` lookup by
destination site; a `ReportDelivered` takes them out. The sender
(`services/hl7_gateway/report_sender.py`) reads that lookup; this package does no I/O."""
