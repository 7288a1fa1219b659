"""Build the student edition of the course: the book, the package and blank exercise notebooks.

Usage (from the repository root, in the project's environment)::

    python scripts/build_student_edition.py --out ../student-edition
    python scripts/build_student_edition.py --out ../student-edition --git   # and commit it

The student edition is a repository of its own, meant to be public while this one (with the
solutions) may stay private. It holds the chapters (``book/*.ipynb``, as stored, executed), the
exercise notebooks in their student versions (``coursepkg.grading.release``: solution regions
replaced by stubs, no stored outputs, so no check cell shows a verdict), the package, ``data/``,
what Binder and Colab need (``requirements.txt``, ``runtime.txt``), the book's configuration and
pages, and a README for students. Its address is set in one place, the ``student_edition:``
block of this repository's ``_config.yml``; in the edition's ``_config.yml`` it becomes the
``repository:``, so the book's Binder, Colab, edit and download buttons open the edition's
notebooks, and every notebook's Colab set-up cell (``scripts/colab_cell.py``) clones the edition.
The edition's ``exercise_solutions`` is ``remove``, whatever this repository's is.

The build checks what it wrote: no notebook holds a solution marker or a stored output of an
exercise notebook, no file names this repository's address, and every relative link of a page or
notebook leads to a file of the edition. ``scripts/leak_test.py`` then searches it, and its built
book, for every solution line.

``--out DIR`` must be empty, missing, or an earlier edition (it holds ``.student-edition``);
everything in it but ``.git`` is replaced. ``--git [BRANCH]`` then commits the edition to
``BRANCH`` (default: the configured branch) of the git repository in ``DIR`` (made if missing, with
the configured URL as ``origin``); pushing is left to you (the command is printed).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's coursepkg, wherever the script is run from
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling script colab_cell

import colab_cell  # noqa: E402
import leak_test  # noqa: E402

from coursepkg.grading.exercise_format import has_solution_markers  # noqa: E402
from coursepkg.grading.release import release  # noqa: E402

MARKER = ".student-edition"
FILES = ["pyproject.toml", "requirements.txt", "runtime.txt", "references.bib", "_toc.yml"]
# benchmarks/: chapter 9 quotes its README (what was measured against PyTorch).
FOLDERS = ["coursepkg", "data", "static", "book/images", "benchmarks"]
IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.egg-info", ".ipynb_checkpoints", "results"
)
_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")

README = """\
# {title}: student edition

This is the course's student edition: the chapters of the book, the **blank exercise
notebooks**, and `coursepkg`, the package the notebooks import. Every chapter of the book (in
`book/`) has an exercise notebook in `book/exercises/`; in each, the answer cells hold a stub,

```python
# YOUR CODE HERE
raise NotImplementedError("Exercise 3.2: write your code here")
```

which you replace by your code. Run the notebook top to bottom: the check cell under each
exercise, `check("3.2")`, prints `PASS exercise 3.2`, or `FAIL exercise 3.2: ...` with what is
wrong. Hand in the notebook as your instructor asks.

## Opening the notebooks

- **Locally** (Python 3.10 or later), from a clone of this repository:
  ```bash
  git clone {clone_url} && cd {name}
  python3 -m venv .venv && source .venv/bin/activate
  pip install -r requirements.txt jupyterlab
  jupyter lab book/exercises/
  ```
  The exercise notebooks are in `book/exercises/`, the chapters in `book/`. Everything runs
  offline once installed.
{online}
## Building the book

The book's pages can be built from this folder with Jupyter Book 1.x:
`pip install "jupyter-book==1.0.4.post1" sphinxcontrib-bibtex && jupyter-book build .`

This repository is generated from the course's own by `scripts/build_student_edition.py`; changes
belong there.
"""

INSTRUCTORS_NOTE = """\
:::{note}
This is the student edition of the course: its exercise notebooks are the student versions. The
solution versions this page speaks of are in the instructor's own repository.
:::
"""

OMIT = re.compile(
    r"^% student edition: omit from here.*?^% student edition: omit to here\n", re.M | re.S
)
"""A region of the instructors' page that the edition leaves out: the list of ways to game the
grader that its numbers cannot catch, which helps no honest student."""

ONLINE = """
- **Binder** (nothing to install; the session ends when idle, so download your notebook before
  leaving): [open the exercises in Binder]({binder}). On the book's pages, the rocket icon of
  every chapter and exercise page does the same for that page.
- **Colab** (a Google account): [open the first exercise notebook in Colab]({colab}), or any
  notebook through File, Open notebook, GitHub, `{owner}/{name}`, branch `{branch}`. Run its
  first cell: it installs `coursepkg` from this repository. Save a copy to your Drive (File, Save
  a copy in Drive) to keep your work.
"""


def load_config(root: Path = ROOT) -> dict:
    """This repository's ``_config.yml``."""
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))


def student_address(config: dict) -> tuple[str, str]:
    """(url, branch) of the student edition, from ``_config.yml``'s ``student_edition:``."""
    block = config.get("student_edition") or {}
    url = str(block.get("url", "")).rstrip("/").removesuffix(".git")
    if not url.startswith("https://"):
        raise SystemExit(
            "_config.yml: student_edition.url must be the https URL of the student repository, "
            f"got {url!r}"
        )
    return url, str(block.get("branch", "main"))


def prepare(out: Path) -> None:
    """Empty ``out`` for a new edition (keeping ``.git``); refuse a folder that holds
    something else, so that a mistyped path never deletes anyone's work."""
    if out.resolve() in (ROOT.resolve(), *ROOT.resolve().parents):
        raise SystemExit(f"{out} is this repository or a folder above it")
    out.mkdir(parents=True, exist_ok=True)
    entries = [p for p in out.iterdir() if p.name != ".git"]
    if entries and not (out / MARKER).is_file():
        raise SystemExit(f"{out} is not empty and holds no earlier edition ({MARKER}); not touched")
    for path in entries:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def edition_config(config: dict, url: str, branch: str) -> str:
    """The edition's ``_config.yml``: the student repository as its repository, no
    ``student_edition`` block, and exercise solutions removed."""
    config = json.loads(json.dumps(config))  # a deep copy
    config.pop("student_edition", None)
    config["repository"] = {**(config.get("repository") or {}), "url": url, "branch": branch}
    sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["exercise_solutions"] = "remove"
    header = (
        "# The student edition's Jupyter Book configuration, written by\n"
        "# scripts/build_student_edition.py from the course repository's _config.yml: edit that.\n"
    )
    return header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=100)


def readme(config: dict, url: str, branch: str) -> str:
    """The README for students, with links for Binder and Colab where the edition is on
    GitHub."""
    name = url.rsplit("/", 1)[-1]
    online = ""
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", url)
    if match:
        owner, repo = match[1], f"{match[1]}/{name}"
        binder = f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/book/exercises"
        first = sorted((ROOT / "book" / "exercises").glob("*.ipynb"))[0].name
        colab = f"https://colab.research.google.com/github/{repo}/blob/{branch}/book/exercises/"
        colab += first
        online = ONLINE.format(binder=binder, colab=colab, owner=owner, name=name, branch=branch)
    return README.format(
        title=config.get("title", "The course"), clone_url=url, name=name, online=online
    )


def write_notebook(nb, path: Path) -> None:
    """Write ``nb`` as ``scripts/colab_cell.py`` does, so that its ``--check`` agrees."""
    text = nbformat.writes(nb)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def copy_sources(out: Path) -> None:
    """Copy everything but the exercise notebooks from this repository into ``out``."""
    for name in FILES:
        shutil.copy2(ROOT / name, out / name)
    for name in FOLDERS:
        shutil.copytree(ROOT / name, out / name, ignore=IGNORE)
    for path in sorted((ROOT / "book").glob("*")):
        if path.suffix in (".md", ".ipynb"):
            shutil.copy2(path, out / "book" / path.name)
    # The instructors' page speaks of the repository with the solutions; say that this is not it.
    page = out / "book" / "instructors.md"
    if page.is_file():
        title, _, rest = page.read_text(encoding="utf-8").partition("\n")
        rest = OMIT.sub("", rest)
        if re.search(r"^% student edition: omit", rest, re.M):  # a marker without its pair
            raise SystemExit(f"{page}: an unpaired '% student edition: omit' marker")
        page.write_text(f"{title}\n\n{INSTRUCTORS_NOTE}{rest}", encoding="utf-8")


def set_colab_cells(out: Path, url: str, branch: str) -> list[Path]:
    """Point every notebook's Colab set-up cell at the student repository."""
    notebooks = sorted(
        p for p in (out / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )
    for path in notebooks:
        nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        colab_cell.apply(nb, colab_cell.cell_source(path, url, branch, out))
        write_notebook(nb, path)
    return notebooks


def _text_files(out: Path):
    for path in sorted(out.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(out).parts:
            try:
                yield path, path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def _markdown_sources(path: Path, text: str) -> list[str]:
    if path.suffix == ".md":
        return [text]
    if path.suffix == ".ipynb":
        nb = nbformat.reads(text, as_version=4)
        return [c.source for c in nb.cells if c.cell_type == "markdown"]
    return []


def problems(out: Path, instructor_url: str) -> list[str]:
    """What is wrong with the edition in ``out`` (empty if nothing): solution markers or stored
    outputs in exercise notebooks, this repository's address, relative links to nowhere."""
    found = []
    names_instructor = leak_test.address_pattern(instructor_url)
    for path, text in _text_files(out):
        where = path.relative_to(out)
        if instructor_url and names_instructor.search(text):
            found.append(f"{where}: names the instructor's repository {instructor_url}")
        if path.suffix == ".ipynb":
            nb = nbformat.reads(text, as_version=4)
            if any(has_solution_markers(c.source) for c in nb.cells):
                found.append(f"{where}: holds solution markers")
            if path.parent.name == "exercises" and any(c.get("outputs") for c in nb.cells):
                found.append(f"{where}: an exercise notebook with stored outputs")
        for source in _markdown_sources(path, text):
            for target in _LINK.findall(source):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                    continue  # a URL (http:, mailto:) or an anchor of the same page
                file = target.split("#", 1)[0]
                if file and not (path.parent / file).exists():
                    found.append(f"{where}: the link {target} leads to no file of the edition")
    return found


def build(out: Path) -> list[Path]:
    """Write the student edition into ``out``; return its notebooks."""
    config = load_config()
    url, branch = student_address(config)
    instructor_url = str((config.get("repository") or {}).get("url", "")).rstrip("/")
    if instructor_url.removesuffix(".git") == url:
        raise SystemExit("_config.yml: student_edition.url is the instructor's repository.url")
    prepare(out)
    copy_sources(out)
    release(ROOT / "book" / "exercises", out / "book" / "exercises")
    (out / "_config.yml").write_text(edition_config(config, url, branch), encoding="utf-8")
    (out / "README.md").write_text(readme(config, url, branch), encoding="utf-8")
    (out / ".gitignore").write_text(
        "__pycache__/\n*.egg-info/\n.venv/\n_build/\n.ipynb_checkpoints/\n", encoding="utf-8"
    )
    notebooks = set_colab_cells(out, url, branch)
    (out / MARKER).write_text(
        "Written by scripts/build_student_edition.py; the next build replaces this folder.\n",
        encoding="utf-8",
    )
    found = problems(out, instructor_url)
    if found:
        raise SystemExit("the student edition is not right:\n" + "\n".join(found))
    return notebooks


def _git(out: Path, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        ["git", "-C", str(out), *args], check=True, text=True, capture_output=capture
    )
    return result.stdout if capture else ""


def commit(out: Path, branch: str, url: str) -> bool:
    """Commit the edition in ``out`` to ``branch`` of the git repository there (made if missing,
    with ``url`` as ``origin``); the work tree is the edition as built, whatever the branch held
    before. Returns whether a commit was made (False: nothing changed)."""
    if not (out / ".git").exists():
        _git(out, "init", "--quiet")
    if "origin" not in _git(out, "remote", capture=True).split():
        _git(out, "remote", "add", "origin", url)
    # Point HEAD at the branch without touching the work tree, and make the index the branch's
    # tip (if it has one), so that the commit records exactly the change to the new edition.
    _git(out, "symbolic-ref", "HEAD", f"refs/heads/{branch}")
    has_tip = subprocess.run(
        ["git", "-C", str(out), "rev-parse", "--verify", "--quiet", "HEAD"],
        capture_output=True,
    )
    if has_tip.returncode == 0:
        _git(out, "reset", "--quiet")
    _git(out, "add", "--all")
    if has_tip.returncode == 0 and not _git(out, "status", "--porcelain", capture=True).strip():
        return False
    describe = ["git", "-C", str(ROOT), "describe", "--always", "--dirty"]
    source = subprocess.run(describe, capture_output=True, text=True).stdout.strip()
    source = source or "an unknown commit"
    _git(out, "commit", "--quiet", "-m", f"Student edition, built from the course at {source}")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the edition's folder")
    parser.add_argument(
        "--git",
        nargs="?",
        const="",
        metavar="BRANCH",
        help="commit the edition to BRANCH (default: student_edition.branch) of the git "
        "repository in --out",
    )
    args = parser.parse_args(argv)
    notebooks = build(args.out)
    url, branch = student_address(load_config())
    print(f"wrote the student edition into {args.out} ({len(notebooks)} notebooks) for {url}")
    if args.git is not None:
        branch = args.git or branch
        made = commit(args.out, branch, url)
        print(f"committed to branch {branch}" if made else f"branch {branch}: nothing changed")
        print(f"to publish it: git -C {args.out} push origin {branch}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
