"""Pytest set-up for the spawn tests: the ``ray`` marker (``-m ray`` selects, ``-m 'not ray'`` skips)."""

from __future__ import annotations

import pytest

__all__: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ray: starts or joins Ray (the Ray runtimes); about 3 minutes in all")
