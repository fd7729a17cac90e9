"""Change paths (README, Scenarios and change paths): parsing, applying, validating, and the
bundled named scenarios.

Library level only: the tiny instance of tests/tiny.py (sometimes with more periods) and
the bundled base case. Nothing here solves except where a change must move the optimum.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tiny

import optimizer
from optimizer.changes import (
    Change,
    ChangePath,
    Filter,
    apply_changes,
    apply_scenario,
    parse_path,
    scenario_changes,
    scenario_names,
)
from optimizer.errors import InputError
from optimizer.inputs import ModelInputs

REPO = Path(__file__).resolve().parents[1]
BASE_CASE = REPO / "inputs" / "base_case.xlsx"
BASE_SCENARIOS = ["status_quo", "renegotiated", "suspension", "breach", "conserve_ndpr",
                  "approvals_fast", "approvals_delayed", "price_floor"]
FY = [f"FY{y}" for y in range(2026, 2033)]


# ---------------------------------------------------------------- fixtures


def periods(*ids: str) -> list[dict]:
    return [{"period": t, "years": 1} for t in ids]


@pytest.fixture(scope="module")
def tiny1() -> ModelInputs:
    return ModelInputs.from_frames(tiny.frames())


@pytest.fixture(scope="module")
def tiny3() -> ModelInputs:
    """The tiny instance over T1, T2, T3: every blank-period demand row expands to three."""
    return ModelInputs.from_frames(tiny.frames(periods=periods("T1", "T2", "T3")))


@pytest.fixture(scope="module")
def base() -> ModelInputs:
    return optimizer.read_inputs(BASE_CASE)


def cells(inputs: ModelInputs, sheet: str, column: str, **where) -> dict:
    """{period (or row position): value} of the rows matching ``where``."""
    frame = inputs.frame(sheet)
    for key, value in where.items():
        frame = frame[frame[key] == value]
    index = frame["period"] if "period" in frame.columns else range(len(frame))
    return dict(zip(index, frame[column]))


def raises_naming(text: str, inputs: ModelInputs, changes: list[Change]) -> str:
    with pytest.raises(InputError) as info:
        apply_changes(inputs, changes)
    message = str(info.value)
    assert text in message, message
    assert "Traceback" not in message
    return message


# ---------------------------------------------------------------- parse_path


@pytest.mark.parametrize("text, sheet, column, filters", [
    ("demand.min_t[customer=X_TREI]", "demand", "min_t", [("customer", "=", "X_TREI")]),
    ("demand.min_t[customer=X_TREI, period>=FY2028]", "demand", "min_t",
     [("customer", "=", "X_TREI"), ("period", ">=", "FY2028")]),
    ("settings.value[key=discount_rate]", "settings", "value",
     [("key", "=", "discount_rate")]),
    ("mines.status[mine=M_KK]", "mines", "status", [("mine", "=", "M_KK")]),
    ("demand.price[product=NdPr, customer!=D_STRAT]", "demand", "price",
     [("product", "=", "NdPr"), ("customer", "!=", "D_STRAT")]),
    ("demand.max_t[min_t>0, min_t<=500, price<80000]", "demand", "max_t",
     [("min_t", ">", "0"), ("min_t", "<=", "500"), ("price", "<", "80000")]),
    ("demand.price", "demand", "price", []),
    ("products.holding_cost[]", "products", "holding_cost", []),
    ("  export_caps.max_t [ product = NdPr , period = FY2027 ] ", "export_caps", "max_t",
     [("product", "=", "NdPr"), ("period", "=", "FY2027")]),
    ("demand.min_t[customer='X_TREI']", "demand", "min_t", [("customer", "=", "X_TREI")]),
    ('Demand.Min_T[Customer="X_TREI"]', "demand", "min_t", [("customer", "=", "X_TREI")]),
])
def test_parse_path_reads_valid_paths(text, sheet, column, filters):
    cp = parse_path(text)
    assert isinstance(cp, ChangePath)
    assert (cp.sheet, cp.column) == (sheet, column)
    assert cp.filters == tuple(Filter(*f) for f in filters)
    assert str(cp) == text.strip()


@pytest.mark.parametrize("text, words", [
    ("nosheet.min_t[customer=X]", ["unknown sheet", "nosheet"]),
    ("scenarios.value[scenario=a]", ["unknown sheet", "scenarios"]),
    ("demand.nocolumn[customer=X]", ["unknown column", "nocolumn", "min_t"]),
    ("demand.min_t[colour=red]", ["unknown filter column", "colour"]),
    ("demand.min_t[customer]", ["cannot read filter", "customer"]),
    ("demand.min_t[customer~X]", ["cannot read filter"]),
    ("demand", ["expected SHEET.COLUMN"]),
    ("demand.min_t[customer=X", ["expected SHEET.COLUMN"]),
    ("", ["expected SHEET.COLUMN"]),
])
def test_parse_path_errors_name_the_path(text, words):
    with pytest.raises(InputError) as info:
        parse_path(text, "sweep option 1")
    message = str(info.value)
    assert repr(text) in message, message  # the path, quoted, is named
    assert "sweep option 1" in message  # and where it came from
    for word in words:
        assert word in message, message


def test_text_column_compared_with_an_order_is_an_error_naming_the_path(tiny3):
    # parse_path checks only the schema; the operator/column-kind check happens when the
    # path is resolved against data (the same error a sweep reports before solving).
    path = "demand.min_t[customer>=K1]"
    message = raises_naming(repr(path), tiny3, [Change(path, 5)])
    assert "customer is text" in message and "use = or !=" in message


def test_unknown_period_in_a_filter_is_an_error_naming_the_path(tiny3):
    path = "demand.min_t[customer=K1, period>=T9]"
    message = raises_naming(repr(path), tiny3, [Change(path, 5, origin="scenario x")])
    assert "unknown period 'T9'" in message and "T1, T2, T3" in message
    assert "scenario x" in message


def test_a_number_filter_with_text_is_an_error(tiny3):
    path = "demand.max_t[min_t>=lots]"
    message = raises_naming(repr(path), tiny3, [Change(path, 5)])
    assert "not a number" in message


def test_unknown_mode_is_an_error(tiny1):
    raises_naming("unknown mode 'double'", tiny1,
                  [Change("mines.capacity_t[mine=M1]", 2, "double")])


# ---------------------------------------------------------------- apply_changes: modes


@pytest.mark.parametrize("mode, value, expected", [
    ("set", 250, 250.0),
    ("scale", 1.5, 150.0),
    ("add", -40, 60.0),
    ("set", "1,200", 1200.0),  # numbers typed as text are read like workbook cells
    ("scale", "2", 200.0),
])
def test_set_scale_add(tiny1, mode, value, expected):
    new = apply_changes(tiny1, [Change("mines.capacity_t[mine=M1]", value, mode)])
    assert new.params.cap_mine_t["M1", "T1"] == pytest.approx(expected)
    assert tiny1.params.cap_mine_t["M1", "T1"] == 100  # the original is untouched


def test_no_filter_changes_every_row(tiny3):
    new = apply_changes(tiny3, [Change("demand.price", 2, "scale")])
    assert set(new.params.price.values()) == {20.0, 8.0}
    assert len(new.params.price) == 6


def test_no_changes_returns_the_same_inputs(tiny1):
    assert apply_changes(tiny1, []) is tiny1


def test_changes_apply_in_order(tiny1):
    path = "mines.capacity_t[mine=M1]"
    set_then_scale = apply_changes(tiny1, [Change(path, 50), Change(path, 3, "scale")])
    scale_then_set = apply_changes(tiny1, [Change(path, 3, "scale"), Change(path, 50)])
    add_scale_add = apply_changes(tiny1, [Change(path, 10, "add"), Change(path, 2, "scale"),
                                          Change(path, 1, "add")])
    assert set_then_scale.params.cap_mine_t["M1", "T1"] == 150
    assert scale_then_set.params.cap_mine_t["M1", "T1"] == 50
    assert add_scale_add.params.cap_mine_t["M1", "T1"] == 221


def test_a_later_filter_sees_an_earlier_change(tiny3):
    # min_t is 0 everywhere; after the first change only T3 has min_t > 0.
    new = apply_changes(tiny3, [Change("demand.min_t[customer=K1, period=T3]", 5),
                                Change("demand.max_t[min_t>0]", 7)])
    assert cells(new, "demand", "max_t", customer="K1") == {"T1": 1000, "T2": 1000, "T3": 7}


# ---------------------------------------------------------------- filters and periods


def test_filter_applies_after_blank_period_expansion(tiny3):
    # The K1/A demand row has a blank period: one sheet row standing for T1, T2 and T3.
    new = apply_changes(tiny3, [Change("demand.min_t[customer=K1, period>=T2]", 5)])
    assert cells(new, "demand", "min_t", customer="K1") == {"T1": 0, "T2": 5, "T3": 5}
    assert cells(new, "demand", "min_t", customer="X1") == {"T1": 0, "T2": 0, "T3": 0}
    assert new.params.min_t["K1", "A", "T1"] == 0
    assert new.params.min_t["K1", "A", "T3"] == 5
    # the original keeps its values
    assert cells(tiny3, "demand", "min_t", customer="K1") == {"T1": 0, "T2": 0, "T3": 0}


@pytest.mark.parametrize("flt, changed", [
    ("period>=P10", {"P10", "P11"}),
    ("period>P2", {"P10", "P11"}),
    ("period<P10", {"P2"}),
    ("period<=P10", {"P2", "P10"}),
    ("period!=P10", {"P2", "P11"}),
    ("period=P11", {"P11"}),
])
def test_period_comparisons_follow_sheet_order_not_text_order(flt, changed):
    # Sheet order P2, P10, P11; as text "P10" < "P11" < "P2".
    inputs = ModelInputs.from_frames(tiny.frames(periods=periods("P2", "P10", "P11")))
    new = apply_changes(inputs, [Change(f"demand.min_t[customer=K1, {flt}]", 5)])
    got = {t for t, v in cells(new, "demand", "min_t", customer="K1").items() if v == 5}
    assert got == changed


def test_approved_from_filter_uses_period_order_too():
    mines = [{"mine": m, "capacity_t": 100, "reo_grade": 0.5, "status": "pending",
              "approved_from": t} for m, t in (("M1", "P2"), ("M2", "P10"))]
    inputs = ModelInputs.from_frames(tiny.frames(periods=periods("P2", "P10"), mines=mines))
    new = apply_changes(inputs, [Change("mines.capacity_t[approved_from>P2]", 7)])
    assert cells(new, "mines", "capacity_t") == {0: 100, 1: 7}


def test_choice_filters_ignore_case(base):
    new = apply_changes(base, [Change("mines.capacity_t[status=PENDING]", 0)])
    caps = dict(zip(new.frame("mines")["mine"], new.frame("mines")["capacity_t"]))
    assert caps["M_KK"] == caps["M_X4"] == 0 and caps["M_OSCOM"] == 3000


def test_mine_status_approved(tiny1):
    pending = ModelInputs.from_frames(tiny.frames(mines=[
        {"mine": "M1", "capacity_t": 100, "reo_grade": 0.5, "status": "pending"}]))
    assert pending.params.avail["M1", "T1"] == 0
    new = apply_changes(pending, [Change("mines.status[mine=M1]", "approved")])
    assert new.params.avail["M1", "T1"] == 1
    before = optimizer.solve(pending, sensitivity=False).objective
    after = optimizer.solve(new, sensitivity=False).objective
    assert before == pytest.approx(0.0, abs=1e-9)
    assert after == pytest.approx(300.0)  # the tiny instance's optimum (tests/tiny.py)


def test_mine_status_approved_on_the_base_case(base):
    new = apply_changes(base, [Change("mines.status[mine=M_KK]", "approved")])
    assert new.params.avail["M_KK", "FY2028"] == 0  # approved, but from FY2029 on
    assert new.params.avail["M_KK", "FY2029"] == 1
    new = apply_changes(base, [Change("mines.status[mine=M_X4]", "approved")])
    assert all(new.params.avail["M_X4", t] == 1 for t in FY)  # approved_from is blank


def test_bad_choice_value_is_invalid(tiny1):
    message = raises_naming("status", tiny1, [Change("mines.status[mine=M1]", "maybe")])
    assert "maybe" in message and "mines.status[mine=M1]" in message


def test_settings_discount_rate_existing_row(base):
    new = apply_changes(base, [Change("settings.value[key=discount_rate]", 0.05)])
    assert new.settings["discount_rate"] == 0.05
    assert new.params.df["FY2028"] == pytest.approx(1 / 1.05 ** 2)
    assert base.params.df["FY2028"] == pytest.approx(1 / 1.08 ** 2)


def test_settings_discount_rate_creates_the_missing_row(tiny3):
    # tiny has no discount_rate row: key=... pins the settings key, so the row is created.
    assert tiny3.settings["discount_rate"] == 0
    new = apply_changes(tiny3, [Change("settings.value[key=discount_rate]", "0.1")])
    assert new.settings["discount_rate"] == pytest.approx(0.1)
    assert new.params.df["T3"] == pytest.approx(1 / 1.1 ** 2)


def test_unknown_settings_key_is_invalid(tiny1):
    raises_naming("nope", tiny1, [Change("settings.value[key=nope]", 1)])


def test_invalid_settings_value(base):
    raises_naming("discount_rate", base, [Change("settings.value[key=discount_rate]", "lots")])


# ---------------------------------------------------------------- no match / creating rows


@pytest.mark.parametrize("path", [
    "demand.min_t[customer=NOPE]",
    "demand.min_t[customer=K1, product=B, period=T2]",  # pins every key but the mode...
    "mines.capacity_t[capacity_t>1000000]",
    "demand.min_t[customer=K1, period>=T9x]",
])
def test_path_matching_no_row_is_an_error_naming_it(tiny3, path):
    if "product=B" in path:  # every key pinned with '=': mode set creates, scale does not
        message = raises_naming(repr(path), tiny3, [Change(path, 5, "scale")])
        assert "matches no row" in message
        return
    message = raises_naming(repr(path), tiny3, [Change(path, 5)])
    assert "matches no row" in message or "unknown period" in message


def test_path_matching_no_row_with_a_partly_pinned_key_is_an_error(tiny3):
    # composition is keyed by (mine, product): pinning only the product does not create.
    raises_naming("matches no row", tiny3, [Change("composition.share[product=Z]", 0.1)])
    # '!=' never pins a key
    raises_naming("matches no row", tiny3,
                  [Change("export_caps.max_t[product!=A, period=T1]", 1)])


def test_creating_an_export_cap_row(tiny3):
    assert tiny3.params.export_cap_t == {}
    new = apply_changes(tiny3, [Change("export_caps.max_t[product=A, period=T2]", 7)])
    assert new.params.export_cap_t == {("A", "T2"): 7.0}


def test_creating_export_cap_rows_for_every_period(tiny3):
    new = apply_changes(tiny3, [Change("export_caps.max_t[product=A]", 7)])
    assert new.params.export_cap_t == {("A", t): 7.0 for t in ("T1", "T2", "T3")}


def test_creating_rows_for_the_periods_a_filter_admits(tiny3):
    new = apply_changes(tiny3, [Change("export_caps.max_t[product=A, period>=T2]", 7)])
    assert new.params.export_cap_t == {("A", "T2"): 7.0, ("A", "T3"): 7.0}


def test_a_created_row_changes_the_optimum():
    # Export cap of 0 t of A: the treaty MRECL sale to X1 carries A content, so it stops.
    frames = tiny.frames(demand=[
        {"customer": "K1", "product": "A", "period": None, "max_t": 10, "price": 10},
        {"customer": "X1", "product": "MRECL", "period": None, "price": 4}])
    inputs = ModelInputs.from_frames(frames)
    base_obj = optimizer.solve(inputs, sensitivity=False).objective
    capped = apply_changes(inputs, [Change("export_caps.max_t[product=A, period=T1]", 0)])
    assert optimizer.solve(capped, sensitivity=False).objective < base_obj - 1


def test_creating_a_product_cap_row(base):
    assert ("P_RED", "Ce", "FY2027") not in base.params.cap_line_t
    new = apply_changes(base, [Change("product_caps.max_t[plant=P_RED, product=Ce, "
                                      "period=FY2027]", 900)])
    assert new.params.cap_line_t["P_RED", "Ce", "FY2027"] == 900
    assert new.params.cap_line_t["P_RED", "NdPr", "FY2027"] == 600  # the base case's own row is kept


def test_creating_a_demand_row_for_a_new_product(tiny3):
    new = apply_changes(tiny3, [Change("demand.price[customer=K1, product=B]", 3)])
    assert {k: v for k, v in new.params.price.items() if k[1] == "B"} == \
        {("K1", "B", t): 3.0 for t in ("T1", "T2", "T3")}


def test_a_created_row_with_bad_ids_is_invalid(tiny3):
    message = raises_naming("export_caps", tiny3,
                            [Change("export_caps.max_t[product=NOPE, period=T1]", 5)])
    assert "NOPE" in message


def test_only_mode_set_creates_rows(tiny3):
    for mode in ("scale", "add"):
        raises_naming("matches no row", tiny3,
                      [Change("export_caps.max_t[product=A, period=T1]", 2, mode)])


def test_scale_or_add_of_a_blank_is_an_error(tiny3):
    for mode in ("scale", "add"):
        path = "demand.max_t[customer=X1]"  # blank = unlimited
        message = raises_naming(repr(path), tiny3, [Change(path, 2, mode)])
        assert f"cannot {mode} a blank" in message


def test_scale_by_text_is_an_error(tiny1):
    raises_naming("needs a number", tiny1, [Change("mines.capacity_t[mine=M1]", "x", "scale")])


def test_setting_a_blank_is_allowed_where_blank_means_something(tiny3):
    new = apply_changes(tiny3, [Change("demand.max_t[customer=K1]", None)])
    assert ("K1", "A", "T1") not in new.params.max_t


# ---------------------------------------------------------------- validation of the result


def test_share_above_one_breaks_the_composition(tiny1):
    change = Change("composition.share[product=A]", 1.5)
    message = raises_naming("composition", tiny1, [change])
    assert "share" in message and "sum to 1" in message
    assert "changes applied" in message and change.describe() in message


def test_negative_capacity_is_invalid(tiny1):
    change = Change("mines.capacity_t[mine=M1]", -5)
    message = raises_naming("mines", tiny1, [change])
    assert "capacity_t" in message and "-5" in message and "≥ 0" in message
    assert change.describe() in message


def test_negative_plant_capacity_by_add_is_invalid(tiny1):
    change = Change("plants.capacity_t[plant=S1]", -2000, "add")
    message = raises_naming("plants", tiny1, [change])
    assert "capacity_t" in message and change.describe() in message


def test_max_below_min_is_invalid(tiny3):
    change = Change("demand.min_t[customer=K1, period=T2]", 2000)
    message = raises_naming("demand", tiny3, [change])
    assert "max_t" in message and "min_t" in message
    assert change.describe() in message


def test_every_change_is_listed_when_the_result_is_invalid(tiny3):
    changes = [Change("mines.capacity_t[mine=M1]", 50),
               Change("demand.max_t[customer=K1]", 1, origin="scenario s7, scenarios row 9"),
               Change("demand.min_t[customer=K1]", 2)]
    message = raises_naming("changes applied", tiny3, changes)
    for change in changes:
        assert change.describe() in message


def test_a_valid_pair_of_composition_changes(tiny1):
    new = apply_changes(tiny1, [Change("composition.share[product=A]", 0.7),
                                Change("composition.share[product=B]", 0.3)])
    assert new.params.share["M1", "A"] == pytest.approx(0.7)
    # the first change alone would be invalid: the data is validated after all changes
    raises_naming("composition", tiny1, [Change("composition.share[product=A]", 0.7)])


# ---------------------------------------------------------------- the bundled scenarios


def test_scenario_names_in_sheet_order(base):
    assert scenario_names(base) == BASE_SCENARIOS


def test_unknown_scenario_is_an_error(base):
    with pytest.raises(InputError, match="no scenario named 'nope'"):
        scenario_changes(base, "nope")


def test_scenario_changes_carry_their_origin(base):
    changes = scenario_changes(base, "suspension")
    assert [c.path for c in changes] == ["demand.min_t[customer=X_TREI, period>=FY2027]",
                                         "demand.max_t[customer=X_TREI, period>=FY2027]"]
    assert all(c.origin.startswith("scenario suspension, scenarios row ") for c in changes)


@pytest.fixture(scope="module")
def applied(base) -> dict[str, tuple[ModelInputs, list[str]]]:
    return {name: apply_scenario(base, name) for name in BASE_SCENARIOS}


@pytest.mark.parametrize("name", BASE_SCENARIOS)
def test_every_named_scenario_applies(applied, base, name):
    new, described = applied[name]
    assert isinstance(new, ModelInputs)
    assert described and all(isinstance(d, str) for d in described)
    assert len(described) == len(scenario_changes(base, name))


def treaty(inputs: ModelInputs, column: str) -> dict:
    return {t: getattr(inputs.params, column)["X_TREI", "MRECL", t] for t in FY}


def test_status_quo_changes_nothing_that_matters(applied, base):
    new, _ = applied["status_quo"]
    assert new.params == base.params and new.strict is False


def test_renegotiated(applied, base):
    new, _ = applied["renegotiated"]
    assert treaty(new, "min_t") == dict.fromkeys(FY, 500)
    assert treaty(new, "max_t") == dict.fromkeys(FY, 1500)
    # The cap counts only non-treaty exports: 500 t MRECL carry 120.5 t NdPr, above the 100 t.
    assert new.params.export_cap_non_treaty_t == {("NdPr", t): 100 for t in FY}
    assert new.params.export_cap_t == base.params.export_cap_t == {}


def test_suspension_from_fy2027_only(applied, base):
    new, _ = applied["suspension"]
    assert treaty(new, "min_t") == {"FY2026": 1000, **dict.fromkeys(FY[1:], 0)}
    assert treaty(new, "max_t") == {"FY2026": 2300, **dict.fromkeys(FY[1:], 0)}
    others = {k: v for k, v in new.params.min_t.items() if k[0] != "X_TREI"}
    assert others == {k: v for k, v in base.params.min_t.items() if k[0] != "X_TREI"}


def test_breach(applied, base):
    new, _ = applied["breach"]
    assert treaty(new, "shortfall_penalty") == dict.fromkeys(FY, 5000)
    assert treaty(base, "shortfall_penalty") == dict.fromkeys(FY, 1e6)
    assert treaty(new, "min_t") == treaty(base, "min_t")


def test_conserve_ndpr(applied):
    new, _ = applied["conserve_ndpr"]
    assert new.params.export_cap_t == {("NdPr", t): 0 for t in FY}


def avail_from(inputs: ModelInputs, mine: str) -> str | None:
    return next((t for t in FY if inputs.params.avail[mine, t]), None)


def test_approvals_fast(applied, base):
    new, _ = applied["approvals_fast"]
    got = {m: avail_from(new, m) for m in ("M_KK", "M_ALP", "M_BRG", "M_X4")}
    assert got == {"M_KK": "FY2027", "M_ALP": "FY2028", "M_BRG": "FY2028", "M_X4": "FY2029"}
    assert avail_from(base, "M_X4") is None


def test_approvals_delayed(applied, base):
    new, _ = applied["approvals_delayed"]
    got = {m: avail_from(new, m) for m in ("M_KK", "M_ALP", "M_BRG", "M_X4")}
    assert got == {"M_KK": "FY2032", "M_ALP": "FY2032", "M_BRG": "FY2032", "M_X4": None}


def test_price_floor_except_strategic_stock(applied, base):
    new, _ = applied["price_floor"]
    for (k, q, t), price in new.params.price.items():
        if q == "NdPr" and k != "D_STRAT":
            assert price == 110000, (k, q, t)
        else:
            assert price == base.params.price[k, q, t], (k, q, t)
    assert new.params.price["D_STRAT", "NdPr", "FY2026"] == 0


def test_solve_with_scenario_equals_solve_of_applied_inputs(base, applied):
    by_name = optimizer.solve(base, scenario="suspension", sensitivity=False)
    by_inputs = optimizer.solve(applied["suspension"][0], sensitivity=False)
    assert by_name.objective == pytest.approx(by_inputs.objective, rel=1e-9)
    assert by_name.changes == applied["suspension"][1]
