"""What ``coursepkg/batch_chunks.py`` buys: the benchmark's LeNet training step with the whole
batch as one chunk, with chunks of several sizes on one thread, and on two threads.

All settings train their own copy of the network on the same batches and take turns, a few
steps each, for ``--rounds`` rounds, so that the slow stretches of a shared machine fall on all
of them alike. BLAS is limited to one thread throughout (as ``lenet_mnist.py`` does for
coursepkg). Prints the median and the 20th percentile of the step times, in ms.

    .venv/bin/python benchmarks/chunk_threads.py
    .venv/bin/python benchmarks/chunk_threads.py --batch-sizes 32 --chunks 16 32
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lenet_mnist as bench  # noqa: E402  (the benchmark's network and data)

import coursepkg as cp  # noqa: E402
from coursepkg import batch_chunks  # noqa: E402

WHOLE_BATCH = 1_000_000  # a chunk size larger than any batch: the whole batch at once


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[50, 128])
    p.add_argument("--chunks", type=int, nargs="+", default=[8, 16, batch_chunks.CHUNK_IMAGES])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--steps", type=int, default=10, help="steps per setting and round")
    args = p.parse_args(argv)
    if min(args.batch_sizes + args.chunks + args.threads) < 1 or min(args.rounds, args.steps) < 1:
        p.error("every number must be >= 1")

    X, _, y, _ = cp.load_mnist()
    settings = [("whole batch", WHOLE_BATCH, 1)]
    settings += [(f"chunks of {c}", c, t) for t in args.threads for c in args.chunks]
    chunk_size, threads_before = batch_chunks.CHUNK_IMAGES, cp.get_threads()
    print(f"median / 20th percentile ms per step over {args.rounds} x {args.steps} steps")
    try:
        for batch_size in args.batch_sizes:
            batches = bench.make_batches(X, y, batch_size, args.steps + 2, seed=0)
            trainers = [bench.OursTrainer(seed=0, lr=1e-3) for _ in settings]
            times = [[] for _ in settings]
            with threadpool_limits(1, user_api="blas"):
                for _ in range(args.rounds):
                    for (_, chunk, threads), trainer, found in zip(
                        settings, trainers, times, strict=True
                    ):
                        batch_chunks.CHUNK_IMAGES = chunk
                        cp.set_threads(threads)
                        found += bench.time_steps(trainer, batches, warmup=2)
            print(f"\nbatch {batch_size}")
            for (name, _, threads), found in zip(settings, times, strict=True):
                p20 = sorted(found)[len(found) // 5]
                label = f"{name}, {threads} thread(s)" if name != "whole batch" else name
                print(f"  {label:32s} {1e3 * statistics.median(found):7.2f} / {1e3 * p20:7.2f}")
    finally:
        batch_chunks.CHUNK_IMAGES = chunk_size
        cp.set_threads(threads_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
