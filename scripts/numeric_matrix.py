"""Run every notebook's nbval test under configurations that emulate other machines.

Usage (from the repository root, after ``bash scripts/test.sh`` has created ``.venv``):

    .venv/bin/python scripts/numeric_matrix.py                 # every configuration
    .venv/bin/python scripts/numeric_matrix.py auto haswell    # some of them
    .venv/bin/python scripts/numeric_matrix.py --list

Configurations (see ``scripts/numeric_env.py`` for the first six):

* ``auto``, ``haswell``, ``sandybridge``: OpenBLAS kernels (only those this CPU supports);
* ``simd-off``: NumPy's SIMD dispatch turned off; ``threads-1``: one BLAS thread (``auto`` has 2);
* ``other``: another kernel than the one in use plus SIMD off (what the tests' second run uses);
* ``lower-bounds``: a virtual environment with the lowest versions that ``requirements.txt``
  allows (``>=`` read as ``==``);
* ``colab``: Python 3.13 with the versions Colab pins (``scripts/colab-constraints.txt``);
  skipped, with a message, where no Python 3.13 is installed.

The two environments are built once under ``.matrix/`` (rebuilt when their requirements change).
Each run sets ``COURSEPKG_CLAIMS_LOG`` so that every ``check_claim`` of the notebooks records its
value. The report, written to ``_build/numeric_matrix/report.md`` (or ``--report``) and printed,
gives for each configuration the nbval result and run time, and for each claim its bound, the
lowest and highest value seen over all configurations and the smallest margin to the bound.
Exits 1 if any configuration that could run failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from numeric_env import Configuration, configurations

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / ".matrix"
OUT = ROOT / "_build" / "numeric_matrix"
COLAB_CONSTRAINTS = ROOT / "scripts" / "colab-constraints.txt"
COLAB_PYTHON = "python3.13"
TEST_TOOLS = ["pytest>=8", "pytest-xdist>=3.5", "nbval>=0.11"]
NBVAL = [
    "--nbval",
    "--nbval-current-env",
    "--nbval-cell-timeout=900",  # as in scripts/test.sh, which says why
    "--nbval-sanitize-with",
    "book/nbval_sanitize.cfg",
    "-p",
    "no:cacheprovider",
    "--color=no",
    "-q",
    "-rf",
    "-n",
    "2",
    "--dist",
    "loadfile",
]


@dataclass
class Run:
    """The outcome of one configuration."""

    name: str
    description: str
    outcome: str = "skipped"  # passed, failed or skipped
    detail: str = ""  # summary line, or why it was skipped
    seconds: float = 0.0
    failures: tuple[str, ...] = ()


def lower_bound_requirements() -> list[str]:
    """``requirements.txt`` with every ``name>=version`` turned into ``name==version``."""
    pins = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            pins.append(line.replace(">=", "=="))
    return pins


def find_colab_python() -> str | None:
    """A working Python 3.13: on PATH, or installed by pyenv (whose shim may not select it)."""
    candidates = [shutil.which(COLAB_PYTHON)]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(map(str, pyenv_root.glob(f"versions/3.13*/bin/{COLAB_PYTHON}")))
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    return None


def build_environment(name: str, python: str, pip_args: list[str]) -> Path:
    """A virtual environment ``.matrix/name`` with ``pip_args`` and this package installed."""
    venv = MATRIX / name
    stamp = venv / ".requirements.sha256"
    constraints = COLAB_CONSTRAINTS.read_text() if "-c" in pip_args else ""
    want = hashlib.sha256((python + " ".join(pip_args) + constraints).encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return venv / "bin" / "python"
    print(f"==> building the {name} environment in {venv} (once)", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *pip_args, *TEST_TOOLS], check=True, cwd=ROOT)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    stamp.write_text(want)
    return venv / "bin" / "python"


def environment_runs() -> dict[str, tuple[str, object]]:
    """The two configurations with their own environment: name -> (description, builder or
    the reason to skip)."""
    colab_python = find_colab_python()
    lower = lower_bound_requirements()

    def colab():
        return build_environment(
            "colab",
            colab_python,
            [
                "-c",
                str(COLAB_CONSTRAINTS),
                "numpy",
                "matplotlib",
                "scikit-learn",
                "seaborn",
                "tqdm",
                "ipykernel",
                "autograd",
            ],
        )

    def lower_bounds():
        return build_environment("lower-bounds", sys.executable, lower)

    return {
        "lower-bounds": ("lowest allowed versions: " + ", ".join(lower), lower_bounds),
        "colab": (
            "Python 3.13 with Colab's versions (scripts/colab-constraints.txt)",
            colab
            if colab_python
            else f"no {COLAB_PYTHON} on this machine (install it, e.g. "
            "with pyenv, to run this configuration)",
        ),
    }


def run_nbval(name: str, python: str, config: Configuration, notebooks: list[str]) -> Run:
    log_dir = OUT / name
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    env = config.environment()
    env["COURSEPKG_CLAIMS_LOG"] = str(log_dir / "claims.jsonl")
    env.pop("PYTHONPATH", None)
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-m", "pytest", *NBVAL, *notebooks],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    output = done.stdout + done.stderr
    (log_dir / "pytest.log").write_text(output)
    summary = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    failures = tuple(re.findall(r"^FAILED (\S+(?: Cell \d+)?)", output, flags=re.MULTILINE))
    return Run(
        name,
        config.description,
        "passed" if done.returncode == 0 else "failed",
        summary[-1].strip("= ") if summary else f"pytest exited {done.returncode}",
        seconds,
        failures,
    )


def read_claims(runs: list[Run]) -> dict[str, dict]:
    """claim -> {bounds, values per configuration}."""
    claims: dict[str, dict] = {}
    for run in runs:
        path = OUT / run.name / "claims.jsonl"
        if run.outcome == "skipped" or not path.exists():
            continue
        for line in path.read_text().splitlines():
            record = json.loads(line)
            entry = claims.setdefault(
                record["claim"],
                {"at_least": record["at_least"], "at_most": record["at_most"], "values": {}},
            )
            entry["values"].setdefault(run.name, []).append(record["value"])
    return claims


def margin(entry: dict, value: float) -> float:
    gaps = []
    if entry["at_least"] is not None:
        gaps.append(value - entry["at_least"])
    if entry["at_most"] is not None:
        gaps.append(entry["at_most"] - value)
    return min(gaps)


def machine() -> str:
    """The CPU model and core count, for the report's heading."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            names = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
        model = f"{len(names)} x {names[0]}" if names else model
    except OSError:
        pass
    return model


def report(runs: list[Run], claims: dict[str, dict]) -> str:
    lines = [
        f"Numeric matrix of {time.strftime('%Y-%m-%d')} on {machine()}: nbval over every "
        "notebook under each configuration (`scripts/numeric_matrix.py`).",
        "",
        "| configuration | what it sets | nbval | run time |",
        "|---|---|---|---|",
    ]
    for run in runs:
        result = run.outcome if run.outcome != "skipped" else f"skipped: {run.detail}"
        if run.outcome != "skipped":
            result += f" ({run.detail})"
        time_ = f"{run.seconds:.0f} s" if run.outcome != "skipped" else ""
        lines.append(f"| {run.name} | {run.description} | {result} | {time_} |")
    failed = [(run.name, f) for run in runs for f in run.failures]
    if failed:
        lines += ["", "Failed cells:"] + [f"- {name}: {cell}" for name, cell in failed]
    lines += [
        "",
        "| claim | bound | lowest | highest | smallest margin | configurations |",
        "|---|---|---|---|---|---|",
    ]
    for claim, entry in claims.items():
        values = [v for vs in entry["values"].values() for v in vs]
        low, high = entry["at_least"], entry["at_most"]
        bound = " and ".join(
            b
            for b in (
                f">= {low:.4g}" if low is not None else "",
                f"<= {high:.4g}" if high is not None else "",
            )
            if b
        )
        smallest = min(margin(entry, v) for v in values)
        cell = claim.replace("|", "\\|")  # a claim about |x| must not split the table row
        lines.append(
            f"| {cell} | {bound} | {min(values):.4g} | {max(values):.4g} | {smallest:.3g} "
            f"| {len(entry['values'])} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", help="configurations to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the configurations and exit")
    parser.add_argument(
        "--report",
        type=Path,
        default=OUT / "report.md",
        help="where to write the report (default: _build/numeric_matrix/report.md)",
    )
    parser.add_argument(
        "--notebooks",
        nargs="+",
        default=sorted(
            str(p.relative_to(ROOT))
            for p in ROOT.glob("book/**/*.ipynb")
            if ".ipynb_checkpoints" not in p.parts
        ),
        help="notebooks to run (default: every notebook under book/)",
    )
    args = parser.parse_args(argv)
    numeric = configurations()
    environments = environment_runs()
    names = list(numeric) + list(environments)
    if args.list:
        for name in names:
            if name in numeric:
                c = numeric[name]
                print(
                    f"{name:<13} {c.description}"
                    + (f" (skipped: {c.skip_reason})" if c.skip_reason else "")
                )
            else:
                description, builder = environments[name]
                skip = f" (skipped: {builder})" if isinstance(builder, str) else ""
                print(f"{name:<13} {description}{skip}")
        return 0
    unknown = [c for c in args.configs if c not in names]
    if unknown:
        parser.error(
            f"unknown configuration(s) {', '.join(unknown)}; choose from {', '.join(names)}"
        )

    runs = []
    for name in args.configs or names:
        if name in numeric:
            config, python, reason = numeric[name], sys.executable, numeric[name].skip_reason
            description = config.description
        else:
            description, builder = environments[name]
            config = Configuration(name, description, {"OPENBLAS_NUM_THREADS": "2"})
            reason = builder if isinstance(builder, str) else None
            python = None if reason else str(builder())
        if reason:
            print(f"==> {name}: skipped, {reason}", flush=True)
            runs.append(Run(name, description, "skipped", reason))
            continue
        print(f"==> {name}: {description}", flush=True)
        run = run_nbval(name, python, config, args.notebooks)
        print(f"    {run.outcome}: {run.detail} in {run.seconds:.0f} s", flush=True)
        runs.append(run)

    text = report(runs, read_claims(runs))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text)
    print(text)
    return 1 if any(run.outcome == "failed" for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
