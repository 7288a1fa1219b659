"""A pytest plugin that writes one JSON line per notebook cell as soon as nbval has run it.

Loaded by the grader with ``-p coursepkg.grading.pytest_results --grading-results FILE``. Each
line holds the cell id, the outcome (``passed``, ``failed`` or ``skipped``), nbval's failure
message, the text the cell printed (all of it, and its standard output alone) and the cell's
outputs as notebook outputs. Written line by line and flushed, so that the results of the cells
that did run survive when a submission is killed at the overall time limit.

This plugin runs in the grader's pytest process, outside the student's sandbox, which is why the
records it writes can be trusted. Two options serve the sandbox:

- ``--grading-ipc PATH``: nbval's kernel manager talks to the kernel over ZeroMQ IPC sockets
  named ``PATH-<n>``, because a sandboxed kernel has no network, not even loopback.
- ``--grading-output-limits CELL,NOTEBOOK``: the most output, in bytes, that one cell and the
  whole notebook may send. A kernel that sends more is stopped, and the cell fails saying so;
  without this a print loop would fill the grader's memory and the gradebook.
"""

from __future__ import annotations

import json

import pytest

OUTPUT_LIMIT_MESSAGE = "output limit exceeded"


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


def _message_size(msg) -> int:
    """Characters of output a kernel message carries (0 for status and other messages)."""
    content = msg.get("content", {})
    kind = msg.get("msg_type")
    if kind == "stream":
        return len(content.get("text", ""))
    if kind in ("display_data", "execute_result", "update_display_data"):
        return sum(len(str(v)) for v in content.get("data", {}).values())
    if kind == "error":
        return sum(len(str(line)) for line in content.get("traceback", [])) + len(
            str(content.get("evalue", ""))
        )
    return 0


def _use_ipc(path: str) -> None:
    import os

    import nbval.kernel
    from jupyter_client.manager import KernelManager

    # The connection file goes next to the sockets, in the folder shared with the sandbox
    # (jupyter_client's default, a temporary file, is out of the kernel's sight).
    connection_file = os.path.join(os.path.dirname(path), "connection.json")

    class IPCKernelManager(KernelManager):
        def __init__(self, **kwargs):
            super().__init__(transport="ipc", ip=path, connection_file=connection_file, **kwargs)

    nbval.kernel.KernelManager = IPCKernelManager  # nbval builds its manager by this name


def _limit_output(cell_limit: int, notebook_limit: int) -> None:
    from nbval.plugin import IPyNbFile

    receive = IPyNbFile.get_kernel_message

    def get_kernel_message(self, timeout=None, stream="iopub"):
        msg = receive(self, timeout=timeout, stream=stream)
        size = _message_size(msg)
        if size:
            sent = self.__dict__.setdefault("_grading_sent", {})
            cell = msg.get("parent_header", {}).get("msg_id")
            sent[cell] = sent.get(cell, 0) + size
            total = sum(sent.values())
            if sent[cell] > cell_limit or total > notebook_limit:
                if self.kernel is not None and self.kernel.is_alive():
                    self.kernel.stop()
                which = (
                    f"this cell sent more than {cell_limit // 1024} KiB"
                    if sent[cell] > cell_limit
                    else f"the notebook sent more than {notebook_limit // (1024 * 1024)} MiB"
                )
                raise OutputLimitError(
                    f"{OUTPUT_LIMIT_MESSAGE}: {which} of output; the kernel was stopped"
                )
        return msg

    IPyNbFile.get_kernel_message = get_kernel_message


def pytest_configure(config):
    ipc = config.getoption("--grading-ipc")
    if ipc:
        _use_ipc(ipc)
    limits = config.getoption("--grading-output-limits")
    if limits:
        cell_limit, notebook_limit = (int(x) for x in limits.split(","))
        _limit_output(cell_limit, notebook_limit)


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
    record = {
        "cell_id": cell.get("id"),
        "when": report.when,
        "outcome": report.outcome,
        "message": message,
        "printed": _printed_text(outputs),
        "stdout": _printed_text(outputs, "stdout"),
        "outputs": _plain(outputs),
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
