"""No chapter prints an exercise's answer: no line or statement of a solution region of an
exercise notebook appears in a chapter notebook (its sources or its outputs). The search is
scripts/chapter_answer_overlap.py; a control shows that it finds a solution line copied into a
chapter, also when the formatter has wrapped it over several lines."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"

sys.path.insert(0, str(ROOT / "scripts"))
import chapter_answer_overlap as overlap  # noqa: E402


def test_no_chapter_prints_an_exercise_answer():
    assert overlap.book_overlaps(BOOK) == []


SOLUTION_LINE = "self.rho.grad += grad_W * self.eps * np.exp(self.rho.value)"


def test_the_controls_solution_line_is_one():
    nb = nbformat.read(BOOK / "exercises" / "08_bayesian_neural_networks_exercises.ipynb", 4)
    assert any(line.startswith(SOLUTION_LINE) for _, line in overlap.solution_lines(nb))


def _copy_book(tmp_path: Path) -> Path:
    book = tmp_path / "book"
    (book / "exercises").mkdir(parents=True)
    for path in BOOK.glob("*.ipynb"):
        (book / path.name).write_bytes(path.read_bytes())
    for path in (BOOK / "exercises").glob("*.ipynb"):
        (book / "exercises" / path.name).write_bytes(path.read_bytes())
    return book


def _append_to_chapter(book: Path, name: str, cell) -> None:
    path = book / name
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(cell)
    nbformat.write(nb, path)


@pytest.mark.parametrize(
    ("exercise", "where", "text"),
    [
        # a statement of 6.1's solution, in a code cell of its own
        ("6.1", "source", "def size(H, k, p, s, d):\n    span = d * (k - 1) + 1\n"),
        # a statement of 8.2's solution, wrapped differently and printed as an output
        (
            "8.2",
            "output",
            "self.rho.grad += (\n    grad_W * self.eps * np.exp(self.rho.value)\n)\n",
        ),
        # a line of 1.2's solution, comment and all, in prose that does not parse as Python
        (
            "1.2",
            "output",
            "The loop (see below:\n"
            "        if t[n] * (X[n] @ w + b) <= margin:  # wrong side, or too close to the line\n",
        ),
    ],
    ids=["statement-in-source", "wrapped-statement-in-output", "line-in-prose"],
)
def test_control_a_copied_answer_is_found(tmp_path, exercise, where, text):
    book = _copy_book(tmp_path)
    if where == "source":
        cell = nbformat.v4.new_code_cell(text)
    else:
        cell = nbformat.v4.new_code_cell("print(text)")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    _append_to_chapter(book, "05_regularization.ipynb", cell)
    found = {(o.exercise, o.chapter) for o in overlap.book_overlaps(book)}
    assert found == {(exercise, "05_regularization.ipynb")}


def test_generic_lines_do_not_count():
    assert not overlap.counts("else:")
    assert not overlap.counts("return X")
    assert not overlap.counts("print(")
    assert overlap.counts("updates += 1")
    assert overlap.statements("x = (\n    a + b\n)  # comment\nfor i in range(3):\n    pass") == [
        "x = a + b",
        "for i in range(3):",
        "pass",
    ]


def test_the_script_exits_nonzero_on_an_overlap(tmp_path, capsys):
    book = _copy_book(tmp_path)
    assert overlap.main(["--book", str(book)]) == 0
    _append_to_chapter(book, "01_perceptron.ipynb", nbformat.v4.new_markdown_cell(SOLUTION_LINE))
    assert overlap.main(["--book", str(book)]) == 1
    assert SOLUTION_LINE in capsys.readouterr().out
