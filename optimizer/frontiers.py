"""The price of keeping NdPr at home: the exact objective vs domestic NdPr frontier.

Domestic NdPr over the horizon is a linear function of the columns,

    domestic_ndpr = Σ sale_t[k, NdPr, t]            over domestic k
                  + Σ share[m, NdPr]·mixed_sale_t[m, k, t]   over domestic k (NdPr inside MRECL)

so adding the row ``domestic_ndpr ≥ b`` makes the LP parametric in ``b``: its optimal
objective is piecewise linear and concave in ``b``. The walk starts at the plain optimum's
``b``, and on each basis reads the row's dual (the slope) and its RHS ranging (where the
basis stops being optimal). It re-solves hot a hair beyond each such end to get the next
basis, and at the end itself only where the slope changes (a kink), until ``b`` reaches the
most NdPr the model can keep at home (a solve that maximises domestic NdPr). This is exact
and needs no grid.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InfeasibleError, InputError, SolverError
from .highs import INF, LpData, LpSolution, new_highs, run_highs
from .inputs import ModelInputs

HAIR = 1e-7
"""Step beyond a breakpoint, relative to the largest domestic NdPr (t)."""
MAX_STEPS = 10_000
SHOWN_COLUMNS = ("sale_t", "mixed_sale_t", "shortfall_t", "dispose_t")
"""Columns worth naming when they start or fall to 0 at a breakpoint (allocation decisions)."""
COLUMNS = ["point", "domestic_ndpr_t", "domestic_ndpr_share", "objective", "cost_vs_optimum",
           "marginal_cost_per_t", "revenue_pv", "penalties_pv", "treaty_shortfall_t",
           "what_changes"]


@dataclass
class FrontierResult:
    """The frontier: one row of ``table`` per breakpoint, the plain optimum first.

    ``marginal_cost_per_t`` on a row is the objective lost per extra tonne kept at home on
    the segment that ends at that row (blank on the first row).
    """

    table: pd.DataFrame
    solves: int
    """HiGHS runs: the plain optimum, the maximum, and the hot re-solves of the walk."""
    iterations: int
    seconds: float
    """Wall time of the whole call: scenario, model build and the walk."""
    walk_seconds: float = 0.0
    """Wall time from the built model to the last point: every solve, ranging and table row."""
    inputs: ModelInputs | None = field(default=None, repr=False)
    strict: bool = False
    scenario: str | None = None
    changes: list[str] = field(default_factory=list)

    @property
    def breakpoints(self) -> int:
        """Kinks of the curve: points where the slope changes (the two ends excluded)."""
        return max(len(self.table) - 2, 0)


def ndpr_weights(inputs: ModelInputs, lp: LpData) -> tuple[np.ndarray, np.ndarray]:
    """(domestic, all) NdPr tonnes per unit of each column, counting NdPr inside MRECL."""
    from .report import ndpr_product

    P = inputs.params
    ndpr = ndpr_product(P)
    if ndpr is None:
        raise InputError("the frontier needs an NdPr product: the products sheet has none "
                         "(expected a product id 'NdPr', any case)")
    every = np.zeros(len(lp.c))
    for j, (name, idx) in enumerate(lp.col_keys):
        if name == "sale_t" and idx[1] == ndpr:
            every[j] = 1.0
        elif name == "mixed_sale_t":
            every[j] = P.share.get((idx[0], ndpr), 0.0)
    customer = {"sale_t": 0, "mixed_sale_t": 1}
    domestic = np.array([every[j] if name in customer and P.kind[idx[customer[name]]] == "domestic"
                         else 0.0 for j, (name, idx) in enumerate(lp.col_keys)])
    return domestic, every


def _name(key: tuple[str, tuple]) -> str:
    family, idx = key
    return f"{family}[{', '.join(map(str, idx))}]"


@dataclass
class _Basis:
    """What a solve at ``b`` says about the segment its basis is optimal on."""

    sol: LpSolution
    slope: float
    low: float
    high: float


class _Walk:
    """One HiGHS model with the domestic NdPr row, re-solved hot at each bound."""

    def __init__(self, lp: LpData, weights: np.ndarray, verbose: bool):
        self.lp, self.h = lp, new_highs(lp, verbose=verbose)
        self.solves = self.iterations = 0
        self.first = self.run()  # the plain optimum
        cols = np.flatnonzero(weights).astype(np.int32)
        self.h.addRow(-INF, INF, len(cols), cols, weights[cols])  # free until a bound is set
        self.row = self.h.getNumRow() - 1

    def run(self) -> LpSolution:
        sol = run_highs(self.h)
        self.solves += 1
        self.iterations += sol.iterations
        return sol

    def at(self, b: float, *, ranging: bool = True) -> _Basis:
        """Solve with domestic NdPr ≥ b; the slope and b-range of the optimal basis."""
        self.h.changeRowBounds(self.row, b, INF)
        sol = self.run()
        if sol.status != "optimal":
            raise SolverError(f"HiGHS stopped with status '{sol.status}' at domestic NdPr "
                              f"≥ {b:,.6g} t, inside the feasible range; rerun with --verbose")
        r = self.row
        if not ranging:
            return _Basis(sol, float(sol.dual[r]), b, b)
        if sol.row_basic[r]:  # not binding: the same optimum holds up to its activity
            return _Basis(sol, 0.0, -INF, float(sol.activity[r]))
        _, rng = self.h.getRanging()
        if not rng.valid:
            raise SolverError(f"HiGHS could not range the basis at domestic NdPr ≥ {b:,.6g} t")
        return _Basis(sol, float(sol.dual[r]), float(rng.row_bound_dn.value_[r]),
                      float(rng.row_bound_up.value_[r]))

    def beyond(self, b: float, top: float, scale: float) -> _Basis:
        """The basis optimal just right of ``b``: a hair beyond it, smaller if that skips one."""
        step = HAIR * scale
        while True:
            basis = self.at(min(b + step, top))
            if basis.low <= b + 0.1 * step or step < 1e-6 * HAIR * scale:
                return basis
            step /= 10  # the hair jumped over a shorter segment: look closer


def _active(lp: LpData, n_row: int, sol: LpSolution) -> set[str]:
    """Binding inequality rows of the solution's basis, and allocation columns in use.

    A column is in use when it is positive (a hair into a segment, columns that enter at
    its start are already positive), so columns that are basic at zero do not count.
    """
    rows = {_name(lp.row_keys[i]) for i in np.flatnonzero(~sol.row_basic[:n_row] & (lp.row_sense != 0))}
    used = sol.x > 1e-9
    cols = {_name(lp.col_keys[j]) for j in np.flatnonzero(used) if lp.col_keys[j][0] in SHOWN_COLUMNS}
    return rows | cols


def _changes(before: set[str], after: set[str]) -> str:
    """Plain words for the difference between two active sets."""
    def names(items: set[str]) -> str:
        return ", ".join(sorted(items))

    rows_on = {n for n in after - before if n.split("[")[0] not in SHOWN_COLUMNS}
    rows_off = {n for n in before - after if n.split("[")[0] not in SHOWN_COLUMNS}
    cols_on, cols_off = (after - before) - rows_on, (before - after) - rows_off
    parts = [f"{label}: {names(items)}" for label, items in (
        ("starts binding", rows_on), ("stops binding", rows_off),
        ("starts", cols_on), ("falls to 0", cols_off)) if items]
    return "; ".join(parts) or "basis change only"


def frontier(inputs: ModelInputs, *, scenario: str | None = None, strict: bool | None = None,
             verbose: bool = False) -> FrontierResult:
    """The exact trade-off between domestic NdPr (t over the horizon) and the objective.

    Raises InputError without an NdPr product, InfeasibleError when the plain model is
    infeasible and SolverError when HiGHS fails on the way.
    """
    from .model import build_lp

    started = time.perf_counter()
    changes: list[str] = []
    if scenario is not None:
        from .changes import apply_scenario

        inputs, changes = apply_scenario(inputs, scenario)
    strict = inputs.strict if strict is None else strict
    lp = build_lp(inputs, strict=strict)
    built = time.perf_counter()
    domestic, every = ndpr_weights(inputs, lp)
    walk = _Walk(lp, domestic, verbose)
    plain = walk.first
    if plain.status != "optimal":
        if plain.status in ("infeasible", "infeasible or unbounded"):
            how = f"irel-alloc explain INPUT{f' --scenario {scenario}' if scenario else ''}"
            raise InfeasibleError("the model is infeasible before any NdPr is kept at home; "
                                  f"run `{how}` to see why")
        raise SolverError(f"HiGHS stopped with model status '{plain.status}'")
    top = _most_at_home(lp, domestic, walk)
    table = pd.DataFrame(_trace(inputs, lp, walk, top, domestic, every), columns=COLUMNS)
    table["point"] = range(len(table))
    table["cost_vs_optimum"] = table["objective"].iloc[0] - table["objective"]
    done = time.perf_counter()
    return FrontierResult(table, walk.solves, walk.iterations, done - started, done - built,
                          inputs=inputs, strict=strict, scenario=scenario, changes=changes)


def _trace(inputs: ModelInputs, lp: LpData, walk: _Walk, top: float, domestic: np.ndarray,
           every: np.ndarray) -> list[dict]:
    """The frontier's points from the plain optimum to ``top``: one per kink, plus the ends."""
    plain = walk.first
    b0 = float(domestic @ plain.x)
    scale = max(1.0, abs(top))
    tol = 1e-9 * scale
    n_row = len(lp.row_lower)
    points = [_point(inputs, lp, b0, plain, domestic, every, None, "the current optimum")]
    left = _active(lp, n_row, plain)
    b, slope = b0, None
    for _ in range(MAX_STEPS):
        if b >= top - tol:
            break
        right = walk.beyond(b, top, scale)
        active = _active(lp, n_row, right.sol)
        if slope is None:
            points[0]["what_changes"] += "; beyond it " + _changes(left, active)
        elif not math.isclose(right.slope, slope, rel_tol=1e-9, abs_tol=1e-9):
            # A kink: solve at b itself (no pivots, the new basis is optimal there too).
            points.append(_point(inputs, lp, b, walk.at(b, ranging=False).sol, domestic, every,
                                 -slope, _changes(left, active)))
        left, slope = active, right.slope
        b = min(max(right.high, b + tol), top)
    else:
        raise SolverError(f"the frontier walk did not reach {top:,.6g} t in {MAX_STEPS} steps")
    if slope is not None:
        points.append(_point(inputs, lp, top, walk.at(top, ranging=False).sol, domestic, every,
                             -slope, "the most NdPr the model can keep at home"))
    else:
        points[0]["what_changes"] += ", and already the most NdPr the model can keep at home"
    return points


def _most_at_home(lp: LpData, domestic: np.ndarray, walk: _Walk) -> float:
    """The most domestic NdPr any feasible plan reaches: the LP with the weights as costs."""
    h = new_highs(dataclasses.replace(lp, c=domestic))
    sol = run_highs(h)
    walk.solves += 1
    walk.iterations += sol.iterations
    if sol.status != "optimal":
        raise SolverError(f"maximising domestic NdPr stopped with status '{sol.status}'")
    return float(sol.objective)


def _point(inputs: ModelInputs, lp: LpData, b: float, sol: LpSolution,
           domestic: np.ndarray, every: np.ndarray, marginal: float | None, what: str) -> dict:
    """One row of the frontier table from the solution at bound ``b``."""
    from .report import Values, objective_parts

    P = inputs.params
    x = sol.x
    total = float(every @ x)
    parts = objective_parts(inputs, lp, sol)
    v = Values(lp, sol)
    treaty_short = sum(v("shortfall_t", *d) for d in P.DEMAND if P.treaty[d[0]])
    return {"point": None, "domestic_ndpr_t": b,
            "domestic_ndpr_share": float(domestic @ x) / total if total > 1e-9 else None,
            "objective": sol.objective, "cost_vs_optimum": None,
            "marginal_cost_per_t": marginal, "revenue_pv": parts.get("revenue_pv", 0.0),
            "penalties_pv": parts.get("penalties_pv", 0.0), "treaty_shortfall_t": treaty_short,
            "what_changes": what}


def objective_at(inputs: ModelInputs, domestic_ndpr_t: float, *, strict: bool | None = None,
                 lp: LpData | None = None) -> float:
    """Cold check: a fresh HiGHS model with domestic NdPr ≥ the bound, solved from scratch."""
    from .model import build_lp

    lp = build_lp(inputs, strict=strict) if lp is None else lp
    domestic, _ = ndpr_weights(inputs, lp)
    h = new_highs(lp)
    cols = np.flatnonzero(domestic).astype(np.int32)
    h.addRow(domestic_ndpr_t, INF, len(cols), cols, domestic[cols])  # before any run: no basis
    sol = run_highs(h)
    if sol.status != "optimal":
        raise SolverError(f"cold solve at domestic NdPr ≥ {domestic_ndpr_t:,.6g} t: {sol.status}")
    return sol.objective


# --- output -------------------------------------------------------------------------------

def format_table(result: FrontierResult) -> str:
    """The frontier as a fixed-width terminal table."""
    table = result.table
    head = f"{'pt':>3} {'domestic NdPr t':>16} {'share':>7} {'objective':>18} {'cost/t':>14}  what changes"
    lines = [head]
    for r in table.itertuples():
        share = "" if r.domestic_ndpr_share is None or pd.isna(r.domestic_ndpr_share) \
            else f"{r.domestic_ndpr_share:.1%}"
        cost = "" if r.marginal_cost_per_t is None or pd.isna(r.marginal_cost_per_t) \
            else f"{r.marginal_cost_per_t:,.2f}"
        lines.append(f"{r.point:>3} {r.domestic_ndpr_t:>16,.3f} {share:>7} {r.objective:>18,.2f} "
                     f"{cost:>14}  {r.what_changes}")
    return "\n".join(lines)


def _cell(value):
    """An xlsxwriter-safe value, as the result workbook writes it."""
    from .writer import _cell_value

    return _cell_value(value)


def _run_info(result: FrontierResult) -> list[tuple[str, object]]:
    from .run import versions

    inputs = result.inputs
    return [("tool", "irel-alloc frontier"), *versions(),
            ("input", inputs.source if inputs is not None else ""),
            ("input_sha256", (inputs.sha256 or "") if inputs is not None else ""),
            ("scenario", result.scenario or ""), ("changes", "; ".join(result.changes)),
            ("strict", result.strict), ("points", len(result.table)),
            ("breakpoints", result.breakpoints), ("highs_solves", result.solves),
            ("simplex_iterations", result.iterations), ("seconds", round(result.seconds, 4)),
            ("walk_seconds", round(result.walk_seconds, 4))]


def write_frontier(result: FrontierResult, path: str | Path) -> Path:
    """Write the ``frontier`` sheet with its chart and ``run_info``, atomically."""
    from .writer import _atomic_write

    inputs = result.inputs
    protect = [inputs.path] if inputs is not None and inputs.path else []
    return _atomic_write(path, lambda tmp: _write_xlsx(result, tmp), protect=protect)


def _write_xlsx(result: FrontierResult, filename: str) -> None:
    import xlsxwriter

    table = result.table
    cur = result.inputs.settings["currency"] if result.inputs is not None else ""
    wb = xlsxwriter.Workbook(filename)
    bold = wb.add_format({"bold": True})
    formats = {"domestic_ndpr_share": wb.add_format({"num_format": "0.0%"}),
               "domestic_ndpr_t": wb.add_format({"num_format": "#,##0.000"}),
               "treaty_shortfall_t": wb.add_format({"num_format": "#,##0.000"})}
    money = wb.add_format({"num_format": "#,##0.00"})
    ws = wb.add_worksheet("frontier")
    for col, name in enumerate(table.columns):
        ws.write(0, col, name, bold)
        ws.set_column(col, col, 60 if name == "what_changes" else max(12, len(name) + 2),
                      formats.get(name, money if table[name].dtype.kind == "f" else None))
    for row, record in enumerate(table.itertuples(index=False), start=1):
        for col, value in enumerate(record):
            ws.write(row, col, _cell(value))
    ws.freeze_panes(1, 0)
    n = len(table)
    x_col, y_col = COLUMNS.index("domestic_ndpr_t"), COLUMNS.index("objective")
    chart = wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
    chart.add_series({"name": "objective", "categories": ["frontier", 1, x_col, n, x_col],
                      "values": ["frontier", 1, y_col, n, y_col], "marker": {"type": "circle"}})
    chart.set_title({"name": "The price of keeping NdPr at home"})
    chart.set_x_axis({"name": "domestic NdPr over the horizon (t, incl. NdPr in MRECL)",
                      "num_format": "#,##0", "visible": True, "major_gridlines": {"visible": True},
                      "min": math.floor(float(table["domestic_ndpr_t"].min()))})
    millions = float(table["objective"].abs().max()) >= 1e7
    # crossing "min": the x axis sits at the bottom even when objectives turn negative
    chart.set_y_axis({"name": f"objective ({cur}{' millions' if millions else ''}, present value)",
                      "num_format": "#,##0", "visible": True, "crossing": "min",
                      "display_units": "millions" if millions else None,
                      "display_units_visible": False})
    chart.set_legend({"none": True})
    chart.set_size({"width": 760, "height": 420})
    ws.insert_chart(n + 3, 0, chart)
    info = wb.add_worksheet("run_info")
    info.write_row(0, 0, ["key", "value"], bold)
    for row, (key, value) in enumerate(_run_info(result), start=1):
        info.write_row(row, 0, [key, _cell(value)])
    info.set_column(0, 1, 24)
    wb.close()
