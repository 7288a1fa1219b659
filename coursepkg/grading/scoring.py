"""Turn nbval's per-cell results into gradebook rows: one per student and exercise."""

from __future__ import annotations

from dataclasses import dataclass

from .exercise_format import Exercise
from .pytest_results import OUTPUT_LIMIT_MESSAGE
from .rebuild import RebuildNotes
from .runner import RunResult

PASS, FAIL, IGNORED, NOT_GRADED = "pass", "fail", "ignored", "not graded"
"""Row results. NOT_GRADED: the check never produced an outcome (the run was killed or stopped
before it), so the exercise was not judged; it scores 0 and says why, and is never a pass."""


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


@dataclass
class HiddenVerdict:
    """The hidden check of one exercise (``hidden.py``): passed, failed (with the judge's
    reason), or not judged (``graded`` False: the instructor's own solution gave no usable
    expected values, so the exercise cannot be judged, and nobody loses its points)."""

    passed: bool
    reason: str = ""
    graded: bool = True


HIDDEN_FAIL_PREFIX = "right on the check's own inputs, wrong on new inputs drawn at grading time: "

MAX_REASON = 500
"""Longest reason text, in characters; the run's pytest.log and saved notebook have the rest."""
CUT_NOTE = " ... (cut; the run's pytest.log has it all)"


def capped(reason: str, limit: int = MAX_REASON) -> str:
    """``reason``, cut to ``limit`` characters with a note saying so if it is longer."""
    if len(reason) <= limit:
        return reason
    return reason[: limit - len(CUT_NOTE)].rstrip() + CUT_NOTE


def failed_rows(student: str, chapter: str, exercises: list[Exercise], reason: str) -> list[Row]:
    """A failing row for every exercise, all for the same ``reason`` (e.g. a malformed file)."""
    reason = capped(reason)
    return [Row(student, chapter, e.id, FAIL, 0.0, e.points, reason) for e in exercises]


def _cell_problem(record: dict | None, cell_timeout: float) -> str:
    """Why a cell failed, in one line, from its results record."""
    if record is None:
        return "did not run"
    message = record.get("message", "")
    printed = record.get("printed", "").strip()
    if message.startswith(OUTPUT_LIMIT_MESSAGE):
        return message
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
    if record.get("outcome") == "passed":
        return "the check cell printed no verdict (no PASS or FAIL line)"
    if printed:
        return " ".join(printed.splitlines()[-1].split())
    return " ".join(message.split()) or "failed"


def verdict_passed(record: dict | None, exercise_id: str) -> bool:
    """True if the check cell ran to the end and its standard output is exactly its PASS line.

    Figures, ``display(...)`` output and warnings on standard error do not count; any other
    printed line does, as nbval's comparison with the instructor's output did.
    """
    if record is None or record.get("outcome") != "passed":
        return False
    return record.get("stdout", "").splitlines() == [f"PASS exercise {exercise_id}"]


def score(
    student: str,
    chapter: str,
    exercises: list[Exercise],
    run: RunResult,
    notes: RebuildNotes,
    *,
    cell_timeout: float,
    timeout: float,
    hidden: dict[str, HiddenVerdict] | None,
) -> list[Row]:
    """One row per exercise: pass (full points) if its check cell ran and printed only its PASS
    line (``verdict_passed``) and its hidden check passed, else fail (or not graded).

    ``hidden`` holds the hidden checks' verdicts by exercise id (an exercise without one fails);
    None scores the check cells alone, as the in-kernel checks did (tests use it as a control).

    The reason of a failure comes from the check cell (its FAIL line, a time limit, a dead
    kernel), preceded by what went wrong in the exercise's answer cells, if anything did.
    """
    rows = []
    for exercise in exercises:
        record = run.cells.get(exercise.check_id)
        found = notes.by_position.get(exercise.id, "")
        if verdict_passed(record, exercise.id):
            verdict = HiddenVerdict(True) if hidden is None else hidden.get(exercise.id)
            if verdict is None:
                verdict = HiddenVerdict(False, "its hidden check did not run")
            if verdict.passed:
                row = Row(
                    student, chapter, exercise.id, PASS, exercise.points, exercise.points, found
                )
            elif not verdict.graded:
                row = Row(
                    student,
                    chapter,
                    exercise.id,
                    NOT_GRADED,
                    0.0,
                    exercise.points,
                    capped(f"not graded: {verdict.reason}"),
                )
            else:
                reason = capped(HIDDEN_FAIL_PREFIX + verdict.reason)
                row = Row(student, chapter, exercise.id, FAIL, 0.0, exercise.points, reason)
            rows.append(row)
            continue
        reasons = [found] if found else []
        if exercise.id in notes.missing:
            reasons.append(notes.missing[exercise.id])
        for answer_id in exercise.answer_ids:
            answer = run.cells.get(answer_id)
            if answer is not None and answer.get("outcome") == "failed":
                reasons.append("answer cell: " + _cell_problem(answer, cell_timeout))
        result = FAIL
        if record is None:
            result = NOT_GRADED
            if run.timed_out:
                why = f"the notebook exceeded the overall time limit of {timeout:g} s"
            else:
                why = run.stopped or "the test run stopped before this check (see pytest.log)"
            reasons.insert(0, f"not graded: {why}")
        else:
            if run.stopped:
                reasons.append(run.stopped)
            reasons.append(_cell_problem(record, cell_timeout))
            if record.get("output_cut"):
                reasons.append("(the check cell's output was cut at the output limit)")
        reason = capped("; ".join(reasons))
        rows.append(Row(student, chapter, exercise.id, result, 0.0, exercise.points, reason))
    return rows
