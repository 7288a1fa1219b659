"""Shared test setup: a non-interactive matplotlib backend, and no figure left open."""

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: no windows, no display needed

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    """Close every figure a test opened, so that figures do not pile up across tests."""
    yield
    plt.close("all")
