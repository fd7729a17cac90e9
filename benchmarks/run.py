"""Side-by-side benchmark of irel-alloc against raw highspy (the physical limit).

Measured in one run, so that ratios compare like with like on this noisy machine:

(b) build + first solve: raw (Params -> numpy CSC -> passModel -> run -> read solution) vs
    the product (build_model + compile_lp + new_highs + run_highs), and the product's sweep
    set-up (SweepEngine + Worker), interleaved, median of N runs;
(a) sweep cost per scenario: raw hot start (change the same row bounds and costs, re-solve
    from the base basis, read col_value/row_dual, KPIs with numpy) vs the product's
    run_scenarios on the same scenario list (a TREI minimum sweep crossed with an NdPr price
    scale), per scenario net of run_scenarios' fixed cost;
(c) the 1,000-scenario CLI sweep of the base case with 2 workers, end to end;
(d) marginal throughput of 2 workers vs 1 on a 5,000-scenario sweep (5,000 minus 500);
(e) peak memory (max RSS of a child process) of the large instance, product path.

Usage: see benchmarks/README.md. Writes benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

TREATY_PATH = "demand.min_t[customer=X_TREI]"
PRICE_PATH = "demand.price[product=NdPr, customer!=D_STRAT]"
CLI_ARGS = ["sweep", "inputs/base_case.xlsx", "--set", f"{TREATY_PATH}=0:2300:40",
            "--scale", f"{PRICE_PATH}=0.7:1.3:25", "--workers", "2"]
TARGETS = {"a": 3.0, "b": 2.5, "c": 3.0, "d": 1.7, "e": 4.0}
"""(c) is the CLI sweep's wall time over raw re-solves of the same 1,000 changes (issue 7)."""
GiB = 1024 ** 3


# --- small helpers ---------------------------------------------------------------------

def hush_banner() -> None:
    """Create the first Highs with fd 1 closed: HiGHS prints its banner only once."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def spread(xs, fmt="{:.3g}") -> str:
    return f"{fmt.format(min(xs))}–{fmt.format(max(xs))}" if xs else "–"


def machine() -> dict:
    from importlib.metadata import version

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 ** 2:.1f} GiB"
    except OSError:
        pass
    try:
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    except OSError:
        nproc = str(os.cpu_count())
    out = {"nproc": nproc, "cpu": cpu, "memory": mem,
           "os": f"{platform.system()} {platform.release()}",
           "python": platform.python_version()}
    for pkg in ("highspy", "pyomo", "numpy", "scipy", "pandas", "openpyxl"):
        try:
            out[pkg] = version(pkg)
        except Exception:  # pragma: no cover
            out[pkg] = "?"
    try:
        out["load"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        pass
    try:
        git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True,  # noqa
                                        text=True).stdout.strip()
        out["git"] = git("rev-parse", "--short", "HEAD")
        out["dirty"] = " ".join(ln.split()[-1] for ln in git("status", "--short",
                                                              "optimizer").splitlines())
    except OSError:
        pass
    return out


def load_instance(name: str, seed: int = 0):
    """(inputs, seconds to make frames + validate + derive Params)."""
    from generate import make_inputs

    import optimizer

    t0 = time.perf_counter()
    inputs = optimizer.read_inputs(ROOT / "inputs" / "base_case.xlsx") if name == "base" \
        else make_inputs(name, seed)
    inputs.params  # noqa: B018 - derived once, shared by both sides (not timed)
    return inputs, time.perf_counter() - t0


# --- (b) build + first solve -----------------------------------------------------------

def memory() -> dict:
    """This process's current and peak resident set (VmRSS, VmHWM), in bytes.

    Read from /proc/self/status: unlike ``ru_maxrss`` of a child (``wait4``,
    ``RUSAGE_CHILDREN``), VmHWM is the high-water mark of this process's own address space,
    not polluted by the RSS of the parent it was forked from.
    """
    out = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line[2:5].lower()] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return out


def product_build_solve(inputs, variant: str = "product", probe=None) -> dict:
    """The product's build + first solve.

    ``variant="product"``: the product's own path, ``optimizer.model.build_lp`` (build and
    compile with the cyclic garbage collector paused, the Pyomo model dropped once
    compiled) + ``new_highs`` + ``run_highs``; on an older tree without ``build_lp``,
    ``build_model`` + ``compile_lp``. ``variant="nopause"`` (diagnostic): ``build_model`` +
    ``compile_lp`` with the collector running and the model alive through the solve, i.e.
    the path before ``build_lp``. ``probe(stage)``, if given, is called after each stage
    (memory readings); its time is not counted.
    """
    from optimizer import model as om
    from optimizer.highs import compile_lp, new_highs, run_highs

    probe = probe or (lambda stage: None)
    model = None
    if variant == "product" and hasattr(om, "build_lp"):
        class Split:
            build = compile = 0.0

        split = Split()
        t = time.perf_counter()
        lp = om.build_lp(inputs, timings=split)
        whole = time.perf_counter() - t
        d_build, d_compile = split.build, whole - split.build
        probe("compile")
    else:
        t = time.perf_counter()
        model = om.build_model(inputs)
        d_build = time.perf_counter() - t
        probe("build")
        t = time.perf_counter()
        lp = compile_lp(model)
        d_compile = time.perf_counter() - t
        probe("compile")
    t = time.perf_counter()
    h = new_highs(lp)
    d_pass = time.perf_counter() - t
    probe("pass")
    t = time.perf_counter()
    sol = run_highs(h)
    d_run = time.perf_counter() - t
    probe("solve")
    del model
    t0, t1, t2, t3 = 0.0, d_build, d_build + d_compile, d_build + d_compile + d_pass
    t4 = t3 + d_run
    return {"build": t1 - t0, "compile": t2 - t1, "pass": t3 - t2, "solve": sol.seconds,
            "extract": t4 - t3 - sol.seconds, "total": t4 - t0, "objective": sol.objective,
            "status": sol.status, "iterations": sol.iterations,
            "shape": (len(lp.row_lower), len(lp.c), int(lp.A.nnz))}


def product_engine(inputs) -> dict:
    from optimizer.sweeps import SweepEngine, Worker

    t0 = time.perf_counter()
    engine = SweepEngine(inputs)
    t1 = time.perf_counter()
    worker = Worker(engine)
    t2 = time.perf_counter()
    return {"engine": t1 - t0, "worker": t2 - t1, "total": t2 - t0,
            "objective": worker.base.objective}


def raw_build_solve(inputs, probe=None) -> dict:
    from raw_highspy import build_and_solve

    r = build_and_solve(inputs.params, strict=inputs.strict, probe=probe)
    r["shape"] = (r["lp"].num_row, r["lp"].num_col, r["lp"].nnz)
    for k in ("lp", "h", "x", "dual"):
        r.pop(k)
    return r


def check_same_lp(inputs) -> dict:
    """The raw LP equals the product's, entry by entry, in the same order (not timed)."""
    from raw_highspy import build_lp

    from optimizer.highs import compile_lp
    from optimizer.model import build_model

    raw = build_lp(inputs.params, strict=inputs.strict)
    prod = compile_lp(build_model(inputs))
    same_keys = raw.col_keys() == prod.col_keys and raw.row_keys() == prod.row_keys
    out = {"same_order": same_keys, "shape_raw": raw.A.shape, "shape_product": prod.A.shape}
    if same_keys:
        out["max_abs_dA"] = float(abs(raw.A - prod.A).max()) if raw.nnz else 0.0
        out["max_abs_dc"] = float(np.abs(raw.c - prod.c).max())
        out["max_abs_c"] = float(np.abs(prod.c).max()) if prod.c.size else 0.0
        out["same_bounds"] = bool(np.array_equal(raw.row_lower, prod.row_lower)
                                  and np.array_equal(raw.row_upper, prod.row_upper))
    return out


def _same_lp_verdict(chk: dict) -> str:
    """Say whether the two LPs are the same; objective sums may differ in the last bits.

    The product adds an objective's parts column by column (price and policy value
    separately), the raw side multiplies their sum, so c can differ by rounding only.
    """
    if not chk:
        return "not checked"
    exact = (chk.get("same_order") and chk.get("max_abs_dA") == 0 and chk.get("same_bounds"))
    if not exact:
        return f"NO: {chk}"
    dc, scale = chk.get("max_abs_dc", 0.0), max(chk.get("max_abs_c", 0.0), 1.0)
    if dc == 0:
        return "yes (same order, A/c/bounds identical)"
    if dc <= 1e-12 * scale:
        return f"yes (same order, A/bounds identical, c equal to {dc:.1e} of {scale:.1e}: rounding)"
    return f"NO: {chk}"


def bench_build(inputs, runs: int, log) -> dict:
    raw_build_solve(inputs)  # warm-up: imports, first-call caches
    product_build_solve(inputs)
    product_engine(inputs)
    raw, prod, eng, nogc = [], [], [], []
    for i in range(runs):
        for fn, acc in ((raw_build_solve, raw), (product_build_solve, prod),
                        (product_engine, eng),
                        (lambda x: product_build_solve(x, variant="nopause"), nogc)):
            gc.collect()
            acc.append(fn(inputs))
        log(f"    run {i + 1}/{runs}: raw {raw[-1]['total']:.3f} s, product "
            f"{prod[-1]['total']:.3f} s, engine+worker {eng[-1]['total']:.3f} s, Pyomo path "
            f"without GC pause {nogc[-1]['total']:.3f} s")
    rel = abs(raw[0]["objective"] - prod[0]["objective"]) / max(1.0, abs(prod[0]["objective"]))
    return {"raw": raw, "product": prod, "engine": eng, "nogc": nogc,
            "objective_rel_diff": rel,
            "objective": prod[0]["objective"], "iterations": (raw[0]["iterations"],
                                                              prod[0]["iterations"])}


# --- (a) sweep per scenario ------------------------------------------------------------

def sweep_lists(inputs, n_min: int, n_scale: int):
    """The product's Scenario list and the raw (treaty_min, factor) pairs, same order."""
    from optimizer.sweeps import grid

    P = inputs.params
    trei = [d for d in P.DEMAND if d[0] == "X_TREI"]
    top = min(P.max_t.get(d, float("inf")) for d in trei)
    top = 2500.0 if not np.isfinite(top) else top
    mins = [float(v) for v in np.linspace(0.0, top, n_min)]
    scales = [float(v) for v in np.linspace(0.7, 1.3, n_scale)]
    scenarios = grid([(TREATY_PATH, "set", mins), (PRICE_PATH, "scale", scales)])
    pairs = [(m, s) for m in mins for s in scales]
    return scenarios, pairs


def product_chunk() -> int | None:
    """Scenarios per chunk in the product's sweep (each chunk starts from the base basis)."""
    from optimizer import sweeps

    return getattr(sweeps, "CHUNK", None)


def bench_sweep(inputs, runs: int, n_min: int, n_scale: int, log) -> dict:
    from raw_highspy import RawSweep, build_lp, new_highs

    from optimizer.sweeps import SweepEngine, run_scenarios

    scenarios, pairs = sweep_lists(inputs, n_min, n_scale)
    n = len(pairs)
    chunk = product_chunk() or 1  # the product's protocol; 1 = always from the base basis
    engine = SweepEngine(inputs)
    lp = build_lp(inputs.params, strict=inputs.strict)
    h = new_highs(lp)
    h.run()
    raw = RawSweep(inputs.params, lp, h)

    # warm-up and cross-check: same objective, same iterations, same KPIs
    frame = run_scenarios(inputs, scenarios, engine=engine)
    rows = raw.run(pairs, chunk)
    prod_rows = frame.iloc[1:].to_dict("records")
    obj_rel = max(abs(a["objective"] - b["objective"]) / max(1.0, abs(b["objective"]))
                  for a, b in zip(rows, prod_rows))
    kpi_rel = max(abs(a[k] - b[k]) / max(1.0, abs(b[k])) for a, b in zip(rows, prod_rows)
                  for k in ("revenue_pv", "policy_value_pv", "penalties_pv"))
    same_iter = sum(a["iterations"] == b["iterations"] for a, b in zip(rows, prod_rows))
    same_binding = sum(a["binding"] == b["binding"] for a, b in zip(rows, prod_rows))
    iters = [r["iterations"] for r in rows]
    iters_every = [r["iterations"] for r in raw.run(pairs, 1)]

    t = {"fixed": [], "product_total": [], "raw": [], "raw_every": [], "raw_chained": []}
    variants = (("raw", chunk), ("raw_every", 1), ("raw_chained", n))
    for i in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        run_scenarios(inputs, [], engine=engine)
        t["fixed"].append(time.perf_counter() - t0)
        gc.collect()
        t0 = time.perf_counter()
        run_scenarios(inputs, scenarios, engine=engine)
        t["product_total"].append(time.perf_counter() - t0)
        for key, ch in variants:
            gc.collect()
            t0 = time.perf_counter()
            raw.run(pairs, ch)
            t[key].append(time.perf_counter() - t0)
        log(f"    run {i + 1}/{runs}: product "
            f"{(t['product_total'][-1] - t['fixed'][-1]) / n * 1e3:.3f} ms/scenario "
            f"(+{t['fixed'][-1]:.3f} s fixed), raw {t['raw'][-1] / n * 1e3:.3f}, raw from "
            f"base every scenario {t['raw_every'][-1] / n * 1e3:.3f}, raw fully chained "
            f"{t['raw_chained'][-1] / n * 1e3:.3f}")
    return {"n": n, "chunk": chunk, "fixed": t["fixed"], "product_total": t["product_total"],
            "product": [(a - b) / n for a, b in zip(t["product_total"], t["fixed"])],
            "product_all_in": [x / n for x in t["product_total"]],
            "raw": [x / n for x in t["raw"]], "raw_every": [x / n for x in t["raw_every"]],
            "raw_chained": [x / n for x in t["raw_chained"]],
            "obj_rel": obj_rel, "kpi_rel": kpi_rel, "same_iterations": same_iter,
            "same_binding": same_binding, "iterations_median": med(iters),
            "iterations_max": max(iters), "iterations_total": sum(iters),
            "iterations_every_total": sum(iters_every)}


# --- (c) CLI sweep, (d) worker scaling ------------------------------------------------

def cli_exe() -> list[str]:
    exe = Path(sys.executable).parent / "irel-alloc"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "optimizer"]


def timed_child(cmd: list[str], timeout: float | None = None, cwd=ROOT,
                env: dict[str, str] | None = None) -> dict:
    """Run ``cmd``; wall time, exit code, stdout and max RSS of that child (os.wait4).

    ``env`` adds to (or overrides) this process's environment, less CI."""
    out = tempfile.TemporaryFile()
    env = {k: v for k, v in os.environ.items() if k != "CI"} | (env or {})
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = None if timeout is None else t0 + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline and time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.01)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read().decode(errors="replace")
    return {"wall": wall, "rc": proc.returncode, "out": text,
            "maxrss": usage.ru_maxrss * 1024, "timed_out": bool(deadline and wall > timeout)}


def cli_raw_sweep():
    """Raw highspy re-solves of the CLI sweep's 1,000 changes, with the product's protocol
    (each chunk from the base basis): a function that runs them all once."""
    from raw_highspy import RawSweep, build_lp, new_highs

    import optimizer

    inputs = optimizer.read_inputs(ROOT / "inputs" / "base_case.xlsx")
    _, pairs = sweep_lists(inputs, 40, 25)  # = the CLI's 0:2300:40 x 0.7:1.3:25
    lp = build_lp(inputs.params, strict=inputs.strict)
    h = new_highs(lp)
    h.run()
    raw = RawSweep(inputs.params, lp, h)
    chunk = product_chunk() or 1
    return lambda: raw.run(pairs, chunk)


SWEEP_IMPORTS = "import optimizer.cli, optimizer.sweep_cli, optimizer.sweeps, optimizer.writer, highspy"
"""What a CLI sweep imports before it reads the workbook (pandas, numpy, XlsxWriter come with)."""


def compile_package() -> None:
    """Write the package's bytecode, as ``pip install`` (not editable) or a first run does.

    Without it, a machine that sets PYTHONDONTWRITEBYTECODE=1 (this one does) compiles every
    module of the package again in every CLI process; the report shows what that costs.
    """
    import compileall

    compileall.compile_dir(str(ROOT / "optimizer"), quiet=1)


def bench_cli(runs: int, log) -> dict:
    w2, w1, raw = [], [], []
    compile_package()
    resolve = cli_raw_sweep()
    resolve()  # warm-up
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            for workers, acc in (("2", w2), ("1", w1)):
                args = list(CLI_ARGS)
                args[args.index("--workers") + 1] = workers
                r = timed_child(cli_exe() + args + ["-o", f"{tmp}/x{workers}.xlsx"])
                ok = r["rc"] == 0 and "1001 optimal" in r["out"] and \
                    Path(f"{tmp}/x{workers}.xlsx").exists()
                if not ok:
                    raise RuntimeError(f"CLI sweep failed (rc {r['rc']}):\n{r['out']}")
                acc.append(r["wall"])
            gc.collect()
            t0 = time.perf_counter()
            resolve()
            raw.append(time.perf_counter() - t0)
            log(f"    run {i + 1}/{runs}: 2 workers {w2[-1]:.2f} s, 1 worker {w1[-1]:.2f} s, "
                f"raw re-solves {raw[-1]:.3f} s: {w2[-1] / raw[-1]:.2f}x")
        # where the time goes (medians of 3 children, then one in-process run)
        def child(*flags: str) -> float:
            return statistics.median(timed_child([sys.executable, *flags])["wall"]
                                     for _ in range(3))

        bare = child("-c", "pass")
        imp = child("-c", SWEEP_IMPORTS)
    # the package without its bytecode (and none written): compiled in every process
    shutil.rmtree(ROOT / "optimizer" / "__pycache__", ignore_errors=True)
    imp_source = statistics.median(
        timed_child([sys.executable, "-c", SWEEP_IMPORTS], env={"PYTHONDONTWRITEBYTECODE": "1"})
        ["wall"] for _ in range(3)) - bare
    compile_package()
    parts = cli_breakdown()
    return {"workers2": w2, "workers1": w1, "raw": raw, "ratios": [a / b for a, b in zip(w2, raw)],
            "import": imp - bare, "import_from_source": imp_source, "python": bare,
            "parts": parts}


def cli_breakdown() -> dict:
    import optimizer
    from optimizer.sweep_cli import _axes
    from optimizer.sweeps import SweepEngine, grid, run_scenarios
    from optimizer.writer import write_comparison

    class A:
        set = [f"{TREATY_PATH}=0:2300:40"]
        scale = [f"{PRICE_PATH}=0.7:1.3:25"]
        zip = False

    t = {}
    t0 = time.perf_counter()
    inputs = optimizer.read_inputs(ROOT / "inputs" / "base_case.xlsx")
    t["read_inputs"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    axes = _axes(A)
    scenarios = grid(axes)
    engine = SweepEngine(inputs)
    t["grid + engine"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    frame = run_scenarios(inputs, scenarios, workers=2, engine=engine)
    t["run_scenarios (2 workers)"] = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_comparison(frame, Path(tmp) / "x.xlsx", inputs=inputs, axes=axes)
        t["write_comparison"] = time.perf_counter() - t0
    return t


def bench_scaling(runs: int, log, small_n=(20, 25), big_n=(200, 25)) -> dict:
    from optimizer.sweeps import SweepEngine, run_scenarios

    inputs, _ = load_instance("base")
    engine = SweepEngine(inputs)
    s_small, _ = sweep_lists(inputs, *small_n)
    s_big, _ = sweep_lists(inputs, *big_n)
    n_small, n_big = len(s_small), len(s_big)
    times = {(w, n): [] for w in (1, 2) for n in (n_small, n_big)}
    run_scenarios(inputs, s_small, workers=2, engine=engine)  # warm-up
    for i in range(runs):
        for w in (1, 2):
            for sc in (s_small, s_big):
                gc.collect()
                t0 = time.perf_counter()
                frame = run_scenarios(inputs, sc, workers=w, engine=engine)
                times[w, len(sc)].append(time.perf_counter() - t0)
                assert len(frame) == len(sc) + 1
        log(f"    run {i + 1}/{runs}: " + ", ".join(
            f"{w}w×{n}: {v[-1]:.2f} s" for (w, n), v in times.items()))
    marg = {w: [(b - a) / (n_big - n_small) for a, b in zip(times[w, n_small],
                                                              times[w, n_big])]
            for w in (1, 2)}
    speedups = [a / b for a, b in zip(marg[1], marg[2])]
    return {"n_small": n_small, "n_big": n_big,
            "times": {f"{w}x{n}": v for (w, n), v in times.items()},
            "marginal": marg, "speedups": speedups,
            "speedup_of_medians": med(marg[1]) / med(marg[2])}


# --- large: children (time and max RSS) --------------------------------------------------

def child_main(kind: str, size: str, seed: int) -> int:
    """In a child process: make the instance, then one timed build + first solve."""
    hush_banner()
    inputs, prep = load_instance(size, seed)
    gc.collect()
    mem = {"inputs": memory()}

    def probe(stage: str) -> None:
        mem[stage] = memory()

    r = raw_build_solve(inputs, probe=probe) if kind == "raw" else \
        product_build_solve(inputs, variant="product" if kind == "product" else "nopause",
                            probe=probe)
    r["prep"] = prep
    r["mem"] = mem
    r["peak"] = memory().get("hwm", 0)
    r["rss_inputs"] = mem["inputs"].get("hwm", 0)
    print("RESULT " + json.dumps(r, default=float), flush=True)
    return 0


def bench_children(size: str, runs: int, seed: int, timeout: float, log,
                   gc_diagnostic: bool = True) -> dict:
    out = {"raw": [], "product": [], "product-nopause": [], "errors": []}
    kinds = ("raw", "product") + (("product-nopause",) if gc_diagnostic else ())
    for i in range(runs):
        for kind in kinds:
            r = timed_child([sys.executable, str(HERE / "run.py"), "--child", kind, size,
                             "--seed", str(seed)], timeout=timeout)
            line = next((ln for ln in r["out"].splitlines() if ln.startswith("RESULT ")), None)
            if r["timed_out"] or line is None:
                why = "timed out" if r["timed_out"] else f"exit {r['rc']}"
                out["errors"].append(f"{kind} run {i + 1}: {why} after {r['wall']:.0f} s "
                                     f"(max RSS {r['maxrss'] / GiB:.2f} GiB)\n"
                                     + r["out"][-2000:])
                log(f"    {kind} run {i + 1}: {why} after {r['wall']:.0f} s")
                continue
            res = json.loads(line[7:])
            res["maxrss_wait4"] = r["maxrss"]
            res["wall"] = r["wall"]
            out[kind].append(res)
            log(f"    {kind} run {i + 1}: build+solve {res['total']:.1f} s (solve "
                f"{res['solve']:.1f} s), peak RSS {res['peak'] / GiB:.2f} GiB")
    return out


# --- profiling (only with --profile) ------------------------------------------------------

def profile_text(fn, top: int = 18) -> str:
    import cProfile
    import io
    import pstats

    pr = cProfile.Profile()
    pr.enable()
    fn()
    pr.disable()
    s = io.StringIO()
    st = pstats.Stats(pr, stream=s)
    st.sort_stats("tottime").print_stats(top)
    lines = [ln for ln in s.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if "ncalls" in ln)
    head = [ln for ln in lines[:start] if "function calls" in ln]
    return "\n".join(head + lines[start:])


def profiles(instances: dict, log) -> dict:
    from optimizer.highs import compile_lp
    from optimizer.model import build_model
    from optimizer.sweeps import SweepEngine, run_scenarios

    out = {}
    for name in ("base", "medium"):
        if name not in instances:
            continue
        inputs = instances[name]
        scenarios, _ = sweep_lists(inputs, 8, 25)
        engine = SweepEngine(inputs)
        run_scenarios(inputs, scenarios[:10], engine=engine)
        log(f"  profiling run_scenarios ({name}, {len(scenarios)} scenarios)")
        out[f"run_scenarios, {name}, {len(scenarios)} scenarios, 1 worker"] = profile_text(
            # called here, inside this iteration: the loop's current values are the ones meant
            lambda: run_scenarios(inputs, scenarios, engine=engine))  # noqa: B023
    if "medium" in instances:
        from optimizer import model as om

        inputs = instances["medium"]
        if hasattr(om, "build_lp"):
            log("  profiling build_lp (medium)")
            out["optimizer.model.build_lp (build + compile, GC paused), medium"] = \
                profile_text(lambda: om.build_lp(inputs))
        log("  profiling build_model + compile_lp, collector running (medium)")
        out["build_model + compile_lp with the collector running, medium"] = profile_text(
            lambda: compile_lp(build_model(inputs)))
    return out


# --- report ---------------------------------------------------------------------------

def stages_mem(r: dict) -> str:
    m = r.get("mem", {})
    parts = []
    for st in ("inputs", "build", "compile", "pass", "solve"):
        if st in m:
            parts.append(f"{m[st].get('rss', 0) / GiB:.2f} ({m[st].get('hwm', 0) / GiB:.2f})")
        else:
            parts.append("–")
    return " / ".join(parts)


def gcoff(rs, raw_total: float) -> str:
    if not rs:
        return "–"
    t = med([r["total"] for r in rs])
    return f"{t:.3g}, {t / raw_total:.2f}×, {med([r['build'] for r in rs]):.3g}"


def verdict(ok: bool, value: float, target: float, higher_is_better=False) -> str:
    if ok:
        return "**met**"
    if higher_is_better:
        return f"**missed** by {target - value:.2f} ({value / target * 100 - 100:+.0f} %)"
    return f"**missed** by {value - target:.2f} ({value / target * 100 - 100:+.0f} %)"


def report(res: dict, args, started: float) -> str:
    m = res["machine"]
    L = []
    L.append("# irel-alloc benchmark results\n")
    L.append("Generated by `benchmarks/run.py`; do not edit by hand (re-run to refresh).\n")
    L.append(f"- command: `{res['command']}`")
    L.append(f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, wall time of the run "
             f"{time.perf_counter() - started:.0f} s"
             + (f" (resumed {res['resumed']}× after an interruption; sections measured "
                "before it were kept)" if res.get("resumed") else ""))
    L.append(f"- machine: {m['nproc']} CPUs (nproc), {m['cpu']}, {m['memory']} RAM, {m['os']};"
             f" load average at start {m.get('load', '?')}")
    L.append(f"- code: commit {m.get('git', '?')}" + (f", with uncommitted changes in "
             f"{m['dirty']}" if m.get("dirty") else "") + " (the working tree was measured)")
    L.append(f"- Python {m['python']}, highspy {m['highspy']}, Pyomo {m['pyomo']}, numpy "
             f"{m['numpy']}, scipy {m['scipy']}, pandas {m['pandas']}, openpyxl {m['openpyxl']}")
    L.append("- Absolute times drift on this noisy shared machine; the ratios are measured "
             "side by side in the same run (interleaved runs) and are the figures to trust. "
             "Medians of N runs, spread = min–max.\n")

    L.append("## Instances\n")
    L.append("| instance | columns | rows | nonzeros | prep s (frames+validate+Params) | "
             "raw LP = product LP | objective (product) | raw−product rel. diff |")
    L.append("|---|---:|---:|---:|---:|---|---:|---:|")
    for name, inst in res["instances"].items():
        chk = inst.get("check", {})
        same = _same_lp_verdict(chk)
        shape = inst.get("shape", ("?", "?", "?"))
        L.append(f"| {name} | {shape[1]:,} | {shape[0]:,} | {shape[2]:,} | {inst['prep']:.2f} | "
                 f"{same} | {inst.get('objective', float('nan')):,.2f} | "
                 f"{inst.get('obj_rel', float('nan')):.1e} |")
    L.append("")

    # (b)
    L.append("## (b) Build + first solve (target ≤ 2.5× raw at medium and large)\n")
    L.append("raw = `build_lp(Params)` + `passModel` + `run` + read col_value/row_dual; "
             "product = `optimizer.model.build_lp` (Pyomo build + `compile_lp`) + `new_highs` "
             "+ `run_highs`; "
             "engine = `SweepEngine(inputs)` + `Worker(engine)` (what a sweep pays). "
             "Params are derived once and shared (not timed).\n")
    L.append("Diagnostic column: `build_model` + `compile_lp` + `new_highs` + `run_highs` "
             "with Python's cyclic garbage collector running throughout (the path before "
             "`optimizer.model.build_lp`, which pauses the collector), to show what the "
             "collector costs a Pyomo build.\n")
    L.append("| instance | N | raw s | product s | ratio | engine+worker s | ratio | "
             "product: build / compile / pass / solve / extract s | raw: build / pass / "
             "solve s | iterations | without GC pause: s, ratio, build s |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---|---|---:|---|")
    for name, inst in res["instances"].items():
        b = inst.get("build")
        if not b:
            continue
        rt = [r["total"] for r in b["raw"]]
        pt = [r["total"] for r in b["product"]]
        et = [r["total"] for r in b.get("engine", [])]
        stage = " / ".join(f"{med([r[k] for r in b['product']]):.3g}"
                           for k in ("build", "compile", "pass", "solve", "extract"))
        rstage = " / ".join(f"{med([r[k] for r in b['raw']]):.3g}"
                            for k in ("build", "pass", "solve"))
        eng = (f"{med(et):.3g} ({spread(et)}) | {med(et) / med(rt):.2f}" if et else "– | –")
        L.append(f"| {name} | {len(rt)} | {med(rt):.3g} ({spread(rt)}) | {med(pt):.3g} "
                 f"({spread(pt)}) | **{med(pt) / med(rt):.2f}** | {eng} | {stage} | {rstage} | "
                 f"{b['product'][0]['iterations']:,} | {gcoff(b.get('nogc'), med(rt))} |")
    L.append("")

    # (a)
    L.append("## (a) Sweep cost per scenario (target ≤ 3× raw hot start, base case and "
             "medium)\n")
    L.append("Scenarios: `demand.min_t[customer=X_TREI]` set to 8 values from 0 to its max × "
             "`demand.price[product=NdPr, customer!=D_STRAT]` scaled 0.7…1.3 in 25 steps "
             "(200 scenarios). product = (`run_scenarios(200)` − `run_scenarios([])`)/200: "
             "change mapping + validation + edits + hot re-solve + KPIs + result frame, net of "
             "the fixed cost (one cold base solve for the base row); all-in = "
             "`run_scenarios(200)`/200. raw = `changeRowsBounds` + `changeColsCost` + `run` + "
             "KPIs with numpy, with the product's protocol: every chunk of "
             "`optimizer.sweeps.CHUNK` scenarios starts from the base basis (`clearSolver` + "
             "`setBasis`), the others hot-start from the previous scenario. Also shown: raw "
             "restarting from the base basis before every scenario, and raw fully chained.\n")
    L.append("| instance | N | raw ms | product ms | **ratio** | product all-in ms | "
             "fixed s | raw, base basis every scenario ms | raw fully chained ms | "
             "iterations per scenario median/max (total; total from base every time) | checks |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for name, inst in res["instances"].items():
        s = inst.get("sweep")
        if not s:
            continue
        ms = lambda xs: [x * 1e3 for x in xs]  # noqa: E731
        r, p = ms(s["raw"]), ms(s["product"])
        ev, c = ms(s["raw_every"]), ms(s["raw_chained"])
        L.append(f"| {name} | {len(r)} | {med(r):.3g} ({spread(r)}) | {med(p):.3g} "
                 f"({spread(p)}) | **{med(p) / med(r):.2f}** | {med(ms(s['product_all_in'])):.3g}"
                 f" | {med(s['fixed']):.3g} | {med(ev):.3g} ({spread(ev)}) | "
                 f"{med(c):.3g} ({spread(c)}) | {s['iterations_median']:.0f}/"
                 f"{s['iterations_max']} ({s['iterations_total']:,}; "
                 f"{s['iterations_every_total']:,}) | "
                 f"chunk {s['chunk']}; objective rel. diff ≤ {s['obj_rel']:.0e}, KPI rel. diff ≤ "
                 f"{s['kpi_rel']:.0e}, same iterations {s['same_iterations']}/{s['n']}, same "
                 f"binding list {s['same_binding']}/{s['n']} |")
    L.append("")

    # (c)
    c = res.get("cli")
    if c:
        L.append("## (c) 1,000-scenario CLI sweep of the base case, 2 workers "
                 f"(target ≤ {TARGETS['c']:g}× raw re-solves of the same changes)\n")
        L.append(f"`irel-alloc {' '.join(repr(a) if ' ' in a or '[' in a else a for a in CLI_ARGS)}"
                 " -o /tmp/x.xlsx`, wall time of the process, workbook written. raw = the same "
                 "1,000 changes re-solved hot in raw highspy (`changeRowsBounds` + "
                 "`changeColsCost` + `run` + KPIs with numpy, each chunk of "
                 f"{product_chunk()} from the base basis), timed right after each pair of CLI "
                 "runs; the ratio is taken run by run.\n")
        L.append("| | N | wall s (median) | spread |")
        L.append("|---|---:|---:|---|")
        for name, key in (("CLI, 2 workers", "workers2"), ("CLI, 1 worker", "workers1"),
                          ("raw re-solves", "raw")):
            if c.get(key):
                L.append(f"| {name} | {len(c[key])} | {med(c[key]):.3g} | {spread(c[key])} |")
        if c.get("ratios"):
            L.append(f"| **ratio** (2 workers / raw) | {len(c['ratios'])} | "
                     f"**{med(c['ratios']):.2f}×** | {spread(c['ratios'])} |")
        L.append("")
        source = c.get("import_from_source")
        L.append(f"Where the time goes (one in-process run, 2 workers): interpreter start "
                 f"{c['python']:.2f} s, the sweep's imports (pandas, numpy, highspy, XlsxWriter, "
                 f"the package) {c['import']:.2f} s, " +
                 ", ".join(f"{k} {v:.2f} s" for k, v in c["parts"].items()) + ".")
        if source is not None:
            L.append(f"The package's bytecode is written before the CLI runs, as `pip install` or "
                     f"a first run does; without it (this machine sets PYTHONDONTWRITEBYTECODE=1, "
                     f"so nothing is cached) the imports take {source:.2f} s in every run.")
        L.append("")

    # (d)
    d = res.get("scaling")
    if d:
        L.append("## (d) Two workers vs one, marginal throughput (target ≥ 1.7×)\n")
        L.append(f"`run_scenarios` on the base case, engine built once; marginal per "
                 f"scenario = (T({d['n_big']}) − T({d['n_small']})) / "
                 f"{d['n_big'] - d['n_small']}.\n")
        L.append("| | " + " | ".join(d["times"]) + " | marginal ms/scenario |")
        L.append("|---|" + "---:|" * (len(d["times"]) + 1))
        for w in (1, 2):
            cells = " | ".join(f"{med(v):.2f}" if k.startswith(f"{w}x") else ""
                               for k, v in d["times"].items())
            mg = [x * 1e3 for x in d["marginal"][w]]
            L.append(f"| {w} worker{'s' if w > 1 else ''} (s) | {cells} | {med(mg):.3f} "
                     f"({spread(mg)}) |")
        L.append("")
        L.append(f"Speed-up of marginal throughput: **{d['speedup_of_medians']:.2f}×** (ratio of "
                 f"medians; per run {spread(d['speedups'], '{:.2f}')}).\n")

    # child processes: medium (fresh-process cross-check) and large; (e)
    ch = res.get("children", {})
    if ch:
        L.append("## Fresh child processes: build + first solve, peak RSS (b, e)\n")
        L.append("One process per run (interleaved raw, product, product-nopause), each making "
                 "its instance from frames first; times are the build + first solve only. Peak RSS "
                 "is the child's own high-water mark (VmHWM from /proc/self/status, read at "
                 "the end; `ru_maxrss` from `wait4` is not used: on Linux it starts from the "
                 "parent's RSS at fork, which was larger than a medium child). RSS after "
                 "each stage is VmRSS; peak within a stage shows as VmHWM above the RSS "
                 "after it. product-nopause = `build_model` + `compile_lp` with the cyclic "
                 "garbage collector running and the Pyomo model alive through the solve "
                 "(diagnostic, see (b)). "
                 "A fresh process is what the CLI runs in; the in-process figures of (b) run in "
                 "the long-lived benchmark process, whose heap the collector also walks.\n")
        L.append("| instance | side | N | build+first solve s | ratio to raw | solve s | build s "
                 "| compile s | peak RSS GiB | RSS GiB after inputs / build / compile / pass / "
                 "solve (peak so far) | objective |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
        for size, lg in ch.items():
            raw_t = med([r["total"] for r in lg["raw"]]) if lg["raw"] else float("nan")
            for kind in ("raw", "product", "product-nopause"):
                rs = lg.get(kind)
                if kind == "product-nopause" and not rs:
                    continue
                if not rs:
                    L.append(f"| {size} | {kind} | 0 | – | – | – | – | – | – | – | – |")
                    continue
                tot = med([r["total"] for r in rs])
                L.append(f"| {size} | {kind} | {len(rs)} | {tot:.1f} ({spread([r['total'] for r in rs])}) | "
                         f"{tot / raw_t:.2f} | "
                         f"{med([r['solve'] for r in rs]):.1f} | "
                         f"{med([r['build'] for r in rs]):.2f} | "
                         f"{med([r.get('compile', 0.0) for r in rs]):.2f} | "
                         f"{max(r['peak'] for r in rs) / GiB:.2f} | "
                         f"{stages_mem(rs[0])} | "
                         f"{rs[0]['objective']:,.2f} |")
            if lg["raw"] and lg["product"]:
                o1, o2 = lg["raw"][0]["objective"], lg["product"][0]["objective"]
                L.append(f"| {size} | objective raw vs product: rel. diff "
                         f"{abs(o1 - o2) / max(1, abs(o2)):.1e} | | | | | | | | | |")
        for size, lg in ch.items():
            for e in lg["errors"]:
                L.append(f"\n- {size} error: `{e.splitlines()[0]}`")
        L.append("")

    # summary of targets
    L.append("## Targets\n")
    L.append("| target | measured | verdict |")
    L.append("|---|---|---|")
    for row in res["targets"]:
        L.append(f"| {row[0]} | {row[1]} | {row[2]} |")
    L.append("")
    if res.get("notes"):
        L.append("## Notes\n")
        L += [f"- {n}" for n in res["notes"]]
        L.append("")
    if res.get("profiles"):
        L.append("## Profiles (cProfile, sorted by own time)\n")
        for title, text in res["profiles"].items():
            L.append(f"### {title}\n\n```\n{text}\n```\n")
    return "\n".join(L)


def auto_notes(res: dict) -> list[str]:
    """Where the product's time goes, from the numbers of this run."""
    notes = []
    for name, inst in res["instances"].items():
        b = inst.get("build")
        if not b or not b.get("nogc") or name not in ("medium",):
            continue
        p = {k: med([r[k] for r in b["product"]]) for k in
             ("build", "compile", "pass", "solve", "extract", "total")}
        g = {k: med([r[k] for r in b["nogc"]]) for k in ("build", "total")}
        r0 = med([r["total"] for r in b["raw"]])
        rb = med([r["build"] for r in b["raw"]])
        notes.append(
            f"(b) {name}: of the product's {p['total']:.2f} s, the Pyomo build takes "
            f"{p['build']:.2f} s, `compile_lp` {p['compile']:.2f} s, HiGHS {p['solve']:.2f} s "
            f"(raw: build {rb:.3f} s, total {r0:.2f} s). Without the garbage-collector pause "
            f"(`build_model` + `compile_lp` with the collector running) the Pyomo build takes "
            f"{g['build']:.2f} s and the whole {g['total']:.2f} s ({g['total'] / r0:.2f}× "
            f"raw): the collector, triggered over and over by the millions of small objects "
            f"a Pyomo build allocates, is what a pause saves. cProfile cannot show it "
            f"directly: it bills the collections to whatever allocated (`list.extend` in "
            f"`LinearExpression.__init__`, `_Sums.__init__`).")
    lg = res.get("children", {}).get("large")
    if lg and lg["raw"] and lg["product"]:
        p, r = lg["product"], lg["raw"]
        notes.append(
            f"Large: HiGHS's cold solve is {med([x['solve'] for x in r]):.0f} s of the raw "
            f"{med([x['total'] for x in r]):.0f} s, so the ratio there is mostly the solve; "
            f"the product spends {med([x['build'] for x in p]):.0f} s in the Pyomo build and "
            f"{med([x['compile'] for x in p]):.0f} s in `compile_lp` against "
            f"{med([x['build'] for x in r]):.1f} s for the raw build.")
    return notes


def targets(res: dict) -> list[tuple[str, str, str]]:
    out = []
    inst = res["instances"]
    for name in ("base", "medium"):
        s = inst.get(name, {}).get("sweep")
        if s:
            r = med(s["product"]) / med(s["raw"])
            out.append((f"(a) sweep per scenario ≤ 3× raw, {name}",
                        f"{r:.2f}× ({med(s['product']) * 1e3:.3g} vs {med(s['raw']) * 1e3:.3g}"
                        " ms)", verdict(r <= TARGETS["a"], r, TARGETS["a"])))
    for name in ("medium", "large"):
        if name == "large" and res.get("children", {}).get("large"):
            lg = res["children"]["large"]
            if lg["raw"] and lg["product"]:
                a = med([r["total"] for r in lg["product"]])
                b = med([r["total"] for r in lg["raw"]])
                out.append(("(b) build + first solve ≤ 2.5× raw, large",
                            f"{a / b:.2f}× ({a:.1f} vs {b:.1f} s)",
                            verdict(a / b <= TARGETS["b"], a / b, TARGETS["b"])))
            else:
                out.append(("(b) build + first solve ≤ 2.5× raw, large", "not measured "
                            "(see errors above)", "unknown"))
            continue
        b = inst.get(name, {}).get("build")
        if b:
            a = med([r["total"] for r in b["product"]])
            r0 = med([r["total"] for r in b["raw"]])
            fresh = res.get("children", {}).get(name)
            extra = ""
            if fresh and fresh["raw"] and fresh["product"]:
                fr = (med([r["total"] for r in fresh["product"]])
                      / med([r["total"] for r in fresh["raw"]]))
                extra = f"; in fresh processes {fr:.2f}×"
            out.append((f"(b) build + first solve ≤ 2.5× raw, {name}",
                        f"{a / r0:.2f}× ({a:.3g} vs {r0:.3g} s){extra}",
                        verdict(a / r0 <= TARGETS["b"], a / r0, TARGETS["b"])))
    if "large" not in inst and not res.get("children", {}).get("large"):
        out.append(("(b) build + first solve ≤ 2.5× raw, large", "not run (use --large)",
                    "not measured"))
    c = res.get("cli")
    if c:
        if c.get("ratios"):
            v = med(c["ratios"])
            out.append((f"(c) 1,000-scenario CLI sweep ≤ {TARGETS['c']:g}× raw re-solves",
                        f"{v:.2f}× ({med(c['workers2']):.2f} s vs {med(c['raw']):.3f} s)",
                        verdict(v <= TARGETS["c"], v, TARGETS["c"])))
        else:  # a result file from before the raw side was measured
            out.append(("(c) 1,000-scenario CLI sweep", f"{med(c['workers2']):.2f} s", "no raw side"))
    d = res.get("scaling")
    if d:
        v = d["speedup_of_medians"]
        out.append(("(d) 2 workers ≥ 1.7× marginal throughput of 1", f"{v:.2f}×",
                    verdict(v >= TARGETS["d"], v, TARGETS["d"], higher_is_better=True)))
    lg = res.get("children", {}).get("large")
    if lg and lg["product"]:
        v = max(r["peak"] for r in lg["product"]) / GiB
        out.append(("(e) peak memory of the large instance < 4 GiB (product path, peak RSS)",
                    f"{v:.2f} GiB (raw: " + (f"{max(r['peak'] for r in lg['raw']) / GiB:.2f}"
                                             if lg["raw"] else "–") + " GiB)",
                    verdict(v < TARGETS["e"], v, TARGETS["e"])))
    else:
        out.append(("(e) peak memory of the large instance < 4 GiB", "not run (use --large)"
                    if not lg else "product run did not finish", "not measured"))
    return out


# --- main -------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="irel-alloc vs raw highspy, side by side")
    ap.add_argument("--no-gc-diagnostic", action="store_true",
                    help="skip the large child without the garbage-collector pause")
    ap.add_argument("--sizes", nargs="*", default=["base", "small", "medium"],
                    help="in-process instances: base (the bundled workbook), small, medium")
    ap.add_argument("--large", action="store_true", help="also the large instance (minutes)")
    ap.add_argument("--runs", type=int, default=5, help="runs per measurement (default 5)")
    ap.add_argument("--large-runs", type=int, default=1)
    ap.add_argument("--large-timeout", type=float, default=1800,
                    help="seconds allowed per large child process")
    ap.add_argument("--cli-runs", type=int, default=3)
    ap.add_argument("--scaling-runs", type=int, default=3)
    ap.add_argument("--skip-cli", action="store_true")
    ap.add_argument("--skip-scaling", action="store_true")
    ap.add_argument("--profile", action="store_true", help="add cProfile summaries")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    ap.add_argument("--resume", action="store_true",
                    help="continue an interrupted run from OUT's .partial.json")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "SIZE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    import faulthandler

    faulthandler.enable()  # a crash in a native extension still leaves a traceback
    if args.child:
        return child_main(args.child[0], args.child[1], args.seed)

    started = time.perf_counter()
    hush_banner()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    res = {"machine": machine(), "instances": {}, "notes": [],
           "command": "python benchmarks/run.py " + " ".join(sys.argv[1:] if argv is None
                                                             else argv)}
    partial = Path(args.out).with_suffix(".partial.json")
    if args.resume and partial.exists():
        res = json.loads(partial.read_text())
        res["resumed"] = res.get("resumed", 0) + 1
        log(f"resuming from {partial}: done so far {sorted(done_sections(res))}")

    def save() -> None:  # after every section: a killed run can be resumed (--resume)
        partial.write_text(json.dumps(res, default=json_default))

    done = done_sections(res)
    log(f"machine: {res['machine']}")
    loaded = {}
    order = [s for s in ("base", "small", "medium") if s in args.sizes]
    for name in order:
        log(f"[{name}] preparing")
        inputs, prep = load_instance(name, args.seed)
        loaded[name] = inputs
        inst = res["instances"].setdefault(name, {"prep": prep})
        if f"{name}.build" not in done:
            inst["check"] = check_same_lp(inputs)
            log(f"[{name}] same LP: {inst['check']}")
            log(f"[{name}] (b) build + first solve, {args.runs} runs")
            b = inst["build"] = bench_build(inputs, args.runs, log)
            inst["shape"] = b["product"][0]["shape"]
            inst["objective"] = b["objective"]
            inst["obj_rel"] = b["objective_rel_diff"]
            assert b["objective_rel_diff"] <= 1e-7, f"{name}: objectives differ: {b}"
            save()
        if f"{name}.sweep" not in done:
            log(f"[{name}] (a) sweep per scenario, {args.runs} runs")
            inst["sweep"] = bench_sweep(inputs, args.runs, 8, 25, log)
            save()
        if name == "medium" and "children.medium" not in done:
            log(f"[{name}] (b) fresh child processes, {args.runs} runs")
            res.setdefault("children", {})[name] = bench_children(
                name, args.runs, args.seed, 600, log, gc_diagnostic=True)
            save()
        if name == "base":
            run_cli_and_scaling(args, res, done, log, save)
        gc.collect()
    if "base" not in order:
        run_cli_and_scaling(args, res, done, log, save)
    if args.large and "children.large" not in done:
        log(f"[large] {args.large_runs} run(s) per side in child processes "
            f"(timeout {args.large_timeout:.0f} s each)")
        lg = res.setdefault("children", {})["large"] = bench_children(
            "large", args.large_runs, args.seed, args.large_timeout, log,
            gc_diagnostic=not args.no_gc_diagnostic)
        if lg["raw"]:
            r = lg["raw"][0]
            res["instances"]["large"] = {"prep": r["prep"], "objective": (
                lg["product"][0]["objective"] if lg["product"] else float("nan")),
                "obj_rel": (abs(r["objective"] - lg["product"][0]["objective"])
                            / abs(r["objective"]) if lg["product"] else float("nan"))}
            res["instances"]["large"]["shape"] = tuple(r["shape"])
        save()
    if args.profile:
        log("profiling")
        res["profiles"] = profiles(loaded, log)
    res["targets"] = targets(res)
    res["notes"] = auto_notes(res)
    text = report(res, args, started)
    Path(args.out).write_text(text)
    Path(args.out).with_suffix(".json").write_text(json.dumps(res, indent=1,
                                                              default=json_default))
    partial.unlink(missing_ok=True)
    print(text)
    return 0


def json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def done_sections(res: dict) -> set[str]:
    out = set()
    for name, inst in res.get("instances", {}).items():
        out |= {f"{name}.{k}" for k in ("build", "sweep") if k in inst}
    out |= {f"children.{k}" for k in res.get("children", {})}
    out |= {k for k in ("cli", "scaling") if k in res}
    return out


def run_cli_and_scaling(args, res: dict, done: set, log, save) -> None:
    if not args.skip_cli and "cli" not in done:
        log("(c) CLI sweep, 1,000 scenarios")
        res["cli"] = bench_cli(args.cli_runs, log)
        save()
    if not args.skip_scaling and "scaling" not in done:
        log("(d) worker scaling, 500 and 5,000 scenarios")
        res["scaling"] = bench_scaling(args.scaling_runs, log)
        save()


if __name__ == "__main__":
    sys.exit(main())
