"""MNIST handwritten digits from the file shipped in the repository's ``data/`` folder.

The course never downloads anything: ``data/mnist.npz`` is part of the repository (see
``data/README.md`` for its provenance, checksum and licence). ``load_mnist`` checks the file's
sha256, then returns images of shape (N, 28, 28, 1) scaled to [0, 1] and integer labels.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ._validation import check_positive_int

MNIST_SHA256 = "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
"""sha256 of the ``mnist.npz`` shipped in ``data/`` (11,490,519 bytes)."""

MNIST_FILENAME = "mnist.npz"
DATA_DIR_VARIABLE = "COURSEPKG_DATA_DIR"

# name -> shape without the sample axis; the images are uint8 grey levels 0..255
_ARRAYS = {"x_train": (28, 28), "y_train": (), "x_test": (28, 28), "y_test": ()}


def default_mnist_path() -> Path:
    """Where ``load_mnist`` looks without a ``path``: ``$COURSEPKG_DATA_DIR/mnist.npz`` if that
    environment variable is set, else ``data/mnist.npz`` in the repository holding this package."""
    data_dir = os.environ.get(DATA_DIR_VARIABLE)
    if data_dir:
        return Path(data_dir) / MNIST_FILENAME
    return Path(__file__).resolve().parents[1] / "data" / MNIST_FILENAME


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path) -> None:
    """Raise ValueError unless the file's sha256 is ``MNIST_SHA256`` (about 25 ms to hash)."""
    stat = path.stat()
    actual = _sha256_of_file(path)
    if actual != MNIST_SHA256:
        raise ValueError(
            f"load_mnist: {path} is a damaged or different file: its sha256 is {actual}, "
            f"expected {MNIST_SHA256} (size {stat.st_size:,} bytes, expected 11,490,519). "
            "If it is the course's copy, restore it from the repository "
            "(git checkout -- data/mnist.npz); to load another MNIST file of the same layout, "
            "pass verify=False."
        )


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read the four arrays of an MNIST .npz file, or raise ValueError saying what is wrong."""
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"load_mnist: {path} is not a valid MNIST .npz file: it is not a zip archive "
            "(an .npz file is one); it may be truncated, or a different kind of file."
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [name for name in _ARRAYS if name not in data.files]
            if missing:
                raise ValueError(
                    f"it lacks the arrays {missing} (it holds {sorted(data.files)}); "
                    f"expected {list(_ARRAYS)}"
                )
            arrays = {name: data[name] for name in _ARRAYS}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"load_mnist: {path} is not a valid MNIST .npz file: {exc}.") from None

    for part in ("train", "test"):
        X, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if X.dtype != np.uint8 or X.ndim != 3 or X.shape[1:] != _ARRAYS[f"x_{part}"]:
            raise ValueError(
                f"load_mnist: in {path}, x_{part} must be uint8 images of shape (N, 28, 28), "
                f"got {X.dtype} of shape {X.shape}."
            )
        if y.dtype.kind not in "iu" or y.shape != (len(X),):
            raise ValueError(
                f"load_mnist: in {path}, y_{part} must be integer labels of shape "
                f"({len(X)},), one per image, got {y.dtype} of shape {y.shape}."
            )
        if y.size and not 0 <= y.min() <= y.max() <= 9:
            raise ValueError(
                f"load_mnist: in {path}, y_{part} must hold digits 0..9, "
                f"got values from {y.min()} to {y.max()}."
            )
    return arrays


def _take(X: np.ndarray, y: np.ndarray, n, name: str, dtype):
    """The first ``n`` images (all if None) as (n, 28, 28, 1) in ``dtype`` / 255, labels int64."""
    if n is not None and n > len(X):
        raise ValueError(f"load_mnist: {name} must be at most {len(X)}, got {n}.")
    X, y = X[:n], y[:n]
    X = X.reshape(len(X), 28, 28, 1).astype(dtype)  # channels-last, as Conv2d expects
    X /= 255.0
    return X, y.astype(np.int64)


def load_mnist(path=None, *, n_train=None, n_test=None, dtype=np.float32, verify: bool = True):
    """The MNIST digits: 60,000 training and 10,000 test images, scaled to [0, 1].

    Args:
        path: the .npz file (or a folder holding ``mnist.npz``); default ``default_mnist_path()``,
            that is ``$COURSEPKG_DATA_DIR/mnist.npz`` if set, else the repository's
            ``data/mnist.npz``.
        n_train, n_test: keep only the first n training / test samples (None: all).
        dtype: floating-point type of the images.
        verify: check the file's sha256 against ``MNIST_SHA256`` first. Hashing takes about
            25 ms; reading and decompressing the arrays about 0.4 s.

    Returns:
        X_train (n_train, 28, 28, 1), X_test (n_test, 28, 28, 1), y_train (n_train,) int64,
        y_test (n_test,) int64: the order of ``train_test_split``.

    Raises:
        FileNotFoundError: no file at the path. Nothing is ever downloaded.
        ValueError: the checksum does not match, or the file is not an MNIST .npz file.
    """
    if n_train is not None:
        n_train = check_positive_int(n_train, "n_train", "load_mnist")
    if n_test is not None:
        n_test = check_positive_int(n_test, "n_test", "load_mnist")
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"load_mnist: dtype must be a floating-point type, got {dtype}.")
    if path is not None:
        source = "the path argument"
    elif os.environ.get(DATA_DIR_VARIABLE):
        source = f"the environment variable {DATA_DIR_VARIABLE}"
    else:
        source = "the default location"
    path = Path(path) if path is not None else default_mnist_path()
    if path.is_dir():
        path = path / MNIST_FILENAME
    path = path.resolve()
    if not path.is_file():
        raise FileNotFoundError(
            f"load_mnist: no MNIST file at {path} (from {source}). "
            "The file mnist.npz ships with the course in the repository's data/ folder: if your "
            "copy lacks it, restore it with git checkout -- data/mnist.npz, or set the environment "
            f"variable {DATA_DIR_VARIABLE} to a folder holding it "
            f"(export {DATA_DIR_VARIABLE}=/path/to/data), or pass its path to load_mnist. "
            "The course never downloads it."
        )
    if verify:
        _verify(path)
    arrays = _read_arrays(path)
    X_train, y_train = _take(arrays["x_train"], arrays["y_train"], n_train, "n_train", dtype)
    X_test, y_test = _take(arrays["x_test"], arrays["y_test"], n_test, "n_test", dtype)
    return X_train, X_test, y_train, y_test
