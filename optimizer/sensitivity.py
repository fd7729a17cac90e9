"""Sensitivity report with Excel Solver's semantics, and what a tonne of treaty is worth.

HiGHS's ``getRanging`` gives, for rows, the range of the *bound* over which the basis stays
optimal, but for a basic (non-binding) row it reports the range of the row's *activity*.
Excel's Sensitivity report instead says, for a non-binding row, that the RHS may grow
without limit (≤) or shrink without limit (≥) and move the other way by its slack. This
module converts explicitly:

==================  =======================  =======================
row                 allowable increase       allowable decrease
==================  =======================  =======================
binding (nonbasic)  row_bound_up − rhs       rhs − row_bound_dn
basic ≤             ∞                        slack
basic ≥             slack                    ∞
==================  =======================  =======================

Cost ranging needs no conversion: increase = col_cost_up − c, decrease = c − col_cost_dn.
All values are in the objective's units (present-value currency) per unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .highs import INF, LpData, LpSolution


@dataclass
class Ranges:
    row_increase: np.ndarray
    row_decrease: np.ndarray
    col_increase: np.ndarray
    col_decrease: np.ndarray


def excel_ranges(lp: LpData, h, sol: LpSolution) -> Ranges:
    """RHS and cost ranging of an optimal basis, converted to Excel Solver's semantics."""
    status, rng = h.getRanging()
    n_row, n_col = len(lp.row_lower), len(lp.c)
    if not rng.valid:
        nan_r, nan_c = np.full(n_row, np.nan), np.full(n_col, np.nan)
        return Ranges(nan_r, nan_r.copy(), nan_c, nan_c.copy())
    rhs = lp.rhs
    up = np.asarray(rng.row_bound_up.value_, dtype=float)[:n_row]
    dn = np.asarray(rng.row_bound_dn.value_, dtype=float)[:n_row]
    slack = np.abs(rhs - sol.activity)
    basic = sol.row_basic & (lp.row_sense != 0)
    le, ge = basic & (lp.row_sense > 0), basic & (lp.row_sense < 0)
    increase = np.where(le, INF, np.where(ge, slack, np.maximum(up - rhs, 0.0)))
    decrease = np.where(ge, INF, np.where(le, slack, np.maximum(rhs - dn, 0.0)))
    c = lp.c
    cost_up = np.asarray(rng.col_cost_up.value_, dtype=float)[:n_col]
    cost_dn = np.asarray(rng.col_cost_dn.value_, dtype=float)[:n_col]
    return Ranges(increase, decrease, np.maximum(cost_up - c, 0.0), np.maximum(c - cost_dn, 0.0))


def variables_table(lp: LpData, sol: LpSolution, ranges: Ranges | None) -> pd.DataFrame:
    """One row per variable: value, reduced cost, objective coefficient and its ranging."""
    frame = pd.DataFrame({
        "variable": [name for name, _ in lp.col_keys],
        "index": [", ".join(map(str, idx)) for _, idx in lp.col_keys],
        "value": np.where(np.abs(sol.x) < 1e-9, 0.0, sol.x),
        "reduced_cost": sol.reduced_cost + 0.0,
        "objective_coef": lp.c,
    })
    if ranges is not None:
        frame["allowable_increase"] = ranges.col_increase
        frame["allowable_decrease"] = ranges.col_decrease
    return frame


def treaty_release(inputs, lp: LpData, h, sol: LpSolution) -> dict[tuple, tuple[str, float]]:
    """For each treaty demand row: who absorbs a tonne released from the treaty, and its value.

    A re-solve answers it: cap the treaty delivery 1 t below today's (and lower the minimum
    to match so no penalty applies), hot-start, and see which domestic buyer's tonnes grow
    most over the horizon (NdPr first). The objective change is the value of releasing
    that tonne. Duals alone cannot say this when several buyers share one product balance.
    """
    from .report import Values, ndpr_product
    from .schema import MRECL

    P = inputs.params
    ndpr = ndpr_product(P)
    base = Values(lp, sol)
    col_of = {key: j for j, key in enumerate(lp.col_keys)}
    row_of = {key: i for i, key in enumerate(lp.row_keys)}
    out: dict[tuple, tuple[str, float]] = {}
    for d in P.DEMAND:
        k, q, t = d
        if not P.treaty[k]:
            continue
        cols = ([col_of[("mixed_sale_t", (m, k, t))] for m in P.MINES] if q == MRECL
                else [col_of[("sale_t", d)]])
        delivered = float(sum(sol.x[j] for j in cols))
        if delivered < 1.0 - 1e-9:
            out[d] = ("nothing delivered to release", 0.0)
            continue
        who, value = _release_one(inputs, lp, h, sol, base, cols,
                                  row_of.get(("demand_min", d)), delivered, ndpr)
        if delivered > P.min_t[d] * P.years[t] + 1e-6:
            # Above the minimum the delivery is chosen, not forced; a re-solve then lands on
            # a different mix, so only its value is meaningful.
            who = f"not forced: {k} takes more than its minimum because it pays"
        out[d] = (who, value)
    return out


def _release_one(inputs, lp, h, sol, base, cols, min_row, delivered, ndpr) -> tuple[str, float]:
    from .highs import run_highs
    from .report import Values

    P = inputs.params
    h.addRow(-INF, delivered - 1.0, len(cols), np.array(cols, dtype=np.int32),
             np.ones(len(cols)))
    new_row = h.getNumRow() - 1
    if min_row is not None:
        h.changeRowBounds(min_row, min(lp.row_lower[min_row], delivered - 1.0), lp.row_upper[min_row])
    try:
        released = run_highs(h)
        if released.status != "optimal":
            return ("no feasible way to release a tonne", float("nan"))
        after = Values(lp, _trim(released, len(lp.row_lower)))
    finally:
        h.deleteRows(1, np.array([new_row], dtype=np.int32))
        if min_row is not None:
            h.changeRowBounds(min_row, lp.row_lower[min_row], lp.row_upper[min_row])
    totals: dict[tuple[str, str], float] = {}
    for (k, q, t) in P.DEMAND:
        if P.kind[k] == "domestic" and q != "MRECL":
            delta = after("sale_t", k, q, t) - base("sale_t", k, q, t)
            if delta > 1e-6:
                totals[k, q] = totals.get((k, q), 0.0) + delta
    if not totals:
        who = "no domestic buyer (released material goes to stock, spot or disposal)"
    else:
        ranked = sorted(totals.items(), key=lambda kv: (kv[0][1] != ndpr, -kv[1], kv[0]))
        who = ", ".join(f"{k} (+{v:.3g} t {q})" for (k, q), v in ranked[:3])
    return who, float(released.objective - sol.objective)


def _trim(sol: LpSolution, n_row: int) -> LpSolution:
    """The solution without the temporary row, so row arrays line up with the LP again."""
    sol.activity, sol.dual, sol.row_basic = sol.activity[:n_row], sol.dual[:n_row], sol.row_basic[:n_row]
    return sol
