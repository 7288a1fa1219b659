"""Turn nbval's per-cell results into gradebook rows: one per student and exercise."""

from __future__ import annotations

from dataclasses import dataclass

from .exercise_format import Exercise
from .runner import RunResult

PASS, FAIL, IGNORED = "pass", "fail", "ignored"


@dataclass
class Row:
    """One line of the gradebook."""

    student: str
    chapter: str
    exercise: str
    result: str
    points: float
    max_points: float
    reason: str = ""


def failed_rows(student: str, chapter: str, exercises: list[Exercise], reason: str) -> list[Row]:
    """A failing row for every exercise, all for the same ``reason`` (e.g. a malformed file)."""
    return [Row(student, chapter, e.id, FAIL, 0.0, e.points, reason) for e in exercises]


def _cell_problem(record: dict | None, cell_timeout: float) -> str:
    """Why a cell failed, in one line, from its results record."""
    if record is None:
        return "did not run"
    message = record.get("message", "")
    printed = record.get("printed", "").strip()
    if "Kernel dead" in message:
        return "not run: the kernel had died in an earlier cell"
    if "Failed to interrupt" in message or "waiting for output" in message:
        return (
            f"the kernel died or stopped responding in this cell (after {cell_timeout:g} s): "
            "a crash, os._exit, or a loop that ignores interrupts"
        )
    if "Timeout" in message:
        return f"stopped at the time limit of {cell_timeout:g} s per cell (an endless loop?)"
    for line in printed.splitlines():
        if line.startswith("FAIL exercise"):
            return line.split(":", 1)[1].strip() if ":" in line else line
    if record.get("outcome") == "skipped":
        return "skipped"
    # A failed row never shows a PASS line: when the check printed one and still failed, what
    # differed is some other output of the cell.
    lines = [line for line in printed.splitlines() if not line.startswith("PASS exercise")]
    if any(line.startswith("PASS exercise") for line in printed.splitlines()):
        other = " ".join(lines[-1].split()) if lines else "an output of another kind"
        return f"the check cell printed other output than its verdict: {other}"
    if printed:
        return " ".join(printed.splitlines()[-1].split())
    return " ".join(message.split()) or "failed"


def score(
    student: str,
    chapter: str,
    exercises: list[Exercise],
    run: RunResult,
    missing: dict[str, list[str]],
    *,
    cell_timeout: float,
    timeout: float,
) -> list[Row]:
    """One row per exercise: pass (full points) if nbval passed its check cell, else fail.

    The reason of a failure comes from the check cell (its FAIL line, a time limit, a dead
    kernel), preceded by what went wrong in the exercise's answer cells, if anything did.
    """
    rows = []
    for exercise in exercises:
        record = run.cells.get(exercise.check_id)
        if record is not None and record.get("outcome") == "passed":
            rows.append(Row(student, chapter, exercise.id, PASS, exercise.points, exercise.points))
            continue
        notes = []
        if exercise.id in missing:
            notes.append(
                "answer cell missing from the submission: " + ", ".join(missing[exercise.id])
            )
        for answer_id in exercise.answer_ids:
            answer = run.cells.get(answer_id)
            if answer is not None and answer.get("outcome") == "failed":
                notes.append("answer cell: " + _cell_problem(answer, cell_timeout))
        if record is None and run.timed_out:
            notes.append(f"not run: the notebook exceeded the overall time limit of {timeout:g} s")
        elif record is None:
            notes.append("not run: the test run stopped early (see pytest.log)")
        else:
            notes.append(_cell_problem(record, cell_timeout))
        rows.append(
            Row(student, chapter, exercise.id, FAIL, 0.0, exercise.points, "; ".join(notes))
        )
    return rows
