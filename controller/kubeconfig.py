"""`podyard kubeconfig`: a kubeconfig for a running controller's API, so kubectl needs no `-s`.

The document is kubectl's `kind: Config`: one cluster (the API's address), one user (empty: the
API takes no credentials and listens on loopback), one context joining them with a namespace, and
that context as `current-context`. Written to a file (`podyard kubeconfig > podyard.kubeconfig`)
it serves `kubectl --kubeconfig podyard.kubeconfig get pods`; merged into `~/.kube/config`
(`KUBECONFIG=~/.kube/config:podyard.kubeconfig kubectl config view --flatten`) its context sits
beside the others and `kubectl --context podyard` picks it.

Traps: the cluster, user and context all carry the context's name, so merging two Podyard
kubeconfigs with different names keeps both; the same name twice keeps the first file's entries,
as kubectl merges. The address is taken as given: nothing here checks that a controller answers.
"""

from __future__ import annotations

from typing import Any

DEFAULT_CONTEXT = "podyard"


def kubeconfig(
    server: str, *, namespace: str = "default", context: str = DEFAULT_CONTEXT
) -> dict[str, Any]:
    """The kubeconfig document for the API at `server` (`http://127.0.0.1:9180`)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": context, "cluster": {"server": server.rstrip("/")}}],
        "users": [{"name": context, "user": {}}],
        "contexts": [
            {
                "name": context,
                "context": {"cluster": context, "user": context, "namespace": namespace},
            }
        ],
        "current-context": context,
    }
