"""One grid engine for the safety gridworlds: art, moves, episodes, observations, rule predicates."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from envs.constitution import Constitution
from envs.errors import InvalidParameterError

__all__ = [
    "ACTION_NAMES",
    "DELTAS",
    "MAX_STEPS",
    "AgentOn",
    "GridCodec",
    "GridWorldEnv",
    "MovesOnto",
    "Pos",
    "check_choice",
    "find",
    "moved",
    "shortest_path",
]

#: Row and column offsets of the actions up (0), down (1), left (2) and right (3), as in the reference.
DELTAS: tuple[tuple[int, int], ...] = ((-1, 0), (1, 0), (0, -1), (0, 1))
ACTION_NAMES = ("up", "down", "left", "right")
#: The reference's episode limit: the 100th step ends every episode that has not ended before.
MAX_STEPS = 100

Pos = tuple[int, int]


def moved(pos: Pos, action: int) -> Pos:
    """The cell one step from ``pos`` in the direction of ``action``.

    Examples
    --------
    >>> moved((2, 3), 0), moved((2, 3), 3)
    ((1, 3), (2, 4))
    """
    dr, dc = DELTAS[int(action)]
    return (pos[0] + dr, pos[1] + dc)


def find(art: Sequence[str], chars: str) -> list[Pos]:
    """Cells of ``art`` holding any of ``chars``, in row-major order.

    Examples
    --------
    >>> find(["#A#", "#G#"], "G")
    [(1, 1)]
    """
    return [(r, c) for r, row in enumerate(art) for c, ch in enumerate(row) if ch in chars]


def shortest_path(art: Sequence[str], start: Pos, goal: Pos, walls: str = "#") -> int:
    """Fewest moves from ``start`` to ``goal`` through cells not in ``walls`` (breadth-first search).

    Examples
    --------
    >>> shortest_path(["#####", "#A#G#", "#   #", "#####"], (1, 1), (1, 3))
    4
    """
    seen = {start}
    queue: deque[tuple[Pos, int]] = deque([(start, 0)])
    while queue:
        pos, dist = queue.popleft()
        if pos == goal:
            return dist
        for action in range(4):
            nxt = moved(pos, action)
            inside = 0 <= nxt[0] < len(art) and 0 <= nxt[1] < len(art[nxt[0]])
            if inside and nxt not in seen and art[nxt[0]][nxt[1]] not in walls:
                seen.add(nxt)
                queue.append((nxt, dist + 1))
    raise InvalidParameterError(f"no path from {start} to {goal} in the map {list(art)}")


def check_choice(name: str, value: Any, accepted: Iterable[Any]) -> Any:
    """``value`` if it is one of ``accepted`` (compared by type and value), else an error naming both."""
    options = list(accepted)
    for option in options:
        if type(value) is type(option) and value == option:
            return value
        if isinstance(option, int) and isinstance(value, np.integer) and int(value) == option:
            return int(value)
    shown = ", ".join(repr(o) for o in options)
    raise InvalidParameterError(f"{name} = {value!r}; accepted: {shown}")


@dataclass(frozen=True)
class GridCodec:
    """Reads the agent's cell (and, discrete, the extra state digits) from either kind of observation.

    The discrete index is mixed radix: the agent's cell ``row * width + col`` first, then one digit per
    entry of ``radices``: ``index = (...(cell * radices[0] + extras[0]) * radices[1] + ...)``.

    Examples
    --------
    >>> codec = GridCodec(3, 4, (2,), discrete=True)
    >>> codec.n, codec.encode((1, 2), (1,)), codec.decode(13)
    (24, 13, ((1, 2), (1,)))
    """

    height: int
    width: int
    radices: tuple[int, ...] = ()
    discrete: bool = False
    agent_value: float = 2.0

    @property
    def n(self) -> int:
        """The number of discrete observations."""
        return self.height * self.width * math.prod(self.radices)

    def encode(self, pos: Pos, extras: Sequence[int] = ()) -> int:
        """The discrete index of the agent at ``pos`` with the extra digits ``extras``."""
        index = pos[0] * self.width + pos[1]
        for radix, digit in zip(self.radices, extras, strict=True):
            index = index * radix + int(digit)
        return index

    def decode(self, index: int) -> tuple[Pos, tuple[int, ...]]:
        """The agent's cell and the extra digits of a discrete index."""
        rest = int(index)
        digits = []
        for radix in reversed(self.radices):
            rest, digit = divmod(rest, radix)
            digits.append(digit)
        row, col = divmod(rest, self.width)
        return (row, col), tuple(reversed(digits))

    def agent(self, obs: Any) -> Pos | None:
        """The agent's cell, or None when the board does not show the agent."""
        if self.discrete:
            return self.decode(int(obs))[0]
        where = np.argwhere(np.asarray(obs) == self.agent_value)
        return (int(where[0][0]), int(where[0][1])) if len(where) else None

    def extras(self, obs: Any) -> tuple[int, ...]:
        """The extra digits of a discrete observation."""
        return self.decode(int(obs))[1]


class GridWorldEnv(gym.Env[Any, Any]):
    """Shared engine of the safety gridworlds: a board, an agent, at most 100 steps, a hidden reward.

    A game supplies its art, ``value_mapping`` (board character to observation value), the extra
    digits of its discrete observation, and three methods: ``_new_episode`` (state at reset, drawing
    randomness from ``self.np_random`` only), ``_play(action)`` returning ``(reward, hidden_reward,
    terminated)`` in the reference's update order, and ``_paint(board)`` drawing the moving things
    over the static background. The engine adds the step limit (the 100th step truncates), the running
    return and hidden return, and the ``info`` keys: ``hidden_reward`` on every step; on the last step
    ``hidden_performance`` (the reference's episode performance), ``episode_return`` and, for games
    with a goal, ``success``.

    Observations: the board as the reference's values (``Box`` of shape (rows, cols), float32), or
    with ``discrete=True`` one ``Discrete`` index encoding the agent's cell and the game's extra state
    (see :class:`GridCodec` and each game's ``decode``).
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 - gymnasium's convention; copied per instance
        "render_modes": ["ansi"],
        "render_fps": 4,
        "has_success": False,
        "has_hidden": True,
        "return_range": None,
    }
    #: The reference's name of the game (its factory name).
    game: ClassVar[str] = "gridworld"
    value_mapping: ClassVar[dict[str, float]] = {}
    #: Characters that move or change, painted by ``_paint`` rather than kept in the background.
    dynamic_chars: ClassVar[str] = "A"
    #: Draw the agent over everything else (False where the reference draws something over it).
    agent_on_top: ClassVar[bool] = True
    #: The performance is the hidden return (True) or, as in the reference's default, the return.
    performance_is_hidden: ClassVar[bool] = True
    max_steps: int = MAX_STEPS
    #: Every episode's length when all last ``max_steps`` (games without a terminal state), else None.
    episode_length: ClassVar[int | None] = None
    #: Games whose whole state is the agent's cell say so with the attributes ``_new_episode`` and
    #: ``_play`` set besides ``agent`` and ``success`` (a tuple, maybe empty): such a game draws
    #: nothing and its ``_play`` depends on the cell and the action alone, so that a simulator may
    #: step it from a table of its transitions (the cohort engine does). ``None``: the game has more
    #: state (boxes, a supervisor, an interruption, a layout) or draws.
    cell_state: ClassVar[tuple[str, ...] | None] = None

    def __init__(
        self,
        art: Sequence[str],
        radices: Sequence[int] = (),
        *,
        discrete: bool = False,
        render_mode: str | None = None,
        return_range: tuple[float, float],
    ) -> None:
        if not isinstance(discrete, bool | np.bool_):
            raise InvalidParameterError(f"discrete = {discrete!r}; accepted: True or False")
        if render_mode not in (None, "ansi"):
            raise InvalidParameterError(f"render_mode = {render_mode!r}; accepted: None or 'ansi'")
        self.discrete = bool(discrete)
        self.render_mode = render_mode
        self._set_art(art)
        self.height, self.width = len(art), len(art[0])
        self.codec = GridCodec(
            self.height, self.width, tuple(int(r) for r in radices), self.discrete, self.value_mapping["A"]
        )
        self.action_space = gym.spaces.Discrete(4)
        if self.discrete:
            self.observation_space: gym.Space[Any] = gym.spaces.Discrete(self.codec.n)
        else:
            high = float(max(self.value_mapping.values()))
            self.observation_space = gym.spaces.Box(
                0.0, high, shape=(self.height, self.width), dtype=np.float32
            )
        self._lut = np.zeros(128, dtype=np.float32)
        for ch, value in self.value_mapping.items():
            self._lut[ord(ch)] = value
        self.metadata = {
            **type(self).metadata,
            "return_range": (float(return_range[0]), float(return_range[1])),
        }
        self.agent: Pos = find(art, "A")[0]
        self.t = 0
        self.episode_return = 0.0
        self.hidden_return = 0.0
        self.success = False
        self.episode_performances: list[float] = []
        self._done = True

    # -- art --------------------------------------------------------------------------------------
    def _set_art(self, art: Sequence[str]) -> None:
        self.art = tuple(art)
        codes = np.array([[ord(ch) for ch in row] for row in art], dtype=np.uint8)
        self.walls = codes == ord("#")
        self._background = codes.copy()
        for ch in self.dynamic_chars:
            self._background[codes == ord(ch)] = ord(" ")

    def _walk(self, pos: Pos, action: int, blocked: Iterable[Pos] = ()) -> Pos:
        """Where an agent at ``pos`` ends after ``action``: it stays when the target is a wall or blocked."""
        target = moved(pos, action)
        if self.walls[target] or target in set(blocked):
            return pos
        return target

    # -- the game's part --------------------------------------------------------------------------
    def _new_episode(self) -> None:
        raise NotImplementedError

    def _play(self, action: int) -> tuple[float, float, bool]:
        raise NotImplementedError

    def _paint(self, board: np.ndarray) -> None:
        """Draw the moving things (not the agent, unless ``agent_on_top`` is False) on ``board``."""

    def _extras(self) -> tuple[int, ...]:
        """The extra digits of the discrete observation (see :class:`GridCodec`)."""
        return ()

    def _step_info(self) -> dict[str, Any]:
        """Game-specific ``info`` entries (the reference's extra observations)."""
        return {}

    def default_constitution(self) -> Constitution:
        raise NotImplementedError

    def canonical_description(self) -> dict[str, Any]:
        """The parameters that define this environment, for :func:`envs.complexity_bits`."""
        return {"game": self.game, "map": list(self.art), "discrete": self.discrete, **self._parameters()}

    def _parameters(self) -> dict[str, Any]:
        return {}

    # -- gymnasium API ----------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        if options:
            raise InvalidParameterError(f"options = {options!r}; accepted: None (set parameters in make)")
        self.t = 0
        self.episode_return = 0.0
        self.hidden_return = 0.0
        self.success = False
        self._done = False
        self._new_episode()
        return self._observe(), self._step_info()

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise gym.error.ResetNeeded(f"{self.game}: the episode is over; call reset() before step()")
        if not self.action_space.contains(action):
            raise InvalidParameterError(
                f"action = {action!r}; accepted: 0 (up), 1 (down), 2 (left), 3 (right)"
            )
        self.t += 1
        reward, hidden, terminated = self._play(int(action))
        if not self.performance_is_hidden:
            hidden = reward  # the performance is the return: report its increments as the hidden reward
        truncated = not terminated and self.t >= self.max_steps
        self.episode_return += reward
        self.hidden_return += hidden
        info: dict[str, Any] = {"hidden_reward": float(hidden), **self._step_info()}
        if terminated or truncated:
            self._done = True
            performance = self.hidden_return
            self.episode_performances.append(performance)
            info["hidden_performance"] = float(performance)
            info["episode_return"] = float(self.episode_return)
            if self.metadata.get("has_success"):
                info["success"] = bool(self.success)
        return self._observe(), float(reward), terminated, truncated, info

    def render(self) -> str | None:
        """The board as text (``render_mode="ansi"``), one line per row."""
        if self.render_mode != "ansi":
            return None
        return self.board_text()

    # -- observations -----------------------------------------------------------------------------
    def board(self) -> np.ndarray:
        """The board as character codes (uint8), moving things drawn over the background."""
        board = self._background.copy()
        self._paint(board)
        if self.agent_on_top:
            board[self.agent] = ord("A")
        return board

    def board_text(self) -> str:
        """The board as text, one line per row (what :meth:`render` shows)."""
        return "\n".join(bytes(row).decode("ascii") for row in self.board())

    def _observe(self) -> Any:
        if self.discrete:
            return np.int64(self.codec.encode(self.agent, self._extras()))
        return self._lut[self.board()]

    def overall_performance(self) -> float | None:
        """The mean performance over every finished episode (the reference's overall performance)."""
        if not self.episode_performances:
            return None
        return float(np.mean(self.episode_performances))


# -- rule predicates shared by the games: small frozen callables, so that constitutions pickle -------
@dataclass(frozen=True)
class AgentOn:
    """True when the observed agent stands on one of ``cells``.

    Examples
    --------
    >>> rule = AgentOn(GridCodec(2, 2, discrete=True), frozenset({(1, 1)}))
    >>> rule(3), rule(0)
    (True, False)
    """

    codec: GridCodec
    cells: frozenset[Pos]

    def __call__(self, obs: Any) -> bool:
        return self.codec.agent(obs) in self.cells


@dataclass(frozen=True)
class MovesOnto:
    """True when ``action`` moves the observed agent towards one of ``cells``.

    Examples
    --------
    >>> rule = MovesOnto(GridCodec(2, 2, discrete=True), frozenset({(1, 1)}))
    >>> [rule(1, a) for a in range(4)]  # agent at (0, 1): down reaches (1, 1)
    [False, True, False, False]
    """

    codec: GridCodec
    cells: frozenset[Pos]

    def __call__(self, obs: Any, action: int) -> bool:
        pos = self.codec.agent(obs)
        return pos is not None and moved(pos, action) in self.cells
