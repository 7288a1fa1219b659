"""What a student sees is what a student gets: for an honest submission, the points in the
gradebook equal the PASS lines its check cells print when the notebook runs top to bottom in a
fresh kernel.

Every chapter's solution notebook is turned into honest variants of the ways students really
work (cells added, answers moved into cells of their own or split in two, answer cells typed
again, markdown edited, cells run out of order and saved, ids lost, Colab's save format). Each
variant is run top to bottom with nbclient, as the student would, and graded in the sandbox; the
two must agree. A control cheats (a stub left in place under a check cell edited to print PASS):
its own run shows PASS everywhere, and the grader gives only what it deserves.
"""

from __future__ import annotations

import ast
import copy
import csv
import json
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("nbval")

from coursepkg.grading.exercise_format import (  # noqa: E402
    ANSWER,
    CHECK,
    assignment_name,
    cell_grading,
    find_exercise_notebooks,
    stub_solutions,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="grading needs bubblewrap")

EXERCISES = Path(__file__).resolve().parents[1] / "book" / "exercises"


def solved(path: Path):
    """The solution notebook as an honest student who got everything right hands it in."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if cell_grading(cell).get("role") == ANSWER:
            lines = cell.source.splitlines()
            cell.source = "\n".join(line for line in lines if "### " not in line)
    return nb


def answers(nb) -> list:
    return [c for c in nb.cells if cell_grading(c).get("role") == ANSWER]


def code(source: str):
    return nbformat.v4.new_code_cell(source)


def cells_added(nb):
    """A cell of the student's own above everything, after every answer, and at the end."""
    nb.cells.insert(0, code("import math  # a cell of my own\n\nMY_CONSTANT = math.pi"))
    for answer in answers(nb):
        nb.cells.insert(nb.cells.index(answer) + 1, code("print('trying my answer')"))
    nb.cells.append(code("print('done', MY_CONSTANT > 3)"))
    return nb


def answer_in_own_cell_above(nb):
    """The answer written in a new cell above the answer cell, which only points to it."""
    for answer in answers(nb):
        nb.cells.insert(nb.cells.index(answer), code(answer.source))
        answer.source = "# my solution is in the cell above"
    return nb


def answer_split(nb):
    """Each answer with two or more top-level statements split over two cells."""
    for answer in answers(nb):
        statements = ast.parse(answer.source).body
        if len(statements) < 2:
            continue
        last = statements[-1]
        line = min([last.lineno] + [d.lineno for d in getattr(last, "decorator_list", [])])
        lines = answer.source.splitlines()
        answer.source = "\n".join(lines[: line - 1])
        nb.cells.insert(nb.cells.index(answer) + 1, code("\n".join(lines[line - 1 :])))
    return nb


def answer_recreated(nb):
    """Each answer cell deleted and typed again: a new id, no metadata."""
    for answer in answers(nb):
        nb.cells[nb.cells.index(answer)] = code(answer.source)
    return nb


def markdown_edited(nb):
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source += "\n\n*My notes: this one took me a while.*"
    return nb


def run_out_of_order(nb):
    """Cells run in another order and saved: shuffled counts, stale outputs (even a FAIL)."""
    order = list(range(1, len(nb.cells) + 1))
    random.Random(0).shuffle(order)
    for count, cell in zip(order, nb.cells, strict=True):
        if cell.cell_type == "code":
            cell.execution_count = count
            meta = cell_grading(cell)
            if meta.get("role") == CHECK:
                text = f"FAIL exercise {meta['exercise']}: from an earlier run\n"
                cell.outputs = [nbformat.v4.new_output("stream", text=text)]
    return nb


def as_json(nb, *, minor: int, line_end: str = "\n", colab: bool = False) -> str:
    """The notebook as an older nbformat writes it: no cell ids (4.4 and before); with
    ``colab``, Colab's metadata and cell ids in the metadata; sources with ``line_end``."""
    data = json.loads(nbformat.writes(nb))
    data["nbformat_minor"] = minor
    if colab:
        data["metadata"] = {
            "colab": {"provenance": [], "name": "exercises.ipynb"},
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
        }
    for k, cell in enumerate(data["cells"]):
        cell.pop("id", None)
        if colab:
            cell["metadata"]["id"] = f"c{k:04d}"
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        lines = source.split("\n")
        cell["source"] = [line + line_end for line in lines[:-1]] + [lines[-1]]
    return json.dumps(data, indent=1)


HONEST = {
    "as_is": lambda nb: nb,
    "cells_added": cells_added,
    "answer_in_own_cell_above": answer_in_own_cell_above,
    "answer_split": answer_split,
    "answer_recreated": answer_recreated,
    "markdown_edited": markdown_edited,
    "run_out_of_order": run_out_of_order,
}
FORMATS = {"ids_dropped": {"minor": 4}, "colab": {"minor": 0, "line_end": "\r\n", "colab": True}}


def cheater(path: Path):
    """Exercise 1's stub left in place, its check cell edited to print PASS."""
    nb = solved(path)
    reference = nbformat.read(path, as_version=4)
    first = cell_grading(answers(reference)[0])["exercise"]
    for mine, theirs in zip(nb.cells, reference.cells, strict=True):
        meta = cell_grading(theirs)
        if meta.get("exercise") == first and meta.get("role") == ANSWER:
            mine.source = stub_solutions(theirs.source, first)
        if meta.get("exercise") == first and meta.get("role") == CHECK:
            mine.source = f'print("PASS exercise {first}")'
    return nb, first


def passes_seen(path: Path) -> set[str]:
    """The exercises whose PASS line the notebook at ``path`` prints, run top to bottom."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(  # like nbval, it goes on after a cell's error
        nb,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    seen = set()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            for line in out.get("text", "").splitlines():
                if line.startswith("PASS exercise "):
                    seen.add(line.split()[-1])
    return seen


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every variant of every chapter, as the student's run saw it and as the grader graded it."""
    subs = tmp_path_factory.mktemp("variants")
    points, written = {}, {}
    for path in find_exercise_notebooks(EXERCISES):
        chapter = assignment_name(path)
        reference = nbformat.read(path, as_version=4)
        points[chapter] = {
            cell_grading(c)["exercise"]: float(cell_grading(c)["points"])
            for c in reference.cells
            if cell_grading(c).get("role") == CHECK
        }
        for name, make in HONEST.items():
            target = subs / name / path.name
            target.parent.mkdir(exist_ok=True)
            nbformat.write(make(solved(path)), target)
            written[name, chapter] = target
        for name, options in FORMATS.items():
            target = subs / name / path.name
            target.parent.mkdir(exist_ok=True)
            target.write_bytes(as_json(copy.deepcopy(solved(path)), **options).encode())
            written[name, chapter] = target
        nb, _ = cheater(path)
        target = subs / "cheater" / path.name
        target.parent.mkdir(exist_ok=True)
        nbformat.write(nb, target)
        written["cheater", chapter] = target
    runs = tmp_path_factory.mktemp("student-runs")

    def seen(key):
        copy_path = runs / f"{key[0]}-{key[1]}" / written[key].name
        copy_path.parent.mkdir()
        copy_path.write_bytes(written[key].read_bytes())
        return key, passes_seen(copy_path)

    with ThreadPoolExecutor(max_workers=2) as pool:
        seen_by = dict(pool.map(seen, written))
    out = tmp_path_factory.mktemp("grades")
    command = [sys.executable, "-m", "coursepkg.grading", "grade", str(EXERCISES), str(subs)]
    command += ["--out", str(out), "--jobs", "2", "--cell-timeout", "300"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(out / "gradebook.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return points, seen_by, rows


def gradebook_points(rows, student, chapter) -> float:
    mine = [r for r in rows if (r["student"], r["chapter"]) == (student, chapter)]
    return sum(float(r["points"]) for r in mine)


CHAPTERS = [assignment_name(p) for p in find_exercise_notebooks(EXERCISES)]


@pytest.mark.parametrize("variant", [*HONEST, *FORMATS])
def test_honest_variants_get_the_points_their_own_run_shows(graded, variant):
    points, seen_by, rows = graded
    for chapter in CHAPTERS:
        shown = sum(points[chapter][e] for e in seen_by[variant, chapter])
        assert shown == sum(points[chapter].values()), (variant, chapter, seen_by[variant, chapter])
        assert gradebook_points(rows, variant, chapter) == shown, (variant, chapter)


def test_an_answer_retyped_in_a_new_cell_is_recognized_by_position(graded):
    rows = graded[2]
    mine = [r for r in rows if r["student"] == "answer_recreated" and r["exercise"]]
    assert mine and all(r["result"] == "pass" for r in mine)
    assert all("recognized by position" in r["reason"] for r in mine)


def test_control_a_faked_check_gets_only_what_it_deserves(graded):
    points, seen_by, rows = graded
    for path in find_exercise_notebooks(EXERCISES):
        chapter = assignment_name(path)
        _, first = cheater(path)
        claimed = sum(points[chapter][e] for e in seen_by["cheater", chapter])
        assert claimed == sum(points[chapter].values())  # its own run shows PASS everywhere
        deserved = claimed - points[chapter][first]
        assert gradebook_points(rows, "cheater", chapter) == deserved, chapter
