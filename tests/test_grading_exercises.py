"""The course's own exercise notebooks: they follow the format, their student versions hold no
solution text and fail every check, and their solution versions pass every check when graded."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbval")

from coursepkg.grading.exercise_format import (  # noqa: E402
    cell_grading,
    find_exercise_notebooks,
    validate,
)
from coursepkg.grading.grade import GradingOptions, grade  # noqa: E402
from coursepkg.grading.release import release  # noqa: E402

EXERCISES = Path(__file__).resolve().parents[1] / "book" / "exercises"
NOTEBOOKS = find_exercise_notebooks(EXERCISES)


def solution_lines(nb) -> list[str]:
    """Every non-blank line inside a solution region of the notebook's answer cells."""
    lines, inside = [], False
    for cell in nb.cells:
        for line in cell.source.splitlines():
            if line.strip() == "### BEGIN SOLUTION":
                inside = True
            elif line.strip() == "### END SOLUTION":
                inside = False
            elif inside and sum(ch.isalnum() for ch in line) >= 4:  # not a lone ")" or "]"
                lines.append(line.strip())
    return lines


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercise_notebook_follows_the_format(path):
    nb = nbformat.read(path, as_version=4)
    assert validate(nb) == []
    checks = [c for c in nb.cells if cell_grading(c).get("role") == "check"]
    assert len(checks) >= 3, "every chapter has at least three graded exercises"


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    return {p.name: p for p in release(EXERCISES, out)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_student_version_contains_no_solution_text(path, released):
    solution = nbformat.read(path, as_version=4)
    student = nbformat.read(released[path.name], as_version=4)
    assert [c.id for c in student.cells] == [c.id for c in solution.cells]  # ids kept
    text = "\n".join(c.source for c in student.cells)
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    student_lines = {line.strip() for line in text.splitlines()}
    leaked = [line for line in solution_lines(solution) if line in student_lines]
    assert leaked == []
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")
    checks = [c.source for c in student.cells if cell_grading(c).get("role") == "check"]
    assert checks == [c.source for c in solution.cells if cell_grading(c).get("role") == "check"]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_solutions_pass_and_student_versions_fail_every_check(released, tmp_path, seed):
    """Grade two students on the hidden inputs of grading seed ``seed``: one hands in the
    solutions (full marks), one the untouched student versions (0)."""
    submissions = tmp_path / "submissions"
    for student, sources in [("teacher", NOTEBOOKS), ("blank", list(released.values()))]:
        (submissions / student).mkdir(parents=True)
        for path in sources:
            (submissions / student / path.name).write_bytes(path.read_bytes())
    grade(
        EXERCISES,
        submissions,
        tmp_path / "grades",
        GradingOptions(cell_timeout=120, timeout=600, jobs=2, hidden_seed=seed),
    )
    seeds = (tmp_path / "grades" / "hidden_seeds.txt").read_text().splitlines()
    assert seeds == [f"{path.stem[: -len('_exercises')]} seed {seed}" for path in NOTEBOOKS]
    with open(tmp_path / "grades" / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    teacher = [r for r in rows if r["student"] == "teacher"]
    blank = [r for r in rows if r["student"] == "blank"]
    assert len(teacher) == len(blank) >= 3 * len(NOTEBOOKS)
    assert [r for r in teacher if r["result"] != "pass"] == []
    assert [r for r in blank if r["result"] != "fail"] == []
    assert all("NotImplementedError" in r["reason"] or "not defined" in r["reason"] for r in blank)


def test_validate_rejects_a_check_without_a_definition_or_with_code_of_its_own():
    """A check cell must be exactly ``check("<id>")`` of a registered definition: that is where
    the hidden check lives."""
    nb = nbformat.read(EXERCISES / "03_backpropagation_exercises.ipynb", as_version=4)
    (check_cell,) = [c for c in nb.cells if c.get("id") == "ex3-2-check"]
    assert validate(nb) == []
    check_cell.source = 'with check_exercise("3.2"):\n    expect_gradients(LeakyReLU(), X)'
    (problem,) = validate(nb)
    assert 'a check cell must be exactly check("3.2")' in problem
    for cell in nb.cells:  # exercise 3.2 renamed 3.9, which has no definition
        if cell_grading(cell).get("exercise") == "3.2":
            cell.metadata["grading"]["exercise"] = "3.9"
    check_cell.source = 'check("3.9")'
    check_cell.outputs = [nbformat.v4.new_output("stream", text="PASS exercise 3.9\n")]
    (problem,) = validate(nb)
    assert "exercise 3.9 has no definition with a hidden check" in problem
