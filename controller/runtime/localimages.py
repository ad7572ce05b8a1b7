"""Local images built FROM scratch through the Docker Engine API.

Podyard needs two images that it can always produce on a machine with no
registry access:

* a *pause* image that holds each pod's sandbox (network namespace, hostname)
  for the lifetime of the pod.  The configured pause image (for example a
  Kubernetes one) is used when it is present locally or can be pulled; when it
  cannot, :func:`ensure_pause_image` builds ``PAUSE_FALLBACK_IMAGE`` from the
  host's statically linked ``catatonit`` (Debian package ``catatonit``) run as
  ``catatonit -P``, i.e. a do-nothing PID 1 that exits promptly on SIGTERM;
* a *demo* image with a statically linked busybox (Debian package
  ``busybox-static``) so that the example manifests and the integration tests
  have a shell and the usual small tools without pulling anything.

Both are built by sending an in-memory tar build context to ``POST /build``
(the classic builder; no BuildKit needed).

Traps this module deals with:

* The build and pull endpoints answer HTTP 200 and report failures *inside*
  the JSON progress stream (items with an ``error``/``errorDetail`` key).
  aiodocker turns such an item into ``DockerStreamError``; we still inspect
  every item ourselves and convert both into :class:`ImageBuildError` carrying
  the engine's error line plus the last lines of build output.
* A ``FROM scratch`` image has no dynamic loader and no libc: a dynamically
  linked binary copied into it fails only at container start with a confusing
  "no such file or directory".  The binaries are therefore checked for an ELF
  ``PT_INTERP`` header (the mark of dynamic linking) before building.
* Files in the tar context must carry mode 0o755 or ``exec`` fails inside the
  image; mtimes are fixed so that rebuilding identical input hits the cache.
* aiodocker warns (``DeprecationWarning``) when a plain float is passed as a
  per-request timeout, and the test suite turns warnings into errors; all
  deadlines here are enforced with :func:`asyncio.timeout` instead.
* A pull from an unreachable registry may fail fast (connection refused) or
  hang on DNS/TCP; it is bounded by a deadline and any failure falls back to
  the locally built image.  Tests must only ever use loopback registry names
  such as ``localhost:5999/pause:3.10``.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import struct
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiodocker
from aiodocker.exceptions import DockerError, DockerStreamError

__all__ = [
    "DEMO_BUSYBOX_IMAGE",
    "PAUSE_FALLBACK_IMAGE",
    "ImageBuildError",
    "build_busybox_image",
    "build_local_images",
    "build_pause_image",
    "build_scratch_image",
    "ensure_pause_image",
    "image_exists",
]

PAUSE_FALLBACK_IMAGE = "localhost/podyard-pause:1"
DEMO_BUSYBOX_IMAGE = "localhost/podyard-busybox:1"

IMAGE_LABEL = "io.podyard.image"

DEFAULT_BUILD_TIMEOUT = 120.0
DEFAULT_PULL_TIMEOUT = 60.0

_CONTEXT_MTIME = 1_700_000_000  # fixed, so identical contexts hit the build cache
_LOG_TAIL_LINES = 10
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

_PAUSE_DOCKERFILE = f"""\
FROM scratch
COPY catatonit /catatonit
LABEL {IMAGE_LABEL}=pause
ENTRYPOINT ["/catatonit", "-P"]
"""

_BUSYBOX_DOCKERFILE = f"""\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
LABEL {IMAGE_LABEL}=demo
CMD ["sh"]
"""


class ImageBuildError(RuntimeError):
    """A local image could not be built (missing input binary or failed build)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def image_exists(docker: aiodocker.Docker, ref: str) -> bool:
    """Return whether the engine has an image for ``ref`` locally (no pull)."""
    try:
        await docker.images.inspect(ref)
    except DockerError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def _build_context(files: Mapping[str, bytes], dockerfile: str) -> io.BytesIO:
    """Pack the Dockerfile and ``files`` into an uncompressed tar in memory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        entries: dict[str, tuple[bytes, int]] = {"Dockerfile": (dockerfile.encode(), 0o644)}
        for name, data in files.items():
            clean = name.lstrip("/")
            if not clean or clean == "Dockerfile":
                raise ValueError(f"invalid build context file name: {name!r}")
            entries[clean] = (data, 0o755)
        for name, (data, mode) in sorted(entries.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.mtime = _CONTEXT_MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def _stream_error(item: Mapping[str, Any]) -> str | None:
    """The error message carried by one build/pull progress item, if any."""
    detail = item.get("errorDetail")
    if isinstance(detail, Mapping):
        message = detail.get("message")
        if message:
            return str(message)
    error = item.get("error")
    if error:
        return str(error)
    if detail:
        return str(detail)
    return None


def _tail(lines: list[str]) -> str:
    cleaned = (_ANSI_ESCAPE.sub("", line).rstrip() for line in lines)
    kept = [line for line in cleaned if line.strip()][-_LOG_TAIL_LINES:]
    if not kept:
        return ""
    return "\nlast build output:\n" + "\n".join("  " + line for line in kept)


async def build_scratch_image(
    docker: aiodocker.Docker,
    tag: str,
    files: Mapping[str, bytes],
    dockerfile: str,
    timeout: float = DEFAULT_BUILD_TIMEOUT,  # noqa: ASYNC109 - enforced via asyncio.timeout
) -> None:
    """Build ``tag`` from ``dockerfile`` with ``files`` (mode 0o755) as the context.

    Raises :class:`ImageBuildError` with the engine's error line when the build
    fails, the engine rejects the request, or ``timeout`` seconds pass.
    """
    context = _build_context(files, dockerfile)
    output: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            stream = docker.images.build(
                fileobj=context,
                encoding="identity",
                tag=tag,
                rm=True,
                forcerm=True,
                stream=True,
            )
            async for item in stream:
                error = _stream_error(item)
                if error is not None:
                    raise ImageBuildError(f"building image {tag} failed: {error}{_tail(output)}")
                text = item.get("stream")
                if isinstance(text, str):
                    output.extend(text.rstrip("\n").splitlines())
    except DockerStreamError as exc:
        raise ImageBuildError(f"building image {tag} failed: {exc.message}{_tail(output)}") from exc
    except DockerError as exc:
        raise ImageBuildError(
            f"building image {tag} failed: the Docker engine answered {exc.status}: {exc.message}"
        ) from exc
    except TimeoutError as exc:
        raise ImageBuildError(
            f"building image {tag} timed out after {timeout:g} s{_tail(output)}"
        ) from exc
    if not await image_exists(docker, tag):
        raise ImageBuildError(
            f"building image {tag} reported no error but the image is absent{_tail(output)}"
        )


_PT_INTERP = 3


def _is_dynamic_elf(data: bytes) -> bool:
    """True if ``data`` is an ELF executable that asks for a dynamic loader."""
    if len(data) < 64 or data[:4] != b"\x7fELF":
        return False
    is64 = data[4] == 2
    endian = "<" if data[5] == 1 else ">"
    try:
        if is64:
            (phoff,) = struct.unpack_from(endian + "Q", data, 0x20)
            phentsize, phnum = struct.unpack_from(endian + "HH", data, 0x36)
        else:
            (phoff,) = struct.unpack_from(endian + "I", data, 0x1C)
            phentsize, phnum = struct.unpack_from(endian + "HH", data, 0x2A)
        for index in range(phnum):
            (p_type,) = struct.unpack_from(endian + "I", data, phoff + index * phentsize)
            if p_type == _PT_INTERP:
                return True
    except struct.error:
        return False
    return False


def _read_static_binary(path: str, package: str, image: str) -> bytes:
    """Read a host binary destined for a FROM-scratch image, or explain what is missing."""
    hint = f"install Debian's {package} package (apt-get install {package})"
    binary = Path(path)
    try:
        data = binary.read_bytes()
    except FileNotFoundError:
        raise ImageBuildError(
            f"cannot build {image}: {path} not found; {hint}, "
            "or run scripts/ensure-docker.sh as root"
        ) from None
    except OSError as exc:
        raise ImageBuildError(f"cannot build {image}: cannot read {path}: {exc}; {hint}") from exc
    if _is_dynamic_elf(data):
        raise ImageBuildError(
            f"cannot build {image}: {path} is dynamically linked and cannot run in a "
            f"FROM scratch image; {hint} (it ships a statically linked binary)"
        )
    return data


async def build_pause_image(
    docker: aiodocker.Docker,
    tag: str = PAUSE_FALLBACK_IMAGE,
    catatonit_path: str = "/usr/bin/catatonit",
) -> None:
    """Build the fallback sandbox image: a static catatonit run as ``catatonit -P``."""
    data = _read_static_binary(catatonit_path, "catatonit", tag)
    await build_scratch_image(docker, tag, {"catatonit": data}, _PAUSE_DOCKERFILE)


async def build_busybox_image(
    docker: aiodocker.Docker,
    tag: str = DEMO_BUSYBOX_IMAGE,
    busybox_path: str = "/bin/busybox",
) -> None:
    """Build the demo image: a static busybox with its applets linked into /bin."""
    data = _read_static_binary(busybox_path, "busybox-static", tag)
    await build_scratch_image(docker, tag, {"busybox": data}, _BUSYBOX_DOCKERFILE)


def _split_reference(ref: str) -> tuple[str, str | None]:
    """Split an image reference into (repository, tag) for the pull endpoint.

    A digest reference is passed whole (tag ``None``); a reference without a
    tag gets ``latest``, as ``docker pull`` does.  The registry host's port
    (``localhost:5999/x``) is not mistaken for a tag.
    """
    if "@" in ref:
        return ref, None
    head, slash, last = ref.rpartition("/")
    if ":" in last:
        name, _, tag = last.partition(":")
        return f"{head}{slash}{name}", tag
    return ref, "latest"


async def _pull(docker: aiodocker.Docker, ref: str, deadline: float) -> None:
    repository, tag = _split_reference(ref)
    async with asyncio.timeout(deadline):
        async for item in docker.images.pull(repository, tag=tag, stream=True):
            error = _stream_error(item)
            if error is not None:
                raise DockerStreamError(error, error_detail=item.get("errorDetail") or {})


async def ensure_pause_image(
    docker: aiodocker.Docker,
    configured: str,
    log: logging.Logger,
    *,
    pull_timeout: float = DEFAULT_PULL_TIMEOUT,
) -> str:
    """Return the image reference to use for pod sandboxes.

    ``configured`` when it is present locally or can be pulled within
    ``pull_timeout`` seconds; otherwise the locally built
    ``PAUSE_FALLBACK_IMAGE`` (built now unless already present), with a warning.
    """
    if await image_exists(docker, configured):
        return configured
    if configured == PAUSE_FALLBACK_IMAGE:
        await build_pause_image(docker)
        log.info("built the local pause image %s from catatonit", PAUSE_FALLBACK_IMAGE)
        return PAUSE_FALLBACK_IMAGE

    reason: str
    try:
        await _pull(docker, configured, pull_timeout)
    except TimeoutError:
        reason = f"pull timed out after {pull_timeout:g} s"
    except DockerError as exc:
        reason = f"pull failed: {exc.message}"
    else:
        if await image_exists(docker, configured):
            log.info("pulled pause image %s", configured)
            return configured
        reason = "pull finished but the image is still absent"

    if not await image_exists(docker, PAUSE_FALLBACK_IMAGE):
        try:
            await build_pause_image(docker)
        except ImageBuildError as exc:
            raise ImageBuildError(
                f"pause image {configured} is absent and could not be pulled ({reason}), "
                f"and the local fallback could not be built: {exc.message}"
            ) from exc
    log.warning(
        "pause image %s is absent locally and could not be pulled (%s); "
        "using the local fallback %s built from catatonit",
        configured,
        reason,
        PAUSE_FALLBACK_IMAGE,
    )
    return PAUSE_FALLBACK_IMAGE


async def build_local_images(docker: aiodocker.Docker, *, demo: bool) -> list[str]:
    """Build the pause fallback and, with ``demo``, the busybox demo image.

    Images already present are left alone; returns the references built now.
    """
    built: list[str] = []
    if not await image_exists(docker, PAUSE_FALLBACK_IMAGE):
        await build_pause_image(docker)
        built.append(PAUSE_FALLBACK_IMAGE)
    if demo and not await image_exists(docker, DEMO_BUSYBOX_IMAGE):
        await build_busybox_image(docker)
        built.append(DEMO_BUSYBOX_IMAGE)
    return built


async def build_local_images_on(docker_host: str | None, *, demo: bool) -> list[str]:
    """`build_local_images` on an engine given by address (None: DOCKER_HOST or the local socket)."""
    docker = aiodocker.Docker(url=docker_host)
    try:
        return await build_local_images(docker, demo=demo)
    finally:
        await docker.close()
