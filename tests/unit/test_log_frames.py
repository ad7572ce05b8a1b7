"""Docker's multiplexed log frames, the logs endpoint's query, and the RFC3339Nano stamp."""

from __future__ import annotations

import datetime
import struct

from controller.model.logs import LogOptions, rfc3339_nano
from controller.runtime.docker.logs import FrameReader, log_params


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def test_frames_of_both_streams_merge_in_order_whatever_the_chunking() -> None:
    body = frame(1, b"out one\n") + frame(2, b"err\n") + frame(1, b"out two\n")
    for cut in range(1, len(body)):
        reader = FrameReader()
        assert reader.feed(body[:cut]) + reader.feed(body[cut:]) == b"out one\nerr\nout two\n"


def test_a_partial_frame_waits_for_the_rest() -> None:
    reader = FrameReader()
    assert reader.feed(frame(1, b"hello\n")[:10]) == b""
    assert reader.feed(frame(1, b"hello\n")[10:]) == b"hello\n"


def test_the_query_asks_for_both_streams_and_maps_every_option() -> None:
    assert log_params(LogOptions()) == {
        "stdout": "1",
        "stderr": "1",
        "follow": "0",
        "timestamps": "0",
        "tail": "all",
    }
    params = log_params(LogOptions(follow=True, tail_lines=3, since=1.5, timestamps=True))
    assert params["follow"] == "1"
    assert params["tail"] == "3"
    assert params["since"] == "1.500000000"
    assert params["timestamps"] == "1"


def test_the_stamp_is_rfc3339_with_nine_digits_in_utc() -> None:
    assert rfc3339_nano(0) == "1970-01-01T00:00:00.000000000Z"
    assert rfc3339_nano(1_700_000_000.25) == "2023-11-14T22:13:20.250000000Z"
    for at in (951_782_400.5, 4_107_542_399.0, 1_234_567_890.123456):
        expected = datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        assert rfc3339_nano(at).startswith(expected + ".")
