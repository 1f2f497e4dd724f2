"""ECG intake over HL7 v2 (ORU^R01) via MLLP, for township ECG carts.

Stages, in the order a message meets them:
    mllp.py      bytes -> frames (0x0B ... 0x1C 0x0D), size limit, truncation
    er7.py       character set, segments, separators, escaping, MSH header, date/times
    oru_ecg.py   ORU^R01 -> `EcgIn` (the accepted profile is documented there)
    observations.py  OBX -> leads, sample rate, measurements, device
    intake.py    EcgIn -> `submit_ecg` (the one write path) -> ACK
    ack.py       ACK^R01^ACK with MSA and ERR
    listener.py  `MllpListener`: the asyncio TCP server, in a background thread
HL7 v2 objects (hl7apy) stay inside this package.
"""
