"""The lineage tree coloured by credit under each rule, side by side, as a PNG."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
import pandas as pd

from lineage import LineageGraph

__all__ = ["plot_credit", "tree_layout"]


def tree_layout(lineage: LineageGraph) -> dict[str, tuple[float, float]]:
    """Positions for drawing: leaves spaced evenly left to right in depth-first order (children in
    lineage-path order), a parent centred over its children, depth downwards.

    Examples
    --------
    >>> g = LineageGraph(); g.add_agent("0"); g.add_agent("0.0", parent="0"); g.add_agent("0.1", parent="0")
    >>> tree_layout(g)
    {'0': (0.5, 0.0), '0.0': (0.0, -1.0), '0.1': (1.0, -1.0)}
    """
    order = list(lineage.walk())
    x: dict[str, float] = {}
    leaf = 0
    for a in order:
        if not lineage.children(a):
            x[a] = float(leaf)
            leaf += 1
    for a in reversed(order):  # children before parents
        kids = lineage.children(a)
        if kids:
            x[a] = (x[kids[0]] + x[kids[-1]]) / 2.0
    return {a: (x[a], -float(lineage.depth(a))) for a in order}


def plot_credit(lineage: LineageGraph, table: pd.DataFrame, title: str | None = None) -> bytes:
    """PNG bytes: one panel per column of ``table`` (credit per agent), the tree coloured by it.

    Each panel has its own colour scale and colourbar; agents without credit (NaN) are grey.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    pos = tree_layout(lineage)
    ids = list(pos)
    xy = np.array([pos[a] for a in ids]) if ids else np.zeros((0, 2))
    segments = [(pos[p], pos[a]) for a in ids if (p := lineage.parent(a)) is not None]
    cols = list(table.columns)
    k = max(1, len(cols))
    fig, axes = plt.subplots(1, k, figsize=(min(5.0 * k, 30.0), 5.0), squeeze=False, constrained_layout=True)
    size = float(np.clip(4000.0 / max(len(ids), 1), 4.0, 80.0))
    for ax, col in zip(axes[0], cols, strict=False):
        credit: npt.NDArray[np.float64] = table[col].reindex(ids).to_numpy(dtype=float)
        ax.add_collection(LineCollection(segments, colors="0.7", linewidths=0.6, zorder=1))
        known = ~np.isnan(credit)
        ax.scatter(xy[~known, 0], xy[~known, 1], s=size, c="0.85", edgecolors="0.5", linewidths=0.3, zorder=2)
        if known.any():
            sc = ax.scatter(
                xy[known, 0],
                xy[known, 1],
                s=size,
                c=credit[known],
                cmap="viridis",
                edgecolors="0.2",
                linewidths=0.3,
                zorder=3,
            )
            fig.colorbar(sc, ax=ax, shrink=0.8, label="credit")
        ax.set_title(_wrap(str(col)), fontsize=10)
        ax.set_xticks([])
        ax.set_ylabel("generation")
        if len(ids):
            depth = int(-xy[:, 1].min())
            ax.set_yticks([-d for d in range(depth + 1)], [str(d) for d in range(depth + 1)])
            ax.set_xlim(xy[:, 0].min() - 1, xy[:, 0].max() + 1)
            ax.set_ylim(-depth - 0.5, 0.5)
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
    if title:
        fig.suptitle(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _wrap(text: str, width: int = 32) -> str:
    if len(text) <= width:
        return text
    name, _, params = text.partition(":")
    lines, cur = [name + ":"], ""
    for part in params.split(","):
        piece = part if not cur else cur + "," + part
        if len(piece) > width and cur:
            lines.append(cur + ",")
            cur = part
        else:
            cur = piece
    lines.append(cur)
    return "\n".join(lines)
