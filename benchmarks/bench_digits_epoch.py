"""One training epoch of the digits CNN, float32, as a ratio to the same model in PyTorch CPU.

Usage: python benchmarks/bench_digits_epoch.py [--repeats 5] [--digits 1000]

The model is ``convtheory.nn.experiments.digits_cnn`` (conv 1->8 3x3 pad 1,
ReLU, max pool 2, conv 8->16 3x3 pad 1, ReLU, global average pool, linear
16->10) on 16x16 translated digits.  One epoch is every minibatch of 32
digits: forward, cross-entropy, backward, Adam step.  Both sides start from
the same weights and see the same batches; they run in turns (interleaved),
and the medians of ``repeats`` epochs are compared at 1 and 2 threads (BLAS
through threadpoolctl, ``torch.set_num_threads``).  Target: ours <= 1.5x torch.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle threads of one side must not spin
os.environ.setdefault("KMP_BLOCKTIME", "0")

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
from convtheory.nn import Adam, CrossEntropyLoss, DataLoader  # noqa: E402
from convtheory.nn.datasets import translated_digits  # noqa: E402
from convtheory.nn.experiments import digits_cnn  # noqa: E402

TARGET = 1.5
BATCH = 32


def ours_epoch(x, y):
    net = digits_cnn(seed=0)
    opt = Adam(net.parameters(), lr=1e-3)
    loss_fn = CrossEntropyLoss()
    loader = DataLoader(x, y, batch_size=BATCH)

    def epoch():
        for xb, yb in loader:
            net.zero_grad()
            loss_fn(net(xb), yb)
            net.backward(loss_fn.backward())
            opt.step()

    return net, epoch


def torch_epoch(torch, net, x, y):
    ref = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.MaxPool2d(2), torch.nn.Conv2d(8, 16, 3, padding=1),
                              torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                              torch.nn.Linear(16, 10))
    with torch.no_grad():
        for mine, theirs in ((net[0], ref[0]), (net[3], ref[3]), (net[6], ref[7])):
            theirs.weight.copy_(torch.from_numpy(mine.weight.data))
            theirs.bias.copy_(torch.from_numpy(mine.bias.data))
    opt = torch.optim.Adam(ref.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    batches = [(torch.from_numpy(xb), torch.from_numpy(yb))
               for xb, yb in DataLoader(x, y, batch_size=BATCH)]

    def epoch():
        for xb, yb in batches:
            opt.zero_grad()
            loss_fn(ref(xb), yb).backward()
            opt.step()

    return epoch


def medians(fns, repeats):
    for fn in fns:  # warm-up: plans, buffers, threads
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in times]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--digits", type=int, default=1000)
    args = parser.parse_args(argv)
    import torch

    x, y = translated_digits(args.digits, seed=0)
    blas = ", ".join(f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
                     for i in threadpool_info())
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}; "
          f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}")
    print(f"BLAS: {blas}")
    print(f"one epoch: {args.digits} digits of 16x16 in batches of {BATCH}, float32; "
          f"medians of {args.repeats} interleaved epochs")
    print(f"{'threads':>7} {'ours ms':>9} {'torch ms':>9} {'ratio':>7}  target <= {TARGET}x")
    worst = 0.0
    for threads in (1, 2):
        torch.set_num_threads(threads)
        with threadpool_limits(threads):
            net, ours = ours_epoch(x, y)
            ref = torch_epoch(torch, net, x, y)
            t_ours, t_torch = medians([ours, ref], args.repeats)
        ratio = t_ours / t_torch
        worst = max(worst, ratio)
        print(f"{threads:>7} {1e3 * t_ours:9.1f} {1e3 * t_torch:9.1f} {ratio:7.2f}")
    print(f"worst ratio {worst:.2f}x: {'within' if worst <= TARGET else 'OVER'} the {TARGET}x target")


if __name__ == "__main__":
    main()
