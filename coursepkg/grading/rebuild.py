"""Rebuild a submission for grading: the student's notebook, in its order, with the instructor's
cells put back.

A student who runs their notebook top to bottom and sees ``PASS exercise 3.2`` must get those
points. So the graded notebook is the student's own, in the student's order, with every cell the
student wrote or added: answer cells, helper cells, imports, a cell split in two. Only the cells
the student must not change are taken from the instructor's copy: every code cell that is not an
answer cell (checks, set-up), matched by id, or, for a check cell that lost its id, by its
``grading`` metadata. A duplicate of such a cell (a copied check) is dropped, and one the student
deleted is put back where the instructor's notebook has it (before the next instructor cell the
student kept), so that every check runs.

An exercise whose answer cells are all missing is still answered when the student has a code
cell of their own between the exercise's text and its check (an answer cell deleted and typed
again, say): its answer is "recognized by position", and the gradebook says so. With no such
cell, the gradebook names the exercise and where the grader looked; nothing is put in its place
(a stub would undo an answer the student wrote further up), and the check then says what it
misses.

No stored output is kept (the kernel can read the notebook it runs, and a stored output can give
an answer away), and every code cell is tagged ``nbval-ignore-output``: nbval runs it and records
what it sent, and the grader reads the verdict from the check cell's standard output
(``scoring.py``).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field

from .exercise_format import ANSWER, CHECK, cell_grading

IGNORE_OUTPUT_TAG = "nbval-ignore-output"


@dataclass
class RebuildNotes:
    """What the rebuild found about each exercise's answer.

    Attributes:
        missing: per exercise id, why no answer was found (the answer cells' ids and where the
            grader looked).
        by_position: per exercise id, a note that its answer was recognized by position.
    """

    missing: dict[str, str] = field(default_factory=dict)
    by_position: dict[str, str] = field(default_factory=dict)


def _owned(cell) -> bool:
    """A cell the grader takes from the instructor's copy: code that is not an answer."""
    return cell.cell_type == "code" and cell_grading(cell).get("role") != ANSWER


def _prepared(cell):
    """A copy of a code cell ready to run: no stored output, outputs not compared."""
    cell = copy.deepcopy(cell)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
        tags = cell.metadata.setdefault("tags", [])
        if IGNORE_OUTPUT_TAG not in tags:
            tags.append(IGNORE_OUTPUT_TAG)
    return cell


def _student_cells(instructor_nb, student_nb) -> list:
    """The student's cells in order, with instructor-owned cells replaced by the instructor's
    copies (each once) and duplicates dropped."""
    owned = {c.id: c for c in instructor_nb.cells if _owned(c)}
    checks = {
        cell_grading(c).get("exercise"): c
        for c in instructor_nb.cells
        if cell_grading(c).get("role") == CHECK
    }
    cells, placed, seen_ids = [], set(), set(owned)
    for cell in student_nb.cells:
        meta = cell_grading(cell)
        theirs = owned.get(cell.get("id"))
        if theirs is None and cell.cell_type == "code" and meta.get("role") == CHECK:
            theirs = checks.get(meta.get("exercise"))
            if theirs is None:
                continue  # a check for no exercise of this notebook
        if theirs is not None:
            if theirs.id not in placed:
                cells.append(_prepared(theirs))
                placed.add(theirs.id)
            continue  # a second copy of the same instructor cell: dropped
        cell = _prepared(cell)
        if not cell.get("id") or cell.id in seen_ids:  # nbformat needs unique ids
            cell.id = f"student-{uuid.uuid4().hex[:12]}"
        seen_ids.add(cell.id)
        cells.append(cell)
    return cells


def _put_back(instructor_nb, cells: list) -> list:
    """``cells`` with every instructor-owned cell that is missing inserted before the next
    instructor cell that is present (or at the end)."""
    order = [c.id for c in instructor_nb.cells]
    for index, cell in enumerate(instructor_nb.cells):
        if not _owned(cell) or any(c.id == cell.id for c in cells):
            continue
        ids = [c.id for c in cells]
        later = [i for i in order[index + 1 :] if i in ids]
        where = ids.index(later[0]) if later else len(cells)
        cells.insert(where, _prepared(cell))
    return cells


def _answers(instructor_nb, cells: list, notes: RebuildNotes) -> list:
    """Find each exercise's answer among ``cells``: by id, by ``grading`` metadata, or by
    position; note where there is none."""
    instructor_ids = {c.id for c in instructor_nb.cells}
    for index, cell in enumerate(instructor_nb.cells):
        meta = cell_grading(cell)
        if meta.get("role") != CHECK:
            continue
        exercise = meta.get("exercise")
        answer_cells = [
            c
            for c in instructor_nb.cells
            if cell_grading(c).get("role") == ANSWER and cell_grading(c).get("exercise") == exercise
        ]
        ids = [c.id for c in cells]
        if any(c.id in ids for c in answer_cells) or any(
            cell_grading(c).get("role") == ANSWER and cell_grading(c).get("exercise") == exercise
            for c in cells
        ):
            continue  # answered in the student's answer cells
        check_at = ids.index(cell.id)
        first_answer = instructor_nb.cells.index(answer_cells[0]) if answer_cells else index
        before = [c.id for c in instructor_nb.cells[:first_answer] if c.id in ids]
        start = ids.index(before[-1]) + 1 if before else 0
        theirs = [
            c
            for c in cells[start:check_at]
            if c.cell_type == "code" and c.id not in instructor_ids and c.source.strip()
        ]
        looked = (
            f"cell {', '.join(c.id for c in answer_cells)}, or a code cell of your own between "
            f"the exercise's text and its check"
        )
        if theirs:
            notes.by_position[exercise] = (
                f"answer recognized by position (no {looked.split(',')[0]} in the submission: "
                f"graded the code between the exercise's text and its check)"
            )
            continue
        notes.missing[exercise] = f"no answer found for exercise {exercise}: looked for {looked}"
    return cells


def rebuild(instructor_nb, student_nb):
    """The notebook to grade, and what was found about the answers.

    Returns:
        (graded notebook, RebuildNotes). The graded notebook has the instructor's metadata and
        the cells described in the module docstring.
    """
    graded = copy.deepcopy(instructor_nb)
    notes = RebuildNotes()
    cells = _student_cells(instructor_nb, student_nb)
    cells = _put_back(instructor_nb, cells)
    graded.cells = _answers(instructor_nb, cells, notes)
    return graded, notes
