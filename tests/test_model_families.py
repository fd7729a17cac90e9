"""One hand-solvable instance per part of the binding model (docs/model.md).

Every instance is the tiny instance of ``tiny.py`` with one or two things changed. Its
base facts, used in every docstring below:

    M1: 100 t monazite/yr, REO grade 0.5          -> 50 t REO/yr
    composition (default): A 0.6, B 0.4          -> 1 t REO separated = 0.6 t A + 0.4 t B
    C1 (cracking) and S1 (separation): capacity 1000, recovery 1, no cost
    K1 (domestic) buys A at 10/t, max 1000 t/yr
    X1 (export, treaty) buys MRECL at 4/t REO, no min, no max
    B has no buyer, no value, no disposal: it is simply stored (unlimited storage).

So 1 t REO is worth 6 separated (0.6 t A x 10) against 4 sold as MRECL, and 1 t monazite
is worth 0.5 x 6 = 3. Optimum of the untouched instance: 30 t A, objective 300.

Duals are "value of one more unit of the right-hand side" for a maximisation: a binding
``<=`` capacity has dual >= 0, a binding ``>=`` minimum has dual <= 0.
"""

from __future__ import annotations

import pandas as pd
import pytest
import tiny

import optimizer

# --- helpers -------------------------------------------------------------------------------

MINE = {"mine": "M1", "capacity_t": 100, "reo_grade": 0.5, "tho2_grade": 0.0,
        "mining_cost": 0, "status": "approved", "approved_from": None}
CRACK = {"plant": "C1", "stage": "cracking", "capacity_t": 1000, "recovery": 1.0,
         "unit_cost": 0}
SEP = {"plant": "S1", "stage": "separation", "capacity_t": 1000, "recovery": 1.0,
       "unit_cost": 0}
PROD_A = {"product": "A", "storage_capacity_t": None, "initial_stock_t": 0}
PROD_B = {"product": "B", "storage_capacity_t": None, "initial_stock_t": 0}
K1_A = {"customer": "K1", "product": "A", "period": None, "min_t": 0, "max_t": 1000,
        "price": 10}
X1_MRECL = {"customer": "X1", "product": "MRECL", "period": None, "min_t": 0, "max_t": None,
            "price": 4}


def mine(**kw) -> dict:
    return {**MINE, **kw}


def plant(base: dict, **kw) -> dict:
    return {**base, **kw}


def periods(*spec) -> list[dict]:
    """periods("T1", ("T2", 2)) -> rows; a tuple gives (period, years[, discount_factor])."""
    rows = []
    for item in spec:
        if isinstance(item, str):
            item = (item,)
        row = {"period": item[0], "years": item[1] if len(item) > 1 else 1}
        if len(item) > 2:
            row["discount_factor"] = item[2]
        rows.append(row)
    return rows


def solve(strict: bool | None = None, **overrides) -> optimizer.Result:
    inputs = optimizer.ModelInputs.from_frames(tiny.frames(**overrides))
    return optimizer.solve(inputs, strict=strict)


def optimal(**overrides) -> optimizer.Result:
    result = solve(**overrides)
    assert result.status == "optimal"
    return result


def con(result, family: str, index: str):
    """The one row of the constraints table for ``family`` at ``index`` ("M1, T1")."""
    table = result.tables["constraints"]
    rows = table[(table["family"] == family) & (table["index"] == index)]
    assert len(rows) == 1, f"{family}[{index}]: {len(rows)} rows"
    return rows.iloc[0]


def dual(result, family: str, index: str) -> float:
    return float(con(result, family, index)["dual"])


def value(result, table: str, column: str, **where) -> float:
    """The single ``column`` value of ``table`` in the row matching ``where``."""
    frame = result.tables[table]
    mask = True
    for key, val in where.items():
        mask = mask & (frame[key] == val)
    rows = frame[mask]
    assert len(rows) == 1, f"{table} {where}: {len(rows)} rows"
    return float(rows.iloc[0][column])


def tonnes(result, customer: str, product: str, period: str = "T1") -> float:
    return value(result, "allocation", "tonnes", customer=customer, product=product,
                 period=period)


def summary(result, key: str):
    s = result.tables["summary"]
    return s.loc[s["key"] == key, "value"].iloc[0]


# --- the untouched instance ----------------------------------------------------------------

def test_tiny_base_instance():
    """Separate all 50 t REO -> 30 t A at 10 = 300; B (20 t) goes to stock.

    MRECL at 4/t REO loses to separation at 6/t REO, so X1 gets nothing.
    """
    r = optimal()
    assert r.objective == pytest.approx(300.0)
    assert tonnes(r, "K1", "A") == pytest.approx(30.0)
    assert tonnes(r, "X1", "MRECL") == pytest.approx(0.0)
    assert value(r, "inventory", "closing_t", product="B", period="T1") == pytest.approx(20.0)


# --- 1. mine_capacity ----------------------------------------------------------------------

def test_mine_capacity_binding_with_mining_cost():
    """Mining cost 2/t: a tonne of monazite nets 3 - 2 = 1, so mine all 100 t.

    objective = 100 x (0.5 x 0.6 x 10) - 100 x 2 = 300 - 200 = 100.
    mine_capacity[M1,T1] is binding; one more tonne of capacity is worth 3 - 2 = 1.
    """
    r = optimal(mines=[mine(mining_cost=2)])
    assert r.objective == pytest.approx(100.0)
    assert value(r, "mining", "mined_t", mine="M1", period="T1") == pytest.approx(100.0)
    assert dual(r, "mine_capacity", "M1, T1") == pytest.approx(1.0)
    assert summary(r, "cost_mining_pv") == pytest.approx(-200.0)


def test_mine_capacity_unprofitable_mine_is_idle():
    """Mining cost 4/t > 3/t of value: nothing is mined, objective 0, capacity not binding."""
    r = optimal(mines=[mine(mining_cost=4)])
    assert r.objective == pytest.approx(0.0)
    assert value(r, "mining", "mined_t", mine="M1", period="T1") == pytest.approx(0.0)
    assert dual(r, "mine_capacity", "M1, T1") == pytest.approx(0.0)


def test_mine_capacity_availability_approved_pending_approved_from():
    """avail[m,t] over two periods T1, T2; every tonne of monazite is worth 3.

        M1 approved, approved_from blank      -> available T1, T2   (100 t/yr)
        M2 pending,  approved_from T2         -> available T2 only  ( 50 t/yr)
        M3 pending,  approved_from blank      -> never              (1000 t/yr)
        M4 approved, approved_from T2         -> available T2 only  ( 20 t/yr)

    T1: 100 t x 3 = 300.   T2: (100 + 50 + 20) t x 3 = 510.   objective = 810.
    Unavailable capacity is a zero RHS. mine_capacity[M1,T2] is binding with M1 mining
    100 t: one more tonne is worth 3 (dual 3).
    """
    r = optimal(
        periods=periods("T1", "T2"),
        mines=[mine(), mine(mine="M2", capacity_t=50, status="pending", approved_from="T2"),
               mine(mine="M3", capacity_t=1000, status="pending"),
               mine(mine="M4", capacity_t=20, approved_from="T2")])
    assert r.objective == pytest.approx(810.0)
    mined = {(m, t): value(r, "mining", "mined_t", mine=m, period=t)
             for m in ("M1", "M2", "M3", "M4") for t in ("T1", "T2")}
    assert mined == pytest.approx({("M1", "T1"): 100, ("M1", "T2"): 100,
                                   ("M2", "T1"): 0, ("M2", "T2"): 50,
                                   ("M3", "T1"): 0, ("M3", "T2"): 0,
                                   ("M4", "T1"): 0, ("M4", "T2"): 20})
    assert con(r, "mine_capacity", "M3, T2")["rhs"] == pytest.approx(0.0)
    assert con(r, "mine_capacity", "M2, T1")["rhs"] == pytest.approx(0.0)
    assert con(r, "mine_capacity", "M2, T2")["rhs"] == pytest.approx(50.0)
    assert dual(r, "mine_capacity", "M1, T2") == pytest.approx(3.0)


# --- 2. mine_dispatch, routes and transport_cost ---------------------------------------------

def test_mine_dispatch_routes_and_transport_cost():
    """Two cracking plants; routes M1->C1 (transport 0.5), M1->C2 (transport 1.0).

    C1 holds 60 t, C2 1000 t; M2 (50 t/yr) has no route, so it cannot be mined.
    Each tonne of M1 monazite is worth 3, so all 100 t go: 60 via C1, 40 via C2.
    objective = 300 - 60 x 0.5 - 40 x 1.0 = 230.
    cracking_capacity[C1] dual: one more tonne at C1 instead of C2 saves 1.0 - 0.5 = 0.5.
    mine_dispatch[M1] dual: one more tonne appearing at M1 goes the marginal route C2,
    3 - 1.0 = 2.
    """
    r = optimal(
        mines=[mine(), mine(mine="M2", capacity_t=50)],
        plants=[plant(CRACK, capacity_t=60), plant(CRACK, plant="C2"), SEP],
        routes=[{"mine": "M1", "plant": "C1", "transport_cost": 0.5},
                {"mine": "M1", "plant": "C2", "transport_cost": 1.0}])
    assert r.objective == pytest.approx(230.0)
    assert value(r, "processing", "input_t", plant="C1", period="T1") == pytest.approx(60.0)
    assert value(r, "processing", "input_t", plant="C2", period="T1") == pytest.approx(40.0)
    assert value(r, "mining", "mined_t", mine="M2", period="T1") == pytest.approx(0.0)
    assert dual(r, "cracking_capacity", "C1, T1") == pytest.approx(0.5)
    assert dual(r, "mine_dispatch", "M1, T1") == pytest.approx(2.0)
    assert summary(r, "cost_transport_pv") == pytest.approx(-70.0)


# --- 3. cracking_capacity --------------------------------------------------------------------

def test_cracking_capacity_recovery_and_unit_cost():
    """C1: capacity 80 t, recovery 0.5, unit cost 1/t monazite.

    1 t cracked -> 0.5 x 0.5 = 0.25 t REO -> 0.15 t A -> 1.5, minus 1 cost = 0.5 net.
    Crack 80 t (so only 80 t are mined): 80 x 0.5 = 40.
    cracking_capacity[C1] dual = 0.5; the mine is slack (dual 0).
    """
    r = optimal(plants=[plant(CRACK, capacity_t=80, recovery=0.5, unit_cost=1), SEP])
    assert r.objective == pytest.approx(40.0)
    assert value(r, "processing", "output_t", plant="C1", period="T1") == pytest.approx(20.0)
    assert value(r, "mining", "mined_t", mine="M1", period="T1") == pytest.approx(80.0)
    assert dual(r, "cracking_capacity", "C1, T1") == pytest.approx(0.5)
    assert dual(r, "mine_capacity", "M1, T1") == pytest.approx(0.0)


# --- 4. mixed_balance and MRECL sales --------------------------------------------------------

def test_mixed_balance_mrecl_sale_beats_separation():
    """X1 pays 8/t REO for MRECL, more than the 6 separation yields: sell all 50 t as MRECL.

    objective = 50 x 8 = 400; nothing is separated; mixed_balance dual = 8.
    """
    r = optimal(demand=[K1_A, {**X1_MRECL, "price": 8}])
    assert r.objective == pytest.approx(400.0)
    assert tonnes(r, "X1", "MRECL") == pytest.approx(50.0)
    assert tonnes(r, "K1", "A") == pytest.approx(0.0)
    assert value(r, "processing", "input_t", plant="S1", period="T1") == pytest.approx(0.0)
    assert dual(r, "mixed_balance", "M1, T1") == pytest.approx(8.0)


def test_mixed_balance_split_between_mrecl_and_separation():
    """X1 pays 8 but takes at most 20 t REO: 20 t sold as MRECL, 30 t separated.

    objective = 20 x 8 + 30 x 6 = 160 + 180 = 340.
    The marginal t REO is separated, so mixed_balance dual = 6; demand_max[X1] dual =
    8 - 6 = 2 (one more tonne X1 takes moves one tonne from separation to MRECL).
    """
    r = optimal(demand=[K1_A, {**X1_MRECL, "price": 8, "max_t": 20}])
    assert r.objective == pytest.approx(340.0)
    assert tonnes(r, "X1", "MRECL") == pytest.approx(20.0)
    assert tonnes(r, "K1", "A") == pytest.approx(18.0)
    assert dual(r, "mixed_balance", "M1, T1") == pytest.approx(6.0)
    assert dual(r, "demand_max", "X1, MRECL, T1") == pytest.approx(2.0)


# --- 5. separation_capacity ------------------------------------------------------------------

def test_separation_capacity_recovery_and_unit_cost():
    """S1: capacity 20 t REO, recovery 0.9, unit cost 1/t REO.

    1 t REO separated -> 0.9 x 0.6 = 0.54 t A -> 5.4, minus 1 = 4.4 net > 4 as MRECL.
    Separate 20 t: 20 x 4.4 = 88; the other 30 t REO as MRECL: 30 x 4 = 120. Total 208.
    separation_capacity[S1] dual = 4.4 - 4 = 0.4; mixed_balance dual = 4 (MRECL marginal).
    """
    r = optimal(plants=[CRACK, plant(SEP, capacity_t=20, recovery=0.9, unit_cost=1)])
    assert r.objective == pytest.approx(208.0)
    assert tonnes(r, "K1", "A") == pytest.approx(10.8)
    assert tonnes(r, "X1", "MRECL") == pytest.approx(30.0)
    assert dual(r, "separation_capacity", "S1, T1") == pytest.approx(0.4)
    assert dual(r, "mixed_balance", "M1, T1") == pytest.approx(4.0)


# --- 6. product_line_cap ---------------------------------------------------------------------

def test_product_line_cap_with_period_override():
    """product_caps: S1 line A max 12 t/yr (blank period), overridden to 100 in T2.

    T1: A line limits separation to 12 / 0.6 = 20 t REO -> 120; the other 30 t REO as
        MRECL -> 120. T1 total 240.
    T2: the cap of 100 does not bind: 300.   objective = 540.
    product_line_cap[S1,A,T1] dual: one more t of A needs 1/0.6 t REO taken from MRECL,
    10 - 4/0.6 = 3.333...; in T2 the cap is slack (dual 0).
    """
    r = optimal(periods=periods("T1", "T2"),
                product_caps=[{"plant": "S1", "product": "A", "period": None, "max_t": 12},
                              {"plant": "S1", "product": "A", "period": "T2", "max_t": 100}])
    assert r.objective == pytest.approx(540.0)
    assert value(r, "production", "produced_t", product="A", period="T1") == pytest.approx(12.0)
    assert value(r, "production", "produced_t", product="A", period="T2") == pytest.approx(30.0)
    assert dual(r, "product_line_cap", "S1, A, T1") == pytest.approx(10 - 4 / 0.6)
    assert dual(r, "product_line_cap", "S1, A, T2") == pytest.approx(0.0)


# --- 7. product_balance: initial stock, several periods ---------------------------------------

PB_DEMAND = [{**K1_A, "period": "T1", "max_t": 10, "price": 10},
             {**K1_A, "period": "T2", "max_t": 30, "price": 12},
             X1_MRECL]
PB_PROFILE = [{"entity": "M1", "period": "T2", "capacity_t": 0}]


def test_product_balance_initial_stock_and_carry_over():
    """A starts with 5 t in stock; M1 can mine only in T1 (capacity_profile T2 = 0).

    K1 takes at most 10 t A in T1 at 10 and 30 t A in T2 at 12.
    All A there is: 5 + 30 = 35 t. T2 is dearer, so it gets its full 30 t (carried as
    stock), the other 5 t sell in T1.   objective = 5 x 10 + 30 x 12 = 410.
    inventory A: T1 opening 5, produced 30, sold 5, closing 30; T2 opening 30, sold 30.
    product_balance[A,T1] dual (one more t of initial stock): sold in T1 at 10.
    demand_max[K1,A,T2] dual: one more t to T2 at 12 instead of T1 at 10 = 2.
    """
    r = optimal(periods=periods("T1", "T2"), capacity_profile=PB_PROFILE, demand=PB_DEMAND,
                products=[{**PROD_A, "initial_stock_t": 5}, PROD_B])
    assert r.objective == pytest.approx(410.0)
    assert tonnes(r, "K1", "A", "T1") == pytest.approx(5.0)
    assert tonnes(r, "K1", "A", "T2") == pytest.approx(30.0)
    inv = {col: value(r, "inventory", col, product="A", period="T1")
           for col in ("opening_t", "produced_t", "sold_t", "closing_t")}
    assert inv == pytest.approx({"opening_t": 5, "produced_t": 30, "sold_t": 5, "closing_t": 30})
    assert value(r, "inventory", "opening_t", product="A", period="T2") == pytest.approx(30.0)
    assert value(r, "inventory", "closing_t", product="A", period="T2") == pytest.approx(0.0)
    assert dual(r, "product_balance", "A, T1") == pytest.approx(10.0)
    assert dual(r, "demand_max", "K1, A, T2") == pytest.approx(2.0)


# --- 8. storage_capacity ---------------------------------------------------------------------

def test_storage_capacity_limits_carry_over():
    """M1 mines only in T1; K1 takes at most 5 t A in T1 at 10 and 30 t A in T2 at 12;
    A storage holds at most 20 t.

    T2 can only sell what was stored: 20 t at 12 = 240; T1 sells 5 t at 10 = 50.
    Those 25 t A need 25/0.6 = 41.67 t REO; the other 8.33 t REO go as MRECL at 4 = 33.33.
    Objective = 323.33.
    storage_capacity[A,T1] dual: one more t stored is one more t sold in T2 at 12, made
    from 1/0.6 t REO taken from MRECL: 12 - 4/0.6 = 5.333.
    """
    demand = [{**K1_A, "period": "T1", "max_t": 5, "price": 10},
              {**K1_A, "period": "T2", "max_t": 30, "price": 12}, X1_MRECL]
    r = optimal(periods=periods("T1", "T2"), capacity_profile=PB_PROFILE, demand=demand,
                products=[{**PROD_A, "storage_capacity_t": 20}, PROD_B])
    assert r.objective == pytest.approx(50 + 240 + 4 * (50 - 25 / 0.6))
    assert value(r, "inventory", "closing_t", product="A", period="T1") == pytest.approx(20.0)
    assert tonnes(r, "K1", "A", "T2") == pytest.approx(20.0)
    assert dual(r, "storage_capacity", "A, T1") == pytest.approx(12 - 4 / 0.6)


def test_storage_capacity_forces_mrecl_sale():
    """One period, B storage capped at 8 t (B has no buyer and no disposal).

    Each t REO separated leaves 0.4 t B in stock, so at most 8 / 0.4 = 20 t REO are
    separated -> 12 t A = 120; the other 30 t REO go as MRECL at 4 = 120. Objective 240.
    storage_capacity[B,T1] dual: one more t of B storage allows 2.5 t REO more separation,
    each worth 6 - 4 = 2 -> 5.
    """
    r = optimal(products=[PROD_A, {**PROD_B, "storage_capacity_t": 8}])
    assert r.objective == pytest.approx(240.0)
    assert tonnes(r, "X1", "MRECL") == pytest.approx(30.0)
    assert dual(r, "storage_capacity", "B, T1") == pytest.approx(5.0)


# --- 9. demand_max ---------------------------------------------------------------------------

def test_demand_max_binding():
    """K1 takes at most 20 t A: separate 20/0.6 = 33.33 t REO -> 200; MRECL 16.67 x 4 = 66.67.

    objective = 266.67; demand_max[K1,A] dual = 10 - 4/0.6 = 3.333 (the marginal t of A
    costs 1/0.6 t REO that would otherwise be sold as MRECL).
    """
    r = optimal(demand=[{**K1_A, "max_t": 20}, X1_MRECL])
    assert r.objective == pytest.approx(200 + 4 * (50 - 20 / 0.6))
    assert tonnes(r, "K1", "A") == pytest.approx(20.0)
    assert tonnes(r, "X1", "MRECL") == pytest.approx(50 - 20 / 0.6)
    assert dual(r, "demand_max", "K1, A, T1") == pytest.approx(10 - 4 / 0.6)


# --- 10. demand_min: elastic and strict -------------------------------------------------------

def test_demand_min_elastic_shortfall_at_penalty():
    """K1 must take 40 t A (penalty 100/t) but only 30 t A can be made.

    objective = 30 x 10 - 10 x 100 = -700; shortfall 10 t, penalty 1000.
    demand_min[K1,A] dual = -100: one more tonne of minimum is one more tonne short.
    """
    r = optimal(demand=[{**K1_A, "min_t": 40, "max_t": 50, "shortfall_penalty": 100},
                        X1_MRECL])
    assert r.objective == pytest.approx(-700.0)
    assert value(r, "shortfalls", "shortfall_t", customer="K1", product="A",
                 period="T1") == pytest.approx(10.0)
    assert value(r, "shortfalls", "penalty", customer="K1", product="A",
                 period="T1") == pytest.approx(1000.0)
    assert summary(r, "penalties_pv") == pytest.approx(-1000.0)
    assert dual(r, "demand_min", "K1, A, T1") == pytest.approx(-100.0)


def test_demand_min_default_penalty_from_settings():
    """As above with the penalty left blank: settings.default_shortfall_penalty = 50 applies.

    objective = 300 - 10 x 50 = -200.
    """
    r = optimal(settings=[{"key": "default_shortfall_penalty", "value": 50}],
                demand=[{**K1_A, "min_t": 40, "max_t": 50}, X1_MRECL])
    assert r.objective == pytest.approx(-200.0)
    assert dual(r, "demand_min", "K1, A, T1") == pytest.approx(-50.0)


MIN_MET = [{**K1_A, "min_t": 20}, {**X1_MRECL, "price": 8}]


@pytest.mark.parametrize("strict", [False, True])
def test_demand_min_met_against_the_market(strict):
    """MRECL at 8 beats separation (6/t REO), but K1 must get 20 t A: 33.33 t REO separated.

    objective = 20 x 10 + (50 - 33.33) x 8 = 200 + 133.33 = 333.33, elastic or strict.
    demand_min[K1,A] dual = 10 - 8/0.6 = -3.333 <= 0: the minimum costs 3.33 per tonne.
    """
    r = optimal(demand=MIN_MET) if not strict else solve(strict=True, demand=MIN_MET)
    assert r.status == "optimal"
    assert r.objective == pytest.approx(200 + 8 * (50 - 20 / 0.6))
    assert tonnes(r, "K1", "A") == pytest.approx(20.0)
    assert dual(r, "demand_min", "K1, A, T1") == pytest.approx(10 - 8 / 0.6)
    assert value(r, "shortfalls", "shortfall_t", customer="K1", product="A",
                 period="T1") == pytest.approx(0.0)


@pytest.mark.parametrize("how", ["argument", "setting"])
def test_demand_min_strict_infeasible(how):
    """K1 must take 40 t A but at most 30 t A can be made: strict mode has no solution."""
    demand = [{**K1_A, "min_t": 40, "max_t": 50}, X1_MRECL]
    if how == "argument":
        r = solve(strict=True, demand=demand)
    else:
        r = solve(settings=[{"key": "strict", "value": "true"}], demand=demand)
    assert r.status == "infeasible"
    assert r.objective is None
    assert "K1" in r.explanation


# --- 11. export_cap ---------------------------------------------------------------------------

def test_export_cap_counts_content_of_exported_mrecl():
    """X1 (export) pays 8/t REO for MRECL; export cap on A: 12 t/yr.

    Each t REO of MRECL carries 0.6 t A, so MRECL <= 12 / 0.6 = 20 t -> 160; the other
    30 t REO are separated -> 18 t A -> 180. Objective 340.
    export_cap[A] dual: one more t of A content lets 1/0.6 t REO go as MRECL (8) instead of
    being separated (6): 2 / 0.6 = 3.333.
    """
    r = optimal(demand=[K1_A, {**X1_MRECL, "price": 8}],
                export_caps=[{"product": "A", "period": None, "max_t": 12}])
    assert r.objective == pytest.approx(340.0)
    assert tonnes(r, "X1", "MRECL") == pytest.approx(20.0)
    assert con(r, "export_cap", "A, T1")["activity"] == pytest.approx(12.0)
    assert dual(r, "export_cap", "A, T1") == pytest.approx(2 / 0.6)


def test_export_cap_on_separated_product_spares_domestic_mrecl():
    """X2 (export) buys A at 12; a domestic buyer D1 buys MRECL at 8 (max 30 t REO);
    K1 buys A at 10; export cap on A: 10 t. D1's MRECL stays in the country, so its A
    content does not count against the cap.

    Per t REO: D1 pays 8; separated, A to X2 is worth 0.6 x 12 = 7.2, A to K1 0.6 x 10 = 6.
    D1 takes its 30 t REO (240); the other 20 t REO are separated -> 12 t A: 10 t to X2
    (the cap, 120) and 2 t to K1 (20). Objective 380.
    export_cap[A] dual: one more t to X2 instead of K1 = 12 - 10 = 2.
    """
    r = optimal(customers=[{"customer": "K1", "kind": "domestic", "treaty": False},
                           {"customer": "D1", "kind": "domestic", "treaty": False},
                           {"customer": "X2", "kind": "export", "treaty": False}],
                demand=[K1_A, {**K1_A, "customer": "X2", "price": 12},
                        {**X1_MRECL, "customer": "D1", "price": 8, "max_t": 30}],
                export_caps=[{"product": "A", "period": None, "max_t": 10}])
    assert r.objective == pytest.approx(380.0)
    assert tonnes(r, "D1", "MRECL") == pytest.approx(30.0)
    assert tonnes(r, "X2", "A") == pytest.approx(10.0)
    assert tonnes(r, "K1", "A") == pytest.approx(2.0)
    assert dual(r, "export_cap", "A, T1") == pytest.approx(2.0)


# --- 12. thorium_storage ----------------------------------------------------------------------

def test_thorium_storage_limits_cracking():
    """M1 monazite is 10 % ThO2; thorium storage takes 5 t/yr -> at most 50 t cracked.

    objective = 50 x 3 = 150; thorium_storage dual = 3 / 0.1 = 30 per t ThO2.
    """
    r = optimal(settings=[{"key": "thorium_storage_t", "value": 5}],
                mines=[mine(tho2_grade=0.1)])
    assert r.objective == pytest.approx(150.0)
    assert value(r, "mining", "tho2_t", mine="M1", period="T1") == pytest.approx(5.0)
    assert dual(r, "thorium_storage", "T1") == pytest.approx(30.0)


# --- years > 1 and discounting -----------------------------------------------------------------

def test_years_scale_per_year_figures():
    """One period of 2 years. Per-year figures double: mine 200 t, thorium 2 x 7.5 = 15 t
    ThO2 (-> 150 t cracked), product line A 2 x 40 = 80 t, K1 max 2 x 40 = 80 t, X1 export
    cap on A 2 x 3 = 6 t content. Storage does not scale.

    150 t cracked -> 75 t REO. X1 pays 8/t REO for MRECL but the export cap allows only
    6 / 0.6 = 10 t REO of MRECL -> 80. The other 65 t REO are separated -> 39 t A (under
    the line cap of 80 and K1's 80) -> 390. Objective 470.
    """
    r = optimal(periods=periods(("T1", 2)),
                settings=[{"key": "thorium_storage_t", "value": 7.5}],
                mines=[mine(tho2_grade=0.1)],
                product_caps=[{"plant": "S1", "product": "A", "period": None, "max_t": 40}],
                export_caps=[{"product": "A", "period": None, "max_t": 3}],
                demand=[{**K1_A, "max_t": 40}, {**X1_MRECL, "price": 8}])
    assert r.objective == pytest.approx(470.0)
    assert con(r, "mine_capacity", "M1, T1")["rhs"] == pytest.approx(200.0)
    assert con(r, "thorium_storage", "T1")["rhs"] == pytest.approx(15.0)
    assert con(r, "product_line_cap", "S1, A, T1")["rhs"] == pytest.approx(80.0)
    assert con(r, "demand_max", "K1, A, T1")["rhs"] == pytest.approx(80.0)
    assert con(r, "export_cap", "A, T1")["rhs"] == pytest.approx(6.0)
    assert tonnes(r, "X1", "MRECL") == pytest.approx(10.0)
    assert tonnes(r, "K1", "A") == pytest.approx(39.0)


def test_demand_minimum_scales_with_years():
    """One period of 2 years; X1 must take 5 t REO of MRECL a year (min 2 x 5 = 10 t) although
    MRECL pays 1/t REO and separation pays 6/t REO (0.6 x 10 through A), so exactly the
    minimum goes as MRECL.

    2 x 100 t monazite x 0.5 = 100 t REO: 10 t MRECL -> 10; 90 t separated -> 54 t A -> 540.
    Objective 550. Without the years factor the minimum would be 5 t and the objective 575.
    """
    r = optimal(periods=periods(("T1", 2)),
                demand=[K1_A, {**X1_MRECL, "price": 1, "min_t": 5, "shortfall_penalty": 1e4}])
    assert con(r, "demand_min", "X1, MRECL, T1")["rhs"] == pytest.approx(10.0)
    assert tonnes(r, "X1", "MRECL") == pytest.approx(10.0)
    assert r.objective == pytest.approx(550.0)


def test_discount_rate_with_multi_year_period():
    """discount_rate 10 %; periods T1 (1 yr), T2 (2 yr), T3 (1 yr); K1 max 25 t A/yr.

    df: T1 = 1, T2 = 1/1.1 (1 year before it), T3 = 1/1.1^3 (1 + 2 years before it).
    Per year: 25 t A = 250, using 25/0.6 = 41.67 t REO; 8.33 t REO as MRECL -> 33.33.
    Value per year v = 283.33. objective = v x (1 + 2/1.1 + 1/1.1^3) = 1,043.86...
    allocation K1 A in T2 = 50 t (2 years x 25).
    """
    r = optimal(settings=[{"key": "discount_rate", "value": 0.1}],
                periods=periods("T1", ("T2", 2), "T3"),
                demand=[{**K1_A, "max_t": 25}, X1_MRECL])
    v = 250 + 4 * (50 - 25 / 0.6)
    assert r.objective == pytest.approx(v * (1 + 2 / 1.1 + 1 / 1.1 ** 3))
    assert tonnes(r, "K1", "A", "T2") == pytest.approx(50.0)
    assert summary(r, "revenue_pv") == pytest.approx(v * (1 + 2 / 1.1 + 1 / 1.1 ** 3))
    # undiscounted cash: 4 years of v
    assert summary(r, "revenue_cash") == pytest.approx(4 * v)


def test_discount_factor_column_overrides_rate():
    """As above, but periods.discount_factor of T3 is 0.5 (T1, T2 still from the rate).

    objective = v x (1 + 2/1.1 + 0.5) with v = 283.33.
    """
    r = optimal(settings=[{"key": "discount_rate", "value": 0.1}],
                periods=periods("T1", ("T2", 2), ("T3", 1, 0.5)),
                demand=[{**K1_A, "max_t": 25}, X1_MRECL])
    v = 250 + 4 * (50 - 25 / 0.6)
    assert r.objective == pytest.approx(v * (1 + 2 / 1.1 + 0.5))


# --- holding cost, disposal, terminal value, policy value ---------------------------------------

def test_holding_cost_scales_with_years():
    """T1 lasts 2 years, T2 one; K1 buys A only in T2 (max 1000); A holding cost 1/t/yr.

    T1 makes 2 x 30 = 60 t A, held to T2 at 1 x 2 years = 2/t -> 120. A made in T1 is
    still worth 10 - 2 = 8/t -> 4.8/t REO > 4 as MRECL, so everything is separated.
    T2 makes 30 t A. Sold in T2: 90 t x 10 = 900.   objective = 900 - 120 = 780.
    product_balance[A,T1] dual: a tonne of A in stock at the end of T1 is worth 10 - 2 = 8.
    """
    r = optimal(periods=periods(("T1", 2), "T2"),
                demand=[{**K1_A, "period": "T2"}, X1_MRECL],
                products=[{**PROD_A, "holding_cost": 1}, PROD_B])
    assert r.objective == pytest.approx(780.0)
    assert summary(r, "cost_holding_pv") == pytest.approx(-120.0)
    assert tonnes(r, "K1", "A", "T2") == pytest.approx(90.0)
    assert value(r, "inventory", "closing_t", product="A", period="T1") == pytest.approx(60.0)
    assert dual(r, "product_balance", "A, T1") == pytest.approx(8.0)


def test_holding_cost_makes_mrecl_pay():
    """As above with holding cost 2.5/t/yr: holding A through T1 costs 5/t, so A made in T1
    is worth 5/t -> 3/t REO < 4 as MRECL. T1 sells 2 x 50 = 100 t REO as MRECL -> 400;
    T2 separates all -> 300. Objective 700, no stock held.
    """
    r = optimal(periods=periods(("T1", 2), "T2"),
                demand=[{**K1_A, "period": "T2"}, X1_MRECL],
                products=[{**PROD_A, "holding_cost": 2.5}, PROD_B])
    assert r.objective == pytest.approx(700.0)
    assert tonnes(r, "X1", "MRECL", "T1") == pytest.approx(100.0)
    assert value(r, "inventory", "closing_t", product="A", period="T1") == pytest.approx(0.0)


def test_disposal_only_where_cost_is_set():
    """No storage for A or B; B may be disposed of at 1/t, A may not (no disposal_cost).

    K1 takes at most 12 t A, so separating more than 12/0.6 = 20 t REO would make A that
    can be neither sold, stored nor disposed of. 20 t REO -> 12 t A = 120, 8 t B disposed
    = -8; the other 30 t REO as MRECL = 120. Objective 232.
    disposal table lists only B; mixed_balance dual = 4 (MRECL is the margin).
    """
    r = optimal(products=[{**PROD_A, "storage_capacity_t": 0},
                          {**PROD_B, "storage_capacity_t": 0, "disposal_cost": 1}],
                demand=[{**K1_A, "max_t": 12}, X1_MRECL])
    assert r.objective == pytest.approx(232.0)
    disposal = r.tables["disposal"]
    assert set(disposal["product"]) == {"B"}
    assert value(r, "disposal", "disposed_t", product="B", period="T1") == pytest.approx(8.0)
    assert summary(r, "cost_disposal_pv") == pytest.approx(-8.0)
    assert dual(r, "mixed_balance", "M1, T1") == pytest.approx(4.0)


def test_disposal_unused_when_separation_pays_anyway():
    """B storage 0 and disposal at 1/t: separation nets 6 - 0.4 = 5.6/t REO > 4.

    All 50 t separated: 300 - 20 x 1 = 280.
    """
    r = optimal(products=[PROD_A, {**PROD_B, "storage_capacity_t": 0, "disposal_cost": 1}])
    assert r.objective == pytest.approx(280.0)
    assert value(r, "disposal", "disposed_t", product="B", period="T1") == pytest.approx(20.0)


def test_terminal_value_discounted_with_last_period():
    """T1, T2 with T2's discount_factor 0.5; K1 max 20 t A/yr; A terminal value 7/t.

    Stock left at the end of T2 is worth 0.5 x 7 = 3.5 (present value).
    T1: surplus A held to the end is worth 3.5 x 0.6 = 2.1/t REO < 4 as MRECL, so
        separate 20/0.6 = 33.33 t REO (200) and sell 16.67 t REO as MRECL (66.67).
    T2 (all x 0.5): surplus A is worth 7 x 0.6 = 4.2/t REO > 4, so separate all 50 t:
        20 t sold (200) + 10 t left (70) -> 0.5 x 270 = 135.
    objective = 266.67 + 135 = 401.67; closing A: T1 0, T2 10.
    """
    r = optimal(periods=periods("T1", ("T2", 1, 0.5)),
                products=[{**PROD_A, "terminal_value": 7}, PROD_B],
                demand=[{**K1_A, "max_t": 20}, X1_MRECL])
    assert r.objective == pytest.approx(200 + 4 * (50 - 20 / 0.6) + 135)
    assert value(r, "inventory", "closing_t", product="A", period="T1") == pytest.approx(0.0)
    assert value(r, "inventory", "closing_t", product="A", period="T2") == pytest.approx(10.0)
    assert summary(r, "terminal_value_pv") == pytest.approx(35.0)


def test_policy_value_counts_in_objective_not_revenue():
    """X1 pays 8/t REO for MRECL (beats 6 from A at 10), but A carries policy value 5/t:
    A is then worth 15 -> 9/t REO > 8, so all 50 t REO are separated.

    objective = 30 x (10 + 5) = 450; revenue 300, policy value 150.
    """
    r = optimal(demand=[{**K1_A, "policy_value": 5}, {**X1_MRECL, "price": 8}])
    assert r.objective == pytest.approx(450.0)
    assert tonnes(r, "K1", "A") == pytest.approx(30.0)
    assert summary(r, "revenue_pv") == pytest.approx(300.0)
    assert summary(r, "policy_value_pv") == pytest.approx(150.0)


# --- capacity_profile and per-mine composition -------------------------------------------------

def test_capacity_profile_overrides_mine_and_plant_capacity():
    """T1, T2; capacity_profile: M1 in T2 = 40 t; S1 in T1 = 20 t REO.

    T1: 50 t REO, only 20 separated -> 120, 30 t REO as MRECL -> 120: 240.
    T2: 40 t monazite -> 20 t REO, all separated -> 120.   objective = 360.
    """
    r = optimal(periods=periods("T1", "T2"),
                capacity_profile=[{"entity": "M1", "period": "T2", "capacity_t": 40},
                                  {"entity": "S1", "period": "T1", "capacity_t": 20}])
    assert r.objective == pytest.approx(360.0)
    assert con(r, "mine_capacity", "M1, T1")["rhs"] == pytest.approx(100.0)
    assert con(r, "mine_capacity", "M1, T2")["rhs"] == pytest.approx(40.0)
    assert con(r, "separation_capacity", "S1, T1")["rhs"] == pytest.approx(20.0)
    assert con(r, "separation_capacity", "S1, T2")["rhs"] == pytest.approx(1000.0)
    assert tonnes(r, "X1", "MRECL", "T1") == pytest.approx(30.0)
    assert dual(r, "separation_capacity", "S1, T1") == pytest.approx(2.0)


def test_capacity_profile_blank_period_applies_to_every_period():
    """capacity_profile C1 with a blank period: 60 t in every period, T2 overridden to 80.

    T1: 60 t x 3 = 180; T2: 80 t x 3 = 240.   objective = 420.
    """
    r = optimal(periods=periods("T1", "T2"),
                capacity_profile=[{"entity": "C1", "period": None, "capacity_t": 60},
                                  {"entity": "C1", "period": "T2", "capacity_t": 80}])
    assert r.objective == pytest.approx(420.0)
    assert dual(r, "cracking_capacity", "C1, T2") == pytest.approx(3.0)


def test_composition_per_mine_overrides_default():
    """M2 (100 t, grade 0.5) has its own composition A 0.9, B 0.1; M1 uses the default.
    Separation takes 40 t REO.

    A t REO separated is worth 6 from M1 and 9 from M2, against 4 as MRECL: separate 40 t
    of M2's REO (36 t A = 360) and sell the rest as MRECL: 10 t from M2 and 50 t from M1
    (240). Objective 600.
    separation_capacity dual = 9 - 4 = 5 (one more t of M2's REO separated, not sold).
    """
    r = optimal(mines=[mine(), mine(mine="M2")],
                composition=[{"mine": None, "product": "A", "share": 0.6},
                             {"mine": None, "product": "B", "share": 0.4},
                             {"mine": "M2", "product": "A", "share": 0.9},
                             {"mine": "M2", "product": "B", "share": 0.1}],
                plants=[CRACK, plant(SEP, capacity_t=40)])
    assert r.objective == pytest.approx(600.0)
    assert value(r, "production", "produced_t", product="A", period="T1") == pytest.approx(36.0)
    assert value(r, "production", "produced_t", product="B", period="T1") == pytest.approx(4.0)
    assert tonnes(r, "X1", "MRECL") == pytest.approx(60.0)
    assert dual(r, "separation_capacity", "S1, T1") == pytest.approx(5.0)


def test_composition_per_mine_in_exported_mrecl_content():
    """M1 (default, A 0.6) and M2 (own composition, A 0.1, B 0.9); both 100 t, grade 0.5.
    X1 (export) pays 8/t REO for MRECL; export cap on A: 10 t content.

    Separation values (per t REO): M1 6, M2 1 (0.1 x 10). MRECL is worth 8 from either,
    but M1's MRECL carries 0.6 t A, M2's only 0.1 t. M2's 50 t go as MRECL (5 t A content,
    400); the remaining 5 t content let 5/0.6 = 8.33 t of M1's REO go as MRECL (66.67),
    the rest of M1 (41.67 t REO) is separated (250). Objective = 716.67.
    """
    r = optimal(mines=[mine(), mine(mine="M2")],
                composition=[{"mine": None, "product": "A", "share": 0.6},
                             {"mine": None, "product": "B", "share": 0.4},
                             {"mine": "M2", "product": "A", "share": 0.1},
                             {"mine": "M2", "product": "B", "share": 0.9}],
                demand=[K1_A, {**X1_MRECL, "price": 8}],
                export_caps=[{"product": "A", "period": None, "max_t": 10}])
    assert r.objective == pytest.approx(400 + 8 * 5 / 0.6 + 6 * (50 - 5 / 0.6))
    assert tonnes(r, "X1", "MRECL") == pytest.approx(50 + 5 / 0.6)


# --- a few more corners of the same families -----------------------------------------------------

def test_storage_capacity_does_not_scale_with_years():
    """One 2-year period; B (no buyer, no disposal) may hold at most 8 t at the end.

    Storage is a stock, not a per-year flow: the RHS stays 8, so only 8 / 0.4 = 20 t REO
    are separated in the two years (12 t A = 120); the other 2 x 50 - 20 = 80 t REO go as
    MRECL at 4 = 320. Objective 440.
    """
    r = optimal(periods=periods(("T1", 2)),
                products=[PROD_A, {**PROD_B, "storage_capacity_t": 8}])
    assert r.objective == pytest.approx(440.0)
    assert con(r, "storage_capacity", "B, T1")["rhs"] == pytest.approx(8.0)
    assert tonnes(r, "X1", "MRECL") == pytest.approx(80.0)


def test_free_disposal_is_allowed_when_cost_is_zero():
    """disposal_cost 0 is 'set' (only blank forbids disposal): B (storage 0) is disposed of
    for free, all 50 t REO separated, objective 300, 20 t B disposed."""
    r = optimal(products=[PROD_A, {**PROD_B, "storage_capacity_t": 0, "disposal_cost": 0}])
    assert r.objective == pytest.approx(300.0)
    assert value(r, "disposal", "disposed_t", product="B", period="T1") == pytest.approx(20.0)


def test_mrecl_minimum_elastic_and_policy_value():
    """X1 must take 60 t REO of MRECL (penalty 10/t), policy value 3/t on top of price 4.

    Only 50 t REO exist. A t REO sold as MRECL is worth 4 + 3 + 10 (one t less short) = 17
    against 6 separated, so all 50 t go to X1: 50 x 7 - 10 x 10 = 350 - 100 = 250.
    revenue 200, policy value 150, penalties -100. demand_min[X1,MRECL] dual = -10;
    mixed_balance dual = 17.
    """
    r = optimal(demand=[K1_A, {**X1_MRECL, "min_t": 60, "policy_value": 3,
                               "shortfall_penalty": 10}])
    assert r.objective == pytest.approx(250.0)
    assert tonnes(r, "X1", "MRECL") == pytest.approx(50.0)
    assert summary(r, "revenue_pv") == pytest.approx(200.0)
    assert summary(r, "policy_value_pv") == pytest.approx(150.0)
    assert summary(r, "penalties_pv") == pytest.approx(-100.0)
    assert dual(r, "demand_min", "X1, MRECL, T1") == pytest.approx(-10.0)
    assert dual(r, "mixed_balance", "M1, T1") == pytest.approx(17.0)
    treaty = r.tables["treaty"].iloc[0]
    assert treaty["shortfall_t"] == pytest.approx(10.0)


def test_product_line_cap_is_per_plant():
    """Two separation plants: S1 (recovery 1) with an A line cap of 6 t, S2 (recovery 0.9,
    no cap). Per t REO: S1 yields 0.6 t A (6), S2 0.54 t A (5.4), both beat MRECL (4).

    S1 takes 6 / 0.6 = 10 t REO (60); S2 takes the other 40 t (21.6 t A = 216). Total 276.
    product_line_cap[S1,A] dual: one more t of A at S1 moves 1/0.6 t REO from S2 to S1,
    gaining 1 - 0.9 = 0.1 t A = 1.
    """
    r = optimal(plants=[CRACK, SEP, plant(SEP, plant="S2", recovery=0.9)],
                product_caps=[{"plant": "S1", "product": "A", "period": None, "max_t": 6}])
    assert r.objective == pytest.approx(276.0)
    assert value(r, "processing", "input_t", plant="S1", period="T1") == pytest.approx(10.0)
    assert value(r, "processing", "input_t", plant="S2", period="T1") == pytest.approx(40.0)
    assert value(r, "production", "produced_t", plant="S2", product="A",
                 period="T1") == pytest.approx(21.6)
    assert dual(r, "product_line_cap", "S1, A, T1") == pytest.approx(1.0)


def test_empty_routes_sheet_means_all_pairs():
    """C1 holds 60 t, C2 1000 t. An empty routes sheet allows M1 -> C1 and M1 -> C2:
    all 100 t are cracked (300). A routes sheet with only M1 -> C1 (transport_cost left
    out, default 0) limits M1 to C1's 60 t: 180; C2 then cracks nothing."""
    plants = [plant(CRACK, capacity_t=60), plant(CRACK, plant="C2"), SEP]
    frames = tiny.frames(plants=plants)
    frames["routes"] = pd.DataFrame(columns=["mine", "plant", "transport_cost"])
    r = optimizer.solve(optimizer.ModelInputs.from_frames(frames))
    assert r.status == "optimal"
    assert r.objective == pytest.approx(300.0)
    r = optimal(plants=plants, routes=[{"mine": "M1", "plant": "C1"}])
    assert r.objective == pytest.approx(180.0)
    assert value(r, "processing", "input_t", plant="C2", period="T1") == pytest.approx(0.0)
    assert dual(r, "cracking_capacity", "C1, T1") == pytest.approx(3.0)
