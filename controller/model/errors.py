"""Errors a runtime reports, in words the engine can act on (and map to Kubernetes reasons).

RuntimeFailure                 any engine call that failed
 +-- EngineUnavailable         cannot connect, or the call hit its deadline (node may be down)
 +-- ImageError                the image cannot be had
 |    +-- ImagePullFailed        -> ErrImagePull, then ImagePullBackOff
 |    +-- ImageNeverPull         -> ErrImageNeverPull (policy Never, image absent)
 +-- CreateFailed              the engine refused the container's configuration -> CreateContainerError
 +-- NameConflict              a container of that name exists already (a crashed earlier attempt)
 +-- StartFailed               created but could not start -> ContainerCannotRun
 +-- NotOurs                   the container lacks Podyard's labels: refused, never touched
"""

from __future__ import annotations


class RuntimeFailure(Exception):
    """An engine operation failed; the message is the engine's own words where it gave some."""


class EngineUnavailable(RuntimeFailure):
    pass


class ImageError(RuntimeFailure):
    pass


class ImagePullFailed(ImageError):
    pass


class ImageNeverPull(ImageError):
    pass


class CreateFailed(RuntimeFailure):
    pass


class ConfigRefused(CreateFailed):
    pass


class NameConflict(RuntimeFailure):
    pass


class StartFailed(RuntimeFailure):
    pass


class NotOurs(RuntimeFailure):
    pass
