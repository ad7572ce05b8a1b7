"""The nodes file (`podyard run --nodes FILE`): what it gives, and each refusal with line and field."""

from pathlib import Path

import pytest

from controller.cli import build_parser, main, nodes_from
from controller.config import CapacityOverrides, TlsSettings
from controller.model.placement import Taint, TaintEffect
from controller.source.nodes_file import NodesFileInvalid, load_nodes_file

GOOD = """\
nodes:
- name: n1
  dockerHost: unix:///run/n1/docker.sock
  labels:
    zone: a
    example.com/disk: ssd
  taints:
  - key: dedicated
    value: db
    effect: NoSchedule
  capacity: {cpu: "1500m", memory: 8Gi, pods: 20}
- name: n2
  dockerHost: ssh://admin@127.0.0.1:2222
  hostIP: 127.0.0.2
- name: n3
  dockerHost: tcp://127.0.0.1:2376
  tls: {caFile: ca.pem, certFile: cert.pem, keyFile: key.pem}
"""


def write(tmp_path: Path, text: str, name: str = "nodes.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def refusals(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(NodesFileInvalid) as caught:
        load_nodes_file(write(tmp_path, text))
    return [str(e).replace(str(tmp_path) + "/", "") for e in caught.value.errors]


def test_a_good_file_gives_every_node_in_order(tmp_path: Path) -> None:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    n1, n2, n3 = load_nodes_file(write(tmp_path, GOOD))
    assert (n1.name, n1.docker_host, n1.host_ip) == (
        "n1",
        "unix:///run/n1/docker.sock",
        "127.0.0.1",
    )
    assert n1.labels == {"zone": "a", "example.com/disk": "ssd"}
    assert n1.taints == (Taint("dedicated", TaintEffect.NO_SCHEDULE, "db"),)
    assert n1.capacity == CapacityOverrides(cpu_millis=1500, memory_bytes=8 << 30, pods=20)
    assert n1.tls is None
    assert (n2.docker_host, n2.host_ip, n2.capacity) == (
        "ssh://admin@127.0.0.1:2222",
        "127.0.0.2",
        CapacityOverrides(),
    )
    assert n3.tls == TlsSettings(
        str(tmp_path / "ca.pem"), str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"), True
    )


NODE = "nodes:\n- name: n1\n  dockerHost: unix:///run/n1/docker.sock\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", ["nodes.yaml:1: nodes: Required value: a list of nodes"], id="empty"),
        pytest.param(
            "nodes: []\n",
            ["nodes.yaml:1: nodes: Invalid value: []: must be a non-empty"],
            id="none",
        ),
        pytest.param(NODE + "extra: 1\n", ["nodes.yaml:4: extra: unknown field"], id="unknown-top"),
        pytest.param(
            NODE + "- name: n2\n  labels: {}\n",
            ["nodes.yaml:4: nodes[1].dockerHost: Required value"],
            id="missing-host",
        ),
        pytest.param(
            NODE + "- dockerHost: unix:///run/n2.sock\n",
            ["nodes.yaml:4: nodes[1].name: Required value"],
            id="missing-name",
        ),
        pytest.param(
            NODE + "  dokerHost: x\n",
            ["nodes.yaml:4: nodes[0].dokerHost: unknown field"],
            id="typo",
        ),
        pytest.param(
            NODE + "- name: n1\n  dockerHost: unix:///run/n2/docker.sock\n",
            ['nodes.yaml:4: nodes[1].name: Duplicate value: "n1"'],
            id="duplicate-name",
        ),
        pytest.param(
            NODE + "- name: n2\n  dockerHost: unix:///run/../run/n1/docker.sock\n",
            ['nodes.yaml:5: nodes[1].dockerHost: Duplicate value: "unix:///run/../run/n1/'],
            id="duplicate-engine",
        ),
        pytest.param(
            "nodes:\n- name: a\n  dockerHost: ssh://x@h\n- name: b\n  dockerHost: ssh://y@H:22\n",
            ['nodes.yaml:5: nodes[1].dockerHost: Duplicate value: "ssh://y@H:22"'],
            id="duplicate-ssh-host",
        ),
        pytest.param(
            "nodes:\n- name: n1\n  dockerHost: http://127.0.0.1:2375\n",
            [
                'nodes.yaml:3: nodes[0].dockerHost: Unsupported value: "http://127.0.0.1:2375": '
                'supported values: "unix://", "tcp://", "ssh://"'
            ],
            id="scheme",
        ),
        pytest.param(
            "nodes:\n- name: n1\n  dockerHost: tcp://127.0.0.1\n",
            [
                'nodes.yaml:3: nodes[0].dockerHost: Invalid value: "tcp://127.0.0.1": must be tcp://HOST:PORT'
            ],
            id="tcp-without-port",
        ),
        pytest.param(
            "nodes:\n- name: n1\n  dockerHost: unix://relative.sock\n",
            [
                'nodes.yaml:3: nodes[0].dockerHost: Invalid value: "unix://relative.sock": must be unix:///ABSOLUTE/PATH'
            ],
            id="unix-relative",
        ),
        pytest.param(
            NODE + "  tls: {verify: false}\n",
            [
                'nodes.yaml:4: nodes[0].tls: Invalid value: "unix:///run/n1/docker.sock": tls needs a tcp:// dockerHost'
            ],
            id="tls-without-tcp",
        ),
        pytest.param(
            "nodes:\n- name: n1\n  dockerHost: tcp://127.0.0.1:2376\n  tls:\n    caFile: nowhere.pem\n",
            ['nodes.yaml:5: nodes[0].tls.caFile: Not found: "nowhere.pem"'],
            id="tls-missing-file",
        ),
        pytest.param(
            NODE + "  labels:\n    ok: yes-please\n    bad key: x\n",
            ['nodes.yaml:6: nodes[0].labels[bad key]: Invalid value: "bad key": name part must'],
            id="label-key",
        ),
        pytest.param(
            NODE + "  labels:\n    zone: 3\n",
            ["nodes.yaml:5: nodes[0].labels.zone: Invalid value: 3: must be a string"],
            id="label-not-string",
        ),
        pytest.param(
            NODE + "  taints:\n  - key: a\n    effect: NoSchedule\n  - key: b\n    effect: Never\n",
            [
                'nodes.yaml:8: nodes[0].taints[1].effect: Unsupported value: "Never": supported values: '
                '"NoSchedule", "PreferNoSchedule", "NoExecute"'
            ],
            id="taint-effect",
        ),
        pytest.param(
            NODE + "  taints:\n  - value: x\n    effect: NoSchedule\n",
            ["nodes.yaml:5: nodes[0].taints[0].key: Required value"],
            id="taint-key-missing",
        ),
        pytest.param(
            NODE
            + "  taints:\n  - {key: a, effect: NoSchedule}\n  - {key: a, effect: NoSchedule}\n",
            ['nodes.yaml:6: nodes[0].taints[1]: Duplicate value: "a:NoSchedule": taints must be'],
            id="taint-duplicate",
        ),
        pytest.param(
            NODE + "  capacity:\n    cpu: lots\n",
            ['nodes.yaml:5: nodes[0].capacity.cpu: Invalid value: "lots": quantities must match'],
            id="capacity-cpu",
        ),
        pytest.param(
            NODE + "  capacity:\n    gpu: 1\n",
            ["nodes.yaml:5: nodes[0].capacity.gpu: unknown field"],
            id="capacity-unknown",
        ),
        pytest.param(
            NODE + "  capacity:\n    pods: 1.5\n",
            ["nodes.yaml:5: nodes[0].capacity.pods: Invalid value: 1.5: must be a whole number"],
            id="capacity-pods",
        ),
        pytest.param(
            NODE + "  hostIP: localhost\n",
            [
                'nodes.yaml:4: nodes[0].hostIP: Invalid value: "localhost": must be a valid IP address'
            ],
            id="host-ip",
        ),
        pytest.param(
            "nodes:\n- name: N_1\n  dockerHost: unix:///a.sock\n",
            ['nodes.yaml:2: nodes[0].name: Invalid value: "N_1": a lowercase RFC 1123 subdomain'],
            id="name-syntax",
        ),
        pytest.param(
            "nodes:\n- name: n1\n  name: n2\n",
            ['nodes.yaml:3: duplicate key "name" in nodes[0] (first at line 2)'],
            id="duplicate-key",
        ),
        pytest.param("nodes: [\n", ["nodes.yaml:1: YAML syntax error"], id="syntax"),
        pytest.param(
            NODE + "---\n" + NODE, ["nodes.yaml:5: a nodes file holds one document"], id="two-docs"
        ),
    ],
)
def test_each_refusal_names_line_and_field(tmp_path: Path, text: str, expected: list[str]) -> None:
    found = refusals(tmp_path, text)
    assert len(found) == len(expected), found
    for message, start in zip(found, expected, strict=True):
        assert message.startswith(start), found


def test_every_problem_of_a_file_is_reported_in_line_order(tmp_path: Path) -> None:
    found = refusals(
        tmp_path,
        "nodes:\n- name: n1\n  dockerHost: ftp://x\n- labels: {a: b}\n",
    )
    assert [f.split(": ")[0:2] for f in found] == [
        ["nodes.yaml:3", "nodes[0].dockerHost"],
        ["nodes.yaml:4", "nodes[1].name"],
        ["nodes.yaml:4", "nodes[1].dockerHost"],
    ]


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NodesFileInvalid, match="cannot read"):
        load_nodes_file(tmp_path / "absent.yaml")


def parse(*argv: str) -> object:
    return nodes_from(build_parser().parse_args(["run", "--manifests", "m", *argv]))


def test_without_a_nodes_file_one_local_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODYARD_NODE_NAME", "here")
    (node,) = parse("--docker-host", "unix:///x.sock")  # type: ignore[misc]
    assert (node.name, node.docker_host) == ("here", "unix:///x.sock")


def test_a_nodes_file_excludes_the_single_node_flags(tmp_path: Path) -> None:
    path = write(tmp_path, NODE)
    assert [n.name for n in parse("--nodes", str(path))] == ["n1"]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="cannot be combined"):
        parse("--nodes", str(path), "--node-name", "x")


def test_run_refuses_a_bad_nodes_file_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "nodes:\n- name: n1\n")
    assert main(["run", "--manifests", str(tmp_path), "--nodes", str(path)]) == 2
    assert f"{path}:2: nodes[0].dockerHost: Required value" in capsys.readouterr().err


def test_validate_checks_a_nodes_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, NODE, "good.yaml")
    assert main(["validate", "--nodes", str(good)]) == 0
    assert "1 object(s) valid, 0 problem(s)" in capsys.readouterr().out
    bad = write(tmp_path, "nodes:\n- name: n1\n", "bad.yaml")
    assert main(["validate", "--nodes", str(bad)]) == 1
    assert f"{bad}:2: nodes[0].dockerHost: Required value" in capsys.readouterr().out
