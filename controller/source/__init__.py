"""Where desired state comes from: the manifests folder, read safely, with errors users can act on.

Only this package reads YAML and watches files (import-linter enforces it). `loader` turns a
folder into pods plus per-file, per-line errors; it is a pure function of the files' contents, so
the live watch can simply call it again on every change and diff the result.
"""
