"""How the result and comparison workbooks read in Excel: charts, formats, Solver reports.

Charts are checked in the file's XML (what Excel opens): every chart has a title, axes that
are not deleted and cached values for its series. The Limits report is checked by hand on
Wyndor Glass. The base case is solved once per module.
"""

from __future__ import annotations

import dataclasses
import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import optimizer
from optimizer import writer
from optimizer.changes import Change
from optimizer.cli import main
from optimizer.errors import OutputError
from optimizer.highs import INF
from optimizer.limits import limits
from optimizer.sweeps import grid, named_scenarios, run_scenarios
from tests.test_sensitivity import solved, wyndor

BASE_CASE = Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx"
TREI_PENALTY = "demand.shortfall_penalty[customer=X_TREI]"
TREI_MIN = "demand.min_t[customer=X_TREI]"


@pytest.fixture(scope="module")
def base():
    return optimizer.read_inputs(BASE_CASE)


@pytest.fixture(scope="module")
def result(base):
    return optimizer.solve(base)


@pytest.fixture(scope="module")
def path(result, tmp_path_factory):
    return Path(optimizer.write_results(result, tmp_path_factory.mktemp("wb") / "r.xlsx"))


@pytest.fixture(scope="module")
def book(path):
    return openpyxl.load_workbook(path)


def chart_xml(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        names = sorted((n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)),
                       key=lambda n: int(re.search(r"\d+", n).group()))
        return [z.read(n).decode() for n in names]


def title(xml: str) -> str:
    match = re.search(r"<c:title>.*?</c:title>", xml, re.S)
    assert match, "chart without a title"
    return "".join(re.findall(r"<a:t>([^<]*)</a:t>", match.group()))


def assert_excel_ready(xml: str) -> None:
    """Axes present and not deleted; every series with cached values (and cached names)."""
    axes = re.findall(r"<c:(?:catAx|valAx)>.*?</c:(?:catAx|valAx)>", xml, re.S)
    assert len(axes) >= 2, title(xml)
    for axis in axes:
        assert '<c:delete val="1"/>' not in axis, title(xml)
    series = re.findall(r"<c:ser>.*?</c:ser>", xml, re.S)
    assert series, title(xml)
    for ser in series:
        assert "<c:numCache>" in ser and "<c:strCache>" in ser, title(xml)
        counts = [int(n) for n in re.findall(r'<c:ptCount val="(\d+)"/>', ser)]
        assert counts and min(counts) >= 1, title(xml)


def cached(xml: str, series: int) -> list[float]:
    ser = re.findall(r"<c:ser>.*?</c:ser>", xml, re.S)[series]
    values = re.search(r"<c:val>.*?</c:val>", ser, re.S).group()
    return [float(v) for v in re.findall(r"<c:v>([^<]*)</c:v>", values)]


# ---------------------------------------------------------------- charts


def test_every_result_chart_opens_with_title_axes_and_cached_values(path):
    xml = chart_xml(path)
    titles = [title(x) for x in xml]
    assert titles[:2] == ["NdPr by destination per period", "Plant utilisation per period"]
    assert "Treaty X_TREI: MRECL delivered against min and max" in titles
    assert any(t.startswith("NdPr stock (end of period) against") for t in titles)
    assert "Objective: present-value parts" in titles
    assert "Largest shadow prices (binding constraints)" in titles
    for x in xml:
        assert_excel_ready(x)
    ndpr = xml[0]
    assert '<c:grouping val="stacked"/>' in ndpr and '<c:barDir val="col"/>' in ndpr
    treaty = xml[titles.index("Treaty X_TREI: MRECL delivered against min and max")]
    assert "<c:barChart>" in treaty and "<c:lineChart>" in treaty  # delivered vs min/max lines
    shadow = xml[titles.index("Largest shadow prices (binding constraints)")]
    assert '<c:barDir val="bar"/>' in shadow and len(cached(shadow, 0)) == 10


def test_stock_chart_shows_a_reserve_target_where_the_inventory_has_one(result, tmp_path):
    """An NdPr reserve of 500 t in every period: a third line, 500 in each of the 7 periods."""
    inv = result.tables["inventory"].copy()
    inv["reserve_t"] = [500.0 if p == "NdPr" else None for p in inv["product"]]
    with_reserve = dataclasses.replace(result, tables={**result.tables, "inventory": inv})
    out = optimizer.write_results(with_reserve, tmp_path / "reserve.xlsx")
    xml = next(x for x in chart_xml(out) if title(x).startswith("NdPr stock"))
    assert title(xml) == "NdPr stock (end of period) against reserve and storage capacity"
    assert cached(xml, 1) == [500.0] * 7


def test_charts_sheet_comes_right_after_summary_and_holds_only_charts(book):
    assert book.sheetnames[:2] == ["summary", "charts"]
    assert book.sheetnames[-2:] == ["chart_data", "run_info"]
    assert book["charts"].max_row == 1  # a title line; the numbers are on chart_data


def test_waterfall_bars_add_up_to_the_objective():
    """revenue 100, mining cost -30, penalties -10: bars 0+100, 70+30 down, 60+10 down, 60."""
    summary = pd.DataFrame({"key": ["objective", "revenue_pv", "policy_value_pv",
                                    "cost_mining_pv", "penalties_pv"],
                            "value": [60.0, 100.0, 0.0, -30.0, -10.0]})
    frame = writer.waterfall_frame(summary)
    assert list(frame["part"]) == ["revenue", "cost mining", "penalties", "objective"]
    assert list(frame["base"]) == [0.0, 70.0, 60.0, 0.0]
    assert list(frame["increase"]) == [100.0, 0.0, 0.0, 0.0]
    assert list(frame["decrease"]) == [0.0, 30.0, 10.0, 0.0]
    assert list(frame["total"]) == [0.0, 0.0, 0.0, 60.0]
    assert not frame[["increase below 0", "decrease below 0"]].to_numpy().any()


def test_waterfall_below_zero():
    """revenue 100, penalties -300, mining -30 (objective -230).

    The penalty bar runs from 100 to -200: 100 above zero and -200 below, no base. The
    mining bar runs from -200 to -230: an invisible base down to -200, then -30.
    """
    summary = pd.DataFrame({"key": ["revenue_pv", "penalties_pv", "cost_mining_pv"],
                            "value": [100.0, -300.0, -30.0]})
    frame = writer.waterfall_frame(summary).set_index("part")
    assert frame.loc["penalties", ["base", "decrease", "decrease below 0"]].tolist() == \
        [0.0, 100.0, -200.0]
    assert frame.loc["cost mining", ["base", "decrease", "decrease below 0"]].tolist() == \
        [-200.0, 0.0, -30.0]
    assert frame.loc["objective", "total"] == -230.0


def test_waterfall_chart_caches_the_objective_and_hides_its_base(result, path):
    xml = next(x for x in chart_xml(path) if title(x) == "Objective: present-value parts")
    assert cached(xml, 3)[-1] == pytest.approx(result.objective)
    base_series = re.findall(r"<c:ser>.*?</c:ser>", xml, re.S)[0]
    assert "<a:noFill/>" in base_series


def test_ndpr_chart_cache_counts_ndpr_inside_treaty_mrecl(result, path):
    """Every mine's REO is 24.1 % NdPr: the X_TREI series is 0.241 x its MRECL tonnes."""
    xml = chart_xml(path)[0]
    names = re.findall(r"<c:tx>.*?<c:v>([^<]*)</c:v>", xml, re.S)
    alloc = result.tables["allocation"]
    trei = alloc[(alloc["customer"] == "X_TREI")].set_index("period")["tonnes"]
    periods = result.inputs.params.PERIODS
    assert cached(xml, names.index("X_TREI")) == pytest.approx(
        [0.241 * trei[t] for t in periods], abs=1e-6)


# ---------------------------------------------------------------- table sheets


def header_index(ws) -> dict[str, int]:
    return {c.value: i for i, c in enumerate(ws[1])}


def test_units_in_headers_and_number_formats(book):
    ws = book["allocation"]
    cols = header_index(ws)
    assert {"tonnes (t; MRECL in t REO)", "price (USD/t)", "revenue (USD)"} <= set(cols)
    row = ws[2]
    assert row[cols["tonnes (t; MRECL in t REO)"]].number_format == "#,##0.0"
    assert row[cols["revenue (USD)"]].number_format == "#,##0"
    mining = book["mining"]
    assert mining[2][header_index(mining)["utilisation (%)"]].number_format == "0.0%"
    summary = {r[0].value: r[1] for r in book["summary"].iter_rows(min_row=2)}
    assert summary["domestic_ndpr_share"].number_format == "0.0%"
    assert summary["objective"].number_format == "#,##0"
    assert summary["sold_t_NdPr"].number_format == "#,##0.0"
    for name in book.sheetnames:
        if name == "charts":
            continue
        ws = book[name]
        assert len(name) <= 31
        if name != "chart_data":
            assert ws.freeze_panes == "A2", name
            assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}" \
                                         f"{max(ws.max_row, 2)}", name
            assert ws.column_dimensions["A"].width > 6, name


def test_allocation_drops_only_lines_that_are_zero_in_every_period(result, book):
    """Base case: D_LACE (Ce, La) and D_STRAT (NdPr) never get a tonne, nor does the spot market
    get Dy or Tb (the strategic stock values them above the spot price): 5 lines x 7 periods."""
    ws = book["allocation"]
    assert ws.max_row - 1 == len(result.tables["allocation"]) - 5 * 7 == 98
    cols = header_index(ws)
    shown = {(r[cols["customer"]], r[cols["product"]]) for r in ws.iter_rows(min_row=2,
                                                                             values_only=True)}
    assert ("D_LACE", "Ce") not in shown and ("D_STRAT", "NdPr") not in shown
    assert ("X_SPOT", "Dy") not in shown and ("D_STRAT", "Dy") in shown
    assert ("X_SPOT", "Y") in shown  # 0 t in some periods, sold in others: kept


def test_constraints_in_excel_solver_words_balances_apart(result, book):
    ws = book["constraints"]
    header = [c.value for c in ws[1]]
    assert header[:7] == ["Cell", "Name", "Final Value (t)", "Shadow Price (USD/t, present value)",
                          "Constraint R.H. Side (t)", "Allowable Increase (t)",
                          "Allowable Decrease (t)"]
    assert {"family", "period", "binding", "meaning"} <= set(header)
    rows = pd.DataFrame(list(ws.iter_rows(min_row=2, values_only=True)), columns=header)
    cons = result.tables["constraints"]
    business = cons[~cons["family"].isin(writer.BALANCES)]
    assert len(rows) == len(business)
    assert not rows["family"].isin(writer.BALANCES).any()
    assert set(rows["period"]) == set(result.inputs.params.PERIODS)
    trei = rows[rows["Name"] == "demand_min[X_TREI, MRECL, FY2026]"].iloc[0]
    assert trei["customer"] == "X_TREI" and trei["product"] == "MRECL"
    assert trei["period"] == "FY2026" and trei["Cell"] == "demand!D2"
    assert trei["Shadow Price (USD/t, present value)"] == pytest.approx(
        business.set_index(["family", "index"]).loc[("demand_min", "X_TREI, MRECL, FY2026"),
                                                    "dual"])
    balances = pd.DataFrame(list(book["balances"].iter_rows(min_row=2, values_only=True)),
                            columns=[c.value for c in book["balances"][1]])
    assert set(balances["family"]) == set(writer.BALANCES)
    assert len(balances) + len(rows) == len(cons)


def test_variables_and_limits_in_excel_solver_words(book):
    assert [c.value for c in book["variables"][1]][:6] == [
        "Name", "Final Value (t)", "Reduced Cost (USD/t, present value)",
        "Objective Coefficient (USD/t, present value)",
        "Allowable Increase (USD/t, present value)", "Allowable Decrease (USD/t, present value)"]
    header = [c.value for c in book["limits"][1]]
    assert header[:6] == ["Name", "Final Value (t)", "Lower Limit (t)",
                          "Target Result at Lower Limit (USD, present value)", "Upper Limit (t)",
                          "Target Result at Upper Limit (USD, present value)"]
    rows = list(book["limits"].iter_rows(min_row=2, max_col=6, values_only=True))
    assert all(low <= value + 1e-9 and value <= up + 1e-9 for _, value, low, _, up, _ in rows)


# ---------------------------------------------------------------- Limits report (Wyndor)


def test_limits_report_wyndor_by_hand():
    """max 3 x1 + 5 x2; x1 <= 4, 2 x2 <= 12, 3 x1 + 2 x2 <= 18; optimum (2, 6), z = 36.

    x2 held at 6: plant 3 gives 3 x1 <= 6, so x1 in [0, 2]; z = 3*0 + 30 = 30 and 36.
    x1 held at 2: plants 2 and 3 give x2 <= 6, so x2 in [0, 6]; z = 6 + 0 = 6 and 36.
    A third product using no plant and earning nothing: [0, 1E+30], z = 36 at both.
    """
    lp = wyndor(extra_product=(0.0, [0.0, 0.0, 0.0]))
    _, sol, _ = solved(lp)
    table = limits(lp, sol)
    assert list(table["value"]) == pytest.approx([2.0, 6.0, 0.0])
    assert list(table["lower_limit"]) == pytest.approx([0.0, 0.0, 0.0])
    assert list(table["target_at_lower"]) == pytest.approx([30.0, 6.0, 36.0])
    assert list(table["upper_limit"][:2]) == pytest.approx([2.0, 6.0])
    assert table["upper_limit"].iloc[2] == INF
    assert list(table["target_at_upper"]) == pytest.approx([36.0, 36.0, 36.0])


def test_limits_report_is_the_same_with_ge_rows_and_respects_column_bounds():
    """The >= form of Wyndor has the same limits; an upper bound x1 <= 1.5 caps x1 there."""
    lp = wyndor(ge=True)
    _, sol, _ = solved(lp)
    table = limits(lp, sol)
    assert list(table["lower_limit"]) == pytest.approx([0.0, 0.0])
    assert list(table["upper_limit"]) == pytest.approx([2.0, 6.0])
    capped = dataclasses.replace(lp, col_upper=np.array([1.5, INF]))
    _, sol, _ = solved(capped)  # optimum (1.5, 6): z = 4.5 + 30 = 34.5
    table = limits(capped, sol)
    assert list(table["upper_limit"]) == pytest.approx([1.5, 6.0])
    assert table["target_at_upper"].iloc[0] == pytest.approx(34.5)


def test_limits_report_target_at_an_unlimited_limit_is_blank():
    """A product that loses 1 per unit and uses no plant: 0 at the optimum, no upper limit.

    At the lower limit (0) the objective is 36; at an unlimited upper limit it has no value.
    """
    lp = wyndor(extra_product=(-1.0, [0.0, 0.0, 0.0]))
    _, sol, _ = solved(lp)
    row = limits(lp, sol).iloc[2]
    assert row["value"] == 0.0 and row["lower_limit"] == 0.0
    assert row["target_at_lower"] == pytest.approx(36.0)
    assert row["upper_limit"] == INF and np.isnan(row["target_at_upper"])


# ---------------------------------------------------------------- atomic write


def test_a_file_locked_by_excel_is_an_output_error_and_stays(result, tmp_path, monkeypatch):
    dest = tmp_path / "r.xlsx"
    dest.write_bytes(b"previous")

    def locked(src, dst):
        raise PermissionError(13, "The process cannot access the file")

    monkeypatch.setattr(writer.os, "replace", locked)
    with pytest.raises(OutputError, match="Is it open in Excel"):
        optimizer.write_results(result, dest)
    assert dest.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]


def test_a_folder_without_permission_is_an_output_error(result, tmp_path, monkeypatch):
    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(writer.tempfile, "mkstemp", refused)
    with pytest.raises(OutputError, match="cannot write in the folder .*: permission denied; "
                                          "choose a folder"):
        optimizer.write_results(result, tmp_path / "r.xlsx")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- vs_base


@pytest.fixture(scope="module")
def breach(base):
    """The breach scenario (TREI penalty 1,000,000 -> 5,000 /t) and a TREI minimum of 500 t."""
    return optimizer.solve(base, scenario="breach", sensitivity=False, with_base=True,
                           changes=[Change(TREI_MIN, 500.0, "set", "test")])


def test_vs_base_lists_changed_cells_kpis_and_totals(breach, tmp_path):
    out = optimizer.write_results(breach, tmp_path / "breach.xlsx")
    frame = pd.read_excel(out, sheet_name="vs_base")
    assert list(frame.columns) == ["what", "item", "cell", "unit", "base", "scenario",
                                   "difference"]
    cells = frame[frame["what"] == "input cell"]
    # X_TREI's demand row 2 covers 7 periods: 7 penalty cells (H2) and 7 minimum cells (D2).
    assert len(cells) == 14
    penalty = cells[cells["cell"] == "demand!H2"]
    assert len(penalty) == 7 and set(penalty["base"]) == {1e6}
    assert set(penalty["scenario"]) == {5000} and set(penalty["difference"]) == {5000 - 1e6}
    assert set(cells.loc[cells["cell"] == "demand!D2", "difference"]) == {-500}
    kpi = frame[frame["what"] == "summary"].set_index("item")
    objective = kpi.loc["objective"]
    assert objective["base"] == pytest.approx(breach.base.objective)
    assert objective["scenario"] == pytest.approx(breach.objective)
    assert objective["difference"] == pytest.approx(breach.objective - breach.base.objective)
    totals = frame[frame["what"] == "table total"].set_index("item")
    assert totals.loc["treaty.committed_min_t", "base"] == pytest.approx(7 * 1000)
    assert totals.loc["treaty.committed_min_t", "scenario"] == pytest.approx(7 * 500)
    assert openpyxl.load_workbook(out, read_only=True).sheetnames[:3] == \
        ["summary", "charts", "vs_base"]


def test_cli_solve_set_writes_vs_base(capsys, tmp_path):
    out = tmp_path / "set.xlsx"
    code = main(["solve", str(BASE_CASE), "--set", f"{TREI_MIN}=1200", "-o", str(out)])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert f"changes: {TREI_MIN} = 1200" in printed.out
    frame = pd.read_excel(out, sheet_name="vs_base")
    assert set(frame.loc[frame["what"] == "input cell", "scenario"]) == {1200}


def test_cli_scenario_and_set_default_output_keeps_the_scenario_result(capsys, tmp_path,
                                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["solve", str(BASE_CASE), "--scenario", "breach", "--set", f"{TREI_MIN}=900"])
    assert code == 0, capsys.readouterr().err
    assert [p.name for p in (tmp_path / "outputs").iterdir()] == \
        ["base_case-breach-changed-result.xlsx"]


@pytest.mark.parametrize("option, words", [
    (f"{TREI_MIN}", ["PATH=VALUE"]),
    (f"{TREI_MIN}=1,2", ["one value"]),
    ("demand.nope[customer=X_TREI]=1", ["nope"]),
])
def test_cli_solve_bad_set_is_a_usage_error(capsys, tmp_path, option, words):
    out = tmp_path / "bad.xlsx"
    code = main(["solve", str(BASE_CASE), "--set", option, "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and "Traceback" not in err
    assert all(w in err for w in words), err
    assert not out.exists()


# ---------------------------------------------------------------- comparison workbooks


def described(base):
    """The base case with a description on the breach scenario's (only) row, none on suspension."""
    sheet = base.frames["scenarios"].copy()
    sheet.loc[sheet["scenario"] == "breach", "description"] = "TREI walks away at 5,000 USD/t"
    sheet.loc[sheet["scenario"] == "suspension", "description"] = None
    return dataclasses.replace(base, frames={**base.frames, "scenarios": sheet})


def test_scenario_comparison_has_descriptions_bars_and_tables(base, tmp_path):
    inputs = described(base)
    frame = run_scenarios(inputs, named_scenarios(inputs, ["breach", "suspension"]))
    out = writer.write_comparison(frame, tmp_path / "sc.xlsx", inputs=inputs)
    book = pd.read_excel(out, sheet_name=None)
    assert list(book)[:2] == ["results", "charts"]
    results = book["results"]
    assert list(results["scenario"]) == ["base", "suspension", "breach"]
    assert list(results["description"].fillna("")) == ["the input as is", "",
                                                      "TREI walks away at 5,000 USD/t"]
    alloc = book["allocation_by_scenario"]
    assert list(dict.fromkeys(alloc["scenario"])) == ["base", "suspension", "breach"]
    treaty = book["treaty_by_scenario"]
    delivered = treaty.groupby("scenario")["delivered (t)"].sum()
    assert delivered["suspension"] < delivered["base"]  # no TREI deliveries from FY2027
    xml = chart_xml(out)
    assert [title(x) for x in xml] == ["Objective per scenario (USD, present value)",
                                       "Domestic NdPr share per scenario"]
    for x in xml:
        assert_excel_ready(x)
        assert len(cached(x, 0)) == 3


def test_heat_maps_hold_the_results_pivoted(base, tmp_path):
    """Each heat map cell is its scenario's KPI (checked against pandas' pivot_table)."""
    axes = [(TREI_MIN, "set", [0.0, 1000.0, 2300.0]),
            ("demand.price[product=NdPr, customer!=D_STRAT]", "scale", [0.8, 1.2])]
    frame = run_scenarios(base, grid(axes))
    out = writer.write_comparison(frame, tmp_path / "heat.xlsx", inputs=base, axes=axes)
    heat = list(openpyxl.load_workbook(out)["heatmaps"].iter_rows(values_only=True))
    labels = [f"{TREI_MIN}", "demand.price[product=NdPr, customer!=D_STRAT] (scale)"]
    runs = frame.iloc[1:].assign(**{k: frame[k].iloc[1:].map(lambda v: f"{v:g}") for k in labels})
    for n, kpi in enumerate(("objective", "domestic_ndpr_share", "treaty_fulfilment_pct")):
        top = n * (3 + 4)  # title, header, 3 rows, then 2 blank rows
        assert heat[top][0].startswith(f"{kpi}: rows = ")
        assert list(heat[top + 1][:3]) == [labels[0], "0.8", "1.2"]
        pivot = runs.pivot_table(index=labels[0], columns=labels[1], values=kpi, aggfunc="first",
                                 sort=False, dropna=False)
        for i, a in enumerate(["0", "1000", "2300"]):
            assert heat[top + 2 + i][0] == a
            shown = [np.nan if v is None else v for v in heat[top + 2 + i][1:3]]  # blank: no treaty minimum
            assert shown == pytest.approx(list(pivot.loc[a, ["0.8", "1.2"]]), nan_ok=True)


def test_two_axis_sweep_with_a_single_value_axis_still_writes(base, tmp_path):
    """One axis with one value (a never-approved mine) left the old heat maps empty and failed."""
    axes = [("mines.approved_from[mine=M_KK]", "set", [None]), (TREI_MIN, "set", [0.0, 1000.0])]
    frame = run_scenarios(base, grid(axes))
    out = writer.write_comparison(frame, tmp_path / "two.xlsx", inputs=base, axes=axes)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[:2] == ["results", "heatmaps"]
    heat = wb["heatmaps"]
    assert heat["A3"].value == "blank"  # the single row of the first heat map
    assert [c.value for c in heat[2]][:3] == ["mines.approved_from[mine=M_KK]", "0", "1000"]
    rules = [rule for cf in heat.conditional_formatting for rule in cf.rules]
    assert rules and all(rule.type == "colorScale" for rule in rules)
    names = [r[0] for r in wb["results"].iter_rows(min_row=2, values_only=True)]
    assert names == ["base", f"mines.approved_from[mine=M_KK] = blank; {TREI_MIN} = 0",
                     f"mines.approved_from[mine=M_KK] = blank; {TREI_MIN} = 1000"]
    for x in chart_xml(out):
        assert_excel_ready(x)


def test_allocation_sheet_drops_only_lines_that_sell_nothing_in_any_period():
    """K1/A sells 5 t in T2 only: kept in both periods. K2/A sells 0 t (and 1e-12 t, rounding)
    in both: dropped. K1/B sells 3 t in T1: kept. Rows keep their order."""
    allocation = pd.DataFrame({
        "period": ["T1", "T2", "T1", "T2", "T1", "T2"],
        "customer": ["K1", "K1", "K2", "K2", "K1", "K1"],
        "product": ["A", "A", "A", "A", "B", "B"],
        "tonnes": [0.0, 5.0, 0.0, 1e-12, 3.0, 0.0]})
    kept = writer.drop_silent_rows(allocation)
    assert list(zip(kept["customer"], kept["product"], kept["period"])) == [
        ("K1", "A", "T1"), ("K1", "A", "T2"), ("K1", "B", "T1"), ("K1", "B", "T2")]
    assert writer.drop_silent_rows(allocation.iloc[:0]).empty


def test_text_columns_are_written_as_text_never_parsed(tmp_path):
    """Ids that look like formulas or numbers stay text, on the all-text fast path and off it."""
    book = writer.Book(str(tmp_path / "t.xlsx"))
    book.table("ids", pd.DataFrame({"all_text": ["=1+1", "2027", "http://x"],
                                    "mixed": ["=1+1", None, "2027"]}), raw=True)
    book.close()
    ws = openpyxl.load_workbook(tmp_path / "t.xlsx")["ids"]
    assert [ws.cell(r, 1).value for r in (2, 3, 4)] == ["=1+1", "2027", "http://x"]
    assert [ws.cell(r, 1).data_type for r in (2, 3, 4)] == ["s", "s", "s"]
    assert [ws.cell(r, 2).value for r in (2, 3, 4)] == ["=1+1", None, "2027"]
