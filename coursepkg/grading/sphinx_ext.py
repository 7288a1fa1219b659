"""Sphinx extension: how the book shows the answer cells of exercise notebooks.

Enable it in Jupyter Book's ``_config.yml`` and pick a mode::

    sphinx:
      extra_extensions:
        - coursepkg.grading.sphinx_ext
      config:
        exercise_solutions: dropdown   # or: remove

* ``dropdown`` (default): each answer cell, code and output, is folded into a collapsed
  "Show solution" box; the check cells below it stay visible.
* ``remove``: the solutions are left out of the published book: each answer cell shows the
  student's stub instead (no output), and the notebook offered by the page's download button is
  the student version.

Answer cells are found by their ``grading`` metadata (see ``exercise_format.py``), so authors
need no extra tags.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError

from .exercise_format import ANSWER, assignment_name, cell_grading, stub_solutions

MODES = ("dropdown", "remove")


def _mode(app) -> str:
    mode = app.config.exercise_solutions
    if mode not in MODES:
        raise ExtensionError(
            f"exercise_solutions must be one of {MODES}, got {mode!r} (see _config.yml)."
        )
    return mode


def _answer_cells(doctree):
    for node in list(doctree.findall(nodes.container)):
        if node.get("nb_element") == "cell_code":
            meta = {"metadata": node.get("cell_metadata") or {}}
            if cell_grading(meta).get("role") == ANSWER:
                yield node, cell_grading(meta)["exercise"]


def _show_stub(cell: nodes.container, exercise: str) -> None:
    """Replace the cell's code by its stub and drop its outputs."""
    for child in list(cell.children):
        if child.get("nb_element") == "cell_code_output":
            cell.remove(child)
    for block in cell.findall(nodes.literal_block):
        stub = stub_solutions(block.astext(), exercise)
        new = nodes.literal_block(stub, stub, **{k: v for k, v in block.attributes.items()})
        block.replace_self(new)
    cell.attributes.pop("hide_mode", None)


def on_doctree_read(app, doctree) -> None:
    mode = _mode(app)
    for cell, exercise in _answer_cells(doctree):
        if mode == "remove":
            _show_stub(cell, exercise)
        else:
            cell["hide_mode"] = "all"
            cell["prompt_show"] = f"Show the solution of exercise {exercise}"
            cell["prompt_hide"] = f"Hide the solution of exercise {exercise}"


def on_build_finished(app, exception) -> None:
    """In ``remove`` mode, the downloadable copy of each exercise notebook is the student's."""
    if exception is not None or _mode(app) != "remove" or app.builder.format != "html":
        return
    import nbformat

    from .release import student_version

    sources = Path(app.outdir) / "_sources"
    for docname in app.env.found_docs:
        copy = sources / f"{docname}.ipynb"
        if not copy.is_file():
            continue
        nb = nbformat.read(copy, as_version=4)
        if any(cell_grading(c).get("role") == ANSWER for c in nb.cells):
            nbformat.write(student_version(nb, assignment_name(copy)), copy)


def setup(app):
    app.add_config_value("exercise_solutions", "dropdown", "env", types=[str])
    app.connect("doctree-read", on_doctree_read)
    app.connect("build-finished", on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
