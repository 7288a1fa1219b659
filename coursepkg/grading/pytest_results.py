"""A pytest plugin that writes one JSON line per notebook cell as soon as nbval has run it.

Loaded by the grader with ``-p coursepkg.grading.pytest_results --grading-results FILE``. Each
line holds the cell id, the outcome (``passed``, ``failed`` or ``skipped``), nbval's failure
message and the text the cell printed. Written line by line and flushed, so that the results of
the cells that did run survive when a submission is killed at the overall time limit.
"""

from __future__ import annotations

import json

import pytest


def pytest_addoption(parser):
    parser.addoption(
        "--grading-results", default=None, help="write per-cell results as JSON lines here"
    )


def _printed_text(outputs) -> str:
    """What the cell printed, and the name and message of an exception it raised."""
    parts = []
    for out in outputs or []:
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}\n")
    return "".join(parts)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    path = item.config.getoption("--grading-results")
    cell = getattr(item, "cell", None)
    if path is None or cell is None:
        return
    if report.when != "call" and report.passed:
        return  # setup and teardown that went fine say nothing about the cell
    message = ""
    if call.excinfo is not None:
        message = str(call.excinfo.value)
    record = {
        "cell_id": cell.get("id"),
        "when": report.when,
        "outcome": report.outcome,
        "message": message,
        "printed": _printed_text(getattr(item, "test_outputs", None)),
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
