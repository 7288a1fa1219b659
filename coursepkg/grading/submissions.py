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
import os
import re
import stat
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
    ignored: bool = False

    def __post_init__(self):
        self.student = display_name(self.student)


# JupyterLab's "Duplicate" makes name-Copy1.ipynb; browsers and file managers make name (1).ipynb.
COPY_NAME = re.compile(r"(-Copy\d*| ?\(\d+\)| - Copy| copy( \d+)?)$", re.IGNORECASE)


def display_name(name: str) -> str:
    """A file or folder name as valid UTF-8 text, exactly as given where it can be decoded.

    On Linux, a name from a zip made on Windows can hold bytes that are not UTF-8; Python keeps
    them as surrogates, which no UTF-8 file (the gradebook) can store. They are shown as
    ``\\xNN`` escapes instead: visible, and distinct for distinct names.
    """
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that stands for no byte (from JSON's "\ud800")
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


def valid_text(value):
    """``value`` with every string in it (also inside lists and dicts) made valid UTF-8 by
    ``display_name``: what a kernel or a notebook file sends may hold lone surrogates (JSON can
    encode them), which no UTF-8 file can store."""
    if isinstance(value, str):
        return display_name(value)
    if isinstance(value, list):
        return [valid_text(item) for item in value]
    if isinstance(value, dict):
        return {valid_text(key): valid_text(item) for key, item in value.items()}
    return value


def _preference(path: Path, assignment: str) -> tuple[int, str]:
    """Sort key among one student's notebooks for one assignment: the released file name first,
    then any name that does not look like a copy, then copies; ties by name."""
    if assignment_name(path) == assignment:
        rank = 0
    elif COPY_NAME.search(path.stem):
        rank = 2
    else:
        rank = 1
    return rank, path.name


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


MAX_NOTEBOOK_BYTES = 50_000_000
"""Largest submitted notebook read, in bytes (a notebook full of figures is a few megabytes)."""


def unsafe_file(path: Path) -> str | None:
    """Why ``path`` must not be read as a submission, or None if it is an ordinary file.

    A symbolic link could point at the instructor's solutions or another student's work, a FIFO
    would block the grader forever, and a device such as /dev/zero never ends; none is followed.
    """
    try:
        info = os.lstat(path)
    except OSError as exc:
        return f"cannot read the file ({exc.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return "refused: a symbolic link, not a notebook file (hand in the file itself)"
    if not stat.S_ISREG(info.st_mode):
        return "refused: not a regular file (a pipe, device or socket)"
    if info.st_size > MAX_NOTEBOOK_BYTES:
        return (
            f"refused: the file has {info.st_size / 1e6:.0f} MB, more than the "
            f"{MAX_NOTEBOOK_BYTES / 1e6:.0f} MB a notebook may have (clear large outputs)"
        )
    return None


def read_text_safely(path: Path) -> str:
    """The UTF-8 text of an ordinary file, read without following a link swapped in meanwhile.

    Raises:
        OSError: the file is a link, not a regular file, or too large.
        UnicodeDecodeError: the file is not UTF-8 text.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_NOTEBOOK_BYTES:
            raise OSError(
                f"{path.name} is not an ordinary file of at most {MAX_NOTEBOOK_BYTES} bytes"
            )
        data = f.read(MAX_NOTEBOOK_BYTES + 1)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise OSError(f"{path.name} grew beyond {MAX_NOTEBOOK_BYTES} bytes while being read")
    return data.decode("utf-8")


def _recorded_assignment(path: Path) -> str | None:
    """The ``grading.assignment`` in a notebook's metadata, if the file is readable JSON."""
    try:
        data = json.loads(read_text_safely(path))
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


def _notebooks_in(folder: Path) -> list[Path]:
    """Every ``*.ipynb`` entry under ``folder``, without entering linked folders."""
    found = []
    for root, _dirs, files in os.walk(folder, followlinks=False):
        found += [Path(root) / name for name in files if name.endswith(".ipynb")]
    return found


def discover(folder: Path, assignments: list[str]) -> list[Submission]:
    """Every (student, assignment) to grade in ``folder``, sorted by student.

    A student folder that lacks an assignment gets a Submission with ``path=None``; a notebook
    that matches no assignment gets a ``problem``. When a student handed in several notebooks for
    one assignment, the one with the released file name is graded (else one that is not named
    like a copy, such as ``-Copy1`` or `` (1)``); the others are ``ignored``, with a ``problem``
    saying which was graded, so that no exercise is counted twice.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no submissions folder at {folder}")
    found: list[Submission] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_symlink():
            student = entry.stem if entry.suffix == ".ipynb" else entry.name
            found.append(Submission(student, None, entry, unsafe_file(entry)))
            continue
        if entry.is_dir():
            student = entry.name
            notebooks = sorted(p for p in _notebooks_in(entry) if not _hidden(p, entry))
        elif entry.suffix == ".ipynb":
            student, notebooks = entry.stem, [entry]
        else:
            continue  # e.g. a conftest.py or a README beside the submissions: never used
        candidates: dict[str, list[Path]] = {}
        for path in notebooks:
            problem = unsafe_file(path)
            if problem:  # checked before anything reads the file, even its metadata
                found.append(Submission(student, None, path, problem))
                continue
            name = identify(path, assignments)
            if name is None:
                found.append(
                    Submission(
                        student,
                        None,
                        path,
                        "cannot tell which exercise "
                        f"notebook {display_name(path.name)} is (rename it as released)",
                    )
                )
            else:
                candidates.setdefault(name, []).append(path)
        matched: dict[str, Path] = {}
        for name, paths in candidates.items():
            graded, *others = sorted(paths, key=lambda p: _preference(p, name))
            matched[name] = graded
            found.append(Submission(student, name, graded))
            for other in others:
                why = (
                    "a copy"
                    if _preference(other, name)[0] > _preference(graded, name)[0]
                    else "a second notebook"
                )
                found.append(
                    Submission(
                        student,
                        name,
                        other,
                        f"ignored: {why} of {name} ({display_name(other.name)}); "
                        f"graded {display_name(graded.name)} instead",
                        ignored=True,
                    )
                )
        if entry.is_dir():
            found += [
                Submission(student, a, None, "no notebook submitted")
                for a in assignments
                if a not in matched
            ]
    return found


def read_submission(path: Path, kernel_name: str = KERNEL_NAME):
    """Read a submitted notebook; return ``(notebook, None)`` or ``(None, problem)``.

    Problems: not JSON, not a notebook nbformat can read, no cells, or a notebook in a language
    other than Python (``notebook_language``). Any Python kernel is accepted.
    """
    nbformat = require("nbformat")
    try:
        problem = unsafe_file(Path(path))
        if problem:
            return None, problem
        text = read_text_safely(Path(path))
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
    language = notebook_language(nb.metadata)
    if language is not None and language.lower() != "python":
        return None, (
            f"the notebook is written for the language {language!r}; the exercises are Python "
            f"(kernel {kernel_name!r})"
        )
    return nb, None


def notebook_language(metadata) -> str | None:
    """The programming language a notebook's metadata declares, or None if it says nothing.

    The kernel's *name* is not a language: ``python3.11``, ``conda-env-nn-py`` and ``python3`` are
    all Python kernels, and which one a student used does not matter, because the grader runs
    every rebuilt notebook with its own kernel. ``kernelspec.language`` and ``language_info.name``
    say what language the answers are in; a kernel name is consulted only when both are absent
    (``ir`` is R, ``julia-1.10`` Julia).
    """
    kernelspec = metadata.get("kernelspec") or {}
    info = metadata.get("language_info") or {}
    for source in (kernelspec, info):
        if isinstance(source, dict):
            value = source.get("language") if source is kernelspec else source.get("name")
            if isinstance(value, str) and value.strip():
                return value.strip()
    name = kernelspec.get("name") if isinstance(kernelspec, dict) else None
    if isinstance(name, str) and name and "py" not in name.lower():
        return name  # no language recorded, and the kernel's name is not a Python one
    return None
