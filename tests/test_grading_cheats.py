"""The answer-cell cheats of issue 13, each graded by the real grader: every one earns 0.

An answer cell runs before its check in the same kernel, so it can patch anything the check cell
uses: the verdict printer, NumPy, ``print``, the check cells' code, the package's reference
functions. Each cheat below is a submission of the course's own exercise notebooks whose answers
are wrong (or a shortcut the exercise forbids), plus the cheat. The grader runs it in the sandbox
and gives points only when the check cell printed PASS *and* the hidden check, judged outside the
kernel on inputs drawn at grading time, agrees: every cheat must earn 0 there.

The control scores the same runs from the check cells' verdicts alone (``score(...,
hidden=None)``), which is what grading did before: each cheat earns points that way, so each test
can fail. A correct submission and the blank student version are graded alongside.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbval")

from coursepkg.grading.grade import (  # noqa: E402
    GradingOptions,
    grade,
    load_assignments,
    run_folder_name,
)
from coursepkg.grading.rebuild import RebuildNotes  # noqa: E402
from coursepkg.grading.release import release  # noqa: E402
from coursepkg.grading.runner import RESULTS_FILE, RunResult, read_results  # noqa: E402
from coursepkg.grading.scoring import score  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="bubblewrap needs Linux")

EXERCISES = Path(__file__).resolve().parent.parent / "book" / "exercises"

# Chapter 3. Wrong answers of the right types and shapes (so that only a cheat can make them
# pass): grad_f returns zeros, leaky ReLU's backward forgets alpha, Standardize's backward
# forgets the paths through the mean and the standard deviation.
CH3_WRONG = {
    "3.1": "def grad_f(x, y, z):\n    return np.zeros(3)",
    "3.2": "LEAKY",
    "3.3": "STANDARDIZE",
}
CH3_WRONG_BODIES = {
    "3.2": ("return grad_A * np.where(self._Z > 0, 1.0, self.alpha)", "return grad_A * 1.0"),
    "3.3": (
        "return (G - mean_G - Y * mean_GY) / self._sigma",
        "return G / self._sigma",
    ),
}

# A generic finite-difference "backward pass" (what a student writes to skip the derivation):
# right to about 1e-9, which the visible checks accept.
FD_BACKWARD = """
    def backward(self, grad_out):
        X = self._fd_input.copy()
        twin = type(self).__new__(type(self))
        twin.__dict__.update({k: v for k, v in self.__dict__.items() if not k.startswith("_")})
        return cp.numerical_gradient(lambda: float(np.sum(grad_out * twin.forward(X))), X)
"""

CHEATS = {
    # Replace the verdict printer: every check block prints PASS and swallows its failure.
    "exit": """\
import coursepkg.grading.checks as _c
def _exit(self, *exc):
    self._redirects.close()
    print(f"PASS exercise {self.exercise}")
    return True
_c.check_exercise.__exit__ = _exit
""",
    # Make the failure function a no-op wherever the checks use it.
    "fail": """\
import sys as _sys
for _name, _module in list(_sys.modules.items()):
    if _name.startswith("coursepkg.grading") and hasattr(_module, "fail"):
        _module.fail = lambda message: None
""",
    # Redefine the check cells' function in the notebook's namespace.
    "redefine": """\
def check(exercise, namespace=None):
    print(f"PASS exercise {exercise}")
""",
    # Patch NumPy and builtins that comparisons rely on.
    "numpy": """\
import builtins as _b
np.any = lambda *args, **kwargs: False
np.all = lambda *args, **kwargs: True
_b.abs = lambda x: 0 * x
""",
    # Rewrite FAIL lines as PASS, once through print and once through sys.stdout.
    "print": """\
import builtins as _b
_print = _b.print
def _rewritten(*args, **kwargs):
    text = " ".join(map(str, args))
    if text.startswith("FAIL exercise "):
        text = "PASS exercise " + text.split()[2].rstrip(":")
    _print(text, **kwargs)
_b.print = _rewritten
""",
    "stdout": """\
import sys as _sys
class _Rewriter:
    def __init__(self, stream):
        self.stream = stream
    def write(self, text):
        if text.startswith("FAIL exercise "):
            text = "PASS exercise " + text.split()[2].rstrip(":")
        return self.stream.write(text)
    def __getattr__(self, name):
        return getattr(self.stream, name)
_sys.stdout = _Rewriter(_sys.stdout)
""",
    # Rewrite the instructor's check cells before they run.
    "transformer": """\
import re as _re
def _no_checks(lines):
    return [_re.sub(r'^check\\("([0-9.]+)"\\)', r'print("PASS exercise \\1")', l) for l in lines]
get_ipython().input_transformers_post.append(_no_checks)
""",
    # Make the checks' own reference (finite differences) zeros, and answer zeros.
    "zero_reference": """\
import sys as _sys
_zeros = lambda f, u, eps=1e-6: np.zeros_like(u, dtype=float)
for _name, _module in list(_sys.modules.items()):
    if _name.startswith("coursepkg") and hasattr(_module, "numerical_gradient"):
        _module.numerical_gradient = _zeros
""",
}


def _ch3_answers(cheat: str) -> dict[str, str]:
    """Chapter 3's answers for one cheat: wrong answers with the cheat's code in front."""
    from exercise_harness import answer_source

    answers = {}
    for exercise in ("3.1", "3.2", "3.3"):
        source = answer_source("03", exercise).replace("### BEGIN SOLUTION\n", "")
        source = source.replace("### END SOLUTION", "")
        if exercise in CH3_WRONG_BODIES:
            right, wrong = CH3_WRONG_BODIES[exercise]
            assert right in source
            source = source.replace(right, wrong)
        else:
            source = CH3_WRONG[exercise]
        if cheat == "zero_reference" and exercise == "3.1":
            source = "def grad_f(x, y, z):\n    return np.zeros(3)"
        answers[exercise] = source
    answers["3.1"] = CHEATS[cheat] + "\n" + answers["3.1"]
    return answers


def _fd_answers() -> dict[str, str]:
    """Chapter 3 answered by finite differences instead of derivations."""
    from exercise_harness import answer_source

    def module(exercise: str) -> str:
        source = answer_source("03", exercise)
        head = source.split("    def backward")[0]
        # forward keeps a copy of its input for the finite differences
        head = head.replace("    def forward(self, ", "    def forward(self, ", 1)
        name = "Z" if exercise == "3.2" else "X"
        head = head.replace(
            f"        {name} = np.asarray({name}, dtype=float)\n",
            f"        {name} = np.asarray({name}, dtype=float)\n        self._fd_input = {name}\n",
        )
        return head + FD_BACKWARD

    grad_f = """\
def grad_f(x, y, z):
    v = np.array([x, y, z], dtype=float)
    return cp.numerical_gradient(lambda: float(cp.sigmoid(v[0] * v[1] + v[2])), v)
"""
    return {"3.1": grad_f, "3.2": module("3.2"), "3.3": module("3.3")}


def _fill(student_nb, answers: dict[str, str]):
    nb = nbformat.from_dict(nbformat.reads(nbformat.writes(student_nb), as_version=4))
    for cell in nb.cells:
        meta = cell.metadata.get("grading", {})
        if meta.get("role") == "answer" and meta["exercise"] in answers:
            cell.source = answers[meta["exercise"]]
    return nb


def _control_points(out: Path, student: str, chapter: str, exercises) -> float:
    """The points the same run earns from its check cells' verdicts alone (no hidden check)."""
    folder = out / "runs" / run_folder_name(student) / chapter
    run = RunResult(cells=read_results(folder / RESULTS_FILE))
    rows = score(
        student, chapter, exercises, run, RebuildNotes(), cell_timeout=60, timeout=600, hidden=None
    )
    return sum(r.points for r in rows)


@pytest.fixture(scope="module")
def chapter3(tmp_path_factory):
    """Grade every chapter-3 cheat, a correct submission and the blank one; returns the points
    and control points per student, and the gradebook reasons."""
    root = tmp_path_factory.mktemp("cheats")
    source = EXERCISES / "03_backpropagation_exercises.ipynb"
    (student_path,) = release(source, root / "student")
    student_nb = nbformat.read(student_path, as_version=4)
    instructor_nb = nbformat.read(source, as_version=4)
    submissions = root / "submissions"
    name = source.name
    cases = {f"cheat_{cheat}": _ch3_answers(cheat) for cheat in CHEATS}
    cases["cheat_finite_differences"] = _fd_answers()
    for student, answers in cases.items():
        (submissions / student).mkdir(parents=True)
        nbformat.write(_fill(student_nb, answers), submissions / student / name)
    (submissions / "honest").mkdir()
    nbformat.write(instructor_nb, submissions / "honest" / name)
    (submissions / "blank").mkdir()
    nbformat.write(student_nb, submissions / "blank" / name)
    out = root / "grades"
    outcomes = grade(source, submissions, out, GradingOptions(jobs=2, cell_timeout=60))
    exercises = load_assignments(source)["03_backpropagation"].exercises
    points = {o.student: sum(r.points for r in o.rows) for o in outcomes}
    reasons = {(o.student, r.exercise): r.reason for o in outcomes for r in o.rows}
    control = {o.student: _control_points(out, o.student, o.chapter, exercises) for o in outcomes}
    return points, control, reasons


@pytest.mark.parametrize("cheat", [*CHEATS, "finite_differences"])
def test_cheat_earns_nothing(chapter3, cheat):
    points, control, reasons = chapter3
    student = f"cheat_{cheat}"
    assert control[student] > 0, f"the control: {cheat} fools the in-kernel checks alone"
    assert points[student] == 0, reasons


def test_honest_and_blank_submissions(chapter3):
    points, control, _ = chapter3
    assert points["honest"] == control["honest"] == 6
    assert points["blank"] == control["blank"] == 0


def test_finite_differences_are_named_where_a_derivation_is_asked(chapter3):
    _, _, reasons = chapter3
    for exercise in ("3.1", "3.2", "3.3"):
        reason = reasons["cheat_finite_differences", exercise]
        assert reason.startswith("right on the check's own inputs, wrong on new inputs"), reason
        assert "finite differences are not" in reason, reason


# Cheats on other chapters. The red team's "reference" cheat read the old check cells' own
# expected values from the notebook's namespace (the checks ran at top level, so their variables
# were globals by the time the answer was called). tests/data/in_kernel_checks.json holds those
# old check cells, for the control.
IN_KERNEL_CHECKS = json.loads(
    (Path(__file__).parent / "data" / "in_kernel_checks.json").read_text()
)
REFERENCE_CHEATS = {
    "4.1": "def momentum_step(theta, v, grad, lr, mu):\n"
    "    return param.value.copy(), reference.velocities[0].copy()",
    "4.2": "def adam_step(theta, grad, m, s, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
    "    return param.value.copy(), reference.m[0].copy(), reference.s[0].copy()",
    "5.1": "def log_prior(w, sigma):\n    return prior.log_prob([param])\n\n\n"
    "def penalty_grad(w, sigma):\n    return param.grad.copy()",
    "7.2": "def mixture_nll(y, t, K):\n    return reference",
    "8.1": "def sample_weights(mu, rho, eps):\n    return W_reference.copy()",
    "8.4": "def negative_elbo_by_hand(model, X, y, n_train):\n    return reference",
}
NOTEBOOK_OF = {"2": "02_networks", "4": "04_training_mlps", "5": "05_regularization"}
NOTEBOOK_OF |= {"7": "07_mixture_density_networks", "8": "08_bayesian_neural_networks"}

# 2.1, hard-coded for the visible check's cases.
HARD_CODED = """\
def widest_hidden_layer(n_in, n_out, budget):
    table = {(2, 1, 9): 2, (2, 1, 12): 2, (2, 1, 13): 3, (1, 1, 10): 3, (4, 3, 100): 12,
             (784, 10, 79510): 100, (784, 10, 79509): 99, (5, 5, 1000): 90}
    return table[n_in, n_out, budget]
"""
# 4.3, a lookup table of the public test set instead of a trained network.
LOOKUP_TABLE = """\
X_train, X_test, y_train, y_test = cp.load_digits_split(test_fraction=0.3, seed=0)
_table = {row.tobytes(): int(label) for row, label in zip(X_test, y_test)}


class Lookup(cp.Module):
    def forward(self, X):
        X = np.asarray(X, dtype=float)
        logits = np.zeros((len(X), 10))
        for n, row in enumerate(X):
            logits[n, _table.get(row.tobytes(), 0)] = 1.0
        return logits


digits_model = Lookup()
"""


@pytest.mark.parametrize("exercise", REFERENCE_CHEATS)
def test_control_the_reference_cheat_fooled_the_in_kernel_checks(exercise):
    """The old check cell, run in the kernel after the cheat's answer, printed PASS."""
    namespace: dict = {}
    setup = IN_KERNEL_CHECKS[f"{NOTEBOOK_OF[exercise[0]]}:setup"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(setup, namespace)
        exec(REFERENCE_CHEATS[exercise], namespace)
        exec(IN_KERNEL_CHECKS[exercise], namespace)
    assert out.getvalue().strip() == f"PASS exercise {exercise}"


@pytest.fixture(scope="module")
def other_chapters(tmp_path_factory):
    """Grade one cheating submission per cheat outside chapter 3; return points per
    (student, exercise), the control points (check cells alone) and the reasons."""
    root = tmp_path_factory.mktemp("more-cheats")
    released = {p.name: p for p in release(EXERCISES, root / "student")}
    cases = {
        "reference": REFERENCE_CHEATS,
        "hard_coded": {"2.1": HARD_CODED},
        "lookup": {"4.3": LOOKUP_TABLE},
    }
    submissions = root / "submissions"
    for student, answers in cases.items():
        for chapter in sorted({NOTEBOOK_OF[e[0]] for e in answers}):
            name = f"{chapter}_exercises.ipynb"
            nb = nbformat.read(released[name], as_version=4)
            (submissions / student).mkdir(parents=True, exist_ok=True)
            nbformat.write(_fill(nb, answers), submissions / student / name)
    out = root / "grades"
    outcomes = grade(EXERCISES, submissions, out, GradingOptions(jobs=2, cell_timeout=120))
    assignments = load_assignments(EXERCISES)
    points, control, reasons = {}, {}, {}
    for o in outcomes:
        folder = out / "runs" / run_folder_name(o.student) / o.chapter
        run = RunResult(cells=read_results(folder / RESULTS_FILE))
        exercises = assignments[o.chapter].exercises
        rows = score(
            o.student,
            o.chapter,
            exercises,
            run,
            RebuildNotes(),
            cell_timeout=120,
            timeout=600,
            hidden=None,
        )
        for r in o.rows:
            points[o.student, r.exercise] = r.points
            reasons[o.student, r.exercise] = r.reason
        for r in rows:
            control[o.student, r.exercise] = r.points
    return points, control, reasons


@pytest.mark.parametrize(
    ("student", "exercises", "fools_the_new_check_cells"),
    [
        ("reference", list(REFERENCE_CHEATS), False),
        ("hard_coded", ["2.1"], True),
        ("lookup", ["4.3"], True),
    ],
)
def test_cheats_of_other_chapters_earn_nothing(
    other_chapters, student, exercises, fools_the_new_check_cells
):
    points, control, reasons = other_chapters
    for exercise in exercises:
        assert points[student, exercise] == 0, reasons[student, exercise]
        # Hard-coding and the lookup table still fool the visible check cells (which is why
        # hidden inputs exist); the reference cheat does not even fool them any more, since no
        # check leaves its expected values in the notebook's namespace (the control above).
        assert (control[student, exercise] > 0) == fools_the_new_check_cells
        if fools_the_new_check_cells:
            assert reasons[student, exercise].startswith("right on the check's own inputs")
