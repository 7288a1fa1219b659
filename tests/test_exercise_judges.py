"""Every registered course exercise, judged alike: the instructor's solution passes, the stub
fails, and the hidden judge turns a malformed response into a FAIL with a message.

The exercises come from the registry of definitions (``coursepkg/grading/exercises/``), their
solutions and stubs from the exercise notebooks (``exercise_harness``): a new or redesigned
exercise is tested here without a line of its own. The example exercises of the instructors
page (``exercises/examples.py``) have no notebook in the book; ``test_grading.py`` grades them
end to end.

A response comes from the student's kernel, which the student controls: keys may be missing,
values may be ``Opaque`` (not plain data), None, NaN, text, or arrays of the wrong shape or
dtype. The judge must raise ``CheckError`` for each (never ``KeyError``, ``TypeError`` or the
like, which would crash the grading run instead of explaining the FAIL). The mutations start from
the instructor's real response on grading seed 1, so that every part of it is reached.
"""

from __future__ import annotations

import numpy as np
import pytest
from exercise_harness import (
    EXERCISES,
    answer_source,
    exercise_ids,
    expected_response,
    hidden,
    prefix_of,
    solution_namespace,
    stub_namespace,
    visible,
)

from coursepkg.grading.checks import CheckError
from coursepkg.grading.definition import definition_for, draw_hidden, judge_response, registered
from coursepkg.grading.exercise_format import stub_solutions
from coursepkg.grading.exercises import examples
from coursepkg.grading.plain_data import Opaque

PREFIXES = sorted(path.name[:2] for path in EXERCISES.glob("[0-9][0-9]_*_exercises.ipynb"))
COURSE_EXERCISES = [(prefix, exercise) for prefix in PREFIXES for exercise in exercise_ids(prefix)]

EXAMPLES = sorted(i for i, d in registered().items() if type(d).__module__ == examples.__name__)
"""The example exercises' ids: no notebook of the book holds their solutions."""
JUDGED = sorted(
    (i for i in registered() if i not in EXAMPLES), key=lambda i: tuple(map(int, i.split(".")))
)
"""Every registered course exercise, 1.1 to 9.3."""
SEEDS = range(1, 6)


def test_every_registered_exercise_is_judged_here():
    """The parametrization below covers the whole registry (but for the examples, which
    ``test_grading.py`` grades), and every exercise it covers has a notebook."""
    assert set(JUDGED) | set(EXAMPLES) == set(registered())
    assert len(JUDGED) >= 34 and {"1.1", "8.5", "9.3"} <= set(JUDGED)
    assert EXAMPLES and not any("." in i for i in EXAMPLES)
    assert sorted(e for _, e in COURSE_EXERCISES) == sorted(JUDGED)


@pytest.mark.parametrize("exercise", JUDGED)
def test_the_solution_passes_visible_and_hidden(exercise):
    solution = solution_namespace(prefix_of(exercise))
    assert visible(exercise, solution) == f"PASS exercise {exercise}"
    assert [hidden(exercise, solution, solution, seed) for seed in SEEDS] == ["PASS"] * len(SEEDS)


@pytest.mark.parametrize("exercise", JUDGED)
def test_the_stub_fails_visible_and_hidden_saying_why(exercise):
    """Both messages name the stub's NotImplementedError. Where the answer is a value (``w_nand
    = ...``), the stub raises in the answer cell itself, which then defines nothing: both messages
    say that it is not defined and that its cell must run without an error."""
    prefix = prefix_of(exercise)
    solution, stubs = solution_namespace(prefix), stub_namespace(prefix)
    if all(name in stubs for name in definition_for(exercise).answers):
        cause = "NotImplementedError"
    else:
        stub = stub_solutions(answer_source(prefix, exercise), exercise)
        assert any(line.startswith("raise NotImplementedError") for line in stub.splitlines())
        cause = "not defined: run your answer cell"
    verdict = visible(exercise, stubs)
    assert verdict.startswith(f"FAIL exercise {exercise}:") and cause in verdict, verdict
    for seed in SEEDS:
        message = hidden(exercise, stubs, solution, seed)
        assert message != "PASS" and cause in message, (seed, message)


HOSTILE_VALUES = [Opaque("list"), None, "text", float("nan"), np.array([np.nan])]

MESSAGE_ONLY = {"type", "net_type"}
"""Response keys a judge reads only to word its message (5.5, 5.6): any value there may pass."""

FIXED_RESPONSES = [
    {},
    {"w_nand": Opaque("list")},
    {"result": None},
    {"results": [[None]], "w_given": []},
    {"result": (np.full(2, np.nan), 0.0)},
    {"result": (Opaque("Tensor"), "0.1")},
    {"w_nand": np.zeros(2), "b_nand": float("inf")},
    {"results": "x", "w_given": "x"},
    {"counts": Opaque("map")},
    {"counts": [None] * 6},
    {"result": (1, 2, 3)},
    {"result": [np.full((3, 3), np.nan)] * 3},
    {"W1": "w", "logits": 1.0},
    {"W1": np.eye(2), "b1": np.zeros(2), "W2": np.ones((2, 1)), "b2": np.zeros(1)},
    {"counts": [np.int64(5), -1, True, 2.0, "9", []]},
]
"""Responses no answer's ``respond`` builds, for any exercise (from the chapter 1 and 2 tests)."""


def mutations(value, depth: int = 0):
    """Copies of a decoded response, each with one part removed or replaced by something hostile.

    Yields ``(path, copy)``; ``path`` lists the keys and indices down to the changed part. A
    change that leaves the value equal (the transpose of a symmetric matrix, integers in a float
    array cast to int) is no mutation: a judge that compares values may accept it.
    """
    if depth > 4:
        return
    if type(value) is dict:
        for key in value:
            yield [key], {k: v for k, v in value.items() if k != key}
            if type(value[key]) in (dict, list, tuple):
                empty = [type(value[key])()] if value[key] else []
                for item in [Opaque("list"), None, *empty]:
                    yield [key], {**value, key: item}
            for path, item in mutations(value[key], depth + 1):
                yield [key, *path], {**value, key: item}
    elif type(value) in (list, tuple):
        if value:
            yield [], type(value)(list(value)[:-1])
        for index in {0, len(value) - 1} & set(range(len(value))):
            for path, item in mutations(value[index], depth + 1):
                copy = list(value)
                copy[index] = item
                yield [index, *path], type(value)(copy)
    elif value is not None:  # None marks a part not judged (5.3 asks some cases no gradient)
        for item in HOSTILE_VALUES:
            yield [], item
        if type(value) is np.ndarray:  # only arrays that differ: a symmetric W1 may be right
            for item in (value.T.copy() if value.ndim == 2 else value[:-1], value.astype(np.int64)):
                if item.shape != value.shape or not np.array_equal(item, value):
                    yield [], item


@pytest.mark.parametrize(("prefix", "exercise"), COURSE_EXERCISES, ids=lambda v: str(v))
def test_the_judge_rejects_hostile_responses_with_a_message(prefix, exercise):
    definition = definition_for(exercise)
    assert definition is not None, f"exercise {exercise} has no definition"
    inputs, secrets = draw_hidden(exercise, 1)
    expected = expected_response(exercise, solution_namespace(prefix), 1)
    judge_response(definition, expected, expected, inputs, secrets, hidden=True)  # it is right
    count = 0
    for path, response in mutations(expected):
        count += 1
        try:
            judge_response(definition, response, expected, inputs, secrets, hidden=True)
        except CheckError:
            continue
        except Exception as exc:  # noqa: BLE001 (the test's point: name what else was raised)
            pytest.fail(f"{path}: the judge raised {type(exc).__name__}: {exc}")
        assert MESSAGE_ONLY & set(map(str, path)), f"{path}: a changed response passed"
    for response in FIXED_RESPONSES:
        with pytest.raises(CheckError):
            judge_response(definition, response, expected, inputs, secrets, hidden=True)
    assert count >= 5
