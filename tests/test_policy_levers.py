"""Policy levers: reserve targets, scoped export caps, obligations in t REO met by a basket.

Every instance is ``tiny`` (tests/tiny.py) with one change, solved by hand in its test:
one period of one year, 50 t REO a year (M1: 100 t monazite at grade 0.5, recoveries 1),
separating a t REO yields 0.6 t A and 0.4 t B, K1 (domestic) buys A at 10/t up to 1,000 t,
X1 (export, treaty) buys MRECL at 4/t REO. Without a lever the optimum separates all 50 t
REO and sells 30 t A to K1: objective 300.

The bundled base case checks the issue's done-when conditions: a strict solve with an NdPr
export cap of 0 on non-treaty exports is feasible and meets every treaty minimum, and a
reserve target shows in the inventory and, when it binds, as a binding row with its dual.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import tiny

import optimizer
from optimizer.changes import Change, apply_changes
from optimizer.errors import InputError

BASE_CASE = Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx"


def solve(strict: bool = False, **sheets: list[dict]):
    return optimizer.solve(optimizer.ModelInputs.from_frames(tiny.frames(**sheets)), strict=strict)


def row(result, family: str, index: str) -> pd.Series:
    cons = result.tables["constraints"]
    hit = cons[(cons["family"] == family) & (cons["index"] == index)]
    assert len(hit) == 1, (family, index, cons["family"].unique())
    return hit.iloc[0]


def problems(**sheets: list[dict]) -> list:
    with pytest.raises(InputError) as err:
        optimizer.ModelInputs.from_frames(tiny.frames(**sheets))
    return err.value.problems


def summary(result, key: str) -> float:
    frame = result.tables["summary"]
    return float(frame.loc[frame["key"] == key, "value"].iloc[0])


# --- 1. reserve targets --------------------------------------------------------------------

def test_reserve_target_is_kept_in_stock_and_its_dual_is_the_lost_sale():
    """A reserve of 10 t A: 30 t A made, 10 kept, 20 sold to K1 -> objective 200.
    One more tonne of reserve is one tonne less sold at 10: dual -10."""
    result = solve(reserves=[{"product": "A", "min_stock_t": 10}])
    assert result.objective == pytest.approx(200)
    inv = result.tables["inventory"].set_index("product")
    assert inv.loc["A", "reserve_t"] == 10 and inv.loc["A", "closing_t"] == pytest.approx(10)
    assert pd.isna(inv.loc["B", "reserve_t"])
    r = row(result, "reserve_min", "A, T1")
    assert r["binding"] == "yes" and r["dual"] == pytest.approx(-10)
    assert r["meaning"] == "value of +1 t of A reserve in T1" and r["source"].startswith("reserves")


def test_months_of_cover_and_the_larger_target_wins():
    """K1 must take 24 t A a year. 3 months of cover = 3/12 x 24 = 6 t, above min_stock_t 5:
    6 t kept, 24 t sold -> 240. With 1 month (2 t) the tonnage wins: 5 kept, 25 sold -> 250."""
    demand = [{"customer": "K1", "product": "A", "period": None, "min_t": 24, "max_t": 1000,
               "price": 10}]
    cover = solve(demand=demand, reserves=[{"product": "A", "min_stock_t": 5, "months_of_cover": 3}])
    assert cover.tables["inventory"].set_index("product").loc["A", "reserve_t"] == pytest.approx(6)
    assert cover.objective == pytest.approx(240)
    tonnage = solve(demand=demand, reserves=[{"product": "A", "min_stock_t": 5, "months_of_cover": 1}])
    assert tonnage.tables["inventory"].set_index("product").loc["A", "reserve_t"] == pytest.approx(5)
    assert tonnage.objective == pytest.approx(250)


def test_cheap_reserve_shortfall_is_paid_in_penalties():
    """Penalty 4/t < price 10/t: sell all 30 t and miss the 10 t reserve: 300 - 40 = 260."""
    result = solve(reserves=[{"product": "A", "min_stock_t": 10, "shortfall_penalty": 4}])
    assert result.objective == pytest.approx(260)
    assert summary(result, "penalties_pv") == pytest.approx(-40)
    inv = result.tables["inventory"].set_index("product")
    assert inv.loc["A", "reserve_shortfall_t"] == pytest.approx(10)
    assert pd.isna(inv.loc["B", "reserve_shortfall_t"])


def test_reserve_above_what_can_be_made_is_explained_in_strict_mode():
    """40 t A cannot be kept: at most 30 t A can be made (50 t REO x 0.6)."""
    result = solve(strict=True, reserves=[{"product": "A", "min_stock_t": 40}])
    assert result.status == "infeasible"
    assert "the A reserve target of 40 t in stock (reserves row 2)" in result.explanation
    assert "give up 10 t of the A reserve target" in result.explanation


def test_reserve_validation():
    assert [(p.sheet, p.column) for p in problems(reserves=[{"product": "Z", "min_stock_t": 1}])] \
        == [("reserves", "product")]
    assert [(p.sheet, p.column) for p in problems(reserves=[{"product": "A", "min_stock_t": -1}])] \
        == [("reserves", "min_stock_t")]


# --- 2. scoped export caps ----------------------------------------------------------------

SPOT = [{"customer": "K1", "kind": "domestic", "treaty": False},
        {"customer": "X1", "kind": "export", "treaty": True},
        {"customer": "X2", "kind": "export", "treaty": False}]
SPOT_DEMAND = [{"customer": "K1", "product": "A", "period": None, "max_t": 1000, "price": 10},
               {"customer": "X1", "product": "MRECL", "period": None, "min_t": 10, "price": 4},
               {"customer": "X2", "product": "A", "period": None, "price": 12}]


def test_non_treaty_cap_limits_spot_exports_only():
    """X1 (treaty) must take 10 t REO MRECL (40; it holds 6 t A); 40 t REO separated -> 24 t A.
    Uncapped: 24 t A to X2 at 12 -> 288 + 40 = 328. Non-treaty A cap 5: X2 takes 5 (60), K1
    19 (190) -> 290; the treaty MRECL's 6 t A content does not count. Dual 12 - 10 = 2."""
    free = solve(customers=SPOT, demand=SPOT_DEMAND)
    assert free.objective == pytest.approx(328)
    capped = solve(customers=SPOT, demand=SPOT_DEMAND,
                   export_caps=[{"product": "A", "max_t": 5, "scope": "non_treaty"}])
    assert capped.objective == pytest.approx(290)
    r = row(capped, "export_cap_non_treaty", "A, T1")
    assert r["dual"] == pytest.approx(2) and r["activity"] == pytest.approx(5)


def test_non_treaty_cap_of_zero_keeps_the_treaty_feasible_where_an_all_cap_does_not():
    """Strict: an A export cap of 0 on every export forbids the treaty MRECL (6 t A content);
    scoped to non-treaty exports it only stops X2: K1 takes 24 t A -> 240 + 40 = 280."""
    scoped = solve(True, customers=SPOT, demand=SPOT_DEMAND,
                   export_caps=[{"product": "A", "max_t": 0, "scope": "non_treaty"}])
    assert scoped.status == "optimal" and scoped.objective == pytest.approx(280)
    everything = solve(True, customers=SPOT, demand=SPOT_DEMAND, export_caps=[{"product": "A", "max_t": 0}])
    assert everything.status == "infeasible"
    assert "the A export cap of 0 t (export_caps row 2)" in everything.explanation


def test_customer_cap_on_a_domestic_buyer():
    """K1 may receive at most 10 t A. Separating x t REO: 10*min(0.6x, 10) + 4*(50 - x) is
    largest at x = 50/3: 100 + 4*100/3 = 233.33. One more tonne for K1 is worth 10 - 4/0.6."""
    result = solve(export_caps=[{"product": "A", "max_t": 10, "customer": "K1"}])
    assert result.objective == pytest.approx(700 / 3)
    r = row(result, "customer_cap", "K1, A, T1")
    assert r["dual"] == pytest.approx(10 - 4 / 0.6)
    assert r["meaning"] == "value of +1 t of A that may be delivered to K1 in T1"


def test_customer_cap_counts_the_content_of_mrecl():
    """X1 pays 8/t REO for MRECL (more than 6 from separating). A content to X1 at most 6 t:
    10 t REO MRECL (80) + 40 t REO separated -> 24 t A to K1 (240) = 320."""
    demand = [tiny.frames()["demand"].to_dict("records")[0],
              {"customer": "X1", "product": "MRECL", "period": None, "price": 8}]
    result = solve(demand=demand, export_caps=[{"product": "A", "max_t": 6, "customer": "X1"}])
    assert result.objective == pytest.approx(320)


def test_workbook_without_the_new_columns_is_todays_model():
    """export_caps with only product/max_t: the row is export_cap[p,t] as before, and it counts
    the treaty MRECL's content: 6 t A in X1's 10 t REO, so X2 may take 9 of the 15 t."""
    result = solve(customers=SPOT, demand=SPOT_DEMAND, export_caps=[{"product": "A", "max_t": 15}])
    r = row(result, "export_cap", "A, T1")
    assert r["source"] == "export_caps!B2" and r["activity"] == pytest.approx(15)
    sales = result.tables["allocation"].set_index(["customer", "product"])["tonnes"]
    assert sales["X2", "A"] == pytest.approx(9)


def test_blank_scope_and_customer_give_the_same_lp_as_no_such_columns():
    """Old-style export_caps (product, max_t) and the same rows with scope all and a blank
    customer compile to the same LP, number for number, with the row key export_cap[A, T1]."""
    from optimizer.model import build_lp

    def lp(caps):
        return build_lp(optimizer.ModelInputs.from_frames(tiny.frames(customers=SPOT, demand=SPOT_DEMAND,
                                                                      export_caps=caps)))
    old, new = lp([{"product": "A", "max_t": 15}]), lp([{"product": "A", "max_t": 15, "scope": "all",
                                                          "customer": None}])
    assert old.row_keys == new.row_keys and old.col_keys == new.col_keys
    assert ("export_cap", ("A", "T1")) in old.row_keys
    assert (old.A != new.A).nnz == 0 and (old.c == new.c).all()
    assert (old.row_lower == new.row_lower).all() and (old.row_upper == new.row_upper).all()


def test_scoped_cap_validation():
    cap = {"product": "A", "max_t": 1}
    assert [(p.column, p.found) for p in problems(export_caps=[{**cap, "scope": "treaty"}])] \
        == [("scope", "treaty")]
    assert [(p.column, p.found) for p in problems(export_caps=[{**cap, "scope": "non_treaty",
                                                                "customer": "K1"}])] \
        == [("scope", "non_treaty")]
    assert [p.column for p in problems(export_caps=[{**cap, "customer": "NOBODY"}])] == ["customer"]
    # an all-scope row and a non_treaty row of one product are two rows; the same twice is not
    optimizer.ModelInputs.from_frames(tiny.frames(export_caps=[cap, {**cap, "scope": "non_treaty"}]))
    assert [p.column for p in problems(export_caps=[cap, {**cap, "scope": "all"}])] == ["period"]


# --- 3. obligations in t REO met by a basket -----------------------------------------------

OBLIGED = tiny.frames()["demand"].to_dict("records") + [
    {"customer": "X1", "product": "A", "period": None, "price": 5}]
O1 = [{"obligation": "O1", "customer": "X1", "min_reo_t": 20}]


def test_obligation_met_by_the_cheapest_basket_product():
    """20 t REO owed to X1 as MRECL or A (1 t REO per t each). A t REO as MRECL costs 6 - 4 = 2
    (it is not separated); as A to X1, 10 - 5 = 5. So 20 t MRECL (80) and 30 t REO separated
    -> 18 t A to K1 (180): 260, and the obligation's dual is -2."""
    result = solve(demand=OBLIGED, obligations=O1,
                   obligation_products=[{"obligation": "O1", "product": "MRECL"},
                                        {"obligation": "O1", "product": "A", "reo_factor": 1}])
    assert result.objective == pytest.approx(260)
    assert row(result, "obligation_min", "O1, T1")["dual"] == pytest.approx(-2)
    treaty = result.tables["treaty"]
    lines = treaty[treaty["obligation"] == "O1"].set_index("product")
    assert lines.loc["MRECL", "delivered_t"] == pytest.approx(20)
    assert lines.loc["A", "delivered_t"] == pytest.approx(0)
    assert lines["obligation_min_reo_t"].tolist() == [20, 20]
    assert lines["obligation_reo_t"].tolist() == pytest.approx([20, 20])


def test_obligation_with_a_single_product_basket_and_a_factor():
    """Basket A only, at 2 t REO per t A: 10 t A to X1 (50) covers 20 t REO, 20 t A to K1
    (200) -> 250; one more t REO owed costs half a tonne of A moved from K1: dual -2.5."""
    result = solve(demand=OBLIGED, obligations=O1,
                   obligation_products=[{"obligation": "O1", "product": "A", "reo_factor": 2}])
    assert result.objective == pytest.approx(250)
    assert row(result, "obligation_min", "O1, T1")["dual"] == pytest.approx(-2.5)
    lines = result.tables["treaty"].set_index("obligation").loc["O1"]
    assert lines["delivered_t"] == pytest.approx(10) and lines["reo_t"] == pytest.approx(20)


def test_obligation_above_supply_is_explained_in_strict_mode():
    """60 t REO owed, 50 t REO can be made: infeasible when strict; the repair gives up 10."""
    result = solve(True, demand=OBLIGED, obligations=[{**O1[0], "min_reo_t": 60}],
                   obligation_products=[{"obligation": "O1", "product": "MRECL"}])
    assert result.status == "infeasible"
    assert "the treaty obligation O1 of 60 t REO to X1 as MRECL (obligations row 2)" \
        in result.explanation
    assert "give up 10 t of the treaty obligation O1" in result.explanation


def test_elastic_obligation_shortfall_is_penalised():
    """Penalty 3 per t REO: below the cost of 2 per t REO as MRECL? No: 2 < 3, so it is met;
    at penalty 1 it is missed: 300 - 20 = 280."""
    basket = [{"obligation": "O1", "product": "MRECL"}]
    met = solve(demand=OBLIGED, obligations=[{**O1[0], "shortfall_penalty": 3}], obligation_products=basket)
    assert met.objective == pytest.approx(260)
    missed = solve(demand=OBLIGED, obligations=[{**O1[0], "shortfall_penalty": 1}], obligation_products=basket)
    assert missed.objective == pytest.approx(280) and summary(missed, "penalties_pv") == pytest.approx(-20)


def test_obligation_validation():
    basket = [{"obligation": "O1", "product": "MRECL"}]
    assert [(p.sheet, p.column, p.found) for p in problems(
        demand=OBLIGED, obligations=O1, obligation_products=[{"obligation": "O1", "product": "B"}])] \
        == [("obligation_products", "product", "B")]  # X1 has no demand row (price) for B
    assert [(p.sheet, p.column) for p in problems(demand=OBLIGED, obligations=O1,
                                                  obligation_products=[{"obligation": "O2", "product": "A"}])] \
        == [("obligation_products", "obligation"), ("obligations", "obligation")]
    assert [(p.sheet, p.column) for p in problems(demand=OBLIGED, obligations=[{**O1[0], "min_reo_t": None}],
                                                  obligation_products=basket)] == [("obligations", "min_reo_t")]


# --- the bundled base case: done-when checks -----------------------------------------------

@pytest.fixture(scope="module")
def base():
    return optimizer.read_inputs(BASE_CASE)


def test_base_case_strict_non_treaty_ndpr_cap_of_zero_honours_the_treaty(base):
    changed = apply_changes(base, [Change("export_caps.max_t[product=NdPr, scope=non_treaty]", 0)])
    result = optimizer.solve(changed, strict=True, sensitivity=False)
    assert result.status == "optimal"
    treaty = result.tables["treaty"]
    minimums = treaty[treaty["committed_min_t"] > 0]
    assert len(minimums) == 7
    assert (minimums["delivered_t"] >= minimums["committed_min_t"] - 1e-6).all()
    allocation = result.tables["allocation"]
    spot_ndpr = allocation[(allocation["customer"] == "X_SPOT") & (allocation["product"] == "NdPr")]
    assert spot_ndpr["tonnes"].sum() == pytest.approx(0, abs=1e-6)
    # the same cap on every export is infeasible (the treaty MRECL holds NdPr): the scope matters
    assert optimizer.solve(apply_changes(base, [Change("export_caps.max_t[product=NdPr]", 0)]),
                           strict=True, sensitivity=False).status == "infeasible"


def test_base_case_reserve_target_binds_with_its_dual(base):
    """50 t NdPr in stock at the end of the first period in which the base plan sells its NdPr
    stock down to nothing: the target binds, one more tonne of reserve costs money (a negative
    dual), and the objective falls."""
    plain = optimizer.solve(base, sensitivity=False)
    inv = plain.tables["inventory"]
    empty = inv[(inv["product"] == "NdPr") & (inv["closing_t"] < 1e-6)]
    assert not empty.empty, "the base plan never empties the NdPr store: pick another test period"
    t = empty["period"].iloc[0]
    changed = apply_changes(base, [Change(f"reserves.min_stock_t[product=NdPr, period={t}]", 50)])
    result = optimizer.solve(changed, sensitivity=False)
    inv = result.tables["inventory"]
    ndpr = inv[(inv["product"] == "NdPr") & (inv["period"] == t)].iloc[0]
    assert ndpr["reserve_t"] == 50 and ndpr["closing_t"] == pytest.approx(50)
    assert inv.loc[inv["period"] != t, "reserve_t"].isna().all()
    r = row(result, "reserve_min", f"NdPr, {t}")
    assert r["binding"] == "yes" and r["dual"] < 0
    assert result.objective < plain.objective


def test_an_obligation_is_owed_to_one_customer():
    basket = [{"obligation": "O1", "product": "MRECL"}]
    two = [O1[0], {**O1[0], "customer": "K1", "period": "T1"}]
    assert [(p.sheet, p.column, p.found) for p in problems(demand=OBLIGED, obligations=two,
                                                           obligation_products=basket)] \
        == [("obligations", "customer", "K1")]


def test_obligation_rows_reach_the_workbook(tmp_path):
    """The result workbook writes the treaty sheet with its obligation rows (and no treaty
    chart for them: they have no min/max of their own)."""
    import openpyxl

    result = solve(demand=OBLIGED, obligations=O1, obligation_products=[{"obligation": "O1", "product": "MRECL"}])
    path = optimizer.write_results(result, tmp_path / "out.xlsx")
    ws = openpyxl.load_workbook(path, read_only=True)["treaty"]
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    assert any("O1" in r for r in values)


def test_reserve_above_storage_is_a_pre_solve_check():
    """Storage for A is 5 t; a reserve of 8 t cannot be held: strict is infeasible, and the
    explanation names both cells before any solve."""
    products = [{"product": "A", "storage_capacity_t": 5, "initial_stock_t": 0},
                {"product": "B", "storage_capacity_t": None, "initial_stock_t": 0}]
    result = solve(True, products=products, reserves=[{"product": "A", "min_stock_t": 8}])
    assert result.status == "infeasible"
    assert ("In T1 the A reserve target of 8 t (reserves row 2) is above the 5 t of A storage "
            "(products row 2).") in result.explanation


def test_non_treaty_cap_below_non_treaty_mrecl_minimum_is_a_pre_solve_check():
    """X2 (no treaty) must take 10 t REO of MRECL, which holds 6 t A; a non-treaty A cap of 2 t
    cannot allow it. X1's treaty MRECL does not count against this cap."""
    demand = SPOT_DEMAND + [{"customer": "X2", "product": "MRECL", "period": None, "min_t": 10, "price": 4}]
    result = solve(True, customers=SPOT, demand=demand,
                   export_caps=[{"product": "A", "max_t": 2, "scope": "non_treaty"}])
    assert result.status == "infeasible"
    assert ("In T1 the A export cap of 2 t (export_caps row 2) is below the 6 t of A contained in "
            "the MRECL minimums of export customers without a treaty.") in result.explanation
