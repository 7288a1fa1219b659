"""What nbval compares in the book's notebooks, and what it checks instead.

Every stored output is either compared literally by nbval (it is the same on every machine) or
tagged ``nbval-ignore-output`` because it depends on floating-point rounding; then the cell must
assert the claim its numbers support with ``check_claim``, so that a real regression still fails.
These tests keep that rule from eroding, and show that a broken chapter does fail nbval.
"""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(
    p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)
IGNORE_TAG = "nbval-ignore-output"
TIMING = re.compile(r"\btimeit\b|perf_counter|time\.time\(|\w+_seconds\b")
CLAIM_LITERAL = re.compile(r"check_claim\(\s*\"([^\"{}]+)\"")


def code_cells(path):
    nb = nbformat.read(path, as_version=4)
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def cell_name(path, index):
    return f"{path.relative_to(ROOT)} code cell {index}"


def test_the_book_has_notebooks():
    assert len(NOTEBOOKS) >= 16


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_ignored_outputs_are_replaced_by_asserted_claims(path):
    problems = []
    for i, cell in enumerate(code_cells(path)):
        tags = cell.metadata.get("tags", [])
        role = cell.metadata.get("grading", {}).get("role")
        if "NBVAL_SKIP" in cell.source or "nbval-skip" in tags:
            problems.append(f"{cell_name(path, i)} is skipped: nothing in it would be tested")
        if "# NBVAL_IGNORE_OUTPUT" in cell.source and not TIMING.search(cell.source):
            problems.append(
                f"{cell_name(path, i)} has # NBVAL_IGNORE_OUTPUT but times nothing; tag a "
                f"rounding-dependent cell {IGNORE_TAG} and assert its claim with check_claim"
            )
        if IGNORE_TAG in tags and role != "answer" and "check_claim(" not in cell.source:
            problems.append(
                f"{cell_name(path, i)} is tagged {IGNORE_TAG} but asserts no claim (check_claim)"
            )
        if role == "check" and (IGNORE_TAG in tags or "NBVAL_IGNORE_OUTPUT" in cell.source):
            problems.append(f"{cell_name(path, i)} is a check cell: its verdict must be compared")
    assert not problems, "\n".join(problems)


def test_claims_have_unique_wording_across_the_book():
    seen: dict[str, str] = {}
    duplicates = []
    for path in NOTEBOOKS:
        for i, cell in enumerate(code_cells(path)):
            for claim in CLAIM_LITERAL.findall(cell.source):
                where = cell_name(path, i)
                if claim in seen and seen[claim] != where:
                    duplicates.append(f"{claim!r} in {seen[claim]} and {where}")
                seen.setdefault(claim, where)
    assert seen, "no check_claim found in the book"
    assert not duplicates, "\n".join(duplicates)


def test_a_broken_chapter_fails_nbval(tmp_path):
    """Chapter 1 with a learning rate 1000 times too small: its claims must stop it."""
    source = ROOT / "book" / "01_perceptron.ipynb"
    nb = nbformat.read(source, as_version=4)
    broken = [c for c in nb.cells if c.cell_type == "code" and "lr=0.1)" in c.source]
    assert broken, "chapter 1 no longer trains with lr=0.1; update this test"
    for cell in broken:
        cell.source = cell.source.replace("lr=0.1)", "lr=1e-4)")
    target = tmp_path / source.name
    nbformat.write(nb, target)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval",
            "--nbval-current-env",
            "--nbval-cell-timeout=120",
            "-p",
            "no:cacheprovider",
            "--color=no",
            "-q",
            "--rootdir",
            str(tmp_path),
            str(target),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert "ClaimError" in output and "claim does not hold" in output, output[-3000:]
    assert "Cell outputs differ" not in output  # the claim failed, not a literal comparison
