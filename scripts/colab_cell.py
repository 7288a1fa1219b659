"""Insert or update the Colab set-up cell at the top of every notebook under ``book/``.

Usage (from the repository root, in the project's environment)::

    python scripts/colab_cell.py                      # every notebook under book/
    python scripts/colab_cell.py book/05_x.ipynb ...  # only these
    python scripts/colab_cell.py --check              # exit 1 if a notebook lacks the current cell

A notebook opened in Colab (the launch button on every chapter page) has no ``coursepkg``. The
first code cell fixes that: when it runs in Colab and ``coursepkg`` cannot be imported, it clones
the repository (package and data), installs it, and changes to the notebook's own folder in the
clone. Everywhere else it does nothing and prints nothing, so the notebook's stored outputs, and
nbval, are unaffected. The repository URL and branch are read from ``_config.yml``
(``repository.url``, ``repository.branch``), the one place a fork changes them; re-run this script
after changing them.

The cell is found by its tag ``colab-setup`` (wherever it is, it is moved to the top) and is tagged
``remove-cell`` so that the book's pages do not show it. It is stored as executed, with no output;
the execution counts of the code cells are renumbered 1, 2, ... in order. A notebook is written
only when something changed, so running the script twice changes nothing the second time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
TAG = "colab-setup"
CELL_ID = "colab-setup"
TEMPLATE = """\
# Set-up for Google Colab: fetch the course (the coursepkg package and its data) when coursepkg
# is missing. Everywhere else (locally, on Binder) this cell does nothing.
import importlib.util
import os
import subprocess
import sys

if "google.colab" in sys.modules and importlib.util.find_spec("coursepkg") is None:
    url, course = "{url}", "/content/{name}"
    if not os.path.isdir(course):
        clone = ["git", "clone", "--quiet", "--depth=1", "--branch={branch}", url, course]
        subprocess.run(clone, check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", course], check=True)
    sys.path.insert(0, course)  # so that this kernel can import coursepkg without a restart
    os.chdir(os.path.join(course, "{folder}"))  # this notebook's folder in the repository"""


def repository(root: Path = ROOT) -> tuple[str, str]:
    """(url, branch) from the ``_config.yml`` in ``root``."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    repo = config.get("repository") or {}
    url = str(repo.get("url", "")).rstrip("/")
    if not url.startswith("https://"):
        raise SystemExit(f"_config.yml: repository.url must be an https URL, got {url!r}")
    return url, str(repo.get("branch", "main"))


def cell_source(notebook: Path, url: str, branch: str, root: Path = ROOT) -> str:
    """The set-up cell of ``notebook`` (a file under ``root``) for the repository ``url``."""
    folder = notebook.resolve().parent.relative_to(root.resolve()).as_posix()
    name = url.rsplit("/", 1)[-1].removesuffix(".git")
    return TEMPLATE.format(name=name, branch=branch, url=url, folder=folder)


def apply(nb: nbformat.NotebookNode, source: str) -> None:
    """Put the set-up cell, with ``source``, first in ``nb``; renumber the execution counts."""
    found = [c for c in nb.cells if TAG in c.get("metadata", {}).get("tags", [])]
    cell = found[0] if found else nbformat.v4.new_code_cell()
    nb.cells = [cell] + [c for c in nb.cells if all(c is not f for f in found)]
    cell.cell_type = "code"
    cell.source = source
    cell.outputs = []
    tags = [t for t in cell.metadata.get("tags", []) if t not in (TAG, "remove-cell")]
    cell.metadata["tags"] = [TAG, "remove-cell", *tags]
    if nb.nbformat == 4 and nb.nbformat_minor >= 5:
        ids = {c.get("id") for c in nb.cells if c is not cell}
        if cell.get("id") != CELL_ID and CELL_ID not in ids:
            cell["id"] = CELL_ID
    else:
        cell.pop("id", None)
    count = 0
    for c in nb.cells:
        if c.cell_type != "code" or (c.get("execution_count") is None and c is not cell):
            continue
        count += 1
        c.execution_count = count
        for output in c.get("outputs", []):
            if output.get("output_type") == "execute_result":
                output["execution_count"] = count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every book/**/*.ipynb")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if outdated")
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the repository (default: this one) or an edition"
    )
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(
        p for p in (args.root / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
    )
    url, branch = repository(args.root)
    outdated = []
    for path in notebooks:
        text = path.read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
        apply(nb, cell_source(path, url, branch, args.root))
        new = nbformat.writes(nb)
        new += "" if new.endswith("\n") else "\n"  # as nbformat.write does
        if new == text:
            continue
        outdated.append(path)
        if not args.check:
            path.write_text(new, encoding="utf-8")
            print(f"updated {path}")
    if args.check and outdated:
        for path in outdated:
            print(f"{path}: no up-to-date Colab set-up cell (run: python scripts/colab_cell.py)")
        return 1
    if not outdated:
        print(f"{len(notebooks)} notebooks already have the current Colab set-up cell")
    return 0


if __name__ == "__main__":
    sys.exit(main())
