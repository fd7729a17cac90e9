"""The NdPr frontier: exact breakpoints on a hand-solvable instance, properties on the base case.

The hand-solvable instance (one period, recovery 1, no costs; NdPr share 0.6, B share 0.4):

    mine M1 100 t monazite at grade 0.5 -> 50 t REO; separation plant S1 takes at most 30 t REO
    X1 (export)   NdPr   20/t, max 10 t        -> 12 per t REO separated
    K1 (domestic) NdPr   10/t, max 1000 t      ->  6 per t REO separated
    X2 (export)   MRECL   8/t REO, max 20 t    ->  8 per t REO (0.6 t NdPr inside leaves)
    KM (domestic) MRECL   5/t REO, max 10 t    ->  5 per t REO (0.6 t NdPr inside stays)

Plain optimum: separate 30 t REO (18 t NdPr: 10 to X1, 8 to K1) and sell 20 t REO to X2:
200 + 80 + 160 = 440, domestic NdPr 8 t. To keep more at home:
- move REO from X2 to KM: -3 per t REO, +0.6 t domestic NdPr -> 5 per t NdPr, until KM is
  full (10 t REO, +6 t): b = 14, objective 440 - 6·5 = 410;
- then move NdPr from X1 to K1: -10 per t, until X1 has none (+10 t): b = 24, objective
  410 - 10·10 = 310. Nothing else can stay home: 24 is the most.
All 30 t NdPr always leave the plant (18 t separated + 0.6·20 t in MRECL), so the shares are
8/30, 14/30 and 24/30. The breakpoint at 14 exists only because NdPr inside domestic MRECL
counts as kept at home.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import tiny
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizer
from optimizer.errors import InputError, OutputError, SolverError
from optimizer.inputs import ModelInputs

REPO = Path(__file__).resolve().parents[1]
BASE_CASE = REPO / "inputs" / "base_case.xlsx"


def _demand(customer: str, product: str, price: float, max_t: float) -> dict:
    return {"customer": customer, "product": product, "period": None, "min_t": 0,
            "max_t": max_t, "price": price}


def ndpr_frames(**overrides) -> dict:
    """The instance of the module docstring (tests/tiny.py with NdPr and four buyers)."""
    sheets = dict(
        composition=[{"mine": None, "product": "NdPr", "share": 0.6},
                     {"mine": None, "product": "B", "share": 0.4}],
        plants=[{"plant": "C1", "stage": "cracking", "capacity_t": 1000, "recovery": 1.0,
                 "unit_cost": 0},
                {"plant": "S1", "stage": "separation", "capacity_t": 30, "recovery": 1.0,
                 "unit_cost": 0}],
        products=[{"product": "NdPr", "storage_capacity_t": None, "initial_stock_t": 0},
                  {"product": "B", "storage_capacity_t": None, "initial_stock_t": 0}],
        customers=[{"customer": k, "kind": kind, "treaty": False} for k, kind in
                   (("K1", "domestic"), ("KM", "domestic"), ("X1", "export"), ("X2", "export"))],
        demand=[_demand("K1", "NdPr", 10, 1000), _demand("X1", "NdPr", 20, 10),
                _demand("X2", "MRECL", 8, 20), _demand("KM", "MRECL", 5, 10)])
    sheets.update(overrides)
    return tiny.frames(**sheets)


@pytest.fixture(scope="module")
def hand() -> optimizer.FrontierResult:
    return optimizer.frontier(ModelInputs.from_frames(ndpr_frames()))


@pytest.fixture(scope="module")
def base_inputs() -> ModelInputs:
    return optimizer.read_inputs(BASE_CASE)


@pytest.fixture(scope="module")
def base(base_inputs) -> optimizer.FrontierResult:
    return optimizer.frontier(base_inputs)


# ---------------------------------------------------------------- the hand-solved instance

def test_hand_breakpoints_are_exact(hand):
    """(8, 440) -> (14, 410) -> (24, 310), costing 5 then 10 per tonne (module docstring)."""
    t = hand.table
    assert t["domestic_ndpr_t"].tolist() == pytest.approx([8, 14, 24], abs=1e-9)
    assert t["objective"].tolist() == pytest.approx([440, 410, 310], abs=1e-9)
    assert np.isnan(t["marginal_cost_per_t"].iloc[0])
    assert t["marginal_cost_per_t"].iloc[1:].tolist() == pytest.approx([5, 10], abs=1e-9)
    assert t["domestic_ndpr_share"].tolist() == pytest.approx([8 / 30, 14 / 30, 24 / 30])
    assert t["cost_vs_optimum"].tolist() == pytest.approx([0, 30, 130], abs=1e-9)
    assert hand.breakpoints == 1


def test_hand_names_what_changes(hand):
    """Beyond 8 t X2's cap stops binding and KM starts buying; at 14 t KM's cap binds and
    X1's stops (X1 starts giving up NdPr)."""
    what = hand.table["what_changes"].tolist()
    assert what[0].startswith("the current optimum; beyond it ")
    assert "stops binding: demand_max[X2, MRECL, T1]" in what[0]
    assert "starts: mixed_sale_t[M1, KM, T1]" in what[0]
    assert "starts binding: demand_max[KM, MRECL, T1]" in what[1]
    assert "stops binding: demand_max[X1, NdPr, T1]" in what[1]
    assert what[2] == "the most NdPr the model can keep at home"


def test_hand_without_domestic_mrecl_loses_the_first_segment():
    """Without KM, domestic NdPr rises only by X1 -> K1 at 10/t: (8, 440) -> (18, 340)."""
    frames = ndpr_frames(demand=[_demand("K1", "NdPr", 10, 1000), _demand("X1", "NdPr", 20, 10),
                                 _demand("X2", "MRECL", 8, 20)])
    t = optimizer.frontier(ModelInputs.from_frames(frames)).table
    assert t["domestic_ndpr_t"].tolist() == pytest.approx([8, 18], abs=1e-9)
    assert t["objective"].tolist() == pytest.approx([440, 340], abs=1e-9)


def test_a_single_point_when_nothing_more_can_stay_home():
    """K1 capped at 8 t and no KM: the optimum already keeps the most at home (8 t)."""
    frames = ndpr_frames(demand=[_demand("K1", "NdPr", 10, 8), _demand("X1", "NdPr", 20, 10),
                                 _demand("X2", "MRECL", 8, 20)])
    result = optimizer.frontier(ModelInputs.from_frames(frames))
    assert result.table["domestic_ndpr_t"].tolist() == pytest.approx([8])
    assert "already the most NdPr" in result.table["what_changes"].iloc[0]
    assert result.breakpoints == 0


def test_no_ndpr_product_is_an_input_error():
    """One mutation: the product is called Nd instead of NdPr."""
    frames = ndpr_frames(
        composition=[{"mine": None, "product": "Nd", "share": 0.6},
                     {"mine": None, "product": "B", "share": 0.4}],
        products=[{"product": "Nd", "storage_capacity_t": None, "initial_stock_t": 0},
                  {"product": "B", "storage_capacity_t": None, "initial_stock_t": 0}],
        demand=[_demand("K1", "Nd", 10, 1000)])
    with pytest.raises(InputError, match="needs an NdPr product"):
        optimizer.frontier(ModelInputs.from_frames(frames))


def test_strict_infeasible_plain_model_is_reported():
    """One mutation: K1 must take at least 100 t NdPr, but the plant makes at most 18 t."""
    from optimizer.errors import InfeasibleError

    frames = ndpr_frames(demand=[{**_demand("K1", "NdPr", 10, 1000), "min_t": 100}])
    with pytest.raises(InfeasibleError, match="irel-alloc explain"):
        optimizer.frontier(ModelInputs.from_frames(frames), strict=True)


def test_the_module_does_not_shadow_the_function():
    """Importing the module (named frontiers, as sweeps) leaves ``optimizer.frontier`` callable."""
    import optimizer.frontiers as module

    result = optimizer.frontier(ModelInputs.from_frames(ndpr_frames()))
    assert isinstance(result, module.FrontierResult)
    assert optimizer.FrontierResult is module.FrontierResult
    assert optimizer.frontier is module.frontier


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x1=st.tuples(st.integers(11, 30), st.integers(0, 20)),
       x2=st.tuples(st.integers(1, 12), st.integers(0, 40)),
       km=st.tuples(st.integers(1, 6), st.integers(0, 20)), sep=st.integers(10, 50))
def test_random_instances_match_cold_solves(x1, x2, km, sep):
    """Random prices and caps (price, max_t): every point and every segment midpoint equals a
    cold solve, the objective falls and each tonne costs at least as much as the one before."""
    from optimizer.frontiers import objective_at

    frames = ndpr_frames(
        plants=[{"plant": "C1", "stage": "cracking", "capacity_t": 1000, "recovery": 1.0,
                 "unit_cost": 0},
                {"plant": "S1", "stage": "separation", "capacity_t": sep, "recovery": 1.0,
                 "unit_cost": 0}],
        demand=[_demand("K1", "NdPr", 10, 1000), _demand("X1", "NdPr", *x1),
                _demand("X2", "MRECL", *x2), _demand("KM", "MRECL", *km)])
    inputs = ModelInputs.from_frames(frames)
    t = optimizer.frontier(inputs).table
    b, obj = t["domestic_ndpr_t"].to_numpy(), t["objective"].to_numpy()
    assert np.all(np.diff(b) > 0) and np.all(np.diff(obj) <= 1e-9)
    assert np.all(np.diff(t["marginal_cost_per_t"].iloc[1:].to_numpy()) >= -1e-9)
    for bound, expected in zip(b, obj):
        assert objective_at(inputs, bound) == pytest.approx(expected, rel=1e-6, abs=1e-9)
    for i in range(len(b) - 1):
        mid = (b[i] + b[i + 1]) / 2
        assert objective_at(inputs, mid) == pytest.approx((obj[i] + obj[i + 1]) / 2, rel=1e-6,
                                                         abs=1e-9)


# ---------------------------------------------------------------- the bundled base case

def test_base_case_starts_at_the_solve_optimum(base, base_inputs):
    plain = optimizer.solve(base_inputs, sensitivity=False)
    summary = dict(zip(plain.tables["summary"]["key"], plain.tables["summary"]["value"]))
    first = base.table.iloc[0]
    assert first["objective"] == plain.objective
    assert first["domestic_ndpr_share"] == pytest.approx(summary["domestic_ndpr_share"], rel=1e-9)


def test_base_case_is_falling_and_concave(base):
    """At least three kinks; the objective never rises and each tonne costs more than the last."""
    t = base.table
    assert base.breakpoints >= 3
    assert np.all(np.diff(t["domestic_ndpr_t"]) > 0)
    assert np.all(np.diff(t["objective"]) <= 1e-9 * abs(t["objective"]).max())
    cost = t["marginal_cost_per_t"].iloc[1:].to_numpy()
    assert np.all(cost >= 0)
    assert np.all(np.diff(cost) > 0)  # strictly: collinear segments are merged


def test_base_case_points_equal_cold_solves(base, base_inputs):
    """Each breakpoint, and the middle of each segment, against a fresh solve with that bound."""
    from optimizer.frontiers import objective_at
    from optimizer.model import build_lp

    lp = build_lp(base_inputs)
    t = base.table
    b, obj = t["domestic_ndpr_t"].to_numpy(), t["objective"].to_numpy()
    for bound, expected in zip(b, obj):
        assert objective_at(base_inputs, bound, lp=lp) == pytest.approx(expected, rel=1e-6)
    for i in range(len(b) - 1):  # linear in between: the curve is exact, not sampled
        mid = (b[i] + b[i + 1]) / 2
        assert objective_at(base_inputs, mid, lp=lp) == pytest.approx((obj[i] + obj[i + 1]) / 2,
                                                                      rel=1e-6)


def test_base_case_beyond_the_most_is_infeasible(base, base_inputs):
    """The last point is the most domestic NdPr: one tonne more has no solution."""
    from optimizer.frontiers import objective_at

    with pytest.raises(SolverError, match="infeasible"):
        objective_at(base_inputs, float(base.table["domestic_ndpr_t"].iloc[-1]) + 1.0)


def test_base_case_needs_few_solves(base):
    """Two solves per basis change at most, far below a 50-point grid."""
    assert base.solves <= 2 + 2 * 10
    assert base.solves < 50


# ---------------------------------------------------------------- workbook and command line

def test_command_writes_the_sheet_and_chart(tmp_path, capsys):
    from optimizer.cli import main

    source = tiny.write_xlsx(ndpr_frames(), tmp_path / "hand.xlsx")
    out = tmp_path / "out" / "curve.xlsx"
    assert main(["frontier", str(source), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 breakpoint(s)" in printed and "410.00" in printed and f"wrote {out}" in printed
    sheet = openpyxl.load_workbook(out)["frontier"]
    header = [c.value for c in sheet[1]]
    for column in ("domestic_ndpr_t", "domestic_ndpr_share", "objective", "marginal_cost_per_t",
                   "what_changes"):
        assert column in header
    col = header.index("objective")
    assert [sheet.cell(row=r, column=col + 1).value for r in (2, 3, 4)] == pytest.approx([440, 410, 310])
    with zipfile.ZipFile(out) as xlsx:
        chart = xlsx.read("xl/charts/chart1.xml").decode()
    assert "domestic NdPr over the horizon" in chart and "objective (USD, present value)" in chart
    assert '<c:delete val="1"/>' not in chart  # both axes shown
    assert not list(out.parent.glob(".*.tmp"))  # the temporary file was moved into place


def test_command_bad_scenario_exits_2(tmp_path, capsys):
    from optimizer.cli import main

    source = tiny.write_xlsx(ndpr_frames(), tmp_path / "hand.xlsx")
    code = main(["frontier", str(source), "--scenario", "nope", "-o", str(tmp_path / "f.xlsx")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and "Traceback" not in err
    assert not (tmp_path / "f.xlsx").exists()


def test_command_solver_failure_exits_4(tmp_path, capsys, monkeypatch):
    import optimizer.frontiers as module
    from optimizer.cli import main

    def fail(*_args, **_kwargs):
        raise SolverError("HiGHS gave up")

    monkeypatch.setattr(module, "_most_at_home", fail)
    source = tiny.write_xlsx(ndpr_frames(), tmp_path / "hand.xlsx")
    assert main(["frontier", str(source), "-o", str(tmp_path / "f.xlsx")]) == 4
    assert "HiGHS gave up" in capsys.readouterr().err


def test_writer_refuses_the_input_workbook(tmp_path):
    from optimizer.frontiers import write_frontier

    source = tiny.write_xlsx(ndpr_frames(), tmp_path / "hand.xlsx")
    before = source.read_bytes()
    result = optimizer.frontier(optimizer.read_inputs(source))
    with pytest.raises(OutputError, match="refusing to overwrite the input"):
        write_frontier(result, source)
    assert source.read_bytes() == before


def test_outputs_md_explains_the_frontier_workbook(hand):
    """docs/outputs.md names every column of the frontier sheet and every run_info key."""
    from optimizer.frontiers import _run_info

    text = (REPO / "docs" / "outputs.md").read_text(encoding="utf-8")
    part = text[text.index("## The frontier workbook"):text.index("## The hedge workbook")]
    versions = {"python", "pyomo", "highspy", "pandas", "openpyxl", "tool_version", "platform",
                "solver"}
    names = [*hand.table.columns, *(k for k, _ in _run_info(hand) if k not in versions)]
    missing = [name for name in names if f"`{name}`" not in part]
    assert not missing, f"document in docs/outputs.md (frontier workbook): {missing}"
