"""Draw the book's logo and favicon: a small feed-forward network (2-4-3-1 neurons).

Usage (from the repository root): ``python scripts/make_logo.py``. Writes
``book/images/logo.png`` and ``book/images/favicon.png``; the files are stored in the repository,
so this only needs to run again when the drawing changes.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "book" / "images"
LAYERS = [2, 4, 3, 1]
NODE = "#1f6fb2"  # one blue for the neurons
EDGE = "#8fb3d9"
OUTPUT = "#e07b39"  # the output neuron stands out


def positions(layers: list[int], height: float = 1.0) -> list[list[tuple[float, float]]]:
    """(x, y) of every neuron, layer by layer, each layer centred vertically."""
    columns = []
    for i, n in enumerate(layers):
        gap = height / max(layers)
        top = (height + (n - 1) * gap) / 2
        columns.append([(float(i), top - j * gap) for j in range(n)])
    return columns


def draw(path: Path, size: tuple[float, float], dpi: int, node_size: float, line: float) -> None:
    columns = positions(LAYERS)
    fig, ax = plt.subplots(figsize=size, dpi=dpi)
    for left, right in zip(columns[:-1], columns[1:], strict=True):
        for x0, y0 in left:
            for x1, y1 in right:
                ax.plot([x0, x1], [y0, y1], color=EDGE, lw=line, zorder=1, solid_capstyle="round")
    for k, column in enumerate(columns):
        xs, ys = zip(*column, strict=True)
        color = OUTPUT if k == len(columns) - 1 else NODE
        ax.scatter(xs, ys, s=node_size, color=color, edgecolors="white", linewidths=line, zorder=2)
    ax.set_xlim(-0.35, len(LAYERS) - 0.65)
    ax.set_ylim(-0.05, 1.05)
    ax.set_axis_off()
    fig.subplots_adjust(0, 0, 1, 1)
    fig.savefig(path, transparent=True)
    plt.close(fig)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    draw(OUT / "logo.png", size=(4.0, 2.0), dpi=100, node_size=420, line=2.0)
    draw(OUT / "favicon.png", size=(0.64, 0.64), dpi=100, node_size=28, line=0.8)
    print(f"wrote {OUT / 'logo.png'} and {OUT / 'favicon.png'}")


if __name__ == "__main__":
    main()
