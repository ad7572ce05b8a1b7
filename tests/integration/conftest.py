"""Integration tests run against a private Docker engine, never the user's default one.

A test controller reconciles every Podyard-labelled container on its engine, so a run against
the default engine could delete a user's pods. The engine and its fixtures (``private_dockerd``,
``docker_host``, ``docker``, ``controller``) live in ``fixtures.py``, shared with the fault
suite; here, after each test, ``_clean_engine`` force-removes Podyard-labelled containers and
volumes, the engine lease and ``podyard-test-*`` containers.

Every test under this folder is marked ``integration``. Tests marked ``kubectl`` are skipped when
kubectl is absent, and the terminal summary says how many were.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.fixtures import clean_engine
from tests.integration.kubectl import KUBECTL, MISSING

_HERE = Path(__file__).resolve().parent
_WITHOUT_KUBECTL: list[str] = []
"""The kubectl tests skipped because kubectl is absent, for the terminal summary."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items: mark only ours (before -m deselects).
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.integration)
        if KUBECTL is None and item.get_closest_marker("kubectl") is not None:
            item.add_marker(pytest.mark.skip(reason=MISSING))
            _WITHOUT_KUBECTL.append(item.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _WITHOUT_KUBECTL:
        terminalreporter.section("kubectl")
        terminalreporter.write_line(
            f"kubectl is not installed: {len(_WITHOUT_KUBECTL)} kubectl test(s) skipped, "
            "not passed (install kubectl 1.32 to run them)"
        )


@pytest.fixture(autouse=True)
def _clean_engine(docker_host: str) -> Iterator[None]:
    """Leave nothing of one test on the engine for the next."""
    yield
    clean_engine(docker_host)
