"""The Locust web UI extension: a live "Rankings" tab and downloads of the run's exports."""

from __future__ import annotations


def install(environment, state) -> None:
    """Placeholder: filled in by the web UI work."""
