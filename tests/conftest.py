"""Shared pytest settings: every test has a deadline (pyproject), warnings are errors."""
