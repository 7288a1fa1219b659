"""The instructor's command line: ``python -m coursepkg.grading {validate,release,grade,merge}``.

python -m coursepkg.grading validate book/exercises
python -m coursepkg.grading release book/exercises --out student_notebooks
python -m coursepkg.grading grade book/exercises submissions --out grades --jobs 2
python -m coursepkg.grading grade book/exercises submissions --out grades-2 --shard 2/3
python -m coursepkg.grading merge grades-1 grades-2 grades-3 --out grades
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .exercise_format import FormatError, find_exercise_notebooks, validate
from .grade import SandboxUnavailableError


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
    from .sandbox import SandboxLimits

    limits = SandboxLimits(
        memory_mb=args.memory_limit,
        cpu_seconds=args.cpu_limit,
        processes=args.process_limit,
        file_size_mb=args.file_size_limit,
        tmp_size_mb=args.tmp_size_limit,
        cell_output_kb=args.cell_output_limit,
        notebook_output_mb=args.notebook_output_limit,
    )
    options = GradingOptions(
        cell_timeout=args.cell_timeout,
        timeout=args.timeout,
        limits=limits,
        sandbox=not args.unsafe_no_sandbox,
        hidden_seed=args.hidden_seed,
    )
    if args.jobs is not None:
        options.jobs = args.jobs
    start = time.perf_counter()
    outcomes = grade(
        args.source, args.submissions, args.out, options, args.assignment, shard=args.shard
    )
    print(summary_text(outcomes), end="")
    print(
        f"Graded {len(outcomes)} submissions in {time.perf_counter() - start:.1f} s "
        f"with {options.jobs} at a time."
    )
    print(
        f"Gradebook: {Path(args.out) / 'gradebook.csv'}; summary: {Path(args.out) / 'summary.csv'}"
    )
    print(f"For Canvas and Moodle: {Path(args.out) / 'lms'}")
    return 0


def _add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    from .sandbox import SandboxLimits

    default = SandboxLimits()
    group = parser.add_argument_group(
        "sandbox",
        "each submission's kernel runs in a bubblewrap sandbox with these limits (0: no limit)",
    )
    group.add_argument(
        "--unsafe-no-sandbox",
        action="store_true",
        help="grade without the sandbox where it cannot start (macOS, Windows): submitted code "
        "then runs as you and can read the solutions and change results; the summary says so",
    )
    limits = [
        ("--memory-limit", "memory_mb", "MiB of address space per process"),
        ("--cpu-limit", "cpu_seconds", "seconds of CPU time per process"),
        ("--process-limit", "processes", "processes and threads"),
        ("--file-size-limit", "file_size_mb", "MiB per file written"),
        ("--tmp-size-limit", "tmp_size_mb", "MiB of the private home and /tmp, each"),
        ("--cell-output-limit", "cell_output_kb", "KiB of output per cell"),
        ("--notebook-output-limit", "notebook_output_mb", "MiB of output per notebook"),
    ]
    for flag, name, what in limits:
        value = getattr(default, name)
        group.add_argument(flag, type=int, default=value, help=f"{what} (default {value})")


def _merge(args) -> int:
    from .grade import summary_text
    from .merge import merge

    outcomes = merge(args.folders, args.out, allow_missing=args.allow_missing, move=args.move)
    print(summary_text(outcomes), end="")
    print(f"Merged {len(args.folders)} shard folders into {args.out}.")
    return 0


def _shard_spec(text: str):
    """``--shard K/N`` as a Shard; argparse shows the ShardError's message."""
    from .shards import Shard, ShardError

    try:
        return Shard.parse(text)
    except ShardError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    _add_sandbox_arguments(gr)
    gr.add_argument(
        "--hidden-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the hidden checks' inputs (default: a fresh one each run, written to "
        "hidden_seeds.txt; give it to grade again on the same inputs)",
    )
    gr.add_argument(
        "--shard",
        type=_shard_spec,
        default=None,
        metavar="K/N",
        help="grade only share K of N: the students sorted by name, every N-th from the K-th "
        "(combine the N output folders with merge)",
    )
    gr.set_defaults(run=_grade)

    mg = commands.add_parser("merge", help="combine the output folders of grade --shard runs")
    mg.add_argument("folders", type=Path, nargs="+", help="the output folders of the shards")
    mg.add_argument("--out", type=Path, required=True, help="folder for the merged outputs")
    mg.add_argument(
        "--allow-missing",
        action="store_true",
        help="merge even if some shards of 1..N are missing (recorded in shard.json)",
    )
    mg.add_argument(
        "--move", action="store_true", help="move the shards' runs/ folders instead of copying"
    )
    mg.set_defaults(run=_merge)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv``; returns the exit status (2 for an error it explains)."""
    from .merge import MergeError

    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (
        FormatError,
        FileNotFoundError,
        ImportError,
        SandboxUnavailableError,
        MergeError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
