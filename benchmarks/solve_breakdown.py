"""End-to-end time of `irel-alloc solve` on the base case, and where it goes.

    python benchmarks/solve_breakdown.py [--runs 5]

1. Wall time of the installed command, Python start-up and imports included (median of N).
2. The same pipeline in-process, stage by stage, each stage in a fresh interpreter so that
   import costs land where a user pays them: import, read, build, compile, solve,
   sensitivity (ranging + treaty re-solves), report, write.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "inputs" / "base_case.xlsx"

STAGES = r"""
import json, sys, time
t0 = time.perf_counter()
import optimizer
from optimizer import cli, run, writer
from optimizer.inputs import read_inputs
t1 = time.perf_counter()
inputs = read_inputs(sys.argv[1])
t2 = time.perf_counter()
result = run.solve(inputs)
t3 = time.perf_counter()
writer.write_results(result, sys.argv[2])
t4 = time.perf_counter()
tm = result.timings
print(json.dumps({"import": t1 - t0, "read": t2 - t1, "build": tm.build, "compile": tm.compile,
                  "solve": tm.solve, "sensitivity": tm.extra.get("sensitivity", 0.0),
                  "report": tm.report, "solve_total": t3 - t2, "write": t4 - t3,
                  "in_process_total": t4 - t0}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    command = shutil.which("irel-alloc") or str(Path(sys.executable).with_name("irel-alloc"))
    out = Path(tempfile.mkdtemp()) / "result.xlsx"
    walls = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([command, "solve", str(BASE), "-o", str(out)], check=True,
                       stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
    stages = []
    for _ in range(args.runs):
        text = subprocess.run([sys.executable, "-c", STAGES, str(BASE), str(out)], check=True,
                              capture_output=True, text=True).stdout
        stages.append(json.loads(text))
    print(f"irel-alloc solve (base case), wall time over {args.runs} runs: "
          f"median {statistics.median(walls):.3f} s, min {min(walls):.3f}, max {max(walls):.3f}")
    print("stage medians (s):")
    for key in stages[0]:
        print(f"  {key:17s} {statistics.median(s[key] for s in stages):.4f}")


if __name__ == "__main__":
    main()
