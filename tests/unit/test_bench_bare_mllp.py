"""The pure parts of bench/bare_mllp.py, the floor the MLLP benchmark measures ours against:
it must do the work it claims (read every numeric-array OBX's samples, and only those) and
answer what a sender matches its message by (MSA-2 = MSH-10), or the floor is a fake."""

from __future__ import annotations

from bench.bare_mllp import END, START, ack, samples_read

# An ORU^R01 as chapter 7 lays one out, written by hand: two leads as NA, a sample rate and
# a heart rate as NM (not samples), a statement as ST holding carets and digits.
MESSAGE = b"\r".join(
    [
        b"MSH|^~\\&|CART|CLINIC-A|ECG|COUNTY|20261207101500+0800||ORU^R01|CTRL-0042|P|2.5.1",
        b"PID|1||P001^^^CLINIC-A^MR||Zhang^San",
        b"OBR|1||ECG-1|34534-8^12 lead EKG^LN",
        b"OBX|1|NA|131329^MDC_ECG_LEAD_I^MDC||12^-7^0^305^-1200||uV",
        b"OBX|2|NM|0^MDC_ATTR_SAMP_RATE^MDC||500|264608^MDC_DIM_HZ^MDC",
        b"OBX|3|NA|131330^MDC_ECG_LEAD_II^MDC||1^2^3||uV",
        b"OBX|4|NM|8867-4^Heart rate^LN||72|/min",
        b"OBX|5|ST|18844-1^Interpretation^LN||1^2^3 not samples",
    ]
)


def test_the_floor_reads_every_sample_of_the_numeric_arrays_and_nothing_else() -> None:
    assert samples_read(MESSAGE) == 5 + 3


def test_the_floor_acknowledges_with_the_senders_control_id_in_msa_2() -> None:
    reply = ack(MESSAGE)
    assert reply.startswith(START) and reply.endswith(END)
    segments = reply[len(START) : -len(END)].split(b"\r")
    assert segments[1].split(b"|")[:3] == [b"MSA", b"AA", b"CTRL-0042"]
