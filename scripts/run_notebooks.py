"""Re-execute chapter notebooks in place, as they are stored in the repository.

Usage (from the repository root, in the project's environment):

    python scripts/run_notebooks.py book/01_perceptron.ipynb [more notebooks ...]

Each notebook runs top to bottom in a fresh kernel with its folder as working directory. Progress
bars redrawn with carriage returns are collapsed to their final state (as Jupyter's own front end
shows them), so the stored outputs stay small and the book shows one line per bar. The wall time
and the kernel's peak memory are printed for each notebook; with ``--measure-only`` the files are
left unchanged, which makes this the benchmark of the course's "under 3 minutes and 1.5 GB" rule.

Every matplotlib figure a notebook shows also records, in its output's metadata
(``image/png`` -> ``min_text_px``), the smallest font size matplotlib drew text with, in pixels
of the stored PNG. The browser test (``scripts/browser_test.py``) turns it into the size a reader
sees. The record is made by wrapping the kernel's PNG formatter for figures before the first
cell runs (``FIGURE_TEXT_CODE``); it is not stored in the notebook, it changes no output that
nbval compares (nbval ignores metadata), and the PNG itself is drawn exactly as without it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

# Run in the kernel before the first cell, in two steps: loading pyplot's backend (the inline
# one) makes it register its PNG formatter for figures once that cell has run; the wrapper, in
# the second, draws with that formatter, noting the size of every piece of text
# the Agg renderer draws (points times the renderer's dpi / 72 = pixels in the PNG).
FIGURE_TEXT_CODE = [
    "import matplotlib.pyplot as _plt\n_plt.switch_backend(_plt.get_backend())\ndel _plt",
    """
def _record_figure_text():
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.figure import Figure

    formatter = get_ipython().display_formatter.formatters["image/png"]
    draw_png = formatter.lookup_by_type(Figure)
    draw_text = RendererAgg.draw_text
    sizes = []

    def recording_draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if str(s).strip():
            sizes.append(prop.get_size_in_points() * self.dpi / 72)
        return draw_text(self, gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    def png_with_text_size(fig):
        sizes.clear()
        RendererAgg.draw_text = recording_draw_text
        try:
            png = draw_png(fig)
        finally:
            RendererAgg.draw_text = draw_text
        return (png, {"min_text_px": round(min(sizes), 2)}) if sizes else png

    formatter.for_type(Figure, png_with_text_size)


_record_figure_text()
del _record_figure_text
""",
]
PEAK_MEMORY_CODE = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def run_notebook(path: Path, timeout: int, write: bool = True) -> tuple[float, float]:
    """Execute ``path`` (in place if ``write``); return (wall time in s, kernel peak MB)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,  # no per-cell timestamps: they would change on every run
        resources={"metadata": {"path": str(path.parent)}},
    )
    with client.setup_kernel():
        for code in FIGURE_TEXT_CODE:  # run, not stored; execution counts stay as without it
            nb.cells.insert(0, nbformat.v4.new_code_cell(code))
            client.execute_cell(nb.cells[0], 0, store_history=False)
            nb.cells.pop(0)
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        seconds = time.perf_counter() - start
        nb.cells.append(nbformat.v4.new_code_cell(PEAK_MEMORY_CODE))
        client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
        probe = nb.cells.pop()  # measured, not stored
        peak_mb = int(probe.outputs[0]["text"]) / 1024  # ru_maxrss is in kB on Linux
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timestamps from earlier runs
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    if write:
        nbformat.write(nb, path)
    return seconds, peak_mb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="per-cell time limit in seconds")
    parser.add_argument(
        "--measure-only",
        action="store_true",
        help="report time and memory, leave the files as they are",
    )
    args = parser.parse_args(argv)
    for path in args.notebooks:
        seconds, peak_mb = run_notebook(path, args.timeout, write=not args.measure_only)
        print(f"{path}: {seconds:.1f} s, kernel peak memory {peak_mb:.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
