"""The example exercises of the instructors page's format section (not part of the course).

A three-exercise notebook shows every kind of check: a function (``square``, exercise "1"), a
value (``w``, exercise "2") and a module's backward pass (``Double``, exercise "3"). The grader's
own tests grade submissions of that notebook.
"""

from __future__ import annotations

import numpy as np

from ..compare import DERIVED_RTOL, expect_close, expect_close_float
from ..definition import ExerciseDefinition, register


@register
class Square(ExerciseDefinition):
    """Example 1: ``square(x)`` returns x squared, for a float or an array."""

    id, answers, visible_seed = "1", ("square",), 1

    def draw(self, rng, hidden):
        if not hidden:
            return {"x": 3.0, "array": np.arange(3.0)}, {}
        return {
            "x": float(rng.uniform(-5, 5)),
            "array": rng.standard_normal(int(rng.integers(2, 9))),
        }, {}

    def respond(self, inputs, square):
        return {"scalar": square(inputs["x"]), "array": square(inputs["array"].copy())}

    def reference(self, inputs, secrets):
        return {"scalar": inputs["x"] ** 2, "array": np.square(inputs["array"])}

    def judge(self, response, expected, inputs, secrets, hidden):
        expect_close_float(response.get("scalar"), expected["scalar"], f"square({inputs['x']!r})")
        shown = np.round(inputs["array"], 3).tolist()
        expect_close(response.get("array"), expected["array"], f"square({shown})")


@register
class WeightValue(ExerciseDefinition):
    """Example 2: a value, the weight vector ``w``."""

    id, answers, visible_seed = "2", ("w",), 2

    def draw(self, rng, hidden):
        return {}, {}

    def respond(self, inputs, w):
        return {"w": w}

    def reference(self, inputs, secrets):
        return {"w": np.array([1.0, -2.0])}  # the example's known answer, as its check showed

    def judge(self, response, expected, inputs, secrets, hidden):
        expect_close(response.get("w"), expected["w"], "w", rtol=1e-12)


@register
class DoubleBackward(ExerciseDefinition):
    """Example 3: the backward pass of ``Double``, the module Y = 2 X."""

    id, answers, visible_seed = "3", ("Double",), 3

    def draw(self, rng, hidden):
        # Hidden: new sizes, small (the response is about 11 kB at most). The probe cell that
        # prints it is exempt from the cell output limit (at 20 to 40 squared entries the grader
        # tests' 64 KiB once cut it), but it counts towards the notebook's.
        shape = (int(rng.integers(8, 17)), int(rng.integers(8, 17))) if hidden else (3, 2)
        return {"X": rng.standard_normal(shape), "G": rng.standard_normal(shape)}, {}

    def respond(self, inputs, Double):  # noqa: N803 (the answer's name)
        layer = Double()
        Y = layer.forward(inputs["X"].copy())
        return {"Y": Y, "grad_X": layer.backward(inputs["G"].copy())}

    def reference(self, inputs, secrets):
        X, G, h = inputs["X"], inputs["G"], 1e-6
        return {"Y": 2 * X, "grad_X": G * ((2 * (X + h)) - (2 * (X - h))) / (2 * h)}

    def judge(self, response, expected, inputs, secrets, hidden):
        expect_close(response.get("Y"), expected["Y"], "Double().forward(X)")
        tolerance = {"rtol": 1e-6, "atol": 1e-10}
        if hidden:
            tolerance = {"rtol": DERIVED_RTOL, "atol": 0.0, "derived": True}
        name = "the input gradient that the backward pass of Double returned"
        expect_close(
            response.get("grad_X"), expected["grad_X"], name, relative_to="largest", **tolerance
        )
