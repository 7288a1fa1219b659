"""Where a training step of the benchmark's LeNet goes: time per layer, forward and backward,
and for the loss, ``zero_grad`` and Adam's update, as a share of the step.

The network, data and threads are those of ``lenet_mnist.py`` (coursepkg only). Every step is
timed piece by piece with ``time.perf_counter``; the table gives the median over the timed steps
of each piece, and the share of the median step. The pieces' own timer calls add a few
microseconds each, so the pieces add up to a little more than a step untimed.

    .venv/bin/python benchmarks/profile_lenet.py      # batch 50 and 128, 1 and 2 threads
    .venv/bin/python benchmarks/profile_lenet.py --batch-sizes 32 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lenet_mnist as bench  # noqa: E402  (the benchmark's network, data and threads)

import coursepkg as cp  # noqa: E402


def loss_and_gradient(loss_fn, logits, y) -> np.ndarray:
    loss_fn(logits, y)
    return loss_fn.backward()


def profile(model, loss_fn, optimizer, batches, warmup: int) -> dict[str, list[float]]:
    """Seconds of each piece of each step after ``warmup`` steps: a dict piece -> list."""
    layers = list(model)
    times: dict[str, list[float]] = {}

    def timed(name, fn, *args):
        start = time.perf_counter()
        out = fn(*args)
        times.setdefault(name, []).append(time.perf_counter() - start)
        return out

    for step, (X, y) in enumerate(batches):
        if step == warmup:
            times.clear()
        start = time.perf_counter()
        timed("zero_grad", optimizer.zero_grad)
        A = X
        for i, layer in enumerate(layers):
            A = timed(f"forward  {i} {layer!r}", layer.forward, A)
        grad = timed("loss, forward and backward", loss_and_gradient, loss_fn, A, y)
        for i in reversed(range(len(layers))):
            grad = timed(f"backward {i} {layers[i]!r}", layers[i].backward, grad)
        timed("Adam step", optimizer.step)
        times.setdefault("step", []).append(time.perf_counter() - start)
    return times


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[50, 128])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--steps", type=int, default=100, help="timed steps per configuration")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if min(args.batch_sizes + args.threads) < 1 or args.steps < 1 or args.warmup < 0:
        p.error("batch sizes, thread counts and --steps must be >= 1, --warmup >= 0")

    X, _, y, _ = cp.load_mnist()
    print(f"coursepkg {cp.__version__}, NumPy {np.__version__}; median ms over {args.steps} steps")
    for batch_size in args.batch_sizes:
        batches = bench.make_batches(X, y, batch_size, args.warmup + args.steps, args.seed)
        columns = {}
        for n in args.threads:
            trainer = bench.OursTrainer(args.seed, lr=1e-3)
            with bench.Threads(n, ours=True):
                times = profile(
                    trainer.model, trainer.loss_fn, trainer.optimizer, batches, args.warmup
                )
            columns[n] = {name: statistics.median(v) for name, v in times.items()}
        names = list(next(iter(columns.values())))
        head = f"batch {batch_size}".ljust(56) + "".join(
            f" | {n} thread(s): ms   share" for n in columns
        )
        print(f"\n{head}\n{'-' * len(head)}")
        for name in names:
            line = f"{name:56s}"
            for found in columns.values():
                share = found[name] / found["step"]
                line += f" | {1e3 * found[name]:13.3f}  {share:6.1%}"
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
