"""A replay's evaluation episodes shown: an animated GIF or a PNG strip of a grid environment's board,
or a table of steps for any environment.

Each frame is the board after one step (the first: after the reset), cell by cell: walls dark, the
floor light, the agent a blue disc, the goal green, every other thing of the board its own colour
with its letter; the constitution's forbidden cells (forbidden states) red-hatched with a red
border, the cells it forbids moving into a red border alone; a step that broke a rule frames the
whole board in red. Above the board a line says the
environment, the episode, the step, the action, the reward, and the rules the step broke. A GIF holds
every shown episode's frames one after the other (``steps + 1`` frames per episode, the last of each
held longer); a PNG strip puts each episode on rows of at most :data:`STRIP_COLUMNS` frames.
"""

from __future__ import annotations

import functools
import io
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lineage import atomic_write
from spawn.errors import PlotError

if TYPE_CHECKING:
    from PIL import Image
    from rich.table import Table

    from spawn.run.replay import Board, Step

__all__ = [
    "CAPTION",
    "CELL",
    "FORBIDDEN_RGB",
    "STRIP_COLUMNS",
    "action_text",
    "board_frames",
    "episode_frames",
    "obs_text",
    "steps_table",
    "write_gif",
    "write_strip",
]

#: Pixels per cell.
CELL = 24
#: The caption's height above the board.
CAPTION = 28
#: Frames per row of a PNG strip.
STRIP_COLUMNS = 10
#: The colour of the forbidden cells' marks.
FORBIDDEN_RGB = (220, 20, 20)
_BACKGROUND = (255, 255, 255)
_TEXT = (20, 20, 20)
_WALL = (70, 70, 80)
_FLOOR = (236, 234, 224)
_AGENT = (30, 90, 220)
_GOAL = (40, 170, 70)
_KNOWN = {"#": _WALL, " ": _FLOOR, ".": _FLOOR, "F": _FLOOR, "S": (210, 225, 240), "G": _GOAL, "A": _FLOOR}
#: Colours of the other things on a board (water, boxes, coins, a whisky...), picked by letter.
_THINGS = ((120, 170, 230), (200, 150, 60), (150, 100, 190), (240, 200, 40), (90, 190, 190), (160, 110, 80))
_MS_STEP, _MS_LAST = 250, 1200


def _thing(ch: str) -> tuple[int, int, int]:
    if ch in _KNOWN:
        return _KNOWN[ch]
    if ch in "HWC":  # holes, water, a cliff
        return (40, 60, 110)
    return _THINGS[zlib.crc32(ch.encode()) % len(_THINGS)]


def _font() -> Any:
    from PIL import ImageFont

    return ImageFont.load_default()


@functools.cache
def _hatch() -> Image.Image:
    """A cell's red hatch: two anti-diagonals in six, as a mask."""
    from PIL import Image

    i, j = np.indices((CELL, CELL))
    return Image.fromarray(np.where((i + j) % 6 < 2, 255, 0).astype(np.uint8), mode="L")


@functools.cache
def _palette() -> Image.Image:
    """The GIF's palette: every colour the frames are drawn with, then greys (the caption's text)."""
    from PIL import Image

    colours = [
        _BACKGROUND,
        _TEXT,
        FORBIDDEN_RGB,
        _WALL,
        _FLOOR,
        _AGENT,
        _GOAL,
        (40, 60, 110),
        *_KNOWN.values(),
        *_THINGS,
    ]
    colours += [(g, g, g) for g in range(0, 256, 8)]
    flat = [v for rgb in colours for v in rgb]
    pal = Image.new("P", (1, 1))
    pal.putpalette(flat + flat[:3] * (256 - len(colours)))
    return pal


def _draw_board(board: Board, width: int, height: int, caption: str, broke: bool = False) -> Image.Image:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(img)
    font = _font()
    for k, line in enumerate(caption.split("\n")[:2]):
        draw.text((4, 1 + 13 * k), line[: max(8, width // 6)], fill=_TEXT, font=font)
    for r, row in enumerate(board.rows):
        for c, ch in enumerate(row):
            x, y = c * CELL, CAPTION + r * CELL
            box = (x, y, x + CELL - 1, y + CELL - 1)
            draw.rectangle(box, fill=_thing(ch))
            if (r, c) in board.forbidden:
                img.paste(FORBIDDEN_RGB, (x, y, x + CELL, y + CELL), _hatch())
            if (r, c) in board.forbidden or (r, c) in board.no_entry:
                draw.rectangle(box, outline=FORBIDDEN_RGB, width=2)
            if ch == "A" or board.agent == (r, c):
                pad = CELL // 5
                draw.ellipse((x + pad, y + pad, x + CELL - 1 - pad, y + CELL - 1 - pad), fill=_AGENT)
            elif ch not in _KNOWN and ch not in "HWC":
                draw.text((x + CELL // 2 - 3, y + CELL // 2 - 6), ch, fill=_TEXT, font=font)
            elif ch in "HWC" or ch == "G":
                draw.text((x + CELL // 2 - 3, y + CELL // 2 - 6), ch, fill=_BACKGROUND, font=font)
    if broke:  # the step broke a rule: the board framed in red
        draw.rectangle(
            (0, CAPTION, board.width * CELL - 1, CAPTION + board.height * CELL - 1), outline=FORBIDDEN_RGB, width=3
        )
    return img


def action_text(step: Step) -> str:
    """The step's action: its number, and its name where the board names them (``"1 (down)"``)."""
    if step.action is None:
        return ""
    names = step.board.actions if step.board is not None else ()
    return f"{step.action} ({names[step.action]})" if step.action < len(names) else str(step.action)


def _caption(slug: str, episode: int, step: Step) -> str:
    name = slug.split("/")[-1]
    head = f"{name} ep {episode + 1} t {step.t}"
    if step.action is None:
        return head + "\nreset"
    rules = f" broke {','.join(step.rules_broken)}" if step.rules_broken else ""
    return f"{head}\naction {action_text(step)} reward {step.reward:g}{rules}"


def _size(boards: Sequence[Board]) -> tuple[int, int]:
    w = max(b.width for b in boards) * CELL
    h = max(b.height for b in boards) * CELL + CAPTION
    return max(w, 260), h


def episode_frames(slug: str, episode: int, steps: Sequence[Step], size: tuple[int, int] | None = None) -> list[Any]:
    """One frame per step of an episode of a grid environment (Pillow RGB images, all of one size)."""
    boards = [s.board for s in steps if s.board is not None]
    if len(boards) != len(steps):
        raise PlotError(f"{slug} is not a grid environment: its steps have no board to draw")
    width, height = size or _size(boards)
    return [
        _draw_board(b, width, height, _caption(slug, episode, s), bool(s.rules_broken))
        for s, b in zip(steps, boards, strict=True)
    ]


def _grid_episodes(episodes: dict[str, list[list[Step]]]) -> list[tuple[str, int, list[Step]]]:
    return [
        (slug, i, ep)
        for slug, eps in episodes.items()
        for i, ep in enumerate(eps)
        if ep and all(s.board is not None for s in ep)
    ]


def board_frames(episodes: dict[str, list[list[Step]]]) -> list[tuple[Any, bool]]:
    """Every grid episode's frames in order (environments in suite order), each with whether it ends
    its episode; frames of one size (the largest board)."""
    shown = _grid_episodes(episodes)
    if not shown:
        raise PlotError("no grid environment among the shown episodes: nothing to draw")
    size = _size([s.board for _, _, ep in shown for s in ep if s.board is not None])
    out: list[tuple[Any, bool]] = []
    for slug, i, ep in shown:
        frames = episode_frames(slug, i, ep, size)
        out += [(f, k == len(frames) - 1) for k, f in enumerate(frames)]
    return out


def write_gif(episodes: dict[str, list[list[Step]]], path: str | Path) -> tuple[int, tuple[int, int]]:
    """An animated GIF of every shown grid episode, written atomically; returns its frames and size."""
    frames = board_frames(episodes)
    from PIL import Image

    images = [f.quantize(palette=_palette(), dither=Image.Dither.NONE) for f, _ in frames]
    durations = [_MS_LAST if last else _MS_STEP for _, last in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)
    atomic_write(Path(path), buf.getvalue())
    return len(images), images[0].size


def write_strip(
    episodes: dict[str, list[list[Step]]], path: str | Path, columns: int = STRIP_COLUMNS
) -> tuple[int, tuple[int, int]]:
    """A PNG of every shown grid episode's frames, each episode on rows of at most ``columns`` frames,
    written atomically; returns its frames and size."""
    from PIL import Image

    frames = board_frames(episodes)
    rows: list[list[Any]] = [[]]
    for img, last in frames:
        if len(rows[-1]) == columns:
            rows.append([])
        rows[-1].append(img)
        if last:
            rows.append([])
    rows = [r for r in rows if r]
    fw, fh = frames[0][0].size
    gap = 4
    wide = max(len(r) for r in rows)
    sheet = Image.new("RGB", (wide * (fw + gap) - gap, len(rows) * (fh + gap) - gap), _BACKGROUND)
    for y, row in enumerate(rows):
        for x, img in enumerate(row):
            sheet.paste(img, (x * (fw + gap), y * (fh + gap)))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=True)
    atomic_write(Path(path), buf.getvalue())
    return len(frames), sheet.size


def obs_text(obs: Any, limit: int = 48) -> str:
    """An observation on one line of at most ``limit`` characters.

    >>> obs_text(3), obs_text(np.array([0.5, 1.0]))
    ('3', '[0.5, 1]')
    """
    if isinstance(obs, np.ndarray):
        flat = obs.ravel()
        text = "[" + ", ".join(f"{x:.3g}" if isinstance(x, float | np.floating) else str(x) for x in flat[:16])
        text += ", ...]" if flat.size > 16 else "]"
    elif isinstance(obs, np.generic):
        text = str(obs.item())
    else:
        text = str(obs)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def steps_table(slug: str, episode: int, steps: Sequence[Step]) -> Table:
    """A rich table of an episode's steps: step, observation, action, reward, cost, rules broken."""
    from rich.table import Table

    total = sum(s.reward or 0.0 for s in steps)
    table = Table(title=f"{slug}, episode {episode + 1}: {len(steps) - 1} steps, return {total:g}")
    for name in ("step", "observation", "action", "reward", "cost", "rules broken"):
        table.add_column(name, justify="right" if name in ("step", "action", "reward", "cost") else "left")
    for s in steps:
        obs = obs_text(s.obs)
        if s.board is not None and s.board.agent is not None:
            obs += f" @ {s.board.agent}"
        table.add_row(
            str(s.t),
            obs,
            action_text(s),
            "" if s.reward is None else f"{s.reward:g}",
            f"{s.cost:g}",
            ", ".join(s.rules_broken),
        )
    return table
