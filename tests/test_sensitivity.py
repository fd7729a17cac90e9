"""Sensitivity analysis (docs/outputs.md): duals, RHS and cost ranging with Excel Solver semantics,
and the treaty sheet's price of a tonne of commitment.

Three kinds of evidence:

1. **The textbook.** Wyndor Glass (Hillier & Lieberman, ch. 3-4) has a published Excel
   Sensitivity report; the generic LP adapter (``LpData`` -> ``new_highs`` -> ``run_highs``)
   and ``excel_ranges`` must reproduce it, including the Excel convention for non-binding
   rows (which is *not* what HiGHS's ``getRanging`` reports raw).
2. **Finite differences on the bundled base case.** Moving a right-hand side (or a cost)
   inside its reported range must move the objective by exactly dual x change (or keep the
   plan); moving it past the range must break that linearity.
3. **The treaty sheet**, cross-checked against the constraints table.

Sign convention for this maximisation: the dual is d(objective)/d(rhs), so a binding ``<=``
row has dual >= 0 and a binding ``>=`` row (a demand minimum) has dual <= 0.
"""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

import optimizer
from optimizer.highs import INF, LpData, new_highs, run_highs
from optimizer.sensitivity import excel_ranges, variables_table

BASE_CASE = Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx"
NDPR_SHARE_OF_MRECL = 0.241  # composition sheet: NdPr share of REO, every mine


# --- Wyndor Glass --------------------------------------------------------------------------

def wyndor(*, ge: bool = False, extra_product: tuple[float, list[float]] | None = None
           ) -> LpData:
    """max 3 x1 + 5 x2  s.t.  plant 1: x1 <= 4,  plant 2: 2 x2 <= 12,  plant 3: 3 x1 + 2 x2 <= 18.

    ``ge`` writes plants 1 and 3 as ``>=`` rows (-x1 >= -4, -3 x1 - 2 x2 >= -18): the same
    LP, so the same plan, with the signs of those rows' duals and ranges mirrored.
    ``extra_product`` = (profit, [use in plant 1, 2, 3]) adds a third column.
    """
    cols = [[1.0, 0.0, 3.0], [0.0, 2.0, 2.0]]
    c = [3.0, 5.0]
    if extra_product is not None:
        c.append(extra_product[0])
        cols.append(list(extra_product[1]))
    A = np.array(cols).T
    lower, upper = np.full(3, -INF), np.array([4.0, 12.0, 18.0])
    sense = np.array([1, 1, 1], dtype=np.int8)
    if ge:
        for i in (0, 2):
            A[i] = -A[i]
            lower[i], upper[i], sense[i] = -upper[i], INF, -1
    n = len(c)
    return LpData(
        A=scipy.sparse.csc_array(A), c=np.array(c), row_lower=lower, row_upper=upper,
        row_sense=sense, col_lower=np.zeros(n), col_upper=np.full(n, INF),
        col_keys=[("x", (str(j + 1),)) for j in range(n)],
        row_keys=[("plant", (str(i + 1),)) for i in range(3)])


def solved(lp: LpData):
    h = new_highs(lp)
    sol = run_highs(h)
    assert sol.status == "optimal"
    return h, sol, excel_ranges(lp, h, sol)


def test_wyndor_matches_the_published_excel_sensitivity_report():
    lp = wyndor()
    h, sol, ranges = solved(lp)
    assert sol.objective == pytest.approx(36.0)

    # Variable cells: final value, reduced cost, objective coefficient, allowable +/-.
    table = variables_table(lp, sol, ranges)
    assert list(table["variable"]) == ["x", "x"]
    assert list(table["index"]) == ["1", "2"]
    assert list(table["value"]) == pytest.approx([2.0, 6.0])
    assert list(table["reduced_cost"]) == pytest.approx([0.0, 0.0], abs=1e-12)
    assert list(table["objective_coef"]) == [3.0, 5.0]
    assert list(table["allowable_increase"]) == pytest.approx([4.5, INF])
    assert list(table["allowable_decrease"]) == pytest.approx([3.0, 3.0])

    # Constraints: final value, shadow price, RHS, allowable +/-.
    assert list(sol.activity) == pytest.approx([2.0, 12.0, 18.0])
    assert list(sol.dual) == pytest.approx([0.0, 1.5, 1.0], abs=1e-12)
    assert list(lp.rhs) == [4.0, 12.0, 18.0]
    # Plant 1 is not binding (slack 2): Excel says 1E+30 up and the slack down.
    assert list(ranges.row_increase) == pytest.approx([INF, 6.0, 6.0])
    assert list(ranges.row_decrease) == pytest.approx([2.0, 6.0, 6.0])


def test_wyndor_basic_row_is_converted_not_copied_from_highs():
    """HiGHS ranges a basic row's *activity*; Excel's RHS ranging differs and is what we report."""
    lp = wyndor()
    h, sol, ranges = solved(lp)
    assert sol.row_basic[0] and not sol.row_basic[1] and not sol.row_basic[2]
    _, raw = h.getRanging()
    rhs = lp.rhs[0]
    raw_increase = raw.row_bound_up.value_[0] - rhs
    raw_decrease = rhs - raw.row_bound_dn.value_[0]
    # What a naive copy of HiGHS would say for plant 1 ...
    assert raw_increase != pytest.approx(ranges.row_increase[0])
    assert raw_decrease != pytest.approx(ranges.row_decrease[0])
    assert math.isfinite(raw_increase)
    # ... and what we report (Excel): increase = infinity, decrease = slack.
    assert ranges.row_increase[0] == INF
    assert ranges.row_decrease[0] == pytest.approx(rhs - sol.activity[0]) == pytest.approx(2.0)
    # For the binding (nonbasic) rows the raw bound ranging *is* the Excel answer.
    for i in (1, 2):
        assert ranges.row_increase[i] == pytest.approx(raw.row_bound_up.value_[i] - lp.rhs[i])
        assert ranges.row_decrease[i] == pytest.approx(lp.rhs[i] - raw.row_bound_dn.value_[i])


def test_wyndor_with_ge_rows_mirrors_duals_and_ranges():
    """-x1 >= -4 (non-binding) and -3 x1 - 2 x2 >= -18 (binding): the same plan and objective.

    A non-binding >= row gets increase = slack and decrease = infinity. The binding >= row
    has dual -1 (raising its RHS tightens the plant) and the mirrored range +6/-6.
    """
    lp = wyndor(ge=True)
    h, sol, ranges = solved(lp)
    assert sol.objective == pytest.approx(36.0)
    assert list(sol.x) == pytest.approx([2.0, 6.0])
    assert list(sol.dual) == pytest.approx([0.0, 1.5, -1.0], abs=1e-12)
    slack = sol.activity[0] - lp.row_lower[0]
    assert slack == pytest.approx(2.0)
    assert ranges.row_increase[0] == pytest.approx(slack)
    assert ranges.row_decrease[0] == INF
    assert list(ranges.row_increase[1:]) == pytest.approx([6.0, 6.0])
    assert list(ranges.row_decrease[1:]) == pytest.approx([6.0, 6.0])
    # Cost ranging does not depend on how the rows are written.
    assert list(ranges.col_increase) == pytest.approx([4.5, INF])
    assert list(ranges.col_decrease) == pytest.approx([3.0, 3.0])
    # The raw HiGHS figure for the basic >= row is again the activity range, not Excel's.
    _, raw = h.getRanging()
    assert raw.row_bound_up.value_[0] - lp.rhs[0] != pytest.approx(ranges.row_increase[0])


def test_wyndor_nonbasic_product_cost_ranging():
    """A third product, profit 2, using 1 h of each plant, is not made (reduced cost
    2 - (0 + 1.5 + 2) = -1.5): Excel says it may rise by 1.5 and fall without limit."""
    lp = wyndor(extra_product=(2.0, [1.0, 1.0, 2.0]))
    h, sol, ranges = solved(lp)
    assert sol.objective == pytest.approx(36.0)
    assert list(sol.x) == pytest.approx([2.0, 6.0, 0.0])
    table = variables_table(lp, sol, ranges)
    row = table.iloc[2]
    assert row["value"] == 0.0
    assert row["reduced_cost"] == pytest.approx(-1.5)
    assert row["allowable_increase"] == pytest.approx(1.5)
    assert row["allowable_decrease"] == INF


def test_wyndor_duals_and_ranges_by_finite_difference():
    """Each plant's RHS moved inside its range moves the objective by dual x change."""
    lp = wyndor()
    _, sol, ranges = solved(lp)
    for i in range(3):
        for step in (0.5 * min(ranges.row_increase[i], 2.0), -0.5 * ranges.row_decrease[i]):
            moved = with_rhs(lp, i, step)
            again = run_highs(new_highs(moved))
            assert again.objective - sol.objective == pytest.approx(sol.dual[i] * step, abs=1e-9)


# --- the bundled base case -----------------------------------------------------------------

@pytest.fixture(scope="module")
def base():
    result = optimizer.solve(optimizer.read_inputs(BASE_CASE))
    assert result.status == "optimal"
    return result


def row_number(result, family: str, index: str) -> int:
    key = (family, tuple(index.split(", ")))
    return result.lp.row_keys.index(key)


def col_number(result, variable: str, index: str) -> int:
    key = (variable, tuple(index.split(", ")))
    return result.lp.col_keys.index(key)


def con(result, family: str, index: str):
    table = result.tables["constraints"]
    rows = table[(table["family"] == family) & (table["index"] == index)]
    assert len(rows) == 1, f"{family}[{index}]: {len(rows)} rows"
    return rows.iloc[0]


def var(result, variable: str, index: str):
    table = result.tables["variables"]
    rows = table[(table["variable"] == variable) & (table["index"] == index)]
    assert len(rows) == 1, f"{variable}[{index}]: {len(rows)} rows"
    return rows.iloc[0]


def with_rhs(lp: LpData, i: int, step: float) -> LpData:
    """A copy of ``lp`` with row i's right-hand side moved by ``step``."""
    lower, upper = lp.row_lower.copy(), lp.row_upper.copy()
    if lp.row_sense[i] <= 0:
        lower[i] += step
    if lp.row_sense[i] >= 0:
        upper[i] += step
    return dataclasses.replace(lp, row_lower=lower, row_upper=upper)


def with_cost(lp: LpData, j: int, step: float) -> LpData:
    c = lp.c.copy()
    c[j] += step
    return dataclasses.replace(lp, c=c)


def resolve(lp: LpData):
    sol = run_highs(new_highs(lp))
    assert sol.status == "optimal"
    return sol


# Binding rows with a non-zero dual and a non-degenerate range in the base case.
FD_ROWS = [
    ("separation_capacity", "P_RED, FY2030"),   # <= , dual > 0
    ("separation_capacity", "P_RED, FY2032"),
    ("demand_min", "X_TREI, MRECL, FY2026"),    # >= , dual < 0 (the treaty minimum)
    ("demand_min", "X_TREI, MRECL, FY2028"),    # allowable decrease only 2.4 t
    ("mine_capacity", "M_OSCOM, FY2026"),       # an approved mine
    ("mine_capacity", "M_KK, FY2029"),          # a pending mine, approved from FY2029
]


@pytest.mark.parametrize("family,index", FD_ROWS)
def test_dual_is_the_objective_change_inside_the_allowable_range(base, family, index):
    row = con(base, family, index)
    assert row["binding"] == "yes"
    assert abs(row["dual"]) > 1.0
    i = row_number(base, family, index)
    assert base.solution.dual[i] == row["dual"]
    for step in (min(1.0, 0.5 * row["allowable_increase"]),
                 -min(1.0, 0.5 * row["allowable_decrease"])):
        assert step != 0.0
        moved = resolve(with_rhs(base.lp, i, step))
        assert moved.objective - base.objective == pytest.approx(
            row["dual"] * step, rel=1e-6, abs=1e-3), f"{family}[{index}] moved by {step}"


def old_basis_at(lp: LpData, basis) -> tuple[str, int]:
    """Load ``basis`` into a fresh HiGHS holding ``lp`` and price it without a pivot:
    (model status, number of primal infeasibilities). 'Optimal' means the basis still is."""
    h = new_highs(lp, options={"presolve": "off", "simplex_iteration_limit": 0})
    h.setBasis(basis)
    h.run()
    return h.modelStatusToString(h.getModelStatus()), int(h.getInfo().num_primal_infeasibilities)


@pytest.fixture(scope="module")
def base_basis(base):
    h = new_highs(base.lp)
    sol = run_highs(h)
    assert sol.objective == pytest.approx(base.objective, rel=1e-12)
    return h.getBasis()


@pytest.mark.parametrize("family,index", FD_ROWS)
def test_allowable_range_is_where_the_optimal_basis_changes(base, base_basis, family, index):
    """Just inside the range the optimal basis still prices out optimal with no pivot;
    just past either end it is primal infeasible, so the basis must change."""
    row = con(base, family, index)
    i = row_number(base, family, index)
    for allowable, sign in ((row["allowable_increase"], 1.0), (row["allowable_decrease"], -1.0)):
        assert math.isfinite(allowable) and allowable > 0
        inside = old_basis_at(with_rhs(base.lp, i, sign * 0.999 * allowable), base_basis)
        assert inside == ("Optimal", 0), f"{family}[{index}] {sign * 0.999 * allowable:+}"
        past = sign * (allowable + max(1e-3, 1e-3 * allowable))
        status, infeasible = old_basis_at(with_rhs(base.lp, i, past), base_basis)
        assert status != "Optimal" and infeasible >= 1, f"{family}[{index}] {past:+}"


# Rows whose marginal value really changes at the end of the range. (For the others in
# FD_ROWS, e.g. the X_TREI minimum in FY2026, the basis changes at the reported end but the
# LP is dual degenerate and the next basis has the same dual: the objective stays linear
# further than the range says. Excel's basis-based ranging is conservative the same way.)
KINK_ROWS = [
    ("separation_capacity", "P_RED, FY2030"),
    ("mine_capacity", "M_OSCOM, FY2026"),
    ("mine_capacity", "M_KK, FY2029"),
]


@pytest.mark.parametrize("family,index", KINK_ROWS)
def test_past_the_allowable_increase_the_dual_no_longer_holds(base, family, index):
    row = con(base, family, index)
    increase = row["allowable_increase"]
    assert math.isfinite(increase)
    i = row_number(base, family, index)
    step = increase + max(1.0, 0.1 * increase)
    moved = resolve(with_rhs(base.lp, i, step))
    linear = row["dual"] * step
    change = moved.objective - base.objective
    assert moved.dual[i] != pytest.approx(row["dual"], rel=1e-6), f"{family}[{index}] +{step}"
    assert change != pytest.approx(linear, rel=1e-6, abs=1e-3)
    # The objective is concave in a right-hand side: past the breakpoint it gains less.
    assert change < linear


def test_past_the_allowable_decrease_the_dual_no_longer_holds(base):
    row = con(base, "separation_capacity", "P_RED, FY2030")
    i = row_number(base, "separation_capacity", "P_RED, FY2030")
    step = -(row["allowable_decrease"] + max(1.0, 0.1 * row["allowable_decrease"]))
    moved = resolve(with_rhs(base.lp, i, step))
    assert moved.dual[i] != pytest.approx(row["dual"], rel=1e-6)
    assert moved.objective - base.objective < row["dual"] * step - 1e-3


# Basic variables with a positive value and room both ways in their cost range. (Base case:
# Midwest buys no NdPr in FY2026, the stock waits for FY2027's higher price, and Dy goes to the
# strategic stock, not to spot; so FY2028 Midwest NdPr and FY2027 spot Gd are used.)
COST_COLUMNS = [
    ("mine_t", "M_OSCOM, FY2026"),
    ("sale_t", "D_MIDWEST, NdPr, FY2028"),
    ("sale_t", "D_REPM, Sm, FY2026"),
    ("sale_t", "X_SPOT, Gd, FY2027"),
]


@pytest.mark.parametrize("variable,index", COST_COLUMNS)
def test_cost_change_inside_the_range_keeps_the_plan(base, variable, index):
    row = var(base, variable, index)
    assert row["value"] > 0 and row["reduced_cost"] == pytest.approx(0.0, abs=1e-9)
    j = col_number(base, variable, index)
    assert base.lp.c[j] == row["objective_coef"]
    for step in (0.5 * min(row["allowable_increase"], 2000.0),
                 -0.5 * min(row["allowable_decrease"], 2000.0)):
        moved = resolve(with_cost(base.lp, j, step))
        assert moved.x == pytest.approx(base.solution.x, abs=1e-6), \
            f"{variable}[{index}] cost {step:+}: the plan changed"
        assert moved.objective - base.objective == pytest.approx(
            step * base.solution.x[j], rel=1e-6, abs=1e-3)


def test_cost_change_past_the_range_changes_the_plan(base):
    row = var(base, "sale_t", "X_SPOT, Gd, FY2027")
    j = col_number(base, "sale_t", "X_SPOT, Gd, FY2027")
    for step in (row["allowable_increase"] * 1.1, -row["allowable_decrease"] * 1.1):
        moved = resolve(with_cost(base.lp, j, step))
        assert not np.allclose(moved.x, base.solution.x, atol=1e-6), f"cost {step:+}"
        # Re-optimising beats keeping the old plan at the new prices.
        assert moved.objective > base.objective + step * base.solution.x[j] + 1e-6


def test_dual_signs_of_binding_rows(base):
    """max: binding <= rows have dual >= 0, binding >= rows dual <= 0; slack rows dual 0."""
    table = base.tables["constraints"]
    binding = table[table["binding"] == "yes"]
    le, ge = binding[binding["sense"] == "<="], binding[binding["sense"] == ">="]
    assert len(le) and len(ge)
    assert (le["dual"] >= -1e-9).all(), le[le["dual"] < -1e-9][["family", "index", "dual"]]
    assert (ge["dual"] <= 1e-9).all(), ge[ge["dual"] > 1e-9][["family", "index", "dual"]]
    slack = table[table["binding"] == "no"]
    assert (slack["dual"].abs() <= 1e-9).all()


def test_constraints_table_ranging_follows_excel_semantics(base):
    table = base.tables["constraints"]
    assert (table["allowable_increase"] >= 0).all() and (table["allowable_decrease"] >= 0).all()
    loose = table[table["binding"] == "no"]
    le, ge = loose[loose["sense"] == "<="], loose[loose["sense"] == ">="]
    assert len(le) and len(ge)
    assert (le["allowable_increase"] == INF).all()
    assert le["allowable_decrease"].to_numpy() == pytest.approx(le["slack"].to_numpy())
    assert (ge["allowable_decrease"] == INF).all()
    assert ge["allowable_increase"].to_numpy() == pytest.approx(ge["slack"].to_numpy())


# --- the treaty sheet ----------------------------------------------------------------------

def test_treaty_sheet(base):
    treaty = base.tables["treaty"]
    P = base.inputs.params
    assert list(treaty["period"]) == P.PERIODS
    assert set(treaty["customer"]) == {"X_TREI"} and set(treaty["product"]) == {"MRECL"}
    alloc = base.tables["allocation"]
    for r in treaty.itertuples():
        assert r.committed_min_t == pytest.approx(1000.0 * P.years[r.period])
        sold = alloc[(alloc["customer"] == r.customer) & (alloc["product"] == r.product)
                     & (alloc["period"] == r.period)]["tonnes"].sum()
        assert r.delivered_t == pytest.approx(sold)
        assert r.delivered_t >= r.committed_min_t - 1e-6 and r.shortfall_t == pytest.approx(0)
        assert r.ndpr_content_t == pytest.approx(r.delivered_t * NDPR_SHARE_OF_MRECL)
        row = con(base, "demand_min", f"{r.customer}, {r.product}, {r.period}")
        assert r.min_dual == row["dual"]
        assert r.min_binding == row["binding"]


def test_treaty_release_value_where_the_minimum_binds(base):
    """Releasing 1 t of a binding treaty minimum is worth -dual (it is inside the range)."""
    treaty = base.tables["treaty"]
    kind = base.inputs.params.kind
    binds = treaty[treaty["min_binding"] == "yes"]
    assert len(binds) >= 1
    for r in binds.itertuples():
        row = con(base, "demand_min", f"{r.customer}, {r.product}, {r.period}")
        assert row["allowable_decrease"] >= 1.0  # so the 1 t release is linear
        assert r.min_dual < 0
        assert r.release_value_per_t == pytest.approx(-r.min_dual, rel=1e-6, abs=1e-3)
        buyer = r.release_absorbed_by.split(" ")[0]
        assert kind.get(buyer) == "domestic", r.release_absorbed_by
    # Where the treaty takes more than its minimum, capping it can only cost money.
    free = treaty[treaty["min_binding"] == "no"]
    assert len(free) >= 1
    for r in free.itertuples():
        assert r.min_dual == pytest.approx(0.0, abs=1e-9)
        assert r.release_value_per_t <= 1e-6
        assert r.release_absorbed_by.startswith("not forced")


def test_without_sensitivity_no_ranging(base):
    plain = optimizer.solve(base.inputs, sensitivity=False)
    assert plain.objective == pytest.approx(base.objective, rel=1e-12)
    assert "variables" not in plain.tables
    cons = plain.tables["constraints"]
    assert "allowable_increase" not in cons and "allowable_decrease" not in cons
    assert "dual" in cons
    full = base.tables["constraints"]
    assert list(cons.columns) == [c for c in full.columns
                                  if c not in ("allowable_increase", "allowable_decrease")]
    assert cons["dual"].to_numpy() == pytest.approx(full["dual"].to_numpy())


# --- the public name ``optimizer.solve`` -----------------------------------------------------

@pytest.mark.parametrize("first", ["from optimizer import run",
                                   "import optimizer.highs",
                                   "import optimizer.sensitivity"])
def test_public_solve_survives_importing_submodules_first(first):
    """Regression: the LP adapter used to be the submodule ``optimizer/solve.py``; importing
    it (directly or via run/report/sensitivity) before the first ``optimizer.solve`` lookup
    left ``optimizer.solve`` bound to the module, so ``optimizer.solve(inputs)`` raised
    TypeError: 'module' object is not callable. Fresh interpreters, so import order is real."""
    code = (f"{first}\nimport optimizer, optimizer.run\n"
            "print(optimizer.solve is optimizer.run.solve)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.strip() == "True"
