"""The student edition (scripts/build_student_edition.py) and the leak test that searches it
(scripts/leak_test.py). The edition is built into a temporary folder; its book is not built here
(scripts/test.sh builds it and runs the leak test on the site too)."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))

import build_student_edition as edition  # noqa: E402
import colab_cell  # noqa: E402
import leak_test  # noqa: E402

STUDENT_URL, STUDENT_BRANCH = edition.student_address(edition.load_config())
INSTRUCTOR_URL = edition.load_config()["repository"]["url"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("edition") / "student"
    edition.build(out)
    return out


@pytest.fixture(scope="module")
def solutions():
    searched, _ = leak_test.solution_lines()
    return searched


def test_the_edition_holds_no_solution_line(built, solutions):
    """The leak test over every file of the edition: chapters (sources and outputs), released
    exercise notebooks, pages, the package, the configuration."""
    report = leak_test.search([built], solutions, leak_test.address_pattern(INSTRUCTOR_URL))
    assert report.files > 100  # the package, the pages, the notebooks, MathJax
    assert report.addresses == []
    assert [str(hit) for hit in report.hits] == []


def test_a_button_to_the_instructor_repository_is_caught(tmp_path, solutions):
    owner_name = INSTRUCTOR_URL.removeprefix("https://github.com/")
    links = [
        f"https://mybinder.org/v2/gh/{owner_name}/main?urlpath=lab/tree/book/x.ipynb",
        f"https://colab.research.google.com/github/{owner_name}/blob/main/book/x.ipynb",
        f"{INSTRUCTOR_URL}/edit/main/book/x.ipynb",
        f"{STUDENT_URL}/edit/main/book/x.ipynb",  # not the instructor's
    ]
    page = tmp_path / "page.html"
    page.write_text("\n".join(f'<a href="{link}">button</a>' for link in links) + "\n")
    pattern = leak_test.address_pattern(INSTRUCTOR_URL)
    assert leak_test.search([page], solutions, pattern).addresses == [
        (page, 1),
        (page, 2),
        (page, 3),
    ]


def test_a_leaky_control_is_caught(built, solutions, tmp_path):
    """The same edition with one instructor's notebook copied over its student version: the
    search finds that notebook's solutions, in its sources and its outputs."""
    leaky = tmp_path / "leaky"
    shutil.copytree(built, leaky)
    name = "03_backpropagation_exercises.ipynb"
    shutil.copy2(ROOT / "book" / "exercises" / name, leaky / "book" / "exercises" / name)
    hits = [hit for hit in leak_test.search([leaky], solutions).hits if hit.path.name == name]
    ours = {s for s in solutions if s.notebook == name}
    assert ours and {hit.solution for hit in hits} == ours  # every line of its solutions


def test_a_solution_printed_by_a_cell_is_caught(tmp_path, solutions):
    """A notebook's outputs are searched as well as its code (``inspect.getsource``, say)."""
    line = next(s for s in solutions if s.exercise == "8.2")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(source)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"    {line.line}\n")]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "printed.ipynb")
    hits = leak_test.search([tmp_path], solutions).hits
    assert [(hit.where, hit.solution) for hit in hits] == [("cell 0 outputs[0].text line 1", line)]


def test_a_solution_in_highlighted_html_is_caught(tmp_path, solutions):
    """A built page shows code as highlighted HTML; the search reads it as the reader does."""
    line = next(s for s in solutions if s.exercise == "3.2" and not s.line.startswith("#"))
    words = line.line.split(" ")
    highlighted = " ".join(f'<span class="n">{html.escape(word)}</span>' for word in words)
    page = tmp_path / "page.html"
    page.write_text(
        f'<div class="highlight"><pre><span></span>    {highlighted}\n</pre></div>\n',
        encoding="utf-8",
    )
    assert [hit.solution for hit in leak_test.search([page], solutions).hits] == [line]


def test_the_command_line_reports_hits_and_the_control(built, tmp_path, capsys):
    assert leak_test.main([str(built / "coursepkg" / "linear.py")]) == 0
    leaky = tmp_path / "leaky.ipynb"
    shutil.copy2(ROOT / "book" / "exercises" / "01_perceptron_exercises.ipynb", leaky)
    assert leak_test.main([str(leaky)]) == 1
    assert "leaky.ipynb:cell " in capsys.readouterr().out
    assert leak_test.main(["--expect-leaks", str(leaky)]) == 0
    assert leak_test.main(["--expect-leaks", str(built / "coursepkg" / "linear.py")]) == 1


@pytest.mark.parametrize(
    "line",
    ["else:", "return X", "self._X = X", "N, H, W = X.shape", "if self.training:", "print(",
     "history = cp.train(", "batch_size=32,", ")"],
)  # fmt: skip
def test_lines_that_compute_nothing_are_not_searched(line):
    assert not leak_test.telling(line)


@pytest.mark.parametrize(
    "line",
    ["b_nand = 1.5", "wait += 1", "b = float(b)", "return X * self.mask", "m_hat = m / (",
     "for v in range(kw):", "# the chain rule multiplies elementwise"],
)  # fmt: skip
def test_lines_that_compute_or_explain_are_searched(line):
    assert leak_test.telling(line)


def test_the_edition_opens_student_notebooks_only(built):
    config = yaml.safe_load((built / "_config.yml").read_text(encoding="utf-8"))
    assert config["repository"] == {"url": STUDENT_URL, "branch": STUDENT_BRANCH}
    assert "student_edition" not in config
    assert config["sphinx"]["config"]["exercise_solutions"] == "remove"
    assert edition.problems(built, INSTRUCTOR_URL) == []
    assert colab_cell.main(["--root", str(built), "--check"]) == 0
    notebooks = sorted((built / "book").rglob("*.ipynb"))
    assert len(notebooks) == 2 * len(list((ROOT / "book" / "exercises").glob("*.ipynb")))
    for path in notebooks:
        setup = nbformat.read(path, as_version=4).cells[0]
        assert "colab-setup" in setup.metadata["tags"]
        assert f'"{STUDENT_URL}"' in setup.source and f"--branch={STUDENT_BRANCH}" in setup.source
    for path in (built / "book" / "exercises").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        checks = [c for c in nb.cells if c.metadata.get("grading", {}).get("role") == "check"]
        assert checks and all(c.outputs == [] for c in checks)  # no stored verdicts
    readme = (built / "README.md").read_text(encoding="utf-8")
    assert "book/exercises/" in readme and STUDENT_URL in readme


def test_the_edition_leaves_out_the_ways_to_game_the_grader(built):
    marker = "What the numbers cannot tell apart from a right answer"
    assert marker in (ROOT / "book" / "instructors.md").read_text(encoding="utf-8")
    page = (built / "book" / "instructors.md").read_text(encoding="utf-8")
    assert marker not in page and "Richardson" not in page
    assert not re.search(r"^% student edition", page, re.M)
    assert "## 6. How grading works" in page and "## 7. Publishing" in page  # the rest is kept


def test_an_unpaired_omit_marker_stops_the_build(tmp_path, monkeypatch):
    root = tmp_path / "root"
    shutil.copytree(ROOT / "book", root / "book", ignore=shutil.ignore_patterns("*.ipynb"))
    page = root / "book" / "instructors.md"
    text = page.read_text(encoding="utf-8").replace("% student edition: omit to here\n", "")
    page.write_text(text, encoding="utf-8")
    monkeypatch.setattr(edition, "ROOT", root)
    monkeypatch.setattr(edition, "FILES", [])
    monkeypatch.setattr(edition, "FOLDERS", [])
    (tmp_path / "out" / "book").mkdir(parents=True)
    with pytest.raises(SystemExit, match="unpaired"):
        edition.copy_sources(tmp_path / "out")


def test_a_broken_link_or_the_instructor_address_is_reported(built, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(built, copy)
    (copy / "book" / "instructors.md").unlink()
    (copy / "book" / "glossary.md").write_text(f"See [the repository]({INSTRUCTOR_URL}).\n")
    found = edition.problems(copy, INSTRUCTOR_URL)
    assert any("glossary.md: names the instructor's repository" in p for p in found)
    assert any("the link ../instructors.md leads to no file" in p for p in found)


def test_a_folder_that_is_not_an_edition_is_not_touched(tmp_path):
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(SystemExit, match="not empty"):
        edition.prepare(tmp_path)
    assert (tmp_path / "thesis.tex").read_text() == "years of work"


def test_the_edition_is_committed_to_a_branch(built, tmp_path, monkeypatch):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.org")
    out = tmp_path / "student"
    shutil.copytree(built, out)
    assert edition.commit(out, "published", STUDENT_URL)
    assert not edition.commit(out, "published", STUDENT_URL)  # nothing changed
    (out / "README.md").write_text("changed\n")
    assert edition.commit(out, "published", STUDENT_URL)

    def git(*args):
        return subprocess.run(
            ["git", "-C", str(out), *args], check=True, capture_output=True, text=True
        ).stdout

    assert git("rev-list", "--count", "published").strip() == "2"
    assert git("remote", "get-url", "origin").strip() == STUDENT_URL
    assert "book/exercises/03_backpropagation_exercises.ipynb" in git("ls-files")
    assert git("status", "--porcelain") == ""
