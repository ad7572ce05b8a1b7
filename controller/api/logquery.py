"""The query of `GET .../pods/{name}/log` as Kubernetes' PodLogOptions, checked as it checks them.

Parameters: `container`, `follow`, `previous`, `timestamps` (booleans as Go's strconv.ParseBool
reads them), `tailLines`, `sinceSeconds`, `limitBytes` (integers), `sinceTime` (RFC3339).

Traps: a malformed value is a 400 BadRequest (the API server's conversion error), while a
well-formed but out-of-range one is a 422 Invalid on the kind `PodLogOptions`, with the field
errors in Kubernetes' words (`tailLines: Invalid value: -1: must be greater than or equal to
0`). `sinceSeconds` becomes an absolute time here, read from `now`, so the runtime sees one form.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping

import attrs

from controller.model.logs import LogOptions

TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


@attrs.frozen
class LogQuery:
    container: str
    previous: bool
    limit_bytes: int | None
    options: LogOptions


class QueryError(Exception):
    """A query the API server refuses: `code` 400 (malformed) or 422 (invalid)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _bool(query: Mapping[str, str], key: str) -> bool:
    text = query.get(key)
    if text is None or text == "":
        return False
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise QueryError(400, f'strconv.ParseBool: parsing "{text}": invalid syntax')


def _int(query: Mapping[str, str], key: str) -> int | None:
    text = query.get(key)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise QueryError(400, f'strconv.ParseInt: parsing "{text}": invalid syntax') from None


def _time(query: Mapping[str, str], key: str) -> float | None:
    text = query.get(key)
    if text is None or text == "":
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(
            400, f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": cannot parse'
        ) from None
    if parsed.tzinfo is None:
        raise QueryError(400, f'parsing time "{text}" as "2006-01-02T15:04:05Z07:00": no zone')
    return parsed.timestamp()


def parse_log_query(pod: str, query: Mapping[str, str], now: Callable[[], float]) -> LogQuery:
    """The query's options; `QueryError` with the API server's status and words otherwise."""
    tail = _int(query, "tailLines")
    limit = _int(query, "limitBytes")
    since_seconds = _int(query, "sinceSeconds")
    since_time = _time(query, "sinceTime")
    follow, previous, stamps = (_bool(query, k) for k in ("follow", "previous", "timestamps"))
    problems = []
    if tail is not None and tail < 0:
        problems.append(f"tailLines: Invalid value: {tail}: must be greater than or equal to 0")
    if limit is not None and limit < 1:
        problems.append(f"limitBytes: Invalid value: {limit}: must be greater than 0")
    if since_seconds is not None and since_time is not None:
        problems.append(
            ": Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"
        )
    elif since_seconds is not None and since_seconds < 1:
        problems.append(f"sinceSeconds: Invalid value: {since_seconds}: must be greater than 0")
    if problems:
        joined = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
        raise QueryError(422, f'PodLogOptions "{pod}" is invalid: {joined}')
    since = since_time if since_seconds is None else now() - since_seconds
    options = LogOptions(follow=follow, tail_lines=tail, since=since, timestamps=stamps)
    return LogQuery(query.get("container", ""), previous, limit, options)
