"""A command run inside a pod's container (`kubectl exec`, `kubectl cp`): request, session, refusal.

The API speaks the remote-command protocol to the client; the runtime speaks Docker's exec. Both
meet here, in types only (no I/O), so the API never imports the engine or the runtime:

* `ExecRequest` is what the client asked (command, which streams, a terminal or not).
* `ExecSession` is a started command: output chunks tagged stdout (1) or stderr (2) as they come,
  stdin written and half-closed, the terminal resized, and the exit code once the output ended.
  Traps: `close_stdin` must leave the output open (`echo hi | cat` needs both); with a terminal
  there is only stdout (the terminal merges them); `exit_code` is None when the engine did not
  record one (the container was removed under the command).
* `ExecRefused` is the reason a request never started, in Kubernetes' words and HTTP code; `plain`
  marks the refusals the kubelet writes as plain text (kubectl prints them after "unable to
  upgrade connection: "), not as a metav1 Status.
"""

from __future__ import annotations

from typing import Protocol

import attrs

STDOUT = 1
STDERR = 2


@attrs.frozen
class ExecRequest:
    command: tuple[str, ...]
    stdin: bool = False
    stdout: bool = True
    stderr: bool = True
    tty: bool = False


class ExecSession(Protocol):
    async def read(self) -> tuple[int, bytes] | None:
        """The next output chunk as (STDOUT or STDERR, bytes); None once the output ended."""
        ...

    async def write(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None:
        """End the command's stdin; its output stays open."""
        ...

    async def resize(self, width: int, height: int) -> None: ...

    async def exit_code(self) -> int | None:
        """After `read` returned None: the command's exit code (None when none was recorded)."""
        ...

    async def close(self) -> None:
        """Release the connection; idempotent. A command still running is left to finish."""
        ...


class ExecRefused(Exception):
    """Why an exec did not start: HTTP `code`, Kubernetes `reason`, the message as it words it."""

    def __init__(self, code: int, reason: str, message: str, *, plain: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.plain = plain


def container_not_found(name: str) -> ExecRefused:
    """The container exists in the spec but is not running (or not yet created): the kubelet's
    words, as plain text with a 500, which kubectl prints after "unable to upgrade connection: "."""
    return ExecRefused(500, "InternalError", f'container not found ("{name}")', plain=True)
