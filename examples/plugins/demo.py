"""A small lineage-sim plugin: one operator and one trigger, each a single decorated class.

Name it in a config as ``plugins = ["examples.plugins.demo"]`` (see ``plugin_demo.toml`` here) and
run from the repository's root with the root on the module path::

    PYTHONPATH=. lineage-sim run examples/plugins/plugin_demo.toml --out runs/plugin-demo

The driver imports the module while it checks the config, and every worker (local processes, Ray
actors and shards) imports it before its first agent, so the registrations below are seen
everywhere. On a Ray cluster the module's top-level package (``examples``) is shipped to the
workers with the project's own packages.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import spawn


@spawn.register_operator("reset-exploration", kind="narrow")
class ResetExploration:
    """The child keeps what the parent learned, but explores again as much as the root did.

    A parent's exploration is whatever ``mutate`` made of it along its ancestry; this child gets the
    config's ``[agent] epsilon`` and ``temperature`` back (for the kinds that have them).
    """

    def applicable(self, birth: Any) -> bool:
        return any(k in birth.child.hyper for k in ("epsilon", "temperature"))

    def apply(self, birth: Any) -> Any:
        root = birth.cfg.agent
        hyper = dict(birth.child.hyper)
        for key in ("epsilon", "temperature"):
            if key in hyper:
                hyper[key] = float(getattr(root, key))
        return replace(birth.child, hyper=hyper)


@spawn.register_trigger("every-n-steps")
class EveryNSteps:
    """Fires once the lineage's logical clock (birth time plus training steps) passes the next
    multiple of ``every`` steps: children are born at about the same times in every clade."""

    every = 1000

    def __init__(self, spec: Any, cfg: Any) -> None:
        self.next = (spec.birth_time // self.every + 1) * self.every

    def fires(self, round: Any) -> bool:
        if round.clock < self.next:
            return False
        self.next = (round.clock // self.every + 1) * self.every
        return True
