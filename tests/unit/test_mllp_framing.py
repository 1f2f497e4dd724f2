"""MLLP framing without sockets: FrameDecoder fed bytes as a socket would deliver them."""

from __future__ import annotations

import pytest

from services.hl7_gateway.mllp import (
    END_BLOCK,
    START_BLOCK,
    FrameDecoder,
    JunkBeforeStart,
    Oversized,
    TruncatedFrame,
    frame,
    split_frames,
)

MSG = b"MSH|^~\\&|CART|clinic-a|||20261123180211+0800||ORU^R01|1|P|2.5.1\rPID|1\r"


def test_frame__wraps_payload_in_start_and_end_blocks() -> None:
    assert frame(MSG) == b"\x0b" + MSG + b"\x1c\x0d"


def test_split_frames__returns_each_payload_in_order() -> None:
    data = frame(b"one") + frame(b"two") + frame(b"three")
    assert split_frames(data) == [b"one", b"two", b"three"]


def test_feed__byte_by_byte_gives_the_same_frames() -> None:
    decoder = FrameDecoder()
    got = [f for byte in frame(MSG) + frame(b"x") for f in decoder.feed(bytes([byte]))]
    decoder.close()
    assert got == [MSG, b"x"]


def test_feed__end_block_split_across_reads_is_found() -> None:
    decoder = FrameDecoder()
    data = frame(MSG)
    assert decoder.feed(data[:-1]) == []
    assert decoder.feed(data[-1:]) == [MSG]


def test_feed__line_breaks_between_frames_are_not_junk() -> None:
    assert split_frames(frame(b"a") + b"\r\n" + frame(b"b") + b"\n") == [b"a", b"b"]


def test_feed__a_lone_fs_inside_a_frame_is_payload() -> None:
    # Only FS followed by CR ends a frame.
    assert split_frames(frame(b"a\x1cb")) == [b"a\x1cb"]


def test_close__mid_frame_is_a_truncated_frame() -> None:
    decoder = FrameDecoder()
    decoder.feed(START_BLOCK + MSG[:30])
    with pytest.raises(TruncatedFrame, match=r"mid-frame \(30 bytes buffered"):
        decoder.close()


def test_close__after_complete_frames_is_fine() -> None:
    decoder = FrameDecoder()
    decoder.feed(frame(MSG))
    decoder.close()


def test_feed__bytes_before_start_block_are_refused() -> None:
    with pytest.raises(JunkBeforeStart, match="expected start block 0x0B"):
        FrameDecoder().feed(MSG + END_BLOCK)


def test_feed__junk_after_a_good_frame_returns_the_frame_then_raises() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(frame(b"good") + b"GET / HTTP/1.1\r\n") == [b"good"]
    with pytest.raises(JunkBeforeStart):
        decoder.check()


def test_feed__frame_over_the_limit_is_reported_in_place_with_its_head() -> None:
    data = frame(b"before") + frame(MSG + b"9" * 2000) + frame(b"after")
    items = split_frames(data, max_frame_bytes=1000)
    assert items[0] == b"before" and items[2] == b"after"
    assert isinstance(items[1], Oversized) and items[1].head.startswith(b"MSH|")
    assert str(items[1]) == "frame exceeds 1000 bytes"


def test_feed__oversized_frame_is_reported_before_its_end_arrives_and_then_dropped() -> None:
    decoder = FrameDecoder(max_frame_bytes=100)
    assert decoder.feed(START_BLOCK + b"x" * 100) == []
    assert decoder.feed(b"x" * 10) == [Oversized(b"x" * 110, 100)]
    assert decoder.feed(b"x" * 500 + b"\x1c") == []
    assert decoder.feed(b"\x0d" + frame(b"next")) == [b"next"]
    decoder.close()


def test_close__inside_an_oversized_frame_is_a_truncated_frame() -> None:
    decoder = FrameDecoder(max_frame_bytes=10)
    decoder.feed(START_BLOCK + b"x" * 50)
    with pytest.raises(TruncatedFrame):
        decoder.close()


def test_feed__frame_of_exactly_the_limit_is_accepted() -> None:
    assert split_frames(frame(b"x" * 100), max_frame_bytes=100) == [b"x" * 100]


def test_default_limit_takes_a_60_second_12_lead_ecg() -> None:
    # 12 leads x 30 000 samples x up to 6 characters ("-1234^") is ~2.2 MB.
    big = b"MSH|" + b"-1234^" * (12 * 30_000)
    assert split_frames(frame(big)) == [big]
