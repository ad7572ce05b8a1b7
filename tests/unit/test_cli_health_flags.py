"""`podyard run --relist-threshold`: the pleg check's threshold, from the command line."""

from __future__ import annotations

from controller.cli import build_parser, settings_from
from controller.config import HealthSettings


def test_relist_threshold_defaults_to_the_kubelets_three_minutes() -> None:
    settings = settings_from(build_parser().parse_args(["run", "--manifests", "m"]))
    assert settings.health == HealthSettings()
    assert settings.health.relist_threshold_seconds == 180.0


def test_relist_threshold_is_set_from_the_flag() -> None:
    args = build_parser().parse_args(["run", "--manifests", "m", "--relist-threshold", "5"])
    assert settings_from(args).health.relist_threshold_seconds == 5.0
