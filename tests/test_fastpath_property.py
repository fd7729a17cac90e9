"""The sweep's fast path equals a full solve: a property over random workbooks and changes.

For a random valid workbook (1-4 periods of 1-3 years each, so per-year figures are
multiplied; capacities small enough to bind) and a random scenario of one or two change
paths (any model input column; modes set, scale and add; blank values; choice and boolean
words in any case; period ids that read as numbers), the comparison row a sweep computes
(hot re-solve or rebuild, whichever the engine picks) must equal what
``optimizer.solve(apply_changes(inputs, changes))`` gives: the same status and, when
optimal, the same objective, revenue, policy value, penalties, domestic NdPr share and
treaty fulfilment. A change the full path refuses must be refused by the sweep too, and
the other way round.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

import optimizer
from optimizer.changes import Change, apply_changes
from optimizer.edits import StructuralChange, check_cells, resolve_cells
from optimizer.errors import InputError
from optimizer.model import build_lp
from optimizer.sweeps import Scenario, SweepEngine, run_scenarios

# --- random workbooks ---------------------------------------------------------------------

@st.composite
def workbooks(draw) -> dict[str, pd.DataFrame]:
    n_periods = draw(st.integers(1, 4))
    numeric_ids = draw(st.booleans())  # period ids such as 2026, which stay text
    periods = [str(2026 + i) if numeric_ids else f"T{i + 1}" for i in range(n_periods)]
    period_rows = [{"period": t, "years": draw(st.sampled_from([1, 1, 2, 3])),
                    "discount_factor": draw(st.sampled_from([None, None, None, 0.8]))}
                   for t in periods]
    mines = []
    for i in range(draw(st.integers(1, 3))):
        status = draw(st.sampled_from(["approved", "approved", "pending"]))
        mines.append({"mine": f"M{i + 1}", "capacity_t": draw(st.sampled_from([50, 100, 400])),
                      "reo_grade": draw(st.sampled_from([0.5, 0.6])),
                      "tho2_grade": draw(st.sampled_from([0.0, 0.08])),
                      "mining_cost": draw(st.sampled_from([0, 5])), "status": status,
                      "approved_from": draw(st.sampled_from([None, *periods]))})
    plants = [{"plant": "C1", "stage": "cracking", "capacity_t": draw(st.sampled_from([80, 1000])),
               "recovery": 0.95, "unit_cost": draw(st.sampled_from([0, 2]))},
              {"plant": "S1", "stage": "separation", "capacity_t": draw(st.sampled_from([30, 1000])),
               "recovery": 0.9, "unit_cost": draw(st.sampled_from([0, 3]))}]
    if draw(st.booleans()):
        plants.append({"plant": "C2", "stage": "cracking", "capacity_t": 60, "recovery": 0.9,
                       "unit_cost": 1})
    routes = []
    if draw(st.booleans()):
        routes = [{"mine": m["mine"], "plant": p["plant"], "transport_cost": draw(st.sampled_from([0, 1]))}
                  for m in mines for p in plants if p["stage"] == "cracking"]
    products = [{"product": p, "storage_capacity_t": draw(st.sampled_from([None, 5, 50])),
                 "holding_cost": draw(st.sampled_from([0, 1])),
                 "initial_stock_t": draw(st.sampled_from([0, 0, 10])),
                 "disposal_cost": draw(st.sampled_from([None, None, 2])),
                 "terminal_value": draw(st.sampled_from([0, 0, 4]))} for p in ("NdPr", "Ce", "La")]
    customers = [{"customer": "K1", "kind": "domestic", "treaty": False},
                 {"customer": "K2", "kind": "domestic", "treaty": False},
                 {"customer": "X1", "kind": "export", "treaty": True},
                 {"customer": "X2", "kind": "export", "treaty": False}]
    demand = []
    for k, q, price in (("K1", "NdPr", 60), ("K2", "Ce", 3), ("K2", "La", 2), ("X1", "MRECL", 9),
                        ("X2", "NdPr", 50), ("X2", "Ce", 2)):
        low = draw(st.sampled_from([0, 0, 5, 20]))
        high = draw(st.sampled_from([None, None, low + 10, low + 100]))
        demand.append({"customer": k, "product": q, "period": None, "min_t": low, "max_t": high,
                       "price": price, "policy_value": draw(st.sampled_from([0, 0, 10])),
                       "shortfall_penalty": draw(st.sampled_from([None, 100, 5]))})
    if n_periods > 1 and draw(st.booleans()):  # a per-period override of the blank row
        demand.append({"customer": "X1", "product": "MRECL", "period": periods[-1], "min_t": 30,
                       "max_t": None, "price": 11, "policy_value": 0, "shortfall_penalty": None})
    policy = draw(policy_levers())
    sheets = {
        "settings": pd.DataFrame([
            {"key": "discount_rate", "value": draw(st.sampled_from([0, 0.05]))},
            {"key": "default_shortfall_penalty", "value": 1000},
            {"key": "thorium_storage_t", "value": draw(st.sampled_from([None, None, 5]))},
            {"key": "strict", "value": False}]),
        "periods": pd.DataFrame(period_rows),
        "mines": pd.DataFrame(mines),
        "composition": pd.DataFrame([{"mine": None, "product": "NdPr", "share": 0.25},
                                     {"mine": None, "product": "Ce", "share": 0.5},
                                     {"mine": None, "product": "La", "share": 0.25}]),
        "plants": pd.DataFrame(plants),
        "routes": pd.DataFrame(routes, columns=["mine", "plant", "transport_cost"]),
        "products": pd.DataFrame(products),
        "customers": pd.DataFrame(customers),
        "demand": pd.DataFrame(demand),
        "product_caps": pd.DataFrame([{"plant": "S1", "product": "NdPr", "period": None,
                                       "max_t": draw(st.sampled_from([4, 400]))}]),
        "export_caps": pd.DataFrame([{"product": "NdPr", "period": None,
                                      "max_t": draw(st.sampled_from([3, 300])), "scope": None,
                                      "customer": None}] + policy["export_caps"]),
        "reserves": pd.DataFrame(policy["reserves"], columns=["product", "period", "min_stock_t",
                                                              "months_of_cover", "shortfall_penalty"]),
        "obligations": pd.DataFrame(policy["obligations"]),
        "obligation_products": pd.DataFrame(policy["obligation_products"]),
        "capacity_profile": pd.DataFrame([{"entity": "M1", "period": periods[0], "capacity_t": 30}]),
    }
    return sheets


@st.composite
def policy_levers(draw) -> dict[str, list[dict]]:
    """Scoped export caps, a reserve target and two obligations (one per basket kind)."""
    caps = []
    if draw(st.booleans()):
        caps.append({"product": "NdPr", "period": None, "max_t": draw(st.sampled_from([0, 2, 30])),
                     "scope": "non_treaty", "customer": None})
    if draw(st.booleans()):
        caps.append({"product": draw(st.sampled_from(["NdPr", "Ce"])), "period": None,
                     "max_t": draw(st.sampled_from([1, 15])), "scope": None, "customer": "X1"})
    reserves = []
    if draw(st.booleans()):
        reserves.append({"product": "NdPr", "period": None,
                         "min_stock_t": draw(st.sampled_from([None, 2, 20])),
                         "months_of_cover": draw(st.sampled_from([None, 3])),
                         "shortfall_penalty": draw(st.sampled_from([None, 50]))})
    obligations, basket = [], []
    if draw(st.booleans()):
        obligations = [{"obligation": "O1", "customer": "X1", "period": None,
                        "min_reo_t": draw(st.sampled_from([0, 10, 40])),
                        "shortfall_penalty": draw(st.sampled_from([None, 100]))},
                       {"obligation": "O2", "customer": "X2", "period": None,
                        "min_reo_t": draw(st.sampled_from([5, 25])), "shortfall_penalty": 80}]
        basket = [{"obligation": "O1", "product": "MRECL", "reo_factor": None},
                  {"obligation": "O2", "product": "NdPr", "reo_factor": 1},
                  {"obligation": "O2", "product": "Ce", "reo_factor": draw(st.sampled_from([0.5, 1]))}]
    return {"export_caps": caps, "reserves": reserves, "obligations": obligations,
            "obligation_products": basket}


# --- random change paths ------------------------------------------------------------------

NUMBER_COLUMNS = [
    ("demand", "min_t", "customer", ["K1", "K2", "X1", "X2"]),
    ("demand", "max_t", "customer", ["K1", "K2", "X1", "X2"]),
    ("demand", "price", "customer", ["K1", "K2", "X1", "X2"]),
    ("demand", "policy_value", "customer", ["K1", "X2"]),
    ("demand", "shortfall_penalty", "customer", ["K1", "X1"]),
    ("mines", "capacity_t", "mine", ["M1"]),
    ("mines", "mining_cost", "mine", ["M1"]),
    ("mines", "reo_grade", "mine", ["M1"]),
    ("mines", "tho2_grade", "mine", ["M1"]),
    ("plants", "capacity_t", "plant", ["C1", "S1"]),
    ("plants", "recovery", "plant", ["C1", "S1"]),
    ("plants", "unit_cost", "plant", ["C1", "S1"]),
    ("capacity_profile", "capacity_t", "entity", ["M1"]),
    ("routes", "transport_cost", "mine", ["M1"]),
    ("product_caps", "max_t", "plant", ["S1"]),
    ("export_caps", "max_t", "product", ["NdPr"]),
    ("export_caps", "max_t", "scope", ["non_treaty"]),
    ("export_caps", "max_t", "customer", ["X1"]),
    ("reserves", "min_stock_t", "product", ["NdPr"]),
    ("reserves", "months_of_cover", "product", ["NdPr"]),
    ("reserves", "shortfall_penalty", "product", ["NdPr"]),
    ("obligations", "min_reo_t", "obligation", ["O1", "O2"]),
    ("obligations", "shortfall_penalty", "obligation", ["O1", "O2"]),
    ("obligation_products", "reo_factor", "obligation", ["O2"]),
    ("products", "storage_capacity_t", "product", ["NdPr", "Ce"]),
    ("products", "holding_cost", "product", ["NdPr", "Ce"]),
    ("products", "initial_stock_t", "product", ["NdPr", "Ce"]),
    ("products", "disposal_cost", "product", ["Ce", "La"]),
    ("products", "terminal_value", "product", ["NdPr"]),
    ("periods", "years", None, []),
    ("periods", "discount_factor", None, []),
]
WORD_COLUMNS = [
    ("mines", "status", "mine", ["M1", "M2"], ["approved", "Approved", " pending ", "PENDING"]),
    ("customers", "treaty", "customer", ["X1", "K1"], ["yes", "No", "TRUE", "0"]),
    ("customers", "kind", "customer", ["X2"], ["domestic", "Export"]),
]
SETTINGS = [("discount_rate", [0, 0.1, "0.03"]), ("default_shortfall_penalty", [0, 50, None]),
            ("thorium_storage_t", [None, 2, 20]), ("strict", ["true", "no"])]


@st.composite
def changes(draw, periods: list[str]) -> Change:
    kind = draw(st.sampled_from(["number"] * 6 + ["word", "approved_from", "setting"]))
    if kind == "setting":
        key, values = draw(st.sampled_from(SETTINGS))
        return Change(f"settings.value[key={key}]", draw(st.sampled_from(values)))
    if kind == "approved_from":
        value = draw(st.sampled_from([None, *periods, *[int(t) for t in periods if t.isdigit()]]))
        return Change(f"mines.approved_from[mine={draw(st.sampled_from(['M1', 'M2']))}]", value)
    if kind == "word":
        sheet, column, key, ids, words = draw(st.sampled_from(WORD_COLUMNS))
        return Change(f"{sheet}.{column}[{key}={draw(st.sampled_from(ids))}]", draw(st.sampled_from(words)))
    sheet, column, key, ids = draw(st.sampled_from(NUMBER_COLUMNS))
    filters = []
    if key is not None and draw(st.booleans()):
        filters.append(f"{key}={draw(st.sampled_from(ids))}")
    if sheet in ("demand", "product_caps", "export_caps", "periods", "reserves", "obligations") \
            and len(periods) > 1 \
            and draw(st.booleans()):
        filters.append(f"period{draw(st.sampled_from(['>=', '=', '<']))}{draw(st.sampled_from(periods))}")
    path = f"{sheet}.{column}" + (f"[{', '.join(filters)}]" if filters else "")
    mode = draw(st.sampled_from(["set", "set", "scale", "add"]))
    if mode == "set":
        value = draw(st.sampled_from([None, 0, 1, 2.5, 12, 150, "40", " 3 "]))
    elif mode == "scale":
        value = draw(st.sampled_from([0, 0.5, 2]))
    else:
        value = draw(st.sampled_from([-1, 5, 0.25]))
    return Change(path, value, mode)


# --- the property -------------------------------------------------------------------------

def _same(a, b, scale: float) -> bool:
    missing = (a is None or (isinstance(a, float) and math.isnan(a)),
               b is None or (isinstance(b, float) and math.isnan(b)))
    if any(missing):
        return all(missing)
    return abs(float(a) - float(b)) <= 1e-7 * max(1.0, abs(float(a)), abs(float(b)), scale)


def _declared_reads_cover_traced(engine: SweepEngine) -> None:
    """What each deriver reads is what it declares (ids excepted: changing an id rebuilds)."""
    from optimizer.inputs import DERIVERS
    from optimizer.schema import SHEET_BY_NAME

    for deriver, traced in zip(DERIVERS, engine.deriver_reads):
        for name in traced:
            sheet, _, column = name.partition(".")
            spec = SHEET_BY_NAME[sheet]
            is_id = column in spec.keys or column == "period" or (sheet, column) in (("periods", "period"),)
            assert sheet in deriver.reads or name in deriver.reads or is_id, (deriver.fn, name)


def _same_lp(a, b) -> None:
    assert a.col_keys == b.col_keys and a.row_keys == b.row_keys
    assert (a.A.tocsc() != b.A.tocsc()).nnz == 0 and np.array_equal(a.c, b.c)
    for field in ("row_lower", "row_upper", "row_sense", "col_lower", "col_upper"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field


def _hot_lp_equals_rebuilt_lp(engine: SweepEngine, scenario: Scenario, changed) -> bool:
    """The base LP with the scenario's edits is the LP a rebuild compiles, number for number,
    and the comparison row's weights (objective parts, NdPr content, treaty rows) are the
    rebuild's. Returns False when the engine rebuilds the scenario itself."""
    try:
        overlay = check_cells(engine, resolve_cells(engine, scenario.changes), scenario.name)
        edits = engine.edits(overlay)
    except StructuralChange:
        return False
    fresh = SweepEngine(changed)
    lp, new = engine.lp, fresh.lp
    # The scenario's LP is the base's without the freed rows and the columns fixed at 0.
    rows = np.array([i for i in range(len(lp.row_keys)) if i not in edits.removed_rows], dtype=int)
    cols = np.array([j for j in range(len(lp.col_keys)) if j not in edits.removed_cols], dtype=int)
    assert [lp.col_keys[j] for j in cols] == new.col_keys and [lp.row_keys[i] for i in rows] == new.row_keys
    assert (lp.A.tocsc()[rows][:, cols] != new.A.tocsc()).nnz == 0
    low, up, c = lp.row_lower.copy(), lp.row_upper.copy(), lp.c.copy()
    for i, (lo, hi) in edits.rows.items():
        low[i], up[i] = lo, hi
    for j, value in edits.costs.items():
        c[j] = value
    assert np.array_equal(low[rows], new.row_lower) and np.array_equal(up[rows], new.row_upper)
    assert np.allclose(c[cols], new.c, rtol=1e-13, atol=0)
    mine, theirs = edits.kpi, fresh.base_kpi
    for part in theirs.parts:
        assert np.allclose(mine.parts[part][cols], theirs.parts[part], rtol=1e-13, atol=0), part
    assert np.array_equal(mine.ndpr_all[cols], theirs.ndpr_all)
    assert np.array_equal(mine.ndpr_domestic[cols], theirs.ndpr_domestic)
    assert np.array_equal(mine.treaty_min, theirs.treaty_min)
    position = {j: n for n, j in enumerate(cols)}
    assert [[position[j] for j in x] for x in mine.treaty_cols] == [list(x) for x in theirs.treaty_cols]
    assert edits.strict == fresh.strict
    return True


@settings(max_examples=30, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_sweep_rows_equal_full_solves(data):
    """Same status and objective on every path; on the hot path the very same LP.

    Each hot LP is checked after the sweep solved the scenario, so its edits come from the
    engine's memo: a remembered output must be the one a fresh run gives.

    Only the objective is compared between solutions: where the optimum is not unique
    (ties are common with random prices), revenue and the other KPIs may differ between
    optimal vertices. The KPI weights themselves are compared exactly on the hot path.
    """
    frames = data.draw(workbooks())
    inputs = optimizer.ModelInputs.from_frames(frames)
    periods = list(inputs.params.PERIODS)
    scenarios = [Scenario(f"s{n}", data.draw(st.lists(changes(periods), min_size=1, max_size=2,
                                                       unique_by=lambda c: c.path.split("[")[0])))
                 for n in range(3)]
    # Last, the first two together: the engine's memo (tests/test_sweeps.py) then holds
    # outputs for each one's cells, and must reuse exactly those that still apply.
    first = {c.path.split("[")[0] for c in scenarios[0].changes}
    scenarios.append(Scenario("s3", scenarios[0].changes + [
        c for c in scenarios[1].changes if c.path.split("[")[0] not in first]))
    engine = SweepEngine(inputs)
    # The sweep works on the assembled LP: it must be Pyomo's compiled LP, number for number.
    _same_lp(engine.lp, build_lp(inputs))
    _declared_reads_cover_traced(engine)
    for scenario in scenarios:
        described = [c.describe() for c in scenario.changes]
        try:
            changed = apply_changes(inputs, scenario.changes)
        except InputError as exc:
            changed, refused = None, str(exc)
        try:
            row = run_scenarios(inputs, [scenario], engine=engine).iloc[1]
        except InputError as exc:
            assert changed is None, ("the sweep refused what a full solve accepts", described, str(exc))
            event("both refused")
            continue
        assert changed is not None, ("the sweep accepted what a full solve refuses", described, refused,
                                     row["status"], row["explanation"])
        event(f"path {row['path']}")
        assert (row["path"] == "hot") == _hot_lp_equals_rebuilt_lp(engine, scenario, changed), described
        full = optimizer.solve(changed, sensitivity=False)
        assert row["status"] == full.status, (described, row["path"], row.get("explanation"))
        if full.optimal:
            assert _same(row["objective"], full.objective, 1.0), (row["objective"], full.objective,
                                                                  row["path"], described)


def test_the_generator_covers_every_model_input_column():
    """Every input column the model reads is changed by the generator (a new column must be
    added to NUMBER_COLUMNS or WORD_COLUMNS, or listed here as not read by the LP)."""
    from optimizer.schema import SHEETS

    not_lp = {("plants", "stage"), ("composition", "share"), ("periods", "period")}
    covered = {(sheet, column) for sheet, column, *_ in NUMBER_COLUMNS + WORD_COLUMNS}
    covered |= {("mines", "approved_from")}
    wanted = {(s.name, c.name) for s in SHEETS if s.name not in ("scenarios", "settings", "uncertainty")
              for c in s.columns if c.name not in s.keys and c.name not in ("period", "name", "country",
                                                                            "description")}
    assert wanted - not_lp <= covered, (wanted - not_lp) - covered


def test_the_property_exercises_the_hot_path():
    """Guard against a generator whose changes are all rebuilt (the property would then
    say nothing about the fast path): on a fixed workbook most single changes are hot."""
    inputs = optimizer.ModelInputs.from_frames(_fixed())
    scenarios = [Scenario(f"h{n}", [c]) for n, c in enumerate([
        Change("demand.min_t[customer=X1]", 7), Change("demand.price[customer=K1]", 1.5, "scale"),
        Change("mines.status[mine=M1]", " Pending "), Change("products.initial_stock_t[product=NdPr]", None),
        Change("periods.years", 2), Change("settings.value[key=discount_rate]", "0.03"),
        Change("mines.approved_from[mine=M1]", 2027), Change("plants.unit_cost[plant=S1]", 2, "add")])]
    frame = run_scenarios(inputs, scenarios)
    assert list(frame["path"].iloc[1:]) == ["hot"] * len(scenarios), frame[["scenario", "path", "explanation"]]
    for scenario, (_, row) in zip(scenarios, frame.iloc[1:].iterrows()):
        full = optimizer.solve(apply_changes(inputs, scenario.changes), sensitivity=False)
        assert row["status"] == full.status == "optimal"
        assert row["objective"] == pytest.approx(full.objective, rel=1e-9)


def _fixed() -> dict[str, pd.DataFrame]:
    """A fixed workbook of the generator's shape: three periods 2026-2028, binding capacities."""
    periods = ["2026", "2027", "2028"]
    return {
        "settings": pd.DataFrame([{"key": "discount_rate", "value": 0.05}]),
        "periods": pd.DataFrame([{"period": t, "years": y} for t, y in zip(periods, [1, 2, 1])]),
        "mines": pd.DataFrame([{"mine": "M1", "capacity_t": 100, "reo_grade": 0.5, "status": "approved",
                                "approved_from": None}]),
        "composition": pd.DataFrame([{"mine": None, "product": "NdPr", "share": 0.25},
                                     {"mine": None, "product": "Ce", "share": 0.75}]),
        "plants": pd.DataFrame([{"plant": "C1", "stage": "cracking", "capacity_t": 80, "recovery": 0.95},
                                {"plant": "S1", "stage": "separation", "capacity_t": 30, "recovery": 0.9,
                                 "unit_cost": 1}]),
        "products": pd.DataFrame([{"product": "NdPr", "initial_stock_t": 5}, {"product": "Ce"}]),
        "customers": pd.DataFrame([{"customer": "K1", "kind": "domestic"},
                                   {"customer": "X1", "kind": "export", "treaty": True}]),
        "demand": pd.DataFrame([{"customer": "K1", "product": "NdPr", "price": 60},
                                {"customer": "K1", "product": "Ce", "price": 2, "max_t": 10},
                                {"customer": "X1", "product": "MRECL", "min_t": 5, "price": 9,
                                 "shortfall_penalty": 100}]),
    }
