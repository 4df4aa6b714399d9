"""How a config names plugin code (``module:Class`` agents, ``module:EnvId`` environments), and the
one way such a module is imported: its name's form checked first, Python's standard library refused
by name, and any failure of the module's own code reported as one line.

>>> bool(PLUGIN.fullmatch("my_pkg.agents:MyAgent")), bool(PLUGIN.fullmatch("a b:C"))
(True, False)
>>> stdlib_refusal("os:system", "agent kind")
"agent kind 'os:system' names module 'os' of Python's standard library, which holds no plugin; accepted: ..."
"""

from __future__ import annotations

import importlib
import re
import sys
from types import ModuleType

from spawn.errors import ConfigError

__all__ = ["MODULE", "PLUGIN", "PLUGIN_ENV", "first_line", "import_plugin_module", "stdlib_refusal"]

_MODULE = r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*"
#: ``module:Name`` as a plugin is named: a dotted module path, a colon, an identifier.
PLUGIN = re.compile(_MODULE + r":[A-Za-z_][A-Za-z0-9_]*")
#: ``module:Env-v0`` as a plugin environment is named: a dotted module path, a colon, a gymnasium id.
PLUGIN_ENV = re.compile(_MODULE + r":[A-Za-z0-9_./-]+")
#: A dotted module name, as ``plugins = [...]`` names one.
MODULE = re.compile(_MODULE)


def first_line(text: str, width: int = 120) -> str:
    """The first line of ``text``, cut to ``width`` characters (a plugin's error can be anything)."""
    text = text.splitlines()[0] if text else ""
    return text if len(text) <= width else text[: width - 3] + "..."


def stdlib_refusal(name: str, what: str) -> str | None:
    """Why the module of plugin ``name`` is refused before anything is imported, or ``None``."""
    top = name.split(":", 1)[0].split(".", 1)[0]
    if top in sys.stdlib_module_names:
        return (
            f"{what} {first_line(repr(name), 60)} names module {top!r} of Python's standard library, which holds "
            "no plugin; accepted: a module of your own or of an installed package"
        )
    return None


def import_plugin_module(module: str, what: str) -> ModuleType:
    """Import a plugin's module (its code runs); any failure of that code is one :class:`ConfigError` line."""
    try:
        return importlib.import_module(module)
    except Exception as exc:
        raise ConfigError(
            f"{what}: module {module!r} cannot be imported ({type(exc).__name__}: {first_line(str(exc))})"
        ) from None
