"""Run one notebook under pytest with the nbval plugin, isolated, with time and resource limits.

Each run is a separate process (``python -m pytest``) in a folder that holds only the rebuilt
notebook and an empty ``pytest.ini``: no ``conftest.py`` and no pytest configuration from a
submission can be loaded (``--noconftest``, ``-c``), plugins are not auto-loaded
(``PYTEST_DISABLE_PLUGIN_AUTOLOAD``; only nbval and the results plugin are), and ``PYTEST_*``
variables of the caller are dropped. nbval stops a cell after ``cell_timeout`` seconds; the whole
run is killed, with its kernel, after ``timeout`` seconds.

With a sandbox (the default of ``grade``), only the kernel runs inside bubblewrap
(``sandbox.py``): pytest, nbval and the records they write stay outside, in a folder the kernel
cannot see. The kernel's connection file and IPC sockets live in a private temporary folder,
removed after the run with the kernel specification that starts the sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .sandbox import KERNEL_NAME, Cgroups, SandboxLimits, bwrap_command, write_kernelspec
from .submissions import valid_text

RESULTS_FILE = "results.jsonl"
RUNTIME_FOLDER_LIMIT = 1024 * 1024
"""Bytes a sandboxed kernel may write into its runtime folder (its connection file and sockets
take a few hundred): the one folder on the grader's disk that it can write."""
POLL_SECONDS = 0.1
LOG_FILE = "pytest.log"
SINGLE_THREADED = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class RunResult:
    """What happened when a notebook ran.

    Attributes:
        cells: per cell id, the record written by ``pytest_results`` for its call (outcome,
            message, printed text); cells that never ran are absent.
        timed_out: the run was killed at the overall time limit.
        stopped: why the run was stopped or its kernel killed for a limit, if it was ("" if not).
        returncode: pytest's exit code (None if killed).
        seconds: wall time of the run.
    """

    cells: dict[str, dict] = field(default_factory=dict)
    timed_out: bool = False
    stopped: str = ""
    returncode: int | None = None
    seconds: float = 0.0


def pytest_command(
    notebook: Path,
    cell_timeout: float,
    *,
    limits: SandboxLimits | None = None,
    ipc: Path | None = None,
    probe_token: str | None = None,
) -> list[str]:
    """The pytest command line for ``notebook`` (run from the notebook's folder): the kernel of
    this environment, or with ``ipc``, the sandboxed kernel talking over IPC at that path; with
    ``limits``, their output limits, from which the probe cells of ``probe_token`` (the grading
    run's, ``hidden.py``) are exempt but for the notebook's."""
    if ipc is None:
        kernel = ["--nbval-current-env"]
    else:
        kernel = [f"--nbval-kernel-name={KERNEL_NAME}", f"--grading-ipc={ipc}"]
    if limits is not None:
        cell_bytes = limits.cell_output_kb * 1024 if limits.cell_output_kb > 0 else 2**62
        total = limits.notebook_output_mb * 1024**2 if limits.notebook_output_mb > 0 else 2**62
        kernel.append(f"--grading-output-limits={cell_bytes},{total}")
    if probe_token:
        kernel.append(f"--grading-probe-token={probe_token}")
    return [
        sys.executable,
        "-m",
        "pytest",
        notebook.name,
        "-c",
        "pytest.ini",  # our empty configuration, never one that came with a submission
        "--rootdir",
        ".",
        "--noconftest",
        "-p",
        "nbval",
        "-p",
        "coursepkg.grading.pytest_results",
        "-p",
        "no:cacheprovider",
        "--grading-results",
        RESULTS_FILE,
        "--nbval",
        *kernel,
        f"--nbval-cell-timeout={cell_timeout:g}",
        "--color=no",
        "-q",
    ]


def isolated_environment(single_threaded: bool) -> dict[str, str]:
    """The caller's environment without pytest's variables, plugin auto-loading turned off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["MPLBACKEND"] = "Agg"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if single_threaded:  # parallel runs: one BLAS thread each, or they fight over the cores
        env.update(dict.fromkeys(SINGLE_THREADED, "1"))
    return env


def _kill_tree(process: subprocess.Popen) -> None:
    """Kill the pytest process, its process group and its kernel (a session of its own)."""
    children = []
    try:
        import psutil  # optional: finds the kernel, which runs in its own session

        children = psutil.Process(process.pid).children(recursive=True)
    except Exception:  # no psutil, or the process is gone: the kernel exits with its parent
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for child in children:
        try:
            child.kill()
        except Exception:
            pass
    process.wait()


def _remove_tree(folder: Path) -> None:
    """Remove ``folder``, whatever the kernel left in it: folders nested deeper than Python's
    recursion limit, or made unreadable (``rm`` handles both once permissions are restored)."""
    for command in (["chmod", "-R", "u+rwx", "--", str(folder)], ["rm", "-rf", "--", str(folder)]):
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(folder, ignore_errors=True)  # where there is no rm


def _folder_size(folder: Path) -> int:
    """Bytes in the files below ``folder`` (links and sockets count as their own size)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def read_results(path: Path) -> dict[str, dict]:
    """Per cell id, its last record in a results file (the call's, or setup's if it failed)."""
    cells: dict[str, dict] = {}
    if not path.exists():
        return cells
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill
            continue
        if isinstance(record, dict) and record.get("cell_id"):
            cells[record["cell_id"]] = valid_text(record)  # the kernel's text may be invalid
    return cells


def run_notebook(
    notebook: Path,
    *,
    cell_timeout: float,
    timeout: float,
    single_threaded: bool = False,
    limits: SandboxLimits | None = None,
    sandbox: bool = False,
    probe_token: str | None = None,
) -> RunResult:
    """Run ``notebook`` with nbval in its own folder (which must hold nothing else of value).

    Args:
        notebook: the rebuilt notebook; its folder receives ``pytest.ini``, the results and
            ``pytest.log``.
        cell_timeout: seconds after which nbval interrupts a cell.
        timeout: seconds after which the whole run is killed.
        single_threaded: limit BLAS libraries to one thread (for parallel runs).
        limits: resource and output limits; None: none. Output limits hold with or without
            the sandbox, the others only inside it.
        sandbox: run the kernel in the bubblewrap sandbox; False runs it as the grading user
            (unsafe with untrusted code).
        probe_token: the grading run's probe token (``hidden.py``): its probe cells have no
            cell output limit. It is passed on pytest's command line, never to the kernel.
    """
    notebook = Path(notebook).resolve()  # the sandbox mounts it by its absolute path
    folder = notebook.parent
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (folder / RESULTS_FILE).unlink(missing_ok=True)
    env = isolated_environment(single_threaded)
    private = Path(tempfile.mkdtemp(prefix="cpg-"))  # short: IPC socket paths are limited
    limits = limits or SandboxLimits(0, 0, 0, 0, 0, 0, 0)
    cgroups = Cgroups(private.name, limits) if sandbox else None
    ipc = runtime = None
    if sandbox:
        runtime = private / "run"
        runtime.mkdir()
        ipc = runtime / "kernel"
        command = cgroups.join_command(
            bwrap_command(runtime_dir=runtime, notebook=notebook, limits=limits, environment=env)
        )
        env["JUPYTER_PATH"] = str(write_kernelspec(private / "jupyter", command))
        env["JUPYTER_RUNTIME_DIR"] = str(runtime)
    result = RunResult()
    start = time.perf_counter()
    try:
        with open(folder / LOG_FILE, "wb") as log:
            process = subprocess.Popen(
                pytest_command(
                    notebook, cell_timeout, limits=limits, ipc=ipc, probe_token=probe_token
                ),
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group, killed as a whole
            )
            while process.poll() is None:
                if time.perf_counter() - start > timeout:
                    _kill_tree(process)
                    result.timed_out = True
                    break
                if runtime is not None and _folder_size(runtime) > RUNTIME_FOLDER_LIMIT:
                    _kill_tree(process)
                    result.stopped = (
                        "the run was stopped: it wrote files into the kernel's connection "
                        f"folder (more than {RUNTIME_FOLDER_LIMIT // 1024} KiB)"
                    )
                    break
                time.sleep(POLL_SECONDS)
            result.returncode = process.returncode
    finally:
        if cgroups is not None:
            if cgroups.memory_exceeded():
                result.stopped = (
                    "the kernel was killed for using more than the memory limit of "
                    f"{limits.memory_mb} MiB"
                )
            cgroups.remove()
        _remove_tree(private)
    result.seconds = time.perf_counter() - start
    result.cells = read_results(folder / RESULTS_FILE)
    return result
