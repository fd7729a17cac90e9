"""What a hedged plan costs: `hedge` against solving its scenarios one by one.

    .venv/bin/python benchmarks/hedge_cost.py [INPUT] [--repeat 5] [--decide-through PERIOD]

Both sides run in one warm process (imports and the first HiGHS start are paid before timing):

- one by one: ``optimizer.solve(inputs, scenario=s)`` for every scenario s of the uncertainty
  sheet (``base`` = no scenario), the full solve of ``irel-alloc solve --scenario s`` without
  writing the workbook;
- hedge: ``optimizer.hedge(inputs)``: every scenario alone (wait-and-see), the extensive form
  (mpi-sppy, appsi_highs), the mean-value plan, the base plan and every scenario re-solved with
  the shared decisions fixed, and the report tables; without writing the workbook.

With ``--cli`` the same comparison runs as a planner would: one ``irel-alloc hedge`` process
against one ``irel-alloc solve [--scenario s]`` process per scenario, workbooks written, imports
included (``python -m optimizer``; mpi-sppy and, where installed, MPI start-up count for hedge).

Prints the median of ``--repeat`` runs of each side and their ratio (the target is at most 3).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", nargs="?", default=str(REPO / "inputs" / "base_case.xlsx"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--decide-through", help="override settings.decide_through")
    parser.add_argument("--cli", action="store_true", help="time the commands, one process each")
    args = parser.parse_args(argv)

    import optimizer
    from optimizer.hedging import read_uncertainty

    inputs = optimizer.read_inputs(args.input)
    if args.decide_through:
        inputs = type(inputs)(inputs.frames, {**inputs.settings, "decide_through": args.decide_through},
                              inputs.source, inputs.letters, inputs.sha256, inputs.path)
    names = read_uncertainty(inputs).scenarios

    if args.cli and args.decide_through:
        parser.error("--decide-through works in one process only; put it on the settings sheet")
    out = Path(tempfile.mkdtemp(prefix="hedge-cost-"))

    def run(*command: str) -> None:
        subprocess.run([sys.executable, "-m", "optimizer", *command], check=True, cwd=REPO,
                       stdout=subprocess.DEVNULL)

    def one_by_one() -> None:
        for name in names:
            if args.cli:
                run("solve", args.input, "-o", str(out / f"{name}.xlsx"),
                    *(() if name == "base" else ("--scenario", name)))
            else:
                optimizer.solve(inputs, scenario=None if name == "base" else name)

    def hedged() -> None:
        if args.cli:
            run("hedge", args.input, "-o", str(out / "hedge.xlsx"))
        else:
            optimizer.hedge(inputs)

    one_by_one(), hedged()  # warm: imports, first HiGHS, mpi-sppy
    solo, hedge = [], []
    for _ in range(args.repeat):
        solo.append(_timed(one_by_one))
        hedge.append(_timed(hedged))
    a, b = statistics.median(solo), statistics.median(hedge)
    print(f"input: {Path(args.input).name}; scenarios: {', '.join(names)}; "
          f"decide_through: {read_uncertainty(inputs).decide_through}; median of {args.repeat}"
          f"{'; commands, one process each' if args.cli else '; library calls, one warm process'}")
    print(f"{'':<34}{'seconds':>10}")
    print(f"{'solve each scenario, one by one':<34}{a:>10.3f}")
    print(f"{'hedge':<34}{b:>10.3f}")
    print(f"{'ratio hedge / one by one':<34}{b / a:>10.2f}")
    print("runs (one by one): " + ", ".join(f"{t:.3f}" for t in solo))
    print("runs (hedge):      " + ", ".join(f"{t:.3f}" for t in hedge))
    return 0


if __name__ == "__main__":
    sys.exit(main())
