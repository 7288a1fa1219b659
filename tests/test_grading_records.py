"""What the grader writes is safe to open and to import, whatever the submissions are called.

The end-to-end cases (other kernels, colliding names, copies, names that are not UTF-8) are in
``test_grading.py``; these are the pieces, one at a time.
"""

import csv
import os

import pytest

from coursepkg.grading.grade import MAX_REASON, Outcome, csv_text, run_folder_name, write_gradebook
from coursepkg.grading.scoring import Row, _cell_problem
from coursepkg.grading.submissions import (
    COPY_NAME,
    discover,
    display_name,
    notebook_language,
    read_submission,
)


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx"])
def test_a_cell_that_a_spreadsheet_would_run_as_a_formula_is_made_text(text):
    assert csv_text(text) == "'" + text


def test_reasons_are_capped_and_say_so():
    cell = csv_text("x" * 5_000_000, limit=MAX_REASON)
    assert len(cell) <= MAX_REASON and cell.endswith("pytest.log has it all)")


def test_undecodable_bytes_are_shown_as_escapes_and_stay_distinct():
    a, b = os.fsdecode(b"caf\xe9"), os.fsdecode(b"caf\xe8")
    assert display_name(a) == "caf\\xe9" != display_name(b)
    assert display_name("Zoë 学生") == "Zoë 学生"  # valid names are kept exactly


def test_the_gradebook_is_written_whatever_the_names_and_reasons(tmp_path):
    student = os.fsdecode(b"\xff\xfename")
    rows = [Row(student, "01_perceptron", "1.1", "fail", 0, 1, "=cmd|' /C calc'!A0")]
    write_gradebook([Outcome(student, "01_perceptron", "graded", rows)], tmp_path / "g.csv")
    with open(tmp_path / "g.csv", newline="", encoding="utf-8") as f:
        (record,) = list(csv.DictReader(f))
    assert record["student"] == "\\xff\\xfename"
    assert record["reason"] == "'=cmd|' /C calc'!A0"


def test_run_folders_differ_for_names_that_sanitize_alike():
    names = ["x y", "x_y", "Иван", "Пётр", "x/y"]
    folders = {run_folder_name(n) for n in names}
    assert len(folders) == len(names)
    assert all("/" not in f and f.isascii() for f in folders)


@pytest.mark.parametrize(
    ("metadata", "language"),
    [
        ({"kernelspec": {"name": "python3.11", "language": "python"}}, "python"),
        (
            {"kernelspec": {"name": "conda-env-nn-py"}, "language_info": {"name": "python"}},
            "python",
        ),
        ({"kernelspec": {"name": "conda-env-nn-py"}}, None),
        ({"kernelspec": {"name": "ir", "language": "R"}}, "R"),
        ({"kernelspec": {"name": "julia-1.10"}}, "julia-1.10"),
        ({}, None),
    ],
)
def test_the_language_comes_from_the_metadata_not_the_kernel_name(metadata, language):
    assert notebook_language(metadata) == language


@pytest.mark.parametrize(
    ("stem", "is_copy"),
    [
        ("01_perceptron_exercises-Copy1", True),
        ("01_perceptron_exercises-Copy2", True),
        ("01_perceptron_exercises (1)", True),
        ("01_perceptron_exercises - Copy", True),
        ("01_perceptron_exercises", False),
        ("my work", False),
    ],
)
def test_copies_are_recognised_by_name(stem, is_copy):
    assert bool(COPY_NAME.search(stem)) is is_copy


def test_a_failed_row_never_carries_a_pass_line():
    record = {"outcome": "failed", "message": "", "printed": "PASS exercise 1.2\n"}
    reason = _cell_problem(record, 60)
    assert "PASS exercise" not in reason
    assert "other output than its verdict" in reason


# Files that are not ordinary notebooks are refused before anything reads them --------------

ASSIGNMENTS = ["00_demo"]


def make_tree(tmp_path):
    """A submissions folder with one ordinary notebook and every kind of file that is refused."""
    secret = tmp_path / "instructor" / "00_demo_exercises.ipynb"
    secret.parent.mkdir()
    secret.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    subs = tmp_path / "subs"
    (subs / "honest").mkdir(parents=True)
    (subs / "honest" / "00_demo_exercises.ipynb").write_text(secret.read_text())
    (subs / "linker").mkdir()
    (subs / "linker" / "00_demo_exercises.ipynb").symlink_to(secret)
    (subs / "zero").mkdir()
    (subs / "zero" / "00_demo_exercises.ipynb").symlink_to("/dev/zero")
    (subs / "piper").mkdir()
    os.mkfifo(subs / "piper" / "00_demo_exercises.ipynb")
    (subs / "huge").mkdir()
    with open(subs / "huge" / "00_demo_exercises.ipynb", "wb") as f:
        f.truncate(60_000_000)  # sparse: 60 MB on paper, nothing on disk
    (subs / "folder_link").symlink_to(subs / "honest")
    (subs / "solo.ipynb").symlink_to(secret)
    return subs


def test_links_pipes_devices_and_huge_files_are_refused_without_being_read(tmp_path):
    subs = make_tree(tmp_path)
    found = {(s.student, s.assignment): s for s in discover(subs, ASSIGNMENTS)}
    assert found["honest", "00_demo"].problem is None
    expected = {
        "linker": "symbolic link",
        "zero": "symbolic link",
        "piper": "not a regular file",
        "huge": "60 MB",
        "folder_link": "symbolic link",
        "solo": "symbolic link",
    }
    for student, words in expected.items():
        refused = found[student, None]
        assert refused.problem.startswith("refused") and words in refused.problem, student
    # the refused students have nothing graded for the assignment
    assert all(
        found.get((s, "00_demo")) is None or found[s, "00_demo"].path is None for s in expected
    )


def test_read_submission_refuses_a_link_even_when_called_directly(tmp_path):
    subs = make_tree(tmp_path)
    nb, problem = read_submission(subs / "linker" / "00_demo_exercises.ipynb")
    assert nb is None and "symbolic link" in problem
    nb, problem = read_submission(subs / "piper" / "00_demo_exercises.ipynb")
    assert nb is None and "not a regular file" in problem


def test_feedback_text_cannot_break_the_table_or_inject_html():
    from coursepkg.grading.feedback import feedback_markdown

    rows = [Row("eve", "01_perceptron", "1.1", "fail", 0, 1, "a | b\n<script>x</script> [x](y)")]
    text = feedback_markdown("eve", [Outcome("eve", "01_perceptron", "graded", rows)])
    (row,) = [line for line in text.splitlines() if line.startswith("| 1.1")]
    assert row.count(" | ") == 3  # four cells: the | inside the reason is escaped
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "\\[x\\](y)" in text
    assert "**Total: 0 of 1 points.**" in text
