"""coursepkg.batch_chunks (issue 16): chunk boundaries, threads, and results that do not depend
on the number of threads.

The layers that use the helper (Conv2d, MaxPool2d) must give bit-identical outputs, gradients and
training steps with 1 and 2 threads, once the BLAS itself is pinned to one thread (a BLAS with
several threads may split a product differently, which is its own business, not the helper's).
"""

import gc
import threading
import time
import weakref

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
@pytest.mark.parametrize("failing", ["the pool's chunks", "the calling thread's chunks"])
def test_the_first_failing_chunk_is_raised_after_all_threads_finished(threads, n_threads, failing):
    """With 2 threads the calling thread takes chunks 0 and 1, a pool thread chunks 2 and 3."""
    threads(n_threads)
    n = 4 * CHUNK_IMAGES
    first_failing = 2 if failing == "the pool's chunks" else 0
    done = []

    def fn(images):
        i = images.start // CHUNK_IMAGES
        if first_failing <= i < first_failing + 2:
            raise ValueError(f"chunk {i}")
        time.sleep(0.05)  # the other thread's chunks end long after the failure
        done.append(i)

    with pytest.raises(ValueError, match=rf"chunk {first_failing}$"):
        map_chunks(fn, n)
    if n_threads == 2:  # the other thread's chunks ran to the end
        assert sorted(done) == ([0, 1] if first_failing == 2 else [2, 3])
    else:  # one thread stops at the first failure
        assert done == ([0, 1] if first_failing == 2 else [])


def test_map_chunks_called_from_a_chunk_runs_there(threads):
    """A chunk that calls map_chunks itself: on a pool thread, the inner call runs in place
    (waiting for the pool from inside it could wait for ever)."""
    threads(2)
    n = 2 * CHUNK_IMAGES

    def outer(images):
        return map_chunks(lambda inner: (images.start, inner.start), n)

    found = []
    caller = threading.Thread(target=lambda: found.append(map_chunks(outer, n)), daemon=True)
    caller.start()
    caller.join(timeout=20)
    assert not caller.is_alive(), "map_chunks inside a chunk waits for ever"
    assert found == [[[(a.start, b.start) for b in chunk_slices(n)] for a in chunk_slices(n)]]


@pytest.mark.parametrize("n_threads", [1, 2])
def test_the_callers_floating_point_error_handling_applies_on_every_thread(threads, n_threads):
    threads(n_threads)
    n = 2 * CHUNK_IMAGES

    def overflow_in_last_chunk(images):
        return np.float32(3e38) * np.float32(10) if images.stop == n else np.float32(1)

    with np.errstate(over="raise"), pytest.raises(FloatingPointError, match="overflow"):
        map_chunks(overflow_in_last_chunk, n)
    with np.errstate(over="ignore"):
        assert np.isinf(map_chunks(overflow_in_last_chunk, n)[-1])


def test_the_pool_lets_go_of_a_layers_arrays(threads):
    """Once a layer and its arrays are gone, no pool thread keeps them alive."""
    threads(2)
    conv = cp.Conv2d(3, 4, 3, rng=0)
    X = np.random.default_rng(0).standard_normal((3 * CHUNK_IMAGES, 8, 8, 3))
    conv.backward(np.ones_like(conv.forward(X)))
    kept = weakref.ref(conv._cols_T[-1])
    del conv
    for _ in range(100):  # (a pool thread lets go just after it has replied)
        gc.collect()
        if kept() is None:
            break
        time.sleep(0.01)
    assert kept() is None


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
    parts = [np.full(2, value, np.float32) for value in (1.0, 1e8, -1e8)]
    total = sum_in_order(parts)
    assert np.array_equal(total, np.zeros(2))  # (1 + 1e8) - 1e8 in float32; right to left gives 1
    assert parts[0][0] == 1  # not modified in place


@pytest.mark.parametrize(
    ("bad", "error"),
    [(0, ValueError), (-1, ValueError), (1.5, TypeError), ("2", TypeError), (True, TypeError)],
)
def test_set_threads_refuses_anything_but_a_positive_integer(bad, error, threads):
    with pytest.raises(
        error, match="set_threads: the number of threads must be a positive integer"
    ):
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
    with pytest.raises(
        ValueError, match=r"COURSEPKG_THREADS must be an integer >= 1, got '.*'\. Unset it"
    ):
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


@pytest.mark.parametrize("n", [CHUNK_IMAGES + 1, 2 * CHUNK_IMAGES, 77])
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


@pytest.mark.parametrize("n", [CHUNK_IMAGES + 1, 50, 77])
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
    """One chunk (the whole batch) and many chunks: the same outputs and gradients to float64
    rounding. (Not always bit for bit: OpenBLAS may round a product of some rows differently
    from the same rows inside a larger product.)"""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3 * CHUNK_IMAGES + 2, 9, 9, 2))
    results = []
    for chunk, count in ((CHUNK_IMAGES, 4), (10_000, 1)):
        monkeypatch.setattr(batch_chunks, "CHUNK_IMAGES", chunk)
        assert len(batch_chunks.chunk_slices(len(X))) == count
        conv, pool = cp.Conv2d(2, 3, 3, stride=2, padding=1, rng=0), cp.MaxPool2d(2)
        Z = pool.forward(conv.forward(X))
        G = np.cos(np.arange(Z.size)).reshape(Z.shape)
        results.append((Z, conv.backward(pool.backward(G)), conv.W.grad.copy(), conv.b.grad.copy()))
    for found_in_chunks, found_at_once in zip(*results, strict=True):
        np.testing.assert_allclose(found_in_chunks, found_at_once, rtol=1e-13, atol=1e-13)


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


# Python 3.12 and later warn about fork in a process with threads, which is what is tested here
@pytest.mark.filterwarnings("ignore:.*multi-threaded.*fork:DeprecationWarning")
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
