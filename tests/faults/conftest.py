"""The fault suite: Podyard under controller kills, engine restarts and freezes, a faulty socket.

Every case runs real `podyard run` processes against the session's private dockerd (the shared
fixtures of ``tests/integration/fixtures.py``) and records one figure line, printed in the
terminal summary whether the case passed or not, so a run shows how far from its promise the
controller is. The variant (short for `make test`, long for `make faults-long`) and the seed come
from the environment (``variant.py``); the seed is printed so any run can be replayed.

Every test here is marked ``faults`` and ``integration``, and the engine is cleaned after each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.variant import FaultVariant, variant_from_environment
from tests.integration.fixtures import clean_engine

_HERE = Path(__file__).resolve().parent
_VARIANT = variant_from_environment()
_FIGURES: list[str] = []

Record = Callable[[str], None]


LONG_TIMEOUT = 1200
"""Per-test deadline (s) in the long variant: 30 kills take minutes (the default is 300 s)."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.faults)
            item.add_marker(pytest.mark.integration)
            if _VARIANT.name == "long":
                item.add_marker(pytest.mark.timeout(LONG_TIMEOUT))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("fault suite")
        terminalreporter.write_line(
            f"variant {_VARIANT.name}, seed {_VARIANT.seed} (replay: PODYARD_FAULTS_SEED="
            f"{_VARIANT.seed}{' PODYARD_FAULTS=long' if _VARIANT.name == 'long' else ''})"
        )
        for line in _FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture
def variant() -> FaultVariant:
    return _VARIANT


@pytest.fixture
def record_figure(request: pytest.FixtureRequest) -> Record:
    """Record the case's figure line (call it before asserting, so a failure still shows it)."""

    def record(text: str) -> None:
        _FIGURES.append(f"{request.node.name}: {text}")

    return record


@pytest.fixture(autouse=True)
def _clean_engine(docker_host: str) -> Iterator[None]:
    """Leave nothing of one case on the engine for the next."""
    yield
    clean_engine(docker_host)
