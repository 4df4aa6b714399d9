"""One registry per extension point of the simulator: operators, triggers, selectors, runtimes,
objectives and agents, each with the same shape as :func:`attribution.register_rule`.

Built-ins register themselves with the same decorators as plugins. A name is looked up with
:meth:`Registry.get`, whose error names the accepted ones and the closest ("did you mean").

The registries of the simulator's extension points are made here, at the bottom of ``spawn``, so
that the config can check names against them without importing the layers above it: each knows
the module that holds its built-ins and imports it the first time it is asked for a name (as a
plugin's module is imported when a config names it).

Examples
--------
>>> reg = Registry("widget", listed=False)
>>> @reg.register("round", sides=0)
... class Round: ...
>>> reg.get("round").__name__, reg.meta("round")
('Round', {'sides': 0})
>>> reg.get("rond")
Traceback (most recent call last):
...
spawn.errors.ConfigError: unknown widget 'rond' (did you mean 'round'?); accepted: round
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from spawn.errors import ConfigError, did_you_mean

__all__ = ["OBJECTIVES", "OPERATORS", "REGISTRIES", "RUNTIMES", "SELECTORS", "TRIGGERS", "Entry", "Registry"]

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    obj: T
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        """Where it comes from: the defining module (``spawn.operators`` for a built-in)."""
        return str(getattr(self.obj, "__module__", "?"))


class Registry(Generic[T]):
    """Names to objects (usually classes) of one kind of extension, in registration order."""

    def __init__(self, kind: str, *, listed: bool = True, builtins: str | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        self._builtins = builtins  # the module registering the built-ins, imported on first use
        if listed:  # listed by ``lineage-sim plugins``
            REGISTRIES[kind] = self

    def register(self, name: str, **meta: Any) -> Callable[[T], T]:
        """Decorator: register the decorated object as ``name`` (with metadata such as ``kind="broad"``)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} needs a non-empty name, got {name!r}")

        def deco(obj: T) -> T:
            if name in self._entries and self._entries[name].obj is not obj:
                raise ValueError(f"a {self.kind} named {name!r} is already registered ({self._entries[name].origin})")
            self._entries[name] = Entry(name, obj, dict(meta))
            return obj

        return deco

    def _load(self) -> None:
        if self._builtins is not None:
            module, self._builtins = self._builtins, None
            importlib.import_module(module)

    def class_decorator(self, name: str, method: str, signature: str, **meta: Any) -> Callable[[Any], Any]:
        """Register a class as ``name`` (with ``meta``), refusing one without the ``method`` its kind calls."""
        register = self.register(name, **meta)

        def deco(cls: Any) -> Any:
            if not isinstance(cls, type) or not callable(getattr(cls, method, None)):
                article = "an" if method[0] in "aeiou" else "a"
                raise TypeError(f"{self.kind} {name!r}: register a class with {article} {method}({signature}) method")
            return register(cls)  # type: ignore[arg-type]  # a registry of classes

        return deco

    def get(self, name: str) -> T:
        """The object registered as ``name``; :class:`~spawn.errors.ConfigError` naming the accepted ones."""
        self._load()
        try:
            return self._entries[name].obj
        except KeyError:
            raise ConfigError(self.unknown(name)) from None

    def unknown(self, name: str) -> str:
        """The message for an unknown ``name``: the closest name, then every accepted one."""
        self._load()
        hint = did_you_mean(str(name), list(self._entries))
        return f"unknown {self.kind} {name!r}{hint}; accepted: {', '.join(self._entries)}"

    def meta(self, name: str) -> dict[str, Any]:
        self.get(name)
        return dict(self._entries[name].meta)

    def names(self) -> tuple[str, ...]:
        self._load()
        return tuple(self._entries)

    def entries(self) -> Iterator[Entry[T]]:
        self._load()
        return iter(list(self._entries.values()))

    def unregister(self, name: str) -> None:
        """Remove ``name`` (a test's or a notebook's registration; registering it again is then allowed)."""
        self.get(name)
        del self._entries[name]

    def lookup(self, name: str) -> tuple[T, str | None]:
        """A plain name, or ``family:<argument>`` for an entry registered with ``family=True``: the object
        and the argument (``None`` for a plain name); else the did-you-mean :class:`ConfigError`."""
        self._load()
        head, sep, arg = name.partition(":")
        argument = arg if sep else None
        if not sep:
            head = name
        entry = self._entries.get(head)
        if entry is not None and bool(entry.meta.get("family")) == (argument is not None):
            return entry.obj, argument
        plain = [n for n, e in self._entries.items() if not e.meta.get("family")]
        if argument is not None:
            families = [f"{n}:<argument>" for n, e in self._entries.items() if e.meta.get("family")]
            accepted = ", ".join(plain + families)
            raise ConfigError(f"unknown {self.kind} family {head!r} in {name!r}; accepted: {accepted}")
        hint = did_you_mean(head, plain)
        raise ConfigError(f"unknown {self.kind} {head!r}{hint}; accepted: {', '.join(plain)}")

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __len__(self) -> int:
        self._load()
        return len(self._entries)


#: Every registry, by the kind of extension it holds (filled as registries are made).
REGISTRIES: dict[str, Registry[Any]] = {}

#: The simulator's extension points (agents have theirs in :mod:`spawn.agents`, the bottom layer).
OPERATORS: Registry[Any] = Registry("operator", builtins="spawn.life.operators")
TRIGGERS: Registry[Any] = Registry("trigger", builtins="spawn.life.triggers")
OBJECTIVES: Registry[Any] = Registry("objective", builtins="spawn.life.objectives")
SELECTORS: Registry[Any] = Registry("selector", builtins="spawn.regimes.selectors")
RUNTIMES: Registry[Any] = Registry("runtime", builtins="spawn.runtimes")
