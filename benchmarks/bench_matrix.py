"""Speed of the explicit matrix and of the matrix-free operator, as ratios in one run.

    python benchmarks/bench_matrix.py [--repeat 7]

Part 1 builds the 16->32-channel, 3x3, 128x128 conv matrix (74.7 M nonzeros)
three ways, in the same process:

* ``conv_matrix``: convtheory's builder (CSR written directly in row order);
* a straightforward direct-CSR builder written out below, the reference;
* a COO -> ``tocsr`` build, the usual first attempt.

and reports median times, nnz/s, the ratio to the reference, and peak
memory (tracemalloc, which numpy reports its buffers to) relative to the
CSR's own bytes.  The first build of a size touches fresh pages, so every
builder is warmed up once before timing.

Part 2 applies ``conv_operator`` to the 64->64, 3x3, 56x56 layer and compares
matvec and rmatvec with PyTorch's CPU conv2d and its input gradient (float64,
2 threads).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

# Both sides are timed round-robin in one process.  With the OpenMP defaults,
# torch's idle threads keep spinning after each call (Intel OpenMP: for
# KMP_BLOCKTIME = 200 ms) and steal the cores from the next BLAS call (and
# BLAS's from torch): on a 2-core machine this made both sides 3-5x slower
# and the ratio meaningless.  Idle threads sleep at once instead; set these
# variables yourself to override.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("KMP_BLOCKTIME", "0")

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse as sp  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from convtheory import conv_matrix, conv_operator  # noqa: E402


# --------------------------------------------------------------------------
# The reference builders: a zero-padded, stride-1 2-D conv, written plainly.
# --------------------------------------------------------------------------
def _pattern(c_in, n, k, pad):
    """Columns and weight indices of one output channel's rows, in CSR order."""
    h, w = n
    kh, kw = k
    oh, ow = h + 2 * pad - kh + 1, w + 2 * pad - kw + 1
    oy, ox = np.meshgrid(np.arange(oh), np.arange(ow), indexing="ij")
    a, b = np.meshgrid(np.arange(kh), np.arange(kw), indexing="ij")
    iy = oy.reshape(-1, 1) + a.reshape(1, -1) - pad           # (P, K)
    ix = ox.reshape(-1, 1) + b.reshape(1, -1) - pad
    valid = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)      # (P, K)
    kernel = np.arange(kh * kw)
    # Rows are (output position), entries (input channel, kernel position).
    cols = (np.arange(c_in)[None, :, None] * h * w + (iy * w + ix)[:, None, :])
    widx = np.arange(c_in)[None, :, None] * kh * kw + kernel[None, None, :]
    mask = np.broadcast_to(valid[:, None, :], cols.shape)
    cols = cols[mask]
    widx = np.broadcast_to(widx, mask.shape)[mask]
    row_nnz = mask.reshape(len(valid), -1).sum(axis=1)
    return cols.astype(np.int32), widx, row_nnz, (oh, ow)


def reference_direct_csr(weight, input_shape, pad):
    """Direct CSR: indptr from row counts, indices tiled, data gathered at once."""
    c_out, c_in = weight.shape[:2]
    cols, widx, row_nnz, out = _pattern(c_in, input_shape[1:], weight.shape[2:], pad)
    n_rows = c_out * out[0] * out[1]
    indptr = np.zeros(n_rows + 1, dtype=np.int32)
    np.cumsum(np.tile(row_nnz, c_out), out=indptr[1:])
    indices = np.tile(cols, c_out)
    data = np.take(weight.reshape(c_out, -1), widx, axis=1).ravel()
    return sp.csr_array((data, indices, indptr), shape=(n_rows, int(np.prod(input_shape))),
                        copy=False)


def reference_coo(weight, input_shape, pad):
    """COO triples, then scipy's tocsr (which sorts and sums duplicates)."""
    c_out, c_in = weight.shape[:2]
    cols, widx, row_nnz, out = _pattern(c_in, input_shape[1:], weight.shape[2:], pad)
    n_out = out[0] * out[1]
    rows = np.repeat(np.arange(n_out, dtype=np.int32), row_nnz)
    co = np.arange(c_out, dtype=np.int32)[:, None]
    r = (co * n_out + rows[None, :]).ravel()
    c = np.tile(cols, c_out)
    data = np.take(weight.reshape(c_out, -1), widx, axis=1).ravel()
    return sp.coo_array((data, (r, c)), shape=(c_out * n_out, int(np.prod(input_shape)))).tocsr()


# --------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------
def median_seconds(fns, repeat):
    """Median time of each callable, run round-robin so that a change in
    machine load affects all of them alike."""
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            t = time.perf_counter()
            result = fn()
            times[name].append(time.perf_counter() - t)
            del result
    return {name: statistics.median(ts) for name, ts in times.items()}


def peak_bytes(fn):
    gc.collect()
    tracemalloc.start()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak


def csr_bytes(M):
    return M.data.nbytes + M.indices.nbytes + M.indptr.nbytes


def bench_matrix(repeat):
    rng = np.random.default_rng(128)
    weight = rng.standard_normal((32, 16, 3, 3))
    shape = (16, 128, 128)
    builders = {
        "conv_matrix": lambda: conv_matrix(weight, shape, padding=1),
        "reference direct CSR": lambda: reference_direct_csr(weight, shape, 1),
        "COO -> tocsr": lambda: reference_coo(weight, shape, 1),
    }
    # Warm-up, and a check that all three build the same matrix.
    M = builders["conv_matrix"]()
    for name in ("reference direct CSR", "COO -> tocsr"):
        R = builders[name]()
        assert R.shape == M.shape and R.nnz == M.nnz, name
        assert np.array_equal(R.indptr, M.indptr) and np.array_equal(R.indices, M.indices), name
        assert np.array_equal(R.data, M.data), name
        del R
    nnz, own = M.nnz, csr_bytes(M)
    del M
    fast = {name: fn for name, fn in builders.items() if not name.startswith("COO")}
    medians = median_seconds(fast, repeat)
    medians.update(median_seconds({"COO -> tocsr": builders["COO -> tocsr"]}, max(3, repeat // 2)))
    rows = {name: (medians[name], peak_bytes(fn)) for name, fn in builders.items()}
    ref = rows["reference direct CSR"][0]
    print(f"\nconv_matrix: 16->32 channels, 3x3, 128x128, padding=1: "
          f"{nnz / 1e6:.1f} M nnz, CSR {own / 2**20:.0f} MiB (median of {repeat})")
    print(f"{'builder':<22} {'median s':>9} {'M nnz/s':>9} {'vs reference':>13} {'peak / CSR':>11}")
    for name, (med, peak) in rows.items():
        print(f"{name:<22} {med:>9.3f} {nnz / med / 1e6:>9.0f} {med / ref:>12.2f}x "
              f"{peak / own:>10.2f}x")
    ratio, peak = rows["conv_matrix"][0] / ref, rows["conv_matrix"][1] / own
    print(f"targets: conv_matrix <= 1.5x the reference ({'met' if ratio <= 1.5 else 'MISSED'}), "
          f"peak <= 1.3x the CSR's bytes ({'met' if peak <= 1.3 else 'MISSED'})")
    return rows


def bench_operator(repeat):
    try:
        import torch
    except ImportError:
        print("\nconv_operator: torch is not importable; skipped")
        return None
    torch.set_num_threads(2)
    rng = np.random.default_rng(56)
    weight = rng.standard_normal((64, 64, 3, 3))
    shape = (64, 56, 56)
    A = conv_operator(weight, shape, padding=1)
    x = rng.standard_normal(A.shape[1])
    g = rng.standard_normal(A.shape[0])
    tw = torch.from_numpy(weight)
    tx = torch.from_numpy(x.reshape((1,) + shape))
    tg = torch.from_numpy(g.reshape((1, 64, 56, 56)))
    F = torch.nn.functional

    def torch_grad():
        return torch.nn.grad.conv2d_input(tx.shape, tw, tg, padding=1)

    with torch.no_grad():
        assert np.allclose(A @ x, F.conv2d(tx, tw, padding=1).numpy().ravel(), atol=1e-9)
        assert np.allclose(A.rmatvec(g), torch_grad().numpy().ravel(), atol=1e-9)
        cases = {
            "matvec": (lambda: A.matvec(x), lambda: F.conv2d(tx, tw, padding=1)),
            "rmatvec": (lambda: A.rmatvec(g), torch_grad),
        }
        for ours, theirs in cases.values():  # warm-up
            ours(), theirs()
        print(f"\nconv_operator: 64->64 channels, 3x3, 56x56, padding=1 "
              f"({A.shape[0]} x {A.shape[1]}, {64 * 64 * 9 * 56 * 56 / 1e6:.0f} M virtual nnz), "
              f"float64, torch {torch.__version__} on {torch.get_num_threads()} threads "
              f"(median of {repeat})")
        print(f"{'op':<9} {'conv_operator ms':>17} {'torch ms':>9} {'ratio':>7}")
        out = {}
        for name, (ours, theirs) in cases.items():
            m = median_seconds({"ours": ours, "torch": theirs}, repeat)
            a, b = out[name] = (m["ours"], m["torch"])
            print(f"{name:<9} {a * 1e3:>17.1f} {b * 1e3:>9.1f} {a / b:>6.2f}x")
    return out


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case (median)")
    parser.add_argument("--only", choices=("matrix", "operator"), default=None)
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}; "
          f"{cpu_model()}, {os.cpu_count()} cores; {platform.platform()}; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
          f"KMP_BLOCKTIME={os.environ.get('KMP_BLOCKTIME')}")
    if args.only in (None, "matrix"):
        bench_matrix(args.repeat)
    if args.only in (None, "operator"):
        bench_operator(args.repeat)


if __name__ == "__main__":
    main()
