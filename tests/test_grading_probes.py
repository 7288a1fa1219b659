"""The grader's probe cells (``hidden.py``): what their records say, and their output limits.

A probe cell prints the answer's response to the hidden inputs, one line that can be larger than
a student's cell may print; it is the grader's, recognized by the run's random token in its id,
and exempt from the cell output limit (``pytest_results.py``), never from the notebook's. No
sandbox here: the records are built by hand, the limits are tested on nbval's functions with a
stand-in kernel, in a real nbval run of an unsandboxed kernel (``run_notebook``), and through
the grader (``grade``, unsandboxed, on the demo course of ``test_grading.py``).
"""

from __future__ import annotations

import numpy as np
import pytest

import coursepkg as cp
from coursepkg.grading import hidden as hidden_checks
from coursepkg.grading.definition import (
    RESPONSE_PREFIX,
    decode_response,
    definition_for,
    encode_response,
    run_respond,
)
from coursepkg.grading.exercise_format import Exercise
from coursepkg.grading.grade import HIDDEN_SEEDS_FILE, GradingOptions, grade, write_hidden_seeds
from coursepkg.grading.pytest_results import (
    RUNNING_CELL,
    OutputLimitError,
    cell_record,
    limited_get_kernel_message,
    tracking_runtest,
)
from coursepkg.grading.runner import RESULTS_FILE, read_results, run_notebook
from coursepkg.grading.sandbox import SandboxLimits

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbval")
pytest.importorskip("nbclient")

from test_grading import CORRECT, fill, write  # noqa: E402
from test_grading import course as course  # noqa: E402 (a fixture, shared)

EXERCISES = [Exercise("1"), Exercise("2")]  # the example exercises (exercises/examples.py)


class Double(cp.Module):
    """The right answer to example exercise 3."""

    def forward(self, X):
        return 2.0 * np.asarray(X)

    def backward(self, grad_out):
        return 2.0 * grad_out


def response_line(exercise: str, response: dict) -> str:
    return f"{RESPONSE_PREFIX} {exercise} {encode_response(response)}\n"


def records(hidden, stdout: dict[str, str]) -> dict[str, dict]:
    """Records of probe cells that ran and printed ``stdout`` (per exercise id), as
    ``runner.read_results`` returns them."""
    cells = {}
    for exercise, text in stdout.items():
        cell_id = hidden_checks.probe_id(hidden, exercise)
        cells[cell_id] = {"cell_id": cell_id, "outcome": "passed", "stdout": text}
    return cells


# Whose run gave no response -------------------------------------------------------------------


def test_no_response_is_the_students_notebook_in_a_students_run():
    hidden = hidden_checks.draw(EXERCISES, 7)
    cells = records(hidden, {"1": "squaring\n", "2": response_line("2", {"w": np.ones(2)})})
    responses = hidden_checks.read_responses(cells, hidden, EXERCISES)
    assert responses["1"] == "the hidden check received no response from your notebook"
    assert isinstance(responses["2"], dict)


def test_no_response_is_the_instructors_notebook_in_the_reference_run(tmp_path):
    hidden = hidden_checks.draw(EXERCISES, 7)
    w = np.array([1.0, -2.0])
    cells = records(hidden, {"1": "squaring\n", "2": response_line("2", {"w": w})})
    responses = hidden_checks.read_responses(cells, hidden, EXERCISES, reference=True)
    assert "instructor's notebook" in responses["1"] and "your" not in responses["1"]
    hidden_checks.accept_reference(hidden, responses, EXERCISES)
    assert list(hidden.unusable) == ["1"] and np.array_equal(hidden.expected["2"]["w"], w)
    write_hidden_seeds({"00_demo": hidden}, tmp_path)
    lines = (tmp_path / HIDDEN_SEEDS_FILE).read_text().splitlines()
    assert lines == [
        "00_demo seed 7",
        "00_demo exercise 1: not graded, the instructor's solution gave no response: the "
        "hidden check's probe cell printed no response in the instructor's notebook",
    ]


def test_the_other_reasons_read_alike_in_both_runs():
    exercises = [*EXERCISES, Exercise("3")]
    hidden = hidden_checks.draw(exercises, 7)
    twice = response_line("1", {"scalar": 1.0}) * 2
    cells = records(hidden, {"1": twice, "2": f"{RESPONSE_PREFIX} 2 {{not json\n"})
    for reference in (False, True):
        responses = hidden_checks.read_responses(cells, hidden, exercises, reference=reference)
        assert responses["1"] == "the hidden check received more than one response"
        assert responses["2"].startswith("the hidden check could not read the response: ")
        assert responses["3"] == hidden_checks.NOT_RUN  # its probe cell did not run


# Probe ids ------------------------------------------------------------------------------------

TOKEN = "0123456789ab"


def test_a_probe_id_needs_the_runs_token():
    hidden = hidden_checks.HiddenInputs(seed=1, token=TOKEN)
    assert hidden_checks.is_probe_id(hidden_checks.probe_id(hidden, "3.2"), TOKEN)
    for cell_id in [
        "grading-probe-ffffffffffff-3-2",  # the pattern with another token
        f"grading-probe-{TOKEN[:-1]}-3-2",
        f"grading-probe-{TOKEN}",
        f"x-grading-probe-{TOKEN}-3-2",
        None,
        42,
    ]:
        assert not hidden_checks.is_probe_id(cell_id, TOKEN), cell_id
    assert not hidden_checks.is_probe_id(hidden_checks.probe_id(hidden, "3.2"), None)
    assert not hidden_checks.is_probe_id("grading-probe--3-2", "")


def test_a_students_cell_with_the_runs_token_is_dropped():
    hidden = hidden_checks.HiddenInputs(seed=1, token=TOKEN, inputs={"2": {}})
    nb = nbformat.v4.new_notebook()
    ids = ["ex2-check", f"grading-probe-{TOKEN}-9", "grading-probe-ffffffffffff-2"]
    nb.cells = [nbformat.v4.new_code_cell("pass", id=cell_id) for cell_id in ids]
    hidden_checks.with_probes(nb, [Exercise("2", check_id="ex2-check")], hidden)
    probe = hidden_checks.probe_id(hidden, "2")
    assert [c.id for c in nb.cells] == ["ex2-check", probe, "grading-probe-ffffffffffff-2"]


# The cell output limit, on nbval's functions --------------------------------------------------

CELL_LIMIT = 2048


class StandInKernel:
    alive = True

    def is_alive(self):
        return self.alive

    def stop(self):
        self.alive = False


class StandInNotebook:
    """What the limits use of nbval's ``IPyNbFile``: its kernel and its attributes."""

    def __init__(self):
        self.kernel = StandInKernel()
        self.queue: list[dict] = []


class StandInCell:
    """What the limits use of nbval's ``IPyNbCell``: its notebook and its cell."""

    def __init__(self, parent, cell_id):
        self.parent, self.cell = parent, {"id": cell_id}


def receive(notebook, timeout=None, stream="iopub"):
    return notebook.queue.pop(0)


def run_cell(notebook, cell_id, text, *, token=TOKEN, notebook_limit=2**20):
    """Run a cell through the limits that prints ``text``: ``(record, message)``, its record
    as ``pytest_results`` writes it and the message nbval got."""
    msg_id = f"execute-{cell_id}"
    notebook.queue.append(
        {
            "msg_type": "stream",
            "parent_header": {"msg_id": msg_id},
            "content": {"name": "stdout", "text": text},
            "metadata": {},
        }
    )
    get_kernel_message = limited_get_kernel_message(receive, CELL_LIMIT, notebook_limit, token)
    got = []

    def runtest(item):  # nbval's loop, for one message
        msg = get_kernel_message(item.parent)
        if msg["msg_type"] == "stream" and msg["parent_header"]["msg_id"] == msg_id:
            got.append({"output_type": "stream", **msg["content"]})

    tracking_runtest(runtest)(StandInCell(notebook, cell_id))
    assert RUNNING_CELL not in notebook.__dict__  # only while the cell runs
    cut = notebook.__dict__.pop("_grading_cut", None)
    return cell_record(cell_id, "call", "passed", "", got, cut)


def test_a_probe_cells_output_past_the_cell_limit_is_kept_and_judged():
    hidden = hidden_checks.draw([Exercise("3")], 5)
    definition = definition_for("3")
    response = run_respond(definition, {"Double": Double}, hidden.inputs["3"])
    hidden.expected["3"] = decode_response(encode_response(response))
    line = response_line("3", response)
    assert len(line) > 2 * CELL_LIMIT
    notebook = StandInNotebook()
    record = run_cell(notebook, hidden_checks.probe_id(hidden, "3"), line, token=hidden.token)
    assert record["stdout"] == line and not record["output_cut"]
    responses = hidden_checks.read_responses({record["cell_id"]: record}, hidden, [Exercise("3")])
    assert hidden_checks.judge("3", responses["3"], hidden) == ""
    # The same output from a student's cell, or from one that imitates a probe's id (with a
    # token other than the run's), is cut.
    for cell_id in ["ex3-answer", "grading-probe-ffffffffffff-3", f"grading-probe-{TOKEN}-3"]:
        record = run_cell(notebook, cell_id, line, token=hidden.token)
        assert record["output_cut"] and record["stdout"] == "", cell_id
        assert "[output cut: the cell sent more than 2 KiB]" in record["printed"]
    # Without the run's token, nothing is a probe: the probe itself is cut.
    record = run_cell(notebook, hidden_checks.probe_id(hidden, "3"), line, token=None)
    assert record["output_cut"]


def test_a_probe_cells_output_counts_towards_the_notebook_limit():
    notebook = StandInNotebook()
    probe = f"grading-probe-{TOKEN}-3"
    record = run_cell(notebook, probe, "x" * 3000, notebook_limit=8000)
    assert not record["output_cut"] and notebook.kernel.alive
    with pytest.raises(OutputLimitError, match="output limit exceeded"):
        run_cell(notebook, probe, "x" * 6000, notebook_limit=8000)
    assert not notebook.kernel.alive


# The same in a real nbval run (no sandbox) ----------------------------------------------------


def test_nbval_keeps_a_probe_cells_output_past_the_cell_limit(tmp_path):
    exercise = Exercise("3", ["ex3-answer"], "ex3-check", 3.0)
    hidden = hidden_checks.draw([exercise], 5)
    hidden.expected["3"] = decode_response(
        encode_response(run_respond(definition_for("3"), {"Double": Double}, hidden.inputs["3"]))
    )
    answer = (
        "class Double(cp.Module):\n"
        "    def forward(self, X):\n"
        "        return 2.0 * np.asarray(X)\n\n"
        "    def backward(self, grad_out):\n"
        "        return 2.0 * grad_out"
    )
    sources = {
        "setup": "import numpy as np\nimport coursepkg as cp\nfrom coursepkg.grading import check",
        "chatter": "print('s' * 6000)",
        "grading-probe-ffffffffffff-3": "print('i' * 6000)",  # imitates a probe's id
        "ex3-answer": answer,
        "ex3-check": 'check("3")',
    }
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(s, id=i) for i, s in sources.items()]
    for cell in nb.cells:
        cell.metadata["tags"] = ["nbval-ignore-output"]
    hidden_checks.with_probes(nb, [exercise], hidden)
    probe = hidden_checks.probe_id(hidden, "3")
    limits = SandboxLimits(cell_output_kb=2, notebook_output_mb=1)
    results = {}
    for token in (hidden.token, None):  # the run's token, and none (the control)
        folder = tmp_path / str(token)
        folder.mkdir()
        nbformat.write(nb, folder / "demo.ipynb")
        run = run_notebook(
            folder / "demo.ipynb",
            cell_timeout=60,
            timeout=120,
            limits=limits,
            sandbox=False,
            probe_token=token,
        )
        assert not run.stopped and set(run.cells) == {*sources, probe}, run.cells
        results[token] = run.cells
    cells = results[hidden.token]
    assert len(cells[probe]["stdout"]) > 2 * 2048 and not cells[probe]["output_cut"]
    responses = hidden_checks.read_responses(cells, hidden, [exercise])
    assert hidden_checks.judge("3", responses["3"], hidden) == ""
    for cell_id in ("chatter", "grading-probe-ffffffffffff-3"):
        assert cells[cell_id]["output_cut"] and cells[cell_id]["stdout"] == "", cell_id
    assert cells["ex3-check"]["stdout"] == "PASS exercise 3\n"
    control = results[None]  # before: the probe was cut, and the exercise not graded
    assert control[probe]["output_cut"]
    assert hidden_checks.read_responses(control, hidden, [exercise])["3"] == (
        hidden_checks.NO_RESPONSE
    )


# The same through the grader (no sandbox) ------------------------------------------------------


def test_grading_judges_responses_larger_than_the_cell_limit(course, tmp_path):
    """The instructor's reference run and each student's run: the probe cells' responses (example
    3's is 4 to 9 kB) are read whole at a cell limit of 1 KiB, a student's cell is still cut."""
    instructor, student_nb = course
    name = "00_demo_exercises.ipynb"
    chatty = dict(CORRECT, **{"2": CORRECT["2"] + "\nprint('s' * 3000)"})
    for student, answers in [("ana", CORRECT), ("bo", chatty)]:
        write(fill(student_nb, answers), tmp_path / "subs" / student / name)
    limits = SandboxLimits(cell_output_kb=1, notebook_output_mb=1)
    options = GradingOptions(jobs=1, limits=limits, sandbox=False, hidden_seed=5)
    outcomes = grade(instructor, tmp_path / "subs", tmp_path / "out", options)
    assert [(o.student, [r.result for r in o.rows]) for o in outcomes] == [
        ("ana", ["pass"] * 3),
        ("bo", ["pass"] * 3),
    ]
    seeds = (tmp_path / "out" / HIDDEN_SEEDS_FILE).read_text()
    assert seeds == "00_demo seed 5\n"  # no exercise left ungraded
    (run,) = (tmp_path / "out" / "runs").glob("bo-*/00_demo")
    cells = read_results(run / RESULTS_FILE)
    assert cells["ex2-answer"]["output_cut"]
    probes = [c for i, c in cells.items() if i.startswith(hidden_checks.PROBE_ID_PREFIX)]
    assert len(probes) == 3 and not any(c["output_cut"] for c in probes)
    assert max(len(c["stdout"]) for c in probes) > 4 * 1024
