"""Run an exercise notebook's code in this process, to test exercise definitions quickly.

``notebook_namespace`` executes a notebook's code cells (the Colab set-up and the check cells
left out) in a fresh namespace, with answer cells optionally replaced; ``visible`` and ``hidden``
then run an exercise's visible check and its hidden check on a grading seed, and return the
verdict line or the judge's message. No kernel, sandbox or nbval: ``test_grading_*`` test those.

``solution_namespace`` and ``stub_namespace`` are a notebook's namespaces with the instructor's
answers and with the released stubs, each run once per test session (``test_exercise_judges``
runs every exercise's solution and stub through both checks). The chapter tests share the rest:
``solution_fixture`` (the instructor's namespace as a fixture), answers changed on top of the
solution (``variant``, ``slipped``) or in the notebook (``with_answer``, ``with_slip``), a cheat
that replays the visible check's results (``replaying``), and the two assertions
``assert_fails`` and ``assert_cheat_caught``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest

from coursepkg.grading.checks import CheckError
from coursepkg.grading.definition import (
    check,
    decode_response,
    definition_for,
    draw_hidden,
    encode_response,
    judge_response,
    run_respond,
)
from coursepkg.grading.exercise_format import cell_grading, stub_solutions
from coursepkg.module import Module

EXERCISES = Path(__file__).resolve().parent.parent / "book" / "exercises"


def exercise_notebook(prefix: str) -> Path:
    """The exercise notebook whose file name starts with ``prefix``, e.g. ``"03"``."""
    (path,) = EXERCISES.glob(f"{prefix}_*_exercises.ipynb")
    return path


def answer_source(prefix: str, exercise: str) -> str:
    """The instructor's source of the (first) answer cell of ``exercise``."""
    nb = nbformat.read(exercise_notebook(prefix), as_version=4)
    for cell in nb.cells:
        meta = cell_grading(cell)
        if meta.get("exercise") == exercise and meta.get("role") == "answer":
            return cell.source
    raise KeyError(exercise)


def notebook_namespace(
    prefix: str, replace: dict[str, str] | None = None, *, stubs: bool = False
) -> dict:
    """A namespace after running the notebook's code cells in order (no checks, no Colab cell).

    Args:
        prefix: the notebook's number, e.g. ``"03"``.
        replace: per exercise id, source to run instead of its answer cells (all of them: the
            first answer cell gets the new source, the others are skipped).
        stubs: run the student versions of the answer cells (``raise NotImplementedError``).
    """
    replace = replace or {}
    path = exercise_notebook(prefix)
    nb = nbformat.read(path, as_version=4)
    namespace: dict = {"__name__": "__main__"}
    done: set[str] = set()
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        for cell in nb.cells:
            if cell.cell_type != "code" or "colab-setup" in cell.metadata.get("tags", []):
                continue
            meta = cell_grading(cell)
            if meta.get("role") == "check":
                continue
            source = cell.source
            if meta.get("role") == "answer":
                exercise = meta["exercise"]
                if exercise in replace:
                    if exercise in done:
                        continue
                    source = replace[exercise]
                    done.add(exercise)
                elif stubs:
                    source = stub_solutions(source, exercise)
            quiet = io.StringIO()
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                try:
                    exec(compile(source, f"<{cell.get('id')}>", "exec"), namespace)
                except NotImplementedError:
                    if not stubs:
                        raise
    finally:
        os.chdir(cwd)
    return namespace


def prefix_of(exercise: str) -> str:
    """The notebook prefix of an exercise id, e.g. ``"04"`` for ``"4.2"``."""
    return f"{int(exercise.split('.')[0]):02d}"


def exercise_ids(prefix: str) -> list[str]:
    """The exercises of a notebook, in order, from its cells' ``grading`` metadata."""
    nb = nbformat.read(exercise_notebook(prefix), as_version=4)
    ids = [cell_grading(cell).get("exercise") for cell in nb.cells]
    return list(dict.fromkeys(i for i in ids if i))


@functools.cache
def solution_namespace(prefix: str) -> dict:
    """The instructor's namespace of a notebook, run once per test session (tests copy it
    before they change it: ``variant``)."""
    return notebook_namespace(prefix)


@functools.cache
def stub_namespace(prefix: str) -> dict:
    """The namespace of a notebook's released version (every answer a stub that raises
    ``NotImplementedError``), run once per test session."""
    return notebook_namespace(prefix, stubs=True)


def solution_fixture(prefix: str):
    """A module-scoped fixture ``solution``: the instructor's namespace of a notebook; in a test
    module::

    solution = solution_fixture("04")
    """

    @pytest.fixture(scope="module")
    def solution() -> dict:
        return solution_namespace(prefix)

    return solution


def variant(solution: dict, source: str) -> dict:
    """The solution's namespace with ``source`` run on top (an answer replaced)."""
    namespace = dict(solution)
    exec(textwrap.dedent(source), namespace)
    return namespace


def slipped(solution: dict, exercise: str, old: str, new: str) -> dict:
    """The solution's namespace with the answer to ``exercise`` run again, ``old`` replaced by
    ``new`` (which must occur exactly once)."""
    source = answer_source(prefix_of(exercise), exercise)
    assert source.count(old) == 1, f"{old!r} is not in the answer to {exercise} exactly once"
    return variant(solution, source.replace(old, new))


def with_answer(exercise: str, source: str) -> dict:
    """The whole notebook run again, with ``source`` as the answer to ``exercise``."""
    return notebook_namespace(prefix_of(exercise), {exercise: source})


def with_slip(exercise: str, old: str, new: str) -> dict:
    """The whole notebook run again, the answer to ``exercise`` with ``old`` replaced by ``new``."""
    source = answer_source(prefix_of(exercise), exercise)
    assert source.count(old) == 1, f"{old!r} is not in the answer to {exercise} exactly once"
    return with_answer(exercise, source.replace(old, new))


def _call_key(args) -> str:
    """The arguments of a call, as a dictionary key (a model by the values of its parameters)."""

    def part(a):
        if isinstance(a, np.ndarray):
            return a.tobytes()
        if isinstance(a, Module):
            return [p.value.tobytes() for p in a.parameters()]
        return a

    return repr([part(a) for a in args])


def replaying(solution: dict, exercise: str, name: str) -> dict:
    """A cheat: the answer ``name`` replaced by a table of the instructor's results on the
    visible inputs (and the first of them for any other input). Asserts that it passes the
    visible check."""
    namespace, table = dict(solution), {}
    real = solution[name]

    def recording(*args, **kwargs):
        table[_call_key(args + tuple(kwargs.values()))] = result = real(*args, **kwargs)
        return result

    namespace[name] = recording
    assert visible(exercise, namespace) == f"PASS exercise {exercise}"

    def replay(*args, **kwargs):
        return table.get(_call_key(args + tuple(kwargs.values())), next(iter(table.values())))

    namespace[name] = replay
    return namespace


def assert_fails(exercise, namespace, solution, phrase, *, hidden_phrase=None, seeds=(1, 2)):
    """The visible and the hidden checks (on ``seeds``) fail, and their messages contain
    ``phrase`` (the hidden ones ``hidden_phrase``, if given)."""
    verdict = visible(exercise, namespace)
    assert verdict.startswith(f"FAIL exercise {exercise}:"), verdict
    assert phrase in verdict, verdict
    for seed in seeds:
        message = hidden(exercise, namespace, solution, seed)
        assert message != "PASS" and (hidden_phrase or phrase) in message, message


def assert_cheat_caught(exercise, namespace, solution, phrase, seeds=(1, 2)):
    """The visible check passes, the hidden one fails on every seed with ``phrase``."""
    assert visible(exercise, namespace) == f"PASS exercise {exercise}"
    for seed in seeds:
        message = hidden(exercise, namespace, solution, seed)
        assert message != "PASS" and phrase in message, message


def visible(exercise: str, namespace: dict) -> str:
    """The verdict line the visible check cell prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        check(exercise, namespace)
    return out.getvalue().strip()


def response(exercise: str, namespace: dict, inputs: dict) -> dict:
    """What the grader reads from the answers in ``namespace`` on ``inputs``."""
    raw = run_respond(definition_for(exercise), namespace, inputs)
    return decode_response(encode_response(raw))


_EXPECTED: dict = {}
"""The reference's hidden response per (exercise, seed, id of the reference namespace), with the
namespace (kept alive, so that its id is not reused): 5.5 trains a network for each."""


def expected_response(exercise: str, reference: dict, seed: int) -> dict:
    """The response of ``reference`` (the instructor's answers) to the hidden inputs of ``seed``,
    computed once."""
    key = (exercise, seed, id(reference))
    if key not in _EXPECTED:
        inputs, _ = draw_hidden(exercise, seed)
        _EXPECTED[key] = (reference, response(exercise, reference, inputs))
    return _EXPECTED[key][1]


def hidden(exercise: str, namespace: dict, reference: dict, seed: int) -> str:
    """``"PASS"`` or the hidden judge's message, for the answers in ``namespace`` against those
    in ``reference`` (the instructor's), on the hidden inputs of grading seed ``seed``."""
    definition = definition_for(exercise)
    inputs, secrets = draw_hidden(exercise, seed)
    expected = expected_response(exercise, reference, seed)
    got = expected if namespace is reference else response(exercise, namespace, inputs)
    try:
        judge_response(definition, got, expected, inputs, secrets, hidden=True)
    except CheckError as exc:
        return str(exc)
    return "PASS"
