"""Exercises and grading: the exercises' checks, and the instructor's tools.

Students meet ``check("3.2")``, the whole of every check cell: it runs the exercise's definition
(``definition.py``; the course's are in ``exercises/``) on fixed inputs and prints ``PASS
exercise 3.2`` or what is wrong. Grading runs the same definition again on inputs drawn at
grading time and judges the answer's results outside the student's kernel (``hidden.py``). The
instructor's command-line tool (``python -m coursepkg.grading``) releases student versions of the
exercise notebooks and grades submissions with pytest and nbval; it needs the optional
dependencies ``pip install 'coursepkg[grading]'``. The notebook format (cell metadata, solution
markers) is described in ``exercise_format.py`` and on the book's instructor page.
"""

from .checks import (
    CheckError,
    check_exercise,
    expect_array,
    expect_callable,
    expect_float,
    expect_gradients,
    expect_int,
    expect_module,
    expect_true,
)
from .compare import expect_close
from .definition import ExerciseDefinition, check, register

__all__ = [
    "CheckError",
    "ExerciseDefinition",
    "check",
    "expect_close",
    "register",
    "check_exercise",
    "expect_array",
    "expect_callable",
    "expect_float",
    "expect_gradients",
    "expect_int",
    "expect_module",
    "expect_true",
]
