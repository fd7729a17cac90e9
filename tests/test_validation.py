"""Input validation (README, Input workbook reference): every planner mistake is an InputError
pointing at its cell.

Each test starts from the tiny valid instance (tests/tiny.py) or the bundled workbook and
changes one thing. Rows are Excel rows: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import tiny

import optimizer
from optimizer import InputError, ModelInputs

BASE_CASE = Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx"
TINY_OBJECTIVE = 300.0


# ---------------------------------------------------------------- helpers


def rows(sheet: str) -> list[dict]:
    """The tiny instance's rows of one sheet, as fresh dicts."""
    return [dict(r) for r in tiny.frames()[sheet].to_dict("records")]


def changed(sheet: str, row: int, **cells) -> dict[str, pd.DataFrame]:
    """The tiny instance with cells of one Excel row (2 = first data row) changed."""
    records = rows(sheet)
    records[row - 2].update(cells)
    return tiny.frames(**{sheet: records})


def problems_of(frames: dict[str, pd.DataFrame]) -> list:
    """The problems from_frames reports; fails unless it raises InputError."""
    with pytest.raises(InputError) as info:
        ModelInputs.from_frames(frames)
    assert info.value.problems, "InputError without located problems"
    assert str(info.value), "InputError without a message"
    return info.value.problems


def located(problems, sheet, row, column, word):
    """The problem at sheet/row/column whose `expected` mentions `word`; fails if none."""
    listing = "\n  ".join(map(str, problems))
    at = [p for p in problems if p.sheet == sheet and p.row == row and p.column == column]
    assert at, f"nothing reported at {sheet} row {row} column {column}; got:\n  {listing}"
    hits = [p for p in at if word.lower() in p.expected.lower()]
    assert hits, f"no problem at {sheet} row {row} {column} mentions {word!r}; got:\n  {listing}"
    return hits[0]




def read_problems(path: Path) -> list:
    with pytest.raises(InputError) as info:
        optimizer.read_inputs(path)
    return info.value.problems


def column_letter(ws, name: str) -> str:
    header = [c.value for c in ws[1]]
    return openpyxl.utils.get_column_letter(header.index(name) + 1)


# ---------------------------------------------------------------- the fixture itself


def test_tiny_instance_is_valid():
    """The unmodified tiny instance validates (so every failure below is the mutation's)."""
    inputs = ModelInputs.from_frames(tiny.frames())
    assert list(inputs.frames["periods"]["period"]) == ["T1"]


# ---------------------------------------------------------------- one bad cell each

BAD_CELLS = [
    # id, sheet, excel row, column, value, a word of `expected`
    ("negative mine capacity", "mines", 2, "capacity_t", -5, "≥ 0"),
    ("negative plant capacity", "plants", 3, "capacity_t", -1, "≥ 0"),
    ("reo_grade 0", "mines", 2, "reo_grade", 0, "> 0"),
    ("reo_grade 1.5", "mines", 2, "reo_grade", 1.5, "≤ 1"),
    ("recovery 0", "plants", 2, "recovery", 0, "> 0"),
    ("tho2_grade 1", "mines", 2, "tho2_grade", 1, "< 1"),
    ("unknown status", "mines", 2, "status", "closed", "pending"),
    ("unknown stage", "plants", 3, "stage", "refining", "separation"),
    ("unknown kind", "customers", 2, "kind", "foreign", "domestic"),
    ("text not a number", "mines", 2, "capacity_t", "lots", "number"),
    ("ambiguous comma", "mines", 2, "capacity_t", "1,2", "number"),
    ("date for a number", "mines", 2, "capacity_t", dt.datetime(2026, 4, 1), "number"),
    ("blank required cell", "demand", 3, "price", None, "number"),
    ("bad boolean", "customers", 3, "treaty", "maybe", "true or false"),
    ("periods.years 0", "periods", 2, "years", 0, "> 0"),
    ("discount_factor 1.5", "periods", 2, "discount_factor", 1.5, "≤ 1"),
    ("demand unknown customer", "demand", 2, "customer", "K9", "customers.customer"),
    ("demand unknown product", "demand", 2, "product", "NdPr", "MRECL"),
    ("demand unknown period", "demand", 2, "period", "T9", "periods.period"),
    ("composition unknown product", "composition", 3, "product", "Z", "products.product"),
]


@pytest.mark.parametrize("sheet,row,column,value,word",
                         [case[1:] for case in BAD_CELLS], ids=[c[0] for c in BAD_CELLS])
def test_bad_cell_is_located(sheet, row, column, value, word):
    """The planner typed one bad value; the problem names its sheet, row and column."""
    located(problems_of(changed(sheet, row, **{column: value})), sheet, row, column, word)


def test_problem_carries_excel_cell_address():
    """A bad cell in from_frames gets an Excel address from its column position."""
    problem = located(problems_of(changed("mines", 2, capacity_t=-5)),
                      "mines", 2, "capacity_t", "≥")
    assert problem.cell == "B2" and problem.found == -5
    assert str(problem).startswith("mines!B2 (row 2, column capacity_t)")


def test_missing_required_sheet():
    """The planner deleted the mines sheet."""
    frames = tiny.frames()
    del frames["mines"]
    located(problems_of(frames), "mines", None, None, "sheet")


def test_missing_required_column():
    """The planner deleted the plants.recovery column."""
    frames = tiny.frames()
    frames["plants"] = frames["plants"].drop(columns=["recovery"])
    located(problems_of(frames), "plants", None, "recovery", "column")


def test_pending_mine_with_unknown_approved_from():
    """A pending mine's approved_from is not one of the periods."""
    frames = changed("mines", 2, status="pending", approved_from="FY2099")
    located(problems_of(frames), "mines", 2, "approved_from", "periods.period")


def test_unknown_settings_key():
    """The planner misspelt a settings key."""
    frames = tiny.frames(settings=[{"key": "currency", "value": "USD"},
                                   {"key": "discount", "value": 0.05}])
    located(problems_of(frames), "settings", 3, "key", "discount_rate")


def test_bad_settings_value():
    """discount_rate is text, not a number."""
    frames = tiny.frames(settings=[{"key": "discount_rate", "value": "abc"}])
    located(problems_of(frames), "settings", 2, "value", "number")


def test_duplicate_mine_id():
    """Two mines share an id."""
    mines = rows("mines")
    frames = tiny.frames(mines=mines + [dict(mines[0], capacity_t=50)])
    located(problems_of(frames), "mines", 3, "mine", "unique")


def test_duplicate_period():
    """The same period is listed twice."""
    frames = tiny.frames(periods=[{"period": "T1"}, {"period": "T1"}])
    located(problems_of(frames), "periods", 3, "period", "unique")


def test_route_from_unknown_mine():
    """A route starts at a mine that is not in mines."""
    frames = tiny.frames(routes=[{"mine": "M9", "plant": "C1"}])
    located(problems_of(frames), "routes", 2, "mine", "mines.mine")


def test_route_to_separation_plant():
    """A route sends monazite straight to a separation plant."""
    frames = tiny.frames(routes=[{"mine": "M1", "plant": "S1"}])
    located(problems_of(frames), "routes", 2, "plant", "cracking")


def test_composition_shares_do_not_sum_to_one():
    """The default composition sums to 0.9."""
    frames = tiny.frames(composition=[{"mine": None, "product": "A", "share": 0.5},
                                      {"mine": None, "product": "B", "share": 0.4}])
    problem = located(problems_of(frames), "composition", 2, "share", "sum to 1")
    assert problem.found == pytest.approx(0.9)


def test_mine_without_composition_and_no_default():
    """Mine M2 has no composition rows and there is no default (blank-mine) composition."""
    mines = rows("mines")
    frames = tiny.frames(
        mines=mines + [dict(mines[0], mine="M2")],
        composition=[{"mine": "M1", "product": "A", "share": 0.6},
                     {"mine": "M1", "product": "B", "share": 0.4}])
    located(problems_of(frames), "mines", 3, "mine", "composition")


def test_max_below_min():
    """A demand row's max_t is below its min_t."""
    frames = changed("demand", 3, min_t=500, max_t=200)
    problem = located(problems_of(frames), "demand", 3, "max_t", "min_t")
    assert problem.found == 200


def test_two_blank_period_rows_with_same_key():
    """Two demand rows for K1/A both apply to every period."""
    demand = rows("demand")
    frames = tiny.frames(demand=demand + [dict(demand[0], price=12)])
    located(problems_of(frames), "demand", 4, "period", "one row")


def test_two_rows_with_same_key_and_period():
    """Two demand rows for K1/A name the same period."""
    demand = rows("demand")
    frames = tiny.frames(demand=[dict(demand[0], period="T1"), demand[1],
                                 dict(demand[0], period="T1", price=12)])
    located(problems_of(frames), "demand", 4, "period", "one row")


def test_per_period_row_names_unknown_period():
    """An export cap names a period that is not in periods."""
    frames = tiny.frames(export_caps=[{"product": "A", "period": "T7", "max_t": 5}])
    located(problems_of(frames), "export_caps", 2, "period", "periods.period")


def test_product_called_mrecl():
    """The planner listed MRECL as a separated product."""
    frames = tiny.frames(products=rows("products") + [{"product": "MRECL"}])
    located(problems_of(frames), "products", 4, "product", "MRECL")


def test_product_cap_on_cracking_plant():
    """A product line cap is put on a cracking plant."""
    frames = tiny.frames(product_caps=[{"plant": "C1", "product": "A", "max_t": 10}])
    located(problems_of(frames), "product_caps", 2, "plant", "separation")


def test_capacity_profile_unknown_entity():
    """A capacity override names neither a mine nor a plant."""
    frames = tiny.frames(capacity_profile=[{"entity": "K1", "period": "T1",
                                            "capacity_t": 5}])
    located(problems_of(frames), "capacity_profile", 2, "entity", "plants.plant")


def test_ids_are_case_sensitive():
    """A route names mine 'm1' where the mine is 'M1'."""
    frames = tiny.frames(routes=[{"mine": "m1", "plant": "C1"}])
    located(problems_of(frames), "routes", 2, "mine", "mines.mine")


def test_blank_period_row_reported_once():
    """max_t < min_t on one blank-period row of a 3-period plan is one problem, not three."""
    frames = tiny.frames(periods=[{"period": t} for t in ("T1", "T2", "T3")])
    frames["demand"].loc[0, ["min_t", "max_t"]] = [500, 200]
    problems = problems_of(frames)
    assert len([p for p in problems if (p.sheet, p.row, p.column) == ("demand", 2, "max_t")]) == 1


# ---------------------------------------------------------------- all problems at once


def test_every_problem_is_reported_at_once():
    """Three mistakes in three sheets are all listed in one InputError."""
    frames = changed("mines", 2, capacity_t=-5)
    frames["demand"].loc[1, "customer"] = "K9"
    frames["settings"] = pd.DataFrame([{"key": "currencyy", "value": "USD"}])
    problems = problems_of(frames)
    assert len(problems) >= 3
    located(problems, "mines", 2, "capacity_t", "≥ 0")
    located(problems, "demand", 3, "customer", "customers")
    located(problems, "settings", 2, "key", "currency")
    assert all(p.sheet and p.row and p.column for p in problems)


# ---------------------------------------------------------------- reading rules (accepted)


def test_numbers_given_as_text():
    """Numbers typed as text with a thousands comma or spaces are accepted."""
    frames = changed("mines", 2, capacity_t="1,200")
    frames["plants"] = changed("plants", 2, capacity_t=" 3000 ")["plants"]
    inputs = ModelInputs.from_frames(frames)
    assert inputs.frames["mines"]["capacity_t"].tolist() == [1200.0]
    assert inputs.frames["plants"]["capacity_t"].tolist()[0] == 3000.0


def test_booleans_in_many_spellings():
    """treaty accepts Yes / no / 1 / 0 / TRUE."""
    spellings = ["Yes", "no", 1, 0, "TRUE"]
    customers = [{"customer": c, "kind": "domestic", "treaty": v}
                 for c, v in zip(["K1", "X1", "K3", "K4", "K5"], spellings)]
    inputs = ModelInputs.from_frames(tiny.frames(customers=customers))
    assert list(inputs.frames["customers"]["treaty"]) == [True, False, True, False, True]


def test_choices_are_case_insensitive():
    """status 'Approved' and stage ' Cracking ' are read as the lowercase choice."""
    frames = changed("mines", 2, status="Approved")
    frames["plants"].loc[0, "stage"] = " Cracking "
    inputs = ModelInputs.from_frames(frames)
    assert inputs.frames["mines"]["status"].tolist() == ["approved"]
    assert inputs.frames["plants"]["stage"].tolist()[0] == "cracking"


def test_numeric_period_ids_equal_text():
    """Periods typed as numbers 2026/2027 match a demand period typed as text "2027"."""
    demand = rows("demand")
    frames = tiny.frames(periods=[{"period": 2026}, {"period": 2027}],
                         demand=[demand[0], dict(demand[0], period="2027", price=20), demand[1]])
    frames["mines"].loc[0, "approved_from"] = 2026
    inputs = ModelInputs.from_frames(frames)
    assert inputs.frames["periods"]["period"].tolist() == ["2026", "2027"]
    d = inputs.frame("demand").set_index(["customer", "product", "period"])["price"]
    assert d[("K1", "A", "2026")] == 10 and d[("K1", "A", "2027")] == 20


def test_ids_are_trimmed():
    """Ids with surrounding spaces match the same id without them."""
    frames = changed("mines", 2, mine=" M1 ")
    frames["routes"] = pd.DataFrame([{"mine": "M1 ", "plant": " C1"}])
    frames["demand"].loc[0, "customer"] = "K1  "
    inputs = ModelInputs.from_frames(frames)
    assert inputs.frames["mines"]["mine"].tolist() == ["M1"]
    assert inputs.params.ROUTES == [("M1", "C1")]


def test_blank_period_expands_and_period_row_overrides():
    """A blank-period row applies to every period; a T2 row overrides it in T2."""
    demand = rows("demand")
    frames = tiny.frames(periods=[{"period": "T1"}, {"period": "T2"}],
                         demand=demand + [dict(demand[0], period="T2", price=20)],
                         products=[dict(rows("products")[0], storage_capacity_t=0),
                                   rows("products")[1]])
    inputs = ModelInputs.from_frames(frames)
    d = inputs.frame("demand")
    k1 = d[(d.customer == "K1") & (d["product"] == "A")].set_index("period")
    assert k1["price"].to_dict() == {"T1": 10, "T2": 20}
    assert set(d[d.customer == "X1"]["period"]) == {"T1", "T2"}
    by_key = inputs.frames["demand"].set_index(["customer", "period"])["_row"]
    assert by_key[("K1", "T1")] == 2 and by_key[("K1", "T2")] == 4
    # A cannot be stocked: it sells 30 t at 10 in T1 and 30 t at 20 in T2
    assert optimizer.solve(inputs).objective == pytest.approx(300 + 600)


def test_sheet_and_column_headers_in_other_case():
    """Sheet 'Mines' and column 'Capacity_T' are read as mines.capacity_t."""
    frames = tiny.frames()
    mines = frames.pop("mines").rename(columns={"capacity_t": "Capacity_T", "mine": " MINE "})
    frames["Mines"] = mines
    inputs = ModelInputs.from_frames(frames)
    assert inputs.frames["mines"]["capacity_t"].tolist() == [100.0]


def test_extra_sheets_and_columns_are_ignored_in_frames():
    """A README, a notes sheet and a source column do not disturb from_frames."""
    frames = tiny.frames()
    frames["README"] = pd.DataFrame([{"text": "hello"}])
    frames["notes"] = pd.DataFrame([{"anything": 1}])
    frames["mines"]["source"] = "IREL annual report"
    ModelInputs.from_frames(frames)


def test_empty_optional_frame_is_accepted():
    """The developer passes routes as an empty DataFrame: all routes are allowed."""
    inputs = ModelInputs.from_frames(tiny.frames(routes=[]))
    assert inputs.params.ROUTES == [("M1", "C1")]


# ---------------------------------------------------------------- Excel workbooks


def test_workbook_solves_like_frames(tmp_path):
    """The tiny instance written to .xlsx reads and solves to the same objective."""
    path = tiny.write_xlsx(tiny.frames(), tmp_path / "tiny.xlsx")
    from_xlsx = optimizer.solve(optimizer.read_inputs(path))
    from_frames = optimizer.solve(ModelInputs.from_frames(tiny.frames()))
    assert from_xlsx.objective == pytest.approx(from_frames.objective)
    assert from_xlsx.objective == pytest.approx(TINY_OBJECTIVE)


def test_formula_without_cached_value(tmp_path):
    """A formula cell never calculated by Excel is an error naming its cell."""
    path = tiny.write_xlsx(tiny.frames(), tmp_path / "tiny.xlsx")
    wb = openpyxl.load_workbook(path)
    cell = f"{column_letter(wb['mines'], 'capacity_t')}2"
    wb["mines"][cell] = "=1+1"
    wb.save(path)
    problem = located(read_problems(path), "mines", 2, "capacity_t", "formula")
    assert problem.cell == cell == "B2"


def test_readme_notes_and_extra_columns_ignored(tmp_path):
    """A README sheet, a notes sheet and a source column do not disturb reading."""
    frames = tiny.frames()
    frames["mines"]["source"] = "IREL"
    frames = {"README": pd.DataFrame([{"about": "tiny"}]), **frames,
              "notes": pd.DataFrame([{"mine": "oops", "capacity_t": "junk"}])}
    path = tiny.write_xlsx(frames, tmp_path / "tiny.xlsx")
    assert optimizer.solve(optimizer.read_inputs(path)).objective == pytest.approx(TINY_OBJECTIVE)


def test_workbook_headers_in_other_case(tmp_path):
    """Sheet 'Demand' with header 'Price' is read as demand.price."""
    frames = tiny.frames()
    frames["Demand"] = frames.pop("demand").rename(columns={"price": "Price"})
    path = tiny.write_xlsx(frames, tmp_path / "tiny.xlsx")
    assert optimizer.solve(optimizer.read_inputs(path)).objective == pytest.approx(TINY_OBJECTIVE)


def test_missing_file(tmp_path):
    """The planner points at a file that does not exist."""
    with pytest.raises(InputError, match="not found"):
        optimizer.read_inputs(tmp_path / "nope.xlsx")


def test_text_file_named_xlsx(tmp_path):
    """A text file renamed .xlsx is an InputError that says it is not a workbook."""
    path = tmp_path / "fake.xlsx"
    path.write_text("customer,product\nK1,A\n")
    with pytest.raises(InputError, match="xlsx"):
        optimizer.read_inputs(path)


@pytest.mark.parametrize("name", ["inputs.csv", "inputs.xls"])
def test_wrong_file_type(tmp_path, name):
    """The planner passes a CSV or old-format .xls file."""
    path = tmp_path / name
    path.write_text("customer,product\nK1,A\n")
    with pytest.raises(InputError):
        optimizer.read_inputs(path)


def test_row_numbers_count_blank_rows(tmp_path):
    """With blank rows between data rows, messages give the real Excel row."""
    path = tiny.write_xlsx(tiny.frames(), tmp_path / "tiny.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["demand"]
    ws.insert_rows(3, amount=2)  # rows 3-4 blank; X1/MRECL moves to row 5
    ws[f"{column_letter(ws, 'price')}5"] = "four"
    wb.save(path)
    problem = located(read_problems(path), "demand", 5, "price", "number")
    assert problem.cell == f"{column_letter(ws, 'price')}5"


def test_date_cell_in_workbook(tmp_path):
    """A date typed into a number column of the workbook is an error at that cell."""
    path = tiny.write_xlsx(tiny.frames(), tmp_path / "tiny.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["plants"][f"{column_letter(wb['plants'], 'capacity_t')}3"] = dt.date(2026, 4, 1)
    wb.save(path)
    located(read_problems(path), "plants", 3, "capacity_t", "number")


def test_empty_optional_sheet_in_workbook(tmp_path):
    """The planner left a blank routes sheet in the workbook: all routes are allowed."""
    path = tiny.write_xlsx(tiny.frames(), tmp_path / "tiny.xlsx")
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("routes")
    wb.save(path)
    assert optimizer.read_inputs(path).params.ROUTES == [("M1", "C1")]


# ---------------------------------------------------------------- the bundled workbook


def test_base_case_validates():
    """inputs/base_case.xlsx is valid as shipped."""
    inputs = optimizer.read_inputs(BASE_CASE)
    assert len(inputs.frames["periods"]) >= 1 and len(inputs.frames["mines"]) >= 1


def test_base_case_mutation_is_located(tmp_path):
    """One negative mine capacity in the bundled workbook is reported at its cell."""
    wb = openpyxl.load_workbook(BASE_CASE)
    ws = wb["mines"]
    letter = column_letter(ws, "capacity_t")
    ws[f"{letter}3"] = -5
    path = tmp_path / "base_case.xlsx"
    wb.save(path)
    problem = located(read_problems(path), "mines", 3, "capacity_t", "≥ 0")
    assert problem.cell == f"{letter}3"
