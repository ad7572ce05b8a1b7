"""Docker engine addresses as a nodes file may give them: `unix://`, `tcp://`, `ssh://`.

`engine_address(text, path, errors)` checks one address and records what is wrong with it at
`path` (Kubernetes' wording); `engine_identity(text)` says which engine an address reaches, so that
two nodes on one engine are refused. Kept apart from `nodes_file` because the address rules are
the docker CLI's, not the file's.

Trap: two spellings reach one engine (`unix:///run/../run/d.sock`, `tcp://HOST:2376` with the host
in another case), so identities compare the socket's real path and the lower-cased host. Two
names of one host (`localhost`, `127.0.0.1`) or an ssh and a tcp address of one engine are not
caught here: the engines' IDs would tell, once they answer.
"""

from __future__ import annotations

import os
from urllib.parse import SplitResult, urlsplit

from controller.model.validation.meta import FieldError, invalid, show_value

SCHEMES = ("unix", "tcp", "ssh")


def engine_address(text: str, path: str, errors: list[FieldError]) -> SplitResult | None:
    """The parsed address, or None with its problem recorded."""
    try:
        url = urlsplit(text)
        port = url.port
    except ValueError as exc:
        errors.append(invalid(path, text, str(exc)))
        return None
    if url.scheme not in SCHEMES:
        supported = ", ".join(f'"{s}://"' for s in SCHEMES)
        errors.append(
            FieldError(
                path, f"Unsupported value: {show_value(text)}: supported values: {supported}"
            )
        )
        return None
    if url.query or url.fragment or url.password:
        problem = "must not hold a query, a fragment or a password"
    elif url.scheme == "unix":
        ok = not url.netloc and url.path.startswith("/") and url.path != "/"
        problem = "" if ok else "must be unix:///ABSOLUTE/PATH"
    elif url.scheme == "tcp":
        ok = bool(url.hostname) and port is not None and url.path in ("", "/") and not url.username
        problem = "" if ok else "must be tcp://HOST:PORT"
    else:
        ok = bool(url.hostname) and url.path in ("", "/")
        problem = "" if ok else "must be ssh://[USER@]HOST[:PORT]"
    if problem:
        errors.append(invalid(path, text, problem))
        return None
    return url


def engine_identity(text: str) -> tuple[str, ...]:
    """What makes two addresses one engine: the socket's real path, or the host and port (two
    ssh users of one host still reach its one engine)."""
    url = urlsplit(text)
    if url.scheme == "unix":
        return ("unix", os.path.realpath(url.path))
    default = 22 if url.scheme == "ssh" else 0
    return (url.scheme, (url.hostname or "").lower(), str(url.port or default))
