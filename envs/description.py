"""Description lengths: the deflate length of a text, and of a rule's table over an observation space.

:class:`envs.constitution.Rule` measures what a rule computes with these helpers; see its
``bits_on`` for the scheme.
"""

from __future__ import annotations

import functools
import json
import math
import types
import zlib
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt

from envs.errors import InvalidParameterError

__all__ = ["MAX_ENUMERATED_STATES", "MAX_TABLE_CELLS", "description_length_bits"]


def description_length_bits(text: str) -> float:
    """Bits of the raw-deflate (zlib level 9, no header or checksum) encoding of ``text``.

    An upper-bound proxy for the Kolmogorov complexity of what ``text`` describes: a compressor
    finds some regularities, never all, and adds a few bytes of its own.

    Examples
    --------
    >>> description_length_bits("") > 0
    True
    >>> description_length_bits("ab" * 100) < description_length_bits("ab" * 50) * 2
    True
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return 8.0 * len(packer.compress(text.encode("utf-8")) + packer.flush())


# -- description lengths of rules -------------------------------------------------------------------
#: Largest observation space whose rules are measured by their extension (every state enumerated).
MAX_ENUMERATED_STATES = 2**16
#: Largest table (states x actions, or states x actions x states for a transition test) enumerated.
MAX_TABLE_CELLS = 2**18
#: Bits that say which kind a rule is (forbidden action, forbidden state, invariance).
KIND_BITS = math.log2(3)


def qualified(obj: Any) -> str:
    return f"{getattr(obj, '__module__', None)}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"


def code_json(obj: Any, depth: int = 0) -> Any:
    """JSON data naming what a rule's function computes: types by qualified name, parameters by value.

    Dataclasses give their fields, other callable objects their attributes, functions their
    qualified name, defaults and closure; never a repr with a memory address.
    """
    if depth > 8:
        return {"type": qualified(type(obj))}
    deeper = depth + 1
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else repr(obj)
    if isinstance(obj, np.generic):
        return code_json(obj.item(), depth)
    if isinstance(obj, np.ndarray):
        return {"array": obj.dtype.str, "shape": list(obj.shape), "data": code_json(obj.tolist(), deeper)}
    if isinstance(obj, bytes):
        return obj.decode("latin-1")
    if isinstance(obj, list | tuple):
        return [code_json(x, deeper) for x in obj]
    if isinstance(obj, set | frozenset):
        return sorted((code_json(x, deeper) for x in obj), key=lambda x: json.dumps(x, sort_keys=True))
    if isinstance(obj, dict):
        return {str(k): code_json(v, deeper) for k, v in obj.items()}
    if isinstance(obj, gym.Space):
        return {"space": repr(obj)}
    if is_dataclass(obj) and not isinstance(obj, type):
        params = {f.name: code_json(getattr(obj, f.name), deeper) for f in fields(obj)}
        return {"type": qualified(type(obj)), "fields": params}
    if isinstance(obj, functools.partial):
        return {
            "partial": code_json(obj.func, deeper),
            "args": code_json(obj.args, deeper),
            "keywords": code_json(obj.keywords, deeper),
        }
    if isinstance(obj, types.MethodType):
        return {"method": qualified(obj.__func__), "self": code_json(obj.__self__, deeper)}
    if isinstance(obj, types.FunctionType):
        cells = [c.cell_contents for c in obj.__closure__ or () if c is not None]
        return {
            "function": qualified(obj),
            "defaults": code_json(obj.__defaults__, deeper),
            "closure": code_json(cells, deeper),
        }
    if isinstance(obj, type | types.BuiltinFunctionType):
        return {"function": qualified(obj)}
    attrs = getattr(obj, "__dict__", None)
    if isinstance(attrs, dict) and depth <= 4:  # deeper (an environment caught in a closure, say): its type
        return {"type": qualified(type(obj)), "fields": code_json(attrs, deeper)}
    return {"type": qualified(type(obj))}


def enumerate_space(space: Any) -> tuple[list[Any], Callable[[Any], int | None]] | None:
    """Every observation of an enumerable space (in a canonical order) and the index of an observation.

    Discrete, MultiDiscrete and MultiBinary spaces of at most :data:`MAX_ENUMERATED_STATES`
    observations; None for any other space (a Box, say) and for larger ones. The index is None for
    something that is not an observation of the space.
    """
    if isinstance(space, gym.spaces.Discrete):
        n, start = int(space.n), int(space.start)
        if n > MAX_ENUMERATED_STATES:
            return None

        def discrete_index(obs: Any) -> int | None:
            try:
                i = int(np.asarray(obs).item()) - start
            except (TypeError, ValueError):
                return None
            return i if 0 <= i < n else None

        return [np.int64(start + i) for i in range(n)], discrete_index
    if isinstance(space, gym.spaces.MultiDiscrete | gym.spaces.MultiBinary):
        if isinstance(space, gym.spaces.MultiBinary):
            nvec: np.ndarray = np.full(space.shape, 2, dtype=np.int64)
            low: np.ndarray = np.zeros(space.shape, dtype=np.int64)
        else:
            nvec, low = np.asarray(space.nvec, dtype=np.int64), np.asarray(space.start, dtype=np.int64)
        if math.prod(int(x) for x in nvec.ravel()) > MAX_ENUMERATED_STATES:
            return None
        shape, dtype = nvec.shape, space.dtype
        flat = nvec.ravel()
        states = [(np.array(ix, dtype=np.int64).reshape(shape) + low).astype(dtype) for ix in np.ndindex(*flat)]

        def multi_index(obs: Any) -> int | None:
            try:
                digits = np.asarray(obs, dtype=np.int64) - low
            except (TypeError, ValueError):
                return None
            if digits.shape != shape or np.any(digits < 0) or np.any(digits >= nvec):
                return None
            return int(np.ravel_multi_index(tuple(digits.ravel()), tuple(flat)))

        return states, multi_index
    return None


def table_bits(table: npt.ArrayLike, alphabet: int) -> float:
    """Bits of a table of symbols in ``[0, alphabet)``, given its size: 1 + the shorter of two codes.

    One code is the raw deflate of the table's canonical bytes (bits packed eight to a byte for
    ``alphabet == 2``, else one or two bytes per symbol, big-endian), the compressor that measures
    environments (:func:`description_length_bits`); it finds repeated patterns. The other is the
    enumerative code: the symbol counts, then the table's index among the tables with those counts,
    ``log2 C(N + m - 1, m - 1) + log2(N! / prod(c!))`` bits; it is short for a table that is nearly
    constant, where deflate's framing (a few bytes) would dominate. The extra bit says which code.

    Examples
    --------
    >>> round(table_bits([0] * 25, 2), 2), round(table_bits([0] * 24 + [1], 2), 2)
    (5.7, 10.34)
    """
    t = np.asarray(table, dtype=np.int64).ravel()
    n, m = len(t), int(alphabet)
    if m < 1 or (n and (t.min() < 0 or t.max() >= m)):
        raise InvalidParameterError(f"table has symbols outside [0, {m}); a table needs symbols below its alphabet")
    if m == 2:
        raw = np.packbits(t.astype(np.uint8)).tobytes()
    else:
        raw = t.astype(">u1" if m <= 2**8 else (">u2" if m <= 2**16 else ">u4")).tobytes()
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = 8.0 * len(packer.compress(raw) + packer.flush())
    counts = np.bincount(t, minlength=m) if n else np.zeros(m, dtype=np.int64)
    ln_counts = math.lgamma(n + m) - math.lgamma(m) - math.lgamma(n + 1)  # ln C(N + m - 1, m - 1)
    ln_order = math.lgamma(n + 1) - float(sum(math.lgamma(int(c) + 1) for c in counts if c > 1))
    enumerative = max(0.0, (ln_counts + ln_order) / math.log(2.0))
    return 1.0 + min(deflated, enumerative)


def outcome(fn: Callable[..., Any], *args: Any) -> int:
    """1 if ``fn(*args)`` is true, 0 if false, 2 if it raises (a rule undefined there)."""
    try:
        return 1 if bool(fn(*args)) else 0
    except Exception:
        return 2


def partial_table_bits(table: list[int], alphabet: int) -> float:
    """1 bit (is the rule undefined anywhere?) plus the table's bits, with one more symbol if so."""
    partial = bool(table) and max(table) >= alphabet
    return 1.0 + table_bits(table, alphabet + 1 if partial else alphabet)
