"""Excel Solver's Limits report: how far each variable can move with the others held fixed.

For a decision variable x_j, with every other variable at its optimal value, the row
activities are ``act + A[:, j] * (x_j - x*_j)``. Each row ``lo_i <= act_i <= up_i`` with
``a = A[i, j] != 0`` bounds the step ``d = x_j - x*_j`` to
``[(lo_i - act_i) / a, (up_i - act_i) / a]`` (swapped when ``a < 0``); the column bounds
bound ``x_j`` itself. The lower and upper limit are the tightest of these, and the
"Target Result" at a limit is the objective there: ``z* + c_j * (limit - x*_j)``.

Everything is computed at once from the sparse matrix (one pass over its nonzeros), so
the report costs milliseconds even for large models. Balance rows (equalities) pin most
variables of a flow model to their optimal value; that is what Excel reports too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .highs import LpData, LpSolution

TOL = 1e-9
UNLIMITED = 1e30


def limits(lp: LpData, sol: LpSolution) -> pd.DataFrame:
    """One row per column: value, lower/upper limit and the objective at each limit.

    Infinite limits stay ``±inf`` (the writer shows them as Excel's 1E+30). The target
    result at an infinite limit is NaN (blank: the objective has no limit there), unless
    the variable has no objective coefficient (then it is the optimal objective).
    """
    A = lp.A.tocsc() if hasattr(lp.A, "tocsc") else lp.A
    x = np.asarray(sol.x, dtype=float)
    n = len(x)
    act = np.asarray(A @ x, dtype=float)  # recomputed: exact for the x we start from
    cols = np.repeat(np.arange(n), np.diff(A.indptr))
    rows = A.indices
    a = np.asarray(A.data, dtype=float)
    keep = np.abs(a) > TOL
    cols, rows, a = cols[keep], rows[keep], a[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        to_lower = (lp.row_lower[rows] - act[rows]) / a
        to_upper = (lp.row_upper[rows] - act[rows]) / a
    step_lo = np.where(a > 0, to_lower, to_upper)
    step_hi = np.where(a > 0, to_upper, to_lower)
    # A row already at its bound (to round-off) must not push the limit past x*.
    step_lo = np.minimum(np.where(np.isnan(step_lo), -np.inf, step_lo), 0.0)
    step_hi = np.maximum(np.where(np.isnan(step_hi), np.inf, step_hi), 0.0)
    down = np.full(n, -np.inf)
    up = np.full(n, np.inf)
    np.maximum.at(down, cols, step_lo)
    np.minimum.at(up, cols, step_hi)
    lower = np.minimum(np.maximum(x + down, lp.col_lower), x)
    upper = np.maximum(np.minimum(x + up, lp.col_upper), x)
    # A bound written as a huge finite number (1E+30 and beyond) is no bound.
    lower = np.where(lower <= -UNLIMITED, -np.inf, lower)
    upper = np.where(upper >= UNLIMITED, np.inf, upper)
    return pd.DataFrame({
        "variable": [name for name, _ in lp.col_keys],
        "index": [", ".join(map(str, idx)) for _, idx in lp.col_keys],
        "value": np.where(np.abs(x) < TOL, 0.0, x),
        "lower_limit": _clean(lower),
        "target_at_lower": _target(sol.objective, lp.c, lower, x),
        "upper_limit": _clean(upper),
        "target_at_upper": _target(sol.objective, lp.c, upper, x),
    })


def _clean(values: np.ndarray) -> np.ndarray:
    return np.where(np.abs(values) < TOL, 0.0, values)


def _target(objective: float, c: np.ndarray, limit: np.ndarray, x: np.ndarray) -> np.ndarray:
    """z* + c_j (limit_j - x*_j): NaN at an infinite limit, z* when c_j is 0."""
    finite = np.isfinite(limit)
    step = np.where(finite, limit - x, 0.0)
    moved = np.where(c == 0, 0.0, np.where(finite, c * step, np.nan))
    return objective + moved


__all__ = ["limits"]
