"""The HTTP API: health, and a read API shaped like Kubernetes' so real clients can read it."""
