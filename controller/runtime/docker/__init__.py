"""The Docker engine behind the runtime port: the only code that talks to aiodocker.

`runtime.DockerRuntime` is the adapter; the rest are its parts, one concern each: `calls` (the
client, deadlines, errors), `endpoints` and `sshbridge` (unix, tcp+TLS and ssh engines), `body`
(a container's create body), `json` (reading what the engine returns), `events`, `images`,
`volumes`, `probes`, `lease`, `subpaths` and `cgroups`.
"""
