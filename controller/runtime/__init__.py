"""Adapters to container engines: the only package that imports aiodocker.

`docker.DockerRuntime` talks to one Docker engine and turns its JSON into `controller.model` types;
`fake.FakeRuntime` is its in-memory twin for engine tests; `images` builds the local pause and demo
images FROM scratch; `beneath` and `hostmounts` open a subPath inside its volume and bind-mount it
on the host (the only host mounts Podyard makes). Nothing outside this package sees Docker's shapes
or aiodocker's exceptions.
"""
