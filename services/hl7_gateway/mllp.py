"""MLLP (Minimal Lower Layer Protocol, HL7 v2 transport over TCP): each message is sent as
<VT> message <FS><CR>, i.e. 0x0B ... 0x1C 0x0D.

`FrameDecoder` is the pure part (bytes in, complete frames out, no sockets) and is what the
unit tests exercise; `read_frames` drives it from an asyncio stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
# A 12-lead, 10 s ECG at 500 Hz written as text is ~400 KB; 4 MiB leaves room for 60 s
# strips and 1 kHz carts while bounding what one connection can make us buffer.
DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024
# Between frames some senders put a line break after <FS><CR>; that is not junk.
_INTER_FRAME_WHITESPACE = b"\r\n \t"
# How much of an oversized frame we keep, to read its MSH and still answer it.
HEAD_BYTES = 4096
READ_CHUNK_BYTES = 64 * 1024


class FramingError(ValueError):
    """The byte stream does not follow MLLP; the connection cannot be trusted further."""


class TruncatedFrame(FramingError):
    """The connection ended in the middle of a frame."""


class JunkBeforeStart(FramingError):
    """Bytes other than whitespace arrived where a frame's start block 0x0B was expected."""


class FrameTooLarge(FramingError):
    """A frame grew beyond the limit; `head` is its beginning (for an answer naming it)."""

    def __init__(self, message: str, head: bytes):
        super().__init__(message)
        self.head = head


def frame(payload: bytes) -> bytes:
    """Wrap one message for MLLP."""
    return START_BLOCK + payload + END_BLOCK


class FrameDecoder:
    """Incremental MLLP decoder: `feed` bytes as they arrive, get complete payloads back;
    `close` at end of stream tells whether it ended mid-frame."""

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES):
        self.max_frame_bytes = max_frame_bytes
        self._buffer = bytearray()
        self._in_frame = False
        self._scanned = 0  # bytes of the current frame already searched for END_BLOCK
        self._error: FramingError | None = None  # raised after the frames before it are out

    def feed(self, data: bytes) -> list[bytes]:
        """Complete payloads found so far; raises a `FramingError` on a protocol violation
        (after returning the good frames that preceded it in the same chunk)."""
        self.check()
        self._buffer += data
        frames: list[bytes] = []
        try:
            while self._buffer:
                if not self._in_frame and not self._find_start():
                    break
                payload = self._take_frame()
                if payload is None:
                    break
                frames.append(payload)
        except FramingError as exc:
            if not frames:
                raise
            self._error = exc
        return frames

    def close(self) -> None:
        """End of stream: raises `TruncatedFrame` if a frame was started but not ended."""
        self.check()
        if self._in_frame:
            size = len(self._buffer)
            self._buffer.clear()
            self._in_frame = False
            raise TruncatedFrame(f"connection closed mid-frame after {size} bytes "
                                 "(no end block 0x1C 0x0D)")

    def _raise_pending(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _find_start(self) -> bool:
        """Skip inter-frame whitespace up to a start block; False if more bytes are needed."""
        stripped = self._buffer.lstrip(_INTER_FRAME_WHITESPACE)
        if not stripped:
            self._buffer.clear()
            return False
        if stripped[:1] != START_BLOCK:
            junk = bytes(stripped[:16])
            self._buffer.clear()
            raise JunkBeforeStart(f"expected start block 0x0B, got {junk!r}")
        del self._buffer[: len(self._buffer) - len(stripped) + 1]
        self._in_frame, self._scanned = True, 0
        return True

    def _take_frame(self) -> bytes | None:
        """The payload up to the end block, or None while the frame is incomplete."""
        # Search from just before where the last search stopped: the end block may straddle
        # two reads, and rescanning a 400 KB frame per 64 KB chunk would be quadratic.
        end = self._buffer.find(END_BLOCK, max(0, self._scanned - 1))
        if end < 0:
            self._scanned = len(self._buffer)
            self._check_size(len(self._buffer) - 1)  # the last byte may be half an end block
            return None
        self._check_size(end)
        payload = bytes(self._buffer[:end])
        del self._buffer[: end + len(END_BLOCK)]
        self._in_frame = False
        return payload

    def _check_size(self, size: int) -> None:
        if size > self.max_frame_bytes:
            head = bytes(self._buffer[:HEAD_BYTES])
            self._buffer.clear()
            self._in_frame = False
            raise FrameTooLarge(f"frame exceeds {self.max_frame_bytes} bytes", head)


def split_frames(data: bytes, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> list[bytes]:
    """All payloads of a complete byte stream (raises if it ends mid-frame)."""
    decoder = FrameDecoder(max_frame_bytes)
    frames = decoder.feed(data)
    decoder.close()
    return frames


async def read_frames(reader: asyncio.StreamReader, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
                      idle_timeout_s: float | None = None) -> AsyncIterator[bytes]:
    """Payloads from a stream, in order, until the peer closes. Raises `FramingError`
    (including `TruncatedFrame` at EOF mid-frame) and `TimeoutError` after `idle_timeout_s`
    without a byte."""
    decoder = FrameDecoder(max_frame_bytes)
    while True:
        data = await asyncio.wait_for(reader.read(READ_CHUNK_BYTES), idle_timeout_s)
        if not data:
            decoder.close()
            return
        for payload in decoder.feed(data):
            yield payload
        decoder.check()
