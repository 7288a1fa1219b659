"""Chunks of a batch: the one place where the layers trade a little readability for speed.

``Conv2d`` and ``MaxPool2d`` do their work one *chunk* of at most 32 images at a time, through
``map_chunks``: im2col and the matrix product, or the running maximum, for one chunk, then the
next. With ``set_threads(2)`` two threads take the chunks, since NumPy releases the GIL inside
BLAS and in ufuncs on large arrays. The layers themselves still read as "im2col + one matrix
product" and "a running maximum over window offsets", only written for the images of a chunk.

What it buys is the second thread (``benchmarks/chunk_threads.py``: float32 LeNet on MNIST, a
2-core Xeon VM, median ms per training step, BLAS on one thread, the settings taking turns):

    batch  50: whole batch 16.6 ms, chunks on 1 thread 16.4 ms, chunks on 2 threads 11.7 ms
    batch 128: whole batch 39.9 ms, chunks on 1 thread 38.7 ms, chunks on 2 threads 24.7 ms

On one thread chunks are neither faster nor slower here (a chunk's im2col matrix, 4 MB, does not
fit this machine's 2 MB cache either), and smaller chunks were slower: 8 images 16%, 16 images 7%
at batch 50.

Results do not depend on the number of threads: chunk boundaries depend on the batch size only,
every chunk is computed the same way whichever thread runs it, and results that add up over
chunks (weight gradients) are added in chunk order by ``sum_in_order``
(``tests/test_batch_chunks.py``). A batch of up to 32 images is one chunk, computed exactly as
before chunks existed. In larger batches, outputs and gradients can differ in their last bits
from one matrix product over the whole batch: a weight gradient is summed chunk by chunk, and
OpenBLAS may round a product of some rows differently from the same rows inside a larger one.

Settings: ``set_threads(n)`` or the environment variable ``COURSEPKG_THREADS`` (default 1). With
more than one thread, limit the BLAS to one thread (``threadpoolctl.threadpool_limits(1)``), so
that the two kinds of thread do not compete for the same cores.
"""

from __future__ import annotations

import functools
import os
import queue
import threading

import numpy as np

from ._validation import check_positive_int

#: Images per chunk (at most). A constant, not a setting, so that results stay reproducible.
CHUNK_IMAGES = 32

#: Below this many bytes of work (the caller's estimate), chunks stay on the calling thread:
#: handing them to another thread cost more than it saved (a 50-image batch's second pooling,
#: 0.26 MB: 0.19 ms alone, 0.46 ms on two threads).
MIN_THREADED_BYTES = 1 << 20

_settings = {"threads": 1}


def set_threads(n: int) -> int:
    """Use ``n`` threads (>= 1) for the chunks of ``Conv2d`` and ``MaxPool2d``; returns the
    previous setting. Results are the same for every n (see the module docstring).

    Threads are started when first needed, at most one fewer than the chunks of a batch (the
    calling thread takes a share), and then kept.

    Raises:
        TypeError: if n is not an integer. ValueError: if n < 1.
    """
    n = check_positive_int(n, "the number of threads", "set_threads")
    previous, _settings["threads"] = _settings["threads"], n
    return previous


def get_threads() -> int:
    """The number of threads ``map_chunks`` uses."""
    return _settings["threads"]


def _threads_from_environment() -> None:
    value = os.environ.get("COURSEPKG_THREADS")
    if value is None or value.strip() == "":
        return
    try:
        n = int(value)
    except ValueError:
        n = None
    if n is None or n < 1:
        raise ValueError(
            f"coursepkg: the environment variable COURSEPKG_THREADS must be an integer >= 1, got "
            f"{value!r}. Unset it for one thread."
        )
    set_threads(n)


_threads_from_environment()


def chunk_slices(n: int) -> list[slice]:
    """Split ``range(n)`` into ceil(n / CHUNK_IMAGES) consecutive slices of nearly equal size.

    The boundaries depend on n only. An empty batch (n = 0) gives no chunks.
    """
    count = -(-n // CHUNK_IMAGES)
    bounds = [n * i // count for i in range(count + 1)] if count else [0]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


# The pool: long-lived threads, each taking jobs from its own queue. A call of map_chunks with
# nothing to do took 31-124 µs through queue.SimpleQueue here (the more so the longer the pool
# had been idle), against 60-180 µs with concurrent.futures' ThreadPoolExecutor.
_inboxes: list[queue.SimpleQueue] = []
_pool_lock = threading.Lock()
_in_pool = threading.local()


def _pool_thread(inbox: queue.SimpleQueue) -> None:
    _in_pool.yes = True
    while True:
        job, reply = inbox.get()
        try:
            outcome = job()
        except BaseException as exc:  # pragma: no cover - jobs catch Exception; this is the rest
            outcome = [(None, exc)]
        reply.put(outcome)
        # Forget the job while waiting for the next one: its closure holds the layer's arrays.
        del job, reply, outcome


def _pool_inboxes(count: int) -> list[queue.SimpleQueue]:
    with _pool_lock:
        while len(_inboxes) < count:
            inbox = queue.SimpleQueue()
            name = f"coursepkg-chunks-{len(_inboxes) + 1}"
            threading.Thread(target=_pool_thread, args=(inbox,), name=name, daemon=True).start()
            _inboxes.append(inbox)
        return _inboxes[:count]


def _forget_pool() -> None:
    """In a forked child the pool threads do not exist: start new ones when needed."""
    global _pool_lock
    _inboxes.clear()
    _pool_lock = threading.Lock()
    _in_pool.yes = False  # the child's only thread is not a pool thread, even if it forked one


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def map_chunks(fn, n: int, *per_chunk, nbytes: int = 0) -> list:
    """``[fn(s, *extra) for s, *extra in zip(chunk_slices(n), *per_chunk)]``, spread over
    ``get_threads()`` threads.

    ``fn(s, ...)`` works on images ``s`` (a slice of the batch axis), with the chunk's items of
    the lists ``per_chunk`` (such as what an earlier ``map_chunks`` returned for the same n), and
    must write only to its own images' part of any shared output array. With T threads, the
    calling thread and T - 1 pool threads each take a run of consecutive chunks. The results
    come back in chunk order; if chunks raise, the first exception in chunk order is raised,
    once every thread has finished. ``nbytes`` is the size of the data the chunks work on; under
    ``MIN_THREADED_BYTES`` they all run on the calling thread.
    """
    slices = chunk_slices(n)
    for items in per_chunk:
        if len(items) != len(slices):
            raise ValueError(
                f"map_chunks: {len(slices)} chunks of {n} images, but a list of {len(items)} items"
            )
    calls = [(s, *extra) for s, *extra in zip(slices, *per_chunk, strict=True)]
    threads = min(get_threads(), len(slices)) if nbytes >= MIN_THREADED_BYTES else 1
    if threads <= 1 or getattr(_in_pool, "yes", False):  # (a pool thread never waits for one)
        return [fn(*call) for call in calls]
    runs = [
        range(len(slices) * t // threads, len(slices) * (t + 1) // threads) for t in range(threads)
    ]

    def run(indices):
        out = []
        for i in indices:
            try:
                out.append((fn(*calls[i]), None))
            except Exception as exc:  # raised below, in chunk order
                out.append((None, exc))
        return out

    errors = np.geterr()  # the caller's np.errstate, which pool threads would not see

    def run_as_caller(indices):
        with np.errstate(**errors):
            return run(indices)

    replies = []
    for inbox, indices in zip(_pool_inboxes(threads - 1), runs[1:], strict=True):
        replies.append(queue.SimpleQueue())  # one per job: callers on several threads stay apart
        inbox.put((functools.partial(run_as_caller, indices), replies[-1]))
    outcomes = run(runs[0])
    for reply in replies:
        outcomes += reply.get()
    for _, exc in outcomes:
        if exc is not None:
            raise exc
    return [result for result, _ in outcomes]


def sum_in_order(parts: list[np.ndarray]) -> np.ndarray:
    """parts[0] + parts[1] + ... added left to right, so the rounding never depends on which
    thread finished first. ``parts`` must not be empty."""
    total = parts[0].copy()
    for part in parts[1:]:
        total += part
    return total
