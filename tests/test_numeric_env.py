"""The numeric configurations that emulate other machines (scripts/numeric_env.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))

import numeric_env  # noqa: E402
import numeric_matrix  # noqa: E402

AVX512 = {"pni", "avx", "avx2", "avx512f"}


@pytest.mark.parametrize(
    "current, flags, expected",
    [
        ("SkylakeX", AVX512, "Sandybridge"),
        ("Haswell", AVX512, "Sandybridge"),
        ("Sandybridge", AVX512, "Haswell"),
        ("sandybridge", {"pni", "avx"}, "Prescott"),  # no AVX2 for Haswell
        ("Prescott", {"pni"}, None),  # nothing else this CPU can run
        ("", set(), None),  # not x86-64, or no /proc/cpuinfo
    ],
)
def test_other_kernel_differs_and_runs_on_this_cpu(current, flags, expected):
    kernel = numeric_env.other_kernel(current, flags)
    assert kernel == expected
    if kernel:
        assert numeric_env.KERNEL_NEEDS[kernel] in flags


def test_a_kernel_the_cpu_lacks_is_skipped_with_a_reason(monkeypatch):
    monkeypatch.setattr(numeric_env.platform, "machine", lambda: "x86_64")
    config = numeric_env.kernel_configuration("haswell", "Haswell", {"pni", "avx"})
    assert config.skip_reason == "this CPU lacks avx2, which OpenBLAS's Haswell kernel needs"
    assert numeric_env.kernel_configuration("haswell", "Haswell", AVX512).skip_reason is None


def test_a_configuration_replaces_every_numeric_variable():
    base = {
        "PATH": "/bin",
        "OPENBLAS_CORETYPE": "Haswell",
        "OPENBLAS_L2_SIZE": "1048576",
        "OMP_NUM_THREADS": "8",
    }
    config = numeric_env.Configuration("x", "", {"NPY_DISABLE_CPU_FEATURES": "X86_V3"})
    assert config.environment(base) == {"PATH": "/bin", "NPY_DISABLE_CPU_FEATURES": "X86_V3"}


def test_this_machine_has_every_configuration_the_tests_use():
    configs = numeric_env.configurations()
    assert {"auto", "haswell", "sandybridge", "simd-off", "threads-1", "other"} <= set(configs)
    other = configs["other"]
    assert other.skip_reason is None
    assert other.variables["NPY_DISABLE_CPU_FEATURES"] == numeric_env.numpy_dispatch_targets()


def test_the_other_configuration_really_changes_the_code_paths():
    probe = (
        "import threadpoolctl, numpy\n"
        "try:\n    from numpy._core import _multiarray_umath as m\n"
        "except ImportError:\n    from numpy.core import _multiarray_umath as m\n"
        "blas = [i for i in threadpoolctl.threadpool_info() if i['internal_api'] == 'openblas']\n"
        "print(blas[0]['architecture'] if blas else '-')\n"
        "print(' '.join(t for t in m.__cpu_dispatch__ if m.__cpu_features__.get(t)))\n"
    )
    other = numeric_env.configurations()["other"]
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "numeric_env.py"),
            "other",
            "--",
            sys.executable,
            "-c",
            probe,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    banner, architecture, enabled = done.stdout.splitlines()
    assert banner.startswith("==> numeric configuration other")
    if "OPENBLAS_CORETYPE" in other.variables:
        assert architecture.lower() == other.variables["OPENBLAS_CORETYPE"].lower()
    assert enabled == ""  # no dispatch target left on


def test_lower_bounds_read_requirements_as_exact_pins():
    pins = numeric_matrix.lower_bound_requirements()
    assert "numpy==1.26" in pins
    assert all("==" in pin and ">=" not in pin for pin in pins)
    assert not any(pin.startswith("-e") for pin in pins)
