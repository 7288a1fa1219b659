"""Exercises and grading: check helpers for exercise notebooks, and the instructor's tools.

Students meet only ``coursepkg.grading.checks`` (NumPy only), imported by the check cells. The
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
