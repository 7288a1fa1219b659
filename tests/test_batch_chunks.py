"""coursepkg.batch_chunks (issue 16): chunk boundaries, threads, and results that do not depend
on the number of threads.

The layers that use the helper (Conv2d, MaxPool2d) must give bit-identical outputs, gradients and
training steps with 1 and 2 threads, once the BLAS itself is pinned to one thread (a BLAS with
several threads may split a product differently, which is its own business, not the helper's).
"""

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import coursepkg as cp
from coursepkg import batch_chunks
from coursepkg.batch_chunks import (
    CHUNK_IMAGES,
    chunk_slices,
    get_threads,
    map_chunks,
    set_threads,
    sum_in_order,
)


@pytest.fixture
def threads(monkeypatch):
    """Set the helper's thread count inside a test; restored afterwards. Work of any size is
    handed to the threads (the small arrays of these tests would otherwise stay on one)."""
    monkeypatch.setattr(batch_chunks, "MIN_THREADED_BYTES", 0)
    before = get_threads()
    yield set_threads
    set_threads(before)


@pytest.mark.parametrize("n", [0, 1, 7, CHUNK_IMAGES, CHUNK_IMAGES + 1, 50, 77, 128, 1000])
def test_chunks_cover_the_batch_in_order_with_nearly_equal_sizes(n):
    slices = chunk_slices(n)
    assert len(slices) == -(-n // CHUNK_IMAGES)
    covered = np.concatenate([np.arange(n)[s] for s in slices]) if slices else np.arange(0)
    assert np.array_equal(covered, np.arange(n))
    sizes = [s.stop - s.start for s in slices]
    assert all(0 < size <= CHUNK_IMAGES for size in sizes)
    assert max(sizes, default=0) - min(sizes, default=0) <= 1


def test_chunk_boundaries_depend_on_the_batch_size_only(threads):
    threads(1)
    one = chunk_slices(128)
    threads(2)
    assert chunk_slices(128) == one


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_map_chunks_returns_results_in_chunk_order(threads, n_threads):
    threads(n_threads)
    n = 5 * CHUNK_IMAGES + 3
    names = []

    def fn(images, label):
        names.append(threading.current_thread().name)
        return (images.start, images.stop, label)

    labels = [f"chunk {i}" for i in range(len(chunk_slices(n)))]
    found = map_chunks(fn, n, labels)
    assert found == [
        (s.start, s.stop, label) for s, label in zip(chunk_slices(n), labels, strict=True)
    ]
    # with 2 or more threads, a pool thread really took part
    assert (len(set(names)) > 1) == (n_threads > 1)


def test_map_chunks_refuses_a_list_of_the_wrong_length():
    n = 2 * CHUNK_IMAGES
    with pytest.raises(ValueError, match=r"map_chunks: 2 chunks of \d+ images, but a list of 3"):
        map_chunks(lambda images, item: item, n, [1, 2, 3])


@pytest.mark.parametrize("n_threads", [1, 2])
def test_the_first_failing_chunk_is_raised_after_all_threads_finished(threads, n_threads):
    threads(n_threads)
    n = 4 * CHUNK_IMAGES
    done = []

    def fn(images):
        if images.start >= 2 * CHUNK_IMAGES:
            raise ValueError(f"chunk at {images.start}")
        done.append(images.start)

    with pytest.raises(ValueError, match=rf"chunk at {2 * CHUNK_IMAGES}$"):
        map_chunks(fn, n)
    assert sorted(done) == [0, CHUNK_IMAGES]


def test_small_work_stays_on_the_calling_thread():
    set_threads_before = set_threads(2)
    try:
        names = map_chunks(
            lambda images: threading.current_thread().name,
            4 * CHUNK_IMAGES,
            nbytes=batch_chunks.MIN_THREADED_BYTES - 1,
        )
        assert set(names) == {threading.current_thread().name}
        names = map_chunks(
            lambda images: threading.current_thread().name,
            4 * CHUNK_IMAGES,
            nbytes=batch_chunks.MIN_THREADED_BYTES,
        )
        assert len(set(names)) == 2
    finally:
        set_threads(set_threads_before)


def test_an_empty_batch_has_no_chunks():
    assert map_chunks(lambda images: 1 / 0, 0) == []


def test_sum_in_order_adds_left_to_right_and_leaves_the_parts_alone():
    parts = [
        np.float32(1e8) * np.ones(2, np.float32),
        np.ones(2, np.float32),
        -np.ones(2, np.float32) * np.float32(1e8),
    ]
    total = sum_in_order(parts)
    assert np.array_equal(total, (parts[0] + parts[1]) + parts[2])
    assert parts[0][0] == np.float32(1e8)  # not modified in place


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_set_threads_refuses_anything_but_a_positive_integer(bad, threads):
    with pytest.raises(ValueError, match="the number of threads must be an integer >= 1"):
        threads(bad)


def test_set_threads_returns_the_previous_setting(threads):
    threads(3)
    assert threads(1) == 3
    assert get_threads() == 1


@pytest.mark.parametrize(("value", "expected"), [("2", 2), ("", 1), (" ", 1)])
def test_threads_from_the_environment(monkeypatch, value, expected, threads):
    threads(1)
    monkeypatch.setenv("COURSEPKG_THREADS", value)
    batch_chunks._threads_from_environment()
    assert get_threads() == expected


@pytest.mark.parametrize("value", ["0", "two", "1.5"])
def test_a_bad_thread_count_in_the_environment_is_a_clear_error(monkeypatch, value, threads):
    monkeypatch.setenv("COURSEPKG_THREADS", value)
    with pytest.raises(ValueError, match="the environment variable COURSEPKG_THREADS: the number"):
        batch_chunks._threads_from_environment()


# --------------------------------------------------------------------------------------------
# The layers: the same bits with 1 and 2 threads
# --------------------------------------------------------------------------------------------
def run_layer(layer, X, G, n_threads):
    set_threads(n_threads)
    for p in layer.parameters():
        p.zero_grad()
    Z = layer.forward(X)
    grad_X = layer.backward(G)
    grads = [p.grad.copy() for p in layer.parameters()]
    return Z, grad_X, grads


def assert_same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


LAYERS = {
    "conv grey": (lambda: cp.Conv2d(1, 6, 5, rng=0, dtype=np.float32), (28, 28, 1)),
    "conv colour, padding, stride": (
        lambda: cp.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=1, rng=0, dtype=np.float32),
        (11, 9, 3),
    ),
    "conv no bias": (lambda: cp.Conv2d(2, 3, 3, bias=False, rng=0, dtype=np.float32), (8, 8, 2)),
    "conv no input gradient": (
        lambda: cp.Conv2d(1, 4, 3, rng=0, dtype=np.float32, input_grad=False),
        (10, 10, 1),
    ),
    "max pool 2x2": (lambda: cp.MaxPool2d(2), (12, 12, 5)),
    "max pool 3/2 (overlapping)": (lambda: cp.MaxPool2d(3, 2), (11, 11, 3)),
}


@pytest.mark.parametrize("n", [1, CHUNK_IMAGES - 1, 2 * CHUNK_IMAGES, 77])
@pytest.mark.parametrize("name", list(LAYERS))
def test_layers_give_the_same_bits_with_one_and_two_threads(name, n, threads):
    make, shape = LAYERS[name]
    rng = np.random.default_rng(n)
    X = rng.standard_normal((n, *shape)).astype(np.float32)
    layer = make()
    Z = layer.forward(X)
    G = rng.standard_normal(Z.shape).astype(np.float32)
    with threadpool_limits(1, "blas"):
        Z1, grad1, params1 = run_layer(layer, X, G, 1)
        Z2, grad2, params2 = run_layer(layer, X, G, 2)
    assert_same_bits(Z1, Z2)
    if grad1 is None:
        assert grad2 is None
    else:
        assert_same_bits(grad1, grad2)
    for a, b in zip(params1, params2, strict=True):
        assert_same_bits(a, b)


def lenet(seed=0):
    rng = np.random.default_rng(seed)
    f32 = np.float32
    return cp.Sequential(
        cp.Conv2d(1, 8, 5, rng=rng, dtype=f32, input_grad=False),
        cp.MaxPool2d(2),
        cp.ReLU(),
        cp.Conv2d(8, 8, 5, rng=rng, dtype=f32),
        cp.MaxPool2d(2),
        cp.ReLU(),
        cp.Flatten(),
        cp.Linear(128, 10, rng=rng, dtype=f32),
    )


@pytest.mark.parametrize("n", [1, 24, 50, 77])
def test_two_adam_steps_of_a_lenet_are_the_same_with_one_and_two_threads(n, threads):
    rng = np.random.default_rng(1)
    X = rng.random((n, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, n)
    found = []
    with threadpool_limits(1, "blas"):
        for n_threads in (1, 2):
            threads(n_threads)
            model, loss = lenet(), cp.SoftmaxCrossEntropy()
            optimizer = cp.Adam(model.parameters(), lr=1e-3)
            for _ in range(2):
                optimizer.zero_grad()
                loss(model(X), y)
                model.backward(loss.backward())
                optimizer.step()
            found.append([p.value.copy() for p in model.parameters()] + [model(X)])
    for a, b in zip(*found, strict=True):
        assert_same_bits(a, b)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_gradients_across_several_chunks_pass_the_gradient_check(n_threads, threads):
    """float64, a batch of three chunks: chunked forward and backward are the true gradient."""
    threads(n_threads)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((2 * CHUNK_IMAGES + 1, 6, 6, 2))
    model = cp.Sequential(
        cp.Conv2d(2, 3, 3, padding=1, rng=0), cp.MaxPool2d(2), cp.ReLU(), cp.Flatten()
    )
    errors = cp.grad_check(model, X).errors
    assert max(errors.values()) < 1e-7, errors


def test_chunked_layers_agree_with_the_whole_batch_at_once(monkeypatch):
    """One chunk (the whole batch) and many chunks: the same outputs and input gradients, and
    weight gradients equal to float64 rounding."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3 * CHUNK_IMAGES + 2, 9, 9, 2))
    results = []
    for chunk in (CHUNK_IMAGES, 10_000):
        monkeypatch.setattr(batch_chunks, "CHUNK_IMAGES", chunk)
        conv = cp.Conv2d(2, 4, 3, stride=2, padding=1, rng=0)
        Z = conv.forward(X)
        G = np.cos(np.arange(Z.size)).reshape(Z.shape)
        results.append((Z, conv.backward(G), conv.W.grad.copy(), conv.b.grad.copy()))
    (Z1, gX1, gW1, gb1), (Z2, gX2, gW2, gb2) = results
    assert np.array_equal(Z1, Z2) and np.array_equal(gX1, gX2)
    np.testing.assert_allclose(gW1, gW2, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(gb1, gb2, rtol=1e-13, atol=1e-13)


def test_callers_on_several_threads_get_their_own_results(threads):
    threads(2)
    n = 6 * CHUNK_IMAGES
    found = {}

    def caller(label):
        found[label] = [map_chunks(lambda s: (label, s.start), n, nbytes=1) for _ in range(50)]

    workers = [threading.Thread(target=caller, args=(label,)) for label in "abc"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for label in "abc":
        expected = [(label, s.start) for s in chunk_slices(n)]
        assert found[label] == [expected] * 50


def test_the_pool_works_in_a_forked_child(threads):
    """A child process made by fork has none of the parent's pool threads; it starts its own."""
    multiprocessing = pytest.importorskip("multiprocessing")
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    threads(2)
    map_chunks(lambda s: None, 4 * CHUNK_IMAGES, nbytes=1)  # the parent's pool exists
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        result = pool.apply_async(_chunk_starts_on_two_threads, (4 * CHUNK_IMAGES,))
        assert result.get(timeout=20) == [s.start for s in chunk_slices(4 * CHUNK_IMAGES)]


def _chunk_starts_on_two_threads(n):
    batch_chunks.MIN_THREADED_BYTES = 0
    set_threads(2)
    return map_chunks(lambda s: s.start, n)
