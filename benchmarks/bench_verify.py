"""Wall time of ``convtheory verify --quick``, and what dominates it.

Run: ``python benchmarks/bench_verify.py [--repeat 5]``.  Each run is the real
command in a fresh interpreter (as a user runs it), writing into a temporary
directory; runs at 1 and 2 BLAS threads are interleaved and their medians
reported, next to the reference cost of starting Python and importing
convtheory in the same way.  The per-claim times come from each run's
``verification.json`` (medians over runs), summed by section.  The budget is
30 s on 2 cores; the script exits 1 when the median exceeds it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BUDGET_SECONDS = 30.0
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _env(threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.update({name: str(threads) for name in _THREAD_VARIABLES})
    return env


def _timed(command, threads) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, env=_env(threads), cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _blas() -> str:
    from threadpoolctl import threadpool_info

    return "; ".join(f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads, "
                     f"{p.get('architecture', '?')})" for p in threadpool_info()) or "none found"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"BLAS: {_blas()}")
    startup = [sys.executable, "-c", "import convtheory.cli"]
    walls = {1: [], 2: []}
    baseline = {1: [], 2: []}
    claims = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            for threads in (1, 2):  # interleaved, so machine load hits both alike
                baseline[threads].append(_timed(startup, threads))
                out = Path(tmp) / f"r{i}-{threads}"
                walls[threads].append(_timed([sys.executable, "-m", "convtheory", "verify",
                                              "--quick", "--out", str(out)], threads))
                data = json.loads((out / "verification.json").read_text())
                for claim in data["claims"]:
                    claims[claim["id"]].append(claim["seconds"])
    print(f"\n{'BLAS threads':<14}{'verify --quick median [s]':>27}{'min':>8}{'max':>8}"
          f"{'import only [s]':>17}")
    for threads in (1, 2):
        w = np.array(walls[threads])
        print(f"{threads:<14}{np.median(w):>27.1f}{w.min():>8.1f}{w.max():>8.1f}"
              f"{np.median(baseline[threads]):>17.2f}")
    per_claim = {cid: float(np.median(t)) for cid, t in claims.items()}
    per_section = defaultdict(float)
    for cid, seconds in per_claim.items():
        per_section[cid.split(".")[0]] += seconds
    total = sum(per_claim.values())
    print(f"\nwhere the time goes (median per claim, both thread counts; claims sum to "
          f"{total:.1f} s):")
    for section, seconds in sorted(per_section.items(), key=lambda kv: -kv[1]):
        print(f"  {section:<14}{seconds:>7.1f} s  {100 * seconds / total:5.1f}%")
    print("slowest claims:")
    for cid, seconds in sorted(per_claim.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {cid:<42}{seconds:>7.2f} s")
    worst = max(np.median(walls[t]) for t in (1, 2))
    verdict = "within" if worst <= BUDGET_SECONDS else "OVER"
    print(f"\nbudget: median {worst:.1f} s, {verdict} the {BUDGET_SECONDS:.0f} s budget")
    return 0 if worst <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
