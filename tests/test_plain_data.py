"""Answers as plain data (``coursepkg.grading.plain_data``): what crosses from the kernel to the
judge is rebuilt by exact type, with one exception, dict subclasses, whose items are plain."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from coursepkg.grading.plain_data import Opaque, roundtrip


@pytest.mark.parametrize(
    "answer",
    [
        collections.defaultdict(int, forward=36, backward=24),
        collections.OrderedDict(forward=36, backward=24),
        collections.Counter(forward=36, backward=24),
    ],
    ids=["defaultdict", "OrderedDict", "Counter"],
)
def test_a_dict_subclass_arrives_as_the_plain_dict_of_its_items(answer):
    got = roundtrip({"counts": [answer]})["counts"][0]
    assert type(got) is dict and got == {"forward": 36, "backward": 24}


def test_a_dict_subclass_is_read_by_dicts_own_method_not_its_override():
    class Lying(dict):
        def items(self):
            return [("forward", 0)]

    assert roundtrip(Lying(forward=36)) == {"forward": 36}


def test_other_subclasses_stay_opaque():
    class Matrix(np.ndarray):
        pass

    assert isinstance(roundtrip(np.zeros(3).view(Matrix)), Opaque)
