"""Change paths that cannot match by accident (issue 7), at library level.

Each bad-input test starts from the tiny instance of tests/tiny.py (customers K1, X1;
products A, B; mine M1; plants C1, S1; periods T1..T3) or the bundled base case and makes
one mutation. Solving tests use the tiny arithmetic: 100 t monazite x 0.5 grade = 50 t REO
a year, 0.6 of it product A sold at 10/t, so 300 per one-year period.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tiny

import optimizer
from optimizer.changes import Change, apply_changes, apply_scenario, check_conflicts
from optimizer.errors import InputError
from optimizer.inputs import ModelInputs
from optimizer.sweeps import MAX_SCENARIOS, grid, named_scenarios, parse_values, run_scenarios

BASE_CASE = Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx"
PERIODS3 = [{"period": t, "years": 1} for t in ("T1", "T2", "T3")]


@pytest.fixture(scope="module")
def tiny3() -> ModelInputs:
    return ModelInputs.from_frames(tiny.frames(periods=PERIODS3))


@pytest.fixture(scope="module")
def base() -> ModelInputs:
    return optimizer.read_inputs(BASE_CASE)


def with_scenarios(*rows: tuple[str, str, object]) -> ModelInputs:
    """tiny3 with a scenarios sheet; its rows are Excel rows 2, 3, ..."""
    sheet = [{"scenario": s, "target": t, "value": v, "mode": "set"} for s, t, v in rows]
    return ModelInputs.from_frames(tiny.frames(periods=PERIODS3, scenarios=sheet))


def error_of(inputs: ModelInputs, path: str, value=5, origin="scenario x, scenarios row 7") -> str:
    with pytest.raises(InputError) as info:
        apply_changes(inputs, [Change(path, value, origin=origin)])
    message = str(info.value)
    assert origin in message and path in message, message  # names the row and the path
    return message


# ---------------------------------------------------------------- 1. filter values are ids


def test_not_equal_to_an_unknown_customer_is_an_error_not_every_row(base):
    """The issue's case: X_TRE1 (digit one) is no customer; != would match all 8 rows."""
    message = error_of(base, "demand.min_t[customer!=X_TRE1]", 0)
    assert "unknown customer 'X_TRE1'; did you mean 'X_TREI'?" in message
    assert "would match every row" in message


def test_equal_to_an_unknown_customer_says_it_matches_no_row(base):
    message = error_of(base, "demand.min_t[customer=X_TRE1]", 0)
    assert "unknown customer 'X_TRE1'; did you mean 'X_TREI'?" in message
    assert "matches no row" in message


@pytest.mark.parametrize("path, words", [
    # a ref column (demand.product -> products + MRECL)
    ("demand.price[product!=AA]", "unknown product 'AA'; did you mean 'A'?"),
    # a key column of its own sheet, which has no ref
    ("mines.capacity_t[mine=M11]", "unknown mine 'M11'; did you mean 'M1'?"),
    ("customers.kind[customer!=K11]", "unknown customer 'K11'; did you mean 'K1'?"),
    # a choice column
    ("mines.capacity_t[status!=aproved]", "unknown status 'aproved'; did you mean 'approved'?"),
    ("plants.capacity_t[stage=crack]", "unknown stage 'crack'; did you mean 'cracking'?"),
    # periods, with = and with an order
    ("demand.min_t[customer=K1, period!=T4]", "unknown period 'T4'; expected one of T1, T2, T3"),
    ("demand.min_t[period>=T33]", "unknown period 'T33'; did you mean 'T3'?"),
    # a settings key
    ("settings.value[key=discount_rat]",
     "unknown settings key 'discount_rat'; did you mean 'discount_rate'?"),
    # a boolean column must get a boolean
    ("customers.kind[treaty=maybe]", "not true or false"),
])
def test_filter_values_are_checked_against_their_column(tiny3, path, words):
    assert words in error_of(tiny3, path)


def test_choice_and_bool_filters_match_in_any_spelling(tiny3):
    """status=APPROVED is the only mine; treaty=yes is X1 (stored as True)."""
    new = apply_changes(tiny3, [Change("mines.capacity_t[status=APPROVED]", 40),
                                Change("customers.kind[treaty=yes]", "domestic")])
    assert new.params.cap_mine_t["M1", "T1"] == 40
    assert new.params.kind == {"K1": "domestic", "X1": "domestic"}


def test_a_valid_id_without_rows_still_creates_the_row(tiny3):
    """B is a product without an export cap: pinning every key creates the rows."""
    new = apply_changes(tiny3, [Change("export_caps.max_t[product=B]", 3)])
    assert sorted(new.frame("export_caps")["period"]) == ["T1", "T2", "T3"]


def test_the_sweep_path_checks_filter_ids_before_solving(tiny3):
    """A hot sweep never goes through apply_changes: its pre-check must catch the typo."""
    with pytest.raises(InputError) as info:
        optimizer.sweep(tiny3, {"demand.min_t[customer!=K11]": [1, 2]})
    message = str(info.value)
    assert "nothing was solved" in message
    assert "unknown customer 'K11'; did you mean 'K1'?" in message


def test_a_bad_filter_on_a_scenario_row_names_that_row():
    inputs = with_scenarios(("ok", "demand.min_t[customer=K1]", 5),
                            ("typo", "demand.min_t[customer!=K11]", 5))
    with pytest.raises(InputError) as info:
        optimizer.solve(inputs, scenario="typo")
    assert "scenario typo, scenarios row 3" in str(info.value)
    assert "did you mean 'K1'?" in str(info.value)


# ---------------------------------------------------------------- 2. one cell, one change


def test_two_rows_with_the_same_target_are_an_error_naming_both():
    """Rows 2 and 3 differ only in spacing: the same target, 5 or 6 depends on row order."""
    inputs = with_scenarios(("s", "demand.min_t[customer=K1]", 5),
                            ("s", "demand.min_t[ customer = K1 ]", 6))
    with pytest.raises(InputError) as info:
        apply_scenario(inputs, "s")
    message = str(info.value)
    assert "scenarios row 2" in message and "scenarios row 3" in message
    assert "same target" in message


def test_overlapping_targets_are_an_error_naming_both_and_the_cell():
    """customer=K1 covers T1..T3; customer=K1, period=T2 touches the T2 cell again."""
    inputs = with_scenarios(("s", "demand.min_t[customer=K1]", 5),
                            ("s", "demand.min_t[customer=K1, period=T2]", 6))
    with pytest.raises(InputError) as info:
        apply_scenario(inputs, "s")
    message = str(info.value)
    assert "scenarios row 2" in message and "scenarios row 3" in message
    assert "both change demand.min_t of demand row 2 (K1, A, T2)" in message


def test_disjoint_targets_in_one_scenario_are_fine():
    inputs = with_scenarios(("s", "demand.min_t[customer=K1, period=T1]", 5),
                            ("s", "demand.min_t[customer=K1, period>=T2]", 6),
                            ("s", "demand.max_t[customer=K1]", 7))
    new, _ = apply_scenario(inputs, "s")
    assert [new.params.min_t["K1", "A", t] for t in ("T1", "T2", "T3")] == [5, 6, 6]


def test_overlap_is_refused_by_scenario_runs_before_solving():
    inputs = with_scenarios(("s", "demand.price[product=A]", 5),
                            ("s", "demand.price[customer=K1]", 6))
    with pytest.raises(InputError) as info:
        run_scenarios(inputs, named_scenarios(inputs))
    assert "nothing was solved" in str(info.value)
    assert "both change demand.price" in str(info.value)


def test_created_rows_count_as_cells_too(tiny3):
    """The first change creates B's cap for T1..T3; the second would set T2 again."""
    with pytest.raises(InputError, match="both change export_caps.max_t of a new export_caps row"):
        check_conflicts(tiny3, [Change("export_caps.max_t[product=B]", 3, origin="a"),
                                Change("export_caps.max_t[product=B, period=T2]", 4, origin="b")])


# ---------------------------------------------------------------- 3. periods sheet filters


def test_order_filters_on_the_periods_sheet(tiny3):
    new = apply_changes(tiny3, [Change("periods.years[period>=T2]", 2)])
    assert new.params.years == {"T1": 1, "T2": 2, "T3": 2}


def test_the_rebuilt_solve_uses_the_new_years(tiny3):
    """300 a one-year period; T2 and T3 of two years make 600 each: 300 + 600 + 600 = 1500."""
    assert optimizer.solve(tiny3).objective == pytest.approx(900)
    changed = apply_changes(tiny3, [Change("periods.years[period>=T2]", 2)])
    assert optimizer.solve(changed).objective == pytest.approx(1500)
    # a sweep (hot or rebuilt, whichever the engine picks) agrees; 300 + 2 x 900 = 2100
    frame = optimizer.sweep(tiny3, {"periods.years[period>=T2]": [2, 3]})
    assert list(frame["objective"]) == pytest.approx([900, 1500, 2100])


# ---------------------------------------------------------------- 4. requests too big to run


def test_a_huge_count_is_refused_without_making_the_values(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("values were materialised")

    monkeypatch.setattr(np, "linspace", never)
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        parse_values("0:1:1000000000", "--set x=0:1:1000000000")
    assert time.perf_counter() - start < 0.5
    message = str(info.value)
    assert "--set x=0:1:1000000000" in message and "1,000,000,000 scenarios" in message
    assert f"limit of {MAX_SCENARIOS:,}" in message and "--max-scenarios" in message


@pytest.mark.parametrize("count", ["0", "-3", "2.5", "x"])
def test_a_count_that_is_not_a_whole_number_of_one_or_more_is_an_error(count):
    with pytest.raises(InputError, match=r"--set x=0:1"):
        parse_values(f"0:1:{count}", f"--set x=0:1:{count}")


def test_the_limit_can_be_raised():
    assert len(parse_values("0:1:20000", "--set x", limit=50_000)) == 20_000
    assert len(parse_values("0:1:20000", "--set x", limit=None)) == 20_000


def test_a_product_of_axes_is_refused_before_any_combination_is_made():
    """3 axes x 100 values = 1,000,000 combinations > 10,000."""
    axes = [(f"demand.price[customer=K{i}]", "set", list(range(100))) for i in range(3)]
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        grid(axes)
    assert time.perf_counter() - start < 0.5
    assert "1,000,000 scenarios" in str(info.value) and "100 × 100 × 100" in str(info.value)
    assert len(grid(axes[:2], max_scenarios=10_000)) == 10_000  # exactly at the limit
    with pytest.raises(InputError, match="10,100 scenarios"):  # one value over
        grid([(axes[0][0], "set", list(range(101))), axes[1]])


def test_zipped_axes_are_limited_too():
    axes = [("a.b", "set", list(range(11))), ("c.d", "set", list(range(11)))]
    with pytest.raises(InputError, match="11 scenarios, more than the limit of 10"):
        grid(axes, zip_axes=True, max_scenarios=10)
    assert len(grid(axes, zip_axes=True, max_scenarios=11)) == 11


def test_library_sweep_checks_its_arguments(tiny3):
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(InputError, match="workers must be a whole number"):
            optimizer.sweep(tiny3, {"demand.price[customer=K1]": [1]}, workers=bad)
    with pytest.raises(InputError, match="mode must be set, scale or add"):
        optimizer.sweep(tiny3, {"demand.price[customer=K1]": [1]}, mode="double")
    with pytest.raises(InputError, match="more than the limit of 2"):
        optimizer.sweep(tiny3, {"demand.price[customer=K1]": [1, 2, 3]}, max_scenarios=2)
    start = time.perf_counter()  # a range is counted, never listed
    with pytest.raises(InputError, match="1,000,000,000 scenarios"):
        optimizer.sweep(tiny3, {"demand.price[customer=K1]": range(10**9)})
    assert time.perf_counter() - start < 0.5


def test_frames_are_untouched_by_a_refused_change(tiny3):
    before = {n: f.copy() for n, f in tiny3.frames.items()}
    with pytest.raises(InputError):
        apply_changes(tiny3, [Change("demand.min_t[customer=K1]", 5),
                              Change("demand.min_t[customer!=K11]", 5)])
    for name, frame in before.items():
        pd.testing.assert_frame_equal(tiny3.frames[name], frame)
