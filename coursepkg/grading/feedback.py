"""Per-student feedback files: what an instructor can hand back, one Markdown file per student.

Each file lists, per assignment, every exercise with its verdict, points and reason: the same
words the student's own check cells print. It holds nothing the student could not see in their
own notebook: no solution, no reference notebook, no other student's result.
"""

from __future__ import annotations

import html
from pathlib import Path

from .submissions import display_name


def _markdown_cell(text: str) -> str:
    """Text that stays inside one Markdown table cell and renders as text, not as HTML or links."""
    text = html.escape(display_name(str(text)), quote=False)  # < and & shown, never interpreted
    text = " ".join(text.split())  # no line breaks inside a row
    for char in "\\|`*_[]":
        text = text.replace(char, "\\" + char)
    return text


def feedback_markdown(student: str, outcomes: list) -> str:
    """The feedback text of one student, from their outcomes (any order)."""
    mine = sorted((o for o in outcomes if o.student == student), key=lambda o: o.chapter)
    lines = [f"# Feedback for {_markdown_cell(student)}", ""]
    total = most = 0.0
    for outcome in mine:
        got = sum(r.points for r in outcome.rows)
        top = sum(r.max_points for r in outcome.rows)
        total, most = total + got, most + top
        lines += [
            f"## {_markdown_cell(outcome.chapter)}: {got:g} of {top:g} points",
            "",
            f"Status: {_markdown_cell(outcome.status)}",
            "",
            "| exercise | result | points | reason |",
            "| --- | --- | --- | --- |",
        ]
        for row in outcome.rows:
            lines.append(
                f"| {_markdown_cell(row.exercise) or '-'} | {_markdown_cell(row.result)} "
                f"| {row.points:g} of {row.max_points:g} | {_markdown_cell(row.reason) or '-'} |"
            )
        lines.append("")
    lines.append(f"**Total: {total:g} of {most:g} points.**")
    return "\n".join(lines) + "\n"


def write_feedback(outcomes: list, folder: Path, file_name) -> list[Path]:
    """One ``<file_name(student)>.md`` per student in ``folder``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student in sorted({o.student for o in outcomes}):
        path = folder / f"{file_name(student)}.md"
        path.write_text(feedback_markdown(student, outcomes), encoding="utf-8")
        written.append(path)
    return written
