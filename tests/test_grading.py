"""End-to-end tests of the grader on synthetic submissions, each scored exactly as it deserves.

Everything is written at test time into ``tmp_path``: a small instructor notebook with three
exercises (a function, a value, a module's backward pass), its student version, and one
submission per way a student can go right or wrong. Nothing here is collected as a test of the
project (the submissions' ``conftest.py`` and notebooks live only in ``tmp_path``).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbval")
nbclient = pytest.importorskip("nbclient")

from coursepkg.grading.exercise_format import validate  # noqa: E402
from coursepkg.grading.release import release  # noqa: E402

SETUP = """\
import numpy as np

import coursepkg as cp
from coursepkg.grading import check"""

ANSWERS = {
    "1": """\
def square(x):
    ### BEGIN SOLUTION
    return x * x
    ### END SOLUTION""",
    "2": """\
### BEGIN SOLUTION
w = np.array([1.0, -2.0])
### END SOLUTION""",
    "3": """\
class Double(cp.Module):
    def forward(self, X):
        return 2.0 * np.asarray(X)

    def backward(self, grad_out):
        ### BEGIN SOLUTION
        return 2.0 * grad_out
        ### END SOLUTION""",
}

CHECKS = {exercise: f'check("{exercise}")' for exercise in ("1", "2", "3")}
"""The check cells: the example exercises' definitions (coursepkg/grading/exercises/examples.py)."""
POINTS = {"1": 1, "2": 2, "3": 3}


def answer_cell(exercise: str, source: str):
    cell = nbformat.v4.new_code_cell(source)
    cell.id = f"ex{exercise}-answer"
    cell.metadata["grading"] = {"exercise": exercise, "role": "answer"}
    return cell


def check_cell(exercise: str):
    cell = nbformat.v4.new_code_cell(CHECKS[exercise])
    cell.id = f"ex{exercise}-check"
    cell.metadata["grading"] = {"exercise": exercise, "role": "check", "points": POINTS[exercise]}
    return cell


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The instructor's executed notebook (in ``instructor/``) and its student version."""
    root = tmp_path_factory.mktemp("course")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    intro = nbformat.v4.new_markdown_cell("# Demo exercises")
    intro.id = "intro"
    setup = nbformat.v4.new_code_cell(SETUP)
    setup.id = "setup"
    nb.cells = [intro, setup]
    for exercise, source in ANSWERS.items():
        nb.cells += [answer_cell(exercise, source), check_cell(exercise)]
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    instructor = root / "instructor"
    instructor.mkdir()
    nbformat.write(nb, instructor / "00_demo_exercises.ipynb")
    assert validate(nb) == []
    (student_path,) = release(instructor, root / "student")
    return instructor, nbformat.read(student_path, as_version=4)


def fill(student_nb, answers: dict[str, str]):
    """A copy of the student notebook with the given answer cells' sources."""
    nb = nbformat.from_dict(json.loads(nbformat.writes(student_nb)))
    for cell in nb.cells:
        meta = cell.metadata.get("grading", {})
        if meta.get("role") == "answer" and meta["exercise"] in answers:
            cell.source = answers[meta["exercise"]]
    return nb


CORRECT = {
    k: v.replace("### BEGIN SOLUTION\n", "").replace("### END SOLUTION", "")
    for k, v in ANSWERS.items()
}
WRONG = {
    "1": "def square(x):\n    return x + x",
    "2": "w = np.array([1.0, -2.0])",  # right
    "3": ANSWERS["3"].replace("2.0 * grad_out", "grad_out"),
}
ALWAYS_EQUAL = """\
class Anything:
    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.array([1.0, -2.0])
"""
MALICIOUS_CONFTEST = """\
import pathlib

import pytest

pathlib.Path(__file__).with_name("CONFTEST_WAS_LOADED").write_text("yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"
"""


def write(nb, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def gradebook(course, tmp_path_factory):
    """Grade one synthetic submission per case; return the rows by (student, exercise)."""
    instructor, student_nb = course
    subs = tmp_path_factory.mktemp("submissions")
    name = "00_demo_exercises.ipynb"
    write(fill(student_nb, CORRECT), subs / "correct" / name)
    write(fill(student_nb, WRONG), subs / "wrong" / name)
    write(student_nb, subs / "stub" / name)  # handed in unchanged

    faked = fill(student_nb, {"1": WRONG["1"], "3": WRONG["3"], "2": "w = np.zeros(2)"})
    for cell in faked.cells:  # rewrite every check and its stored output to say PASS
        meta = cell.metadata.get("grading", {})
        if meta.get("role") == "check":
            cell.source = f'print("PASS exercise {meta["exercise"]}")'
            cell.outputs = [
                nbformat.v4.new_output("stream", text=f"PASS exercise {meta['exercise']}\n")
            ]
            cell.execution_count = 1
    write(faked, subs / "faker" / name)

    looping = dict(CORRECT, **{"1": "def square(x):\n    while True:\n        pass"})
    write(fill(student_nb, looping), subs / "looper" / name)

    killer = dict(CORRECT, **{"2": "import os\n\nos._exit(1)\nw = np.array([1.0, -2.0])"})
    write(fill(student_nb, killer), subs / "killer" / name)

    exiting = dict(
        CORRECT,
        **{
            "1": "import sys\n\n\ndef square(x):\n    sys.exit(0)",
            "2": 'import sys\n\nsys.exit("done")\nw = np.array([1.0, -2.0])',
        },
    )
    write(fill(student_nb, exiting), subs / "exiter" / name)

    odd = dict(
        CORRECT,
        **{
            "1": ALWAYS_EQUAL + "\n\ndef square(x):\n    return Anything()",
            "2": ALWAYS_EQUAL + "\n\nw = Anything()",
        },
    )
    write(fill(student_nb, odd), subs / "odd_eq" / name)

    write(fill(student_nb, {"1": CORRECT["1"]}), subs / "mallory" / name)
    (subs / "mallory" / "conftest.py").write_text(MALICIOUS_CONFTEST)
    (subs / "mallory" / "pytest.ini").write_text("[pytest]\naddopts = -p no:nbval\n")

    (subs / "nora.ipynb").write_text("{ this is not a notebook")  # one file per student

    r_kernel = fill(student_nb, CORRECT)
    r_kernel.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    write(r_kernel, subs / "rita" / name)

    partial = fill(student_nb, CORRECT)
    partial.cells = [c for c in partial.cells if c.get("id") != "ex2-answer"]
    write(partial, subs / "deleter" / "my work.ipynb")  # renamed: found by its metadata

    # Issue 18: exercise 1's answer typed again further up, its answer cell deleted; the grader
    # must not stub it out.
    mover = fill(student_nb, CORRECT)
    mover.cells = [c for c in mover.cells if c.get("id") != "ex1-answer"]
    setup_at = [c.get("id") for c in mover.cells].index("setup")
    mover.cells.insert(setup_at + 1, nbformat.v4.new_code_cell(CORRECT["1"]))
    write(mover, subs / "mover" / name)

    # Honest students whose environment differs (issue 12): other Python kernels, names that
    # collide once sanitized, a stale JupyterLab copy, a folder name that is not UTF-8.
    py311 = fill(student_nb, CORRECT)
    py311.metadata["kernelspec"] = {
        "name": "python3.11",
        "display_name": "Python 3.11",
        "language": "python",
    }
    write(py311, subs / "py311" / name)
    conda = fill(student_nb, CORRECT)
    conda.metadata["kernelspec"] = {"name": "conda-env-nn-py", "display_name": "Python [nn]"}
    conda.metadata["language_info"] = {"name": "python"}
    write(conda, subs / "conda" / name)
    write(fill(student_nb, CORRECT), subs / "x y" / name)
    write(fill(student_nb, WRONG), subs / "x_y" / name)
    write(fill(student_nb, CORRECT), subs / "copier" / name)
    write(fill(student_nb, WRONG), subs / "copier" / "00_demo_exercises-Copy1.ipynb")
    write(fill(student_nb, CORRECT), subs / os.fsdecode(b"caf\xe9") / name)

    # Text no UTF-8 file can hold (a lone surrogate, which JSON can encode) in an answer's error
    # and in a notebook file: only these students' rows may say so; the gradebook is written.
    lone = dict(CORRECT, **{"1": 'def square(x):\n    raise ValueError("\\ud800 lone")'})
    write(fill(student_nb, lone), subs / "lone" / name)
    (subs / "lonefile").mkdir()
    text = nbformat.writes(fill(student_nb, CORRECT)).replace(
        '"nbformat": 4', '"nbformat": "\\ud800"'
    )
    (subs / "lonefile" / name).write_text(text, encoding="utf-8")

    out = tmp_path_factory.mktemp("grades")
    command = [
        sys.executable,
        "-m",
        "coursepkg.grading",
        "grade",
        str(instructor),
        str(subs),
        "--out",
        str(out),
        "--jobs",
        "2",
        "--cell-timeout",
        "10",
        "--timeout",
        "120",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(out / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return {(r["student"], r["exercise"]): r for r in rows}, out, subs, done.stdout


def results(rows, student):
    return [rows[student, e]["result"] for e in ("1", "2", "3")]


def test_gradebook_has_one_row_per_student_and_exercise(gradebook):
    rows, out, _, stdout = gradebook
    students = {s for s, _ in rows}
    assert students == {
        "correct",
        "wrong",
        "stub",
        "faker",
        "looper",
        "killer",
        "exiter",
        "odd_eq",
        "mallory",
        "nora",
        "rita",
        "deleter",
        "mover",
        "py311",
        "conda",
        "x y",
        "x_y",
        "copier",
        "lone",
        "lonefile",
        "caf\\xe9",
    }
    assert len(rows) == 3 * len(students) + 1  # the one extra row: copier's ignored copy
    assert (out / "summary.csv").exists() and "Points per student" in stdout


def test_correct_submission_gets_full_points(gradebook):
    rows = gradebook[0]
    assert results(rows, "correct") == ["pass", "pass", "pass"]
    assert [rows["correct", e]["points"] for e in "123"] == ["1", "2", "3"]


def test_text_that_utf8_cannot_hold_breaks_only_its_own_rows(gradebook):
    rows = gradebook[0]
    assert results(rows, "lone") == ["fail", "pass", "pass"]
    assert "ValueError: \\ud800 lone" in rows["lone", "1"]["reason"]
    assert results(rows, "lonefile") == ["fail", "fail", "fail"]
    assert "\\ud800" in rows["lonefile", "1"]["reason"]


def test_wrong_answers_fail_with_a_useful_reason(gradebook):
    rows = gradebook[0]
    assert results(rows, "wrong") == ["fail", "pass", "fail"]
    assert "square(3.0) is 6, expected 9" in rows["wrong", "1"]["reason"]
    reason = rows["wrong", "3"]["reason"]
    assert "the input gradient that the backward pass of Double returned differs" in reason
    assert "exactly half the right values: a factor of 2 missing" in reason
    assert rows["wrong", "1"]["points"] == "0"


def test_stub_left_in_place_fails(gradebook):
    rows = gradebook[0]
    assert results(rows, "stub") == ["fail", "fail", "fail"]
    assert "NotImplementedError" in rows["stub", "1"]["reason"]
    assert "w is not defined: run your answer cell for exercise 2" in rows["stub", "2"]["reason"]


def test_faked_checks_and_outputs_do_not_pass(gradebook):
    assert results(gradebook[0], "faker") == ["fail", "fail", "fail"]


def test_endless_loop_fails_only_its_exercise(gradebook):
    rows = gradebook[0]
    assert results(rows, "looper") == ["fail", "pass", "pass"]
    assert "time limit of 10 s per cell" in rows["looper", "1"]["reason"]


def test_killed_kernel_fails_its_exercise_and_the_rest(gradebook):
    rows = gradebook[0]
    assert results(rows, "killer") == ["pass", "fail", "fail"]
    assert "kernel died" in rows["killer", "2"]["reason"]
    assert "kernel had died" in rows["killer", "3"]["reason"]


def test_sys_exit_fails_only_its_exercises(gradebook):
    rows = gradebook[0]
    assert results(rows, "exiter") == ["fail", "fail", "pass"]
    assert "sys.exit" in rows["exiter", "1"]["reason"]


def test_objects_whose_eq_is_always_true_fail(gradebook):
    rows = gradebook[0]
    assert results(rows, "odd_eq") == ["fail", "fail", "pass"]
    assert (
        "should be a number (float), got an object of type Anything"
        in rows["odd_eq", "1"]["reason"]
    )
    assert "should be a NumPy array" in rows["odd_eq", "2"]["reason"]


def test_conftest_and_config_of_a_submission_are_never_loaded(gradebook):
    rows, _, subs, _ = gradebook
    assert results(rows, "mallory") == ["pass", "fail", "fail"]
    assert not (subs / "mallory" / "CONFTEST_WAS_LOADED").exists()


def test_malformed_notebooks_get_clear_rows(gradebook):
    rows = gradebook[0]
    assert results(rows, "nora") == ["fail", "fail", "fail"]
    assert "not JSON" in rows["nora", "1"]["reason"]
    assert results(rows, "rita") == ["fail", "fail", "fail"]
    assert "written for the language 'R'" in rows["rita", "2"]["reason"]


def test_any_python_kernel_is_accepted(gradebook):
    rows = gradebook[0]
    assert results(rows, "py311") == ["pass", "pass", "pass"]
    assert results(rows, "conda") == ["pass", "pass", "pass"]


def test_names_that_collide_once_sanitized_keep_their_own_runs(gradebook):
    rows, out, _, _ = gradebook
    assert results(rows, "x y") == ["pass", "pass", "pass"]
    assert results(rows, "x_y") == ["fail", "pass", "fail"]
    folders = [p.name for p in (out / "runs").iterdir() if p.name.startswith("x_y-")]
    assert len(folders) == 2


def test_a_stale_copy_is_ignored_when_the_released_file_is_there(gradebook):
    rows, _, _, stdout = gradebook
    assert results(rows, "copier") == ["pass", "pass", "pass"]
    ignored = rows["copier", ""]
    assert ignored["result"] == "ignored" and ignored["points"] == ignored["max_points"] == "0"
    assert "00_demo_exercises-Copy1.ipynb" in ignored["reason"]
    assert "graded 00_demo_exercises.ipynb instead" in stdout


def test_a_folder_name_that_is_not_utf8_is_graded_and_shown_escaped(gradebook):
    rows, out, _, stdout = gradebook
    assert results(rows, "caf\\xe9") == ["pass", "pass", "pass"]
    assert "caf\\xe9" in stdout and (out / "summary.txt").exists()


def test_an_answer_written_further_up_keeps_its_points(gradebook):
    rows = gradebook[0]
    assert results(rows, "mover") == ["pass", "pass", "pass"]


def test_missing_answer_cell_fails_only_its_exercise(gradebook):
    rows = gradebook[0]
    assert results(rows, "deleter") == ["pass", "fail", "pass"]
    assert (
        "no answer found for exercise 2: looked for cell ex2-answer"
        in rows["deleter", "2"]["reason"]
    )


def test_every_student_gets_a_feedback_file_without_solutions(gradebook, course):
    rows, out, _, _ = gradebook
    files = sorted((out / "feedback").glob("*.md"))
    assert len(files) == len({s for s, _ in rows})
    (wrong,) = [f for f in files if f.name.startswith("wrong-")]
    text = wrong.read_text(encoding="utf-8")
    assert "# Feedback for wrong" in text and "**Total: 2 of 6 points.**" in text
    assert "square(3.0) is 6, expected 9" in text
    instructor_nb = next(course[0].glob("*.ipynb")).read_text(encoding="utf-8")
    assert "return x * x" in instructor_nb  # the solution exists there...
    for f in files:  # ...and in no feedback file
        assert "return x * x" not in f.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in f.read_text(encoding="utf-8")


def test_the_lms_files_and_outcomes_cover_the_whole_class(gradebook):
    from coursepkg.grading.outcomes_file import read_outcomes

    rows, out, _, _ = gradebook
    outcomes = read_outcomes(out / "outcomes.jsonl")
    assert sum(len(o.rows) for o in outcomes) == len(rows)
    with open(out / "lms" / "moodle.csv", newline="", encoding="utf-8") as f:
        header, *records = list(csv.reader(f))
    assert header == ["Username", "00_demo", "Total"]
    moodle = {r[0]: r[1:] for r in records}
    assert moodle.keys() == {s for s, _ in rows}
    assert moodle["copier"] == ["6", "6"]  # the ignored copy counts nothing
    assert moodle["wrong"] == moodle["x_y"] == ["2", "2"] and moodle["nora"] == ["0", "0"]
    assert moodle["caf\\xe9"] == ["6", "6"]
    with open(out / "lms" / "canvas.csv", newline="", encoding="utf-8") as f:
        canvas = list(csv.reader(f))
    assert canvas[1] == ["    Points Possible", "", "", "", "", "6", "(read only)"]
    assert len(canvas) == len(records) + 2
