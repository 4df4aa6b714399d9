"""Specs and records as plain JSON data and back: the form in which an agent's job and its result are
kept on disk (the run's checkpoint) and carried between processes.

Floats are kept as they are (JSON writes them with ``repr``, so they come back bit for bit), and
decoding builds the exact Python types the run uses (tuples where the specs hold tuples). Decoding
never imports or calls anything the data names: an agent kind must be built in or the config's,
operators and objectives registered ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from spawn.errors import CheckpointError

__all__ = [
    "CHECKPOINT",
    "bad_entry",
    "decode_best",
    "decode_record",
    "decode_spec",
    "encode",
    "encode_best",
    "encode_record",
    "encode_spec",
    "plain_data",
]

#: The checkpoint's folder inside a run directory.
CHECKPOINT = "checkpoint"


class _Bad(Exception):
    """A value that is not what the checkpoint format allows (decoding) or cannot hold (encoding)."""


_PLAIN = (str, bool, int, float, type(None))
_PLAIN_SET = frozenset(_PLAIN)
_STR = frozenset((str,))


def _plain(value: Any) -> Any:
    """:func:`plain_data` without the error's location (``_Bad`` without a message when refused)."""
    t = type(value)
    if t in _PLAIN:
        return value
    if t is list:
        if _PLAIN_SET.issuperset(map(type, value)):  # a row of numbers: copied at C speed
            return value.copy()
        return [v if type(v) in _PLAIN else _plain(v) for v in value]
    if t is dict:
        if not _STR.issuperset(map(type, value)):
            raise _Bad
        if _PLAIN_SET.issuperset(map(type, value.values())):  # a record's attributes: copied at C speed
            return value.copy()
        return {k: v if type(v) in _PLAIN else _plain(v) for k, v in value.items()}
    if isinstance(value, float):
        return float(value)
    raise _Bad


def plain_data(value: Any, where: str) -> Any:
    """``value`` as JSON data (dicts with string keys, lists, str, int, float, bool, None).

    Floats of a float subclass (``numpy.float64``) become floats. Anything else (a tuple, an array,
    an object) is refused: plugin agents must keep their parameters as such plain data.
    """
    try:
        return _plain(value)
    except _Bad:
        return _located(value, where)  # raises, saying where


def _located(value: Any, where: str) -> Any:
    """:func:`plain_data`, building the location of every value as it goes (for the error)."""
    t = type(value)
    if value is None or t is str or t is bool or t is int or t is float:
        return value
    if isinstance(value, float):
        return float(value)
    if t is list:
        return [_located(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if t is dict:
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise _Bad(f"{where} has the key {k!r} of type {type(k).__name__}; keys must be strings")
            out[k] = _located(v, f"{where}[{k!r}]")
        return out
    raise _Bad(
        f"{where} is of type {t.__name__}; a checkpoint holds only plain data "
        "(dicts with string keys, lists, str, int, float, bool, None)"
    )


def _str(v: Any, where: str) -> str:
    if type(v) is not str:
        raise _Bad(f"{where}: expected a string")
    return v


def _opt_str(v: Any, where: str) -> str | None:
    return None if v is None else _str(v, where)


def _int(v: Any, where: str) -> int:
    if type(v) is not int:
        raise _Bad(f"{where}: expected an integer")
    return v


def _num(v: Any, where: str) -> float:
    if type(v) not in (int, float):
        raise _Bad(f"{where}: expected a number")
    return v


def _opt_num(v: Any, where: str) -> float | None:
    return None if v is None else _num(v, where)


def _bool(v: Any, where: str) -> bool:
    if type(v) is not bool:
        raise _Bad(f"{where}: expected true or false")
    return v


def _dict(v: Any, where: str) -> dict[str, Any]:
    if type(v) is not dict:
        raise _Bad(f"{where}: expected an object")
    return v


def _list(v: Any, where: str) -> list[Any]:
    if type(v) is not list:
        raise _Bad(f"{where}: expected a list")
    return v


# ---------------------------------------------------------------------- specs, records, results
#: The scalar fields of an AgentSpec and how each is read back (the other four need more: see decode_spec).
_SPEC_SCALARS: dict[str, Any] = {
    "id": _str,
    "parent": _opt_str,
    "depth": _int,
    "operator": _opt_str,
    "agent_kind": _str,
    "objective": _str,
    "budget": _int,
    "quota": _int,
    "birth_time": _int,
    "liability": _num,
    "lagrange": _num,
    "trigger": _opt_str,
    "trigger_task": _opt_str,
    "keep_final": _bool,
    "penalty_weight": _opt_num,
}
_RECORD_SCALARS: dict[str, Any] = {
    "id": _str,
    "parent": _opt_str,
    "operator": _opt_str,
    "train_steps": _int,
    "eval_steps": _int,
}


def encode_spec(spec: Any) -> dict[str, Any]:
    """An :class:`~spawn.life.spec.AgentSpec` as JSON data."""
    where = f"agent {spec.id}"
    out = {
        **{k: getattr(spec, k) for k in _SPEC_SCALARS},
        "hyper": plain_data(dict(spec.hyper), f"{where}: hyper"),
        "tasks": list(spec.tasks),
        "tools": {t: [list(tool) for tool in tools] for t, tools in spec.tools.items()},
        "params": None if spec.params is None else plain_data(spec.params, f"{where}: the params of {spec.agent_kind}"),
    }
    if spec.dropped_rules:  # only when some rule is dropped: every other checkpoint keeps its bytes
        out["dropped_rules"] = {t: list(names) for t, names in spec.dropped_rules.items()}
    return out


def decode_spec(d: Any, kinds: Iterable[str] = (), tasks: Iterable[str] | None = None) -> Any:
    """An :class:`~spawn.life.spec.AgentSpec` from JSON data. Its agent kind must be built in or one of
    ``kinds`` (the config's): a checkpoint never makes the run import a module it names. Operator
    and objective must be known ones and, given ``tasks``, its tasks among them."""
    from spawn.agents import AGENTS
    from spawn.life.objectives import OBJECTIVES
    from spawn.life.operators import OPERATORS
    from spawn.life.spec import AgentSpec

    d = _dict(d, "spec")
    fields = {f.name for f in dataclasses.fields(AgentSpec)}
    if set(d) not in (fields, fields - {"dropped_rules"}) or len(d) != len(set(d)):
        raise _Bad("spec: unexpected fields")
    w = f"spec {str(d.get('id'))[:40]!r}"
    kind = d["agent_kind"]
    if kind not in AGENTS and kind not in set(kinds):
        raise _Bad(f"{w}: agent kind {str(kind)[:60]!r} is neither built in nor the config's")
    if d["operator"] is not None and d["operator"] not in OPERATORS:
        raise _Bad(f"{w}: unknown operator {str(d['operator'])[:40]!r}")
    if d["objective"] not in OBJECTIVES:
        raise _Bad(f"{w}: unknown objective {str(d['objective'])[:40]!r}")
    known = None if tasks is None else set(tasks)
    if known is not None and not (type(d["tasks"]) is list and all(t in known for t in d["tasks"])):
        raise _Bad(f"{w}: tasks that are not environments of the config")
    if known is not None and not (type(d["tools"]) is dict and all(t in known for t in d["tools"])):
        raise _Bad(f"{w}: tools for tasks that are not environments of the config")
    hyper = {k: _num(v, f"{w}.hyper") for k, v in _dict(d["hyper"], f"{w}.hyper").items()}
    tools = {
        _str(t, f"{w}.tools"): tuple(
            tuple(_int(a, f"{w}.tools") for a in _list(tool, f"{w}.tools")) for tool in _list(v, f"{w}.tools")
        )
        for t, v in _dict(d["tools"], f"{w}.tools").items()
    }
    params = d["params"]
    if params is not None:
        _dict(params, f"{w}.params")
    dropped = {
        _str(t, f"{w}.dropped_rules"): tuple(_str(r, f"{w}.dropped_rules") for r in _list(v, f"{w}.dropped_rules"))
        for t, v in _dict(d.get("dropped_rules", {}), f"{w}.dropped_rules").items()
    }
    if known is not None and not all(t in known for t in dropped):
        raise _Bad(f"{w}: dropped rules for tasks that are not environments of the config")
    return AgentSpec(
        **{k: read(d[k], f"{w}.{k}") for k, read in _SPEC_SCALARS.items()},
        hyper=hyper,
        tasks=tuple(_str(t, f"{w}.tasks") for t in _list(d["tasks"], f"{w}.tasks")),
        tools=tools,
        params=params,
        dropped_rules=dropped,
    )


#: The fields of a learning-curve row (:class:`~spawn.life.spec.CurveRow`) and how each is read back.
_CURVE_FIELDS: dict[str, Any] = {
    "round": _int,
    "task": _str,
    "steps": _int,
    "ret": _opt_num,
    "cost": _num,
    "violations": _num,
    "lagrange": _num,
    "epsilon": _opt_num,
}


def encode_record(rec: Any) -> dict[str, Any]:
    """An :class:`~spawn.life.spec.AgentRecord` as JSON data (its curve: one list of fields a round)."""
    where = f"agent {rec.id}"
    attributes = plain_data(dict(rec.attributes), f"{where}: attributes")
    curve = [plain_data(list(row), f"{where}: curve row {i}") for i, row in enumerate(rec.curve)]
    return {**{k: getattr(rec, k) for k in _RECORD_SCALARS}, "attributes": attributes, "curve": curve}


def _decode_curve_row(v: Any, where: str) -> Any:
    from spawn.life.spec import CurveRow

    row = _list(v, where)
    if len(row) != len(_CURVE_FIELDS):
        raise _Bad(f"{where}: expected {len(_CURVE_FIELDS)} fields")
    return CurveRow(*(read(x, f"{where}.{k}") for (k, read), x in zip(_CURVE_FIELDS.items(), row, strict=True)))


def decode_record(d: Any) -> Any:
    from spawn.life.spec import AgentRecord

    d = _dict(d, "record")
    if sorted(d) != sorted([*_RECORD_SCALARS, "attributes", "curve"]):
        raise _Bad("record: unexpected fields")
    w = f"record {d.get('id')!r}"
    scalars = {k: read(d[k], f"{w}.{k}") for k, read in _RECORD_SCALARS.items()}
    curve = tuple(_decode_curve_row(r, f"{w}.curve[{i}]") for i, r in enumerate(_list(d["curve"], f"{w}.curve")))
    return AgentRecord(**scalars, attributes=_dict(d["attributes"], f"{w}.attributes"), curve=curve)


def encode_best(best: Mapping[str, Iterable[tuple[float, tuple[int, ...]]]] | None) -> Any:
    if best is None:
        return None
    return {t: [[float(r), list(actions)] for r, actions in episodes] for t, episodes in best.items()}


def decode_best(d: Any) -> dict[str, tuple[tuple[float, tuple[int, ...]], ...]] | None:
    if d is None:
        return None
    out = {}
    for t, episodes in _dict(d, "best").items():
        items = []
        for ep in _list(episodes, "best"):
            r, actions = _list(ep, "best")
            items.append((float(_num(r, "best")), tuple(_int(a, "best") for a in _list(actions, "best"))))
        out[_str(t, "best")] = tuple(items)
    return out


def encode(value: Any, where: str) -> Any:
    """Run an encoder, turning what cannot be held into a :class:`CheckpointError`."""
    try:
        return value()
    except _Bad as exc:
        raise CheckpointError(f"cannot checkpoint {where}: {exc}") from None


def bad_entry(out: Path, exc: Exception) -> CheckpointError:
    """The error for a checkpoint entry that does not decode (a crafted or damaged checkpoint)."""
    detail = str(exc) if isinstance(exc, _Bad) else type(exc).__name__
    return CheckpointError(f"{out / CHECKPOINT}: malformed checkpoint entry ({detail})")
