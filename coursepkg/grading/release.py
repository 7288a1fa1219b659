"""Write the student version of exercise notebooks: solutions stubbed, checks and ids kept."""

from __future__ import annotations

import copy
from pathlib import Path

from ._deps import require
from .exercise_format import (
    ANSWER,
    METADATA_KEY,
    FormatError,
    assignment_name,
    cell_grading,
    find_exercise_notebooks,
    stub_solutions,
    validate,
)


def student_version(nb, name: str):
    """A copy of the instructor's notebook ``nb`` for students.

    Answer cells get their solution regions replaced by stubs; every output and execution count
    is cleared (the stored outputs show the solutions' results); cell ids, metadata and check
    cells are kept, and the notebook metadata records the assignment ``name``, so that a renamed
    submission is still recognised.
    """
    student = copy.deepcopy(nb)
    for cell in student.cells:
        meta = cell_grading(cell)
        if meta.get("role") == ANSWER:
            cell.source = stub_solutions(cell.source, meta["exercise"])
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    student.metadata[METADATA_KEY] = {"assignment": name}
    return student


def release(source: Path, out_dir: Path) -> list[Path]:
    """Write the student version of every exercise notebook in ``source`` (a notebook or a
    folder) into ``out_dir``, under the same file names. Returns the written paths.

    Raises FormatError, naming the notebook and the problems, if one breaks the format.
    """
    nbformat = require("nbformat")
    out_dir = Path(out_dir)
    notebooks = find_exercise_notebooks(Path(source))
    versions = []
    for path in notebooks:  # validate all before writing any
        nb = nbformat.read(path, as_version=4)
        problems = validate(nb)
        if problems:
            raise FormatError(f"{path}: " + "; ".join(problems))
        versions.append((path, student_version(nb, assignment_name(path))))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path, nb in versions:
        target = out_dir / path.name
        if target.resolve() == path.resolve():
            raise FormatError(f"release would overwrite the instructor's notebook {path}.")
        nbformat.write(nb, target)
        written.append(target)
    return written
