"""The limit of an MLLP ECG ingest in Python: a bare asyncio MLLP server that does only
what no ECG ingest can skip, and nothing of ours. Per frame: read it whole (0x0B ... 0x1C
0x0D), read every numeric-array OBX-5 into integers (numpy's C parser: one call a lead; an
ingest that never reads the samples cannot refuse a bad waveform), append the frame's bytes
as one record with the backend's bare client (bench/raw_append.py's durability), answer a
minimal ACK naming MSH-10. No peer, profile, charset, validation, Avro, event or audit.
Whatever ours does on top, bare/raw bounds what ours/raw can become.

Run by bench/mllp_ingest.py in a process of its own:

    python -m bench.bare_mllp PORT sqlite:/tmp/x.sqlite
    python -m bench.bare_mllp PORT kafka:127.0.0.1:9092
"""

from __future__ import annotations

import asyncio
import sys

import numpy as np

from bench.raw_append import appender

START, END = b"\x0b", b"\x1c\x0d"


def samples_read(message: bytes) -> int:
    """Every NA OBX-5 of `message` read as integers; how many values (the work's proof)."""
    count = 0
    for segment in message.split(b"\r"):
        if segment.startswith(b"OBX|"):
            fields = segment.split(b"|")
            if len(fields) > 5 and fields[2] == b"NA":
                count += np.fromstring(fields[5].decode("ascii"), dtype=np.int64, sep="^").size
    return count


def ack(message: bytes) -> bytes:
    """MSA|AA echoing MSH-10: what a sender needs to match the answer to its message."""
    control_id = message.split(b"\r", 1)[0].split(b"|")[9]
    return START + b"MSH|^~\\&|||||||ACK|" + control_id + b"|P|2.5.1\rMSA|AA|" + control_id + END


async def serve(port: int, log: str) -> None:
    append = appender(log)

    async def converse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                message = (await reader.readuntil(END))[len(START) : -len(END)]
                if not samples_read(message):
                    raise ValueError("a frame without samples: not the benchmark's ORU")
                append(message[:64].decode("ascii", "replace"), message)
                writer.write(ack(message))
                await writer.drain()
        except asyncio.IncompleteReadError:
            writer.close()  # the client is done

    server = await asyncio.start_server(converse, "127.0.0.1", port, limit=8 * 1024 * 1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), sys.argv[2]))
