"""The instructor's command line: ``python -m coursepkg.grading {validate,release,grade}``.

python -m coursepkg.grading validate book/exercises
python -m coursepkg.grading release book/exercises --out student_notebooks
python -m coursepkg.grading grade book/exercises submissions --out grades --jobs 2
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .exercise_format import FormatError, find_exercise_notebooks, validate


def _validate(args) -> int:
    from ._deps import require

    nbformat = require("nbformat")
    failures = 0
    for path in find_exercise_notebooks(args.source):
        problems = validate(nbformat.read(path, as_version=4))
        failures += bool(problems)
        print(f"{path}: {'ok' if not problems else 'problems:'}")
        for problem in problems:
            print(f"  - {problem}")
    return 1 if failures else 0


def _release(args) -> int:
    from .release import release

    for path in release(args.source, args.out):
        print(f"wrote {path}")
    return 0


def _grade(args) -> int:
    from .grade import GradingOptions, grade, summary_text

    options = GradingOptions(cell_timeout=args.cell_timeout, timeout=args.timeout)
    if args.jobs is not None:
        options.jobs = args.jobs
    start = time.perf_counter()
    outcomes = grade(args.source, args.submissions, args.out, options, args.assignment)
    print(summary_text(outcomes), end="")
    print(
        f"Graded {len(outcomes)} submissions in {time.perf_counter() - start:.1f} s "
        f"with {options.jobs} at a time."
    )
    print(
        f"Gradebook: {Path(args.out) / 'gradebook.csv'}; summary: {Path(args.out) / 'summary.csv'}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m coursepkg.grading",
        description="Release exercise notebooks to students and grade their submissions.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("validate", help="check that exercise notebooks follow the format")
    check.add_argument("source", type=Path, help="an exercise notebook or a folder of them")
    check.set_defaults(run=_validate)

    rel = commands.add_parser("release", help="write the student versions (solutions stubbed)")
    rel.add_argument("source", type=Path, help="an exercise notebook or a folder of them")
    rel.add_argument("--out", type=Path, required=True, help="folder for the student notebooks")
    rel.set_defaults(run=_release)

    gr = commands.add_parser("grade", help="grade a folder of submissions into a gradebook")
    gr.add_argument("source", type=Path, help="the instructor's exercise notebook(s)")
    gr.add_argument("submissions", type=Path, help="one folder or notebook per student")
    gr.add_argument("--out", type=Path, required=True, help="folder for gradebook.csv etc.")
    gr.add_argument(
        "--assignment",
        action="append",
        metavar="NAME",
        help="grade only this assignment, e.g. 01_perceptron (repeatable)",
    )
    gr.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="submissions graded at once (default: the number of CPU cores)",
    )
    gr.add_argument(
        "--cell-timeout", type=float, default=60.0, help="seconds allowed per cell (default 60)"
    )
    gr.add_argument(
        "--timeout", type=float, default=600.0, help="seconds allowed per submission (default 600)"
    )
    gr.set_defaults(run=_grade)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (FormatError, FileNotFoundError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
