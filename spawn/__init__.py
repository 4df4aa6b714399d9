"""Agents, self-improvement operators, runtimes, configuration and the command line.

The only package allowed to import the other three (``lineage``, ``envs``, ``attribution``).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
