"""Search everything a student can reach for any line of any exercise solution.

Usage (from the repository root, in the project's environment)::

    python scripts/leak_test.py EDITION                      # the student edition's files
    python scripts/leak_test.py EDITION --site EDITION/_build/html   # and its built book
    python scripts/leak_test.py --expect-leaks _build/html   # a control: must find solutions

The solution lines are the lines inside the ``### BEGIN SOLUTION`` ... ``### END SOLUTION``
regions of the instructor's exercise notebooks (``book/exercises/`` of this repository),
stripped, that say something about an answer (see ``telling``: not a line with fewer than four
letters or digits, as in ``tests/test_grading_exercises.py``, nor one that computes nothing, such
as ``return X`` or ``else:``), and that the exercises' own text does not give (a statement may
prescribe a line; it is in the student version by design). Every file under the given folders is
searched: text files line by line; notebooks (``.ipynb``) by every string they hold, cell sources
and outputs alike; HTML with its tags removed and entities decoded, so that highlighted code reads
as it does on screen. A file line is a hit when it contains a solution line (whitespace runs
compared as one space). Binary files (images, ``.npz``) are skipped and counted. ``.git``
folders are not searched.

Every line that links to the instructor's repository (``repository.url`` of ``_config.yml``,
as GitHub, Binder and Colab write it) is reported too: a button or a Colab cell that opens it
would open the solutions.

Each hit is printed as ``file:line: solution line (notebook, exercise)`` (in a notebook, the line
is named by cell, field and line). Exit status: 0 when nothing is found, 1 when a solution line
or a link is found; with ``--expect-leaks`` the other way round (the control that shows the
search can find a leak).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "book" / "exercises"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MIN_ALNUM = 4  # fewer letters and digits than this: a trivial line such as ")" or "else:"
_WORD = re.compile(r"\w+")
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_STRING = re.compile(r"""(?:[rbfRBF]{0,2})("[^"]*"|'[^']*')""")
_OPERATOR = re.compile(r"[-+*/@%<>]|==|!=")
_CALL = re.compile(r"\w\s*\(\s*[^)\s]")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d*)?(?:e-?\d+)?")


@dataclass(frozen=True)
class Solution:
    """One solution line and where it comes from."""

    line: str
    notebook: str
    exercise: str


@dataclass(frozen=True)
class Hit:
    """A solution line found in a file (``where``: a line number, or a place in a notebook)."""

    path: Path
    where: str
    solution: Solution

    def __str__(self) -> str:
        s = self.solution
        return f"{self.path}:{self.where}: {s.line!r} ({s.notebook}, exercise {s.exercise})"


def normalize(text: str) -> str:
    """``text`` stripped, with every run of white space made one space."""
    return _SPACE.sub(" ", text).strip()


def telling(line: str) -> bool:
    """Whether a solution line says something about the answer, so that finding it is a leak.

    Not telling: a line with fewer than four letters and digits (``)``, ``else:``); a line of
    code that computes nothing, that is, has no operator, no call with an argument and no number
    other than 0 and 1 (``return X``, ``self._X = X``, ``N, H, W = X.shape``,
    ``if self.training:``); and a piece of a statement split over lines that opens a call or
    holds one argument (``history = cp.train(``, ``optimizer,``, ``batch_size=32,``) unless it
    has an operator. Such lines appear in any module and in every chapter, and say nothing
    about any exercise; the lines around them that compute are searched. A comment (the
    solution's explanation) is always telling.
    """
    if sum(ch.isalnum() for ch in line) < MIN_ALNUM:
        return False
    code = _STRING.sub('""', line)
    code, _, comment = code.partition("#")
    if sum(ch.isalnum() for ch in comment) >= MIN_ALNUM:
        return True
    code = code.strip()
    if _OPERATOR.search(code):
        return True
    if code.endswith(("(", "[", "{", ",")):
        return False
    return bool(_CALL.search(code)) or any(n not in ("0", "1") for n in _NUMBER.findall(code))


def _regions(exercises: Path):
    """(notebook name, exercise, line, inside a solution region) for every line of every cell
    source of the exercise notebooks in ``exercises``."""
    for path in sorted(exercises.glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            exercise = str(cell.get("metadata", {}).get("grading", {}).get("exercise", "?"))
            inside = False
            for line in source.splitlines():
                if line.strip() == BEGIN:
                    inside = True
                elif line.strip() == END:
                    inside = False
                else:
                    yield path.name, exercise, line, inside


def solution_lines(exercises: Path = EXERCISES) -> tuple[list[Solution], list[Solution]]:
    """The solution lines to search for, and those the exercises give away themselves.

    The first list holds every telling line of every solution region of the exercise notebooks
    in ``exercises``, normalized, once each (with the first notebook and exercise it appears
    in). A line that the notebooks also hold outside their solution regions (an exercise's
    statement that prescribes it, say) is in the student version by design: it goes into the
    second list instead, which the report shows.
    """
    seen: dict[str, Solution] = {}
    given = []
    for name, exercise, line, inside in _regions(exercises):
        if inside and telling(line):
            seen.setdefault(normalize(line), Solution(normalize(line), name, exercise))
        elif not inside:
            given.append(normalize(line))
    searcher = Searcher(list(seen.values()))
    public = {s for line in given for s in searcher.search(line)}
    return [s for s in seen.values() if s not in public], sorted(public, key=lambda s: s.line)


class Searcher:
    """Finds solution lines inside longer lines quickly: a line is compared only with the
    solution lines whose first word it contains."""

    def __init__(self, solutions: list[Solution]):
        self.by_word: dict[str, list[Solution]] = {}
        for s in solutions:
            words = _WORD.findall(s.line)
            self.by_word.setdefault(words[0] if words else "", []).append(s)

    def search(self, line: str) -> list[Solution]:
        """The solution lines contained in ``line`` (already normalized)."""
        found = []
        for word in set(_WORD.findall(line)):
            for s in self.by_word.get(word, ()):
                if s.line in line:
                    found.append(s)
        return found


def _notebook_strings(value, where: str):
    """(place, string) for every string in a notebook's JSON; a list of strings (a cell's
    source or an output's text, as stored) is joined, since its items are the lines."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        yield where, "".join(value)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _notebook_strings(v, f"{where}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _notebook_strings(v, f"{where}.{k}" if where else k)


def _read(path: Path) -> str | None:
    """The text of ``path``, or None if it is not UTF-8 text (an image, a font, ``.npz``)."""
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, ValueError):
        return None


def _text_lines(path: Path, text: str):
    """(place, line) for every line a reader of ``path``, holding ``text``, sees."""
    if path.suffix == ".ipynb":
        try:
            nb = json.loads(text)
        except ValueError:
            nb = None
        if nb is not None:
            cells = nb.get("cells", []) if isinstance(nb, dict) else []
            places = []
            for i, cell in enumerate(cells):
                for where, string in _notebook_strings(cell, ""):
                    for n, line in enumerate(string.splitlines(), start=1):
                        places.append((f"cell {i} {where} line {n}", line))
            rest = {k: v for k, v in nb.items() if k != "cells"} if isinstance(nb, dict) else nb
            for where, string in _notebook_strings(rest, ""):
                for n, line in enumerate(string.splitlines(), start=1):
                    places.append((f"{where} line {n}", line))
            return places
    if path.suffix in (".html", ".htm", ".xml", ".svg"):
        text = html.unescape(_TAG.sub("", text))
    return [(str(n), line) for n, line in enumerate(text.splitlines(), start=1)]


@dataclass
class Report:
    """What a search found and how much it read."""

    hits: list[Hit]
    addresses: list[tuple[Path, int]] = field(default_factory=list)  # (file, line)
    files: int = 0
    skipped: int = 0  # binary files


def address_pattern(url: str) -> re.Pattern:
    """Finds the repository ``url`` (``https://github.com/OWNER/NAME``) in any link to it: its
    ``OWNER/NAME`` is in GitHub's, Binder's and Colab's addresses alike. A repository named
    like it with a suffix (``NAME-student``) is another one."""
    path = "/".join(url.rstrip("/").removesuffix(".git").split("/")[-2:])
    return re.compile(r"(?<![\w.-])" + re.escape(path) + r"(?![\w-])")


def instructor_url(root: Path = ROOT) -> str:
    """The instructor's repository: ``repository.url`` in ``root``'s ``_config.yml``."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    return str((config.get("repository") or {}).get("url", ""))


def search(
    folders: list[Path], solutions: list[Solution], address: re.Pattern | None = None
) -> Report:
    """Search every file under ``folders`` (``.git`` excepted) for the ``solutions``, and, with
    ``address``, for links to the instructor's repository (buttons, Colab cells)."""
    searcher = Searcher(solutions)
    report = Report(hits=[])
    done = set()  # a site inside the edition's folder is searched once
    for folder in folders:
        paths = [folder] if folder.is_file() else sorted(folder.rglob("*"))
        for path in paths:
            if not path.is_file() or ".git" in path.relative_to(folder).parts:
                continue
            if path.resolve() in done:
                continue
            done.add(path.resolve())
            text = _read(path)
            if text is None:
                report.skipped += 1
                continue
            report.files += 1
            if address is not None and address.search(text):
                lines = text.splitlines()
                report.addresses += [
                    (path, n) for n, line in enumerate(lines, start=1) if address.search(line)
                ]
            for where, line in _text_lines(path, text):
                line = normalize(line)
                if line:
                    report.hits += [Hit(path, where, s) for s in searcher.search(line)]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, help="folders (or files) to search")
    parser.add_argument("--site", type=Path, action="append", default=[], help="a built book")
    parser.add_argument(
        "--exercises", type=Path, default=EXERCISES, help="the instructor's exercise notebooks"
    )
    parser.add_argument(
        "--expect-leaks", action="store_true", help="a control: succeed only if solutions are found"
    )
    parser.add_argument(
        "--instructor-url",
        help="the instructor's repository, which nothing may link to "
        "(default: repository.url of this repository's _config.yml)",
    )
    args = parser.parse_args(argv)
    folders = args.folders + args.site
    if not folders:
        parser.error("give at least one folder to search")
    missing = [f for f in folders if not f.exists()]
    if missing:
        parser.error(f"not found: {', '.join(map(str, missing))}")
    solutions, given = solution_lines(args.exercises)
    for s in given:
        print(f"not searched, the exercise's own text gives it: {s.line!r} ({s.notebook})")
    if not solutions:
        parser.error(f"no solution lines in {args.exercises}")
    url = args.instructor_url or instructor_url()
    report = search(folders, solutions, address_pattern(url) if url else None)
    for hit in report.hits:
        print(hit)
    for path, n in report.addresses:
        print(f"{path}:{n}: links to the instructor's repository {url}")
    found = len({h.solution for h in report.hits})
    print(
        f"searched {report.files} files ({report.skipped} binary files skipped) for "
        f"{len(solutions)} solution lines: {len(report.hits)} hits of {found} solution lines; "
        f"{len(report.addresses)} lines link to the instructor's repository"
    )
    leaked = bool(report.hits or report.addresses)
    if args.expect_leaks:
        return 0 if leaked else 1
    return 1 if leaked else 0


if __name__ == "__main__":
    sys.exit(main())
