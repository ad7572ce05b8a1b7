"""A render cache: an object's Kubernetes JSON is made once per change of its view.

The views the engine hands the API are frozen values rebuilt on every read, so the same pod
arrives as a new but equal `PodView`. Turning one into JSON (cattrs and the status mapping) costs
far more than comparing it with the view last rendered under its key, so `RenderCache` keeps, per
key, the view and its JSON, and renders only a view that differs. An unchanged object therefore
keeps the very same JSON dict, which lets the change hub skip its diff by identity.

Traps: the JSON returned is shared; callers must not modify it (the hub copies before stamping a
resourceVersion). Keys not seen in a full render are forgotten (`render_all`), so the cache holds
no more than the resource does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

V = TypeVar("V")
JSON = dict[str, Any]
ObjectKey = tuple[str, str]


class RenderCache(Generic[V]):
    def __init__(self, render: Callable[[V], JSON], key_of: Callable[[V], ObjectKey]) -> None:
        self._render = render
        self._key_of = key_of
        self._held: dict[ObjectKey, tuple[V, JSON]] = {}
        self.renders = 0
        """Objects rendered so far (views found unchanged are not counted)."""

    def render(self, views: Iterable[V]) -> list[JSON]:
        """The JSON of `views`, reusing the last render of each unchanged one."""
        out = []
        for view in views:
            key = self._key_of(view)
            held = self._held.get(key)
            if held is not None and (held[0] is view or held[0] == view):
                out.append(held[1])
                continue
            self.renders += 1
            obj = self._render(view)
            self._held[key] = (view, obj)
            out.append(obj)
        return out

    def render_all(self, views: Iterable[V]) -> list[JSON]:
        """`render` of every view of the resource: keys absent from it are forgotten."""
        views = list(views)
        out = self.render(views)
        if len(self._held) > len(out):
            present = {self._key_of(view) for view in views}
            for gone in [key for key in self._held if key not in present]:
                del self._held[gone]
        return out

    def forget(self, keys: Iterable[ObjectKey]) -> None:
        """Keys a keyed render found absent: their objects are gone."""
        for key in keys:
            self._held.pop(key, None)
