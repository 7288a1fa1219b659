"""Build the Binder environment the way repo2docker would, and run a chapter in it.

Usage (from the repository root)::

    python scripts/binder_test.py [--notebook book/01_perceptron.ipynb] [--keep DIR]

repo2docker (what mybinder.org runs) reads the configuration files at the repository root, or
only those in ``binder/`` or ``.binder/`` when such a folder exists: ``runtime.txt`` picks the
Python version and ``requirements.txt`` is installed with pip from the repository root. This test:

1. checks that layout (no ``binder/`` folder hiding the root files, ``runtime.txt`` of the form
   ``python-3.X``, no other configuration file that repo2docker would prefer);
2. creates a fresh virtual environment with that Python version and runs
   ``pip install -r requirements.txt`` from the repository root, then adds ``nbclient`` (repo2docker
   provides Jupyter itself; nothing else is added);
3. imports ``coursepkg`` there and checks it is the repository's;
4. runs one notebook top to bottom in a kernel of that environment (its ``sys.prefix`` is checked),
   with no error, without touching the stored file.

The environment is made in a temporary folder and removed afterwards (``--keep DIR`` keeps it).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Files that make repo2docker use another build path than requirements.txt (conda, pipenv, ...).
OTHER_CONFIGS = [
    "environment.yml",
    "Pipfile",
    "Pipfile.lock",
    "setup.py",
    "Project.toml",
    "DESCRIPTION",
]

RUN_NOTEBOOK = r"""
import sys
import nbformat
from nbclient import NotebookClient

path, prefix = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix)"))
NotebookClient(nb, timeout=600, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[3]}}).execute()
errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
          if o.output_type == "error"]
assert not errors, f"errors in {path}: {[e.ename + ': ' + e.evalue for e in errors]}"
kernel_prefix = nb.cells[-1].outputs[0]["text"].strip()
assert kernel_prefix == prefix, f"the kernel ran in {kernel_prefix}, not in {prefix}"
n = sum(c.cell_type == "code" for c in nb.cells) - 1
print(f"ran {path}: {n} code cells, no errors, kernel in {kernel_prefix}")
"""


def check_layout() -> str:
    """Check the files repo2docker reads; return the Python version from runtime.txt."""
    for folder in ("binder", ".binder"):
        if (ROOT / folder).is_dir():
            raise SystemExit(f"{folder}/ exists: repo2docker would ignore the root's requirements")
    for name in OTHER_CONFIGS:
        if (ROOT / name).exists():
            raise SystemExit(f"{name} exists: repo2docker would build from it instead")
    runtime = (ROOT / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(3\.\d+)", runtime)
    if not match:
        raise SystemExit(f"runtime.txt says {runtime!r}; repo2docker expects e.g. 'python-3.11'")
    if not (ROOT / "requirements.txt").is_file():
        raise SystemExit("no requirements.txt")
    return match.group(1)


def find_python(version: str) -> str:
    """An interpreter of ``version`` that is not inside a virtual environment."""
    candidates = [getattr(sys, "_base_executable", ""), shutil.which(f"python{version}") or ""]
    candidates += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for exe in candidates:
        if not exe or not Path(exe).exists():
            continue
        out = subprocess.run(
            [exe, "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
            capture_output=True,
            text=True,
        )
        if out.stdout.strip() == version:
            return exe
    raise SystemExit(f"no Python {version} found (runtime.txt asks for it)")


def run(cmd: list[str], label: str = "", **kwargs) -> None:
    print("$", label or " ".join(str(c) for c in cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", type=Path, default=Path("book/01_perceptron.ipynb"))
    parser.add_argument("--keep", type=Path, help="build the environment here and keep it")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    version = check_layout()
    python = find_python(version)
    print(f"==> runtime.txt: Python {version} ({python}); requirements.txt from {ROOT}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="binder-env-"))
    env_dir = args.keep.resolve() if args.keep else workdir / "env"
    try:
        if env_dir.exists():
            shutil.rmtree(env_dir)
        run([python, "-m", "venv", str(env_dir)])
        py = str(env_dir / "bin" / "python")
        env = dict(os.environ)
        env.pop("VIRTUAL_ENV", None)
        env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        # Kernels of this environment only: no user-level kernel spec may shadow its python3.
        env["JUPYTER_DATA_DIR"] = str(workdir / "jupyter-data")
        env.pop("JUPYTER_PATH", None)
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        run([py, "-m", "pip", "install", "-q", "-r", "requirements.txt"], cwd=ROOT, env=env)
        run([py, "-m", "pip", "install", "-q", "nbclient", "nbformat"], cwd=ROOT, env=env)
        out = subprocess.run(
            [py, "-c", "import coursepkg, sys; print(coursepkg.__file__)"],
            cwd=workdir,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not Path(out).resolve().is_relative_to(ROOT / "coursepkg"):
            raise SystemExit(f"coursepkg imported from {out}, not from the repository")
        print(f"import coursepkg: {out}", flush=True)
        notebook = (ROOT / args.notebook).resolve()
        run(
            [py, "-c", RUN_NOTEBOOK, str(notebook), str(env_dir), str(notebook.parent)],
            label=f"{py} -c RUN_NOTEBOOK {args.notebook}  # nbclient, kernel python3",
            cwd=workdir,
            env=env,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"==> Binder environment: passed in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
