# The Podyard controller as an image, for the development stack (docker-compose.dev.yml).
#
# The controller drives the engine whose socket is mounted at /var/run/docker.sock: the pods it
# creates are the host's containers, not children of this one. Access to that socket is root on
# the host anyway, so the image runs as root rather than juggling the socket's group id.
#
# The manifests are not baked in: mount a folder at /manifests. Only the package is copied
# (see .dockerignore), and it is installed as a regular, non-editable install without the dev
# extras.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /src
# pyproject.toml names README.md as the package's readme, so the build needs it.
COPY pyproject.toml README.md ./
COPY controller ./controller
RUN pip install . && rm -rf /src

WORKDIR /
EXPOSE 9180
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9180/healthz', timeout=4)"]
# Listen on every interface of the container so the compose network (Prometheus) and the
# published port reach the API; the compose file publishes it on the host's loopback only.
ENTRYPOINT ["podyard"]
CMD ["run", "--manifests", "/manifests", "--listen", "0.0.0.0:9180"]
