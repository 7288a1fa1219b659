"""Benchmark: a LeNet-style CNN on MNIST in coursepkg, side by side with PyTorch if installed.

The network (channels-last in coursepkg, NCHW or channels_last in PyTorch):

    Conv2d(1, 20, 5) -> MaxPool2d(2) -> ReLU -> Conv2d(20, 20, 5) -> MaxPool2d(2) -> ReLU
    -> Flatten -> Linear(320, 100) -> ReLU -> Linear(100, 10),
    softmax cross-entropy, Adam(lr=1e-3), float32, seeded.

(Pooling before ReLU computes exactly what ReLU before pooling does, with the ReLU on a quarter
of the values: tests/test_layer_order.py. Both networks use this order.)

What it measures, in this order:

1. time per training step (zero_grad, forward, loss, backward, optimizer step) on real MNIST
   batches, as min and median over the timed steps after a few warm-up steps, for every batch size
   and thread count asked for; PyTorch runs the same steps right after ours, in both memory layouts;
2. time per epoch (a full pass over the 60,000 training images at batch 50, with shuffling and
   batch indexing, as ``coursepkg.train`` does it) for every thread count;
3. test accuracy on all 10,000 test images after each epoch of a training run.

Threads: with n threads, coursepkg's Conv2d and MaxPool2d share their chunks of the batch among
n threads (``cp.set_threads(n)``, coursepkg/batch_chunks.py), and OpenBLAS is limited to one
thread with ``threadpoolctl``, so that the two do not compete for the cores. PyTorch uses
``torch.set_num_threads(n)``. The script checks that the limits took effect and prints what it
found.

Noise: the step times of each configuration are taken in ``--rounds`` rounds, each running every
implementation in turn, so that a slow stretch of a shared machine falls on all of them.

Run from the repository root (see benchmarks/README.md):

    .venv/bin/python benchmarks/lenet_mnist.py            # coursepkg only
    /path/to/venv-with-torch/bin/python benchmarks/lenet_mnist.py --json   # side by side
    python benchmarks/lenet_mnist.py --quick              # smoke run, under a minute
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import coursepkg as cp

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # pragma: no cover - scikit-learn brings it in the course environment
    sys.exit("lenet_mnist.py needs threadpoolctl to set BLAS threads: pip install threadpoolctl")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TRAIN_SIZE = 60_000
DTYPE = np.float32


# --------------------------------------------------------------------------------------------
# The two networks
# --------------------------------------------------------------------------------------------
def build_ours(seed: int) -> cp.Sequential:
    """The LeNet-style network in coursepkg: images (N, 28, 28, 1) -> logits (N, 10)."""
    rng = np.random.default_rng(seed)
    return cp.Sequential(
        cp.Conv2d(1, 20, 5, rng=rng, dtype=DTYPE, input_grad=False),  # data needs no gradient
        cp.MaxPool2d(2),
        cp.ReLU(),
        cp.Conv2d(20, 20, 5, rng=rng, dtype=DTYPE),
        cp.MaxPool2d(2),
        cp.ReLU(),
        cp.Flatten(),
        cp.Linear(320, 100, rng=rng, init="he", dtype=DTYPE),
        cp.ReLU(),
        cp.Linear(100, 10, rng=rng, dtype=DTYPE),
    )


def import_torch(disabled: bool):
    """The torch module, or None (with the reason) when it is disabled or not installed."""
    if disabled:
        return None, "disabled with --no-torch"
    try:
        import torch
    except ImportError as exc:
        return None, f"not installed ({exc})"
    return torch, ""


def build_torch(torch, ours: cp.Sequential, channels_last: bool):
    """The same network in PyTorch, with the initial weights of ``ours`` copied over.

    coursepkg keeps conv weights as (kh, kw, C_in, C_out) and flattens feature maps in (H, W, C)
    order; PyTorch keeps (C_out, C_in, kh, kw) and flattens in (C, H, W) order, so the first
    Linear layer's rows are permuted to match.
    """
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(1, 20, 5),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Conv2d(20, 20, 5),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(320, 100),
        nn.ReLU(),
        nn.Linear(100, 10),
    )
    with torch.no_grad():
        for i in (0, 3):  # the convolutions
            net[i].weight.copy_(torch.from_numpy(ours[i].W.value.transpose(3, 2, 0, 1).copy()))
            net[i].bias.copy_(torch.from_numpy(ours[i].b.value))
        W1 = ours[7].W.value.reshape(4, 4, 20, 100).transpose(3, 2, 0, 1).reshape(100, 320)
        net[7].weight.copy_(torch.from_numpy(W1.copy()))
        net[7].bias.copy_(torch.from_numpy(ours[7].b.value))
        net[9].weight.copy_(torch.from_numpy(ours[9].W.value.T.copy()))
        net[9].bias.copy_(torch.from_numpy(ours[9].b.value))
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net


def to_torch_images(torch, X: np.ndarray, channels_last: bool):
    """(N, H, W, C) float32 array -> (N, C, H, W) tensor in the requested memory format."""
    T = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2)))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return T.contiguous(memory_format=fmt)


# --------------------------------------------------------------------------------------------
# One training step, one epoch
# --------------------------------------------------------------------------------------------
class OursTrainer:
    """coursepkg: model, loss and Adam, and one training step on a batch."""

    name = "coursepkg"

    def __init__(self, seed: int, lr: float):
        self.model = build_ours(seed)
        self.loss_fn = cp.SoftmaxCrossEntropy()
        self.optimizer = cp.Adam(self.model.parameters(), lr=lr)

    def prepare(self, X: np.ndarray, y: np.ndarray):
        return np.ascontiguousarray(X), y

    def step(self, X, y) -> float:
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(X), y)
        self.model.backward(self.loss_fn.backward())
        self.optimizer.step()
        return loss

    def epoch(self, X: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> None:
        """One pass over (X, y) with the package's own training loop."""
        cp.train(
            self.model,
            self.loss_fn,
            self.optimizer,
            X,
            y,
            epochs=1,
            batch_size=batch_size,
            seed=seed,
            metric=None,
            progress=False,
        )


class TorchTrainer:
    """PyTorch: the same network, loss and Adam, in NCHW or channels_last memory layout."""

    def __init__(self, torch, ours: cp.Sequential, lr: float, channels_last: bool):
        self.torch = torch
        self.channels_last = channels_last
        self.name = "torch channels_last" if channels_last else "torch NCHW"
        self.model = build_torch(torch, ours, channels_last)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)

    def prepare(self, X: np.ndarray, y: np.ndarray):
        return to_torch_images(self.torch, X, self.channels_last), self.torch.from_numpy(y)

    def step(self, X, y):
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(X), y)
        loss.backward()
        self.optimizer.step()
        return loss

    def epoch(self, X, y, batch_size: int, seed: int) -> None:
        """One pass in the order ``coursepkg.train`` uses; X, y are whole prepared tensors."""
        fmt = self.torch.channels_last if self.channels_last else self.torch.contiguous_format
        for idx in cp.minibatches(len(X), batch_size, np.random.default_rng(seed)):
            idx = self.torch.from_numpy(idx)
            self.step(X[idx].contiguous(memory_format=fmt), y[idx])


# --------------------------------------------------------------------------------------------
# Threads and timing
# --------------------------------------------------------------------------------------------
class Threads:
    """Context manager for n threads: coursepkg's chunks on n threads with a one-thread BLAS
    (``ours=True``), or n BLAS threads for NumPy (threadpoolctl); and n threads for PyTorch."""

    def __init__(self, n: int, torch=None, *, ours: bool = False):
        self.n, self.torch, self.ours = n, torch, ours

    def __enter__(self):
        self._limits = threadpool_limits(limits=1 if self.ours else self.n, user_api="blas")
        self._chunks_before = cp.set_threads(self.n if self.ours else 1)
        if self.torch is not None:
            self._torch_before = self.torch.get_num_threads()
            self.torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        self._limits.restore_original_limits()
        cp.set_threads(self._chunks_before)
        if self.torch is not None:
            self.torch.set_num_threads(self._torch_before)

    def check(self) -> dict:
        """The thread counts actually in force: those of each BLAS library, and PyTorch's."""
        blas = {
            f"{info['internal_api']} ({Path(info['filepath']).name})": info["num_threads"]
            for info in threadpool_info()
            if info["user_api"] == "blas"
        }
        found = {"blas": blas, "coursepkg chunks": cp.get_threads()}
        if self.torch is not None:
            found["torch"] = self.torch.get_num_threads()
        return found


def source_fingerprint() -> dict:
    """Which coursepkg code was measured: git commit, whether coursepkg/ has uncommitted
    changes, and a sha256 over its .py files (the package may be edited between runs)."""
    package = Path(cp.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    found = {"coursepkg_sha256": digest.hexdigest()[:16], "commit": None, "dirty": None}
    try:
        git = ["git", "-C", str(package.parent)]
        found["commit"] = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            [*git, "status", "--porcelain", "--", "coursepkg"], capture_output=True, text=True
        ).stdout
        found["dirty"] = bool(status.strip())
    except (OSError, subprocess.CalledProcessError):
        pass  # not a git checkout, or no git: the hash alone identifies the code
    return found


def summarize(times: list[float]) -> dict:
    return {"min": min(times), "median": statistics.median(times), "n": len(times)}


def time_steps(trainer, batches, warmup: int) -> list[float]:
    """Seconds per training step over ``batches``; the first ``warmup`` steps are not counted."""
    times = []
    for i, (X, y) in enumerate(batches):
        start = time.perf_counter()
        trainer.step(X, y)
        elapsed = time.perf_counter() - start
        if i >= warmup:
            times.append(elapsed)
    return times


def blas_check(threads: list[int], repeats: int = 7) -> dict:
    """Median time of a float32 matrix product (4000 x 500 by 500 x 500) per thread count.

    If 2 threads are not faster than 1 here, the BLAS limit did not take effect or another
    process is using the second core: then the multi-thread figures below mean little.
    """
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4000, 500)).astype(DTYPE)
    B = rng.standard_normal((500, 500)).astype(DTYPE)
    result = {}
    for n in threads:
        with Threads(n) as t:
            found = t.check()["blas"]
            A @ B
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                A @ B
                times.append(time.perf_counter() - start)
        result[n] = {"median_ms": 1e3 * statistics.median(times), "blas_threads": found}
    return result


# --------------------------------------------------------------------------------------------
# The three parts of the benchmark
# --------------------------------------------------------------------------------------------
def make_batches(X, y, batch_size: int, count: int, seed: int):
    """``count`` real MNIST batches: consecutive slices of a seeded permutation."""
    order = np.random.default_rng(seed).permutation(len(X))
    n_batches = len(X) // batch_size
    return [
        (X[order[s : s + batch_size]], y[order[s : s + batch_size]])
        for s in (batch_size * (i % n_batches) for i in range(count))
    ]


def make_trainers(args, torch) -> list:
    """Ours, then (if torch is available) PyTorch in NCHW and channels_last from our weights."""
    trainers = [OursTrainer(args.seed, args.lr)]
    if torch is not None:
        torch.manual_seed(args.seed)
        ours = trainers[0].model
        trainers += [TorchTrainer(torch, ours, args.lr, cl) for cl in (False, True)]
    return trainers


def bench_steps(args, torch, X, y, log) -> list[dict]:
    """Time per step for every batch size and thread count: ``args.rounds`` rounds, in each of
    which every implementation runs its warm-up steps and then its share of the timed steps."""
    rows = []
    for batch_size in args.batch_sizes:
        batches = make_batches(X, y, batch_size, args.steps, args.seed)
        for n in args.threads:
            row = {"batch_size": batch_size, "threads": n}
            trainers = make_trainers(args, torch)
            prepared = {t.name: [t.prepare(Xb, yb) for Xb, yb in batches] for t in trainers}
            times = {t.name: [] for t in trainers}
            for r in range(args.rounds):
                share = slice(r * args.steps // args.rounds, (r + 1) * args.steps // args.rounds)
                for trainer in trainers:
                    data = prepared[trainer.name]
                    time.sleep(args.pause)  # let threads of the previous run go idle
                    with Threads(n, torch, ours=isinstance(trainer, OursTrainer)) as t:
                        row.setdefault("threads_in_force", {})[trainer.name] = t.check()
                        warm = [data[i % len(data)] for i in range(args.warmup)]
                        times[trainer.name] += time_steps(trainer, warm + data[share], args.warmup)
            for trainer in trainers:
                row[trainer.name] = r = summarize(times[trainer.name])
                log(
                    f"  step  batch {batch_size:4d}  threads {n}  {trainer.name:20s} "
                    f"min {1e3 * r['min']:8.2f} ms  median {1e3 * r['median']:8.2f} ms"
                )
            rows.append(row)
    return rows


def bench_epochs(args, torch, X, y, log) -> list[dict]:
    """Time per epoch at batch ``args.epoch_batch_size``: real full epochs by default; with
    ``--epoch-fraction f < 1`` the first f of each epoch is timed and divided by f (labelled
    as extrapolated)."""
    n_images = int(round(args.epoch_fraction * len(X)))
    Xe, ye = X[:n_images], y[:n_images]
    scale = len(X) / n_images  # X is the whole training set
    torch_data = {}
    rows = []
    for n in args.threads:
        row = {"threads": n, "images_timed": n_images, "extrapolated": scale != 1.0}
        trainers = make_trainers(args, torch)
        for trainer in trainers:
            if isinstance(trainer, TorchTrainer):
                key = trainer.channels_last
                if key not in torch_data:
                    torch_data[key] = trainer.prepare(Xe, ye)
                data = torch_data[key]
            else:
                data = (Xe, ye)
            times = []
            for repeat in range(args.epoch_repeats):
                time.sleep(args.pause)
                with Threads(n, torch, ours=isinstance(trainer, OursTrainer)):
                    start = time.perf_counter()
                    trainer.epoch(*data, args.epoch_batch_size, seed=args.seed + repeat)
                    times.append(scale * (time.perf_counter() - start))
            row[trainer.name] = summarize(times)
            r = row[trainer.name]
            label = f" (extrapolated from {n_images:,} images)" if scale != 1.0 else ""
            log(
                f"  epoch threads {n}  {trainer.name:20s} min {r['min']:7.2f} s  "
                f"median {r['median']:7.2f} s{label}"
            )
        rows.append(row)
    return rows


def train_for_accuracy(args, X, y, X_test, y_test, threads: int, log) -> list[dict]:
    """Train coursepkg's network for ``args.epochs`` epochs; test accuracy after each.

    The learning rate is multiplied by ``args.lr_decay`` after each epoch listed in
    ``args.lr_milestones`` (PyTorch's MultiStepLR stepped once per epoch)."""
    trainer = OursTrainer(args.seed, args.lr)
    rows = []
    with Threads(threads, ours=True):
        for epoch in range(1, args.epochs + 1):
            lr = trainer.optimizer.lr
            start = time.perf_counter()
            trainer.epoch(X, y, args.train_batch_size, seed=args.seed + 1000 + epoch)
            seconds = time.perf_counter() - start
            acc = cp.accuracy(cp.predict(trainer.model, X_test, batch_size=1000), y_test)
            rows.append({"epoch": epoch, "lr": lr, "test_accuracy": acc, "epoch_seconds": seconds})
            log(f"  train epoch {epoch}  lr {lr:.2e}  {seconds:6.1f} s  test accuracy {acc:.2%}")
            if epoch in args.lr_milestones:
                trainer.optimizer.lr = lr * args.lr_decay
    return rows


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def timing_table(rows: list[dict], names: list[str], torch: bool, keys, scale: float) -> list[str]:
    """Lines of a table: the row labels ``keys`` ((title, field, width) triples), min / median
    per implementation in ``names`` (multiplied by ``scale``), and ours/PyTorch median ratios."""
    head = " ".join(f"{title:>{width}}" for title, _, width in keys) + " |"
    head += "".join(f" {n:>21} |" for n in names)
    if torch:
        head += f" {'ours/NCHW':>11} | {'ours/ch_last':>12}"
    lines = [head, "-" * len(head)]
    for row in rows:
        line = " ".join(f"{row[field]:>{width}}" for _, field, width in keys) + " |"
        for n in names:
            line += f" {scale * row[n]['min']:9.2f} / {scale * row[n]['median']:9.2f} |"
        if torch:
            for other, width in (("torch NCHW", 11), ("torch channels_last", 12)):
                ratio = row["coursepkg"]["median"] / row[other]["median"]
                line += f" {ratio:>{width - 1}.1f}x |"
        lines.append(line.rstrip(" |"))
    return lines


def format_report(result: dict) -> str:
    names = ["coursepkg"] + (["torch NCHW", "torch channels_last"] if result["torch"] else [])
    out = []
    a = result["args"]
    if result["steps"]:
        out.append(
            f"\nTime per training step, ms: min / median over {a['steps']} steps, in "
            f"{a['rounds']} round(s) that each begin with {a['warmup']} warm-up steps"
        )
        keys = [("batch", "batch_size", 5), ("thr", "threads", 3)]
        out += timing_table(result["steps"], names, result["torch"], keys, 1e3)
    if result["epochs"]:
        extrapolated = result["epochs"][0]["extrapolated"]
        how = (
            f"EXTRAPOLATED from {result['epochs'][0]['images_timed']:,} images"
            if extrapolated
            else f"full epochs, {a['epoch_repeats']} repeat(s)"
        )
        out.append(
            f"\nTime per epoch ({TRAIN_SIZE:,} images at batch {a['epoch_batch_size']}), s: "
            f"min / median ({how})"
        )
        out += timing_table(result["epochs"], names, result["torch"], [("thr", "threads", 3)], 1.0)
    if result["training"]:
        t = result["training_setup"]
        out.append(
            f"\nTest accuracy of coursepkg's network ({t['train_images']:,} training images, "
            f"batch {a['train_batch_size']}, Adam lr {a['lr']:g}{describe_schedule(a)}, "
            f"{t['threads']} thread(s), {t['test_images']:,} test images)"
        )
        out.append(f"{'epoch':>5} | {'lr':>8} | {'epoch time':>10} | test accuracy")
        for row in result["training"]:
            out.append(
                f"{row['epoch']:>5} | {row['lr']:8.2e} | {row['epoch_seconds']:8.1f} s | "
                f"{row['test_accuracy']:.2%}"
            )
    out.append(f"\nTotal run time: {result['total_seconds']:.0f} s")
    return "\n".join(out)


def describe_schedule(a: dict) -> str:
    milestones = [m for m in a["lr_milestones"] if m < a["epochs"]]
    if not milestones or a["lr_decay"] == 1:
        return " constant"
    after = ", ".join(str(m) for m in milestones)
    return f" x {a['lr_decay']:g} after epoch {after}"


def describe_blas_check(check: dict) -> list[str]:
    lines = ["BLAS thread check (float32 4000x500 @ 500x500, median):"]
    for n, r in check.items():
        lines.append(f"  limit {n}: {r['median_ms']:.2f} ms, threads in force {r['blas_threads']}")
    if 1 in check and 2 in check:
        speedup = check[1]["median_ms"] / check[2]["median_ms"]
        lines.append(f"  speed-up of 2 threads over 1: {speedup:.2f}x")
        if speedup < 1.3:
            lines.append(
                "  WARNING: 2 threads are hardly faster than 1: another process is probably using "
                "a core, so the 2-thread figures will be unreliable."
            )
    for n, r in check.items():
        if any(v != n for v in r["blas_threads"].values()) or not r["blas_threads"]:
            lines.append(f"  WARNING: the BLAS thread limit {n} did not take effect.")
    return lines


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[50, 128])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--warmup", type=int, default=5, help="untimed steps before the timed ones")
    p.add_argument(
        "--steps", type=int, default=100, help="timed training steps per config (0 skips part 1)"
    )
    p.add_argument(
        "--rounds", type=int, default=5, help="rounds the timed steps are split into (see above)"
    )
    p.add_argument("--epoch-batch-size", type=int, default=50)
    p.add_argument("--epoch-repeats", type=int, default=2, help="timed epochs per config")
    p.add_argument(
        "--epoch-fraction",
        type=float,
        default=1.0,
        help="time this fraction of an epoch and extrapolate (labelled in the output); 0 skips",
    )
    p.add_argument("--epochs", type=int, default=4, help="training epochs (0 skips training)")
    p.add_argument("--train-batch-size", type=int, default=50)
    p.add_argument(
        "--train-threads",
        type=int,
        default=None,
        help="threads for the training run (if not given: coursepkg's fastest thread count at the "
        "training batch size in part 1, else the largest of --threads)",
    )
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument(
        "--lr-decay", type=float, default=0.1, help="lr multiplier at each milestone (1: constant)"
    )
    p.add_argument(
        "--lr-milestones",
        type=int,
        nargs="*",
        default=[3],
        metavar="EPOCH",
        help="multiply the lr by --lr-decay after these epochs (none: constant lr)",
    )
    p.add_argument("--train-images", type=int, default=None, help="use only the first N")
    p.add_argument("--test-images", type=int, default=None, help="use only the first N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pause", type=float, default=0.5, help="seconds of rest between runs")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    p.add_argument(
        "--json",
        nargs="?",
        const="auto",
        default=None,
        metavar="PATH",
        help="write all results as JSON (without PATH: benchmarks/results/lenet_mnist-TIME.json)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2+5 steps, 5%% of an epoch once, 1 epoch on 5,000 images",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.warmup, args.steps, args.pause, args.rounds = 2, 5, 0.0, 1
        args.epoch_fraction, args.epoch_repeats = 0.05, 1
        args.epochs = 1
        args.train_images = args.train_images or 5000
        args.test_images = args.test_images or 2000
    for name in ("warmup", "steps", "epoch_repeats", "epochs"):
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')} must be >= 0")
    if args.steps > 0 and not 1 <= args.rounds <= args.steps:
        p.error("--rounds must lie between 1 and --steps")
    sizes = [*args.threads, *args.batch_sizes, args.epoch_batch_size, args.train_batch_size]
    if min(sizes) < 1:
        p.error("thread counts and batch sizes must be >= 1")
    if not args.lr > 0 or not args.lr_decay > 0:
        p.error("--lr and --lr-decay must be positive")
    if not 0 <= args.epoch_fraction <= 1:
        p.error("--epoch-fraction must lie in [0, 1]")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    start_all = time.perf_counter()

    def log(message: str) -> None:
        print(message, flush=True)

    torch, why_not = import_torch(args.no_torch)
    load_before = os.getloadavg()
    source = source_fingerprint()
    log(f"coursepkg {cp.__version__}, NumPy {np.__version__}, Python {platform.python_version()}")
    if torch is not None:
        log(f"PyTorch {torch.__version__}: timed side by side (NCHW and channels_last)")
    else:
        log(f"PyTorch {why_not}: reporting coursepkg only")
    log(
        f"coursepkg source: commit {source['commit']}"
        + (" + uncommitted changes in coursepkg/" if source["dirty"] else "")
        + f", sha256 of its .py files {source['coursepkg_sha256']}"
    )
    log(f"CPU cores: {os.cpu_count()}, load average before: {load_before[0]:.2f}")
    if load_before[0] > 0.5:
        log("WARNING: other processes are busy on this machine; timings will be noisy.")
    env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS") if k in os.environ}
    if env:
        log(f"thread environment variables: {env}")

    # Parts 1 and 2 use the whole training set; --train-images limits the training run only.
    X_train, X_test, y_train, y_test = cp.load_mnist(n_test=args.test_images)
    log(f"MNIST: {len(X_train):,} training and {len(X_test):,} test images")

    check = blas_check(args.threads)
    for line in describe_blas_check(check):
        log(line)

    if torch is not None:  # the two networks are the same function at the start
        ours = build_ours(args.seed)
        X0 = X_test[:64]
        diffs = []
        for cl in (False, True):
            with torch.no_grad():
                logits = build_torch(torch, ours, cl)(to_torch_images(torch, X0, cl)).numpy()
            diffs.append(float(np.abs(logits - ours(X0)).max()))
        log(f"same network check: max |logits ours - torch| = {max(diffs):.1e} (NCHW, ch_last)")

    steps = []
    if args.steps > 0:
        log("\nPart 1: time per training step")
        steps = bench_steps(args, torch, X_train, y_train, log)

    epochs = []
    if args.epoch_fraction > 0 and args.epoch_repeats > 0:
        log("\nPart 2: time per epoch")
        epochs = bench_epochs(args, torch, X_train, y_train, log)

    training, training_setup = [], {}
    if args.epochs > 0:
        threads = args.train_threads
        if threads is None:
            at_50 = [r for r in steps if r["batch_size"] == args.train_batch_size] or steps
            if at_50:
                threads = min(at_50, key=lambda r: r["coursepkg"]["median"])["threads"]
            else:
                threads = max(args.threads)
        X, y = X_train[: args.train_images], y_train[: args.train_images]
        training_setup = {"threads": threads, "train_images": len(X), "test_images": len(X_test)}
        log(f"\nPart 3: training {args.epochs} epoch(s) with {threads} thread(s)")
        training = train_for_accuracy(args, X, y, X_test, y_test, threads, log)

    result = {
        "args": vars(args),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "coursepkg": cp.__version__,
            "torch": None if torch is None else torch.__version__,
        },
        "coursepkg_source": source,
        "torch": torch is not None,
        "torch_missing_reason": why_not,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "thread_env": env,
        "blas_check": check,
        "steps": steps,
        "epochs": epochs,
        "training_setup": training_setup,
        "training": training,
        "total_seconds": time.perf_counter() - start_all,
    }
    log(format_report(result))
    log(f"load average after: {result['load_average_after'][0]:.2f}")
    if training and not args.quick:
        best = max(r["test_accuracy"] for r in training)
        verdict = "reached" if best >= 0.99 else "did NOT reach"
        log(f"Target 99.0% test accuracy: {verdict} (best {best:.2%}).")

    if args.json:
        if args.json == "auto":
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            path = RESULTS_DIR / f"lenet_mnist-{stamp}.json"
        else:
            path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2, default=str) + "\n")
        log(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
