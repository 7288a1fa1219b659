"""Import the optional grading dependencies (nbformat, pytest, nbval) with a clear message."""

from __future__ import annotations

import importlib

INSTALL_HINT = "pip install 'coursepkg[grading]' (or pip install -r requirements-dev.txt)"


def require(name: str):
    """Import and return the module ``name``, or raise ImportError saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(
            f"coursepkg.grading needs the package {name!r} for this, and it is not installed. "
            f"Install the grading tools with: {INSTALL_HINT}"
        ) from None
