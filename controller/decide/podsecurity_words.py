"""How Pod Security refusals are worded: Kubernetes' reason and detail, pluralised and quoted.

Shared by the baseline checks (`podsecurity`) and the restricted ones (`podsecurity_restricted`)
so both write `container "a"` / `containers "a", "b"` and Go's %q quoting the same way upstream's
pluralize and joinQuote do. Trap: json.dumps matches %q only for printable ASCII, which is all a
container name (a DNS label), a capability or a profile type can hold once validated.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import attrs


@attrs.frozen
class Violation:
    """One failed check, as upstream's CheckResult names it: `reason (detail)`."""

    reason: str
    detail: str

    def __str__(self) -> str:
        return f"{self.reason} ({self.detail})"


def quote(values: Iterable[str]) -> str:
    """Go's joinQuote: each value as %q, joined by `, `."""
    return ", ".join(json.dumps(value) for value in values)


def containers(names: list[str]) -> str:
    """`container "a"` or `containers "a", "b"`."""
    return f"{'container' if len(names) == 1 else 'containers'} {quote(names)}"
