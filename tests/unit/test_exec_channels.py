"""The remote-command protocol's pure parts: channel framing, the error channel's Status, resize
messages and the query's flags, as the kubelet and the API server read and write them."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from controller.api.exec import exec_request, exit_status, frame, parse_resize
from controller.model.execs import ExecRefused, ExecRequest


def test_every_message_starts_with_its_channel() -> None:
    assert frame(1, b"out") == b"\x01out"
    assert frame(3, b"") == b"\x03"


def test_exit_zero_is_success_without_kind_or_code() -> None:
    assert exit_status(0, ["true"]) == {"metadata": {}, "status": "Success"}


def test_a_non_zero_exit_carries_its_code_where_clients_read_it() -> None:
    status = exit_status(3, ["sh", "-c", "echo $HOSTNAME; exit 3"])
    assert status == {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: "
        "error executing command [sh -c echo $HOSTNAME; exit 3], exit code 3",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
    }


def test_an_unrecorded_exit_is_an_internal_error() -> None:
    status = exit_status(None, ["true"])
    assert (status["status"], status["reason"], status["code"]) == ("Failure", "InternalError", 500)
    assert "causes" in status["details"]


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (b'{"Width":120,"Height":40}', (120, 40)),
        (b'{"Width":1}', None),
        (b"not json", None),
        (b"[1, 2]", None),
    ],
    ids=["size", "missing-height", "garbage", "not-an-object"],
)
def test_resize_messages(data: bytes, size: tuple[int, int] | None) -> None:
    assert parse_resize(data) == size


def test_flags_parse_as_go_parses_booleans() -> None:
    query = MultiDict(
        [
            ("command", "sh"),
            ("command", "-c"),
            ("command", "ls"),
            ("stdin", "1"),
            ("stdout", "True"),
            ("stderr", "yes"),
            ("tty", "t"),
        ]
    )
    assert exec_request(query) == ExecRequest(
        ("sh", "-c", "ls"), stdin=True, stdout=True, stderr=False, tty=True
    )


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("command", "ls")], "you must specify at least 1 of stdin, stdout, stderr"),
        ([("stdout", "true")], "you must specify at least one command for the container"),
    ],
    ids=["no-stream", "no-command"],
)
def test_requests_the_api_server_refuses(pairs: list[tuple[str, str]], message: str) -> None:
    refused = exec_request(MultiDict(pairs))
    assert isinstance(refused, ExecRefused)
    assert (refused.code, refused.message) == (400, message)
