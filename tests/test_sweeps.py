"""Sweeps and scenario runs (README, Scenarios and change paths; Commands): hot re-solves equal
full solves, workers and Dask give the same rows, one bad scenario never sinks the batch, and the CLI commands.

The base case is read and its sweep engine built once per module. Every file goes under
tmp_path. The Dask tests share one module-scoped LocalCluster and come last in the file, so
the fork-based worker pool never forks a process with Dask threads running.
"""

from __future__ import annotations

import math
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import optimizer
from optimizer import sweeps
from optimizer.changes import Change, apply_changes, scenario_names
from optimizer.cli import main
from optimizer.edits import scenario_cells
from optimizer.errors import InputError
from optimizer.sweeps import (
    Scenario,
    SweepEngine,
    grid,
    named_scenarios,
    parse_values,
    run_scenarios,
)

REPO = Path(__file__).resolve().parents[1]
BASE_CASE = REPO / "inputs" / "base_case.xlsx"
TREI_MIN = "demand.min_t[customer=X_TREI]"
NDPR_PRICE = "demand.price[product=NdPr, customer!=D_STRAT]"
KPIS = ["objective", "revenue_pv", "policy_value_pv", "penalties_pv", "domestic_ndpr_share",
        "treaty_fulfilment_pct", "treaty_shortfall_t"]


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def base():
    return optimizer.read_inputs(BASE_CASE)


@pytest.fixture(scope="module")
def engine(base) -> SweepEngine:
    return SweepEngine(base)


@pytest.fixture(scope="module")
def prepared(base):
    """The base case plus rows the mapped sheets need to exist: an NdPr export cap and two
    capacity_profile rows (the bundled sheets are empty). The profile rows repeat the
    sheet capacities and the 600 t cap does not bind: the optimum is the base case's."""
    return apply_changes(base, [
        Change("export_caps.max_t[product=NdPr, period=FY2027]", 600),
        Change("capacity_profile.capacity_t[entity=P_RED, period=FY2028]", 2500),
        Change("capacity_profile.capacity_t[entity=M_OSCOM, period=FY2030]", 3000),
    ])


@pytest.fixture(scope="module")
def prepared_engine(prepared) -> SweepEngine:
    return SweepEngine(prepared)


@pytest.fixture(scope="module")
def base_copy(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("in") / "plan.xlsx"
    shutil.copyfile(BASE_CASE, path)
    return path


def trei_grid(spec: str) -> list[Scenario]:
    return grid([(TREI_MIN, "set", parse_values(spec, "--set"))])


def sixty() -> list[Scenario]:
    """60 scenarios: TREI minimum (20 values) x NdPr price (3). At 60,000 the NdPr price ties
    with D_STRAT's policy value, so those optima are not unique: the revenue/policy split
    then shows whether a row depends on which worker solved it or what it solved before."""
    # The TREI minimum stops at the base case's maximum of 2,300 t (TREI's plant output).
    return grid([(TREI_MIN, "set", parse_values("0:2300:20", "--set")),
                 (NDPR_PRICE, "set", [60000, 80000, 100000])])


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """KPI columns rounded to 1e-9 relative (10 significant digits), plus status and path."""
    def r(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        return float(f"{float(v):.10g}")
    out = frame[["scenario", "status", "path"]].copy()
    for col in KPIS:
        out[col] = [r(v) for v in frame[col]]
    return out


# ---------------------------------------------------------------- hot == full solve

# One change per mapped sheet.column of EDIT_HANDLERS (the "hot" path). Values are chosen
# to move the optimum where they can.
HOT = [
    (TREI_MIN, 1500, "set"),
    ("demand.min_t[customer=D_SCHEME, period=FY2029]", 400, "set"),
    ("demand.max_t[customer=D_MIDWEST, period=FY2029]", 200, "set"),
    (NDPR_PRICE, 1.2, "scale"),
    ("demand.price[customer=X_TREI]", 14000, "set"),
    ("demand.policy_value[customer=D_STRAT]", 75000, "set"),
    ("demand.shortfall_penalty[customer=X_TREI]", 5000, "set"),
    ("demand.shortfall_penalty[customer=D_REPM]", 1, "set"),
    ("mines.capacity_t[mine=M_OSCOM]", 2000, "set"),
    ("mines.status[mine=M_X4]", "approved", "set"),
    ("mines.approved_from[mine=M_KK]", "FY2027", "set"),
    ("mines.approved_from[mine=M_BRG]", None, "set"),  # pending, never approved
    ("mines.mining_cost[mine=M_OSCOM]", 900, "set"),
    ("plants.capacity_t[plant=P_MOPP]", 5000, "set"),
    ("plants.capacity_t[plant=P_RED]", 2000, "set"),
    ("plants.unit_cost[plant=P_MOPP]", 900, "set"),
    ("plants.unit_cost[plant=P_RED]", 6000, "set"),
    ("capacity_profile.capacity_t[entity=P_RED, period=FY2028]", 1000, "set"),
    ("capacity_profile.capacity_t[entity=M_OSCOM]", 1000, "set"),
    ("routes.transport_cost[mine=M_MK]", 500, "set"),
    ("product_caps.max_t[plant=P_RED, product=NdPr, period=FY2027]", 200, "set"),
    ("product_caps.max_t[plant=P_RED, product=NdPr]", 0.3, "scale"),
    ("export_caps.max_t[product=NdPr, period=FY2027]", 100, "set"),
    ("products.storage_capacity_t[product=NdPr]", 200, "set"),
    ("products.initial_stock_t[product=NdPr]", 100, "set"),
    ("products.holding_cost[product=NdPr]", 10000, "set"),
    ("products.terminal_value[product=NdPr]", 120000, "set"),
    ("products.disposal_cost[product=Ce]", 1000, "set"),
    ("settings.value[key=thorium_storage_t]", 600, "set"),
    ("settings.value[key=default_shortfall_penalty]", 10, "set"),
    ("settings.value[key=discount_rate]", 0.03, "set"),  # discounting moves costs only
    ("periods.years[period=FY2031]", 2, "set"),  # every per-year figure x 2 in FY2031
    ("customers.treaty[customer=X_TREI]", "no", "set"),  # KPIs only: no LP edit
    # rows and columns the scenario's LP lacks: freed rows, columns fixed at 0
    ("demand.max_t[customer=X_TREI, period>=FY2030]", None, "set"),  # a limit removed
    ("products.storage_capacity_t[product=HRE]", None, "set"),  # a limit removed
    ("settings.value[key=strict]", "true", "set"),  # no shortfall columns
    ("demand.min_t[customer=X_TREI, period=FY2027]", 0, "set"),  # no row, no shortfall
]
# Changes that alter the model's structure: rebuilt from scratch.
REBUILT = [

    ("export_caps.max_t[product=NdPr, period=FY2029]", 50, "set"),  # creates the row
    ("demand.max_t[customer=D_STRAT]", 100, "set"),  # blank limit becomes a number
    ("products.disposal_cost[product=NdPr]", 100, "set"),  # disposal switched on
    ("plants.recovery[plant=P_RED]", 0.9, "set"),
    ("demand.min_t[customer=D_LACE]", 100, "set"),  # a new minimum
]
COMPOSITION_PAIR = [Change("composition.share[product=Ce]", 0.475),
                    Change("composition.share[product=La]", 0.235)]
# Two hot changes in one scenario: mapped handlers must combine.
HOT_PAIRS = {
    "price+policy": [Change("demand.price[customer=D_STRAT]", 1000),
                     Change("demand.policy_value[customer=D_STRAT]", 75000)],
    "capacity+status": [Change("mines.capacity_t[mine=M_X4]", 3000),
                        Change("mines.status[mine=M_X4]", "approved")],
    "holding+terminal": [Change("products.holding_cost[product=NdPr]", 100),
                         Change("products.terminal_value[product=NdPr]", 70000)],
    "min+penalty+default": [Change(TREI_MIN, 2300),
                            Change("demand.shortfall_penalty[customer=X_TREI]", 5000),
                            Change("settings.value[key=default_shortfall_penalty]", 10)],
}


def _scenarios() -> list[Scenario]:
    out = [Scenario(f"hot{i}", [Change(p, v, m, f"test {p}")]) for i, (p, v, m) in enumerate(HOT)]
    out += [Scenario(f"rebuilt{i}", [Change(p, v, m, f"test {p}")])
            for i, (p, v, m) in enumerate(REBUILT)]
    out += [Scenario("composition_pair", COMPOSITION_PAIR)]
    out += [Scenario(name, changes) for name, changes in HOT_PAIRS.items()]
    return out


SCENARIOS = _scenarios()
EXPECTED_PATH = {s.name: ("hot" if s.name.startswith("hot") or s.name in HOT_PAIRS
                          else "rebuilt") for s in SCENARIOS}


@pytest.fixture(scope="module")
def swept(prepared, prepared_engine) -> pd.DataFrame:
    return run_scenarios(prepared, SCENARIOS, engine=prepared_engine).set_index("scenario")


@pytest.fixture(scope="module")
def full_solves(prepared) -> dict:
    return {s.name: optimizer.solve(apply_changes(prepared, s.changes), sensitivity=False)
            for s in SCENARIOS}


def test_the_lists_cover_every_model_input_column():
    """Every column the model reads (not ids, keys or display text) is changed at least once."""
    from optimizer.schema import SHEETS

    covered = {tuple(p.split("[")[0].split(".")) for p, _, _ in HOT + REBUILT}
    covered |= {tuple(c.path.split("[")[0].split(".")) for c in COMPOSITION_PAIR}
    # Sheets added later are covered by the property test's generator instead
    # (tests/test_fastpath_property.py::test_the_generator_covers_every_model_input_column).
    original = {"periods", "mines", "composition", "plants", "capacity_profile", "routes",
                "product_caps", "products", "customers", "demand", "export_caps"}
    wanted = {(s.name, c.name) for s in SHEETS if s.name in original
              for c in s.columns if c.name not in s.keys and c.name not in ("period", "name", "country")
              and not (s.name == "periods" and c.name == "discount_factor")
              and (s.name, c.name) not in {("plants", "stage"), ("customers", "kind"),
                                            ("mines", "reo_grade"), ("mines", "tho2_grade")}}
    assert wanted <= covered, wanted - covered
    keys = {p.split("key=")[1].rstrip("]") for p, _, _ in HOT + REBUILT if p.startswith("settings")}
    assert keys >= {"thorium_storage_t", "default_shortfall_penalty", "discount_rate", "strict"}


def test_the_base_row_comes_first_and_equals_a_full_solve(swept, prepared):
    assert swept.index[0] == "base"
    assert swept.loc["base", "path"] == "base"
    full = optimizer.solve(prepared, sensitivity=False)
    assert swept.loc["base", "objective"] == pytest.approx(full.objective, rel=1e-9)
    assert list(swept.index[1:]) == [s.name for s in SCENARIOS]


@pytest.mark.parametrize("scenario", SCENARIOS,
                         ids=lambda s: f"{s.name}:{s.changes[0].path}")
def test_sweep_objective_equals_a_full_solve(swept, full_solves, scenario):
    row = swept.loc[scenario.name]
    full = full_solves[scenario.name]
    assert row["status"] == full.status == "optimal"
    assert row["path"] == EXPECTED_PATH[scenario.name]
    assert row["objective"] == pytest.approx(full.objective, rel=1e-8)


def test_most_changes_move_the_optimum(swept):
    base = swept.loc["base", "objective"]
    moved = [n for n in swept.index[1:] if abs(swept.loc[n, "objective"] - base) > 1e-6 * base]
    assert len(moved) >= 0.6 * len(SCENARIOS), moved


def test_hot_unit_cost_and_transport_cost_combine(base, engine):
    changes = [Change("plants.unit_cost[plant=P_MOPP]", 3000),
               Change("routes.transport_cost[mine=M_MK]", 500)]
    row = run_scenarios(base, [Scenario("both", changes)], engine=engine).iloc[1]
    full = optimizer.solve(apply_changes(base, changes), sensitivity=False)
    assert row["path"] == "hot"
    assert row["objective"] == pytest.approx(full.objective, rel=1e-8)


def summary(result) -> dict:
    table = result.tables["summary"]
    return dict(zip(table["key"], table["value"]))


@pytest.mark.parametrize("name", ["hot0", "hot4", "hot11", "hot23", "hot29", "rebuilt0"])
def test_sweep_kpis_equal_the_full_solve_summary(swept, full_solves, name):
    row, want = swept.loc[name], summary(full_solves[name])
    assert row["revenue_pv"] == pytest.approx(want["revenue_pv"], rel=1e-6)
    assert row["penalties_pv"] == pytest.approx(want["penalties_pv"], rel=1e-6, abs=1e-3)
    assert row["domestic_ndpr_share"] == pytest.approx(want["domestic_ndpr_share"], abs=1e-5)
    assert row["treaty_fulfilment_pct"] == pytest.approx(want["treaty_fulfilment_pct"],
                                                         abs=1e-4)
    assert row["treaty_shortfall_t"] == pytest.approx(want["treaty_shortfall_t"], abs=1e-4)


def test_sweep_kpis_with_a_shortfall(base, engine):
    # TREI minimum raised above what it can get at a low penalty: a shortfall is paid.
    changes = [Change(TREI_MIN, 2300), Change("demand.shortfall_penalty[customer=X_TREI]", 500)]
    row = run_scenarios(base, [Scenario("short", changes)], engine=engine).iloc[1]
    want = summary(optimizer.solve(apply_changes(base, changes), sensitivity=False))
    assert row["path"] == "hot"
    assert want["penalties_pv"] < -1  # the scenario does pay penalties
    for key in ("revenue_pv", "penalties_pv"):
        assert row[key] == pytest.approx(want[key], rel=1e-6)
    assert row["treaty_fulfilment_pct"] == pytest.approx(want["treaty_fulfilment_pct"], abs=1e-4)
    assert row["treaty_shortfall_t"] == pytest.approx(want["treaty_shortfall_t"], rel=1e-6)
    assert row["treaty_fulfilment_pct"] < 100


def test_the_result_frame_columns(swept):
    frame = swept.reset_index()
    assert list(frame.columns) == ["scenario", *sweeps.KPI_COLUMNS]
    binding = frame.loc[0, "binding"]
    assert binding and len(binding.split("; ")) <= sweeps.BINDING_SHOWN


# ---------------------------------------------------------------- hot start sanity


def test_hot_resolves_take_a_small_fraction_of_the_cold_iterations(base, engine):
    """Every value moves the row's bound; a minimum of 0 frees the row and fixes its
    shortfall column at 0 (the LP without them)."""
    frame = run_scenarios(base, trei_grid("0:2300:20"), engine=engine)
    cold = frame.loc[0, "iterations"]  # the base row: a cold solve
    assert cold > 20
    assert (frame["path"].iloc[1:] == "hot").all()
    hot = frame["iterations"].iloc[1:]
    # the median: one scenario (min 0: the treaty no longer binds) may move the basis far
    assert hot.median() <= 0.05 * cold and hot.mean() <= 0.1 * cold, (cold, list(hot))


# ---------------------------------------------------------------- failure isolation


@pytest.fixture(scope="module")
def isolated(base) -> pd.DataFrame:
    scenarios = [Scenario("fine", [Change(TREI_MIN, 500)]),
                 *named_scenarios(base, ["conserve_ndpr", "breach"]),
                 Scenario("fine_rebuilt", [Change("plants.recovery[plant=P_RED]", 0.9)])]
    return run_scenarios(base, scenarios, strict=True).set_index("scenario")


def test_an_infeasible_scenario_never_stops_the_batch(isolated):
    assert list(isolated.index) == ["base", "fine", "breach", "conserve_ndpr", "fine_rebuilt"]
    assert isolated.loc["fine", "status"] == "optimal"
    assert isolated.loc["fine_rebuilt", "status"] == "optimal"
    assert isolated.loc["breach", "status"] == "optimal"


def test_an_invalid_combination_stops_the_run_naming_both_paths(base, engine):
    """Each change is fine alone; together max_t < min_t: nothing is solved."""
    bad_pair = Scenario("bad_pair", [
        Change(TREI_MIN, 2000, origin="test option min"),
        Change("demand.max_t[customer=X_TREI]", 1500, origin="test option max")])
    fine = [Scenario(f"fine{n}", [Change(TREI_MIN, 100 * n)]) for n in range(4)]
    for workers in (1, 2):  # with 2, the worker processes exist already: they must solve nothing
        with pytest.raises(InputError) as info:
            run_scenarios(base, [*fine, bad_pair], engine=engine, workers=workers)
    message = str(info.value)
    assert "nothing was solved" in message and "bad_pair" in message
    assert TREI_MIN in message and "demand.max_t[customer=X_TREI]" in message
    assert "max_t" in message and "min_t (2000)" in message


def test_a_min_max_pair_valid_only_together_is_accepted(base, engine):
    """suspension-style: min 0 then max 0 would fail one at a time, not together."""
    pair = Scenario("pair", [Change("demand.min_t[customer=X_TREI]", 0),
                             Change("demand.max_t[customer=X_TREI]", 0)])
    frame = run_scenarios(base, [pair], engine=engine)
    assert frame.loc[1, "status"] == "optimal" and frame.loc[1, "path"] == "hot"


def test_strict_infeasible_row_is_explained(isolated):
    row = isolated.loc["conserve_ndpr"]
    assert row["status"] == "infeasible"
    assert pd.isna(row["objective"])
    assert "treaty minimum for X_TREI" in row["explanation"]
    assert "export cap" in row["explanation"]


def test_invalid_single_changes_stop_the_run_naming_path_and_scenario(base, engine):
    scenarios = [Scenario("ok", [Change(TREI_MIN, 500)]),
                 Scenario("negative", [Change(TREI_MIN, -5, origin="option A")]),
                 Scenario("typo", [Change("demand.min_t[customer=NOPE]", 5)])]
    with pytest.raises(InputError) as info:
        run_scenarios(base, scenarios, engine=engine)
    message = str(info.value)
    assert "negative" in message and "typo" in message and "ok" not in message.split("\n")[0]
    assert "demand.min_t[customer=NOPE]" in message
    assert "min_t" in message and "-5" in message


def test_invalid_value_message_names_the_path(base, engine):
    with pytest.raises(InputError) as info:
        run_scenarios(base, [Scenario("negative", [Change(TREI_MIN, -5)])], engine=engine)
    assert TREI_MIN in str(info.value)


def test_workers_below_one_is_an_error(base, engine):
    with pytest.raises(InputError, match="--workers"):
        run_scenarios(base, trei_grid("0:1:2"), engine=engine, workers=0)


# ---------------------------------------------------------------- workers


def test_two_workers_give_identical_rows(base, engine):
    scenarios = sixty()
    one = run_scenarios(base, scenarios, engine=engine, workers=1)
    two = run_scenarios(base, scenarios, engine=engine, workers=2)
    assert len(one) == len(two) == 61
    assert (one["status"] == "optimal").all()
    pd.testing.assert_frame_equal(rounded(one), rounded(two))


def test_the_memo_changes_no_number_and_is_keyed_by_the_cells_read(base):
    """A grid re-runs each declaration once per value of the axes it reads: on a 6 x 4 grid
    of the treaty minimum and the NdPr price, the minimum's family holds 6 outputs and the
    objective 8. Every edit equals the edit a fresh engine (empty memo) makes, and the
    objectives equal solving each scenario on its own engine."""
    import pickle

    axes = [(TREI_MIN, "set", [0, 500, 900, 1400, 2000, 2300]),
            (NDPR_PRICE, "scale", [0.7, 0.9, 1.1, 1.3])]
    scenarios = grid(axes)
    warm = SweepEngine(base)
    frame = run_scenarios(base, scenarios, engine=warm)
    for scenario in scenarios:
        cells = scenario_cells(warm, scenario.changes, scenario.name)
        mine, fresh = warm.edits(cells), SweepEngine(base).edits(cells)
        assert (mine.rows, mine.costs, mine.removed_rows, mine.removed_cols) == \
            (fresh.rows, fresh.costs, fresh.removed_rows, fresh.removed_cols), scenario.label
        for part, vector in fresh.kpi.parts.items():
            assert (mine.kpi.parts[part] == vector).all(), (scenario.label, part)
    alone = pd.concat([run_scenarios(base, [s], engine=SweepEngine(base)).iloc[1:] for s in scenarios])
    # objectives only: where optima tie, another start may pick another optimal vertex
    assert list(frame["status"].iloc[1:]) == list(alone["status"])
    assert frame["objective"].iloc[1:].tolist() == pytest.approx(alone["objective"].tolist(), rel=1e-9)
    sizes = {what[-1]: sum(len(t) for t in groups.values()) for what, groups in warm._memo.items()}
    # the objective per price, and again where a minimum of 0 drops the shortfall columns
    assert sizes["demand_min"] == 6 and sizes["objective"] == 4 * 2, sizes
    assert pickle.loads(pickle.dumps(warm))._memo == {}  # workers build their own


def test_library_sweep_function(base):
    frame = optimizer.sweep(base, {TREI_MIN: [0, 500, 1000]})
    assert list(frame["scenario"]) == ["base", "s1", "s2", "s3"]
    assert list(frame[TREI_MIN].iloc[1:]) == [0, 500, 1000]
    # the 1,000 t row is the base case
    assert frame["objective"].iloc[3] == pytest.approx(frame["objective"].iloc[0], rel=1e-9)


# ---------------------------------------------------------------- grid and parse_values


def test_grid_cartesian_product():
    scenarios = grid([("a.b[c=1]", "set", [1, 2, 3]), ("d.e", "scale", [0.5, 2])])
    assert len(scenarios) == 6
    assert [s.name for s in scenarios] == [f"s{n}" for n in range(1, 7)]
    labels = [s.label for s in scenarios]
    assert labels[0] == {"a.b[c=1]": 1, "d.e (scale)": 0.5}
    assert labels[-1] == {"a.b[c=1]": 3, "d.e (scale)": 2}
    assert {(lab["a.b[c=1]"], lab["d.e (scale)"]) for lab in labels} == \
        {(a, b) for a in (1, 2, 3) for b in (0.5, 2)}
    first = scenarios[1].changes
    assert [(c.path, c.value, c.mode) for c in first] == [("a.b[c=1]", 1, "set"),
                                                         ("d.e", 2, "scale")]
    assert all(c.origin for c in first)


def test_grid_zip_pairs():
    scenarios = grid([("a.b", "set", [1, 2, 3]), ("d.e", "set", ["x", "y", "z"])],
                     zip_axes=True)
    assert [(s.label["a.b"], s.label["d.e"]) for s in scenarios] == \
        [(1, "x"), (2, "y"), (3, "z")]


def test_grid_zip_with_unequal_lengths_is_an_error():
    with pytest.raises(InputError, match="--zip"):
        grid([("a.b", "set", [1, 2, 3]), ("d.e", "set", [1, 2])], zip_axes=True)


@pytest.mark.parametrize("text, expected", [
    ("a,b,c", ["a", "b", "c"]),
    ("1, 2.5 ,3", [1.0, 2.5, 3.0]),
    ("FY2027,blank", ["FY2027", None]),
    ("blank", [None]),
    ("BLANK,7", [None, 7.0]),
    ("0:2500:11", [250.0 * i for i in range(11)]),
    ("0.7:1.3:3", [0.7, 1.0, 1.3]),
    ("5:5:1", [5.0]),
    ("10:0:3", [10.0, 5.0, 0.0]),
])
def test_parse_values(text, expected):
    got = parse_values(text, "--set x")
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        if isinstance(e, float):
            assert g == pytest.approx(e, abs=1e-12)
        else:
            assert g == e


@pytest.mark.parametrize("text", ["1:x:3", "0:1:0", "0:1:2.5", "", " , "])
def test_parse_values_errors_name_the_option(text):
    with pytest.raises(InputError) as info:
        parse_values(text, "--set demand.min_t[customer=X_TREI]=" + text)
    assert "--set demand.min_t[customer=X_TREI]" in str(info.value)


# ---------------------------------------------------------------- CLI


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def sheets(path: Path) -> dict[str, pd.DataFrame]:
    return pd.read_excel(path, sheet_name=None)


def test_cli_sweep_one_dimension(capsys, tmp_path, base_copy):
    out = tmp_path / "trei.xlsx"
    code, stdout, err = run(capsys, "sweep", base_copy, "--set", f"{TREI_MIN}=0:2300:3",
                            "-o", out)
    assert code == 0, err
    assert "[" not in err  # no progress bar when stderr is not a terminal
    assert str(out) in stdout
    wb = openpyxl.load_workbook(out)
    assert {"results", "vs_base", "charts", "run_info"} <= set(wb.sheetnames)
    assert len(wb["charts"]._charts) >= 1
    book = sheets(out)
    results = book["results"]
    assert len(results) == 1 + 3
    assert results["scenario"].iloc[0] == "base"
    assert list(results[TREI_MIN].iloc[1:]) == [0, 1150, 2300]
    assert (results["status"] == "optimal").all()
    assert len(book["vs_base"]) == 4
    assert book["vs_base"]["objective_vs_base"].iloc[0] == 0
    info = dict(zip(book["run_info"]["key"], book["run_info"]["value"]))
    assert info["scenarios"] == 3


def test_cli_sweep_two_dimensions_has_heatmaps(capsys, tmp_path, base_copy):
    out = tmp_path / "two.xlsx"
    code, _, err = run(capsys, "sweep", base_copy, "--set", f"{TREI_MIN}=0,1000,2000",
                       "--scale", f"{NDPR_PRICE}=0.8,1.2", "-o", out)
    assert code == 0, err
    wb = openpyxl.load_workbook(out)
    assert "heatmaps" in wb.sheetnames and "charts" not in wb.sheetnames
    rules = [rule for cf in wb["heatmaps"].conditional_formatting for rule in cf.rules]
    assert rules and all(rule.type == "colorScale" for rule in rules)
    assert len(sheets(out)["results"]) == 1 + 6


def test_a_big_sweep_has_line_charts_and_no_bar_per_scenario(base, engine, tmp_path):
    """61 values: the three line charts, no 61-bar charts, and a line saying why."""
    from optimizer.writer import MAX_BAR_SCENARIOS, write_comparison

    axes = [(TREI_MIN, "set", parse_values(f"0:2300:{MAX_BAR_SCENARIOS + 1}", "--set"))]
    frame = run_scenarios(base, grid(axes), engine=engine)
    write_comparison(frame, tmp_path / "big.xlsx", inputs=base, axes=axes)
    ws = openpyxl.load_workbook(tmp_path / "big.xlsx")["charts"]
    assert [type(c).__name__ for c in ws._charts] == ["LineChart"] * 3
    assert f"more than {MAX_BAR_SCENARIOS} scenarios" in ws.cell(2, 2).value


def test_cli_sweep_bad_path_is_a_usage_error(capsys, tmp_path, base_copy):
    out = tmp_path / "bad.xlsx"
    option = "demand.nocolumn[customer=X_TREI]=0,1"
    code, _, err = run(capsys, "sweep", base_copy, "--set", option, "-o", out)
    assert code == 2
    assert err.startswith("error:")
    assert "--set" in err and "demand.nocolumn[customer=X_TREI]" in err
    assert not out.exists()


@pytest.mark.parametrize("option, words", [
    ("demand.min_t[customer=X_TREI, period>=FY2099]=0,1", ["unknown period", "FY2099"]),
    ("demand.min_t[customer=NOPE]=0,1", ["matches no row", "demand.min_t[customer=NOPE]"]),
    ("demand.min_t[customer=X_TREI]=-5,0", ["min_t", "-5"]),
    ("demand.min_t[customer=X_TREI]", ["PATH=VALUES"]),
    ("demand.min_t[customer=X_TREI]=1:x:3", ["start:stop:count"]),
])
def test_cli_sweep_bad_changes_exit_2_before_solving(capsys, tmp_path, base_copy, option,
                                                     words):
    out = tmp_path / "bad.xlsx"
    code, _, err = run(capsys, "sweep", base_copy, "--set", option, "-o", out)
    assert code == 2, err
    assert err.startswith("error:")
    for word in words:
        assert word in err, err
    assert not out.exists()


def test_cli_sweep_without_set_is_a_usage_error(capsys, tmp_path, base_copy):
    code, _, err = run(capsys, "sweep", base_copy, "-o", tmp_path / "x.xlsx")
    assert code == 2
    assert "--set" in err


PREVALIDATE_BUG = ("BUG: sweeps.prevalidate checks each change of a scenario on its own, so "
                   "a valid multi-change scenario whose changes are only valid together is "
                   "rejected before anything is solved: the bundled 'suspension' (TREI min 0, "
                   "then max 0 from FY2027) fails with 'max_t found 0.0; expected a number "
                   "≥ min_t (1000)' and `scenarios` exits 2")


def test_every_named_scenario_runs(base, engine):
    frame = run_scenarios(base, named_scenarios(base), engine=engine)
    assert list(frame["scenario"]) == ["base", *scenario_names(base)]
    assert (frame["status"] == "optimal").all()


def test_named_scenarios_labels_and_only(base):
    scenarios = named_scenarios(base, ["breach", "suspension"])
    assert [s.name for s in scenarios] == ["suspension", "breach"]  # sheet order
    assert scenarios[1].label["changes"] == \
        "demand.shortfall_penalty[customer=X_TREI] = 5000.0"
    with pytest.raises(InputError, match="unknown scenario"):
        named_scenarios(base, ["nope"])


def test_cli_scenarios_only(capsys, tmp_path, base_copy):
    out = tmp_path / "sc.xlsx"
    code, _, err = run(capsys, "scenarios", base_copy, "--only", "breach", "suspension",
                       "-o", out)
    assert code == 0, err
    results = sheets(out)["results"]
    assert list(results["scenario"]) == ["base", "suspension", "breach"]


def test_cli_scenario_row_matches_solve_scenario(capsys, tmp_path, base_copy):
    out = tmp_path / "sc.xlsx"
    code, stdout, err = run(capsys, "scenarios", base_copy, "--only", "breach", "conserve_ndpr",
                            "-o", out)
    assert code == 0, err
    assert err == ""  # no progress bar when not a TTY
    assert str(out) in stdout
    book = sheets(out)
    results = book["results"]
    assert list(results["scenario"]) == ["base", "breach", "conserve_ndpr"]
    assert "demand.shortfall_penalty[customer=X_TREI]" in results["changes"].iloc[1]
    assert {"results", "vs_base", "run_info"} <= set(book)

    solved = tmp_path / "breach.xlsx"
    code, _, err = run(capsys, "solve", base_copy, "--scenario", "breach", "-o", solved)
    assert code == 0, err
    summ = pd.read_excel(solved, sheet_name="summary")
    objective = float(summ.loc[summ["key"] == "objective", "value"].iloc[0])
    assert results["objective"].iloc[1] == pytest.approx(objective, rel=1e-8)


def test_cli_scenarios_unknown_name(capsys, tmp_path, base_copy):
    out = tmp_path / "sc.xlsx"
    code, _, err = run(capsys, "scenarios", base_copy, "--only", "nope", "-o", out)
    assert code == 2
    assert err.startswith("error:") and "nope" in err and "breach" in err
    assert not out.exists()


# ---------------------------------------------------------------- README example sweeps


def test_readme_sweep_trei_minimum(capsys, tmp_path, base_copy):
    out = tmp_path / "trei-min.xlsx"
    code, _, err = run(capsys, "sweep", base_copy, "--set", f"{TREI_MIN}=0:2300:11", "-o", out)
    assert code == 0, err
    results = sheets(out)["results"]
    assert len(results) == 12
    assert list(results[TREI_MIN].iloc[1:]) == [230.0 * i for i in range(11)]
    assert (results["status"] == "optimal").all()
    assert (results["path"].iloc[1:] == "hot").all()
    objective = results["objective"].iloc[1:].to_numpy()
    assert (objective[1:] <= objective[:-1] + 1e-6).all()  # a higher minimum never helps


def test_readme_sweep_every_approval_combination(capsys, tmp_path, base_copy):
    out = tmp_path / "approvals.xlsx"
    argv = []
    for mine in ("M_KK", "M_ALP", "M_BRG", "M_X4"):
        argv += ["--set", f"mines.approved_from[mine={mine}]=FY2027,blank"]
    code, _, err = run(capsys, "sweep", base_copy, *argv, "-o", out)
    assert code == 0, err
    results = sheets(out)["results"]
    assert len(results) == 1 + 16
    assert (results["status"] == "optimal").all()
    labels = results.iloc[1:][[f"mines.approved_from[mine={m}]"
                               for m in ("M_KK", "M_ALP", "M_BRG", "M_X4")]]
    assert len(labels.drop_duplicates()) == 16
    everything = labels.eq("FY2027").all(axis=1)
    nothing = labels.isna().all(axis=1)
    objective = results["objective"].iloc[1:]
    assert objective[everything].iloc[0] >= objective.max() - 1e-6
    assert objective[nothing].iloc[0] <= objective.min() + 1e-6


def test_readme_sweep_price_against_breach_penalty(capsys, tmp_path, base_copy):
    out = tmp_path / "price-vs-breach.xlsx"
    code, _, err = run(capsys, "sweep", base_copy,
                       "--scale", f"{NDPR_PRICE}=0.7:1.3:3",
                       "--set", "demand.shortfall_penalty[customer=X_TREI]=1000,5000",
                       "--workers", "2", "-o", out)
    assert code == 0, err
    results = sheets(out)["results"]
    assert len(results) == 1 + 6
    assert (results["status"] == "optimal").all()
    assert "heatmaps" in openpyxl.load_workbook(out, read_only=True).sheetnames


# ---------------------------------------------------------------- Dask (last: see module doc)

def _need_distributed():
    return pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    dist = _need_distributed()
    # processes=True: threads inside one process would share the sweep worker state
    # (see test_dask_threaded_workers_are_safe).
    with dist.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                           dashboard_address=None) as c:
        yield c


def test_dask_gives_the_same_rows_as_one_worker(base, engine, cluster):
    scenarios = sixty() + [Scenario("rebuilt", [Change("plants.recovery[plant=P_RED]", 0.9)])]
    one = run_scenarios(base, scenarios, engine=engine, workers=1)
    dask = run_scenarios(base, scenarios, engine=engine, dask_address=cluster.scheduler_address)
    assert set(dask["path"]) == {"base", "hot", "rebuilt"}
    pd.testing.assert_frame_equal(rounded(one), rounded(dask))


@pytest.mark.parametrize("kind", ["closed port 1", "free port"])
def test_dask_unreachable_scheduler_is_an_input_error(base, engine, kind, monkeypatch):
    _need_distributed()
    if kind == "free port":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        address = f"tcp://127.0.0.1:{port}"
        from optimizer import parallel

        monkeypatch.setattr(parallel, "DASK_TIMEOUT_S", 2)  # keep the suite fast
    else:
        address = "tcp://127.0.0.1:1"
    start = time.perf_counter()
    with pytest.raises(InputError, match="cannot reach the Dask scheduler") as info:
        run_scenarios(base, trei_grid("0:1000:2"), engine=engine, dask_address=address)
    assert time.perf_counter() - start < 30
    assert address in str(info.value)


THREADED = textwrap.dedent("""
    import sys
    import optimizer
    from distributed import LocalCluster
    from optimizer.sweeps import SweepEngine, grid, parse_values, run_scenarios

    def main():
        inputs = optimizer.read_inputs(sys.argv[1])
        engine = SweepEngine(inputs)
        scenarios = grid([("demand.min_t[customer=X_TREI]", "set",
                           parse_values("0:2300:40", "x")),
                          ("demand.price[product=NdPr, customer!=D_STRAT]", "scale",
                           [0.9, 1.1, 1.25])])
        one = run_scenarios(inputs, scenarios, engine=engine)
        with LocalCluster(n_workers=1, processes=True, threads_per_worker=2,
                          dashboard_address=None) as cluster:
            dask = run_scenarios(inputs, scenarios, engine=engine,
                                 dask_address=cluster.scheduler_address)
        same = ((one["objective"] - dask["objective"]).abs()
                <= 1e-9 * one["objective"].abs()).all()
        print("SAME" if same else "DIFFERENT")

    if __name__ == "__main__":
        main()
""")


def test_dask_threaded_workers_are_safe(tmp_path):
    _need_distributed()
    script = tmp_path / "threaded.py"
    script.write_text(THREADED)
    proc = subprocess.run([sys.executable, str(script), str(BASE_CASE)], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("SAME")
