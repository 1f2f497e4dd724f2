"""The MLLP listener: an asyncio TCP server in a background thread.

Per connection, frames are handled one at a time, in order, and each ACK is written before
the next frame is read: carts send in original-acknowledgement mode and wait for the ACK,
and answering in order is what lets them match ACKs to messages. The blocking log append
runs in a worker thread (`asyncio.to_thread`) so one slow append never stalls the other
connections.

An oversized frame is answered AR (its rest is dropped) and the connection carries on; a
framing error (junk before 0x0B, connection closed mid-frame) ends that connection only.
The server itself keeps accepting.

With `tls_cert_file`/`tls_key_file` set the server speaks MLLP over TLS
(services/auth/tls.py). Every handled frame is audited (an `AccessRecorded`, agent
`mllp:<facility>`) before its ACK is written: an accepted ORU's record in the commit of its
ECG, any other answer's on its own; if that fails the ACK is AE 207 (resend).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading

from services.auth import audit
from services.auth.peers import parse_peers
from services.auth.tls import server_context
from services.hl7_gateway import ack, er7
from services.hl7_gateway.errors import (
    APPLICATION_INTERNAL_ERROR,
    DATA_TYPE_ERROR,
    Hl7Error,
    Location,
)
from services.hl7_gateway.intake import Origin, handle_frame
from services.hl7_gateway.mllp import (
    DEFAULT_MAX_FRAME_BYTES,
    FramingError,
    Oversized,
    Received,
    frame,
    read_frames,
)
from services.i18n import Msg
from services.system import System

log = logging.getLogger("goldenhour.hl7")

START_TIMEOUT_S = 10.0
# A cart that says nothing for this long is gone (power cut, NAT timeout); closing frees
# the task and any half-received frame.
IDLE_TIMEOUT_S = 600.0


class MllpListener:
    """Accepts ORU^R01 ECGs over MLLP on `host:port` (port 0: any free port, see `.port`)."""

    def __init__(
        self,
        system: System,
        host: str,
        port: int,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
    ):
        self.system = system
        self.host = host
        self.port = port
        self.max_frame_bytes = max_frame_bytes
        self.idle_timeout_s = idle_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.peers = parse_peers(system.settings.hl7_peers)
        self.peers_required = system.settings.auth_required
        self.tls = server_context(system.settings)

    def start(self) -> None:
        """Start listening in a background thread; returns once the socket is bound."""
        self._thread = threading.Thread(target=self._run, name="mllp", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._failure:
            raise RuntimeError(
                f"MLLP listener did not start on {self.host}:{self.port}: {self._failure}"
            )

    def stop(self) -> None:
        """Stop accepting, close open connections, join the thread."""
        if self._loop and self._stopping and self._thread and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except Exception as exc:  # noqa: BLE001 - reported by start(); the thread just ends
            self._failure = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._accepted, self.host, self.port, ssl=self.tls)
        self.port = server.sockets[0].getsockname()[1]
        log.info("MLLP listening on %s:%d%s", self.host, self.port, " (TLS)" if self.tls else "")
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._converse(reader, writer)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read frames until the peer closes; answer each before reading the next."""
        peer = writer.get_extra_info("peername")
        try:
            async for item in read_frames(reader, self.max_frame_bytes, self.idle_timeout_s):
                writer.write(frame(await self._answer(item, peer)))
                await writer.drain()
        except FramingError as exc:
            log.warning("%s: %s; connection closed", peer, exc)
        except TimeoutError:
            log.info("%s: idle for %.0f s; connection closed", peer, self.idle_timeout_s)
        except ConnectionError as exc:
            log.info("%s: connection lost: %s", peer, exc)

    async def _answer(self, item: Received, peer: object) -> bytes:
        if isinstance(item, Oversized):
            log.warning("%s: %s; answered AR", peer, item)
            return oversized_answer(item)
        address = str(peer[0]) if isinstance(peer, tuple) and peer else None
        origin = Origin(address, self.peers, self.peers_required)
        return await asyncio.to_thread(self._handled, item, origin)

    def _handled(self, payload: bytes, origin: Origin) -> bytes:
        """The answer to a frame once its exchange is audited, in one worker thread: each
        hop from the event loop to a thread and back costs ~0.1 ms of the loop's time. An
        accepted ORU's commit carries the exchange's record; any other answer is audited
        here, on its own."""
        exchange = audit.mllp_carried(self.system, payload, origin.address)
        reply = handle_frame(self.system, payload, dataclasses.replace(origin, exchange=exchange))
        return reply if exchange.recorded else self._audited(payload, origin.address, reply)

    def _audited(self, payload: bytes, address: str | None, reply: bytes) -> bytes:
        access = audit.mllp_access(payload, address, reply)
        if access is None:  # no readable header: nothing was written
            return reply
        try:
            audit.record(self.system, access)
        except Exception:  # noqa: BLE001 - unaudited is unanswered: the peer resends
            log.exception("audit append failed; answered AE 207")
            header = er7.peek_header(payload)
            err = Hl7Error(APPLICATION_INTERNAL_ERROR, Msg("audit unavailable, resend later"))
            return ack.error(header, err)
        return reply


def oversized_answer(item: Oversized) -> bytes:
    """AR for a frame too large to read, naming its control id if its MSH is readable."""
    try:
        header = er7.peek_header(item.head)
    except Hl7Error:
        header = None
    text = Msg("{problem}; send smaller messages", problem=str(item))
    err = Hl7Error(DATA_TYPE_ERROR, text, Location("MSH"), reject=True)
    return ack.error(header, err)
