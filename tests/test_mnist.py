"""MNIST from the shipped file: shapes, dtypes, known labels, subsets, and clear errors."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from coursepkg import MNIST_SHA256, load_mnist
from coursepkg import mnist as mnist_module

MNIST_FILE = Path(__file__).resolve().parents[1] / "data" / "mnist.npz"
TEST_CLASS_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(autouse=True)
def no_data_dir_variable(monkeypatch):
    """Every test starts without COURSEPKG_DATA_DIR, whatever the caller's environment holds."""
    monkeypatch.delenv("COURSEPKG_DATA_DIR", raising=False)


@pytest.fixture(scope="module")
def full():
    return load_mnist(MNIST_FILE)


def test_default_path_is_the_repository_file():
    assert mnist_module.default_mnist_path() == MNIST_FILE
    assert MNIST_FILE.is_file()


def test_full_load_shapes_dtypes_and_range(full):
    X_train, X_test, y_train, y_test = full
    assert X_train.shape == (60000, 28, 28, 1) and X_train.dtype == np.float32
    assert X_test.shape == (10000, 28, 28, 1) and X_test.dtype == np.float32
    assert y_train.shape == (60000,) and y_train.dtype == np.int64
    assert y_test.shape == (10000,) and y_test.dtype == np.int64
    for X in (X_train, X_test):
        assert X.min() == 0.0 and X.max() == 1.0


def test_full_load_known_labels(full):
    _, _, y_train, y_test = full
    np.testing.assert_array_equal(y_train[:5], [5, 0, 4, 1, 9])
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), TEST_CLASS_COUNTS)
    assert len(np.unique(y_train)) == 10


def test_subsets_are_the_first_samples(full):
    X_train, X_test, y_train, y_test = load_mnist(n_train=100, n_test=20)
    assert X_train.shape == (100, 28, 28, 1) and X_test.shape == (20, 28, 28, 1)
    np.testing.assert_array_equal(X_train, full[0][:100])
    np.testing.assert_array_equal(X_test, full[1][:20])
    np.testing.assert_array_equal(y_train, full[2][:100])
    np.testing.assert_array_equal(y_test, full[3][:20])


def test_dtype_option(full):
    X_train, X_test, _, _ = load_mnist(n_train=50, n_test=10, dtype=np.float64)
    assert X_train.dtype == np.float64 and X_test.dtype == np.float64
    np.testing.assert_allclose(X_train, full[0][:50], atol=1e-7)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_train": 0}, ValueError, "n_train must be a positive integer"),
        ({"n_train": 1.5}, TypeError, "n_train must be a positive integer"),
        ({"dtype": np.int32}, TypeError, "floating-point"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_mnist(**kwargs)


def test_environment_variable_overrides_the_default(tmp_path, monkeypatch):
    (tmp_path / "mnist.npz").symlink_to(MNIST_FILE)
    monkeypatch.setenv("COURSEPKG_DATA_DIR", str(tmp_path))
    assert mnist_module.default_mnist_path() == tmp_path / "mnist.npz"
    _, _, y_train, _ = load_mnist(n_train=5, n_test=1)
    np.testing.assert_array_equal(y_train, [5, 0, 4, 1, 9])

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("COURSEPKG_DATA_DIR", str(empty))
    with pytest.raises(FileNotFoundError, match="from the environment variable COURSEPKG_DATA_DIR"):
        load_mnist()


def test_verification_hashes_the_file_unless_disabled(monkeypatch):
    hashed = []
    original = mnist_module._sha256_of_file

    def counting(path):
        hashed.append(path)
        return original(path)

    monkeypatch.setattr(mnist_module, "_sha256_of_file", counting)
    load_mnist(n_train=1, n_test=1)
    assert len(hashed) == 1
    load_mnist(n_train=1, n_test=1, verify=False)
    assert len(hashed) == 1


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "mnist.npz"
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(path)
    message = str(info.value)
    assert str(path) in message
    for phrase in ("data/ folder", "COURSEPKG_DATA_DIR", "never downloads"):
        assert phrase in message


def test_truncated_copy_fails_the_checksum(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_bytes(MNIST_FILE.read_bytes()[:1_000_000])
    with pytest.raises(ValueError, match="damaged or different file") as info:
        load_mnist(path)
    assert MNIST_SHA256 in str(info.value)
    with pytest.raises(ValueError, match="not a valid MNIST .npz file"):
        load_mnist(path, verify=False)


def test_damaged_copy_fails_the_checksum(tmp_path):
    path = tmp_path / "mnist.npz"
    shutil.copyfile(MNIST_FILE, path)
    with open(path, "r+b") as f:  # flip one byte inside the compressed images
        f.seek(5_000_000)
        byte = f.read(1)
        f.seek(5_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="damaged or different file"):
        load_mnist(path)


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        pytest.param({"x_train": np.zeros((3, 28, 28), np.uint8)}, "lacks the arrays", id="keys"),
        pytest.param(
            {
                "x_train": np.zeros((3, 784), np.uint8),
                "y_train": np.zeros(3, np.uint8),
                "x_test": np.zeros((2, 28, 28), np.uint8),
                "y_test": np.zeros(2, np.uint8),
            },
            r"x_train must be uint8 images of shape \(N, 28, 28\)",
            id="flat-images",
        ),
        pytest.param(
            {
                "x_train": np.zeros((3, 28, 28), np.uint8),
                "y_train": np.zeros(3, np.uint8),
                "x_test": np.zeros((2, 28, 28), np.uint8),
                "y_test": np.zeros(5, np.uint8),
            },
            r"y_test must be integer labels of shape \(2,\)",
            id="label-count",
        ),
        pytest.param(
            {
                "x_train": np.zeros((3, 28, 28), np.uint8),
                "y_train": np.array([0, 1, 10], np.uint8),
                "x_test": np.zeros((2, 28, 28), np.uint8),
                "y_test": np.zeros(2, np.uint8),
            },
            "y_train must hold digits 0..9",
            id="label-range",
        ),
    ],
)
def test_valid_npz_with_wrong_content(tmp_path, arrays, match):
    path = tmp_path / "mnist.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=match):
        load_mnist(path, verify=False)
    with pytest.raises(ValueError, match="damaged or different file"):
        load_mnist(path)


def test_small_valid_file_loads_without_verification(tmp_path):
    path = tmp_path / "mnist.npz"
    images = np.full((3, 28, 28), 255, np.uint8)
    np.savez(path, x_train=images, y_train=[1, 2, 3], x_test=images[:1], y_test=[7])
    X_train, X_test, y_train, y_test = load_mnist(tmp_path, verify=False)
    assert X_train.shape == (3, 28, 28, 1) and np.all(X_train == 1.0)
    np.testing.assert_array_equal(y_test, [7])
    with pytest.raises(ValueError, match="n_test must be at most 1, got 2"):
        load_mnist(path, n_test=2, verify=False)


def test_file_that_is_not_npz(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_text("this is not an archive\n")
    with pytest.raises(ValueError, match="not a valid MNIST .npz file: it is not a zip"):
        load_mnist(path, verify=False)
    with pytest.raises(ValueError, match="damaged or different file"):
        load_mnist(path)
