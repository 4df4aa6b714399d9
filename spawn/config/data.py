"""The raw data of a config (parsed TOML, or a mapping given in Python), checked before validation.

What no config holds is refused here, in one line, before pydantic sees it: tables and arrays
nested deeper than :data:`MAX_NESTING`, whole numbers of :data:`MAX_INT` or more, ``inf`` and
``nan``, keys that are not text, and control characters in keys or text. :func:`shown` is how every
config message shows a value: cut short, so that a megabyte of text or 4000 digits stay one line.

Examples
--------
>>> shown("x" * 100)
"'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."
>>> shown(10**70)
'<a whole number of 71 digits>'
>>> check_data({"seed": 1, "envs": [{"id": "FrozenLake-v1"}]}, "c.toml")  # nothing to refuse
>>> check_data({"envs": [{"id": "Frozen\\x07Lake"}]}, "c.toml")
Traceback (most recent call last):
...
spawn.errors.ConfigError: c.toml: envs[0].id = 'Frozen\\x07Lake' holds control character U+0007; accepted: ...
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from typing import Any

from spawn.errors import ConfigError

__all__ = ["MAX_INT", "MAX_NESTING", "check_data", "shown"]

#: How deep a config's tables and arrays may nest (a real config nests 4 deep at most).
MAX_NESTING = 16
#: Largest magnitude of a whole number anywhere in a config.
MAX_INT = 2**64


def shown(value: Any, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters (a value can be a megabyte, or 4000 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**width:
        return f"<a whole number of {len(str(abs(value))) if abs(value) < 10**4000 else 'over 4000'} digits>"
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _control(text: str) -> str | None:
    for ch in text:
        if unicodedata.category(ch) == "Cc":
            return f"U+{ord(ch):04X}"
    return None


def _check_key(k: Any, at: str, source: str) -> None:
    if not isinstance(k, str):
        raise ConfigError(f"{source}: {at}: key {shown(k)} is not text")
    bad = _control(k)
    if bad:
        raise ConfigError(f"{source}: {at}: key {shown(k)} holds control character {bad}; accepted: printable text")


def _check_leaf(value: Any, at: str, source: str) -> None:
    """Refuse a value that is neither a table nor an array: control characters, huge numbers, inf/nan."""
    if isinstance(value, str):
        bad = _control(value)
        if bad:
            raise ConfigError(
                f"{source}: {at} = {shown(value)} holds control character {bad}; accepted: printable text"
            )
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_INT:
        raise ConfigError(f"{source}: {at} = {shown(value)} is not accepted: whole numbers are below 2^64")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{source}: {at} = {value!r} is not accepted: give a finite number")


def check_data(data: Any, source: str) -> None:
    """Refuse, before validation, what no config holds: deep nesting, huge numbers, inf/nan, control characters.

    Iterative, so a value nested 10^5 deep is one line, never a ``RecursionError``.
    """
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        at = where or "<top>"
        if depth > MAX_NESTING:
            raise ConfigError(
                f"{source}: {at}: nested more than {MAX_NESTING} levels deep; accepted: at most {MAX_NESTING}"
            )
        if isinstance(value, Mapping):
            for k, v in value.items():
                _check_key(k, at, source)
                stack.append((v, f"{where}.{k}" if where else k, depth + 1))
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                stack.append((v, f"{where}[{i}]", depth + 1))
        else:
            _check_leaf(value, at, source)
