import json
import os
import socket
import time
from pathlib import Path

import pytest

from controller.model.meta import ObjectKey
from controller.model.pod import Pod
from controller.model.workloads import Deployment, ReplicaSet
from controller.source.loader import (
    KINDS,
    MAX_DOCUMENTS,
    LoadedObject,
    ManifestError,
    load_directory,
    load_file,
    manifest_files,
)

ROOT = Path(__file__).resolve().parents[2]

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
  - name: web
    image: nginx:1.27
"""


def write(root: Path, name: str, text: str | bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def messages(root: Path) -> list[str]:
    return [str(e) for e in load_directory(root).errors]


def test_single_pod(tmp_path: Path) -> None:
    write(tmp_path, "web.yaml", POD.format(name="web"))
    result = load_directory(tmp_path)
    assert result.errors == []
    [loaded] = result.pods
    assert loaded.file == Path("web.yaml")
    assert (loaded.document, loaded.line) == (0, 1)
    assert loaded.key == ObjectKey("Pod", "default", "web")
    assert loaded.kind == "Pod"
    assert result.objects == [loaded]
    assert loaded.pod.spec.containers[0].image == "nginx:1.27"


def test_multi_document_file_with_empty_documents(tmp_path: Path) -> None:
    text = "---\n" + POD.format(name="a") + "---\n# only a comment\n---\n" + POD.format(name="b")
    write(tmp_path, "pods.yaml", text)
    result = load_directory(tmp_path)
    assert result.errors == []
    assert [(p.pod.metadata.name, p.document, p.line) for p in result.pods] == [
        ("a", 0, 2),
        ("b", 2, 13),
    ]


def test_list_kind(tmp_path: Path) -> None:
    text = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: one}
  spec:
    containers: [{name: a, image: busybox}]
- apiVersion: v1
  kind: Pod
  metadata: {name: two}
  spec:
    containers:
    - name: a
      image: busybox
      ports:
      - containerPort: "80"
- apiVersion: v1
  kind: Pod
  metadata: {name: three}
  spec:
    containers: [{name: a, image: busybox}]
"""
    write(tmp_path, "list.yaml", text)
    result = load_directory(tmp_path)
    assert [(p.pod.metadata.name, p.line) for p in result.pods] == [("one", 4), ("three", 18)]
    assert [str(e) for e in result.errors] == [
        "list.yaml:17: items[1].spec.containers[0].ports[0].containerPort: "
        'Invalid value: "80": must be an integer'
    ]


def test_list_without_items(tmp_path: Path) -> None:
    write(tmp_path, "list.yaml", "apiVersion: v1\nkind: List\nitems: {}\n")
    assert messages(tmp_path) == ["list.yaml:3: items: a List needs a list of items"]


def test_syntax_error_has_its_line_and_does_not_hide_other_documents(tmp_path: Path) -> None:
    text = POD.format(name="a") + "---\nmetadata: [unclosed\n---\n" + POD.format(name="b")
    write(tmp_path, "pods.yaml", text)
    result = load_directory(tmp_path)
    assert [p.pod.metadata.name for p in result.pods] == ["a", "b"]
    [error] = result.errors
    assert error.file == Path("pods.yaml")
    assert error.line == 10
    assert error.message.startswith("YAML syntax error: ")


def test_tab_indentation_is_a_syntax_error(tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n")
    [error] = load_directory(tmp_path).errors
    assert error.line == 4
    assert "YAML syntax error" in error.message


def test_schema_errors_point_at_the_field_line(tmp_path: Path) -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: web
    image: nginx
    ports:
    - containerPort: "80"
  - name: side
    securityContext:
      seLinuxOptions: {type: t}
    resources:
      limits:
        memory: 1Mi
  restartPolicy: Sometimes
"""
    write(tmp_path, "web.yaml", text)
    assert messages(tmp_path) == [
        "web.yaml:10: spec.containers[0].ports[0].containerPort: "
        'Invalid value: "80": must be an integer',
        "web.yaml:11: spec.containers[1].image: Required value",
        "web.yaml:13: spec.containers[1].securityContext.seLinuxOptions: not supported",
        'web.yaml:17: spec.restartPolicy: Unsupported value: "Sometimes": '
        'supported values: "Always", "OnFailure", "Never"',
    ]


def test_validation_errors_point_at_the_field_line(tmp_path: Path) -> None:
    text = POD.format(name="web") + "    resources:\n      limits:\n        memory: 1Mi\n"
    write(tmp_path, "web.yaml", text)
    [error] = load_directory(tmp_path).errors
    assert (error.line, error.path) == (11, "spec.containers[0].resources.limits.memory")


def test_label_errors_point_at_the_labels(tmp_path: Path) -> None:
    text = POD.replace("metadata:\n", "metadata:\n  labels:\n    app.kubernetes.io/version: 1.2\n")
    write(tmp_path, "web.yaml", text.format(name="web"))
    assert messages(tmp_path) == [
        "web.yaml:5: metadata.labels[app.kubernetes.io/version]: Invalid value: 1.2: must be a string"
    ]


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    text = POD.format(name="web") + "    image: nginx:latest\n"
    write(tmp_path, "web.yaml", text)
    result = load_directory(tmp_path)
    assert result.pods == []
    assert [str(e) for e in result.errors] == [
        'web.yaml:9: duplicate key "image" in spec.containers[0] (first at line 8)'
    ]


def test_billion_laughs_is_refused_fast(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{','.join(['*' + prev] * 9)}]")
    write(tmp_path, "lol.yaml", "\n".join(lines) + "\n")
    write(tmp_path, "web.yaml", POD.format(name="web"))
    start = time.monotonic()
    result = load_directory(tmp_path)
    assert time.monotonic() - start < 1.0
    assert [p.pod.metadata.name for p in result.pods] == ["web"]
    assert [str(e) for e in result.errors] == [
        "lol.yaml:2: YAML syntax error: aliases (*name) are not allowed in manifests"
    ]


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "deep.yaml", "a: " + "[" * 200 + "]" * 200 + "\n")
    [error] = load_directory(tmp_path).errors
    assert "nesting deeper than 64 levels" in error.message


def test_nesting_within_the_limit_is_fine(tmp_path: Path) -> None:
    write(tmp_path, "deep.yaml", "kind: Job\nx: " + "[" * 63 + "]" * 63 + "\n")
    assert messages(tmp_path) == ["deep.yaml:1: kind Job is not supported yet"]


def test_large_file_is_refused_without_parsing(tmp_path: Path) -> None:
    big = POD.format(name="big") + "# " + "x" * (2 << 20) + "\n"
    write(tmp_path, "big.yaml", big)
    write(tmp_path, "web.yaml", POD.format(name="web"))
    start = time.monotonic()
    result = load_directory(tmp_path)
    assert time.monotonic() - start < 1.0
    assert [p.pod.metadata.name for p in result.pods] == ["web"]
    [error] = result.errors
    assert error.file == Path("big.yaml")
    assert "larger than the 1048576 bytes allowed" in error.message


def test_non_utf8_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "latin1.yaml", POD.format(name="caf\xe9").encode("latin-1"))
    [error] = load_directory(tmp_path).errors
    assert error.line == 4
    assert "not valid UTF-8 (byte 0xe9" in error.message


def test_control_characters_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "bell.yaml", POD.format(name="web") + '    command: ["\x07"]\n')
    [error] = load_directory(tmp_path).errors
    assert error.line == 9
    assert "special characters are not allowed" in error.message


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    write(tmp_path, "bom.yaml", b"\xef\xbb\xbf" + POD.format(name="web").encode())
    assert [p.pod.metadata.name for p in load_directory(tmp_path).pods] == ["web"]


def test_too_many_documents(tmp_path: Path) -> None:
    text = "---\n".join(POD.format(name=f"p{i}") for i in range(MAX_DOCUMENTS + 5))
    write(tmp_path, "many.yaml", text)
    result = load_directory(tmp_path)
    assert len(result.pods) == MAX_DOCUMENTS
    [error] = result.errors
    assert error.message.startswith(f"more than {MAX_DOCUMENTS} documents")


def test_too_many_broken_sections(tmp_path: Path) -> None:
    write(tmp_path, "broken.yaml", "---\n[\n" * 1000)
    errors = load_directory(tmp_path).errors
    assert len(errors) == MAX_DOCUMENTS + 1
    assert errors[-1].message.startswith(f"more than {MAX_DOCUMENTS} documents")
    assert errors[-1].line == 2 * MAX_DOCUMENTS + 1


def test_hidden_and_leftover_files_are_ignored(tmp_path: Path) -> None:
    pod = POD.format(name="web")
    for name in [
        ".hidden.yaml",
        ".#web.yaml",
        "web.yaml~",
        "web.yaml.swp",
        "web.yaml.bak",
        "web.yaml.orig",
        "web.yaml.tmp",
        "#web.yaml#",
        "notes.txt",
        ".git/config.yaml",
        ".cache/sub/pod.yaml",
    ]:
        write(tmp_path, name, "not: [valid")
    write(tmp_path, "web.yaml", pod)
    write(tmp_path, "sub/other.yml", POD.format(name="other"))
    write(
        tmp_path,
        "sub/deeper/third.json",
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "third"},
                "spec": {"containers": [{"name": "a", "image": "busybox"}]},
            },
            indent="\t",
        ),
    )
    assert [p.relative_to(tmp_path) for p in manifest_files(tmp_path)] == [
        Path("sub/deeper/third.json"),
        Path("sub/other.yml"),
        Path("web.yaml"),
    ]
    result = load_directory(tmp_path)
    assert result.errors == []
    assert sorted(p.pod.metadata.name for p in result.pods) == ["other", "third", "web"]


def test_json_errors_have_lines(tmp_path: Path) -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "a", "image": "busybox", "tty": True}]},
    }
    write(tmp_path, "web.json", json.dumps(doc, indent=2))
    assert messages(tmp_path) == ["web.json:12: spec.containers[0].tty: not supported"]


def test_duplicate_names_first_in_file_order_wins(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", POD.format(name="web"))
    write(tmp_path, "b/c.yaml", POD.format(name="other") + "---\n" + POD.format(name="web"))
    other_namespace = POD.format(name="web").replace(
        "  name: web\n", "  name: web\n  namespace: x\n"
    )
    write(tmp_path, "d.yaml", other_namespace)
    result = load_directory(tmp_path)
    assert [(str(p.file), p.key) for p in result.pods] == [
        ("a.yaml", ObjectKey("Pod", "default", "web")),
        ("b/c.yaml", ObjectKey("Pod", "default", "other")),
        ("d.yaml", ObjectKey("Pod", "x", "web")),
    ]
    assert [str(e) for e in result.errors] == [
        "b/c.yaml:13: metadata.name: pod default/web is already declared in a.yaml:1; "
        "this declaration is ignored"
    ]


def test_other_kinds_are_not_supported_yet(tmp_path: Path) -> None:
    text = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web}\n---\n" + POD.format(
        name="web"
    )
    write(tmp_path, "sts.yaml", text)
    result = load_directory(tmp_path)
    assert [p.pod.metadata.name for p in result.pods] == ["web"]
    assert [str(e) for e in result.errors] == ["sts.yaml:2: kind StatefulSet is not supported yet"]
    assert list(KINDS) == [
        "Pod",
        "ReplicaSet",
        "Deployment",
        "Namespace",
        "ConfigMap",
        "Secret",
        "PersistentVolumeClaim",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "x.yaml:1: a manifest must be a mapping (a Kubernetes object), not list"),
        ("apiVersion: v1\nmetadata: {}\n", "x.yaml:1: kind: Required value"),
        ("kind: 3\n", "x.yaml:1: kind: Invalid value: 3: must be a string"),
        (
            "kind: !!binary aGVsbG8=\n",
            "x.yaml:1: YAML tag tag:yaml.org,2002:binary is not allowed in manifests",
        ),
        ("kind: !custom Pod\n", "x.yaml:1: YAML tag !custom is not allowed in manifests"),
        ("? [a]\n: b\n", "x.yaml:1: mapping keys must be plain strings"),
        ("kind: Pod\nx: !!int abc\n", "x.yaml:2: invalid tag:yaml.org,2002:int value 'abc'"),
        ("kind: Pod\nx: !!bool maybe\n", "x.yaml:2: invalid tag:yaml.org,2002:bool value 'maybe'"),
    ],
)
def test_document_level_errors(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path, "x.yaml", text)
    assert messages(tmp_path) == [expected]


def test_empty_files_and_folders(tmp_path: Path) -> None:
    write(tmp_path, "empty.yaml", "")
    write(tmp_path, "comments.yaml", "# nothing here\n---\n")
    assert load_directory(tmp_path).errors == []
    assert load_directory(tmp_path).pods == []


def test_missing_folder(tmp_path: Path) -> None:
    result = load_directory(tmp_path / "nope")
    assert result.pods == []
    assert [e.message for e in result.errors] == ["not a readable directory"]


def test_manifest_error_str() -> None:
    assert str(ManifestError(Path("a/b.yaml"), 7, "spec.hostname", "Required value")) == (
        "a/b.yaml:7: spec.hostname: Required value"
    )
    assert str(ManifestError(Path("a.yaml"), 3, "", "YAML syntax error: x")) == (
        "a.yaml:3: YAML syntax error: x"
    )
    assert str(ManifestError(Path("dir"), 0, "", "not a readable directory")) == (
        "dir: not a readable directory"
    )


def test_loading_is_a_function_of_the_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", POD.format(name="a") + "---\nkind: Job\n")
    write(tmp_path, "b.yaml", POD.format(name="b"))
    assert load_directory(tmp_path) == load_directory(tmp_path)


# --- ReplicaSets and Deployments ------------------------------------------------------------------

REPLICASET = """\
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: {name}
spec:
  replicas: 3
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: app
        image: busybox:1
"""
DEPLOYMENT = REPLICASET.replace("kind: ReplicaSet", "kind: Deployment")


def test_workloads_are_loaded(tmp_path: Path) -> None:
    write(tmp_path, "echo.yaml", REPLICASET.format(name="echo"))
    write(tmp_path, "hello.yaml", DEPLOYMENT.format(name="hello"))
    result = load_directory(tmp_path)
    assert result.errors == []
    assert [(o.kind, str(o.key), str(o.file)) for o in result.objects] == [
        ("ReplicaSet", "ReplicaSet/default/echo", "echo.yaml"),
        ("Deployment", "Deployment/default/hello", "hello.yaml"),
    ]
    echo, hello = result.objects
    assert result.replicasets == [echo]
    assert result.deployments == [hello]
    assert result.pods == []
    assert echo.replicaset.spec.replicas == 3
    assert hello.deployment.spec.template.metadata.labels == {"app": "hello"}
    with pytest.raises(TypeError, match="ReplicaSet/default/echo is a ReplicaSet, not a Pod"):
        _ = echo.pod
    with pytest.raises(TypeError, match="not a Deployment"):
        _ = echo.deployment
    with pytest.raises(TypeError, match="not a ReplicaSet"):
        _ = hello.replicaset


def test_list_mixing_kinds(tmp_path: Path) -> None:
    text = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: web}
  spec:
    containers: [{name: a, image: busybox}]
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata: {name: web}
  spec:
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers: [{name: a, image: busybox}]
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web}
  spec:
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec:
        containers: [{name: a, image: busybox}]
- apiVersion: v1
  kind: ReplicaSet
  metadata: {name: old}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: broken}
  spec:
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: other}}
      spec:
        containers:
        - name: a
          image: busybox
          ports:
          - containerPort: 80
"""
    write(tmp_path, "list.yaml", text)
    result = load_directory(tmp_path)
    assert [(o.kind, o.obj.metadata.name, o.line) for o in result.objects] == [
        ("Pod", "web", 4),
        ("ReplicaSet", "web", 9),
        ("Deployment", "web", 18),
    ]
    assert isinstance(result.objects[0].obj, Pod)
    assert isinstance(result.objects[1].obj, ReplicaSet)
    assert isinstance(result.objects[2].obj, Deployment)
    assert [str(e) for e in result.errors] == [
        'list.yaml:27: items[3].apiVersion: Unsupported value: "v1": supported values: "apps/v1"',
        "list.yaml:27: items[3].spec: Required value",
        "list.yaml:36: items[4].spec.template.metadata.labels: Invalid value: "
        '{"app": "other"}: `selector` does not match template `labels`',
    ]


def test_workload_errors_point_at_the_field_line(tmp_path: Path) -> None:
    text = DEPLOYMENT.format(name="hello") + (
        "        resources:\n"
        "          limits: {memory: 1Mi}\n"
        "  strategy:\n"
        "    type: Recreate\n"
        "    rollingUpdate: {maxSurge: 1}\n"
    )
    write(tmp_path, "hello.yaml", text)
    assert messages(tmp_path) == [
        "hello.yaml:19: spec.template.spec.containers[0].resources.limits.memory: "
        'Invalid value: "1Mi": must be at least 6Mi (Docker: Minimum memory limit allowed is 6MB)',
        "hello.yaml:22: spec.strategy.rollingUpdate: "
        "Forbidden: may not be specified when strategy `type` is 'Recreate'",
    ]
    # A structural error (here `paused`) stops the value rules: only it is reported then.
    write(tmp_path, "hello.yaml", text + "  paused: true\n")
    assert messages(tmp_path) == ["hello.yaml:23: spec.paused: not supported"]


def test_conflicts_are_per_kind(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", REPLICASET.format(name="web") + "---\n" + POD.format(name="web"))
    write(
        tmp_path, "b.yaml", DEPLOYMENT.format(name="web") + "---\n" + REPLICASET.format(name="web")
    )
    result = load_directory(tmp_path)
    assert [str(o.key) for o in result.objects] == [
        "ReplicaSet/default/web",
        "Pod/default/web",
        "Deployment/default/web",
    ]
    assert [str(e) for e in result.errors] == [
        "b.yaml:22: metadata.name: replicaset default/web is already declared in a.yaml:1; "
        "this declaration is ignored"
    ]


def test_the_example_manifests_load_without_errors() -> None:
    result = load_directory(ROOT / "manifests")
    assert result.errors == []
    kinds = {(o.kind, o.obj.metadata.name) for o in result.objects}
    assert {("ReplicaSet", "echo"), ("Deployment", "hello")} <= kinds
    echo = next(o.replicaset for o in result.replicasets if o.obj.metadata.name == "echo")
    assert echo.spec.replicas == 3
    assert echo.spec.template.spec.containers[0].image == "localhost/podyard-busybox:1"
    hello = next(o.deployment for o in result.deployments if o.obj.metadata.name == "hello")
    assert hello.spec.replicas == 2


# --- hostile folders -------------------------------------------------------------------------------


def ignored(root: Path) -> list[str]:
    return [str(e) for e in load_directory(root).errors if e.ignored]


def test_symlink_to_a_file_inside_is_followed(tmp_path: Path) -> None:
    write(tmp_path, "real/web.yaml.txt", POD.format(name="web"))
    (tmp_path / "web.yaml").symlink_to(Path("real/web.yaml.txt"))
    result = load_directory(tmp_path)
    assert result.errors == []
    assert [(str(p.file), p.pod.metadata.name) for p in result.pods] == [("web.yaml", "web")]


@pytest.mark.timeout(20)
def test_symlink_out_of_the_folder_is_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    write(tmp_path, "outside.yaml", POD.format(name="secret"))
    write(folder, "web.yaml", POD.format(name="web"))
    (folder / "leak.yaml").symlink_to(tmp_path / "outside.yaml")
    (folder / "up.yaml").symlink_to(Path("../outside.yaml"))
    (folder / "sub").mkdir()
    (folder / "sub" / "around.yaml").symlink_to(Path("../../manifests/../outside.yaml"))
    result = load_directory(folder)
    assert [p.pod.metadata.name for p in result.pods] == ["web"]
    assert [str(e) for e in result.errors] == [
        "leak.yaml: ignored: a symbolic link that leads outside the folder",
        "sub/around.yaml: ignored: a symbolic link that leads outside the folder",
        "up.yaml: ignored: a symbolic link that leads outside the folder",
    ]
    assert all(e.ignored for e in result.errors)


def test_dangling_and_looping_file_links_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "missing.yaml")
    (tmp_path / "a.yaml").symlink_to(tmp_path / "b.yaml")
    (tmp_path / "b.yaml").symlink_to(tmp_path / "a.yaml")
    assert ignored(tmp_path) == [
        "a.yaml: ignored: a symbolic link loop",
        "b.yaml: ignored: a symbolic link loop",
        "gone.yaml: ignored: a symbolic link to a missing file",
    ]


@pytest.mark.timeout(20)
def test_folder_symlink_loop_does_not_hang_the_walk(tmp_path: Path) -> None:
    write(tmp_path, "sub/web.yaml", POD.format(name="web"))
    (tmp_path / "sub" / "loop").symlink_to(Path(".."))
    (tmp_path / "self").symlink_to(tmp_path)
    (tmp_path / ".hidden-link").symlink_to(tmp_path)
    write(tmp_path, "z.yaml", "kind: Job\n")
    result = load_directory(tmp_path)
    assert [str(p.file) for p in result.pods] == ["sub/web.yaml"]
    assert [str(e) for e in result.errors] == [
        "self: ignored: a symbolic link to a folder (folder links are not followed)",
        "sub/loop: ignored: a symbolic link to a folder (folder links are not followed)",
        "z.yaml:1: kind Job is not supported yet",
    ]
    assert [p.relative_to(tmp_path) for p in manifest_files(tmp_path)] == [
        Path("sub/web.yaml"),
        Path("z.yaml"),
    ]


@pytest.mark.timeout(20)
def test_fifo_is_never_opened(tmp_path: Path) -> None:
    # Opening a FIFO for reading blocks until a writer comes: the loader must never try.
    write(tmp_path, "web.yaml", POD.format(name="web"))
    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "to-pipe.yaml").symlink_to(tmp_path / "pipe.yaml")
    result = load_directory(tmp_path)
    assert [p.pod.metadata.name for p in result.pods] == ["web"]
    assert [str(e) for e in result.errors] == [
        "pipe.yaml: ignored: a named pipe (FIFO), not a regular file",
        "to-pipe.yaml: ignored: a named pipe (FIFO), not a regular file",
    ]
    # The watcher calls load_file on single paths: it must not block either.
    loaded, errors = load_file(tmp_path / "pipe.yaml", Path("pipe.yaml"))
    assert loaded == []
    assert [e.message for e in errors] == ["ignored: a named pipe (FIFO), not a regular file"]


@pytest.mark.timeout(20)
def test_socket_and_folder_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    write(tmp_path, "dir.yaml/web.yaml", POD.format(name="web"))
    loaded, errors = load_file(tmp_path / "dir.yaml", Path("dir.yaml"))
    assert (loaded, [e.message for e in errors]) == ([], ["ignored: a folder, not a regular file"])
    sock_path = tmp_path / "s.yaml"
    if len(str(sock_path)) > 100:  # AF_UNIX paths are short; skip rather than fail on long tmp
        pytest.skip("temporary folder path too long for a unix socket")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        assert ignored(tmp_path) == ["s.yaml: ignored: a socket, not a regular file"]
    assert [p.pod.metadata.name for p in load_directory(tmp_path).pods] == ["web"]


def test_load_file_checks_links_against_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    write(tmp_path, "shared/web.yaml", POD.format(name="web"))
    write(folder, "sub/x.txt", "")
    (folder / "sub" / "web.yaml").symlink_to(tmp_path / "shared" / "web.yaml")
    # The folder is `path` without `relative`: here, tmp_path/manifests.
    loaded, errors = load_file(folder / "sub" / "web.yaml", Path("sub/web.yaml"))
    assert loaded == []
    assert [str(e) for e in errors] == [
        "sub/web.yaml: ignored: a symbolic link that leads outside the folder"
    ]
    # With tmp_path as the folder, the same link stays inside and is followed.
    loaded, errors = load_file(folder / "sub" / "web.yaml", Path("manifests/sub/web.yaml"))
    assert errors == []
    assert [(type(o), o.pod.metadata.name, line) for o, line in loaded] == [
        (LoadedObject, "web", 4)
    ]


def test_missing_file_is_an_error_not_a_warning(tmp_path: Path) -> None:
    loaded, errors = load_file(tmp_path / "gone.yaml", Path("gone.yaml"))
    assert loaded == []
    [error] = errors
    assert not error.ignored
    assert error.message == "cannot read: No such file or directory"
