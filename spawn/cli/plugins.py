"""``lineage-sim plugins``: what is registered at every extension point, with its parameters and origin.

The extension points are the registries of :mod:`spawn.registry` (operators, triggers, objectives,
selectors, runtimes) and the agents' (:data:`spawn.agents.AGENT_REGISTRY`). Asking a registry for
its entries loads its built-ins; a config's ``plugins = [...]`` are imported first (as a run does),
so their registrations are listed too, each marked with the module it comes from.

An entry's parameters are what it declares: an agent's hyper-parameters (:func:`spawn.agents.hyper_params`:
default, accepted values, the range ``mutate`` perturbs within); for any other class, its public
class attributes with a plain value (an objective's ``shield`` and ``adaptive``, the operator
``answers`` a trigger, a plugin trigger's ``every``); for a function (a runtime factory), its
arguments with a default.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import re
import sys
from typing import TYPE_CHECKING, Any

from spawn.cli import PROG
from spawn.errors import SpawnError, UsageError, did_you_mean

if TYPE_CHECKING:
    from rich.table import Table

    from spawn.registry import Entry, Registry

__all__ = ["cmd_plugins", "entry_row", "extension_points", "register"]

_NAME = f"{PROG} plugins"

#: Where a config (or the command line) names an entry of each built-in extension point.
_NAMED_IN = {
    "agent": "[agent] kind = NAME",
    "operator": "[operators] NAME = weight",
    "trigger": "[spawn] triggers = [NAME, ...]",
    "objective": "[agent] objective = NAME",
    "selector": "selector = NAME",
    "runtime": "--runtime NAME",
}


def _registries() -> dict[str, Registry[Any]]:
    """Every extension point by kind, agents first, then in the order the registries were made."""
    from spawn.agents import AGENT_REGISTRY
    from spawn.registry import REGISTRIES

    return {AGENT_REGISTRY.kind: AGENT_REGISTRY, **REGISTRIES}


def _plain_value(value: Any) -> Any:
    """``value`` as JSON can hold it: a bool, a whole number, a finite number or text (else its repr)."""
    if isinstance(value, bool | int | str) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return repr(value)


def _summary(obj: Any) -> str:
    """The first paragraph of ``obj``'s own docstring, on one line, without reST markup."""
    doc = obj.__doc__ if isinstance(getattr(obj, "__doc__", None), str) else ""
    first = inspect.cleandoc(doc).split("\n\n", 1)[0]
    first = re.sub(r":[a-z]+:`~?(?:[\w.]*\.)?([^`.]+)`", r"\1", first)
    return " ".join(first.replace("``", "").split())


def _declared(obj: Any) -> list[dict[str, Any]]:
    """A class's public class attributes with a plain value (base classes first); a function's
    arguments with a default."""
    found: dict[str, Any] = {}
    if isinstance(obj, type):
        for klass in reversed(obj.__mro__[:-1]):  # ``object`` excluded
            for name, value in vars(klass).items():
                if not name.startswith("_") and isinstance(value, bool | int | float | str):
                    found[name] = value
    elif callable(obj):
        try:
            signature = inspect.signature(obj)
        except (TypeError, ValueError):
            return []
        for p in signature.parameters.values():
            if p.default is not p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                found[p.name] = p.default
    return [{"name": name, "default": _plain_value(value)} for name, value in found.items()]


def _hyper(cls: type) -> list[dict[str, Any]]:
    from spawn.agents import hyper_params

    return [
        {
            "name": h.name,
            "default": _plain_value(h.default),
            "accepted": h.accepted,
            "mutation": None if h.mutation is None else [_plain_value(x) for x in h.mutation],
            "description": h.description,
        }
        for h in hyper_params(cls)
    ]


def entry_row(kind: str, entry: Entry[Any]) -> dict[str, Any]:
    """One registered entry: its name, metadata, parameters, summary and origin (built-in or plugin)."""
    origin = entry.origin
    return {
        "name": entry.name,
        "meta": {key: _plain_value(value) for key, value in entry.meta.items()},
        "parameters": _hyper(entry.obj) if kind == "agent" else _declared(entry.obj),
        "summary": _summary(entry.obj),
        "origin": origin,
        "builtin": origin == "spawn" or origin.startswith("spawn."),
    }


def extension_points(kind: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every extension point (or only ``kind``; ``"operators"`` is ``"operator"``), each entry a row of
    :func:`entry_row`, in registration order. An unknown kind is a :class:`UsageError` (did you mean)."""
    registries = _registries()
    if kind is not None:
        if kind not in registries and kind.removesuffix("s") in registries:
            kind = kind.removesuffix("s")
        if kind not in registries:
            hint = did_you_mean(kind, list(registries))
            raise UsageError(
                f"{_NAME}: unknown extension point {kind!r}{hint}; accepted: {', '.join(registries)}"
            )
        registries = {kind: registries[kind]}
    return {k: [entry_row(k, e) for e in registry.entries()] for k, registry in registries.items()}


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _parameter_text(p: dict[str, Any]) -> str:
    text = f"{p['name']}={_number(p['default'])}"
    if p.get("mutation") is not None:
        low, high = p["mutation"]
        text += f" (mutated in [{_number(low)}, {_number(high)}])"
    return text


def _meta_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _table(kind: str, rows: list[dict[str, Any]]) -> Table:
    from rich.table import Table
    from rich.text import Text

    from lineage.text import plain

    where = _NAMED_IN.get(kind)
    title = f"{kind.capitalize()}s" + (f" ({where})" if where else "")
    table = Table(title=plain(title), show_lines=True)
    meta_keys = list(dict.fromkeys(key for row in rows for key in row["meta"]))
    table.add_column("name", no_wrap=True)
    for key in meta_keys:
        table.add_column(plain(key), no_wrap=True)
    table.add_column("parameters (defaults)", overflow="fold")
    table.add_column("what it does", overflow="fold")
    table.add_column("origin", no_wrap=True)
    for row in rows:
        name = row["name"] + (":<argument>" if row["meta"].get("family") is True else "")
        parameters = [plain(_parameter_text(p)) for p in row["parameters"]] or [Text("-")]
        table.add_row(
            plain(name),
            *(plain(_meta_text(row["meta"][k]) if k in row["meta"] else "-") for k in meta_keys),
            Text("\n").join(parameters),
            plain(row["summary"]),
            Text("\n").join([Text("built-in" if row["builtin"] else "plugin"), plain(row["origin"])]),
        )
    return table


def cmd_plugins(args: argparse.Namespace) -> int:
    if args.config is not None:  # its plugins = [...] are imported while the config is checked
        from spawn.config import load_config

        try:
            load_config(args.config)
        except SpawnError as exc:
            raise UsageError(f"{_NAME}: {exc}") from None
    points = extension_points(args.kind)
    if args.json:
        sys.stdout.write(json.dumps(points, allow_nan=False) + "\n")
        return 0
    from rich.console import Console

    console = Console()
    for kind, rows in points.items():
        console.print(_table(kind, rows))
    if args.kind is None:
        console.print(f"[dim]attribution rules: '{PROG} rules'; environments: '{PROG} envs'[/dim]")
    return 0


def register(sub: Any) -> None:
    """Add ``plugins`` to the ``lineage-sim`` command line."""
    kinds = ", ".join(_registries())
    p = sub.add_parser(
        "plugins",
        help="every extension point's entries, with parameters and origin",
        description=(
            f"List every entry of every extension point ({kinds}): its parameters with their defaults "
            "(an agent's hyper-parameters with the range mutate perturbs them within), what it does, "
            "and the module it comes from (built-in or plugin). With CONFIG, the config's "
            "plugins = [...] are imported first, so their registrations show."
        ),
    )
    p.add_argument(
        "config", nargs="?", default=None, metavar="CONFIG", help="a TOML config whose plugins are imported first"
    )
    p.add_argument("--kind", default=None, metavar="KIND", help=f"only this extension point ({kinds})")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(func=cmd_plugins)
