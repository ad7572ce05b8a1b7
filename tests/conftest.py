"""Shared pytest settings: every test has a deadline (pyproject), warnings are errors.

The private Docker engine's fixtures are a plugin for the whole suite, so the integration and
fault tests share one engine per session; only tests that ask for it start it.
"""

pytest_plugins = ["tests.integration.fixtures"]
