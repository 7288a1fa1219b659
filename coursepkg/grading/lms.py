"""Wide gradebooks for learning-management systems: ``lms/canvas.csv`` and ``lms/moodle.csv``.

Both have one row per student and one column per assignment (its points), then the total. The
only identifier the grader knows is the student's submission folder (or file) name,
``Outcome.student``; the instructor maps it to a user field when importing (Canvas: SIS Login
ID; Moodle: username, email address or ID number, whichever the folders are named by).

``canvas.csv`` follows the layout of Canvas's own gradebook export, which its import accepts:

    Student,ID,SIS User ID,SIS Login ID,Section,<assignment>...,Final Points
        Points Possible,,,,,<max points>...,(read only)
    <student>,,,<student>,,<points>...,<total>

``Student`` and ``SIS Login ID`` hold the folder name; ``ID``, ``SIS User ID`` and ``Section``
are left empty (Canvas matches a row by any of its identifiers). An assignment column whose
name Canvas does not know creates a new assignment with the points of the "Points Possible"
row. ``Final Points`` is one of the read-only total columns of Canvas's export, which an import
ignores: it is there for the instructor to check against.

``moodle.csv`` is the plain layout of Moodle's CSV grade import:

    Username,<assignment>...,Total
    <student>,<points>...,<total>

On import, map ``Username`` to the user field the folders are named by, every assignment column
to its grade item (or to a new one), and ``Total`` to "Ignore" (Moodle does not import into the
course total).

An assignment is a column when at least one student has a row for one of its exercises. A
student with no result for it (no notebook handed in, or only a notebook for another
assignment) gets 0 points there. Every cell goes through ``grade.csv_text``, so that no name
is run as a spreadsheet formula.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .grade import Outcome, csv_text

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_TOTAL = "Final Points"
CANVAS_POINTS_POSSIBLE = "    Points Possible"
MOODLE_IDENTITY = "Username"
MOODLE_TOTAL = "Total"


def points_text(x: float) -> str:
    """Points as a plain decimal number, never in exponent notation (``2``, ``0.5``, ``1500``)."""
    text = f"{round(float(x), 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def wide_table(outcomes: list[Outcome]) -> tuple[list[str], dict[str, float], dict]:
    """The wide gradebook: ``(assignments, max_points, scores)``.

    ``assignments`` are sorted by name; ``max_points[a]`` is the most points assignment ``a``
    gives; ``scores[student][a]`` is the student's points (0 where they have no result),
    with students in the order of sorted names.
    """
    assignments = sorted({r.chapter for o in outcomes for r in o.rows if r.exercise})
    max_points = dict.fromkeys(assignments, 0.0)
    for o in outcomes:
        if o.chapter in max_points:
            top = sum(r.max_points for r in o.rows if r.exercise)
            max_points[o.chapter] = max(max_points[o.chapter], top)
    students = sorted({o.student for o in outcomes})
    scores = {student: dict.fromkeys(assignments, 0.0) for student in students}
    for o in outcomes:
        for r in o.rows:
            if r.chapter in max_points:
                scores[o.student][r.chapter] += r.points
    return assignments, max_points, scores


def _write_rows(path: Path, rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([[csv_text(cell) for cell in row] for row in rows])


def write_canvas(outcomes: list[Outcome], path: Path) -> None:
    """Write the Canvas gradebook import file (layout in the module's docstring)."""
    assignments, max_points, scores = wide_table(outcomes)
    rows = [CANVAS_IDENTITY + assignments + [CANVAS_TOTAL]]
    blanks = [""] * (len(CANVAS_IDENTITY) - 1)
    possible = [points_text(max_points[a]) for a in assignments]
    rows.append([CANVAS_POINTS_POSSIBLE, *blanks, *possible, "(read only)"])
    for student, points in scores.items():
        cells = [points_text(points[a]) for a in assignments]
        total = points_text(sum(points.values()))
        rows.append([student, "", "", student, "", *cells, total])
    _write_rows(path, rows)


def write_moodle(outcomes: list[Outcome], path: Path) -> None:
    """Write the Moodle CSV grade import file (layout in the module's docstring)."""
    assignments, _, scores = wide_table(outcomes)
    rows = [[MOODLE_IDENTITY, *assignments, MOODLE_TOTAL]]
    for student, points in scores.items():
        cells = [points_text(points[a]) for a in assignments]
        rows.append([student, *cells, points_text(sum(points.values()))])
    _write_rows(path, rows)


def write_lms(outcomes: list[Outcome], folder: Path) -> list[Path]:
    """Write ``canvas.csv`` and ``moodle.csv`` into ``folder``; returns the two paths."""
    folder = Path(folder)
    paths = [folder / "canvas.csv", folder / "moodle.csv"]
    write_canvas(outcomes, paths[0])
    write_moodle(outcomes, paths[1])
    return paths
