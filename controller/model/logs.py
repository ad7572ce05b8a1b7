"""What a reader of a container's log asks for: Kubernetes' PodLogOptions that reach the runtime.

`since` is an absolute wall time (epoch seconds): the API turns `sinceSeconds` and `sinceTime`
into it, so the runtime sees one form. `limitBytes` is not here: the API cuts the merged stream
itself, as the kubelet does, since a runtime's own limit (if any) would count other bytes.

Trap: timestamps, when asked for, are the runtime's own (Docker's are RFC3339Nano with nine
digits, the kubelet's format too), prefixed to each line with one space.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class LogOptions:
    follow: bool = False
    """Keep streaming new lines until the container ends or the reader leaves."""
    tail_lines: int | None = None
    """Only the last N lines (of those after `since`); None for all."""
    since: float | None = None
    """Only lines written at or after this wall time; None for all."""
    timestamps: bool = False
    """Prefix each line with its RFC3339Nano time and a space."""


def rfc3339_nano(at: float) -> str:
    """`at` (epoch seconds, UTC) as Kubernetes and Docker stamp a log line: nine digits, `Z`."""
    seconds = int(at // 1)
    nanos = round((at - seconds) * 1e9)
    if nanos >= 1_000_000_000:
        seconds, nanos = seconds + 1, nanos - 1_000_000_000
    days, rest = divmod(seconds, 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    year, month, day = _civil(days)
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{nanos:09d}Z"


def _civil(days: int) -> tuple[int, int, int]:
    """Days since 1970-01-01 as a proleptic Gregorian (year, month, day), without a clock read."""
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (month <= 2)
    return year, month, day
