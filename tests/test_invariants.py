"""Invariants of the bundled base case, recomputed from the result tables only.

The base case is solved once per module. Every check below uses the output tables (and,
where a limit is needed, the validated input frames), never the Pyomo model, so it holds
the report and the LP to the same physical chain (docs/model.md, docs/outputs.md).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import optimizer

BASE_CASE = Path(__file__).parents[1] / "inputs" / "base_case.xlsx"
TOL = 1e-6


def close(a: float, b: float, scale: float = 1.0) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b), scale)


@pytest.fixture(scope="module")
def inputs():
    return optimizer.read_inputs(BASE_CASE)


@pytest.fixture(scope="module")
def result(inputs):
    return optimizer.solve(inputs)


@pytest.fixture(scope="module")
def tables(result):
    return result.tables


@pytest.fixture(scope="module")
def periods(inputs) -> list[str]:
    return list(inputs.frame("periods")["period"])


def summary_value(tables, key):
    s = tables["summary"]
    return s.loc[s["key"] == key, "value"].iloc[0]


def blank(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


# --- status --------------------------------------------------------------------------------

def test_base_case_is_optimal_without_treaty_shortfall(result, tables):
    assert result.status == "optimal"
    assert summary_value(tables, "status") == "optimal"
    assert result.objective == pytest.approx(float(summary_value(tables, "objective")))
    treaty = tables["treaty"]
    assert not treaty.empty
    assert (treaty["shortfall_t"].abs() <= TOL).all()
    sf = tables["shortfalls"]
    assert (sf.loc[sf["treaty"].astype(bool), "shortfall_t"].abs() <= TOL).all()
    assert summary_value(tables, "treaty_fulfilment_pct") == pytest.approx(100.0)


def test_summary_objective_parts_add_up(result, tables):
    s = tables["summary"].set_index("key")["value"]
    parts = [k for k in s.index if k.endswith("_pv")]
    assert {"revenue_pv", "policy_value_pv", "penalties_pv", "cost_mining_pv",
            "cost_transport_pv", "cost_cracking_pv", "cost_separation_pv", "cost_holding_pv",
            "cost_disposal_pv", "terminal_value_pv"} <= set(parts)
    total = sum(float(s[k]) for k in parts)
    assert total == pytest.approx(result.objective, rel=1e-9)


def test_revenue_cash_is_allocation_revenue(tables):
    alloc = tables["allocation"]
    assert (alloc["revenue"] - alloc["tonnes"] * alloc["price"]).abs().max() <= 1e-6
    assert float(summary_value(tables, "revenue_cash")) == pytest.approx(alloc["revenue"].sum())


# --- product mass balance --------------------------------------------------------------------

def test_inventory_mass_balance(tables):
    """opening + produced - sold - disposed = closing, per product and period."""
    inv = tables["inventory"]
    lhs = inv["opening_t"] + inv["produced_t"] - inv["sold_t"] - inv["disposed_t"]
    assert (lhs - inv["closing_t"]).abs().max() <= 1e-6
    assert (inv[["opening_t", "produced_t", "sold_t", "disposed_t", "closing_t"]] >= -TOL) \
        .all().all()


def test_inventory_produced_matches_production_table(tables):
    inv = tables["inventory"].set_index(["product", "period"])
    made = tables["production"].groupby(["product", "period"])["produced_t"].sum()
    joined = inv["produced_t"].to_frame().join(made.rename("made"), how="outer").fillna(0.0)
    assert (joined["produced_t"] - joined["made"]).abs().max() <= 1e-6


def test_inventory_sold_matches_allocation_table(tables):
    inv = tables["inventory"].set_index(["product", "period"])
    alloc = tables["allocation"]
    sold = alloc[alloc["product"] != "MRECL"].groupby(["product", "period"])["tonnes"].sum()
    joined = inv["sold_t"].to_frame().join(sold.rename("alloc"), how="outer").fillna(0.0)
    assert (joined["sold_t"] - joined["alloc"]).abs().max() <= 1e-6


def test_inventory_disposed_matches_disposal_table(inputs, tables):
    """Disposal only where products.disposal_cost is set, and the two tables agree."""
    products = inputs.frame("products")
    allowed = {p for p, c in zip(products["product"], products["disposal_cost"]) if not blank(c)}
    disposal = tables["disposal"]
    assert set(disposal["product"]) <= allowed
    inv = tables["inventory"]
    not_allowed = inv[~inv["product"].isin(allowed)]
    assert (not_allowed["disposed_t"].abs() <= TOL).all()
    merged = inv.merge(disposal, on=["product", "period"], suffixes=("", "_d"))
    assert len(merged) == len(disposal)
    assert (merged["disposed_t"] - merged["disposed_t_d"]).abs().max() <= 1e-6


def test_closing_stock_is_next_opening(inputs, tables, periods):
    inv = tables["inventory"]
    initial = dict(zip(inputs.frame("products")["product"],
                       inputs.frame("products")["initial_stock_t"]))
    for product, rows in inv.groupby("product"):
        rows = rows.set_index("period").loc[periods]
        assert rows["opening_t"].iloc[0] == pytest.approx(float(initial[product]))
        closing = rows["closing_t"].to_numpy()[:-1]
        opening = rows["opening_t"].to_numpy()[1:]
        assert abs(closing - opening).max(initial=0.0) <= 1e-6, product


# --- the chain upstream of the products -------------------------------------------------------

def test_mined_equals_cracked(tables):
    """mine_dispatch: all monazite mined in a period is cracked in that period."""
    mined = tables["mining"].groupby("period")["mined_t"].sum()
    proc = tables["processing"]
    cracked = proc[proc["stage"] == "cracking"].groupby("period")["input_t"].sum()
    pd.testing.assert_series_equal(mined.sort_index(), cracked.sort_index(), check_names=False,
                                   atol=1e-6)


def test_mixed_balance_cracking_output_is_mrecl_sold_plus_separation_input(tables, periods):
    """REO out of cracking = MRECL sold + REO fed to separation, per period (MRECL is
    never stored)."""
    proc = tables["processing"]
    alloc = tables["allocation"]
    for t in periods:
        out = proc.loc[(proc["period"] == t) & (proc["stage"] == "cracking"), "output_t"].sum()
        sep = proc.loc[(proc["period"] == t) & (proc["stage"] == "separation"), "input_t"].sum()
        mrecl = alloc.loc[(alloc["period"] == t) & (alloc["product"] == "MRECL"), "tonnes"].sum()
        assert close(out, mrecl + sep, out), (t, out, mrecl, sep)


def test_cracking_output_is_grade_times_recovery(inputs, tables):
    """Cracking output (t REO) = REO mined (mining.reo_t) x the cracking recovery."""
    plants = inputs.frame("plants")
    cracking = plants[plants["stage"] == "cracking"]
    assert len(cracking) == 1  # the base case has one cracking plant (MoPP)
    recovery = float(cracking["recovery"].iloc[0])
    reo = tables["mining"].groupby("period")["reo_t"].sum()
    proc = tables["processing"]
    out = proc[proc["stage"] == "cracking"].groupby("period")["output_t"].sum()
    assert ((reo * recovery - out).abs() <= 1e-6).all()


def test_separation_output_is_what_the_products_receive(tables):
    """Shares sum to 1, so all separated oxide shows up in the production table."""
    proc = tables["processing"]
    out = proc[proc["stage"] == "separation"].groupby(["period", "plant"])["output_t"].sum()
    made = tables["production"].groupby(["period", "plant"])["produced_t"].sum()
    assert ((out - made.reindex(out.index)).abs() <= 1e-6).all()


# --- capacities ------------------------------------------------------------------------------

def test_mining_within_capacity_and_availability(tables):
    mining = tables["mining"]
    assert (mining["mined_t"] <= mining["capacity_t"] + TOL).all()
    assert (mining.loc[~mining["available"].astype(bool), "mined_t"].abs() <= TOL).all()


def test_pending_mines_idle_before_approval(inputs, tables, periods):
    """A pending mine with approved_from mines nothing before it; without it, never."""
    order = {t: i for i, t in enumerate(periods)}
    mining = tables["mining"]
    for rec in inputs.frame("mines").to_dict("records"):
        if rec["status"] != "pending":
            continue
        rows = mining[mining["mine"] == rec["mine"]]
        start = rec["approved_from"]
        early = rows if blank(start) else rows[rows["period"].map(order) < order[start]]
        assert (early["mined_t"].abs() <= TOL).all(), rec["mine"]


def test_plant_input_within_capacity(tables):
    proc = tables["processing"]
    assert (proc["input_t"] <= proc["capacity_t"] + TOL).all()


def test_product_line_output_within_cap(tables):
    prod = tables["production"]
    capped = prod[prod["line_cap_t"].notna()]
    assert not capped.empty  # the NdPr line cap at P_RED
    assert (capped["produced_t"] <= capped["line_cap_t"] + TOL).all()


def test_stock_within_storage(tables):
    inv = tables["inventory"]
    limited = inv[inv["storage_capacity_t"].notna()]
    assert not limited.empty
    assert (limited["closing_t"] <= limited["storage_capacity_t"] + TOL).all()


def test_thorium_within_storage(inputs, tables):
    limit = inputs.settings["thorium_storage_t"]
    assert limit is not None
    tho2 = tables["mining"].groupby("period")["tho2_t"].sum()
    assert (tho2 <= limit + TOL).all()


def test_every_constraint_row_holds(tables):
    """activity vs rhs in the constraints table, by sense."""
    cons = tables["constraints"]
    scale = cons["rhs"].abs().clip(lower=1.0)
    le, ge, eq = (cons["sense"] == s for s in ("<=", ">=", "="))
    assert ((cons.loc[le, "activity"] - cons.loc[le, "rhs"]) <= 1e-6 * scale[le]).all()
    assert ((cons.loc[ge, "rhs"] - cons.loc[ge, "activity"]) <= 1e-6 * scale[ge]).all()
    assert ((cons.loc[eq, "activity"] - cons.loc[eq, "rhs"]).abs() <= 1e-6 * scale[eq]).all()
    assert (cons["slack"] >= 0).all()


# --- demand ----------------------------------------------------------------------------------

def _demand(inputs) -> pd.DataFrame:
    years = dict(zip(inputs.frame("periods")["period"], inputs.frame("periods")["years"]))
    d = inputs.frame("demand").copy()
    d["years"] = d["period"].map(years).astype(float)
    return d


def test_allocation_within_demand_max(inputs, tables):
    d = _demand(inputs)
    alloc = tables["allocation"].merge(d, on=["customer", "product", "period"], how="left",
                                       validate="one_to_one")
    assert len(alloc) == len(tables["allocation"]) == len(d)
    assert (alloc["tonnes"] >= -TOL).all()
    capped = alloc[alloc["max_t"].notna()]
    assert (capped["tonnes"] <= capped["max_t"].astype(float) * capped["years"] + TOL).all()


def test_demand_min_met_or_reported_short(inputs, tables):
    """Every row with min > 0 is in shortfalls: delivered + shortfall >= required, and the
    delivered tonnes are those of the allocation table."""
    d = _demand(inputs)
    d = d[d["min_t"].astype(float) > 0]
    sf = tables["shortfalls"]
    assert len(sf) == len(d)
    merged = sf.merge(d, on=["customer", "product", "period"], validate="one_to_one")
    assert len(merged) == len(d)
    assert ((merged["required_t"] - merged["min_t"].astype(float) * merged["years"]).abs()
            <= 1e-9).all()
    assert (merged["delivered_t"] + merged["shortfall_t"] >= merged["required_t"] - 1e-6).all()
    alloc = tables["allocation"].merge(sf, on=["customer", "product", "period"])
    assert ((alloc["tonnes"] - alloc["delivered_t"]).abs() <= 1e-6).all()


def test_treaty_delivered_at_least_committed_or_short(tables):
    treaty = tables["treaty"]
    assert (treaty["delivered_t"] + treaty["shortfall_t"]
             >= treaty["committed_min_t"] - 1e-6).all()
    sf = tables["shortfalls"]
    committed = treaty[treaty["committed_min_t"] > 0]
    merged = committed.merge(sf, on=["customer", "product", "period"],
                             suffixes=("", "_sf"), validate="one_to_one")
    assert len(merged) == len(committed)
    assert ((merged["shortfall_t"] - merged["shortfall_t_sf"]).abs() <= 1e-9).all()
    alloc = tables["allocation"].merge(treaty, on=["customer", "product", "period"])
    assert len(alloc) == len(treaty)
    assert ((alloc["tonnes"] - alloc["delivered_t"]).abs() <= 1e-6).all()


def test_treaty_ndpr_content_of_mrecl(inputs, tables):
    """The treaty buys MRECL; its NdPr content is the default NdPr share of the REO."""
    comp = inputs.frame("composition")
    assert comp["mine"].isna().all() or all(blank(m) for m in comp["mine"])
    share = float(comp.loc[comp["product"] == "NdPr", "share"].iloc[0])
    treaty = tables["treaty"]
    mrecl = treaty[treaty["product"] == "MRECL"]
    assert not mrecl.empty
    assert ((mrecl["ndpr_content_t"] - share * mrecl["delivered_t"]).abs() <= 1e-6).all()


# --- reproducibility -------------------------------------------------------------------------

def test_solving_twice_gives_identical_allocation(inputs, result):
    again = optimizer.solve(inputs)
    assert again.objective == result.objective
    pd.testing.assert_frame_equal(again.tables["allocation"], result.tables["allocation"],
                                  check_exact=True)
    info = {k: v for k, v in zip(result.tables["run_info"]["key"],
                                 result.tables["run_info"]["value"])}
    info2 = {k: v for k, v in zip(again.tables["run_info"]["key"],
                                  again.tables["run_info"]["value"])}
    assert info["allocation_sha256"] == info2["allocation_sha256"]
    assert info["input_sha256"] == info2["input_sha256"] != ""
