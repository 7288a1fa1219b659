"""Find the submissions in a folder, tell which exercise notebook each is, and read them safely.

Layout of the submissions folder: one entry per student, either

* a folder ``alice/`` holding that student's notebooks (any names; other files, such as a
  ``conftest.py``, are ignored), or
* a single notebook ``alice.ipynb``.

A notebook is matched to an exercise notebook by its file name (``01_perceptron_exercises.ipynb``
or ``01_perceptron.ipynb``), else by the ``grading.assignment`` the student version records in its
metadata, else, when only one exercise notebook is being graded, to that one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ._deps import require
from .exercise_format import KERNEL_NAME, METADATA_KEY, assignment_name


@dataclass
class Submission:
    """One student's notebook for one assignment, or the reason there is none.

    Attributes:
        student: folder name or file stem.
        assignment: the assignment name (e.g. ``01_perceptron``), or None if unknown.
        path: the notebook, or None when the student submitted nothing for the assignment.
        problem: why the notebook cannot be graded as it is (None if it can be).
    """

    student: str
    assignment: str | None
    path: Path | None
    problem: str | None = None


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _recorded_assignment(path: Path) -> str | None:
    """The ``grading.assignment`` in a notebook's metadata, if the file is readable JSON."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        value = data["metadata"][METADATA_KEY]["assignment"]
    except Exception:
        return None
    return value if isinstance(value, str) else None


def identify(path: Path, assignments: list[str]) -> str | None:
    """Which of ``assignments`` the notebook ``path`` is for, or None if it cannot be told."""
    by_name = assignment_name(path)
    if by_name in assignments:
        return by_name
    recorded = _recorded_assignment(path)
    if recorded in assignments:
        return recorded
    if len(assignments) == 1:
        return assignments[0]
    return None


def discover(folder: Path, assignments: list[str]) -> list[Submission]:
    """Every (student, assignment) to grade in ``folder``, sorted by student.

    A student folder that lacks an assignment gets a Submission with ``path=None``; a notebook
    that matches no assignment, or a second notebook for the same one, gets a ``problem``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no submissions folder at {folder}")
    found: list[Submission] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir():
            student = entry.name
            notebooks = sorted(p for p in entry.rglob("*.ipynb") if not _hidden(p, entry))
        elif entry.suffix == ".ipynb":
            student, notebooks = entry.stem, [entry]
        else:
            continue  # e.g. a conftest.py or a README beside the submissions: never used
        matched: dict[str, Path] = {}
        for path in notebooks:
            name = identify(path, assignments)
            if name is None:
                found.append(
                    Submission(
                        student,
                        None,
                        path,
                        "cannot tell which exercise "
                        f"notebook {path.name} is (rename it as released)",
                    )
                )
            elif name in matched:
                found.append(
                    Submission(
                        student,
                        name,
                        path,
                        f"a second notebook for {name} (graded: {matched[name].name})",
                    )
                )
            else:
                matched[name] = path
                found.append(Submission(student, name, path))
        if entry.is_dir():
            found += [
                Submission(student, a, None, "no notebook submitted")
                for a in assignments
                if a not in matched
            ]
    return found


def read_submission(path: Path, kernel_name: str = KERNEL_NAME):
    """Read a submitted notebook; return ``(notebook, None)`` or ``(None, problem)``.

    Problems: not JSON, not a notebook nbformat can read, no cells, or a kernel other than
    ``kernel_name`` (the answers would be in another language).
    """
    nbformat = require("nbformat")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot read the file ({exc})"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"not a valid notebook: the file is not JSON ({exc})"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return None, "not a valid notebook: it has no list of cells"
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:
        return None, f"not a valid notebook: {type(exc).__name__}: {' '.join(str(exc).split())}"
    if not nb.cells:
        return None, "the notebook has no cells"
    kernelspec = nb.metadata.get("kernelspec") or {}
    kernel = kernelspec.get("name") if isinstance(kernelspec, dict) else None
    if kernel is not None and kernel != kernel_name:
        return None, f"the notebook uses the kernel {kernel!r}, not {kernel_name!r} (Python)"
    return nb, None
