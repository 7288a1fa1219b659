"""How long grading takes: one submission per exercise notebook, then a whole class.

Usage (from the repository root, in the project's environment):

    python benchmarks/grading_class.py                      # 100 students, 2 at a time
    python benchmarks/grading_class.py --students 20 --jobs 2 --assignment 01_perceptron

    python benchmarks/grading_class.py --unsafe-no-sandbox  # the same without the sandbox
    python benchmarks/grading_class.py --breakdown          # where one run's time goes

Synthetic submissions are made from the exercise notebooks in book/exercises: three in four
students hand in the solutions (markers removed), one in four the untouched student version.
First each assignment is graded for a single student (the time per submission, run alone);
then ``--students`` submissions of ``--assignment`` are graded ``--jobs`` at a time, which is the
time a class takes. ``--breakdown`` runs one chapter-3 submission alone, sandboxed and not, and
an empty notebook likewise, five times each, to split a run's time into starting pytest and a
kernel, the sandbox, and the cells. Numbers vary with the machine and with what else runs on it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from coursepkg.grading.exercise_format import (
    ANSWER,
    assignment_name,
    cell_grading,
    find_exercise_notebooks,
)
from coursepkg.grading.grade import GradingOptions, grade
from coursepkg.grading.release import release
from coursepkg.grading.runner import run_notebook
from coursepkg.grading.sandbox import SandboxLimits

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "book" / "exercises"


def solved(path: Path):
    """The instructor's notebook as a student who got everything right would hand it in."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell_grading(cell).get("role") == ANSWER:
            lines = cell.source.splitlines()
            cell.source = "\n".join(line for line in lines if "### " not in line)
    return nb


def make_class(folder: Path, notebook: Path, student_version: Path, n_students: int) -> None:
    """``n_students`` folders, each with one submission of ``notebook``."""
    right = solved(notebook)
    for k in range(n_students):
        target = folder / f"student{k:03d}"
        target.mkdir(parents=True)
        if k % 4 == 3:
            shutil.copy(student_version, target / notebook.name)
        else:
            nbformat.write(right, target / notebook.name)


def timed_grade(notebook: Path, submissions: Path, out: Path, options: GradingOptions):
    start = time.perf_counter()
    outcomes = grade(notebook, submissions, out, options)
    return time.perf_counter() - start, outcomes


def breakdown(notebook: Path, tmp: Path, repeats: int = 5) -> None:
    """Print the mean time of one run of ``notebook`` (solved) and of an empty notebook, with and
    without the sandbox."""
    empty = nbformat.v4.new_notebook()
    empty.cells = [nbformat.v4.new_code_cell("pass")]
    cases = {"empty notebook": empty, f"{notebook.stem} (solved)": solved(notebook)}
    times = {}
    for label, nb in cases.items():
        for sandbox in (False, True):
            folder = tmp / f"breakdown-{len(times)}"
            folder.mkdir()
            path = folder / notebook.name
            nbformat.write(nb, path)
            runs = []
            for _ in range(repeats):
                run = run_notebook(
                    path, cell_timeout=60, timeout=600, limits=SandboxLimits(), sandbox=sandbox
                )
                runs.append(run.seconds)
            times[label, sandbox] = sum(runs) / len(runs)
            where = "sandboxed" if sandbox else "no sandbox"
            print(f"  {label:<40} {where:<11} {times[label, sandbox]:.2f} s (mean of {repeats})")
    (empty_label, full_label) = cases
    start = times[empty_label, False]
    print(
        f"  => starting pytest, nbval and a kernel: {start:.2f} s; the sandbox adds "
        f"{times[empty_label, True] - start:.2f} s; the cells take "
        f"{times[full_label, True] - times[empty_label, True]:.2f} s in the sandbox, "
        f"{times[full_label, False] - start:.2f} s outside"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--assignment", default="03_backpropagation")
    parser.add_argument("--skip-single", action="store_true", help="only time the class")
    parser.add_argument(
        "--unsafe-no-sandbox", action="store_true", help="grade without the sandbox, to compare"
    )
    parser.add_argument("--breakdown", action="store_true", help="where one run's time goes")
    args = parser.parse_args(argv)
    sandbox = not args.unsafe_no_sandbox
    notebooks = {assignment_name(p): p for p in find_exercise_notebooks(EXERCISES)}
    if args.assignment not in notebooks:
        parser.error(f"--assignment must be one of {sorted(notebooks)}")
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as tmp:
        tmp = Path(tmp)
        students = {p.name: p for p in release(EXERCISES, tmp / "student")}
        if args.breakdown:
            print("Where the time of one run goes (1 job):")
            breakdown(notebooks[args.assignment], tmp)
            return 0
        print(f"Sandbox: {'on' if sandbox else 'OFF (--unsafe-no-sandbox)'}")
        if not args.skip_single:
            print("One submission, graded alone (1 job):")
            for name, path in notebooks.items():
                folder = tmp / f"single-{name}"
                make_class(folder, path, students[path.name], 1)
                seconds, outcomes = timed_grade(
                    path, folder, tmp / f"out-{name}", GradingOptions(jobs=1, sandbox=sandbox)
                )
                points = sum(r.points for o in outcomes for r in o.rows)
                print(f"  {name:<28} {seconds:5.1f} s  ({points:g} points: all checks pass)")
        path = notebooks[args.assignment]
        folder = tmp / "class"
        make_class(folder, path, students[path.name], args.students)
        options = GradingOptions(jobs=args.jobs, sandbox=sandbox)
        seconds, outcomes = timed_grade(path, folder, tmp / "out-class", options)
        passed = sum(1 for o in outcomes if all(r.result == "pass" for r in o.rows))
        print(
            f"Class: {args.students} submissions of {args.assignment}, {args.jobs} at a time: "
            f"{seconds:.0f} s in all, {seconds / args.students:.1f} s per submission "
            f"({passed} of {args.students} passed every check, as expected "
            f"{args.students - args.students // 4})."
        )
        mean_run = sum(o.seconds for o in outcomes) / len(outcomes)
        print(f"  each run took {mean_run:.1f} s on average while {args.jobs} ran at once")
    return 0


if __name__ == "__main__":
    sys.exit(main())
