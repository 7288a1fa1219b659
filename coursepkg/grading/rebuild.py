"""Rebuild a submission from the instructor's notebook: only the student's answer cells are taken.

The graded notebook is the instructor's, without its stored outputs, in which the source of each
answer cell is replaced by the student's cell with the same id. Everything else the
student may have changed (check cells, their stored outputs, setup cells, metadata, added cells)
is ignored, so a check or an output rewritten to fake a pass has no effect. Every code cell is
tagged ``nbval-ignore-output``: nbval runs it and records what it sent, and the grader reads the
verdict from the check cell's standard output (``scoring.py``), so that a figure or a
``display(...)`` that the student's code makes while the check runs costs nothing.
"""

from __future__ import annotations

import copy

from .exercise_format import ANSWER, CHECK, cell_grading, stub_solutions

IGNORE_OUTPUT_TAG = "nbval-ignore-output"


def _student_answers(student_nb) -> tuple[dict, dict]:
    """Student cells by id, and answer cells by (exercise, position) for cells that lost
    their id (e.g. cut and pasted in an old front end)."""
    by_id, by_position = {}, {}
    counts: dict[str, int] = {}
    for cell in student_nb.cells:
        if cell.get("id"):
            by_id.setdefault(cell["id"], cell)
        meta = cell_grading(cell)
        if meta.get("role") == ANSWER and isinstance(meta.get("exercise"), str):
            k = counts.get(meta["exercise"], 0)
            counts[meta["exercise"]] = k + 1
            by_position.setdefault((meta["exercise"], k), cell)
    return by_id, by_position


def rebuild(instructor_nb, student_nb):
    """The notebook to grade, and the answer cell ids the submission lacks.

    Returns:
        (graded notebook, {exercise id: [missing answer cell ids]}). A missing answer cell is
        replaced by the instructor's cell with its solution stubbed out, so that the rest of the
        notebook still runs.
    """
    graded = copy.deepcopy(instructor_nb)
    by_id, by_position = _student_answers(student_nb)
    missing: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for cell in graded.cells:
        if cell.cell_type != "code":
            continue
        # The instructor's outputs stay out: the kernel can read the notebook it runs, and a
        # stored output can give an answer away (a tuned value, an accuracy).
        cell.outputs = []
        cell.execution_count = None
        meta = cell_grading(cell)
        tags = cell.metadata.setdefault("tags", [])
        if IGNORE_OUTPUT_TAG not in tags:
            tags.append(IGNORE_OUTPUT_TAG)
        if meta.get("role") == CHECK:
            continue  # the instructor's check, untouched
        if meta.get("role") != ANSWER:
            continue
        exercise = meta["exercise"]
        k = counts.get(exercise, 0)
        counts[exercise] = k + 1
        theirs = by_id.get(cell.id)
        if theirs is None or cell_grading(theirs).get("role", ANSWER) != ANSWER:
            theirs = by_position.get((exercise, k))
        if theirs is None:
            missing.setdefault(exercise, []).append(cell.id)
            cell.source = stub_solutions(cell.source, exercise)
        else:
            source = theirs.get("source", "")
            cell.source = "".join(source) if isinstance(source, list) else str(source)
    return graded, missing
