"""Numeric configurations that make this machine compute like another one.

The same notebook, run with the same wheels, rounds differently under another OpenBLAS kernel
(``OPENBLAS_CORETYPE``), with NumPy's SIMD dispatch turned off (``NPY_DISABLE_CPU_FEATURES``) or
with another number of BLAS threads. Laptops without AVX-512, Apple silicon, Colab and the next CI
machine are all "another machine"; these configurations emulate them here. See
``scripts/numeric_matrix.py``, which runs every notebook under each of them, and
``scripts/test.sh``, whose second nbval run uses ``other``.

Usage:

    python scripts/numeric_env.py --list                     # configurations, with their variables
    python scripts/numeric_env.py other -- python -m pytest ...   # run a command under one

Only kernels that this CPU supports are ever selected: an OpenBLAS kernel that needs an
instruction set the CPU lacks crashes the process.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field

# OpenBLAS x86-64 kernels and the CPU flag (from /proc/cpuinfo) each one needs.
KERNEL_NEEDS = {"SkylakeX": "avx512f", "Haswell": "avx2", "Sandybridge": "avx", "Prescott": "pni"}
# Variables that select the BLAS and NumPy code paths; a configuration sets or clears all of them.
NUMERIC_VARIABLES = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "NPY_DISABLE_CPU_FEATURES",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)
DISPATCH_QUERY = (
    "import numpy\n"
    "try:\n"
    "    from numpy._core import _multiarray_umath as m\n"
    "except ImportError:\n"
    "    from numpy.core import _multiarray_umath as m\n"
    "print(' '.join(m.__cpu_dispatch__))\n"
)
ARCHITECTURE_QUERY = (
    "import numpy, threadpoolctl\n"
    "info = [i for i in threadpoolctl.threadpool_info() if i.get('internal_api') == 'openblas']\n"
    "print(info[0].get('architecture', '') if info else '')\n"
)


@dataclass
class Configuration:
    """One way of computing: environment variables to set, and those to clear."""

    name: str
    description: str
    variables: dict[str, str] = field(default_factory=dict)
    skip_reason: str | None = None  # why this machine cannot run it

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """``base`` (default ``os.environ``) with every numeric variable cleared, then ours set."""
        env = dict(os.environ if base is None else base)
        for name in NUMERIC_VARIABLES:
            env.pop(name, None)
        env.update(self.variables)
        return env


def cpu_flags() -> set[str]:
    """The CPU's feature flags on Linux x86-64 (empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _query(python: str, code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, env=env)
    return done.stdout.strip()


def numpy_dispatch_targets(python: str = sys.executable) -> str:
    """NumPy's dispatchable SIMD targets for ``python``'s NumPy, space separated. Their names
    differ between NumPy 1.x (``AVX2 FMA3 AVX512F ...``) and 2.x (``X86_V3 X86_V4 ...``)."""
    return _query(python, DISPATCH_QUERY)


def auto_kernel(python: str = sys.executable) -> str:
    """The OpenBLAS kernel that ``python``'s NumPy selects by itself here ('' if not OpenBLAS)."""
    env = Configuration("auto", "").environment()
    try:
        return _query(python, ARCHITECTURE_QUERY, env)
    except subprocess.CalledProcessError:
        return ""


def kernel_configuration(name: str, kernel: str, flags: set[str]) -> Configuration:
    config = Configuration(name, f"OpenBLAS {kernel} kernels", {"OPENBLAS_CORETYPE": kernel})
    needs = KERNEL_NEEDS[kernel]
    if platform.machine() not in ("x86_64", "AMD64"):
        config.skip_reason = f"the {kernel} kernel is for x86-64; this is {platform.machine()}"
    elif needs not in flags:
        config.skip_reason = f"this CPU lacks {needs}, which OpenBLAS's {kernel} kernel needs"
    return config


def other_kernel(current: str, flags: set[str]) -> str | None:
    """A kernel unlike ``current`` that this CPU runs: Sandybridge (AVX, no FMA) where possible."""
    for kernel in ("Sandybridge", "Haswell", "Prescott"):
        if kernel.lower() != current.lower() and KERNEL_NEEDS[kernel] in flags:
            return kernel
    return None


def configurations(python: str = sys.executable) -> dict[str, Configuration]:
    """Every configuration that ``python``'s NumPy can run under on this machine.

    ``other`` combines another OpenBLAS kernel than the one in use with NumPy's SIMD dispatch off:
    the configuration most unlike this machine's own, used by the second nbval run of the tests.
    """
    flags = cpu_flags()
    simd_off = {"NPY_DISABLE_CPU_FEATURES": numpy_dispatch_targets(python)}
    current = os.environ.get("OPENBLAS_CORETYPE") or auto_kernel(python)
    configs = [
        Configuration(
            "auto", "auto-detected OpenBLAS kernel, 2 threads", {"OPENBLAS_NUM_THREADS": "2"}
        ),
        kernel_configuration("haswell", "Haswell", flags),
        kernel_configuration("sandybridge", "Sandybridge", flags),
        Configuration("simd-off", "NumPy SIMD dispatch off", dict(simd_off)),
        Configuration("threads-1", "one BLAS thread", {"OPENBLAS_NUM_THREADS": "1"}),
    ]
    kernel = other_kernel(current, flags)
    other = Configuration("other", "NumPy SIMD dispatch off", dict(simd_off))
    if kernel:
        other.variables["OPENBLAS_CORETYPE"] = kernel
        other.description = f"OpenBLAS {kernel} kernels (not {current or 'the default'}), " + (
            other.description
        )
    configs.append(other)
    return {c.name: c for c in configs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", help="configuration name (see --list)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command to run under it")
    parser.add_argument("--list", action="store_true", help="list the configurations and exit")
    args = parser.parse_args(argv)
    configs = configurations()
    if args.list or not args.config:
        for c in configs.values():
            state = (
                f"skipped: {c.skip_reason}"
                if c.skip_reason
                else " ".join(f"{k}={v!r}" for k, v in c.variables.items())
            )
            print(f"{c.name:<12} {c.description}: {state}")
        return 0
    if args.config not in configs:
        parser.error(f"unknown configuration {args.config!r}; choose from {', '.join(configs)}")
    config = configs[args.config]
    if config.skip_reason:
        print(f"numeric_env: cannot run {config.name}: {config.skip_reason}", file=sys.stderr)
        return 2
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    settings = " ".join(f"{k}={v!r}" for k, v in config.variables.items())
    print(f"==> numeric configuration {config.name}: {config.description} ({settings})", flush=True)
    return subprocess.call(command, env=config.environment())


if __name__ == "__main__":
    sys.exit(main())
