"""`podyard logs`: its `--since` durations and the default container, chosen as kubectl does."""

from __future__ import annotations

import pytest

from controller.logscli import _default_container, duration_seconds


def test_since_takes_go_durations_rounded_up_to_seconds() -> None:
    assert duration_seconds("5s") == 5
    assert duration_seconds("1h30m") == 5400
    assert duration_seconds("1.5s") == 2
    assert duration_seconds("100ms") == 1
    for bad in ("", "5", "5x", "s", "1h 2m"):
        with pytest.raises(ValueError, match="invalid duration"):
            duration_seconds(bad)


def pod(annotation: str = "", inits: tuple[str, ...] = ()) -> dict[str, object]:
    annotations = {"kubectl.kubernetes.io/default-container": annotation} if annotation else {}
    return {
        "metadata": {"name": "web", "annotations": annotations},
        "spec": {
            "containers": [{"name": "app"}, {"name": "side"}],
            "initContainers": [{"name": n} for n in inits],
        },
    }


def test_the_annotation_names_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert _default_container(pod("side")) == "side"
    assert capsys.readouterr().err == ""


def test_otherwise_the_first_container_with_kubectls_note(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _default_container(pod(inits=("setup",))) == "app"
    assert capsys.readouterr().err == (
        'Defaulted container "app" out of: app, side, setup (init)\n'
    )
    assert _default_container(pod("gone")) == "app"
    assert 'Default container name "gone" not found in pod web' in capsys.readouterr().err
