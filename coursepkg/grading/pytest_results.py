"""A pytest plugin that writes one JSON line per notebook cell as soon as nbval has run it.

Loaded by the grader with ``-p coursepkg.grading.pytest_results --grading-results FILE``. Each
line holds the cell id, the outcome (``passed``, ``failed`` or ``skipped``), nbval's failure
message, the text the cell printed (all of it, and its standard output alone) and the cell's
outputs as notebook outputs. Written line by line and flushed, so that the results of the cells
that did run survive when a submission is killed at the overall time limit.

This plugin runs in the grader's pytest process, outside the student's sandbox, which is why the
records it writes can be trusted. Three options serve the sandbox and the limits:

- ``--grading-ipc PATH``: nbval's kernel manager talks to the kernel over ZeroMQ IPC sockets
  named ``PATH-<n>``, because a sandboxed kernel has no network, not even loopback; the sockets
  are guarded (``kernel_channels.py``).
- ``--grading-output-limits CELL,NOTEBOOK``: the most a cell and the whole notebook may send, in
  characters of whole messages (content and metadata). Past the cell's limit its further output
  is dropped (errors are kept, cut short, so the cell still fails) and the record says so; past
  the notebook's the kernel is stopped and the cell fails saying so. Without this a print loop
  would fill the grader's memory, disk and gradebook.
- ``--grading-probe-token TOKEN``: the grading run's probe token (``hidden.py``). While one of
  the grader's own probe cells runs, whose ids carry it, nothing is cut at the cell's limit (the
  response to the hidden inputs is not the student's output, and must be read whole); its output
  still counts towards the notebook's. The running cell is known by its id as nbval read it from
  the notebook before the kernel started, which the kernel cannot change; the grader drops any
  other cell whose id carries the token (``hidden.with_probes``), which is drawn afresh for each
  grading run, after the submissions were written. It reaches this process on its command line,
  which a sandboxed kernel cannot see.
"""

from __future__ import annotations

import json

import pytest

from .hidden import is_probe_id

OUTPUT_LIMIT_MESSAGE = "output limit exceeded"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class OutputLimitError(Exception):
    """A cell, or the notebook, sent more output than the grader allows."""


def pytest_addoption(parser):
    parser.addoption(
        "--grading-results", default=None, help="write per-cell results as JSON lines here"
    )
    parser.addoption("--grading-ipc", default=None, help="talk to the kernel over IPC at PATH")
    parser.addoption(
        "--grading-output-limits", default=None, help="CELL,NOTEBOOK output limits in bytes"
    )
    parser.addoption(
        "--grading-probe-token",
        default=None,
        help="the grading run's probe token: its probe cells have no cell output limit",
    )


def _message_size(msg) -> int:
    """Characters of a kernel message: its type, content and metadata, all of it."""
    parts = [msg.get("msg_type"), msg.get("content"), msg.get("metadata")]
    return len(json.dumps(parts, default=str))


def _trimmed_error(msg):
    """An error message cut to a readable size, so that the cell still fails with it."""
    content = msg.get("content", {})
    content["ename"] = str(content.get("ename", ""))[:200]
    content["evalue"] = str(content.get("evalue", ""))[:1000]
    content["traceback"] = [str(line)[:1000] for line in content.get("traceback", [])[-20:]]
    msg["metadata"] = {}
    return msg


RUNNING_CELL = "_grading_running"
"""Attribute of nbval's notebook (``IPyNbFile``) holding the id of the cell that is running."""


def limited_get_kernel_message(
    receive, cell_limit: int, notebook_limit: int, probe_token: str | None = None
):
    """nbval's ``IPyNbFile.get_kernel_message`` (``receive``), with the output limits: past
    ``cell_limit`` characters, a cell's further output is dropped (its errors kept, cut short),
    unless a probe cell of ``probe_token``'s run is running; past ``notebook_limit`` in all,
    the kernel is stopped."""

    def get_kernel_message(self, timeout=None, stream="iopub"):
        msg = receive(self, timeout=timeout, stream=stream)
        if msg.get("msg_type") == "status":
            return msg
        size = _message_size(msg)
        sent = self.__dict__.setdefault("_grading_sent", {})
        cell = msg.get("parent_header", {}).get("msg_id")
        sent[cell] = sent.get(cell, 0) + size
        if sum(sent.values()) > notebook_limit:
            if self.kernel is not None and self.kernel.is_alive():
                self.kernel.stop()
            raise OutputLimitError(
                f"{OUTPUT_LIMIT_MESSAGE}: the notebook sent more than "
                f"{notebook_limit // (1024 * 1024)} MiB of output; the kernel was stopped"
            )
        probe = is_probe_id(self.__dict__.get(RUNNING_CELL), probe_token)
        if sent[cell] > cell_limit and not probe:
            self.__dict__["_grading_cut"] = cell_limit
            if msg.get("msg_type") == "error":
                return _trimmed_error(msg)
            return dict(msg, msg_type="comm_msg", content={})  # nbval passes over comm messages
        return msg

    return get_kernel_message


def tracking_runtest(runtest):
    """nbval's ``IPyNbCell.runtest`` (``runtest``), which also notes on the notebook which cell
    is running: its id as nbval read it from the notebook file, before the kernel started."""

    def run(self):
        self.parent.__dict__[RUNNING_CELL] = self.cell.get("id")
        try:
            return runtest(self)
        finally:
            self.parent.__dict__.pop(RUNNING_CELL, None)

    return run


def _limit_output(cell_limit: int, notebook_limit: int, probe_token: str | None) -> None:
    """Install the output limits into nbval (``limited_get_kernel_message``)."""
    from nbval.plugin import IPyNbCell, IPyNbFile

    IPyNbFile.get_kernel_message = limited_get_kernel_message(
        IPyNbFile.get_kernel_message, cell_limit, notebook_limit, probe_token
    )
    IPyNbCell.runtest = tracking_runtest(IPyNbCell.runtest)


def pytest_configure(config):
    limits = config.getoption("--grading-output-limits")
    cell_limit = notebook_limit = 2**62
    if limits:
        cell_limit, notebook_limit = (int(x) for x in limits.split(","))
        _limit_output(cell_limit, notebook_limit, config.getoption("--grading-probe-token"))
    ipc = config.getoption("--grading-ipc")
    if ipc:
        from .kernel_channels import use_sandbox_kernel

        # ZeroMQ refuses (and drops the connection of) a message beyond this size, before it is
        # held in memory. It is far above the notebook's allowance: a flood that ipykernel packs
        # into a few large messages is then still counted, and named as such.
        use_sandbox_kernel(ipc, max(MAX_MESSAGE_BYTES, min(notebook_limit, 2**40) + 2**16))


def _printed_text(outputs, stream: str | None = None) -> str:
    """What the cell printed (on ``stream`` only, if given), and the name and message of an
    exception it raised (when ``stream`` is None)."""
    parts = []
    for out in outputs or []:
        if out.get("output_type") == "stream":
            if stream is None or out.get("name") == stream:
                parts.append(out.get("text", ""))
        elif out.get("output_type") == "error" and stream is None:
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}\n")
    return "".join(parts)


def _plain(outputs) -> list:
    """The outputs as plain JSON data, for the saved run notebook."""
    try:
        return json.loads(json.dumps(list(outputs or []), default=str))
    except (TypeError, ValueError):
        return []


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
    outputs = getattr(item, "test_outputs", None)
    cut = item.parent.__dict__.pop("_grading_cut", None) if item.parent is not None else None
    record = cell_record(cell.get("id"), report.when, report.outcome, message, outputs, cut)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def cell_record(cell_id, when: str, outcome: str, message: str, outputs, cut) -> dict:
    """The record of a cell: ``outputs`` as nbval collected them; ``cut``, the cell limit its
    output went past (then a note says so), or None."""
    if cut:
        note = f"[output cut: the cell sent more than {cut // 1024} KiB]\n"
        outputs = [*(outputs or []), {"output_type": "stream", "name": "stderr", "text": note}]
    return {
        "cell_id": cell_id,
        "when": when,
        "outcome": outcome,
        "message": message,
        "printed": _printed_text(outputs),
        "stdout": _printed_text(outputs, "stdout"),
        "outputs": _plain(outputs),
        "output_cut": bool(cut),
    }
