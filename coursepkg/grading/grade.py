"""Grade a folder of submissions in parallel and write the gradebook.

For every (student, assignment): read the submission, rebuild it from the instructor's notebook
(``rebuild.py``), run it with nbval in its own process (``runner.py``) and score the per-cell
results (``scoring.py``). Submissions run ``jobs`` at a time; anything that goes wrong with one
submission becomes rows of that student's gradebook, never an error of the whole run.

Outputs in ``out_dir``: ``gradebook.csv`` (one row per student and exercise), ``summary.csv``
(one row per student and assignment, with the time its run took), ``summary.txt`` (what
``grade`` prints), ``feedback/<student>-<hash>.md`` (one file per student, safe to hand back:
verdicts, points and reasons, no solutions), ``lms/canvas.csv`` and ``lms/moodle.csv`` (one row
per student, one column per assignment: ``lms.py``), ``outcomes.jsonl`` (every outcome, exactly:
``outcomes_file.py``), ``shard.json`` (which share of the class: ``shards.py``) and
``runs/<student>-<hash>/<assignment>/`` (the rebuilt notebook and pytest's log, to see exactly
what was run).
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import hidden as hidden_checks
from ._deps import require
from .exercise_format import (
    Exercise,
    FormatError,
    assignment_name,
    exercises_of,
    find_exercise_notebooks,
)
from .feedback import write_feedback
from .rebuild import rebuild
from .runner import RunResult, run_notebook
from .sandbox import SandboxLimits, probe
from .scoring import (
    IGNORED,
    MAX_REASON,
    PASS,
    HiddenVerdict,
    Row,
    capped,
    failed_rows,
    score,
)
from .shards import WHOLE, Shard, select_submissions, write_shard_file
from .submissions import Submission, discover, display_name, read_submission

GRADEBOOK_COLUMNS = ["student", "chapter", "exercise", "result", "points", "max_points", "reason"]
SUMMARY_COLUMNS = ["student", "chapter", "status", "points", "max_points", "seconds"]


@dataclass
class Assignment:
    """An instructor's exercise notebook: its name, file, content and exercises."""

    name: str
    path: Path
    nb: object
    exercises: list[Exercise]

    @property
    def max_points(self) -> float:
        return sum(e.points for e in self.exercises)


@dataclass
class Outcome:
    """The graded rows of one (student, assignment), its status and its wall time."""

    student: str
    chapter: str
    status: str
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0
    sandboxed: bool = True
    """False when the submission's code ran without the sandbox."""


@dataclass
class GradingOptions:
    """Time limits, the sandbox and parallelism.

    Attributes:
        cell_timeout: seconds nbval allows each cell.
        timeout: seconds allowed for one submission's whole run.
        jobs: submissions graded at the same time.
        limits: resource limits of the sandbox, and output limits (which hold without it).
        sandbox: run each kernel in the bubblewrap sandbox; False lets submitted code do
            anything the grading user can (unsafe).
        hidden_seed: the seed of the hidden checks' inputs; None draws a fresh one (the
            default: nobody can know the inputs before the run). Giving the seed a run used
            grades again on the same inputs.
    """

    cell_timeout: float = 60.0
    timeout: float = 600.0
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    sandbox: bool = True
    hidden_seed: int | None = None


class SandboxUnavailableError(RuntimeError):
    """The sandbox cannot start on this machine, and unsandboxed grading was not asked for."""


UNSAFE_WARNING = (
    "WARNING: graded WITHOUT a sandbox (--unsafe-no-sandbox): submitted code ran as the grading "
    "user and could read the solutions, change other results and the gradebook. Re-grade "
    "sandboxed before trusting these points."
)


def load_assignments(source: Path, names: list[str] | None = None) -> dict[str, Assignment]:
    """The instructor's exercise notebooks in ``source`` (a notebook or a folder), by name,
    optionally only those in ``names``. Raises FormatError if one breaks the format."""
    nbformat = require("nbformat")
    assignments = {}
    for path in find_exercise_notebooks(Path(source)):
        name = assignment_name(path)
        if names and name not in names:
            continue
        nb = nbformat.read(path, as_version=4)
        try:
            exercises = exercises_of(nb)
        except FormatError as exc:
            raise FormatError(f"{path}: {exc}") from None
        assignments[name] = Assignment(name, path, nb, exercises)
    if names and set(names) - assignments.keys():
        unknown = sorted(set(names) - assignments.keys())
        raise FileNotFoundError(f"no exercise notebook named {unknown} in {source}")
    return assignments


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name) or "_"


def run_folder_name(student: str) -> str:
    """A folder name for a student's runs: readable, and different for different students.

    Sanitizing alone would give ``x y`` and ``x_y`` (or two names in non-Latin letters) the same
    folder, and one student's run would overwrite the other's; the hash of the exact name keeps
    them apart.
    """
    digest = hashlib.sha256(student.encode("utf-8")).hexdigest()[:10]
    return f"{_safe(student)[:60]}-{digest}"


# A cell that starts with one of these is a formula to Excel, LibreOffice and Google Sheets
# (OWASP, "CSV injection"); a leading apostrophe makes the spreadsheet show it as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value, *, limit: int | None = None) -> str:
    """``value`` as a gradebook cell: valid UTF-8, never a spreadsheet formula, at most
    ``limit`` characters (then ending in a note that it was cut)."""
    text = display_name(str(value))
    if limit is not None:
        text = capped(text, limit)
    if text.startswith(FORMULA_START):
        text = "'" + text
    return text


def _run(
    graded, notebook: Path, options: GradingOptions, hidden: hidden_checks.HiddenInputs
) -> RunResult:
    """Write ``graded`` to ``notebook``, run it with nbval, and save it again with the outputs
    of the run. The probe cells of ``hidden`` have no cell output limit."""
    nbformat = require("nbformat")
    nbformat.write(graded, notebook)
    run = run_notebook(
        notebook,
        cell_timeout=options.cell_timeout,
        timeout=options.timeout,
        single_threaded=options.jobs > 1,
        limits=options.limits,
        sandbox=options.sandbox,
        probe_token=hidden.token,
    )
    nbformat.write(with_outputs(graded, run), notebook)
    return run


def reference_folder(seed: int) -> str:
    """The folder of ``runs/`` holding the instructor's own runs on the hidden inputs of grading
    seed ``seed`` (a student's folder name ends in a 10-digit hash, so none is called so)."""
    return f"instructor-reference-seed-{seed}"


def prepare_hidden(
    assignment: Assignment, work: Path, options: GradingOptions, seed: int
) -> hidden_checks.HiddenInputs:
    """Draw the assignment's hidden inputs for grading seed ``seed`` and run the instructor's
    notebook on them: its responses are what every submission's responses are compared with."""
    hidden = hidden_checks.draw(assignment.exercises, seed)
    graded, _ = rebuild(assignment.nb, assignment.nb)
    hidden_checks.with_probes(graded, assignment.exercises, hidden)
    folder = work / reference_folder(seed) / _safe(assignment.name)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        run = _run(graded, folder / assignment.path.name, options, hidden)
        responses = hidden_checks.read_responses(
            run.cells, hidden, assignment.exercises, reference=True
        )
    except Exception as exc:  # the exercises are then not graded, and the summary says why
        why = f"the instructor's notebook could not be run: {type(exc).__name__}: {exc}"
        responses = dict.fromkeys((e.id for e in assignment.exercises), why)
    hidden_checks.accept_reference(hidden, responses, assignment.exercises)
    return hidden


def hidden_verdicts(run: RunResult, assignment: Assignment, hidden) -> dict[str, HiddenVerdict]:
    """The hidden check of every exercise of a submission's run."""
    responses = hidden_checks.read_responses(run.cells, hidden, assignment.exercises)
    verdicts = {}
    for exercise in assignment.exercises:
        if exercise.id in hidden.unusable:
            verdicts[exercise.id] = HiddenVerdict(False, hidden.unusable[exercise.id], False)
            continue
        why = hidden_checks.judge(exercise.id, responses[exercise.id], hidden)
        verdicts[exercise.id] = HiddenVerdict(not why, why)
    return verdicts


def grade_one(
    submission: Submission,
    assignment: Assignment,
    work: Path,
    options: GradingOptions,
    hidden: hidden_checks.HiddenInputs,
) -> Outcome:
    """Grade one student's notebook for one assignment (never raises)."""
    start = time.perf_counter()
    student, chapter = submission.student, assignment.name

    def failed(status: str, reason: str) -> Outcome:
        rows = failed_rows(student, chapter, assignment.exercises, reason)
        return Outcome(student, chapter, status, rows, time.perf_counter() - start)

    if submission.path is None:
        return failed("missing", submission.problem or "no notebook submitted")
    if submission.ignored:  # a duplicate: one row that says so, and no exercise counted twice
        row = Row(student, chapter, "", IGNORED, 0.0, 0.0, submission.problem or "ignored")
        return Outcome(student, chapter, "ignored", [row], time.perf_counter() - start)
    if submission.problem:
        return failed("not graded", submission.problem)
    try:
        student_nb, problem = read_submission(submission.path)
        if problem:
            return failed("malformed", f"{submission.path.name}: {problem}")
        graded, notes = rebuild(assignment.nb, student_nb)
        hidden_checks.with_probes(graded, assignment.exercises, hidden)
        folder = work / run_folder_name(student) / _safe(chapter)
        folder.mkdir(parents=True, exist_ok=True)
        run = _run(graded, folder / assignment.path.name, options, hidden)
        rows = score(
            student,
            chapter,
            assignment.exercises,
            run,
            notes,
            cell_timeout=options.cell_timeout,
            timeout=options.timeout,
            hidden=hidden_verdicts(run, assignment, hidden),
        )
        status = "time limit" if run.timed_out else "limit exceeded" if run.stopped else "graded"
        seconds = time.perf_counter() - start
        return Outcome(student, chapter, status, rows, seconds, options.sandbox)
    except Exception as exc:  # one broken submission must not stop the others
        return failed("error", f"the grader failed on this submission: {type(exc).__name__}: {exc}")


def with_outputs(nb, run: RunResult):
    """A copy of the graded notebook holding what each cell output in the run (a cell that
    never ran has none), so the saved run shows the student's actual outputs."""
    import copy

    shown = copy.deepcopy(nb)
    nbformat = require("nbformat")
    for cell in shown.cells:
        if cell.cell_type != "code":
            continue
        record = run.cells.get(cell.get("id"), {})
        cell.outputs = [nbformat.from_dict(out) for out in record.get("outputs", [])]
        cell.execution_count = None
    return shown


def grade(
    source: Path,
    submissions: Path,
    out_dir: Path,
    options: GradingOptions | None = None,
    names: list[str] | None = None,
    shard: Shard | None = None,
) -> list[Outcome]:
    """Grade every submission in ``submissions`` against the exercise notebooks in ``source``
    and write the gradebook, summary and runs into ``out_dir``. Returns the outcomes.

    With ``shard``, only that share of the students is graded (``shards.py``); ``out_dir``
    then holds that share's outputs, and ``merge`` combines the shards."""
    options = options or GradingOptions()
    if options.sandbox:
        why = probe(options.limits)
        if why:
            raise SandboxUnavailableError(
                f"cannot grade safely: {why}. To grade without a sandbox anyway (submitted code "
                "then runs as you, with access to your files), pass --unsafe-no-sandbox."
            )
    assignments = load_assignments(source, names)
    found = select_submissions(discover(Path(submissions), list(assignments)), shard)
    out_dir = Path(out_dir)
    work = out_dir / "runs"
    work.mkdir(parents=True, exist_ok=True)
    todo = [s for s in found if s.assignment in assignments]
    unknown = [s for s in found if s.assignment not in assignments]
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        seed = options.hidden_seed
        seed = hidden_checks.new_seed() if seed is None else seed
        needed = sorted({s.assignment for s in todo})
        prepared = pool.map(
            lambda name: prepare_hidden(assignments[name], work, options, seed), needed
        )
        hidden = dict(zip(needed, prepared, strict=True))
        outcomes = list(
            pool.map(
                lambda s: grade_one(
                    s, assignments[s.assignment], work, options, hidden[s.assignment]
                ),
                todo,
            )
        )
    write_hidden_seeds(hidden, out_dir)
    for s in unknown:  # a notebook that matches no assignment: one row says so
        row = Row(s.student, s.path.name if s.path else "?", "", "fail", 0.0, 0.0, s.problem or "")
        outcomes.append(Outcome(s.student, row.chapter, "not graded", [row]))
    outcomes.sort(key=lambda o: (o.student, o.chapter))
    write_shard_file(out_dir, shard or WHOLE)  # before outcomes.jsonl, which marks the end
    write_outputs(outcomes, out_dir)
    return outcomes


HIDDEN_SEEDS_FILE = "hidden_seeds.txt"


def write_hidden_seeds(hidden: dict, out_dir: Path) -> None:
    """Record the grading seed of the hidden checks (``--hidden-seed`` grades again on the same
    inputs), one line per assignment, and any exercise its instructor's run left unusable."""
    lines = [f"{name} seed {h.seed}" for name, h in sorted(hidden.items())]
    lines += [
        f"{name} exercise {exercise}: not graded, {why}"
        for name, h in sorted(hidden.items())
        for exercise, why in h.unusable.items()
    ]
    (Path(out_dir) / HIDDEN_SEEDS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_outputs(outcomes: list[Outcome], out_dir: Path) -> None:
    """Write everything ``grade`` writes about ``outcomes`` (sorted by student and chapter)
    into ``out_dir``, except ``runs/`` and ``shard.json``: ``gradebook.csv``, ``summary.csv``,
    ``summary.txt``, ``feedback/``, ``lms/`` and, last, ``outcomes.jsonl``. ``merge`` calls it
    too, so that merged shards give the same files as one run."""
    from .lms import write_lms  # imported here: both modules import this one
    from .outcomes_file import OUTCOMES_FILE, write_outcomes

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_gradebook(outcomes, out_dir / "gradebook.csv")
    write_summary(outcomes, out_dir / "summary.csv")
    write_feedback(outcomes, out_dir / "feedback", run_folder_name)
    (out_dir / "summary.txt").write_text(summary_text(outcomes), encoding="utf-8")
    write_lms(outcomes, out_dir / "lms")
    write_outcomes(outcomes, out_dir / OUTCOMES_FILE)


def _number(x: float) -> str:
    return f"{x:g}"


def write_gradebook(outcomes: list[Outcome], path: Path) -> None:
    """One CSV row per student and exercise: GRADEBOOK_COLUMNS."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=GRADEBOOK_COLUMNS)
        writer.writeheader()
        for outcome in outcomes:
            for row in outcome.rows:
                record = {key: csv_text(value) for key, value in asdict(row).items()}
                record["reason"] = csv_text(row.reason, limit=MAX_REASON)
                record["points"], record["max_points"] = (
                    _number(row.points),
                    _number(row.max_points),
                )
                writer.writerow(record)


def write_summary(outcomes: list[Outcome], path: Path) -> None:
    """One CSV row per student and assignment: SUMMARY_COLUMNS."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(SUMMARY_COLUMNS)
        for o in outcomes:
            points = sum(r.points for r in o.rows)
            max_points = sum(r.max_points for r in o.rows)
            writer.writerow(
                [
                    csv_text(o.student),
                    csv_text(o.chapter),
                    o.status,
                    _number(points),
                    _number(max_points),
                    f"{o.seconds:.1f}",
                ]
            )


def summary_text(outcomes: list[Outcome]) -> str:
    """Totals per student, pass rates per exercise and timing, as printed by ``grade``."""
    unsafe = any(not o.sandboxed for o in outcomes)
    lines = [UNSAFE_WARNING] if unsafe else []
    lines.append("Points per student:")
    students = sorted({o.student for o in outcomes})
    for student in students:
        rows = [r for o in outcomes if o.student == student for r in o.rows]
        statuses = sorted({o.status for o in outcomes if o.student == student} - {"graded"})
        ignored = [r.reason for o in outcomes if o.student == student for r in o.rows]
        ignored = [reason for reason in ignored if reason.startswith("ignored:")]
        note = f"  ({', '.join(statuses)})" if statuses else ""
        got, most = sum(r.points for r in rows), sum(r.max_points for r in rows)
        lines.append(f"  {display_name(student):<24} {_number(got):>6} / {_number(most)}{note}")
        lines += [f"    {display_name(reason)}" for reason in ignored]
    lines.append("Exercises passed:")
    counts: dict[tuple[str, str], list[int]] = {}
    for o in outcomes:
        for r in o.rows:
            if r.exercise:
                tally = counts.setdefault((r.chapter, r.exercise), [0, 0])
                tally[0] += r.result == PASS
                tally[1] += 1
    for (chapter, exercise), (passed, total) in counts.items():
        lines.append(f"  {chapter} exercise {exercise:<8} {passed} of {total}")
    runs = [o.seconds for o in outcomes if o.status in ("graded", "time limit", "limit exceeded")]
    if runs:
        lines.append(
            f"Runs: {len(runs)}, {sum(runs) / len(runs):.1f} s each on average "
            f"(longest {max(runs):.1f} s)"
        )
    if unsafe:
        lines.append(UNSAFE_WARNING)
    return "\n".join(lines) + "\n"
