"""Run an exercise notebook's code in this process, to test exercise definitions quickly.

``notebook_namespace`` executes a notebook's code cells (the Colab set-up and the check cells
left out) in a fresh namespace, with answer cells optionally replaced; ``visible`` and ``hidden``
then run an exercise's visible check and its hidden check on a grading seed, and return the
verdict line or the judge's message. No kernel, sandbox or nbval: ``test_grading_*`` test those.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import nbformat

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


def visible(exercise: str, namespace: dict) -> str:
    """The verdict line the visible check cell prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        check(exercise, namespace)
    return out.getvalue().strip()


def hidden(exercise: str, namespace: dict, reference: dict, seed: int) -> str:
    """``"PASS"`` or the hidden judge's message, for the answers in ``namespace`` against those
    in ``reference`` (the instructor's), on the hidden inputs of grading seed ``seed``."""
    definition = definition_for(exercise)
    inputs, secrets = draw_hidden(exercise, seed)
    response = decode_response(encode_response(run_respond(definition, namespace, inputs)))
    expected = decode_response(encode_response(run_respond(definition, reference, inputs)))
    try:
        judge_response(definition, response, expected, inputs, secrets, hidden=True)
    except CheckError as exc:
        return str(exc)
    return "PASS"
