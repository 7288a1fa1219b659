"""The grader's probe cells (``hidden.py``): what their records say.

No sandbox here: the records are built by hand.
"""

from __future__ import annotations

import numpy as np

from coursepkg.grading import hidden as hidden_checks
from coursepkg.grading.definition import (
    RESPONSE_PREFIX,
    encode_response,
)
from coursepkg.grading.exercise_format import Exercise
from coursepkg.grading.grade import HIDDEN_SEEDS_FILE, write_hidden_seeds

EXERCISES = [Exercise("1"), Exercise("2")]  # the example exercises (exercises/examples.py)


def response_line(exercise: str, response: dict) -> str:
    return f"{RESPONSE_PREFIX} {exercise} {encode_response(response)}\n"


def records(hidden, stdout: dict[str, str]) -> dict[str, dict]:
    """Records of probe cells that ran and printed ``stdout`` (per exercise id), as
    ``runner.read_results`` returns them."""
    cells = {}
    for exercise, text in stdout.items():
        cell_id = hidden_checks.probe_id(hidden, exercise)
        cells[cell_id] = {"cell_id": cell_id, "outcome": "passed", "stdout": text}
    return cells


# Whose run gave no response -------------------------------------------------------------------


def test_no_response_is_the_students_notebook_in_a_students_run():
    hidden = hidden_checks.draw(EXERCISES, 7)
    cells = records(hidden, {"1": "squaring\n", "2": response_line("2", {"w": np.ones(2)})})
    responses = hidden_checks.read_responses(cells, hidden, EXERCISES)
    assert responses["1"] == "the hidden check received no response from your notebook"
    assert isinstance(responses["2"], dict)


def test_no_response_is_the_instructors_notebook_in_the_reference_run(tmp_path):
    hidden = hidden_checks.draw(EXERCISES, 7)
    w = np.array([1.0, -2.0])
    cells = records(hidden, {"1": "squaring\n", "2": response_line("2", {"w": w})})
    responses = hidden_checks.read_responses(cells, hidden, EXERCISES, reference=True)
    assert "instructor's notebook" in responses["1"] and "your" not in responses["1"]
    hidden_checks.accept_reference(hidden, responses, EXERCISES)
    assert list(hidden.unusable) == ["1"] and np.array_equal(hidden.expected["2"]["w"], w)
    write_hidden_seeds({"00_demo": hidden}, tmp_path)
    lines = (tmp_path / HIDDEN_SEEDS_FILE).read_text().splitlines()
    assert lines == [
        "00_demo seed 7",
        "00_demo exercise 1: not graded, the instructor's solution gave no response: the "
        "hidden check's probe cell printed no response in the instructor's notebook",
    ]


def test_the_other_reasons_read_alike_in_both_runs():
    exercises = [*EXERCISES, Exercise("3")]
    hidden = hidden_checks.draw(exercises, 7)
    twice = response_line("1", {"scalar": 1.0}) * 2
    cells = records(hidden, {"1": twice, "2": f"{RESPONSE_PREFIX} 2 {{not json\n"})
    for reference in (False, True):
        responses = hidden_checks.read_responses(cells, hidden, exercises, reference=reference)
        assert responses["1"] == "the hidden check received more than one response"
        assert responses["2"].startswith("the hidden check could not read the response: ")
        assert responses["3"] == hidden_checks.NOT_RUN  # its probe cell did not run
