"""Frozen data types shared by every layer: manifests, observed engine state, plans, status.

Nothing here does I/O or reads the clock; times are plain epoch seconds (float) handed in by callers.
"""
