"""Hedged plans (`irel-alloc hedge`): the two-stage stochastic LP, its measures and its workbook.

The hand-checked instance (``tiny_hedge``): two periods T1, T2 of one year, no discounting.
Mine M1 yields 50 t REO a period -> 30 t of product A (and 20 t of B, which nobody buys).
K1 buys at most 30 t A a period: 10/t in T1, 20/t in T2. Scenario ``cut``: M1 has no capacity
in T2 (so T2 makes nothing). T1 is decided today (decide_through defaults to the first period);
the decision that matters is s, the tonnes of A stocked in T1 instead of sold (0 <= s <= 30):

    base(s) = 10 (30 - s) + 20 * 30          = 900 - 10 s   (T2 makes its own 30 t: stock is wasted)
    cut(s)  = 10 (30 - s) + 20 * s           = 300 + 10 s   (T2 sells only the stock)

With P(cut) = 0.6: E(s) = 0.4 (900 - 10 s) + 0.6 (300 + 10 s) = 540 + 2 s, best at s = 30:
    expected_objective = 600;   wait_and_see = 0.4 * 900 + 0.6 * 600 = 720;   evpi = 120.
Mean-value problem: T2 capacity 0.4 * 100 t, so T2 makes 0.4 * 30 = 12 t A; stocking pays up to
the 18 t that T2 still wants (slope 20 - 10 > 0), then loses 10/t: s = 18, and
    ev_objective = 0.4 (900 - 180) + 0.6 (300 + 180) = 288 + 288 = 576;   vss = 600 - 576 = 24.
Base plan (the base scenario alone stocks nothing, s = 0): cut(0) = 300, so
    regret_base_plan[cut] = 600 - 300 = 300,   regret_base_plan[base] = 900 - 900 = 0.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from tiny import frames, write_xlsx

from optimizer import ModelInputs, hedge, read_inputs, solve, write_hedge
from optimizer.cli import main
from optimizer.errors import InputError

REPO = Path(__file__).resolve().parents[1]
BASE_CASE = REPO / "inputs" / "base_case.xlsx"
TOL = 1e-6


def tiny_frames(p_cut: float = 0.6, *, through: str | None = None,
                uncertainty: list[dict] | None = None, scenarios: list[dict] | None = None):
    settings = [{"key": "currency", "value": "USD"}]
    if through is not None:
        settings.append({"key": "decide_through", "value": through})
    return frames(
        settings=settings,
        periods=[{"period": "T1", "years": 1}, {"period": "T2", "years": 1}],
        demand=[{"customer": "K1", "product": "A", "period": "T1", "min_t": 0, "max_t": 30, "price": 10},
                {"customer": "K1", "product": "A", "period": "T2", "min_t": 0, "max_t": 30, "price": 20}],
        scenarios=scenarios or [{"scenario": "cut", "value": 0,
                                 "target": "capacity_profile.capacity_t[entity=M1, period=T2]"}],
        uncertainty=uncertainty if uncertainty is not None else [
            {"scenario": "base", "probability": round(1 - p_cut, 9)},
            {"scenario": "cut", "probability": p_cut}],
    )


def tiny_hedge(**kw) -> ModelInputs:
    return ModelInputs.from_frames(tiny_frames(**kw))


@pytest.fixture(scope="module")
def tiny_result():
    return hedge(tiny_hedge())


@pytest.fixture(scope="module")
def base_result():
    return hedge(read_inputs(BASE_CASE))


def _here_and_now(result, table: str, keys: list[str], value: str) -> pd.DataFrame:
    """One column per scenario: the shared rows of scenario_<table>."""
    frame = result.tables[f"scenario_{table}"]
    frame = frame[frame["plan_stage"] == "here-and-now"]
    return frame.pivot_table(index=keys, columns="scenario", values=value, aggfunc="first")


# --- the math on the hand-checked instance ------------------------------------------------------

def test_tiny_measures_match_the_hand_arithmetic(tiny_result):
    """See the module docstring: 600, 720, 120, 576, 24 and the base plan's regrets 0 and 300."""
    r = tiny_result
    assert r.expected_objective == pytest.approx(600, abs=TOL)
    assert r.wait_and_see == pytest.approx(720, abs=TOL)
    assert r.evpi == pytest.approx(120, abs=TOL)
    assert r.ev_objective == pytest.approx(576, abs=TOL)
    assert r.vss == pytest.approx(24, abs=TOL)
    assert r.regret_base_plan == pytest.approx({"base": 0.0, "cut": 300.0}, abs=TOL)
    summary = dict(zip(r.tables["hedge_summary"]["key"], r.tables["hedge_summary"]["value"]))
    for key, value in (("expected_objective", 600), ("wait_and_see", 720), ("evpi", 120),
                       ("ev_objective", 576), ("vss", 24), ("regret_base_plan[cut]", 300)):
        assert summary[key] == pytest.approx(value, abs=TOL), key


def test_tiny_plan_stocks_all_of_A_and_each_scenario_follows_on(tiny_result):
    """Today: stock s = 30 t A. Base scenario: sells the 30 t stock in T2 (objective 20*30 = 600,
    the T1 sale being 0); cut: the same; each scenario's own objective is in hedge_scenarios."""
    inv = tiny_result.tables["inventory"]
    a = inv[(inv["product"] == "A") & (inv["period"] == "T1")]
    assert a["closing_t"].tolist() == pytest.approx([30.0])
    table = tiny_result.scenarios.set_index("scenario")
    assert table.loc["base", "objective_hedged"] == pytest.approx(600, abs=TOL)
    assert table.loc["cut", "objective_hedged"] == pytest.approx(600, abs=TOL)
    assert table.loc["base", "objective_alone"] == pytest.approx(900, abs=TOL)
    assert table.loc["cut", "objective_mean_value_plan"] == pytest.approx(480, abs=TOL)


def test_decide_through_the_last_period_shares_every_decision(tmp_path):
    """decide_through = T2: no T2 mining in base either, as cut cannot mine then; both then
    behave as cut: 300 + 10 * 30 = 600 each, expected 600; each alone is 900 and 600 as before.
    The base plan (mine 100 t in T2) and the mean-value plan (mine 0.4 * 100 = 40 t in T2) leave
    cut, where M1 has no T2 capacity, without a feasible plan: minus infinity, VSS unbounded,
    and the chart's data says infeasible instead of drawing a 1E+30 bar."""
    r = hedge(tiny_hedge(through="T2"))
    assert r.uncertainty.first_stage == ("T1", "T2")
    mining = r.tables["scenario_mining"]
    assert mining.loc[mining["period"] == "T2", "mined_t"].tolist() == pytest.approx([0.0, 0.0])
    assert r.expected_objective == pytest.approx(600, abs=TOL)
    assert r.evpi == pytest.approx(120, abs=TOL)
    assert r.ev_objective == -float("inf") and r.vss == float("inf")
    summary = dict(zip(r.tables["hedge_summary"]["key"], r.tables["hedge_summary"]["value"]))
    assert summary["ev_infeasible_in"] == "cut" and summary["base_plan_infeasible_in"] == "cut"
    out = write_hedge(r, tmp_path / "t2.xlsx")
    charts = pd.read_excel(out, sheet_name="charts").set_index("scenario")
    assert charts.loc["cut", "regret of the mean-value plan"] == "infeasible"
    assert charts.loc["cut", "regret of the hedged plan"] == pytest.approx(0.0)


def test_mean_value_plan_falls_back_to_the_base_plan_when_the_lps_differ_in_shape():
    """cut also commits K1 to 5 t A in T2 (penalty 1e6/t): a shortfall_t column and a demand_min
    row that base lacks, so coefficients cannot be averaged and the base plan (s = 0) stands in.
    Hedged: s = 30 covers the 5 t, 600 in both scenarios as before. Base plan in cut: T2 sells
    nothing, 5 t short: 300 - 5 * 1e6 = -4,999,700. ev_objective = 0.4 * 900 + 0.6 * -4,999,700
    = 360 - 2,999,820 = -2,999,460; vss = 600 + 2,999,460 = 3,000,060."""
    r = hedge(tiny_hedge(scenarios=[
        {"scenario": "cut", "value": 0, "target": "capacity_profile.capacity_t[entity=M1, period=T2]"},
        {"scenario": "cut", "value": 5, "target": "demand.min_t[customer=K1, product=A, period=T2]"}]))
    assert r.ev_problem.startswith("base case")
    assert r.expected_objective == pytest.approx(600, abs=TOL)
    assert r.ev_objective == pytest.approx(-2_999_460, abs=1e-3)
    assert r.vss == pytest.approx(3_000_060, abs=1e-3)


def test_single_scenario_of_probability_one_is_the_solve_objective():
    """Nothing to hedge: base with probability 1 is the plain solve (300 + 600 = 900), exactly."""
    inputs = tiny_hedge(uncertainty=[{"scenario": "base", "probability": 1}])
    r = hedge(inputs)
    assert r.expected_objective == solve(inputs).objective == pytest.approx(900)
    assert r.evpi == 0 and r.vss == 0


def test_single_named_scenario_is_the_solve_scenario_objective():
    """cut alone: stock all 30 t A of T1 for T2, where it sells at 20: 20 * 30 = 600."""
    inputs = tiny_hedge(uncertainty=[{"scenario": "cut", "probability": 1.0}])
    assert hedge(inputs).expected_objective == solve(inputs, scenario="cut").objective == 600


# --- the "done when" properties on the bundled base case -------------------------------------

def test_base_case_measures_are_consistent(base_result):
    r = base_result
    scale = TOL * abs(r.wait_and_see)
    assert r.evpi >= -scale and r.vss >= -scale
    assert r.expected_objective <= r.wait_and_see + scale
    assert r.uncertainty.scenarios == ("base", "approvals_fast", "approvals_delayed")
    assert sum(r.uncertainty.probabilities) == pytest.approx(1.0)


def test_base_case_wait_and_see_is_the_weighted_solve_objectives(base_result):
    inputs = read_inputs(BASE_CASE)
    weighted = sum(p * solve(inputs, scenario=None if s == "base" else s, sensitivity=False).objective
                   for s, p in zip(base_result.uncertainty.scenarios, base_result.uncertainty.probabilities))
    assert base_result.wait_and_see == pytest.approx(weighted, rel=1e-9)


@pytest.mark.parametrize("table, keys, value", [
    ("allocation", ["period", "customer", "product"], "tonnes"), ("mining", ["period", "mine"], "mined_t"),
    ("processing", ["period", "plant"], "input_t"), ("inventory", ["period", "product"], "closing_t")])
def test_base_case_shared_decisions_are_identical_in_every_scenario(base_result, table, keys, value):
    wide = _here_and_now(base_result, table, keys, value)
    assert len(wide) and list(wide.columns) == sorted(base_result.uncertainty.scenarios)
    spread = wide.max(axis=1) - wide.min(axis=1)
    assert float(spread.max()) <= 1e-6
    assert set(base_result.tables[table]["period"]) == set(base_result.uncertainty.first_stage)


def test_cli_hedge_writes_the_workbook_with_summary_and_chart(tmp_path, capsys):
    out = tmp_path / "hedge.xlsx"
    assert main(["hedge", str(BASE_CASE), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "evpi:" in printed and f"wrote {out}" in printed
    summary = pd.read_excel(out, sheet_name="hedge_summary")
    keys = set(summary["key"])
    assert {"expected_objective", "wait_and_see", "evpi", "ev_objective", "vss"} <= keys
    assert {"regret_base_plan[approvals_fast]", "regret_base_plan[approvals_delayed]"} <= keys
    info = dict(pd.read_excel(out, sheet_name="run_info").to_numpy())
    assert info["mpi_sppy"][0].isdigit()  # the installed version, so the run can be reproduced
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        chart = z.read(next(n for n in names if n.startswith("xl/charts/chart"))).decode()
    assert '<c:delete val="1"/>' not in chart and "<c:valAx>" in chart and "<c:catAx>" in chart
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # written atomically


def test_default_output_is_outputs_stem_hedge(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_xlsx(tiny_frames(), tmp_path / "tiny.xlsx")
    assert main(["hedge", str(path)]) == 0
    assert (tmp_path / "outputs" / "tiny-hedge.xlsx").exists()


# --- bad inputs: one mutation each ------------------------------------------------------------

def _problems(**kw) -> str:
    with pytest.raises(InputError) as err:
        hedge(tiny_hedge(**kw))
    return str(err.value)


def test_probabilities_must_sum_to_one():
    text = _problems(uncertainty=[{"scenario": "base", "probability": 0.4},
                                  {"scenario": "cut", "probability": 0.5}])
    assert "uncertainty!B2" in text and "found 0.9" in text and "summing to 1" in text


def test_unknown_scenario_names_the_nearest():
    text = _problems(uncertainty=[{"scenario": "base", "probability": 0.4},
                                  {"scenario": "cutt", "probability": 0.6}])
    assert "uncertainty!A3" in text and "'cutt'" in text and "nearest: cut" in text


def test_decide_through_must_be_a_period():
    text = _problems(through="T3")
    assert "settings!B3" in text and "'T3'" in text and "decide_through" in text


def test_probability_above_one_is_a_cell_error():
    with pytest.raises(InputError, match=r"uncertainty!B3 .*found 1.5"):
        tiny_hedge(uncertainty=[{"scenario": "base", "probability": -0.5},
                                {"scenario": "cut", "probability": 1.5}])


def test_a_scenario_listed_twice_is_an_error():
    with pytest.raises(InputError, match=r"uncertainty.*row 3.*unique scenario"):
        tiny_hedge(uncertainty=[{"scenario": "cut", "probability": 0.5},
                                {"scenario": "cut", "probability": 0.5}])


def test_no_uncertainty_sheet_is_an_input_error():
    assert "no uncertainty sheet" in _problems(uncertainty=[])


def test_scenarios_with_other_shared_decisions_are_refused():
    """A T1 minimum adds shortfall_t[K1, A, T1] in one scenario only: not one plan for both."""
    text = _problems(scenarios=[{"scenario": "cut", "value": 5,
                                 "target": "demand.min_t[customer=K1, product=A]"}])
    assert "scenario cut has other decisions" in text and "shortfall_t[K1, A, T1]" in text


def test_cli_bad_uncertainty_exits_2_without_traceback(tmp_path, capsys):
    bad = tiny_frames(uncertainty=[{"scenario": "base", "probability": 0.5},
                                   {"scenario": "cut", "probability": 0.6}])
    path = write_xlsx(bad, tmp_path / "bad.xlsx")
    assert main(["hedge", str(path), "-o", str(tmp_path / "o.xlsx")]) == 2
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("summing to 1") == 2


# --- progressive hedging ----------------------------------------------------------------------

def test_progressive_hedging_reaches_the_extensive_form_plan():
    """PH (one process here) agrees with the extensive form on the tiny instance: s = 30, 600."""
    r = hedge(tiny_hedge(), method="ph")
    assert r.expected_objective == pytest.approx(600, abs=1e-3)
    assert r.info["ph_iterations"] >= 1


MPI = shutil.which("mpiexec") and importlib.util.find_spec("mpi4py") is not None


@pytest.mark.skipif(not MPI, reason="needs mpiexec and mpi4py (pip install -e '.[mpi]' plus an MPI library)")
def test_progressive_hedging_over_two_mpi_ranks(tmp_path):
    path = write_xlsx(tiny_frames(), tmp_path / "tiny.xlsx")
    out = tmp_path / "ph.xlsx"
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_rmaps_base_oversubscribe": "1", "PYTHONPATH": str(REPO)}
    run = subprocess.run(["mpiexec", "-n", "2", sys.executable, "-m", "mpi4py", "-m", "optimizer",
                          "hedge", str(path), "--method", "ph", "-o", str(out)],
                         capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    summary = pd.read_excel(out, sheet_name="hedge_summary").set_index("key")["value"]
    assert float(summary["expected_objective"]) == pytest.approx(600, abs=1e-3)
    assert int(summary["mpi_ranks"]) == 2


def test_optimizer_hedge_stays_the_function_after_importing_the_module():
    """The module is optimizer.hedging, so importing it never rebinds optimizer.hedge."""
    import optimizer
    import optimizer.hedging as module

    assert optimizer.hedge is module.hedge
    inputs = tiny_hedge(uncertainty=[{"scenario": "base", "probability": 1}])
    assert optimizer.hedge(inputs).expected_objective == pytest.approx(900)


def test_write_hedge_refuses_a_non_xlsx_name(tiny_result, tmp_path):
    from optimizer.errors import OutputError

    with pytest.raises(OutputError, match=r"\.xlsx"):
        write_hedge(tiny_result, tmp_path / "plan.csv")


def test_outputs_md_explains_every_hedge_sheet_column_and_key(tiny_result):
    """docs/outputs.md names each sheet of the hedge workbook, each column and each summary key."""
    import re

    from optimizer.hedging import _run_info

    text = (REPO / "docs" / "outputs.md").read_text(encoding="utf-8")
    hedge_part = text[text.index("## The hedge workbook"):]
    missing = [f"sheet {name}" for name in tiny_result.tables if f"`{name}`" not in hedge_part
               and f"### {name}" not in hedge_part]
    for name in ("hedge_summary", "hedge_scenarios"):
        columns = tiny_result.tables[name].columns
        missing += [f"{name}.{c}" for c in columns if f"`{c}`" not in hedge_part]
    keys = {re.sub(r"\[.*\]$", "[s]", k) for k in tiny_result.tables["hedge_summary"]["key"]}
    keys |= {"ph_convergence", "ph_iterations", "ph_trivial_bound", "mpi_ranks"}
    keys |= set(_run_info(tiny_result)["key"]) - {"python", "pyomo", "highspy", "pandas",
                                                   "openpyxl", "tool_version", "platform"}
    missing += [f"key {k}" for k in sorted(keys) if f"`{k}`" not in hedge_part]
    assert not missing, f"document in docs/outputs.md (hedge workbook): {missing}"
