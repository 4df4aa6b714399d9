"""The BF reference machine of Legg and Veness's AIQ: programs as environments, their sampler and classes."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from envs.constitution import Constitution, ForbiddenAction
from envs.errors import InvalidParameterError

__all__ = [
    "DEFAULT_PROGRAM",
    "INSTRUCTIONS",
    "LENGTH_STRATA",
    "MAX_STEPS",
    "STRATA",
    "BFEnv",
    "BFMachine",
    "bf_constitution",
    "classify_program",
    "compile_program",
    "exact_cycle",
    "program_complexity_bits",
    "random_program",
    "sample_program",
    "simplify_program",
    "validate_program",
]

#: The ten instruction characters, in the sampler's order.
INSTRUCTIONS = "<>+-,.[]#%"
#: Instructions one cycle may execute; a cycle that reaches it is *overtime*.
MAX_STEPS = 1000
WORK_CELLS = 100_000
INPUT_CELLS = 25
#: Strata 0 (passive) .. 20; -1 marks an overtime program.
STRATA = 21
#: Upper bounds of program length for the "other" strata 11..19 (20: everything longer).
LENGTH_STRATA = (8, 10, 13, 16, 20, 24, 31, 43, 60)
#: The program ``gym.make`` runs without arguments: reward and observation are both the action.
DEFAULT_PROGRAM = ",..#"
#: Deepest loop nesting compiled to Python (its nested-block limit is 20); deeper programs are interpreted.
_MAX_COMPILED_DEPTH = 16

Cycle = Callable[[bytearray, int, list[int], int, int, Callable[[], int]], tuple[int, int, int, int]]


def validate_program(program: str) -> str:
    """Return ``program`` if it is made of the ten instructions with matched brackets, else raise.

    Examples
    --------
    >>> validate_program(",[.]#")
    ',[.]#'
    >>> validate_program("[[.]")
    Traceback (most recent call last):
    ...
    envs.errors.InvalidParameterError: program '[[.]': 1 unmatched '['; brackets must match
    """
    if not isinstance(program, str):
        raise InvalidParameterError(f"program = {program!r}; expected a string of {INSTRUCTIONS!r}")
    bad = sorted(set(program) - set(INSTRUCTIONS))
    if bad:
        raise InvalidParameterError(
            f"program {program!r}: characters {bad} are not BF instructions {INSTRUCTIONS!r}"
        )
    depth = 0
    for c in program:
        depth += (c == "[") - (c == "]")
        if depth < 0:
            raise InvalidParameterError(f"program {program!r}: an unmatched ']'; brackets must match")
    if depth:
        raise InvalidParameterError(f"program {program!r}: {depth} unmatched '['; brackets must match")
    return program


def _jumps(program: str) -> list[int]:
    jump = [0] * len(program)
    stack: list[int] = []
    for i, c in enumerate(program):
        if c == "[":
            stack.append(i)
        elif c == "]":
            j = stack.pop()
            jump[i], jump[j] = j, i
    return jump


def exact_cycle(
    program: str,
    n: int,
    t: bytearray,
    p: int,
    h: list[int],
    o0: int,
    o1: int,
    rand: Callable[[], int],
    jump: list[int] | None = None,
    max_steps: int = MAX_STEPS,
) -> tuple[int, int, int, int]:
    """One cycle exactly as the reference's ``compute``: an instruction-by-instruction interpreter.

    Returns ``(work_ptr, reward_symbol, observation_symbol, steps)``; ``steps == max_steps`` is overtime.
    The slow, obviously faithful path: :func:`compile_program` must agree with it.

    Examples
    --------
    >>> t = bytearray([2]) * 10
    >>> exact_cycle(",..#", 5, t, 0, [4] + [2] * 24, 2, 2, lambda: 0)
    (0, 4, 4, 3)
    """
    if jump is None:
        jump = _jumps(program)
    mid = (n - 1) // 2
    size = len(t)
    length = len(program)
    step = op = ip = pc = 0
    while pc < length:
        if step >= max_steps or op == 2:
            break
        step += 1
        c = program[pc]
        if c == ">":
            p += 1
            if p >= size:
                p = 0
        elif c == "<":
            p -= 1
            if p < -size:
                p = 0
        elif c == "+":
            t[p] = (t[p] + 1) % n
        elif c == "-":
            t[p] = (t[p] - 1) % n
        elif c == ".":
            if op == 0:
                o0 = t[p]
            else:
                o1 = t[p]
            op += 1
        elif c == ",":
            if ip >= INPUT_CELLS - 1:
                t[p] = mid
            else:
                t[p] = h[ip]
                ip += 1
        elif c == "%":
            t[p] = rand()
        elif c == "[":
            if t[p] == mid:
                pc = jump[pc]
        elif c == "]":
            if t[p] != mid:
                pc = jump[pc]
        elif c == "#":
            break
        pc += 1
    return p, o0, o1, step


def _loop_depth(program: str) -> int:
    depth = best = 0
    for c in program:
        depth += (c == "[") - (c == "]")
        best = max(best, depth)
    return best


def _source(program: str, n: int, max_steps: int) -> str:
    mid = (n - 1) // 2
    lines = ["def cycle(t, p, h, o0, o1, R):", " s = 0", " op = 0", " ip = 0"]
    indent = 1
    pending = 0

    def emit(line: str) -> None:
        lines.append(" " * indent + line)

    def flush() -> None:
        nonlocal pending
        if pending:
            emit(f"s += {pending}")
            pending = 0

    i, length = 0, len(program)
    while i < length:
        c = program[i]
        if c in "+-<>":
            j = i
            while j < length and program[j] == c:
                j += 1
            k = j - i
            pending += k
            if c == "+" and k % n:
                emit(f"t[p] = (t[p] + {k % n}) % {n}")
            elif c == "-" and k % n:
                emit(f"t[p] = (t[p] + {n - k % n}) % {n}")
            elif c == ">":
                emit(f"p += {k}")
                emit(f"if p >= {WORK_CELLS}: p -= {WORK_CELLS}")
            elif c == "<":
                emit(f"p -= {k}")
                emit(f"if p < -{WORK_CELLS}: p += {WORK_CELLS + 1}")
            i = j
            continue
        pending += 1
        if c == ",":
            emit(f"if ip < {INPUT_CELLS - 1}:")
            emit(" t[p] = h[ip]")
            emit(" ip += 1")
            emit("else:")
            emit(f" t[p] = {mid}")
        elif c == ".":
            flush()
            emit("if op:")
            emit(" return p, o0, t[p], s")
            emit("o0 = t[p]")
            emit("op = 1")
        elif c == "%":
            emit("t[p] = R()")
        elif c == "[":
            flush()
            emit(f"while t[p] != {mid}:")
            indent += 1
            emit(f"if s >= {max_steps}: return p, o0, o1, s")
        elif c == "]":
            flush()
            indent -= 1
        elif c == "#":
            flush()
            emit("return p, o0, o1, s")
        i += 1
    flush()
    emit("return p, o0, o1, s")
    return "\n".join(lines) + "\n"


_COMPILED: dict[tuple[str, int, int], Cycle] = {}


def compile_program(program: str, n: int = 5, max_steps: int = MAX_STEPS) -> Cycle:
    """Compile a program into a Python function running one cycle: ``cycle(t, p, h, o0, o1, R)``.

    Runs of ``+ - < >`` become one statement, loops become ``while`` loops, and steps are counted per
    straight-line block and checked at every loop iteration. It returns ``(p, o0, o1, steps)``; the
    step count is exact when below ``max_steps``, and any count ``>= max_steps`` means overtime (the
    reference stops at exactly ``max_steps``; the machine state after an overtime cycle differs, which
    the estimator never sees because it discards such runs). Programs nested deeper than 16 loops fall
    back to :func:`exact_cycle`. Functions are cached per process.

    Examples
    --------
    >>> cycle = compile_program(",.>,.#")
    >>> t = bytearray([2]) * 10
    >>> cycle(t, 0, [4, 1] + [2] * 23, 2, 2, lambda: 0)
    (1, 4, 1, 5)
    """
    key = (program, n, max_steps)
    fn = _COMPILED.get(key)
    if fn is not None:
        return fn
    validate_program(program)
    if _loop_depth(program) > _MAX_COMPILED_DEPTH:
        jump = _jumps(program)

        def fn(
            t: bytearray, p: int, h: list[int], o0: int, o1: int, R: Callable[[], int]
        ) -> tuple[int, int, int, int]:
            return exact_cycle(program, n, t, p, h, o0, o1, R, jump, max_steps)

    else:
        namespace: dict[str, Any] = {}
        exec(compile(_source(program, n, max_steps), f"<bf {program[:40]}>", "exec"), namespace)
        fn = namespace["cycle"]
    if len(_COMPILED) > 50_000:
        _COMPILED.clear()
    _COMPILED[key] = fn
    return fn


class _Symbols:
    """Uniform random symbols for ``%``, drawn from a numpy Generator in blocks."""

    __slots__ = ("buf", "i", "n", "rng")

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        self.rng, self.n, self.i = rng, n, 0
        self.buf: list[int] = []

    def __call__(self) -> int:
        i = self.i
        if i >= len(self.buf):
            self.buf = self.rng.integers(self.n, size=256).tolist()
            i = 0
        self.i = i + 1
        return int(self.buf[i])


class BFMachine:
    """The BF(n) reference machine running one program, cycle by cycle (reward and observation cells: 1).

    ``act(action)`` returns ``(reward, observation, steps)`` as the reference's ``act``: the reward is
    ``100 (r - m) / m`` for the reward symbol ``r`` and ``m = (n - 1) / 2``; ``steps >= MAX_STEPS``
    means the cycle ran overtime. ``rng`` drives ``%``.

    Examples
    --------
    >>> m = BFMachine(",.>,.#")
    >>> m.reset()
    (0.0, 2)
    >>> m.act(4)[:2], m.act(0)[:2]
    ((100.0, 2), (-100.0, 4))
    """

    __slots__ = ("cycle", "h", "mid", "n", "o0", "o1", "p", "program", "rand", "rewards", "t")

    def __init__(
        self, program: str, n: int = 5, rng: np.random.Generator | None = None, exact: bool = False
    ) -> None:
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 2 <= n <= 255:
            raise InvalidParameterError(f"n = {n!r}; accepted: an integer in [2, 255] (alphabet size)")
        self.n = int(n)
        self.program = validate_program(program)
        self.mid = (self.n - 1) // 2
        mid_point = (self.n - 1) / 2.0
        self.rewards = [100.0 * (s - mid_point) / mid_point for s in range(self.n)]
        self.rand = _Symbols(rng if rng is not None else np.random.default_rng(0), self.n)
        if exact:
            jump = _jumps(program)
            n_ = self.n

            def cycle(
                t: bytearray, p: int, h: list[int], o0: int, o1: int, R: Callable[[], int]
            ) -> tuple[int, int, int, int]:
                return exact_cycle(program, n_, t, p, h, o0, o1, R, jump)

            self.cycle: Cycle = cycle
        else:
            self.cycle = compile_program(program, self.n)
        self.reset()

    def reset(self) -> tuple[float, int]:
        """Fresh tapes; returns the initial ``(reward, observation) = (0.0, mid)``."""
        mid = self.mid
        self.t = bytearray([mid]) * WORK_CELLS
        self.p = 0
        self.h = [mid] * INPUT_CELLS
        self.o0 = self.o1 = mid
        return 0.0, mid

    def act(self, action: int) -> tuple[float, int, int]:
        """Run one cycle on ``action``; returns ``(reward, observation, steps)``."""
        h = self.h
        h.pop()
        h.insert(0, action)
        self.p, self.o0, self.o1, steps = self.cycle(self.t, self.p, h, self.o0, self.o1, self.rand)
        return self.rewards[self.o0], self.o1, steps


# ---------------------------------------------------------------------- sampler
def simplify_program(program: str) -> str:
    """The reference's single pass: remove ``+-``, ``-+``, ``<>``, ``><``, ``[]``, once each, in order.

    Examples
    --------
    >>> simplify_program("++--[]<>.#"), simplify_program("[[]]#")
    ('+-.#', '[]#')
    """
    for pair in ("+-", "-+", "<>", "><", "[]"):
        program = program.replace(pair, "")
    return program


def random_program(rng: np.random.Generator) -> str:
    """Draw a raw program as the reference's ``random_program`` (before simplification).

    Instructions are uniform over the ten characters, ``#`` counting as ``]``; the first unmatched
    ``]`` becomes the final ``#``.

    Examples
    --------
    >>> p = random_program(np.random.default_rng(1))
    >>> p.endswith("#") and p.count("#") == 1 and validate_program(p) == p
    True
    """
    out: list[str] = []
    depth = 0
    while True:
        for k in rng.integers(10, size=32).tolist():
            c = INSTRUCTIONS[k]
            if c == "#" or c == "]":
                depth -= 1
                if depth < 0:
                    out.append("#")
                    return "".join(out)
                out.append("]")
            else:
                if c == "[":
                    depth += 1
                out.append(c)


def program_complexity_bits(program: str) -> float:
    """``-log2`` of the sampler's probability of drawing ``program`` verbatim, in bits.

    Each ``]`` and the final ``#`` costs ``log2 5`` bits (two of the ten draws give them), every other
    instruction ``log2 10``. Several raw draws simplify to the same program, so this is the probability
    of one of its descriptions: an upper bound on ``-log2`` of its total probability, as
    ``2**-K`` is Legg and Hutter's weight of one shortest description.

    Examples
    --------
    >>> round(program_complexity_bits(",..#"), 3)
    12.288
    """
    validate_program(program)
    cheap = program.count("]") + program.count("#")
    return cheap * math.log2(5) + (len(program) - cheap) * math.log2(10)


def _length_stratum(length: int) -> int:
    for k, bound in enumerate(LENGTH_STRATA):
        if length < bound:
            return 11 + k
    return 20


def classify_program(
    program: str,
    rng: np.random.Generator,
    n: int = 5,
    trials: int = 5,
    cycles: int = 200,
) -> int:
    """The reference's ``test_class``: -1 overtime, 0 passive, 1..10 a simple class, 11..20 by length.

    Five trials of 200 cycles under uniformly random actions, on fresh tapes. A program lacking ``.``
    or ``,`` is passive without running; so is one whose five reward sequences agree from cycle 4 on.
    If every trial finds the same simple class (tested on cycles after the 6th: copy, 1-, 2-, 3-back,
    inc, dec, 1-back inc and dec, copy and 1-back except the middle symbol), that is the stratum.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> [classify_program(p, rng) for p in (",..#", ".#", ",.>,.#", ",.+[]#", ",+..#")]
    [1, 0, 1, -1, 5]
    """
    if "." not in program or "," not in program:
        return 0
    machine = BFMachine(program, n, rng)
    cycle, mid = machine.cycle, machine.mid
    rewards: list[list[int]] = []
    classes: list[int] = []
    for _ in range(trials):
        machine.reset()
        t, h, rand = machine.t, machine.h, machine.rand
        p, o0, o1 = 0, mid, mid
        acts = rng.integers(n, size=cycles).tolist()
        rs: list[int] = []
        for a in acts:
            h.pop()
            h.insert(0, a)
            p, o0, o1, steps = cycle(t, p, h, o0, o1, rand)
            if steps >= MAX_STEPS:
                return -1
            rs.append(o0)
        rewards.append(rs)
        classes.append(_trial_class(rs, acts, n, mid))
    tail = rewards[0][4:]
    if all(r[4:] == tail for r in rewards[1:]):
        return 0
    if classes[0] != 99 and all(c == classes[0] for c in classes):
        return classes[0]
    return _length_stratum(len(program))


def _trial_class(rs: list[int], acts: list[int], n: int, mid: int) -> int:
    r = np.asarray(rs[6:])
    a = np.asarray(acts[6:])
    oa = np.asarray(acts[5:-1])
    ooa = np.asarray(acts[4:-2])
    oooa = np.asarray(acts[3:-3])
    tests = (
        r == a,
        r == oa,
        r == ooa,
        r == oooa,
        r == (a + 1) % n,
        r == (a - 1) % n,
        r == (oa + 1) % n,
        r == (oa - 1) % n,
        (r == a) | (a == mid),
        (r == oa) | (oa == mid),
    )
    for k, ok in enumerate(tests):
        if ok.all():
            return k + 1
    return 99


def sample_program(rng: np.random.Generator, n: int = 5) -> tuple[int, str]:
    """Draw, simplify and classify one program: ``(stratum, program)``; stratum -1 or 0 if not active.

    Examples
    --------
    >>> s, p = sample_program(np.random.default_rng(3))
    >>> -1 <= s <= 20 and p.endswith("#")
    True
    """
    program = simplify_program(random_program(rng))
    return classify_program(program, rng, n), program


# ---------------------------------------------------------------------- gymnasium environment
def _forbid_top_after_top(obs: Any, action: int, n: int = 5) -> bool:
    return int(obs) == n - 1 and int(action) == n - 1


class _TopAfterTop:
    """Picklable predicate: forbids action ``n-1`` when the observation just emitted is ``n-1``."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, obs: Any, action: int) -> bool:
        return _forbid_top_after_top(obs, action, self.n)


def bf_constitution(n: int = 5) -> Constitution:
    """A constitution for BF(n): right after observation ``n-1`` is emitted, action ``n-1`` is forbidden.

    Its description length is that of its ``n x n`` mask with one cell set (about 13 bits for
    BF(5), close to the ~12 bits of the shortest programs): see :class:`~envs.constitution.Rule`.

    Examples
    --------
    >>> c = bf_constitution()
    >>> c.allowed_actions(4).tolist(), c.allowed_actions(2).tolist()
    ([True, True, True, True, False], [True, True, True, True, True])
    """
    return Constitution(
        "bf-no-top-after-top",
        n,
        (
            ForbiddenAction(
                "no-top-after-top",
                _TopAfterTop(n),
                f"action {n - 1} is forbidden in a cycle right after observation {n - 1}",
            ),
        ),
        observation_space=gym.spaces.Discrete(n),
    )


class BFEnv(gym.Env[np.int64, np.int64]):
    """A BF(n) program as a gymnasium environment: ``episode_length`` cycles of the reference machine.

    Actions and observations are the ``n`` symbols; the reward is the reference's, in [-100, 100]. An
    episode always lasts ``episode_length`` cycles; a cycle that runs overtime (the reference then
    discards the whole run) is reported by ``info["overtime"]`` and the episode goes on. ``reset``'s
    seed drives the ``%`` instruction. ``complexity`` is :func:`program_complexity_bits`.

    Examples
    --------
    >>> env = BFEnv()
    >>> env.reset(seed=0)
    (np.int64(2), {'steps': 0, 'overtime': False})
    >>> env.step(3)[:2]
    (np.int64(3), 50.0)
    >>> round(env.complexity, 3)
    12.288
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 - gymnasium's convention; copied per instance
        "render_modes": [],
        "has_success": False,
        "has_hidden": False,
        "return_range": None,
    }

    def __init__(
        self,
        program: str = DEFAULT_PROGRAM,
        n_symbols: int = 5,
        episode_length: int = 1000,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise InvalidParameterError(f"render_mode = {render_mode!r}; BFEnv renders nothing (None)")
        if (
            isinstance(episode_length, bool)
            or not isinstance(episode_length, int | np.integer)
            or episode_length < 1
        ):
            raise InvalidParameterError(f"episode_length = {episode_length!r}; accepted: an integer >= 1")
        self.render_mode = render_mode
        self.episode_length = int(episode_length)
        self.machine = BFMachine(program, n_symbols, np.random.default_rng(0))
        self.program = program
        self.n_symbols = self.machine.n
        self.complexity = program_complexity_bits(program)
        self.complexity_bits = self.complexity  # what envs.complexity_bits reads
        self.metadata = {
            **type(self).metadata,
            "return_range": (-100.0 * self.episode_length, 100.0 * self.episode_length),
        }
        self.observation_space = gym.spaces.Discrete(self.n_symbols)
        self.action_space = gym.spaces.Discrete(self.n_symbols)
        self._t = 0

    def canonical_description(self) -> dict[str, Any]:
        """The parameters that define the environment (for :func:`envs.describe.canonical_description`)."""
        return {"program": self.program, "n_symbols": self.n_symbols, "episode_length": self.episode_length}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.int64, dict[str, Any]]:
        super().reset(seed=seed)
        self.machine.rand = _Symbols(self.np_random, self.n_symbols)
        _, obs = self.machine.reset()
        self._t = 0
        return np.int64(obs), {"steps": 0, "overtime": False}

    def step(self, action: Any) -> tuple[np.int64, SupportsFloat, bool, bool, dict[str, Any]]:
        a = int(action)
        if not 0 <= a < self.n_symbols:
            raise InvalidParameterError(
                f"action = {action!r}; accepted: an integer in [0, {self.n_symbols - 1}]"
            )
        m = self.machine
        before = (bytes(m.t), m.p, list(m.h), m.o0, m.o1, m.rand.buf, m.rand.i)
        reward, obs, steps = m.act(a)
        overtime = steps >= MAX_STEPS
        if overtime:  # replay the cycle exactly, so that the machine continues as the reference's would
            m.t[:] = before[0]
            m.p, m.o0, m.o1, m.rand.buf, m.rand.i = before[1], before[3], before[4], before[5], before[6]
            m.h[:] = before[2]
            m.h.pop()
            m.h.insert(0, a)
            m.p, m.o0, m.o1, steps = exact_cycle(m.program, m.n, m.t, m.p, m.h, m.o0, m.o1, m.rand)
            reward, obs = m.rewards[m.o0], m.o1
        self._t += 1
        truncated = self._t >= self.episode_length
        return np.int64(obs), float(reward), False, truncated, {"steps": int(steps), "overtime": overtime}
