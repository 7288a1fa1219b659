"""Link the first use of each glossary term in a chapter to its entry in ``book/glossary.md``.

Usage (from the repository root, in the project's environment)::

    python scripts/glossary_links.py --dry-run book/05_regularization.ipynb   # show, change nothing
    python scripts/glossary_links.py book/05_regularization.ipynb             # write the links

For every term of the glossary (the unindented lines inside its ``{glossary}`` block), the first
occurrence in the notebook's markdown cells (or a ``.md`` file) becomes a MyST role,
``{term}`perceptron``` or, when the text differs from the term,
``{term}`perceptrons <perceptron>```.
Plurals (``-s``, ``-es``) and capitalized forms are matched. Headings, code, math, links, roles,
directives and HTML are left alone, and a term the page already links is skipped, so running the
script twice changes nothing the second time. Only markdown changes: stored outputs stay valid.
Read the dry run: a word can be used in a sense the glossary does not mean.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
GLOSSARY = ROOT / "book" / "glossary.md"
# Spans of markdown that must not change: fenced blocks, display and inline math, code and roles,
# links and images, HTML tags, headings, and URLs.
PROTECTED = re.compile(
    r"```.*?```|:::.*?:::|\$\$.*?\$\$|(?<!\\)\$[^$\n]+?\$|\{[\w:-]+\}`[^`]*`|``.*?``|`[^`\n]*`"
    r"|!?\[[^\]]*\]\([^)]*\)|\[[^\]]*\]\[[^\]]*\]|<[^>\n]+>|^#+ [^\n]*$|https?://\S+",
    re.DOTALL | re.MULTILINE,
)
ROLE = re.compile(r"\{term\}`(?:[^`<]*<)?([^`>]+)>?`")


def glossary_terms(path: Path = GLOSSARY) -> list[str]:
    """The terms of the glossary, in the order they appear."""
    text = path.read_text(encoding="utf-8")
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.DOTALL)
    if block is None:
        raise SystemExit(f"{path}: no {{glossary}} block")
    return [line.strip() for line in block.group(1).splitlines() if line and not line[0].isspace()]


def term_pattern(term: str) -> re.Pattern:
    words = [re.escape(w) for w in term.split()]
    body = r"[\s-]+".join(words)  # "mini-batch" also matches "mini batch"; a line break is fine
    return re.compile(rf"(?<![\w`{{/-]){body}(?:e?s)?(?![\w-])", re.IGNORECASE)


def link_first(text: str, term: str) -> tuple[str, str | None]:
    """Link the first unprotected occurrence of ``term`` in ``text``: (new text, matched text)."""
    protected = [m.span() for m in PROTECTED.finditer(text)]
    for match in term_pattern(term).finditer(text):
        start, end = match.span()
        if any(a < end and start < b for a, b in protected):
            continue
        found = match.group(0)
        if "\n" in found:
            continue
        role = f"{{term}}`{found}`" if found == term else f"{{term}}`{found} <{term}>`"
        return text[:start] + role + text[end:], found
    return text, None


def link_texts(texts: list[str], terms: list[str]) -> tuple[list[str], list[tuple[int, str, str]]]:
    """Link the first use of each term across ``texts`` (a page's markdown, in order)."""
    texts = list(texts)
    already = {m.group(1).strip().lower() for t in texts for m in ROLE.finditer(t)}
    changes = []
    for term in sorted(terms, key=len, reverse=True):  # "stochastic gradient descent" first
        if term.lower() in already:
            continue
        for i, text in enumerate(texts):
            new, found = link_first(text, term)
            if found is not None:
                texts[i] = new
                changes.append((i, term, found))
                break
    return texts, changes


def process(path: Path, terms: list[str], write: bool) -> int:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        cells = [c for c in nb.cells if c.cell_type == "markdown"]
        new, changes = link_texts([c.source for c in cells], terms)
    else:
        cells, nb = None, None
        new, changes = link_texts([path.read_text(encoding="utf-8")], terms)
    for i, term, found in changes:
        line = next(x for x in new[i].splitlines() if f"{{term}}`{found}" in x)
        print(f"{path.name}: {term!r:32} {line.strip()[:110]}")
    if write and changes:
        if nb is not None:
            for cell, text in zip(cells, new, strict=True):
                cell.source = text
            nbformat.write(nb, path)
        else:
            path.write_text(new[0], encoding="utf-8")
    return len(changes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="notebooks or markdown files")
    parser.add_argument("--dry-run", action="store_true", help="print the links, change nothing")
    args = parser.parse_args(argv)
    terms = glossary_terms()
    for path in args.files:
        n = process(path, terms, write=not args.dry_run)
        verb = "would link" if args.dry_run else "linked"
        print(f"{path}: {verb} {n} terms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
