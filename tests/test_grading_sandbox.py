"""The grading sandbox, attacked: hostile submissions cannot read the answers, touch classmates,
the gradebook or later runs, or exhaust the machine; honest ones keep their points.

Every attack is the answer to exercise 2 of the demo notebook of ``test_grading.py``, written so
that exercise 2 passes only if the attack worked (``w`` is right only then). With the sandbox,
every attacker's exercise 2 must fail; the same submissions graded with ``--unsafe-no-sandbox``
are the control, showing that each attack does work without the sandbox (so these tests can
fail). Exercises 1 and 3 are answered correctly throughout.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from coursepkg.grading import sandbox

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbval")
pytest.importorskip("nbclient")

from test_grading import CORRECT, fill, write  # noqa: E402
from test_grading import course as course  # noqa: E402 (a fixture, shared)

# Not skipped where the sandbox fails to start on Linux: then these tests must fail, loudly.
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="bubblewrap needs Linux")

NAME = "00_demo_exercises.ipynb"
RIGHT = "w = np.array([1.0, -2.0])"
RIGHT_IF_WORKED = "w = np.array([1.0, -2.0]) if worked else np.zeros(2)"
MARKER = "424242"  # in the command line of the processes an attack leaves behind


def attack(code: str) -> dict[str, str]:
    """Correct answers, with exercise 2 right only if ``code`` sets ``worked`` true."""
    return dict(CORRECT, **{"2": f"worked = False\n{code}\n{RIGHT_IF_WORKED}"})


def attacks(paths: dict[str, str], port: int) -> dict[str, dict[str, str]]:
    """The hostile submissions, by student name; ``paths`` are the grader's real folders."""
    return {
        # Find the instructor's notebook: its known path, any notebook named on a command line
        # or in the working folder of any visible process, and the checkout of coursepkg.
        "reader": attack(f"""\
import glob, os
import coursepkg
paths = [{paths["instructor"]!r}]
paths += glob.glob(str(os.path.dirname(os.path.dirname(coursepkg.__file__))) + "/book/exercises/*")
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        paths += [a for a in open(f"/proc/{{pid}}/cmdline").read().split(chr(0)) if ".ipynb" in a]
        paths += glob.glob(os.readlink(f"/proc/{{pid}}/cwd") + "/*.ipynb")
        paths += glob.glob(os.readlink(f"/proc/{{pid}}/cwd") + "/../../../*/*.ipynb")
    except OSError:
        pass
for path in paths:
    try:
        worked = worked or ("### BEGIN " + "SOLUTION") in open(path).read()  # split: not this
    except OSError:
        pass"""),
        # Destroy a classmate's submission, the gradebook and the runs folder.
        "vandal": attack(f"""\
out = {paths["out"]!r}
for path in [{paths["victim"]!r}, out + "/gradebook.csv", out + "/runs/x"]:
    try:
        with open(path, "w") as f:
            f.write("vandalised")
        worked = True
    except OSError:
        pass"""),
        # Leave processes behind that outlive the grader, and kill the classmates' kernels it
        # sees (in the control, only this test's: their command lines hold its home folder).
        "daemon": attack(f"""\
import os, signal, subprocess
subprocess.Popen(["sleep", "{MARKER}"], start_new_session=True)
me = os.getpid()
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        command = open(f"/proc/{{pid}}/cmdline", "rb").read()
        if int(pid) != me and b"ipykernel" in command and {paths["home"].encode()!r} in command:
            os.kill(int(pid), signal.SIGKILL)
    except OSError:
        pass
worked = True  # judged by the processes left, not by exercise 2"""),
        # Plant an IPython startup file in the home folder: it would run in every later kernel.
        "planter": attack("""\
import os
folder = os.path.expanduser("~/.ipython/profile_default/startup")
os.makedirs(folder, exist_ok=True)
with open(os.path.join(folder, "00-planted.py"), "w") as f:
    f.write("PLANTED = True\\n")
worked = True  # judged by the grader's real home folder"""),
        # Reach a server on the grading machine's loopback.
        "caller": attack(f"""\
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    worked = True
except OSError:
    pass"""),
        # See the submissions, the output folder or the checkout the package came from.
        "snoop": attack(f"""\
import os
import coursepkg
root = os.path.dirname(os.path.dirname(coursepkg.__file__))
seen = [{paths["submissions"]!r}, {paths["out"]!r}, root + "/book", root + "/tests"]
worked = any(os.path.exists(p) for p in seen)"""),
        # More than the limits: memory (1 GiB), processes (32), file size (8 MiB).
        "hog": attack("""\
try:
    big = np.empty(3 * 2**30 // 8)
    worked = True
    del big
except MemoryError:
    pass"""),
        "forker": attack("""\
import os, time
children = 0
try:
    for _ in range(100):
        pid = os.fork()
        if pid == 0:
            time.sleep(3)
            os._exit(0)
        children += 1
except OSError:
    pass
worked = children == 100"""),
        "writer": attack("""\
import os, tempfile
descriptor, path = tempfile.mkstemp()
try:
    with os.fdopen(descriptor, "wb") as f:
        f.write(bytes(20 * 2**20))
    worked = True
except OSError:
    pass
os.remove(path)"""),
        # Write a forged line into whatever the kernel's output descriptors lead to, then fail
        # so that pytest shows what was captured (without the sandbox: pytest's log).
        "scribbler": attack("""\
import os, stat
for fd in map(int, os.listdir("/proc/self/fd")):
    try:  # files and pipes only: writing into the kernel's own sockets would hang it
        if stat.S_ISREG(os.fstat(fd).st_mode) or stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, b"\\nFORGED ex2-check PASSED\\n")
    except OSError:
        pass
raise RuntimeError("judged by pytest's log")"""),
        # Look for a missing limit (or BLAS threads other than the one a parallel run gets).
        "inspector": attack("""\
import os, resource
names = ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE")
unlimited = [resource.getrlimit(getattr(resource, n))[0] == resource.RLIM_INFINITY for n in names]
worked = any(unlimited) or os.environ.get("OPENBLAS_NUM_THREADS") != str(1)"""),
        # Forge a passing record for its check where the results file lives, then kill the
        # test runner so that the forged line is the last word.
        # Forge the records of exercise 2's check and of its hidden check's probe (whose id
        # the notebook being run shows), then kill pytest before it writes the real ones.
        "forger": attack("""\
import glob, json, os, signal
def record(cell_id, text):
    return {"cell_id": cell_id, "when": "call", "outcome": "passed", "message": "",
            "printed": text, "stdout": text, "outputs": []}
records = [record("ex2-check", "PASS exercise 2\\n")]
for notebook in glob.glob("*.ipynb"):
    for cell in json.load(open(notebook))["cells"]:
        if cell.get("id", "").startswith("grading-probe-") and cell["id"].endswith("-2"):
            w = {"array": [1.0, -2.0], "dtype": "float64", "shape": [2]}
            line = "GRADING-RESPONSE 2 " + json.dumps({"dict": [["w", w]]}) + "\\n"
            records.append(record(cell["id"], line))
for path in ("results.jsonl", "../results.jsonl"):
    try:
        with open(path, "a") as f:
            f.write("".join(json.dumps(r) + "\\n" for r in records))
    except OSError:
        pass
os.kill(os.getppid(), signal.SIGKILL)"""),
        # Ignore interrupts and loop without a sound: the cell time limit must still end it.
        "stubborn": dict(
            CORRECT,
            **{
                "2": "import signal\n\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                "while True:\n    pass"
            },
        ),
        # Fill the grader's disk through the one folder it shares with the sandbox, the
        # kernel's connection folder, and shared memory.
        "filler": attack("""\
import glob, os
for folder in glob.glob("/tmp/cpg-*/run") + ["/dev/shm"]:
    try:
        for k in range(40):
            with open(f"{folder}/fill{k}", "wb") as f:
                f.write(bytes(7 * 2**20))
    except OSError:
        pass
worked = True  # judged by the run being stopped"""),
        # Ignore interrupts and print forever.
        "flooder": dict(
            CORRECT,
            **{
                "2": "import signal\n\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                "while True:\n    print('x' * 1000)"
            },
        ),
    }


def sandbox_only(trap: str) -> dict[str, dict[str, str]]:
    """Attacks graded only in the sandbox (without it they would harm the machine, or do not
    apply); ``trap`` is a Unix socket of the grading machine."""
    return {
        # Write into the sandbox's root, /dev and /etc (unsized tmpfs, were they writable). Without
        # the sandbox this would write into the grading machine's own root: no control run.
        "rootfill": attack("""\
for path in ("/fill", "/dev/fill", "/etc/fill"):
    try:
        with open(path, "wb") as f:
            f.write(bytes(2**20))
        worked = True
    except OSError:
        pass"""),
        # Swap the kernel's sockets for links to a socket of the grading machine, hoping that the
        # grader reconnects through them (no control: unsandboxed kernels use TCP).
        "redirector": attack(f"""\
import glob, os, time
for sock in glob.glob("/tmp/cpg-*/run/kernel-*"):
    os.remove(sock)
    os.symlink({trap!r}, sock)
time.sleep(3)"""),
        # Send display data with enormous metadata, which no output text shows.
        "painter": attack("""\
from IPython.display import publish_display_data
for _ in range(3):
    publish_display_data({"text/plain": "x"}, metadata={"pad": "A" * 3 * 2**20})
worked = True"""),
    }


HONEST = {
    # A correct answer that shows things while the check runs it: display and a figure.
    "plotter": dict(
        CORRECT,
        **{
            "1": """\
%matplotlib inline
import matplotlib.pyplot as plt
from IPython.display import display


def square(x):
    display("squaring")
    plt.figure()
    plt.plot([0, 1], [0, 1])
    plt.show()
    return x * x"""
        },
    ),
    "printer": dict(CORRECT, **{"2": RIGHT + "\nprint('hello from the student')"}),
    # Prints more than a cell's output limit: the rest of its output is dropped, nothing lost.
    "chatty": dict(
        CORRECT,
        **{"2": "for i in range(15000):\n    print(f'step {i}: loss {1 / (i + 1):.6f}')\n" + RIGHT},
    ),
    "victim": CORRECT,
}


class Listener:
    """A TCP server on the loopback of the grading machine (or, given a path, a Unix socket
    server there), counting connections."""

    def __init__(self, unix_path: Path | None = None):
        if unix_path is None:
            self.server = socket.create_server(("127.0.0.1", 0))
            self.port = self.server.getsockname()[1]
        else:
            self.server = socket.socket(socket.AF_UNIX)
            self.server.bind(str(unix_path))
            self.server.listen()
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()


def leftover_processes() -> list[str]:
    done = subprocess.run(["pgrep", "-af", f"sleep {MARKER}"], capture_output=True, text=True)
    return done.stdout.splitlines()


def grade_class(course, tmp_path_factory, *, sandbox: bool):
    """Grade every hostile and honest submission; return (rows, folders, listener, output)."""
    instructor, student_nb = course
    subs = tmp_path_factory.mktemp("submissions")
    out = tmp_path_factory.mktemp("grades")
    home = tmp_path_factory.mktemp("home")
    listener = Listener()
    trap = Listener(tmp_path_factory.mktemp("trap") / "socket")
    paths = {
        "instructor": str(instructor / NAME),
        "victim": str(subs / "victim" / NAME),
        "out": str(out),
        "submissions": str(subs),
        "home": str(home),
    }
    submissions = {**attacks(paths, listener.port), **HONEST}
    if sandbox:
        submissions.update(sandbox_only(str(trap.server.getsockname())))
    for student, answers in submissions.items():
        write(fill(student_nb, answers), subs / student / NAME)
    command = [sys.executable, "-m", "coursepkg.grading", "grade", str(instructor), str(subs)]
    command += ["--out", str(out), "--jobs", "2", "--cell-timeout", "10", "--timeout", "120"]
    command += ["--memory-limit", "1024", "--process-limit", "32", "--file-size-limit", "8"]
    command += ["--cell-output-limit", "64", "--notebook-output-limit", "1"]
    if not sandbox:
        command.append("--unsafe-no-sandbox")
    env = dict(os.environ, HOME=str(home))
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stdout + done.stderr
    time.sleep(1)  # what an attack left behind has had time to act
    leftovers = leftover_processes()
    with open(out / "gradebook.csv", newline="") as f:
        rows = {(r["student"], r["exercise"]): r for r in csv.DictReader(f)}
    folders = {"subs": subs, "out": out, "home": home}
    return rows, folders, listener, done.stdout, seconds, leftovers, trap


@pytest.fixture(scope="module")
def sandboxed(course, tmp_path_factory):
    return grade_class(course, tmp_path_factory, sandbox=True)


@pytest.fixture(scope="module")
def unsandboxed(course, tmp_path_factory, sandboxed):
    result = grade_class(course, tmp_path_factory, sandbox=False)
    yield result
    subprocess.run(["pkill", "-f", f"sleep {MARKER}"])


def results(rows, student):
    return [rows[student, e]["result"] for e in ("1", "2", "3")]


ATTACKERS = [
    "reader",
    "vandal",
    "caller",
    "snoop",
    "hog",
    "forker",
    "writer",
    "inspector",
    "forger",
]


@pytest.mark.parametrize("student", ATTACKERS)
def test_an_attack_fails_in_the_sandbox(sandboxed, student):
    rows = sandboxed[0]
    assert results(rows, student) == ["pass", "fail", "pass"], rows[student, "2"]


@pytest.mark.parametrize("student", ATTACKERS)
def test_control_the_same_attack_works_without_the_sandbox(unsandboxed, student):
    rows = unsandboxed[0]
    assert rows[student, "2"]["result"] == "pass", rows[student, "2"]


def test_honest_students_keep_every_point(sandboxed):
    rows = sandboxed[0]
    for student in HONEST:
        assert results(rows, student) == ["pass", "pass", "pass"], student


def test_files_of_classmates_and_the_grader_are_untouched(sandboxed, unsandboxed):
    for graded, changed in ((sandboxed, False), (unsandboxed, True)):
        folders = graded[1]
        victim = (folders["subs"] / "victim" / NAME).read_text()
        assert (victim == "vandalised") is changed
        assert ("vandalised" in (folders["out"] / "gradebook.csv").read_text()) is False


def test_nothing_outlives_the_run(sandboxed, unsandboxed):
    assert sandboxed[0]["daemon", "1"]["result"] == "pass"  # the attack did run
    assert sandboxed[5] == []
    assert unsandboxed[5], "control: without the sandbox the process survives the grader"


def test_the_home_folder_is_private(sandboxed, unsandboxed):
    planted = Path(".ipython/profile_default/startup/00-planted.py")
    assert not (sandboxed[1]["home"] / planted).exists()
    assert (unsandboxed[1]["home"] / planted).exists()


def test_the_network_is_unreachable(sandboxed, unsandboxed):
    assert sandboxed[2].connections == 0
    assert unsandboxed[2].connections >= 1


def test_an_output_flood_is_stopped_and_said(sandboxed):
    rows = sandboxed[0]
    assert rows["flooder", "1"]["result"] == "pass"
    assert rows["flooder", "2"]["result"] == "fail"
    assert "output limit exceeded" in rows["flooder", "2"]["reason"]
    assert len(rows["flooder", "2"]["reason"]) <= 500


def test_a_kernel_that_ignores_interrupts_is_stopped_at_the_cell_limit(sandboxed):
    rows, folders = sandboxed[0], sandboxed[1]
    assert results(rows, "stubborn") == ["pass", "fail", "fail"]
    assert "stopped responding" in rows["stubborn", "2"]["reason"]
    with open(folders["out"] / "summary.csv", newline="") as f:
        status = {r["student"]: r["status"] for r in csv.DictReader(f)}
    assert status["stubborn"] == "graded"  # not held until the overall time limit


def test_the_sandbox_root_dev_and_etc_are_read_only(sandboxed):
    assert results(sandboxed[0], "rootfill") == ["pass", "fail", "pass"]


def test_the_grader_never_follows_a_swapped_socket(sandboxed):
    rows = sandboxed[0]
    assert sandboxed[6].connections == 0
    assert rows["redirector", "1"]["result"] == "pass"
    assert rows["redirector", "2"]["result"] == "fail"


def test_huge_metadata_counts_against_the_output_limit(sandboxed):
    rows, folders = sandboxed[0], sandboxed[1]
    assert "output limit exceeded" in rows["painter", "2"]["reason"]
    (records,) = (folders["out"] / "runs").glob("painter-*/*/results.jsonl")
    assert records.stat().st_size < 2**20  # the notebook limit of the test run is 1 MiB


def test_the_kernel_cannot_write_into_pytests_log(sandboxed, unsandboxed):
    for graded, forged in ((sandboxed, False), (unsandboxed, True)):
        (log,) = (graded[1]["out"] / "runs").glob("scribbler-*/*/pytest.log")
        lines = log.read_text().splitlines()  # the cell's source, quoted there, has it mid-line
        assert any(line.startswith("FORGED") for line in lines) is forged


def test_a_relative_output_folder_works(course, tmp_path):
    instructor, student_nb = course
    write(fill(student_nb, CORRECT), tmp_path / "subs" / "ana" / NAME)
    command = [sys.executable, "-m", "coursepkg.grading", "grade", str(instructor), "subs"]
    command += ["--out", "grades"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "grades" / "gradebook.csv", newline="") as f:
        assert [r["result"] for r in csv.DictReader(f)] == ["pass", "pass", "pass"]


def test_the_rebuilt_notebook_holds_no_stored_output(course):
    from coursepkg.grading.rebuild import rebuild

    instructor, student_nb = course
    reference = nbformat.read(instructor / NAME, as_version=4)
    assert any(c.get("outputs") for c in reference.cells if c.cell_type == "code")
    graded, _ = rebuild(reference, fill(student_nb, CORRECT))
    assert all(not c.outputs for c in graded.cells if c.cell_type == "code")


def test_filling_the_connection_folder_stops_the_run(sandboxed):
    rows = sandboxed[0]
    assert rows["filler", "1"]["result"] == "pass"
    for exercise in ("2", "3"):
        assert "connection folder" in rows["filler", exercise]["reason"]
        assert rows["filler", exercise]["points"] == "0"


def test_the_saved_run_shows_the_students_outputs(sandboxed):
    out = sandboxed[1]["out"]
    (notebook,) = (out / "runs").glob(f"printer-*/*/{NAME}")
    nb = nbformat.read(notebook, as_version=4)
    (answer,) = [c for c in nb.cells if c.get("id") == "ex2-answer"]
    assert answer.outputs[0]["text"] == "hello from the student\n"
    (check,) = [c for c in nb.cells if c.get("id") == "ex2-check"]
    assert check.outputs[0]["text"] == "PASS exercise 2\n"
    (notebook,) = (out / "runs").glob(f"vandal-*/*/{NAME}")  # failed exercise 2
    nb = nbformat.read(notebook, as_version=4)
    (check,) = [c for c in nb.cells if c.get("id") == "ex2-check"]
    assert check.outputs[0]["text"].startswith("FAIL exercise 2: w differs")


def test_the_summary_warns_only_when_unsandboxed(sandboxed, unsandboxed):
    assert "WITHOUT a sandbox" not in sandboxed[3]
    assert unsandboxed[3].count("WITHOUT a sandbox") == 2  # first and last line


def run_grade(instructor, subs, out, *options: str) -> dict:
    """Grade the folder ``subs`` (sandboxed) into ``out``; its gradebook's rows by (student,
    exercise)."""
    command = [sys.executable, "-m", "coursepkg.grading", "grade", str(instructor), str(subs)]
    command += ["--out", str(out), *options]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(out / "gradebook.csv", newline="") as f:
        return {(r["student"], r["exercise"]): r for r in csv.DictReader(f)}


def test_killed_runs_are_not_graded(course, tmp_path_factory):
    instructor, student_nb = course
    subs = tmp_path_factory.mktemp("slow")
    slow = dict(CORRECT, **{"2": "import time\n\ntime.sleep(4)\n" + RIGHT})
    slow["3"] = "import time\n\ntime.sleep(4)\n" + CORRECT["3"]
    write(fill(student_nb, slow), subs / "slow" / NAME)
    out = tmp_path_factory.mktemp("slow-grades")
    graded = run_grade(instructor, subs, out, "--cell-timeout", "5", "--timeout", "7")
    rows = {exercise: row for (_, exercise), row in graded.items()}
    assert rows["1"]["result"] == "pass"
    assert rows["3"]["result"] == "not graded"
    assert rows["3"]["points"] == "0"
    assert rows["3"]["reason"].startswith("not graded: the notebook exceeded")


def test_the_sandbox_starts_here():
    assert sandbox.probe() is None


def test_an_old_bubblewrap_is_refused_with_the_version_needed(tmp_path, monkeypatch):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: Unknown option --disable-userns' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: str(fake))
    why = sandbox.probe()
    assert "Unknown option --disable-userns" in why
    assert "bubblewrap 0.8 or later" in why


@pytest.mark.skipif(os.geteuid() != 0, reason="only root needs a pids cgroup")
def test_root_without_a_pids_cgroup_is_told_its_options(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "CGROUP_ROOT", tmp_path / "no-cgroup")
    assert "--process-limit 0" in sandbox.probe()
    assert sandbox.probe(sandbox.SandboxLimits(processes=0)) is None


def test_grade_refuses_without_a_sandbox_and_says_how(course, tmp_path, monkeypatch):
    from coursepkg.grading import grade as grading

    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    monkeypatch.setattr(grading, "probe", sandbox.probe)
    with pytest.raises(grading.SandboxUnavailableError, match="--unsafe-no-sandbox"):
        grading.grade(course[0], tmp_path, tmp_path / "out")
    assert "apt-get install bubblewrap" in sandbox.probe()


def test_extra_python_paths_are_mounted_but_never_the_checkout_or_working_folder(
    tmp_path, monkeypatch
):
    import coursepkg

    checkout = Path(coursepkg.__file__).resolve().parents[1]
    extra = tmp_path / "extra-site"
    extra.mkdir()
    work = tmp_path / "teaching"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(sys, "path", [str(work), str(checkout), str(extra), *sys.path])
    folders = sandbox.python_folders()
    assert str(extra.resolve()) in folders
    assert str(work.resolve()) not in folders
    assert str(checkout) not in folders and str(tmp_path.resolve()) not in folders


def test_python_and_the_package_are_mounted_after_the_private_tmp(tmp_path):
    notebook = tmp_path / "x.ipynb"
    notebook.write_text("{}")
    args = sandbox.sandbox_arguments(
        runtime_dir=tmp_path, notebook=notebook, limits=sandbox.SandboxLimits()
    )
    private_tmp = args.index("/tmp", args.index("--tmpfs"))
    for folder in sandbox.python_folders() + sandbox.package_folders():
        assert args.index(folder) > private_tmp, folder


def test_probe_responses_above_the_cell_limit_are_judged_in_the_sandbox(course, tmp_path_factory):
    # Exercise 3's response is several KiB: at a 1 KiB cell limit the probe cells must still be
    # read (they are the grader's, exempt from the students' cell limit). A student's cell that
    # prints as much is cut, which costs no points.
    instructor, student_nb = course
    subs = tmp_path_factory.mktemp("probe-limit")
    write(fill(student_nb, CORRECT), subs / "honest" / NAME)
    loud = dict(CORRECT, **{"2": RIGHT + "\nprint('x' * 4000)"})
    write(fill(student_nb, loud), subs / "loud" / NAME)
    out = tmp_path_factory.mktemp("probe-limit-grades")
    rows = run_grade(instructor, subs, out, "--cell-output-limit", "1", "--timeout", "120")
    assert results(rows, "honest") == ["pass", "pass", "pass"], rows
    assert "not graded" not in (out / "hidden_seeds.txt").read_text(encoding="utf-8")
    assert results(rows, "loud") == ["pass", "pass", "pass"], rows
    saved = list((out / "runs").rglob("*.ipynb"))
    loud_runs = [p for p in saved if "loud" in str(p)]
    assert loud_runs and "output cut" in loud_runs[0].read_text(encoding="utf-8")
