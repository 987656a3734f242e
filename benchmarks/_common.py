"""What every benchmark shares: thread setup, the machine header, interleaved medians.

Each script measures ratios in one process: both sides run in turns
(round-robin), so load from other processes hits them alike, and the median of
``repeats`` turns is reported with the range of the per-turn ratios.  Threads
are limited with threadpoolctl (BLAS) and ``torch.set_num_threads``.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Both sides are timed round-robin on a 2-core machine: idle OpenMP threads must
# sleep at once, or one side's spinning threads slow the other.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("KMP_BLOCKTIME", "0")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout


def cpu_name() -> str:
    """The CPU model as ``lscpu`` (or /proc/cpuinfo) names it."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def header(threads: int, repeats: int) -> None:
    """Print the CPU, the BLAS libraries threadpoolctl sees and the thread counts."""
    import numpy as np
    import scipy
    from threadpoolctl import threadpool_info
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; python {platform.python_version()}, "
          f"numpy {np.__version__}, scipy {scipy.__version__}")
    for lib in threadpool_info():
        print(f"  {lib.get('internal_api')} {lib.get('version')} ({lib.get('user_api')}), "
              f"threads limited to {threads}")
    print(f"threads: {threads}; medians of {repeats} interleaved turns")


def interleaved(fns, repeats: int) -> list:
    """Per-turn times of each function, run round-robin after one warm-up call each."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return times


def ratio_stats(ours, ref) -> tuple:
    """(median ratio, min, max) of per-turn ratios ours/ref."""
    ratios = [a / b for a, b in zip(ours, ref)]
    return statistics.median(ratios), min(ratios), max(ratios)


def best_ratio(ours, ref) -> float:
    """min(ours) / min(ref): on a machine shared with other jobs, a turn that was
    preempted is slow by a time slice (tens of ms), so the fastest turn of each
    side is the best estimate of its own cost.  Printed beside the median."""
    return min(ours) / min(ref)


def median(ts) -> float:
    return statistics.median(ts)
