import json
import time
from pathlib import Path

import pytest

from controller.model.meta import PodKey
from controller.source.loader import (
    MAX_DOCUMENTS,
    ManifestError,
    load_directory,
    manifest_files,
)

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
    assert loaded.key == PodKey("default", "web")
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
      privileged: true
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
        "web.yaml:12: spec.containers[1].securityContext: not supported",
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
        ("a.yaml", PodKey("default", "web")),
        ("b/c.yaml", PodKey("default", "other")),
        ("d.yaml", PodKey("x", "web")),
    ]
    assert [str(e) for e in result.errors] == [
        "b/c.yaml:13: metadata.name: pod default/web is already declared in a.yaml:1; "
        "this declaration is ignored"
    ]


def test_other_kinds_are_not_supported_yet(tmp_path: Path) -> None:
    text = "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web}\n---\n" + POD.format(
        name="web"
    )
    write(tmp_path, "rs.yaml", text)
    result = load_directory(tmp_path)
    assert [p.pod.metadata.name for p in result.pods] == ["web"]
    assert [str(e) for e in result.errors] == ["rs.yaml:2: kind ReplicaSet is not supported yet"]


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
