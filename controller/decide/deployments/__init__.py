"""Kubernetes' Deployment controller as pure functions: `sync` (the sync itself) with `plan`,
`scaling` and `status` beside it, one concern each."""
