"""HL7 v2 over MLLP, both ways: ECGs in (ORU^R01 from township ECG carts), ADT in (from the
hospitals' HIS), signed reads out (ORU^R01 back to the clinics that sent their ECGs so).

In, in the order a message meets the stages:
    listener.py      `MllpListener`: the asyncio TCP server (TLS optional), peers checked
    mllp.py          bytes -> frames (0x0B ... 0x1C 0x0D), size limit, truncation
    batch.py         FHS/BHS ... BTS/FTS batches -> each message, and the response batch
    charsets.py      MSH-18 (table 0211 and its common spellings) -> Python codecs
    er7.py           decoding, segments (and their limit), separators, escaping, the MSH
                     header (read before decoding) and its required fields, date/times
    profiles.py      per-peer profiles (registry, else settings): time zone, identifier
                     authorities, versions, charset, untyped CX, batch ACK mode
    intake.py        peer identified, profile found, dispatch on MSH-9: ORU^R01 here,
                     ADT to adt_intake.py; -> ACK
    oru_ecg.py       ORU^R01 -> `EcgIn` (the accepted profile is documented there)
    observations.py  OBX -> leads, sample rate, measurements, statements, device
    adt_in.py        ADT^A01/A02/A03/A04/A08/A40 -> `AdtIn` (its profile is there)
    adt_intake.py    `AdtIn` -> hospital.adt (and identity.links) events -> ACK
    errors.py        `Hl7Error`: HL7 table 0357 code and ERL location, the ERR segment
    ack.py           ACK with MSA and ERR
Out:
    oru_report.py    a signed read (`OutboxItem`) -> ORU^R01 (pure)
    report_sender.py sends owed reports over MLLP until acknowledged AA; runs as the
                     topology's `hl7-report-sender` worker (services/workers.py)
HL7 v2 objects (hl7apy) stay inside this package.
"""
