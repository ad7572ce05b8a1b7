"""Pod Security admission of a folder scan: refusals as file errors, levels per Namespace."""

from __future__ import annotations

from pathlib import Path

from controller.config import PodSecuritySettings
from controller.source.admission import admit_scan
from controller.source.scan import scan_folder
from controller.source.snapshot import FolderScan

PRIVILEGED_POD = """apiVersion: v1
kind: Pod
metadata:
  name: root
  namespace: {namespace}
spec:
  containers:
  - name: app
    image: web:1
    securityContext:
      privileged: true
"""
NAMESPACE = """apiVersion: v1
kind: Namespace
metadata:
  name: ops
  labels:
    pod-security.kubernetes.io/enforce: {level}
"""
RS_WITH_HOST_PATH = """apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: shared
spec:
  replicas: 1
  selector: {matchLabels: {app: s}}
  template:
    metadata: {labels: {app: s}}
    spec:
      containers: [{name: app, image: web:1}]
      volumes: [{name: d, hostPath: {path: /srv/data/x}}]
"""


def scanned(folder: Path, settings: PodSecuritySettings) -> FolderScan:
    scan, _ = scan_folder(folder, {}, full=True)
    return admit_scan(scan, settings)


def test_a_refused_pod_is_an_error_of_its_file_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "root.yaml").write_text(PRIVILEGED_POD.format(namespace="default"))
    file = scanned(tmp_path, PodSecuritySettings()).files["root.yaml"]
    assert file.objects == ()
    assert [str(e) for e in file.errors] == [
        'root.yaml:4: spec: pods "root" is forbidden: violates PodSecurity "baseline:latest": '
        'privileged (container "app" must not set securityContext.privileged=true)'
    ]
    assert file.declared is not None
    assert {k.name for k in file.declared} == {"root"}


def test_a_namespace_label_sets_the_level_of_its_namespace_only(tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text(NAMESPACE.format(level="privileged"))
    (tmp_path / "ops.yaml").write_text(PRIVILEGED_POD.format(namespace="ops"))
    (tmp_path / "default.yaml").write_text(PRIVILEGED_POD.format(namespace="default"))
    files = scanned(tmp_path, PodSecuritySettings()).files
    assert len(files["ops.yaml"].objects) == 1
    assert files["ops.yaml"].errors == ()
    assert files["default.yaml"].objects == ()
    assert len(files["ns.yaml"].objects) == 1


def test_a_bad_level_label_is_reported_and_enforces_restricted(tmp_path: Path) -> None:
    (tmp_path / "ns.yaml").write_text(NAMESPACE.format(level="lax"))
    (tmp_path / "ops.yaml").write_text(PRIVILEGED_POD.format(namespace="ops"))
    files = scanned(tmp_path, PodSecuritySettings(level="privileged")).files
    assert 'Invalid value: "lax"' in str(files["ns.yaml"].errors[0])
    assert 'violates PodSecurity "restricted:latest"' in str(files["ops.yaml"].errors[0])


def test_a_template_is_admitted_only_under_an_allowed_prefix(tmp_path: Path) -> None:
    (tmp_path / "rs.yaml").write_text(RS_WITH_HOST_PATH)
    refused = scanned(tmp_path, PodSecuritySettings()).files["rs.yaml"]
    assert [str(e) for e in refused.errors] == [
        'rs.yaml:4: spec.template.spec: replicasets "shared" is forbidden: violates PodSecurity '
        '"baseline:latest": hostPath volumes (volume "d")'
    ]
    allowed = scanned(tmp_path, PodSecuritySettings(allowed_host_paths=("/srv/data",)))
    assert len(allowed.files["rs.yaml"].objects) == 1
    everything = scanned(tmp_path, PodSecuritySettings(level="privileged"))
    assert everything.files["rs.yaml"].errors == ()
