"""No input may vanish silently: the reader and validator refuse what they cannot read for sure.

Each test writes the tiny instance (tests/tiny.py) to a workbook in tmp_path, changes one
thing and checks that the message names the sheet, the cell and, for names, the nearest
declared one. Rows are Excel rows: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import tiny

import optimizer
from optimizer import InputError, ModelInputs
from optimizer.cli import main
from optimizer.errors import InputWarning
from optimizer.schema import ANNOTATION_COLUMNS, ANNOTATION_SHEETS

# ---------------------------------------------------------------- helpers


def workbook(tmp_path: Path, **overrides) -> Path:
    """The tiny instance as .xlsx; keyword args replace (or add) whole sheets as frames."""
    frames = tiny.frames()
    frames.update(overrides)
    return tiny.write_xlsx(frames, tmp_path / "tiny.xlsx")


def renamed(sheet: str, old: str, new: str) -> dict[str, pd.DataFrame]:
    """The tiny instance's `sheet` frame with one header renamed, as an override."""
    return {sheet: tiny.frames()[sheet].rename(columns={old: new})}


def edit(path: Path, sheet: str, **cells) -> Path:
    """Write values into cells (e.g. B2=5) of a sheet, in full openpyxl mode."""
    wb = openpyxl.load_workbook(path)
    for address, value in cells.items():
        wb[sheet][address] = value
    wb.save(path)
    return path


def problems(path: Path) -> list:
    with pytest.raises(InputError) as info:
        optimizer.read_inputs(path)
    assert info.value.problems, str(info.value)
    return info.value.problems


def at(found: list, sheet: str, cell: str | None, word: str):
    """The problem at sheet!cell whose `expected` mentions `word`; fails listing all if none."""
    listing = "\n  ".join(map(str, found))
    hits = [p for p in found if p.sheet == sheet and p.cell == cell and word.lower() in p.expected.lower()]
    assert hits, f"nothing at {sheet}!{cell} mentions {word!r}; got:\n  {listing}"
    return hits[0]


# ---------------------------------------------------------------- unknown names


@pytest.mark.parametrize("sheet, old, new, cell", [
    ("demand", "min_t", "min_tonnes", "D1"),          # a unit spelt out
    ("demand", "max_t", "max t", "E1"),               # space for underscore
    ("demand", "max_t", "Max-T", "E1"),               # hyphen, other case
    ("demand", "max_t", "max\u200b_t", "E1"),         # zero-width space inside
    ("demand", "max_t", "max\u00a0t", "E1"),          # non-breaking space for underscore
    ("demand", "price", "prise", "F1"),               # a typo
    ("mines", "approved_from", "approved from", "G1"),
])
def test_misspelt_header_is_an_error_with_a_suggestion(tmp_path, sheet, old, new, cell):
    """A header close to a declared column is refused at its cell: 'did you mean ...?'."""
    problem = at(problems(workbook(tmp_path, **renamed(sheet, old, new))), sheet, cell,
                 f"did you mean {old!r}")
    assert problem.row == 1 and problem.found == new


def test_header_case_and_surrounding_spaces_still_match(tmp_path):
    """' Min_T ' is demand.min_t (exact names match ignoring case and surrounding spaces)."""
    frames = tiny.frames()
    demand = frames["demand"].rename(columns={"min_t": " Min_T "})
    demand.loc[0, " Min_T "] = 7
    inputs = optimizer.read_inputs(workbook(tmp_path, demand=demand))
    assert inputs.frames["demand"]["min_t"].tolist() == [7.0, 0.0]
    assert inputs.warnings == ()


@pytest.mark.parametrize("title, meant", [("Export Caps", "export_caps"), ("product_cap", "product_caps"),
                                          ("Demnd", "demand")])
def test_misspelt_sheet_is_an_error_with_a_suggestion(tmp_path, title, meant):
    """A sheet named close to a declared sheet that is absent is refused by its title."""
    frames = tiny.frames()
    frame = {"export_caps": pd.DataFrame([{"product": "A", "max_t": 0}]),
             "product_caps": pd.DataFrame([{"plant": "S1", "product": "A", "max_t": 0}]),
             "demand": frames.pop("demand")}[meant]
    path = tiny.write_xlsx({**frames, title: frame}, tmp_path / "tiny.xlsx")
    problem = at(problems(path), title, None, f"did you mean {meant!r}")
    assert problem.found == title


def test_copy_of_a_present_sheet_is_a_warning(tmp_path):
    """'demand (2)' next to 'demand' is read past with a warning, not an error."""
    inputs = optimizer.read_inputs(workbook(tmp_path, **{"demand (2)": tiny.frames()["demand"]}))
    assert [w.sheet for w in inputs.warnings] == ["demand (2)"]
    assert "copy of 'demand'" in inputs.warnings[0].expected


def test_unknown_column_is_a_warning_everywhere_the_planner_looks(tmp_path, capsys):
    """'region' on demand resembles nothing: the run goes on, and the warning names demand!G1
    in ModelInputs.warnings, Result.warnings, `validate` and `solve` (exit 0)."""
    demand = tiny.frames()["demand"].assign(region="south")
    path = workbook(tmp_path, demand=demand)
    inputs = optimizer.read_inputs(path)
    (warning,) = inputs.warnings
    assert isinstance(warning, InputWarning)
    assert (warning.sheet, warning.cell, warning.found) == ("demand", "G1", "region")
    result = optimizer.solve(inputs)
    assert any("demand!G1" in text and "region" in text for text in result.warnings)
    assert main(["validate", str(path)]) == 0
    assert "warning: demand!G1" in capsys.readouterr().err
    assert main(["solve", str(path), "-o", str(tmp_path / "out.xlsx")]) == 0
    assert "demand!G1" in capsys.readouterr().err


def test_unknown_sheet_is_a_warning(tmp_path):
    """A sheet 'scratch' is not read, and the planner is told so."""
    inputs = optimizer.read_inputs(workbook(tmp_path, scratch=pd.DataFrame([{"x": 1}])))
    assert [(w.sheet, w.found) for w in inputs.warnings] == [("scratch", "scratch")]


def test_annotation_names_are_ignored_without_a_word(tmp_path):
    """Every documented annotation column and sheet reads in silence (name is a column of
    mines, so on mines it is read, elsewhere ignored)."""
    demand = tiny.frames()["demand"].assign(**{name: "x" for name in sorted(ANNOTATION_COLUMNS)})
    sheets = {title.upper() if title == "readme" else title: pd.DataFrame([{"text": "about"}])
              for title in sorted(ANNOTATION_SHEETS)}
    inputs = optimizer.read_inputs(workbook(tmp_path, demand=demand, **sheets))
    assert inputs.warnings == ()
    assert optimizer.solve(inputs).objective == pytest.approx(300.0)


def test_values_under_a_blank_header(tmp_path):
    """A price typed one column right of the table, under no header, is refused."""
    path = edit(workbook(tmp_path), "demand", H3=12)
    problem = at(problems(path), "demand", "H1", "values under a blank header")
    assert "H3" in problem.expected


def test_frames_are_checked_like_workbooks():
    """from_frames: 'max t' is an error naming max_t, 'region' a warning."""
    with pytest.raises(InputError) as info:
        ModelInputs.from_frames(tiny.frames(**{}) | renamed("demand", "max_t", "max t"))
    at(info.value.problems, "demand", None, "did you mean 'max_t'")
    inputs = ModelInputs.from_frames(tiny.frames() | {"demand": tiny.frames()["demand"].assign(region=1)})
    assert [w.found for w in inputs.warnings] == ["region"]


# ---------------------------------------------------------------- merged cells


def test_merged_minimum_counts_in_every_period(tmp_path):
    """min_t 5 typed once in D2 and merged over D2:D4 (three periods) binds in all three.

    Without the merge rows 3 and 4 would read blank, i.e. the default 0.
    """
    periods = pd.DataFrame([{"period": t, "years": 1} for t in ("T1", "T2", "T3")])
    demand = pd.DataFrame([{"customer": "K1", "product": "A", "period": t, "min_t": 5 if t == "T1" else None,
                            "max_t": 1000, "price": 10} for t in ("T1", "T2", "T3")]
                          + [{"customer": "X1", "product": "MRECL", "period": None, "min_t": 0,
                              "max_t": None, "price": 4}])
    path = workbook(tmp_path, periods=periods, demand=demand)
    wb = openpyxl.load_workbook(path)
    wb["demand"].merge_cells("D2:D4")
    wb.save(path)
    inputs = optimizer.read_inputs(path)
    assert {t: inputs.params.min_t["K1", "A", t] for t in ("T1", "T2", "T3")} == {"T1": 5, "T2": 5, "T3": 5}


def test_merged_header_is_read_in_both_cells(tmp_path):
    """A header merged over two columns names both: 'each column header once'."""
    path = workbook(tmp_path)
    wb = openpyxl.load_workbook(path)
    wb["demand"].merge_cells("D1:E1")  # min_t over min_t and max_t
    wb.save(path)
    at(problems(path), "demand", "E1", "each column header once")


# ---------------------------------------------------------------- numbers and periods


@pytest.mark.parametrize("text, word", [("3.000", "ambiguous"), ("1.200", "ambiguous"),
                                        ("1,5", "decimal comma")])
def test_ambiguous_number_text_is_refused(tmp_path, text, word):
    """'3.000' may be 3 or 3,000 and '1,5' may be 1.5 or 15: refused at mines!B2."""
    path = edit(workbook(tmp_path), "mines", B2=text)
    problem = at(problems(path), "mines", "B2", word)
    assert problem.found == text


@pytest.mark.parametrize("text, number", [("1,200", 1200.0), (" 3000 ", 3000.0), ("2.5", 2.5)])
def test_unambiguous_number_text_is_read(tmp_path, text, number):
    path = edit(workbook(tmp_path), "mines", B2=text)
    assert optimizer.read_inputs(path).frames["mines"]["capacity_t"].tolist() == [number]


def test_discount_rate_in_percent_is_refused(tmp_path):
    """discount_rate 8 (meaning 8 %) is an error at settings!B3 saying to type 0.08."""
    settings = pd.DataFrame([{"key": "currency", "value": "USD"}, {"key": "discount_rate", "value": 8}])
    problem = at(problems(workbook(tmp_path, settings=settings)), "settings", "B3", "type 0.08 for 8 %")
    assert problem.found == 8


@pytest.mark.parametrize("rate, warned", [(0.35, True), (0.3, False)])
def test_high_discount_rate_is_a_warning(tmp_path, rate, warned):
    """0.35 (35 %/yr) is used but warned about; 0.3 is not."""
    settings = pd.DataFrame([{"key": "discount_rate", "value": rate}])
    inputs = optimizer.read_inputs(workbook(tmp_path, settings=settings))
    assert inputs.settings["discount_rate"] == rate
    assert [w.cell for w in inputs.warnings] == (["B2"] if warned else [])


@pytest.mark.parametrize("ids, warned", [(["2028", "2027", "2026"], True),
                                         (["FY2028", "FY2027", "FY2026"], True),
                                         (["2027-28", "2026-27"], True),
                                         (["FY2026", "FY2027", "FY2028"], False),
                                         (["T3", "T2", "T1"], False)])
def test_years_listed_backwards_are_a_warning(tmp_path, ids, warned):
    """The model takes sheet order as time order; years running backwards are flagged."""
    periods = pd.DataFrame([{"period": t, "years": 1} for t in ids])
    inputs = optimizer.read_inputs(workbook(tmp_path, periods=periods))
    assert [(w.sheet, w.cell) for w in inputs.warnings] == ([("periods", "A2")] if warned else [])


@pytest.mark.parametrize("error", ["#REF!", "#N/A", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!"])
@pytest.mark.parametrize("sheet, cell", [("demand", "A2"),      # an id
                                         ("demand", "F2"),      # a number
                                         ("customers", "C2"),   # a bool (treaty)
                                         ("mines", "F2")])      # a choice (status)
def test_excel_error_values_are_refused(tmp_path, error, sheet, cell):
    """An Excel error in any kind of cell is an error there ('fix the formula'), never an id."""
    path = edit(workbook(tmp_path), sheet, **{cell: error})
    problem = at(problems(path), sheet, cell, "fix the formula")
    assert problem.found == error


# ---------------------------------------------------------------- robust reading


def _rewrite_part(path: Path, part: str, data: bytes | None) -> Path:
    """Copy the .xlsx with one zip member replaced by ``data`` (None: truncated to half)."""
    out = path.with_name("broken.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == part:
                body = body[: len(body) // 2] if data is None else data
            dst.writestr(item, body)
    return out


@pytest.mark.parametrize("part, data", [("xl/worksheets/sheet1.xml", None),
                                        ("xl/worksheets/sheet1.xml", b"\x00garbage<<"),
                                        ("[Content_Types].xml", b"<not xml")])
def test_damaged_part_is_exit_2_without_traceback(tmp_path, capsys, part, data):
    path = _rewrite_part(workbook(tmp_path), part, data)
    with pytest.raises(InputError, match="cannot read"):
        optimizer.read_inputs(path)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error: cannot read" in err


def test_stray_cell_in_the_last_column_and_row(tmp_path):
    """A value in XFD1048576 is one stored cell: it is reported (under a blank header) and
    reading does not walk the 1.7e10 empty cells up to it."""
    path = edit(workbook(tmp_path), "demand", XFD1048576="x")
    problem = at(problems(path), "demand", "XFD1", "values under a blank header")
    assert "XFD1048576" in problem.expected


def test_stray_cell_far_down(tmp_path):
    """A customer id in A1000000 is a demand row like any other: its blank price is refused."""
    path = edit(workbook(tmp_path), "demand", A1000000="K1")
    at(problems(path), "demand", "F1000000", "a number")


def test_every_problem_at_once(tmp_path):
    """A misspelt header (reader) and a bad number (validator) come in one InputError, each
    with sheet, row, column, cell, found and expected."""
    path = edit(workbook(tmp_path, **renamed("demand", "max_t", "max t")), "mines", B2="lots")
    found = problems(path)
    header = at(found, "demand", "E1", "did you mean 'max_t'")
    number = at(found, "mines", "B2", "a number")
    assert (header.row, header.found) == (1, "max t")
    assert (number.row, number.column, number.found) == (2, "capacity_t", "lots")


def test_misspelt_settings_key_names_the_nearest(tmp_path):
    """'discount rate' is not a key; the message suggests discount_rate (settings!A3)."""
    settings = pd.DataFrame([{"key": "currency", "value": "USD"}, {"key": "discount rate", "value": 0.05}])
    at(problems(workbook(tmp_path, settings=settings)), "settings", "A3", "did you mean 'discount_rate'")


# ---------------------------------------------------------------- the package, as openpyxl reads it

def _openpyxl_view(path: Path) -> dict:
    """What openpyxl's own loader finds: worksheets and their parts, shared strings, the
    date and duration styles, the epoch."""
    wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
    try:
        sheets = [ws for ws in wb.worksheets if hasattr(ws, "_worksheet_path")]
        return {"sheets": [(ws.title, ws._worksheet_path) for ws in sheets],
                "strings": list(sheets[0]._shared_strings) if sheets else [],
                "dates": set(wb._date_formats), "durations": set(wb._timedelta_formats),
                "epoch": wb.epoch}
    finally:
        wb.close()


def _our_view(path: Path) -> dict:
    from optimizer.excel import _Book

    with _Book(path) as book:
        return {"sheets": [(s.title, s.part) for s in book.worksheets], "strings": book.strings,
                "dates": book.date_styles, "durations": book.duration_styles, "epoch": book.epoch}


def _made_by_openpyxl(path: Path) -> Path:
    """Dates in built-in and custom formats, a duration, rich text, a hidden sheet, the 1904
    calendar."""
    import datetime

    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    wb = openpyxl.Workbook()
    wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "demand"
    ws.append(["customer", "min_t", "when"])
    ws.append(["K1", 5, datetime.date(2027, 3, 1)])
    ws["D2"] = datetime.timedelta(hours=30)
    ws["D2"].number_format = "[h]:mm"
    ws["E2"] = 46000
    ws["E2"].number_format = 'dd/mm/yyyy;@'
    ws["F2"] = 12.5
    ws["F2"].number_format = '"days" 0.0'  # quoted text: not a date
    ws["G2"] = 3
    ws["G2"].number_format = "[Red]0"  # a colour: not a date
    ws["A3"] = CellRichText(["K", TextBlock(InlineFont(b=True), "2")])
    hidden = wb.create_sheet("mines")
    hidden.sheet_state = "hidden"
    hidden.append(["mine", "status"])
    wb.save(path)
    return path


def _made_by_xlsxwriter(path: Path) -> Path:
    import datetime

    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"date_1904": False})
    ws = wb.add_worksheet("periods")
    bold = wb.add_format({"bold": True})
    ws.write_rich_string(0, 0, "per", bold, "iod")
    ws.write(0, 1, "years")
    ws.write_datetime(1, 0, datetime.datetime(2026, 4, 1), wb.add_format({"num_format": 14}))
    ws.write_number(1, 1, 2, wb.add_format({"num_format": "h:mm:ss"}))
    chart = wb.add_chart({"type": "line"})
    chart.add_series({"values": "=periods!$B$2:$B$2"})
    wb.add_chartsheet("chart").set_chart(chart)  # a chart sheet between the worksheets
    wb.add_worksheet("settings").write(0, 0, "key")
    wb.close()
    return path


@pytest.mark.parametrize("make", ["base case", "template", "tiny", "openpyxl", "xlsxwriter"])
def test_the_package_is_read_as_openpyxl_reads_it(tmp_path, make):
    """Sheets, shared strings, date styles and epoch come from our zip reader (openpyxl is not
    imported to read a workbook); on every kind of file they equal openpyxl's."""
    path = {"base case": lambda: Path(__file__).resolve().parents[1] / "inputs" / "base_case.xlsx",
            "template": lambda: optimizer.write_template(tmp_path / "t.xlsx"),
            "tiny": lambda: tiny.write_xlsx(tiny.frames(), tmp_path / "tiny.xlsx"),
            "openpyxl": lambda: _made_by_openpyxl(tmp_path / "o.xlsx"),
            "xlsxwriter": lambda: _made_by_xlsxwriter(tmp_path / "x.xlsx")}[make]()
    ours, theirs = _our_view(Path(path)), _openpyxl_view(Path(path))
    assert ours == theirs
    if make in ("openpyxl", "xlsxwriter"):  # the cases the file was made for
        assert ours["dates"] and (ours["durations"] if make == "openpyxl" else ours["strings"])


def test_dates_and_rich_text_read_as_values(tmp_path):
    """A date typed into a number column is a date (refused by the validator), not its serial
    number; a duration is a duration; rich text is its plain text; 1904 dates count from 1904."""
    import datetime

    from optimizer.excel import _Book, _sheet_cells

    with _Book(_made_by_openpyxl(tmp_path / "o.xlsx")) as book:
        cells, _ = _sheet_cells(book.worksheets[0])
    assert cells[2][2][0] == datetime.datetime(2027, 3, 1)
    assert cells[2][3][0] == datetime.timedelta(hours=30)
    assert cells[2][4][0] == datetime.datetime(1904, 1, 1) + datetime.timedelta(days=46000)
    assert (cells[2][5][0], cells[2][6][0]) == (12.5, 3)  # quoted text and colours: numbers
    assert cells[3][0][0] == "K2"


def test_a_non_xlsx_file_is_named_by_its_extension(tmp_path):
    path = tmp_path / "plan.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(InputError, match=r"\.xls is Excel's old format"):
        optimizer.read_inputs(path)
