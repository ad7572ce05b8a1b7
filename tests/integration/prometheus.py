"""A real Prometheus server (Debian's `prometheus` package) on loopback, for tests that scrape a
controller and ask the server what dashboards and alert rules would see.

The server is a child process: its configuration (1 s scrape and rule evaluation, one job
`podyard` with the given target, the given rule files) and its TSDB live in the test's folder, and
its log is kept in a file so that a failure can show it. Queries go through the HTTP API, as
Grafana's do; the rules are evaluated by the server itself, and their health is read back.

Two pure helpers turn the repository's query texts into what the server is asked:
`grafana_to_promql` fills in a dashboard's template variables the way Grafana does with "All"
selected, and `comparison_operands` takes a rule's expression apart into the series it compares,
for rules whose condition a short test cannot honestly make true.

Traps:

* the scrape timeout must not exceed the scrape interval, so it is set to the interval too;
* a second target in job `podyard` would double every series the rules and panels select on that
  job, so the configuration has exactly one;
* a missing binary is a broken set-up (`make test` installs the package), not a reason to skip.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.integration.harness import free_port

JOB = "podyard"
SCRAPE_INTERVAL = "1s"


class QueryError(Exception):
    """Prometheus refused a query (bad syntax, unknown function...): polling will not help."""


@dataclass(frozen=True)
class Sample:
    """One element of an instant query's result: its labels (none for a scalar) and value."""

    labels: dict[str, str]
    value: float

    @property
    def finite(self) -> bool:
        return math.isfinite(self.value)


def prometheus_binary() -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        raise AssertionError(
            "prometheus is not installed (Debian package `prometheus`); `make test` installs it"
        )
    return binary


def scrape_config(target: str, rule_files: Sequence[Path]) -> dict[str, Any]:
    """One job `podyard` scraping `target` every second; rules evaluated every second."""
    return {
        "global": {
            "scrape_interval": SCRAPE_INTERVAL,
            "scrape_timeout": SCRAPE_INTERVAL,
            "evaluation_interval": SCRAPE_INTERVAL,
        },
        "rule_files": [str(path.resolve()) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": JOB,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [target]}],
            }
        ],
    }


class PrometheusServer:
    """`prometheus` on 127.0.0.1:<free port>, its files under `folder`."""

    def __init__(self, folder: Path, target: str, rule_files: Sequence[Path]) -> None:
        self.folder = folder
        self.port = free_port()
        self.config = folder / "prometheus.yml"
        self.log = folder / "prometheus.log"
        self.target = target
        self.rule_files = tuple(rule_files)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config.write_text(yaml.safe_dump(scrape_config(self.target, self.rule_files)))
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    prometheus_binary(),
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={self.folder / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def ready(self) -> bool:
        """`/-/ready` answers 200 once the TSDB is open and the server serves queries."""
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited ({self.proc.returncode}):\n{self.log_text()}")
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def _api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=5) as response:
                body = json.load(response)
        except urllib.error.HTTPError as error:
            if error.code in (400, 422):
                raise QueryError(json.load(error).get("error", str(error))) from error
            raise
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[Sample]:
        """An instant query at the current time: the vector's elements, or the scalar as one."""
        data = self._api("query", query=expr)
        kind, result = data["resultType"], data["result"]
        if kind == "scalar":
            return [Sample({}, float(result[1]))]
        if kind == "vector":
            return [Sample(item["metric"], float(item["value"][1])) for item in result]
        raise QueryError(f"{expr!r} gives a {kind}, not something a panel or a rule can show")

    def rules(self) -> list[dict[str, Any]]:
        """Every loaded rule with its `health` and `lastError`, as the rules API reports them."""
        data = self._api("rules")
        return [rule for group in data["groups"] for rule in group["rules"]]

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within ten seconds."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


# --- PromQL text ----------------------------------------------------------------------------------

REGEX_VARIABLES = {"namespace", "node"}
"""Dashboard variables with "All" as `.*` (their `allValue`), valid only inside `=~"..."`."""

GRAFANA_VALUES = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__interval_ms": "60000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}
"""Grafana's built-in variables, as a panel over the last hour would get them (`$__rate_interval`
is at least four scrape intervals; one minute holds many 1 s scrapes)."""

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def grafana_to_promql(expr: str) -> str:
    """A panel's query with its variables replaced, as Grafana sends it with "All" selected.

    `$namespace` and `$node` become `.*` and must stand inside a regex matcher (`=~"$node"`): used
    anywhere else, "All" would not mean every value, so that is refused rather than guessed at.
    Built-in interval and range variables get the values of `GRAFANA_VALUES`; any other variable
    is refused too, so that a new one is noticed here instead of sent to Prometheus as text.
    """

    def replace(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        if name in GRAFANA_VALUES:
            return GRAFANA_VALUES[name]
        if name in REGEX_VARIABLES:
            if not re.search(r"=~\s*[\"'][^\"']*$", expr[: match.start()]):
                raise ValueError(f"${name} is not inside a regex matcher in {expr!r}")
            return ".*"
        raise ValueError(f"unknown dashboard variable ${name} in {expr!r}")

    return _VARIABLE.sub(replace, expr)


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_SPLITTING_OPERATOR = re.compile(r"==|!=|>=|<=|>|<|\b(?:and|or|unless)\b")
_OPERATOR_MODIFIERS = re.compile(
    r"\s*(?:bool\b)?\s*(?:(?:on|ignoring)\s*\([^()]*\))?\s*"
    r"(?:(?:group_left|group_right)\s*(?:\([^()]*\))?)?"
)
_NUMBER = re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|inf|nan)", re.IGNORECASE)
_ABSENT = re.compile(r"absent(?:_over_time)?\s*\(")


def _top_level(expr: str) -> list[bool]:
    """For each character: is it outside every bracket and string?"""
    blanked = _STRING.sub(lambda m: "\0" * len(m[0]), expr)
    depth, flags = 0, []
    for char in blanked:
        if char in "([{":
            depth += 1
        flags.append(depth == 0 and char != "\0")
        if char in ")]}":
            depth -= 1
    return flags


def _wrapped(expr: str, opening: int) -> bool:
    """Does the bracket opened at `opening` close at the very end of `expr`?"""
    top = _top_level(expr)
    return all(top[:opening]) and not any(top[opening + 1 : -1]) and not top[-1]


def comparison_operands(expr: str) -> list[str]:
    """The series an alerting expression compares, without the comparison.

    Splits at every top-level comparison (`==`, `>`, ..., with `bool`) and set operator (`and`,
    `or`, `unless`, with `on`/`ignoring`/`group_*`), removes enclosing parentheses and repeats;
    drops number literals and unwraps `absent(...)`/`absent_over_time(...)`, whose argument being
    present is their healthy state. What is left are the operands whose data the expression needs:
    if one of them never returns anything, the rule can never fire.
    """
    expr = expr.strip()
    top = _top_level(expr)
    cuts = [m for m in _SPLITTING_OPERATOR.finditer(expr) if all(top[m.start() : m.end()])]
    if cuts:
        pieces, start = [], 0
        for m in cuts:
            pieces.append(expr[start : m.start()])
            modifiers = _OPERATOR_MODIFIERS.match(expr, m.end())
            start = modifiers.end() if modifiers else m.end()
        pieces.append(expr[start:])
        return _unique(operand for piece in pieces for operand in comparison_operands(piece))
    if expr.startswith("(") and _wrapped(expr, 0):
        return comparison_operands(expr[1:-1])
    absent = _ABSENT.match(expr)
    if absent and _wrapped(expr, absent.end() - 1):
        inner = expr[absent.end() : -1]
        return comparison_operands(re.sub(r"\[[^\[\]]*\]\s*$", "", inner))
    if _NUMBER.fullmatch(expr):
        return []
    return [expr]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
