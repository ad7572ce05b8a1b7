"""Podyard: a Kubernetes-style controller for plain Docker hosts.

Layers (imports point downwards only; checked by import-linter, see pyproject.toml):

    cli -> app -> engine | source | runtime | metrics | api -> decide | serde -> model | config
"""

__version__ = "0.1.0"
