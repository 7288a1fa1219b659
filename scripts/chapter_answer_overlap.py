"""List the exercise answers that a chapter prints: solution lines found in a chapter notebook.

Usage (from the repository root, in the project's environment):

    python scripts/chapter_answer_overlap.py [--book book]

A student edition leaves the solutions out of the exercise notebooks, but the chapters are
published whole. If a line of a solution region also appears in a chapter (in a cell's source
or in a stored output), the chapter gives that part of the answer away. This script reads every
exercise notebook in ``<book>/exercises/`` and every chapter notebook in ``<book>/``, and prints
each solution line found in a chapter, with the exercise and the chapter cell where it occurs.
A solution line counts if it has at least four letters or digits (the rule of the student
versions' leak test, tests/test_grading_exercises.py) and at least two names or numbers besides
Python keywords (``else:``, ``return X`` or ``print(`` give nothing away). It is found if a line
of a chapter cell, stripped, is the same line. Each statement of a solution region is also
compared, in a canonical form, with the statements of every chapter cell, so that an answer the
formatter wrapped differently is found too. ``--substring`` also lists solution lines found
inside longer chapter lines (mostly generic fragments such as ``history = cp.train(``).
Exits 1 if it finds any overlap, 0 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import copy
import keyword
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MIN_ALNUM = 4  # the same rule as the student versions' leak test (tests/test_grading_exercises.py)


def counts(line: str) -> bool:
    """Whether a stripped solution line says something: four letters or digits, and more than
    keywords and one name (``else:``, ``return X`` give nothing away)."""
    words = [word for word in re.findall(r"\w+", line) if not keyword.iskeyword(word)]
    return sum(ch.isalnum() for ch in line) >= MIN_ALNUM and len(words) >= 2


def statements(code: str) -> list[str]:
    """The statements of ``code`` in one canonical form each (``ast.unparse``: one line, no
    comments, no redundant parentheses, the same spacing), so that a statement wrapped over
    several lines by the formatter, or spaced differently, is still recognized. A compound
    statement (``for``, ``if``, ``def``...) gives its header line. Code that does not parse
    (an output that is not code) gives no statements."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except (SyntaxError, ValueError):
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt):
            continue
        header = copy.copy(node)
        for body in ("body", "orelse", "finalbody", "handlers", "cases"):
            if isinstance(getattr(header, body, None), list):
                setattr(header, body, [ast.Pass()] if body == "body" else [])
        if hasattr(header, "decorator_list"):
            header.decorator_list = []
        try:
            found.append(ast.unparse(header).splitlines()[0].strip())
        except (ValueError, IndexError):
            continue
    return found


def solution_regions(nb) -> list[tuple[str, str]]:
    """(exercise id, code) for every solution region of the notebook's answer cells."""
    regions = []
    for cell in nb.cells:
        exercise = str(cell.get("metadata", {}).get("grading", {}).get("exercise", "?"))
        inside, lines = False, []
        for line in cell.source.splitlines():
            if line.strip() == BEGIN:
                inside, lines = True, []
            elif line.strip() == END:
                inside = False
                regions.append((exercise, "\n".join(lines)))
            elif inside:
                lines.append(line)
    return regions


@dataclass(frozen=True)
class Overlap:
    """One solution line that a chapter cell also holds."""

    exercise_notebook: str
    exercise: str
    line: str
    chapter: str
    cell_id: str
    where: str  # "source" or "output"

    def __str__(self) -> str:
        return (
            f"exercise {self.exercise} ({self.exercise_notebook}) in {self.chapter}, "
            f"cell {self.cell_id} ({self.where}): {self.line}"
        )


def solution_lines(nb) -> list[tuple[str, str]]:
    """(exercise id, stripped line) for every counted line inside a solution region."""
    found = []
    for cell in nb.cells:
        exercise = str(cell.get("metadata", {}).get("grading", {}).get("exercise", "?"))
        inside = False
        for line in cell.source.splitlines():
            if line.strip() == BEGIN:
                inside = True
            elif line.strip() == END:
                inside = False
            elif inside and counts(line.strip()):
                found.append((exercise, line.strip()))
    return found


def output_text(cell) -> str:
    """Everything a code cell's stored outputs show as text (streams, results, errors)."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/") or mime.endswith("json"):
                parts.append(value if isinstance(value, str) else "".join(map(str, value)))
        parts.extend(output.get("traceback", []))
    return "\n".join(parts)


def chapter_texts(nb) -> list[tuple[str, str, str]]:
    """(cell id, "source" or "output", text) for every cell of a chapter notebook."""
    texts = []
    for index, cell in enumerate(nb.cells):
        cell_id = cell.get("id") or f"#{index}"
        texts.append((cell_id, "source", cell.source))
        if cell.cell_type == "code":
            texts.append((cell_id, "output", output_text(cell)))
    return texts


def find_overlaps(
    exercise_notebooks: list[Path], chapters: list[Path], substring: bool = False
) -> list[Overlap]:
    """Every (solution line or statement, chapter cell) pair where the cell holds it.

    A solution line is found if it is one of the cell's lines (stripped), or with ``substring``
    anywhere in its text; a solution statement if it is one of the cell's statements (both in
    the canonical form of ``statements``)."""
    cells = []
    for path in chapters:
        for cell_id, where, text in chapter_texts(nbformat.read(path, as_version=4)):
            lines = {line.strip() for line in text.splitlines()}
            cells.append((path.name, cell_id, where, text, lines, set(statements(text))))
    overlaps = []
    for path in exercise_notebooks:
        nb = nbformat.read(path, as_version=4)
        for exercise, line in solution_lines(nb):
            overlaps += [
                Overlap(path.name, exercise, line, chapter, cell_id, where)
                for chapter, cell_id, where, text, lines, _ in cells
                if (line in text if substring else line in lines)
            ]
        for exercise, code in solution_regions(nb):
            for statement in dict.fromkeys(statements(code)):
                if not counts(statement):
                    continue
                overlaps += [
                    Overlap(path.name, exercise, statement, chapter, cell_id, where)
                    for chapter, cell_id, where, _, _, found in cells
                    if statement in found
                ]
    return list(dict.fromkeys(overlaps))


def book_overlaps(book: Path, substring: bool = False) -> list[Overlap]:
    """The overlaps between ``book/exercises/*.ipynb`` and the chapters ``book/*.ipynb``."""
    exercises = sorted((book / "exercises").glob("*.ipynb"))
    chapters = sorted(book.glob("*.ipynb"))
    return find_overlaps(exercises, chapters, substring)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=Path(__file__).resolve().parents[1] / "book")
    parser.add_argument(
        "--substring", action="store_true", help="also find lines inside longer chapter lines"
    )
    args = parser.parse_args(argv)
    overlaps = book_overlaps(args.book, args.substring)
    for overlap in overlaps:
        print(overlap)
    lines = {(o.exercise_notebook, o.line) for o in overlaps}
    print(f"{len(lines)} solution lines printed by a chapter ({len(overlaps)} places)")
    return 1 if overlaps else 0


if __name__ == "__main__":
    sys.exit(main())
