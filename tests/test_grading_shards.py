"""Wide LMS gradebooks, ``outcomes.jsonl``, ``grade --shard K/N`` and ``merge``.

The pieces are tested on outcomes made by hand; the end-to-end test grades a small class of
the synthetic exercise notebook of ``test_grading.py`` once on one machine and once in two
shards, merges the shards and compares the files.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from coursepkg.grading.cli import build_parser
from coursepkg.grading.grade import Outcome, write_outputs
from coursepkg.grading.lms import write_lms
from coursepkg.grading.merge import MergeError, merge
from coursepkg.grading.outcomes_file import read_outcomes, write_outcomes
from coursepkg.grading.scoring import Row
from coursepkg.grading.shards import Shard, ShardError, select_submissions, write_shard_file
from coursepkg.grading.submissions import Submission

# Shards ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1/1", "2/3", " 3/3 "])
def test_a_shard_is_parsed_from_k_slash_n(text):
    shard = Shard.parse(text)
    assert str(shard) == text.strip()


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "2", "a/b", "-1/2", "1/2/3", "", "1.5/2"])
def test_a_bad_shard_is_refused_by_the_command_line(text, capsys):
    with pytest.raises(ShardError):
        Shard.parse(text)
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["grade", "src", "subs", "--out", "o", f"--shard={text}"])
    assert exit_info.value.code == 2
    assert "argument --shard: a shard" in capsys.readouterr().err


def test_shards_are_round_robin_over_exactly_sorted_names():
    students = ["bob", "alice", "Zoe", "carol", "dave", "alice"]  # sorted: Zoe alice bob ...
    assert Shard(1, 2).select(students) == {"Zoe", "bob", "dave"}
    assert Shard(2, 2).select(students) == {"alice", "carol"}
    assert Shard(3, 3).select(students) == {"bob"}


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_the_n_shards_partition_the_class(n):
    students = [f"student{i:02d}" for i in range(10)] + ["Ünal", "x y", "x_y"]
    shares = [Shard(k, n).select(students) for k in range(1, n + 1)]
    assert set().union(*shares) == set(students)
    assert sum(len(s) for s in shares) == len(students)


def test_all_notebooks_of_a_student_go_to_the_same_shard():
    found = [Submission(s, a, None) for s in ("ann", "ben", "cy") for a in ("01_x", "02_y")]
    first = select_submissions(found, Shard(1, 2))
    assert [(s.student, s.assignment) for s in first] == [
        ("ann", "01_x"),
        ("ann", "02_y"),
        ("cy", "01_x"),
        ("cy", "02_y"),
    ]
    assert select_submissions(found, None) == found


# Outcomes made by hand ----------------------------------------------------------------------


def outcome(student, chapter, points, status="graded", seconds=1.0):
    """An outcome with one row per exercise; ``points`` gives (got, max) per exercise."""
    rows = [
        Row(student, chapter, f"{i + 1}", "pass" if got == top else "fail", got, top, "")
        for i, (got, top) in enumerate(points)
    ]
    return Outcome(student, chapter, status, rows, seconds)


def sample_class():
    """Two assignments; bob missed the second, =cmd handed in one file for the first only."""
    return [
        outcome("alice", "01_a", [(1, 1), (2, 2)]),
        outcome("alice", "02_b", [(0, 3), (1.5, 1.5)]),
        outcome("bob", "01_a", [(1, 1), (0, 2)]),
        outcome("bob", "02_b", [(0, 3), (0, 1.5)], status="missing"),
        outcome("=cmd", "01_a", [(1, 1), (2, 2)]),
    ]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_the_canvas_file_has_canvas_columns_points_possible_and_totals(tmp_path):
    write_lms(sample_class(), tmp_path)
    header, possible, *rows = read_csv(tmp_path / "canvas.csv")
    assert header == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "01_a",
        "02_b",
        "Final Points",
    ]
    assert possible == ["    Points Possible", "", "", "", "", "3", "4.5", "(read only)"]
    assert rows == [
        ["'=cmd", "", "", "'=cmd", "", "3", "0", "3"],  # no 02_b at all: 0 points
        ["alice", "", "", "alice", "", "3", "1.5", "4.5"],
        ["bob", "", "", "bob", "", "1", "0", "1"],
    ]


def test_the_moodle_file_has_an_identifier_then_grade_items(tmp_path):
    write_lms(sample_class(), tmp_path)
    assert read_csv(tmp_path / "moodle.csv") == [
        ["Username", "01_a", "02_b", "Total"],
        ["'=cmd", "3", "0", "3"],
        ["alice", "3", "1.5", "4.5"],
        ["bob", "1", "0", "1"],
    ]


def test_lms_columns_ignore_rows_that_are_not_exercises(tmp_path):
    """A duplicate's "ignored" row and a notebook of no known assignment make no column."""
    ignored = Row("alice", "01_a", "", "ignored", 0.0, 0.0, "ignored: a copy")
    unknown = Row("alice", "notes.ipynb", "", "fail", 0.0, 0.0, "cannot tell")
    outcomes = [
        outcome("alice", "01_a", [(1, 1)]),
        Outcome("alice", "01_a", "ignored", [ignored]),
        Outcome("alice", "notes.ipynb", "not graded", [unknown]),
    ]
    write_lms(outcomes, tmp_path)
    assert read_csv(tmp_path / "moodle.csv") == [["Username", "01_a", "Total"], ["alice", "1", "1"]]


def test_outcomes_round_trip_exactly_even_with_names_that_are_not_utf8(tmp_path):
    student = os.fsdecode(b"caf\xe9") + " =cmd"  # holds a lone surrogate
    rows = [Row(student, "01_a", "1", "fail", 0.1 + 0.2, 1 / 3, "=HYPERLINK(x)\n" + "r" * 900)]
    original = [Outcome(student, "01_a", "graded", rows, 1.23456789)]
    path = tmp_path / "outcomes.jsonl"
    write_outcomes(original, path)
    assert path.read_bytes().isascii()
    assert read_outcomes(path) == original


# Merge, on outcomes made by hand -----------------------------------------------------------


def fake_shards(tmp_path, n=2, outcomes=None):
    """The output folders of ``n`` shards of ``sample_class()``, each with a runs/ folder."""
    outcomes = outcomes or sample_class()
    folders = []
    for k in range(1, n + 1):
        shard = Shard(k, n)
        mine = shard.select(o.student for o in outcomes)
        folder = tmp_path / f"grades-{k}"
        write_outputs([o for o in outcomes if o.student in mine], folder)
        write_shard_file(folder, shard)
        for student in mine:
            (folder / "runs" / f"{student}-run").mkdir(parents=True)
            (folder / "runs" / f"{student}-run" / "pytest.log").write_text(student)
        folders.append(folder)
    return folders


def test_merging_hand_made_shards_gives_the_files_of_the_whole_class(tmp_path):
    folders = fake_shards(tmp_path, n=3)
    whole = tmp_path / "whole"
    write_outputs(sorted(sample_class(), key=lambda o: (o.student, o.chapter)), whole)
    merged = merge(folders, tmp_path / "merged")
    assert [(o.student, o.chapter) for o in merged] == sorted(
        (o.student, o.chapter) for o in sample_class()
    )
    for name in ("gradebook.csv", "summary.csv", "summary.txt", "outcomes.jsonl"):
        assert (tmp_path / "merged" / name).read_bytes() == (whole / name).read_bytes(), name
    for name in ("canvas.csv", "moodle.csv"):
        assert (tmp_path / "merged/lms" / name).read_bytes() == (whole / "lms" / name).read_bytes()
    assert json.loads((tmp_path / "merged/shard.json").read_text()) == {"shard": "1/1"}
    assert sorted(p.name for p in (tmp_path / "merged/runs").iterdir()) == [
        "=cmd-run",
        "alice-run",
        "bob-run",
    ]
    assert (folders[0] / "runs").exists()  # copied, not moved


def test_merge_moves_the_runs_when_asked(tmp_path):
    folders = fake_shards(tmp_path)
    merge(folders, tmp_path / "merged", move=True)
    assert (tmp_path / "merged/runs/alice-run/pytest.log").read_text() == "alice"
    assert all(not any((f / "runs").iterdir()) for f in folders)


def test_merge_refuses_a_student_in_two_shards(tmp_path):
    folders = fake_shards(tmp_path)
    extra = [o for o in sample_class() if o.student == "alice"]  # alice is in shard 2 of 2
    write_outputs(read_outcomes(folders[0] / "outcomes.jsonl") + extra, folders[0])
    with pytest.raises(MergeError, match="student 'alice' is in two shards"):
        merge(folders, tmp_path / "merged")
    assert not (tmp_path / "merged").exists()  # nothing written


def test_merge_refuses_a_folder_without_outcomes(tmp_path):
    folders = fake_shards(tmp_path)
    (folders[1] / "outcomes.jsonl").unlink()
    with pytest.raises(MergeError, match="has no outcomes.jsonl"):
        merge(folders, tmp_path / "merged")
    with pytest.raises(MergeError, match="is not a folder"):
        merge([folders[0], tmp_path / "nowhere"], tmp_path / "merged")


def test_merge_refuses_shards_of_different_splits_or_given_twice(tmp_path):
    folders = fake_shards(tmp_path)
    write_shard_file(folders[1], Shard(2, 3))
    with pytest.raises(MergeError, match="different splits"):
        merge(folders, tmp_path / "merged")
    write_shard_file(folders[1], Shard(1, 2))
    with pytest.raises(MergeError, match="shard 1/2 is given twice"):
        merge(folders, tmp_path / "merged")


def test_merge_refuses_a_missing_shard_unless_allowed(tmp_path):
    folders = fake_shards(tmp_path, n=3)
    with pytest.raises(MergeError, match="shards 2/3 are missing"):
        merge([folders[0], folders[2]], tmp_path / "merged")
    merged = merge([folders[0], folders[2]], tmp_path / "merged", allow_missing=True)
    assert {o.student for o in merged} == {"=cmd", "bob"}
    record = json.loads((tmp_path / "merged/shard.json").read_text())
    assert record == {"shard": "1/1", "missing_shards": ["2/3"]}
    with pytest.raises(MergeError, match="itself a merge that lacks"):
        merge([tmp_path / "merged"], tmp_path / "again")


def test_merge_refuses_to_write_into_a_shard(tmp_path):
    folders = fake_shards(tmp_path)
    with pytest.raises(MergeError, match="is one of the shards"):
        merge(folders, folders[0])


def test_the_merge_command_reports_errors_clearly(tmp_path, capsys):
    from coursepkg.grading.cli import main

    folders = fake_shards(tmp_path)
    code = main(["merge", str(folders[0]), "--out", str(tmp_path / "merged")])
    assert code == 2
    assert "error: shards 2/2 are missing" in capsys.readouterr().err


# End to end: one machine, or two shards and a merge ------------------------------------------

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbval")
pytest.importorskip("nbclient")

# the instructor's notebook (a module fixture) and the helpers of the end-to-end tests
from test_grading import CORRECT, WRONG, course, fill, write  # noqa: E402, F401


def run_grader(*args):
    command = [sys.executable, "-m", "coursepkg.grading", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def without_seconds(folder):
    """summary.csv without its seconds column, summary.txt without its Runs line, and the
    outcomes without their seconds."""
    summary = [row[:-1] for row in read_csv(folder / "summary.csv")]
    text = [line for line in (folder / "summary.txt").read_text().splitlines()]
    text = [line for line in text if not line.startswith("Runs:")]
    records = [json.loads(line) for line in (folder / "outcomes.jsonl").read_text().splitlines()]
    for record in records:
        record.pop("seconds")
    return summary, text, records


def test_two_shards_merged_give_the_files_of_one_run(course, tmp_path):  # noqa: F811
    instructor, student_nb = course
    subs = tmp_path / "subs"
    name = "00_demo_exercises.ipynb"
    write(fill(student_nb, CORRECT), subs / "correct" / name)
    write(fill(student_nb, WRONG), subs / "wrong" / name)
    write(student_nb, subs / "Stub" / name)
    write(fill(student_nb, CORRECT), subs / "=cmd" / name)
    (subs / "empty").mkdir()  # nothing handed in: "missing" rows
    limits = ["--jobs", "2", "--cell-timeout", "20", "--timeout", "120"]
    one = tmp_path / "one"
    run_grader("grade", instructor, subs, "--out", one, *limits)
    shards = [tmp_path / f"grades-{k}" for k in (1, 2)]
    for k, folder in enumerate(shards, 1):
        run_grader("grade", instructor, subs, "--out", folder, "--shard", f"{k}/2", *limits)
    # sorted: =cmd Stub correct empty wrong; shard 1 has =cmd, correct, wrong
    first = {row[0] for row in read_csv(shards[0] / "gradebook.csv")[1:]}
    assert first == {"'=cmd", "correct", "wrong"}
    stdout = run_grader("merge", *shards, "--out", tmp_path / "merged")
    assert "Merged 2 shard folders" in stdout and "Points per student" in stdout

    merged = tmp_path / "merged"
    assert (merged / "gradebook.csv").read_bytes() == (one / "gradebook.csv").read_bytes()
    for lms in ("canvas.csv", "moodle.csv"):
        assert (merged / "lms" / lms).read_bytes() == (one / "lms" / lms).read_bytes()
    feedback = sorted(p.name for p in (one / "feedback").iterdir())
    assert feedback == sorted(p.name for p in (merged / "feedback").iterdir())
    assert len(feedback) == 5
    for file in feedback:
        assert (merged / "feedback" / file).read_bytes() == (one / "feedback" / file).read_bytes()
    assert without_seconds(merged) == without_seconds(one)
    runs = sorted(p.name for p in (one / "runs").iterdir() if "instructor" not in p.name)
    merged_runs = sorted(p.name for p in (merged / "runs").iterdir())
    assert len(runs) == 4 and set(runs) < set(merged_runs)
    # each shard drew its own hidden inputs, and ran the instructor's notebook on them
    references = [name for name in merged_runs if name.startswith("instructor-reference-seed-")]
    assert len(references) == 2
    assert (merged / "hidden_seeds.txt").read_text().count(" seed ") == 2
    assert json.loads((merged / "shard.json").read_text()) == {"shard": "1/1"}

    moodle = read_csv(merged / "lms" / "moodle.csv")
    assert moodle == [
        ["Username", "00_demo", "Total"],
        ["'=cmd", "6", "6"],
        ["Stub", "0", "0"],
        ["correct", "6", "6"],
        ["empty", "0", "0"],
        ["wrong", "2", "2"],
    ]
