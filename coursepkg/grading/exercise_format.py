"""The format of an exercise notebook: which cells are answers and checks, and solution markers.

An exercise notebook (``book/exercises/NN_slug_exercises.ipynb``) is the instructor's solution
version, stored executed. Its cells are of three kinds, told apart by the cell metadata
``"grading"``:

* answer cells, ``{"grading": {"exercise": "3.2", "role": "answer"}}``: code cells the student
  fills in. Each holds one or more solution regions, lines between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``, which the student version replaces by a stub (``# YOUR CODE HERE`` and
  ``raise NotImplementedError(...)`` at the marker's indentation). Grading takes these cells, and
  only these, from the student's notebook, matched by cell id.
* check cells, ``{"grading": {"exercise": "3.2", "role": "check", "points": 2}}``: one per
  exercise, after its answer cells, exactly ``check("3.2")``: it runs the exercise's registered
  definition (``definition.py``, ``exercises/``) and prints one verdict line, stored as
  ``PASS exercise 3.2``. Grading always runs the instructor's copy, and then the definition's
  hidden check on new inputs.
* every other cell (prose, imports, data): no ``grading`` metadata; grading uses the instructor's.

Cell ids must be stable (e.g. ``ex3-2-answer``, ``ex3-2-check``): the student version keeps them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

METADATA_KEY = "grading"
ANSWER, CHECK = "answer", "check"
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
STUB_COMMENT = "# YOUR CODE HERE"
EXERCISE_SUFFIX = "_exercises"
KERNEL_NAME = "python3"

_MARKER = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>### (?:BEGIN|END) SOLUTION)[ \t]*$")


class FormatError(ValueError):
    """An exercise notebook or a source does not follow the format; the message says where."""


@dataclass
class Exercise:
    """One graded exercise of a notebook.

    Attributes:
        id: the exercise id, e.g. ``"3.2"``.
        answer_ids: cell ids of its answer cells, in notebook order.
        check_id: cell id of its check cell.
        points: points for passing its check.
    """

    id: str
    answer_ids: list[str] = field(default_factory=list)
    check_id: str | None = None
    points: float = 0.0


def cell_grading(cell) -> dict:
    """The cell's ``grading`` metadata (an empty dict for ordinary cells)."""
    value = cell.get("metadata", {}).get(METADATA_KEY, {})
    return value if isinstance(value, dict) else {}


def cell_role(cell) -> str | None:
    """``"answer"``, ``"check"`` or None."""
    return cell_grading(cell).get("role")


def assignment_name(path: Path) -> str:
    """The name that identifies an exercise notebook in the gradebook: its file name without
    ``.ipynb`` and ``_exercises``, e.g. ``01_perceptron``."""
    stem = Path(path).stem
    return stem[: -len(EXERCISE_SUFFIX)] if stem.endswith(EXERCISE_SUFFIX) else stem


def stub_solutions(source: str, exercise: str = "") -> str:
    """Replace every ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region by a stub.

    The stub is ``# YOUR CODE HERE`` and ``raise NotImplementedError(...)``, indented like the
    ``BEGIN`` marker, so that a region inside a function body leaves a valid function.
    Raises FormatError for unbalanced markers.
    """
    lines = source.splitlines()
    out, inside = [], False
    what = f"exercise {exercise}: " if exercise else ""
    for number, line in enumerate(lines, start=1):
        match = _MARKER.match(line)
        if match and match["marker"] == BEGIN_SOLUTION:
            if inside:
                raise FormatError(f"{what}line {number}: {BEGIN_SOLUTION} inside another region.")
            inside, indent = True, match["indent"]
            message = f"Exercise {exercise}: write your code here" if exercise else "your code"
            out += [f"{indent}{STUB_COMMENT}", f'{indent}raise NotImplementedError("{message}")']
        elif match:
            if not inside:
                raise FormatError(f"{what}line {number}: {END_SOLUTION} without a BEGIN.")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise FormatError(f"{what}{BEGIN_SOLUTION} is never closed by {END_SOLUTION}.")
    return "\n".join(out)


def has_solution_markers(source: str) -> bool:
    """Whether ``source`` holds a solution marker line."""
    return any(_MARKER.match(line) for line in source.splitlines())


def exercises_of(nb) -> list[Exercise]:
    """The notebook's exercises in order, read from the cells' ``grading`` metadata.

    Raises FormatError if the metadata is inconsistent (see ``validate`` for a full report).
    """
    problems = validate(nb)
    if problems:
        raise FormatError("; ".join(problems))
    return _collect(nb)


def _collect(nb) -> list[Exercise]:
    exercises: dict[str, Exercise] = {}
    for cell in nb.cells:
        meta = cell_grading(cell)
        if not meta:
            continue
        exercise = exercises.setdefault(
            str(meta.get("exercise")), Exercise(str(meta.get("exercise")))
        )
        if meta.get("role") == ANSWER:
            exercise.answer_ids.append(cell.get("id"))
        elif meta.get("role") == CHECK:
            exercise.check_id = cell.get("id")
            exercise.points = float(meta.get("points", 0))
    return list(exercises.values())


def validate(nb) -> list[str]:
    """Every way the instructor's notebook breaks the format, as messages (empty if none).

    Checks: python3 kernel; unique cell ids; metadata with a known role and an exercise id;
    answer cells are code with balanced solution markers; one check cell
    per exercise, after its answers, with positive points, no markers, the source
    ``check("<id>")`` of a registered definition (which holds the hidden check) and a stored
    output of exactly ``PASS exercise <id>``; no solution markers outside answer cells.
    """
    problems = []
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != KERNEL_NAME:
        problems.append(f"the kernel is {kernel!r}, expected {KERNEL_NAME!r}")
    seen_ids = set()
    checks: dict[str, int] = {}
    answers: dict[str, list[int]] = {}
    for index, cell in enumerate(nb.cells):
        cell_id = cell.get("id")
        where = f"cell {index} (id {cell_id})"
        if not cell_id:
            problems.append(f"cell {index} has no id (save the notebook with nbformat >= 4.5)")
        elif cell_id in seen_ids:
            problems.append(f"{where}: the id is used twice")
        seen_ids.add(cell_id)
        meta, role = cell_grading(cell), cell_role(cell)
        markers = has_solution_markers(cell.source)
        if not meta:
            if markers:
                problems.append(f"{where}: solution markers outside an answer cell")
            continue
        exercise = meta.get("exercise")
        if not isinstance(exercise, str) or not exercise:
            problems.append(f'{where}: grading metadata needs an exercise id like "3.2"')
            continue
        if role not in (ANSWER, CHECK):
            problems.append(f"{where}: grading role must be 'answer' or 'check', got {role!r}")
        elif cell.cell_type != "code":
            problems.append(f"{where}: {role} cells must be code cells")
        elif role == ANSWER:
            answers.setdefault(exercise, []).append(index)
            if exercise in checks:
                problems.append(f"{where}: answer cell of exercise {exercise} after its check")
            if not markers:
                problems.append(f"{where}: answer cell without {BEGIN_SOLUTION} region")
            try:
                stub_solutions(cell.source, exercise)
            except FormatError as exc:
                problems.append(f"{where}: {exc}")
        else:
            if exercise in checks:
                problems.append(f"{where}: a second check cell for exercise {exercise}")
            checks[exercise] = index
            points = meta.get("points")
            if isinstance(points, bool) or not isinstance(points, int | float) or points <= 0:
                problems.append(f"{where}: check cells need positive 'points', got {points!r}")
            if markers:
                problems.append(f"{where}: solution markers in a check cell")
            problems += _check_call_problems(cell.source, exercise, where)
            expected = f"PASS exercise {exercise}"
            if stored_text(cell).strip() != expected:
                problems.append(
                    f"{where}: the stored output should be exactly {expected!r} (execute the "
                    f"notebook; a check prints its verdict only), got {stored_text(cell)!r}"
                )
    for exercise in answers.keys() - checks.keys():
        problems.append(f"exercise {exercise} has answer cells but no check cell")
    for exercise in checks.keys() - answers.keys():
        problems.append(f"exercise {exercise} has a check cell but no answer cell")
    return problems


def _check_call_problems(source: str, exercise: str, where: str) -> list[str]:
    """A check cell must be the call ``check("<id>")`` of a registered exercise definition
    (``definition.py``): the definition holds the visible check and the hidden one."""
    from .definition import definition_for

    code = [line.strip() for line in source.splitlines()]
    code = [line for line in code if line and not line.startswith("#")]
    call = f'check("{exercise}")'
    if code != [call]:
        return [
            f"{where}: a check cell must be exactly {call} (its checks, visible and hidden, "
            "belong in the exercise's definition)"
        ]
    if definition_for(exercise) is None:
        return [
            f"{where}: exercise {exercise} has no definition with a hidden check (register an "
            f"ExerciseDefinition with id {exercise!r} in coursepkg/grading/exercises/)"
        ]
    return []


def stored_text(cell) -> str:
    """The text a code cell printed (stream outputs, joined), as stored in the notebook."""
    return "".join(
        out.get("text", "") for out in cell.get("outputs", []) if out.get("output_type") == "stream"
    )


def find_exercise_notebooks(path: Path) -> list[Path]:
    """``path`` itself if it is a notebook, else the ``*.ipynb`` files directly in the folder
    (sorted; checkpoints and hidden files skipped)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no exercise notebook or folder at {path}")
    found = sorted(p for p in path.glob("*.ipynb") if not p.name.startswith("."))
    if not found:
        raise FileNotFoundError(f"no exercise notebooks (*.ipynb) in {path}")
    return found
