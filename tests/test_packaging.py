"""What ``pip install .`` (not editable) puts into the installed package.

The package list in ``pyproject.toml`` is written out by hand. A subpackage missing from it is
left out of a wheel while an editable install, which reads the checkout, still works: that is how
``coursepkg.grading.exercises`` (the definitions every ``check("N.M")`` needs) was missing from
the list without any test noticing.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_under_coursepkg_is_listed_in_pyproject():
    # A regular expression, not tomllib: the package supports Python 3.10, which has none.
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    listed = set(ast.literal_eval(re.search(r"^packages = (\[.*?\])$", text, re.M | re.S)[1]))
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "coursepkg").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert "coursepkg.grading.exercises" in found
    assert listed == found, (
        f"not listed: {sorted(found - listed)}; no such package: {sorted(listed - found)}"
    )
