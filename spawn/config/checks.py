"""Checks of a config beyond a field's form: names against the registries, drift-detector parameters,
rule specs and the work a run asks for (:mod:`spawn.limits`).

A name a plugin may register (an operator, trigger, objective, agent kind or selector) is checked
only once the config's ``plugins`` are imported: :func:`parse_config` checks the config's form
inside :func:`names_deferred`, imports the plugins, then validates again with names checked.

Examples
--------
>>> one_of("adwn", ("adwin", "page-hinkley"), "drift detector")
Traceback (most recent call last):
...
ValueError: unknown drift detector 'adwn' (did you mean 'adwin'?); accepted: adwin, page-hinkley
>>> from spawn.registry import OPERATORS
>>> with names_deferred():
...     registered("my-operator", OPERATORS, "operator")
'my-operator'
>>> names_checked()
True
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from spawn import limits
from spawn.config.data import shown
from spawn.errors import ConfigError, did_you_mean
from spawn.registry import SELECTORS

if TYPE_CHECKING:
    from spawn.config.model import SimConfig

__all__ = [
    "DETECTORS",
    "check_detector",
    "check_rule",
    "check_selector",
    "check_work",
    "names_checked",
    "names_deferred",
    "one_of",
    "registered",
]

DETECTORS = ("adwin", "page-hinkley")


def one_of(value: str, accepted: tuple[str, ...], what: str) -> str:
    """``value`` if ``accepted`` holds it, else ``ValueError``: the unknown ``what``, did you mean, what is accepted."""
    if value in accepted:
        return value
    hint = did_you_mean(value, accepted)
    raise ValueError(f"unknown {what} {shown(value)}{hint}; accepted: {', '.join(accepted)}")


#: False while :func:`parse_config` checks a config's form, before its ``plugins`` are imported:
#: names that a plugin may register (operators, triggers, objectives, agents, selectors) wait.
_NAMES_CHECKED: contextvars.ContextVar[bool] = contextvars.ContextVar("names_checked", default=True)


def names_checked() -> bool:
    """Whether validation checks names against the registries now (see :func:`parse_config`)."""
    return _NAMES_CHECKED.get()


@contextlib.contextmanager
def names_deferred() -> Iterator[None]:
    """Inside the block, validation leaves the names a plugin may register unchecked."""
    token = _NAMES_CHECKED.set(False)
    try:
        yield
    finally:
        _NAMES_CHECKED.reset(token)


def registered(value: str, registry: Any, what: str) -> str:
    """``value`` if ``registry`` holds it (or names are not checked yet); else the did-you-mean error."""
    if not names_checked():
        return value
    return one_of(value, registry.names(), what)


def check_selector(selector: str) -> str:
    """Refuse an unknown selector or a bad family argument (:class:`ConfigError`, one line); else ``selector``."""
    cls, arg = SELECTORS.lookup(selector)  # a registered selector, or a registered family's 'family:<argument>'
    check = getattr(cls, "check", None)
    if callable(check):
        try:
            check(arg)
        except (ValueError, ConfigError) as exc:
            raise ConfigError(f"selector {selector!r}: {exc}") from None
    return selector


#: Parameters of the river drift detectors: name -> (whole number?, low, low inclusive?, high or None).
_DETECTOR_PARAMS: dict[str, dict[str, tuple[bool, float, bool, float | None]]] = {
    "adwin": {
        "delta": (False, 0.0, False, 1.0),
        "clock": (True, 1, True, None),
        "max_buckets": (True, 1, True, None),
        "min_window_length": (True, 1, True, None),
        "grace_period": (True, 1, True, None),
    },
    "page-hinkley": {
        "min_instances": (True, 1, True, None),
        "delta": (False, 0.0, True, None),
        "threshold": (False, 0.0, False, None),
        "alpha": (False, 0.0, False, 1.0),
    },
}


def check_detector(detector: str, params: Mapping[str, Any], direction: str = "down", window: int = 1) -> None:
    """Refuse detector parameters the detector rejects or would misuse (``ValueError``, one line); then build it."""
    accepted = _DETECTOR_PARAMS[detector]
    for name, value in params.items():
        if name not in accepted:
            one_of(name, tuple(accepted), f"parameter of drift detector {detector!r}:")
        whole, low, closed, high = accepted[name]
        if whole and not (isinstance(value, int) and not isinstance(value, bool)):
            raise ValueError(f"detector_params.{name} = {shown(value)}; accepted: a whole number >= {low:g}")
        above = value >= low if closed else value > low
        if not above or (high is not None and value > high):
            bounds = f"{'>=' if closed else '>'} {low:g}" + (f" and <= {high:g}" if high is not None else "")
            raise ValueError(f"detector_params.{name} = {shown(value)} for {detector}; accepted: a number {bounds}")
    if params:
        from spawn.life.triggers import DriftWatch

        DriftWatch(detector, dict(params), direction, window)  # what the run will build, built once now


def check_rule(spec: str, config_limits: Mapping[str, int] | None = None) -> Any:
    """Parse a rule spec (``[attribution] rules``, ``selector = "rule:..."``, ``compare --rule``) within the limits.

    Returns the :class:`attribution.Rule`; raises :class:`ConfigError` (one line) for a bad spec or a
    rule over a limit (``shapley:samples=...`` against ``shapley_samples``).
    """
    from attribution import AttributionError, parse_rule

    try:
        rule = parse_rule(spec)
    except AttributionError as exc:
        raise ConfigError(str(exc)) from None
    samples = getattr(rule, "samples", None)
    if isinstance(samples, int):
        limits.check("shapley_samples", samples, f"rule {shown(spec)}", config_limits)
    return rule


def _text_chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(len(x) for x in value if isinstance(x, str))
    return 0


def check_work(cfg: SimConfig) -> None:
    """Refuse work no machine can finish (:mod:`spawn.limits`), before anything runs."""
    lim = cfg.limits
    per_agent = cfg.eval.episodes * cfg.eval.max_steps * len(cfg.envs)
    limits.check(
        "eval_steps",
        per_agent,
        f"evaluation of every agent (episodes {cfg.eval.episodes} x max_steps {cfg.eval.max_steps} "
        f"x {len(cfg.envs)} environments)",
        lim,
    )
    for i, env in enumerate(cfg.envs):
        if "desc" in env.kwargs:
            limits.check("map_cells", _text_chars(env.kwargs["desc"]), f"envs[{i}] ({env.id}) map 'desc'", lim)
        if "program" in env.kwargs:
            limits.check(
                "bf_program_chars", _text_chars(env.kwargs["program"]), f"envs[{i}] ({env.id}) 'program'", lim
            )
    for spec in cfg.attribution.rules:
        check_rule(spec, lim)
    if cfg.selector.startswith("rule:"):
        check_rule(cfg.selector.removeprefix("rule:"), lim)
    if cfg.sweep:
        runs = math.prod(len(v) for v in cfg.sweep.values())
        keys = " x ".join(f"{len(v)} {k}" for k, v in cfg.sweep.items())
        limits.check("sweep_runs", runs, f"[sweep] of {keys}", lim)
