"""`podyard validate`: the loader's verdict on files and folders, without a controller."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from controller.cli import main

ROOT = Path(__file__).resolve().parents[2]

POD = """apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
    - name: app
      image: busybox:1
"""

REPLICASET = """apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: echo
spec:
  replicas: 2
  selector:
    matchLabels:
      app: echo
  template:
    metadata:
      labels:
        app: echo
    spec:
      containers:
        - name: echo
          image: busybox:1
          ports:
            - containerPort: "80"
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["validate", *args])
    return code, capsys.readouterr().out.splitlines()


def test_a_good_folder_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.yaml").write_text(POD.format(name="a") + "---\n" + POD.format(name="b"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.yml").write_text(POD.format(name="c"))
    (tmp_path / "notes.txt").write_text("not a manifest")
    code, lines = run(capsys, str(tmp_path))
    assert code == 0
    assert lines == ["3 object(s) valid, 0 problem(s)"]


def test_a_broken_file_fails_with_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "rs.yaml"
    broken.write_text(REPLICASET)
    code, lines = run(capsys, str(broken))
    assert code == 1
    assert lines[0].startswith(f"{broken}:19: spec.template.spec.containers[0].ports[0]")
    assert "containerPort" in lines[0]
    assert lines[-1] == "0 object(s) valid, 1 problem(s)"


def test_problems_in_a_folder_name_the_file_inside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "good.yaml").write_text(POD.format(name="good"))
    (folder / "typo.yaml").write_text(POD.format(name="typo").replace("image:", "imagee:"))
    (folder / "again.yaml").write_text(POD.format(name="good"))
    code, lines = run(capsys, str(folder))
    assert code == 1
    assert f"{folder / 'typo.yaml'}:8: spec.containers[0].imagee: unknown field" in lines
    assert any(
        line.startswith(f"{folder / 'good.yaml'}:4: metadata.name: pod default/good")
        for line in lines
    ), lines
    assert lines[-1] == "1 object(s) valid, 3 problem(s)"


def test_several_paths_add_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = tmp_path / "one.yaml"
    one.write_text(POD.format(name="one") + "---\n" + POD.format(name="one"))
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "two.json").write_text(
        '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two"},'
        ' "spec": {"containers": [{"name": "a", "image": "busybox:1"}]}}'
    )
    code, lines = run(capsys, str(one), str(folder), str(tmp_path / "missing.yaml"))
    assert code == 1
    assert any("pod default/one is already declared" in line for line in lines), lines
    assert f"{tmp_path / 'missing.yaml'}: no such file or folder" in lines
    assert lines[-1] == "2 object(s) valid, 2 problem(s)"


def test_ignored_files_are_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "good.yaml").write_text(POD.format(name="good"))
    os.mkfifo(tmp_path / "pipe.yaml")
    code, lines = run(capsys, str(tmp_path))
    assert code == 0
    assert lines[0] == (
        f"warning: {tmp_path / 'pipe.yaml'}: ignored: a named pipe (FIFO), not a regular file"
    )
    assert lines[-1] == "1 object(s) valid, 0 problem(s), 1 file(s) ignored"


def test_runs_as_a_command_without_docker(tmp_path: Path) -> None:
    (tmp_path / "rs.yaml").write_text(REPLICASET)
    env = {k: v for k, v in os.environ.items() if k != "DOCKER_HOST"}
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    done = subprocess.run(
        [sys.executable, "-m", "controller", "validate", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 1, done.stderr
    assert "rs.yaml:19: spec.template.spec.containers[0].ports[0].containerPort" in done.stdout
    assert done.stdout.splitlines()[-1] == "0 object(s) valid, 1 problem(s)"


def test_pod_security_refusals_are_problems_unless_the_level_allows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pod = POD.format(name="root") + "      securityContext: {privileged: true}\n"
    (tmp_path / "root.yaml").write_text(pod)
    code, lines = run(capsys, str(tmp_path / "root.yaml"))
    assert code == 1
    assert lines == [
        f'{tmp_path}/root.yaml:1: spec: pods "root" is forbidden: violates PodSecurity '
        '"baseline:latest": privileged (container "app" must not set '
        "securityContext.privileged=true)",
        "0 object(s) valid, 1 problem(s)",
    ]
    code, lines = run(capsys, "--pod-security", "privileged", str(tmp_path))
    assert (code, lines) == (0, ["1 object(s) valid, 0 problem(s)"])
