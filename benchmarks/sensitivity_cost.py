"""Cost of the sensitivity report and of explaining an infeasibility, on the base case.

    python benchmarks/sensitivity_cost.py [--runs 7]

Side by side in one process (after a warm-up solve, so imports are not counted):
solve with and without the sensitivity report (ranging + treaty release re-solves), and
the strict solve of `conserve_ndpr` with its explanation (IIS per conflict, elastic repair,
pre-solve checks).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from optimizer.changes import apply_scenario
from optimizer.inputs import read_inputs
from optimizer.run import solve

BASE = Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx"


def _median(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    inputs = read_inputs(BASE)
    conserve, _ = apply_scenario(inputs, "conserve_ndpr")
    solve(inputs)  # warm-up: imports and first-use costs
    plain, _ = _median(lambda: solve(inputs, sensitivity=False), runs)
    full, result = _median(lambda: solve(inputs, sensitivity=True), runs)
    explain, infeasible = _median(lambda: solve(conserve, strict=True, sensitivity=False), runs)
    hs = result.timings
    print(f"base case, median of {runs} (s):")
    print(f"  solve without sensitivity  {plain:.4f}")
    print(f"  solve with sensitivity     {full:.4f}  (x{full / plain:.2f}; ranging + treaty "
          f"re-solves {hs.extra.get('sensitivity', 0):.4f}, HiGHS solve {hs.solve:.4f})")
    print(f"  conserve_ndpr strict + explanation  {explain:.4f}  (x{explain / plain:.2f}); "
          f"status {infeasible.status}, "
          f"{infeasible.explanation.count(chr(10)) + 1} lines of explanation")


if __name__ == "__main__":
    main()
