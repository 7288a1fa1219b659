"""``outcomes.jsonl``: every outcome of a ``grade`` run, exactly, for programs (``merge``).

One JSON object per line, one line per ``Outcome``, in the order of the gradebook::

    {"student": "alice", "chapter": "01_perceptron", "status": "graded", "seconds": 1.23,
     "sandboxed": true,
     "rows": [{"student": "alice", "chapter": "01_perceptron", "exercise": "1.1",
               "result": "pass", "points": 1.0, "max_points": 1.0, "reason": ""}, ...]}

Values are the exact ones, not the CSV cells: no apostrophe before a formula, reasons not cut,
numbers as Python floats (which JSON stores exactly). The file is ASCII (``ensure_ascii``): any
other character, even a lone surrogate from a file name that is not UTF-8, is a ``\\uXXXX``
escape, and reads back as the same string. It is written last, under a temporary name and then
renamed, so a folder that has one holds a finished run.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from .grade import Outcome
from .scoring import Row

OUTCOMES_FILE = "outcomes.jsonl"
_ROW_FIELDS = ("student", "chapter", "exercise", "result", "points", "max_points", "reason")


class OutcomesError(ValueError):
    """An ``outcomes.jsonl`` that cannot be read back (says which file and line)."""


def outcome_record(outcome: Outcome) -> dict:
    """The JSON object of one outcome (the keys of the module's docstring)."""
    return {
        "student": outcome.student,
        "chapter": outcome.chapter,
        "status": outcome.status,
        "seconds": outcome.seconds,
        "sandboxed": outcome.sandboxed,
        "rows": [asdict(row) for row in outcome.rows],
    }


def write_outcomes(outcomes: list[Outcome], path: Path) -> None:
    """Write ``outcomes`` to ``path``, one JSON line each, replacing the file at once."""
    path = Path(path)
    part = path.with_name(path.name + ".part")
    with open(part, "w", encoding="utf-8", newline="\n") as f:
        for outcome in outcomes:
            f.write(json.dumps(outcome_record(outcome), ensure_ascii=True) + "\n")
    os.replace(part, path)


def _outcome(data) -> Outcome:
    rows = []
    for row in data["rows"]:
        if set(row) != set(_ROW_FIELDS):
            raise KeyError(f"a row has the keys {sorted(row)}, expected {sorted(_ROW_FIELDS)}")
        rows.append(Row(**row))
    fields = (data["student"], data["chapter"], data["status"])
    if not all(isinstance(x, str) for x in fields):
        raise TypeError("student, chapter and status must be strings")
    sandboxed = data.get("sandboxed", True)
    if not isinstance(sandboxed, bool):
        raise TypeError("sandboxed must be true or false")
    return Outcome(*fields, rows, float(data["seconds"]), sandboxed)


def read_outcomes(path: Path) -> list[Outcome]:
    """The outcomes stored in ``path``, in file order.

    Raises:
        FileNotFoundError: there is no such file.
        OutcomesError: a line is not JSON or not an outcome record (with file and line number).
    """
    outcomes = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                outcomes.append(_outcome(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                message = f"{path}, line {number}: not an outcome record ({exc})"
                raise OutcomesError(message) from None
    return outcomes
