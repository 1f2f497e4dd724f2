"""An addendum line as the clinic reads it, the same in the FHIR DiagnosticReport's conclusion
(read_to_fhir) and in the HL7 v2 ORU sent back to the clinic (report_outbox):
`补充报告 Addendum 2026-12-08 01:30 (+08:00) dr-wu: <text>`.

Chinese first, English second (the label the reading page shows for an addendum, zh-CN
"补充报告"), the time in the region's local time with its offset. The reader's id and text
are kept as written. Written into projections, so it depends on the event alone (no request
language, no wall clock): a rebuild writes the same text.
"""

from __future__ import annotations

import datetime as dt

from kernel.time import local_minute

LABEL = "补充报告 Addendum"


def addendum_line(signed_at: dt.datetime | str, reader_id: str, text: str) -> str:
    """One addendum after the signed text: label, local signing time, reader, their text."""
    return f"{LABEL} {local_minute(signed_at)} {reader_id}: {text}"
