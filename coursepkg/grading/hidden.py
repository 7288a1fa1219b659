"""The hidden checks of a grading run: inputs nobody has seen, judged outside the kernel.

For every assignment, a grading run

1. draws each exercise's hidden inputs and secrets from one seed that exists only in the grader
   (fresh in every run unless the instructor gives one, to grade again identically);
2. runs the instructor's own notebook once, with a probe cell after every check cell, and keeps
   its responses: they are the expected values (``reference_responses``);
3. inserts the same probe cells into every rebuilt submission (``with_probes``); after the run,
   reads each probe cell's response from what nbval recorded (``read_responses``) and judges it
   against the instructor's response in the grader's own process (``judge``).

A probe cell calls ``definition.respond_hidden`` with the inputs packed into its source; the
secrets (labels, true targets) never enter the kernel. Probe cell ids carry a random token, so
that no cell of a submission can stand in for one; the token also exempts the probe cells, and
them alone, from the cell output limit (``pytest_results.py``), since a response can be larger
than what a student's cell may print.
"""

from __future__ import annotations

import secrets as secrets_module
from dataclasses import dataclass, field

from . import plain_data
from .checks import CheckError
from .definition import (
    RESPONSE_PREFIX,
    decode_response,
    definition_for,
    draw_hidden,
    judge_response,
)
from .exercise_format import Exercise
from .rebuild import IGNORE_OUTPUT_TAG

NOT_RUN = "the hidden check's cell did not run"


@dataclass
class HiddenInputs:
    """One assignment's hidden inputs for one grading run.

    Attributes:
        seed: the grading seed they were drawn from.
        token: the random part of the probe cells' ids.
        inputs: per exercise id, the inputs sent to the answer.
        secrets: per exercise id, what only the judge sees.
        expected: per exercise id, the instructor's response (filled by the reference run).
        unusable: per exercise id, why the instructor's response cannot be used (then the
            exercise is not graded rather than failed).
    """

    seed: int
    token: str
    inputs: dict[str, dict] = field(default_factory=dict)
    secrets: dict[str, dict] = field(default_factory=dict)
    expected: dict[str, dict] = field(default_factory=dict)
    unusable: dict[str, str] = field(default_factory=dict)


def new_seed() -> int:
    """A fresh grading seed, from the operating system's random source."""
    return secrets_module.randbits(63)


def draw(exercises: list[Exercise], seed: int) -> HiddenInputs:
    """The hidden inputs and secrets of ``exercises`` for grading seed ``seed``."""
    hidden = HiddenInputs(seed=seed, token=secrets_module.token_hex(6))
    for exercise in exercises:
        hidden.inputs[exercise.id], hidden.secrets[exercise.id] = draw_hidden(exercise.id, seed)
    return hidden


PROBE_ID_PREFIX = "grading-probe-"


def probe_id(hidden: HiddenInputs, exercise_id: str) -> str:
    """The id of an exercise's probe cell in this grading run."""
    return f"{PROBE_ID_PREFIX}{hidden.token}-{exercise_id.replace('.', '-')}"


def is_probe_id(cell_id, token: str | None) -> bool:
    """Whether ``cell_id`` is the id of a probe cell of the grading run whose token is ``token``
    (a cell of a submission may look like a probe, but cannot hold the run's token, drawn when
    the run starts). No token: no cell is a probe."""
    if not token or not isinstance(cell_id, str):
        return False
    return cell_id.startswith(f"{PROBE_ID_PREFIX}{token}-")


def probe_source(exercise_id: str, inputs: dict) -> str:
    """The code of a probe cell: print the answer's response to ``inputs``."""
    return (
        "# Inserted by the grader: your answer's response to new inputs, judged by the grader.\n"
        '__import__("coursepkg.grading.definition", fromlist=["respond_hidden"]).respond_hidden(\n'
        f'    "{exercise_id}", globals(), "{plain_data.pack(inputs)}"\n'
        ")\n"
    )


def with_probes(nb, exercises: list[Exercise], hidden: HiddenInputs):
    """``nb`` (a rebuilt notebook, changed in place and returned) with a probe cell right after
    each exercise's check cell. Cells whose id looks like a probe's of this run (``is_probe_id``)
    are dropped: the probe cells are the only ones, and the grader's own."""
    from ._deps import require

    nbformat = require("nbformat")
    probes = {e.check_id: e.id for e in exercises}
    cells = []
    for cell in nb.cells:
        if is_probe_id(cell.get("id"), hidden.token):
            continue
        cells.append(cell)
        if cell.cell_type == "code" and cell.get("id") in probes:
            exercise_id = probes.pop(cell.get("id"))
            probe = nbformat.v4.new_code_cell(probe_source(exercise_id, hidden.inputs[exercise_id]))
            probe.id = probe_id(hidden, exercise_id)
            probe.metadata["tags"] = [IGNORE_OUTPUT_TAG]
            cells.append(probe)
    nb.cells = cells
    return nb


NO_RESPONSE = "the hidden check received no response from your notebook"
"""Why a student's notebook has no response (its probe cell ran, but printed none)."""
NO_REFERENCE_RESPONSE = (
    "the hidden check's probe cell printed no response in the instructor's notebook"
)
"""The same for the instructor's reference run (``accept_reference`` says it is the
instructor's: the exercise is then not graded)."""


def read_responses(
    cells: dict[str, dict],
    hidden: HiddenInputs,
    exercises: list[Exercise],
    *,
    reference: bool = False,
):
    """Per exercise id, the decoded response of its probe cell, or a string saying why there
    is none. ``cells`` is ``RunResult.cells``; ``reference``: they are of the instructor's
    reference run (``grade.prepare_hidden``), not of a student's notebook, and the messages
    say so."""
    responses: dict[str, dict | str] = {}
    for exercise in exercises:
        record = cells.get(probe_id(hidden, exercise.id))
        if record is None:
            responses[exercise.id] = NOT_RUN
            continue
        prefix = f"{RESPONSE_PREFIX} {exercise.id} "
        lines = [line for line in record.get("stdout", "").splitlines() if line.startswith(prefix)]
        if len(lines) != 1:
            if lines:
                responses[exercise.id] = "the hidden check received more than one response"
            else:
                responses[exercise.id] = NO_REFERENCE_RESPONSE if reference else NO_RESPONSE
            continue
        try:
            responses[exercise.id] = decode_response(lines[0][len(prefix) :])
        except plain_data.PlainDataError as exc:
            responses[exercise.id] = f"the hidden check could not read the response: {exc}"
    return responses


def judge(exercise_id: str, response, hidden: HiddenInputs) -> str:
    """``""`` if the response passes the hidden check, else why not (one line)."""
    if isinstance(response, str):
        return response
    definition = definition_for(exercise_id)
    try:
        judge_response(
            definition,
            response,
            hidden.expected[exercise_id],
            hidden.inputs[exercise_id],
            hidden.secrets[exercise_id],
            hidden=True,
        )
    except CheckError as exc:
        return " ".join(str(exc).split())
    except Exception as exc:  # noqa: BLE001 (a judge that breaks on a hostile response)
        return f"the hidden check could not judge the response ({type(exc).__name__})"
    return ""


def accept_reference(hidden: HiddenInputs, responses: dict, exercises: list[Exercise]) -> None:
    """Keep the instructor's responses as the expected values. One that is missing, or that
    fails its own hidden check (a criterion the solution does not meet on these inputs), makes
    the exercise unusable: it is then not graded, so that no correct answer loses points."""
    for exercise in exercises:
        response = responses.get(exercise.id, NOT_RUN)
        if isinstance(response, str):
            hidden.unusable[exercise.id] = f"the instructor's solution gave no response: {response}"
            continue
        hidden.expected[exercise.id] = response
        why = judge(exercise.id, response, hidden)
        if why:
            del hidden.expected[exercise.id]
            hidden.unusable[exercise.id] = f"the instructor's solution fails it: {why}"
