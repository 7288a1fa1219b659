"""The sandbox a student's kernel runs in while it is graded: bubblewrap, with resource limits.

Only the kernel is sandboxed. pytest and nbval, which send the cells, receive the outputs and
write the per-cell records that decide the points, run outside as the grading user; the kernel
cannot see, write or signal them. The grader gives nbval a kernel specification (``kernel.json``)
whose command is

    [join a pids cgroup, when grading as root]  bwrap <mounts> <namespaces> python -c LIMITS ...
        python -m ipykernel_launcher -f {connection_file}

so that the kernel, and everything it starts:

- runs as an unprivileged user (uid 65534) in its own user, PID, IPC, UTS, cgroup and network
  namespaces: no network, no view of the grader's processes;
- sees the system folders and the Python environment read-only (of ``/etc``, only what
  programs read to start, ``ETC_ENTRIES``: no keys, no password hashes), the package
  ``coursepkg`` and its data folder read-only, and nothing else of the disk: not the
  instructor's notebooks, the other submissions, the output folder or the checkout the package
  came from. Its home (with a ``work`` folder holding only its rebuilt notebook), ``/tmp`` and
  ``/dev/shm`` are private, size-limited tmpfs; the rest of its root is read-only. Grading as
  root, the sandbox's user is root to the file system (without any privilege), so only these
  folders are there to read;
- talks to nbval over ZeroMQ IPC sockets in a private runtime folder (the only folder shared with
  the outside), since it has no network;
- has limits on address space, CPU time, processes and file size (``SandboxLimits``), set as
  rlimits inside the sandbox; when grading as root, for whom the kernel does not enforce
  RLIMIT_NPROC, a ``pids`` cgroup limits the processes, and a ``memory`` cgroup also bounds the
  memory of all the sandbox's processes together;
- can write one folder on the grader's disk, its runtime folder, which the runner watches
  (``runner.py``): a run that writes more than a little there is stopped;
- ends with the run: bubblewrap kills the sandbox when its parent (nbval's kernel manager) dies,
  and the PID namespace ends every process in it when the kernel exits.

Interrupts go over the kernel's control channel (``interrupt_mode: message``), because a signal
sent to bubblewrap does not reach the kernel.

Linux only: bubblewrap (Debian package ``bubblewrap``) needs user namespaces. ``probe()`` says
why a sandbox cannot start here; ``grade`` then refuses unless told to grade unsandboxed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

SANDBOX_UID = 65534
"""The user id inside the sandbox (``nobody``)."""
HOME = "/home/student"
WORK = f"{HOME}/work"
KERNEL_NAME = "coursepkg-sandbox"

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_ENTRIES = (
    # what the dynamic linker, Python, NumPy and Matplotlib read; nothing with keys or passwords
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "fonts",
    "localtime",
    "timezone",
    "locale.alias",
    "passwd",
    "group",
    "nsswitch.conf",
    "hosts",
    "mime.types",
    "os-release",
    "matplotlibrc",
    "python3",
    "python3.11",
    "python3.12",
    "python3.13",
)
PASSED_VARIABLES = (
    "OPENBLAS_CORETYPE",  # a machine's numeric configuration is the kernel's too
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "MPLBACKEND",
    "PYTHONHASHSEED",
    "PYTHONDONTWRITEBYTECODE",
    "LANG",
    "LC_ALL",
    "TZ",
)
BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
MAX_BLAS_THREADS = 4
CGROUP_ROOT = Path("/sys/fs/cgroup")

# Runs inside the sandbox, before any student code: set the limits, then become the kernel.
# RLIMIT_NPROC must be set here, inside the new user namespace, where it counts only this
# sandbox's processes; set outside, it would count all of the grading user's processes.
LIMITS_PROGRAM = """\
import os, resource, sys
names = ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_FSIZE")
for name, value in zip(names, sys.argv[1:5]):
    value = int(value)
    if value > 0:
        resource.setrlimit(getattr(resource, name), (value, value))
os.execv(sys.argv[5], sys.argv[5:])
"""


@dataclass
class SandboxLimits:
    """Limits on one submission's kernel; 0 means no limit.

    Attributes:
        memory_mb: address space of each process, in MiB (RLIMIT_AS). A program over it gets
            MemoryError.
        cpu_seconds: CPU time of each process, in seconds (RLIMIT_CPU); over it, the kernel is
            killed.
        processes: processes and threads in the sandbox (RLIMIT_NPROC, or a pids cgroup as root).
        file_size_mb: largest file the kernel may write, in MiB (RLIMIT_FSIZE).
        tmp_size_mb: size of each private tmpfs (home and ``/tmp``), in MiB.
        cell_output_kb: output one cell may send (text, images, errors), in KiB.
        notebook_output_mb: output the whole notebook may send, in MiB.
    """

    memory_mb: int = 4096
    cpu_seconds: int = 600
    processes: int = 64
    file_size_mb: int = 64
    tmp_size_mb: int = 256
    cell_output_kb: int = 1024
    notebook_output_mb: int = 8


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _mount_system(args: list[str]) -> None:
    for folder in SYSTEM_DIRS:
        path = Path(folder)
        if path.is_symlink():  # merged /usr: /bin -> usr/bin, kept as a link
            args += ["--symlink", os.readlink(path), folder]
        elif path.is_dir():
            args += ["--ro-bind", folder, folder]
    for entry in ETC_ENTRIES:
        args += ["--ro-bind-try", f"/etc/{entry}", f"/etc/{entry}"]


def python_folders() -> list[str]:
    """The folders the kernel's Python needs: its prefixes and site-packages, and the other
    folders on ``sys.path`` (added by ``.pth`` files, say) unless one holds the grader's working
    folder or ``coursepkg`` (a checkout: ``package_folders`` mounts only what is needed of it);
    without the folders they contain (binding a folder binds what is below it)."""
    import site

    import coursepkg

    here = str(Path.cwd().resolve())
    package = str(Path(coursepkg.__file__).resolve().parent)
    extra = {str(Path(p).resolve()) for p in sys.path if p and Path(p).is_dir()}
    extra = {p for p in extra if not _inside(here, p) and not _inside(package, p)}

    candidates = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        str(Path(sys.executable).resolve().parent.parent),
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
        *site.getsitepackages(),
        *extra,
    }
    user_site = site.getusersitepackages()
    if isinstance(user_site, str) and Path(user_site).is_dir():
        candidates.add(user_site)
    folders = sorted({str(Path(c).resolve()) for c in candidates if Path(c).is_dir()})
    folders = [f for f in folders if not any(_inside(f, d) for d in SYSTEM_DIRS)]
    return [f for f in folders if not any(_inside(f, g) for g in folders if g != f)]


def _inside(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or below it (by whole path components: /usr2 is not in /usr)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def package_folders() -> list[str]:
    """The package ``coursepkg`` and its data folder: an editable install points into a
    checkout, of which the kernel may see only these two folders."""
    import coursepkg

    package = Path(coursepkg.__file__).resolve().parent
    folders = [package]
    data = os.environ.get("COURSEPKG_DATA_DIR")
    data_dir = Path(data) if data else package.parent / "data"
    if data_dir.is_dir():
        folders.append(data_dir.resolve())
    return [str(f) for f in folders]


def bwrap_command(
    *,
    runtime_dir: Path,
    notebook: Path,
    limits: SandboxLimits,
    environment: dict[str, str] | None = None,
    connection_file: str = "{connection_file}",
) -> list[str]:
    """The command that starts a sandboxed kernel (``connection_file`` is left for
    jupyter_client to fill in). Arguments as for ``sandbox_arguments``."""
    mib = 1024 * 1024
    processes = limits.processes if os.geteuid() != 0 else 0  # root: the cgroup limits them
    return sandbox_arguments(
        runtime_dir=runtime_dir, notebook=notebook, limits=limits, environment=environment
    ) + [
        sys.executable,
        "-I",
        "-S",
        "-c",
        LIMITS_PROGRAM,
        str(limits.memory_mb * mib),
        str(limits.cpu_seconds),
        str(processes),
        str(limits.file_size_mb * mib),
        sys.executable,
        "-m",
        "ipykernel_launcher",
        "-f",
        connection_file,
    ]


def sandbox_arguments(
    *,
    runtime_dir: Path,
    notebook: Path,
    limits: SandboxLimits,
    environment: dict[str, str] | None = None,
) -> list[str]:
    """``bwrap`` and its options, up to the program to run in the sandbox.

    Args:
        runtime_dir: the private folder of the connection file and IPC sockets, shared with
            nbval at the same path.
        notebook: the rebuilt notebook, shown read-only in the kernel's working folder.
        limits: the resource limits.
        environment: the variables to pass on (only ``PASSED_VARIABLES`` are); default: this
            process's.
    """
    mib = 1024 * 1024
    args = [bwrap_path() or "bwrap"]
    _mount_system(args)
    args += ["--proc", "/proc", "--dev", "/dev"]
    tmpfs_size = str(limits.tmp_size_mb * mib) if limits.tmp_size_mb > 0 else None
    for folder in ("/tmp", "/dev/shm", HOME):
        args += (["--size", tmpfs_size] if tmpfs_size else []) + ["--tmpfs", folder]
    # After the private /tmp: a Python environment or checkout under /tmp (a CI machine's
    # fresh clone, say) is mounted on top of it, not hidden by it.
    for folder in python_folders() + package_folders():
        args += ["--ro-bind", folder, folder]
    args += ["--dir", WORK, "--ro-bind", str(notebook), f"{WORK}/{notebook.name}"]
    args += ["--bind", str(runtime_dir), str(runtime_dir)]
    # bubblewrap's root and /dev are tmpfs without a size limit: read-only, nothing fills them.
    args += ["--remount-ro", "/dev", "--remount-ro", "/"]
    args += ["--unshare-all", "--unshare-user", "--disable-userns"]
    args += ["--die-with-parent", "--new-session"]
    args += ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--chdir", WORK]
    args += ["--clearenv"]
    given = os.environ if environment is None else environment
    environment = {name: given[name] for name in PASSED_VARIABLES if name in given}
    # At most a few BLAS threads: each reserves address space, and the memory limit is one of
    # address space, so that a many-core machine would otherwise fail honest submissions.
    for name in BLAS_THREADS:
        environment.setdefault(name, str(min(MAX_BLAS_THREADS, os.cpu_count() or 1)))
    environment.update(
        HOME=HOME,
        USER="student",
        PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        PYTHONDONTWRITEBYTECODE="1",
        MPLCONFIGDIR=f"{HOME}/.config/matplotlib",
        JUPYTER_RUNTIME_DIR=str(runtime_dir),
    )
    data = package_folders()[1:]
    if data:
        environment["COURSEPKG_DATA_DIR"] = data[0]
    for name, value in sorted(environment.items()):
        args += ["--setenv", name, value]
    return args


class Cgroups:
    """Control groups (v1) limiting one sandbox as a whole, when grading as root: ``pids``
    (RLIMIT_NPROC does not hold for root's processes) and ``memory`` (the total of all its
    processes, where RLIMIT_AS bounds each one). A controller that cannot be set up is left out
    (``paths`` holds those that are in place)."""

    def __init__(self, name: str, limits: SandboxLimits):
        self.paths: dict[str, Path] = {}
        if os.geteuid() != 0:
            return
        wanted = {
            "pids": ("pids.max", limits.processes),
            "memory": ("memory.limit_in_bytes", limits.memory_mb * 1024 * 1024),
        }
        for controller, (setting, value) in wanted.items():
            root = CGROUP_ROOT / controller
            if value <= 0 or not root.is_dir():
                continue
            path = root / "coursepkg-grading" / name
            try:
                path.mkdir(parents=True, exist_ok=True)
                (path / setting).write_text(str(value))
            except OSError:
                continue
            self.paths[controller] = path

    def join_command(self, command: list[str]) -> list[str]:
        """``command`` run by a shell that first moves itself into the cgroups."""
        if not self.paths:
            return command
        joins = " && ".join(f'echo $$ > "{path / "cgroup.procs"}"' for path in self.paths.values())
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "sh", *command]

    def memory_exceeded(self) -> bool:
        """True if the kernel killed a process of the sandbox for its memory limit."""
        path = self.paths.get("memory")
        if path is None:
            return False
        try:
            for line in (path / "memory.oom_control").read_text().splitlines():
                if line.startswith("oom_kill ") and int(line.split()[1]) > 0:
                    return True
        except (OSError, ValueError):
            pass
        return False

    def remove(self) -> None:
        """Kill whatever is left in the cgroups, then remove them."""
        for path in self.paths.values():
            for _ in range(50):
                try:
                    pids = (path / "cgroup.procs").read_text().split()
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(int(pid), 9)
                    except (ProcessLookupError, ValueError):
                        pass
            try:
                path.rmdir()
            except OSError:
                pass


def write_kernelspec(folder: Path, command: list[str]) -> Path:
    """A Jupyter data folder holding the kernel ``KERNEL_NAME`` that runs ``command``; point
    ``JUPYTER_PATH`` at it. Interrupts are messages: a signal to bubblewrap stops nothing."""
    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True, exist_ok=True)
    kernel = {
        "argv": command,
        "display_name": "Python (grading sandbox)",
        "language": "python",
        "interrupt_mode": "message",
        "metadata": {"debugger": False},
    }
    (spec / "kernel.json").write_text(json.dumps(kernel, indent=1), encoding="utf-8")
    return folder


def probe(limits: SandboxLimits | None = None) -> str | None:
    """None if the sandbox starts here with ``limits`` (default: the defaults), else why not,
    in words an instructor can act on.

    It starts Python in the sandbox exactly as grading does, and imports what a kernel needs;
    as root, a process limit also needs a ``pids`` cgroup (v1).
    """
    limits = limits or SandboxLimits()
    import tempfile

    if sys.platform != "linux":
        return f"the grading sandbox needs Linux (bubblewrap); this is {sys.platform}"
    if bwrap_path() is None:
        return (
            "bubblewrap is not installed: install it (Debian and Ubuntu: "
            "sudo apt-get install bubblewrap; Fedora: sudo dnf install bubblewrap)"
        )
    with tempfile.TemporaryDirectory(prefix="cpg-probe-") as tmp:
        notebook = Path(tmp) / "probe.ipynb"
        notebook.write_text("{}", encoding="utf-8")
        (Path(tmp) / "run").mkdir()
        command = sandbox_arguments(runtime_dir=Path(tmp) / "run", notebook=notebook, limits=limits)
        command += [sys.executable, "-c", "import coursepkg, ipykernel, numpy"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap could not start: {exc}"
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        return (
            f"the sandbox does not start here ({lines[-1]}); bubblewrap 0.8 or later is "
            "needed, with user namespaces enabled (sysctl kernel.unprivileged_userns_clone=1, "
            "or on Ubuntu 24.04 and later the AppArmor profile of the bubblewrap package)"
        )
    cgroups = Cgroups("probe", limits)
    try:
        if os.geteuid() == 0 and limits.processes > 0 and "pids" not in cgroups.paths:
            return (
                "grading as root needs a pids cgroup to limit processes (the kernel does not "
                "apply RLIMIT_NPROC to root), and none can be made here: grade as an ordinary "
                "user, or with --process-limit 0 to go without a process limit"
            )
    finally:
        cgroups.remove()
    return None
