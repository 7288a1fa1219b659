"""One definition per exercise, for its visible check and its hidden, trusted one.

An exercise's check is written once, as a subclass of ``ExerciseDefinition`` registered under
the exercise's id (the chapter modules in ``coursepkg/grading/exercises/``). It has four parts:

* ``draw(rng, hidden)``: the inputs the answer is called on, and the secrets only the judge sees
  (labels, true targets). The visible check draws from the definition's fixed ``visible_seed``;
  grading draws from a seed that exists only in the grader, fresh in every grading run, and the
  inputs then go into the kernel as data, the secrets never.
* ``respond(inputs, *answers)``: calls the student's answers (looked up by the names in
  ``answers``) and returns what they gave as a dict of plain data (``plain_data.py``). This is
  the only part that runs the student's code.
* ``reference(inputs, secrets)``: the response the visible check expects, computed without the
  solution (finite differences, the package's own modules, known values), or None when the judge
  needs none. Grading does not use it: there the expected response is what the instructor's
  solution gave on the same hidden inputs.
* ``judge(response, expected, inputs, secrets, hidden)``: compares, and raises ``CheckError``
  with a message that teaches when they disagree. With ``hidden`` True it runs in the grader's
  own process, on data only, and ``expected`` is the instructor's response.

The check cell of an exercise is just ``check("3.2")``. It runs inside a function: nothing it
computes, the expected values least of all, is left in the notebook's namespace.

Grading inserts a probe cell after each check cell (``hidden.py``), which calls
``respond_hidden``: the answer's response to the hidden inputs is printed as one line,
``GRADING-RESPONSE <id> <json>``, and the grader judges it outside the kernel. Anything the
student's code does inside the kernel (patching ``print``, NumPy or this module) can only change
the response, never the judgement, and a response right for inputs nobody has seen needs a right
answer.
"""

from __future__ import annotations

import contextlib
import io
import sys

import numpy as np

from . import plain_data
from .checks import CheckError, check_exercise, describe_failure, fail

RESPONSE_PREFIX = "GRADING-RESPONSE"
RAISED = "__raised__"
"""Key of a response whose answer raised: its value is the one-line description."""

_REGISTRY: dict[str, ExerciseDefinition] = {}


class ExerciseDefinition:
    """The check of one exercise; subclass it, set the class attributes, register it.

    Attributes:
        id: the exercise id, e.g. ``"3.2"``.
        answers: names the answer cells define (``("LeakyReLU",)``), passed to ``respond`` in
            this order.
        visible_seed: seed of the visible check's inputs.
    """

    id: str = ""
    answers: tuple[str, ...] = ()
    visible_seed: int = 0

    def draw(self, rng: np.random.Generator, hidden: bool) -> tuple[dict, dict]:
        """``(inputs, secrets)``: plain data (arrays, numbers, strings, tuples, lists)."""
        raise NotImplementedError

    def respond(self, inputs: dict, *answers) -> dict:
        """What the answers give on ``inputs``, as a dict of plain data (runs student code)."""
        raise NotImplementedError

    def reference(self, inputs: dict, secrets: dict) -> dict | None:
        """The response the visible check expects, computed without the solution."""
        return None

    def judge(self, response: dict, expected, inputs: dict, secrets: dict, hidden: bool) -> None:
        """Raise CheckError unless ``response`` is right (``expected``: see the module doc)."""
        raise NotImplementedError


def register(cls: type[ExerciseDefinition]) -> type[ExerciseDefinition]:
    """Class decorator: make ``cls()`` the definition of exercise ``cls.id``."""
    if not cls.id or cls.id in _REGISTRY:
        raise ValueError(f"exercise definition {cls.__name__}: id {cls.id!r} missing or taken")
    _REGISTRY[cls.id] = cls()
    return cls


def definition_for(exercise_id: str) -> ExerciseDefinition | None:
    """The registered definition of an exercise, or None."""
    from . import exercises  # noqa: F401 (registers the course's definitions)

    return _REGISTRY.get(exercise_id)


def registered() -> dict[str, ExerciseDefinition]:
    """Every registered definition by exercise id (the course's and those of the example
    exercises, ``exercises/examples.py``), in the order of registration."""
    from . import exercises  # noqa: F401 (registers the course's definitions)

    return dict(_REGISTRY)


def _answers(definition: ExerciseDefinition, namespace: dict) -> list:
    missing = [name for name in definition.answers if name not in namespace]
    if missing:
        names = " and ".join(missing)
        fail(
            f"{names} {'is' if len(missing) == 1 else 'are'} not defined: run your answer cell "
            f"for exercise {definition.id} above first, and check that it ran without an error."
        )
    return [namespace[name] for name in definition.answers]


def run_respond(definition: ExerciseDefinition, namespace: dict, inputs: dict) -> dict:
    """The answer's response to ``inputs``, as the grader would read it (a dict of plain data;
    ``{RAISED: message}`` if the answer raised or is missing). Output is swallowed."""
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            answers = _answers(definition, namespace)
            response = definition.respond(plain_data.roundtrip(inputs), *answers)
        if type(response) is not dict:
            raise TypeError(f"respond of exercise {definition.id} returned no dict")
        response = {str(key): value for key, value in response.items()}
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 (SystemExit too: the answer must not end the run)
        response = {RAISED: describe_failure(exc)}
    return response


def judge_response(
    definition: ExerciseDefinition, response, expected, inputs, secrets, *, hidden: bool
) -> None:
    """Judge a decoded response; raises CheckError (also for a malformed response)."""
    if type(response) is not dict:
        fail("the check received no readable response from your answer.")
    if RAISED in response:
        fail(str(response[RAISED]))
    definition.judge(response, expected, inputs, secrets, hidden)


def encode_response(response: dict) -> str:
    """A response as one line of JSON (``plain_data``)."""
    return plain_data.dumps(response)


def decode_response(text: str) -> dict:
    """The response ``encode_response`` wrote. Raises PlainDataError."""
    response = plain_data.loads(text)
    if type(response) is not dict:
        raise plain_data.PlainDataError("a response must be a dict")
    return response


def check(exercise_id: str, namespace: dict | None = None) -> None:
    """The visible check of an exercise: prints ``PASS exercise <id>`` or ``FAIL exercise <id>:
    <what is wrong>``.

    Args:
        exercise_id: e.g. ``"3.2"``; its definition must be registered.
        namespace: where the answers are defined; by default the globals of the caller (the
            notebook's namespace when called from a cell).

    Raises KeyError for an unknown exercise (a mistake of the notebook, not of the answer).
    """
    definition = definition_for(exercise_id)
    if definition is None:
        raise KeyError(f"no check is defined for exercise {exercise_id!r}")
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    with check_exercise(exercise_id):
        inputs, secrets = definition.draw(np.random.default_rng(definition.visible_seed), False)
        response = decode_response(encode_response(run_respond(definition, namespace, inputs)))
        expected = plain_data.roundtrip(definition.reference(inputs, secrets))
        judge_response(definition, response, expected, inputs, secrets, hidden=False)


def draw_hidden(exercise_id: str, seed: int) -> tuple[dict, dict]:
    """The hidden inputs and secrets of an exercise for a grading seed (grader side)."""
    definition = definition_for(exercise_id)
    rng = np.random.default_rng([seed, *map(ord, exercise_id)])
    inputs, secrets = definition.draw(rng, True)
    return plain_data.roundtrip(inputs), secrets


def respond_hidden(exercise_id: str, namespace: dict, packed_inputs: str) -> None:
    """The probe cell's call: print the answer's response to the hidden inputs as one line
    ``GRADING-RESPONSE <id> <json>``."""
    definition = definition_for(exercise_id)
    inputs = plain_data.unpack(packed_inputs)
    response = run_respond(definition, namespace, inputs)
    try:
        text = encode_response(response)
    except Exception as exc:  # noqa: BLE001 (an answer's value that cannot be written)
        text = encode_response({RAISED: f"the answer's result could not be read: {exc}"})
    print(f"{RESPONSE_PREFIX} {exercise_id} {text}")


__all__ = [
    "CheckError",
    "ExerciseDefinition",
    "check",
    "definition_for",
    "draw_hidden",
    "register",
    "registered",
    "respond_hidden",
]
