"""``lineage-sim envs`` and ``lineage-sim rules``: what is registered, with its parameters."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from spawn.cli import PROG
from spawn.errors import UsageError, did_you_mean

__all__ = ["env_rows", "register", "rule_rows"]


_KIND = {"ForbiddenAction": "action:", "ForbiddenState": "state:", "Invariance": "invariant:"}
#: Parameters every rule takes (the fields of :class:`attribution.Rule`), listed once, not per rule.
_COMMON = ("transform", "w", "lam", "value", "distance", "cost", "liability", "penalty")


def _short_space(space: Any) -> str:
    shape = getattr(space, "shape", None)
    if hasattr(space, "n"):
        return f"Discrete({int(space.n)})"
    return f"{type(space).__name__}{tuple(shape) if shape is not None else ''}"


def env_rows(ids: list[str] | None = None) -> list[dict[str, Any]]:
    """One row per registered ``lineage_sim/`` environment: spaces, facts, constitution, complexity."""
    import envs

    out = []
    for env_id in ids or list(envs.ENV_IDS):
        env = envs.make(env_id)
        desc = envs.describe(env)
        bits = envs.complexity_bits(env)
        try:
            wrapped = envs.make(env_id, constitution="default")
            rules = [f"{_KIND.get(type(r).__name__, type(r).__name__)} {r.name}" for r in wrapped.constitution.rules]
            bits_c: float | None = envs.complexity_bits(wrapped)
            wrapped.close()
        except envs.EnvsError:
            rules, bits_c = [], None
        out.append(
            {
                "id": env_id,
                "observation": _short_space(env.observation_space),
                "actions": _short_space(env.action_space),
                "return_range": desc.return_range,
                "success": desc.has_success,
                "hidden": desc.has_hidden,
                "constitution": rules,
                "bits": bits,
                "bits_with_constitution": bits_c,
            }
        )
        env.close()
    return out


def rule_rows() -> list[dict[str, Any]]:
    """One row per registered attribution rule: its parameters with their defaults, and its summary."""
    import attribution

    rows = []
    for name in attribution.rule_names():
        cls = attribution.RULES[name]
        params = [f"{f.name}={f.default!r}" for f in dataclasses.fields(cls) if f.name not in _COMMON]
        doc = (cls.__doc__ or "").strip().splitlines()[0].replace("``", "") if cls.__doc__ else ""
        rows.append({"rule": name, "parameters": params, "summary": doc})
    return rows


def cmd_envs(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    import envs

    ids = None
    if args.id:
        known = list(envs.ENV_IDS)
        for i in args.id:
            if i not in known:
                hint = did_you_mean(i, known)
                raise UsageError(f"{PROG} envs: unknown environment {i!r}{hint}; see '{PROG} envs'")
        ids = args.id
    table = Table(
        title="Registered environments (lineage_sim/)",
        caption="S/H: declares success / a hidden performance. K bits: complexity, (with its constitution).",
        show_lines=True,
    )
    table.add_column("id", no_wrap=True)
    table.add_column("obs → actions")
    table.add_column("returns")
    table.add_column("S/H", justify="center")
    table.add_column("default constitution")
    table.add_column("K bits", justify="right")
    for r in env_rows(ids):
        lo_hi = "" if r["return_range"] is None else f"[{r['return_range'][0]:g}, {r['return_range'][1]:g}]"
        table.add_row(
            r["id"].removeprefix("lineage_sim/"),
            f"{r['observation']} → {r['actions']}",
            lo_hi,
            f"{'S' if r['success'] else '-'}/{'H' if r['hidden'] else '-'}",
            "\n".join(r["constitution"]) or "none",
            f"{r['bits']:.0f}" + (f" ({r['bits_with_constitution']:.0f})" if r["bits_with_constitution"] else ""),
        )
    Console().print(table)
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title="Attribution rules (write 'name:param=value:...', e.g. discounted:gamma=0.7)",
        caption="Every rule also takes transform=raw|multiplicative|additive|lagrangian, w, lam, the "
        "attribute names value, distance, cost, and liability=<weight> (default 0) with "
        "penalty=<attribute> (default cost): credit minus weight × the clade's penalty (discounted by "
        "gamma^(depth difference) where the rule has a gamma).",
        show_lines=True,
    )
    table.add_column("rule", no_wrap=True)
    table.add_column("parameters (defaults)")
    table.add_column("credit")
    for r in rule_rows():
        table.add_row(r["rule"], "\n".join(r["parameters"]) or "-", r["summary"])
    Console().print(table)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("envs", help="registered environments with their constitutions and complexity")
    p.add_argument("id", nargs="*", help="only these environment ids")
    p.set_defaults(func=cmd_envs)
    p = sub.add_parser("rules", help="registered attribution rules with their parameters")
    p.set_defaults(func=cmd_rules)
