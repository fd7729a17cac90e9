"""Writing workbooks a planner can read: result tables -> .xlsx with native Excel charts.

The result workbook and the sweep/scenario comparison workbook are written with
XlsxWriter (native charts with titles, axes and cached values; fast). The tidy DataFrames
of :mod:`optimizer.report` are never changed here: :data:`COLUMNS` is the one table that
maps a tidy column name to the header the planner sees (with its unit, e.g.
``tonnes (t)``) and to its number format. Units are in the header, never in a units row,
so every sheet keeps one header row and reads back with ``pandas.read_excel``.

Every table sheet has an autofilter, a frozen header row, sized columns and number
formats (tonnes to 0.1 t, money in whole units with thousands separators, shares as %).

The file is first written next to its destination under a temporary name and then moved
into place (``os.replace``), so a failed write never destroys an existing output; the
input workbook is never overwritten.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import IrelError, OutputError

if TYPE_CHECKING:  # pragma: no cover
    from .run import Result

MAX_SHEET_NAME = 31
EXCEL_INFINITY = 1e30
"""How Excel Solver writes "unlimited" in its Sensitivity report."""

# --- presentation: the one place that decides headers, units and formats ------------------

FORMATS = {
    "t": "#,##0.0",
    "money": "#,##0",
    "share": "0.0%",
    "pct": "0.0",
    "ratio": "0.000",
    "count": "#,##0",
    "seconds": "0.000",
    # Ranging and limits: "unlimited" is 1E+30, shown as Excel Solver shows it. Only on
    # columns that are never negative (allowable changes; limits of variables >= 0).
    "t_range": '[>=1E+29]"1E+30";#,##0.0',
    "money_range": '[>=1E+29]"1E+30";#,##0',
}


@dataclass(frozen=True)
class Col:
    """How one tidy column is shown: header (``{cur}`` = currency) and format kind."""

    header: str
    kind: str | None = None


_PV = "{cur}/t, present value"
_EXCEL_T = {"activity": Col("Final Value (t)", "t"), "rhs": Col("Constraint R.H. Side (t)", "t"),
            "allowable_increase": Col("Allowable Increase (t)", "t_range"),
            "allowable_decrease": Col("Allowable Decrease (t)", "t_range"),
            "dual": Col(f"Shadow Price ({_PV})", "money"), "slack": Col("slack (t)", "t")}

COLUMNS: dict[str, Col] = {
    # shared by every sheet (a "sheet.column" key below overrides one sheet)
    "customer_kind": Col("customer kind"),
    "tonnes": Col("tonnes (t; MRECL in t REO)", "t"),
    "price": Col("price ({cur}/t)", "money"),
    "revenue": Col("revenue ({cur})", "money"),
    "policy_value": Col("policy value ({cur})", "money"),
    "utilisation": Col("utilisation (%)", "share"),
    "reo_t": Col("REO (t)", "t"),
    "tho2_t": Col("ThO2 (t)", "t"),
    "input_t": Col("input (t; separation in t REO)", "t"),
    "ndpr_content_t": Col("NdPr content (t)", "t"),
    "disposal_cost": Col("disposal cost ({cur}/t)", "money"),
    "cost": Col("cost ({cur})", "money"),
    "penalty_per_t": Col("penalty ({cur}/t)", "money"),
    "penalty": Col("penalty ({cur})", "money"),
    "min_dual": Col(f"min dual ({_PV})", "money"),
    "min_binding": Col("min binding"),
    "release_absorbed_by": Col("release absorbed by"),
    "release_value_per_t": Col(f"release value ({_PV})", "money"),
    "objective": Col("objective ({cur}, present value)", "money"),
    "domestic_ndpr_share": Col("domestic NdPr share (%)", "share"),
    "treaty_fulfilment_pct": Col("treaty fulfilment (%)", "pct"),
    "seconds": Col("seconds (s)", "seconds"),
    "iterations": Col("iterations", "count"),
    "base": Col("base"), "scenario_value": Col("scenario"), "difference": Col("difference"),
    # constraints (and balances): Excel Solver's Sensitivity report words
    "source": Col("Cell"), "name": Col("Name"),
    **{f"constraints.{k}": v for k, v in _EXCEL_T.items()},
    # variables
    "variables.value": Col("Final Value (t)", "t"),
    "variables.reduced_cost": Col(f"Reduced Cost ({_PV})", "money"),
    "variables.objective_coef": Col(f"Objective Coefficient ({_PV})", "money"),
    "variables.allowable_increase": Col(f"Allowable Increase ({_PV})", "money_range"),
    "variables.allowable_decrease": Col(f"Allowable Decrease ({_PV})", "money_range"),
    # limits: Excel Solver's Limits report words
    "limits.value": Col("Final Value (t)", "t"),
    "limits.lower_limit": Col("Lower Limit (t)", "t_range"),
    "limits.target_at_lower": Col("Target Result at Lower Limit ({cur}, present value)",
                                  "money"),
    "limits.upper_limit": Col("Upper Limit (t)", "t_range"),
    "limits.target_at_upper": Col("Target Result at Upper Limit ({cur}, present value)",
                                  "money"),
}
COLUMNS.update({f"balances.{k[len('constraints.'):]}": v for k, v in list(COLUMNS.items())
                if k.startswith("constraints.")})


def column_spec(sheet: str, column: str, currency: str = "USD") -> Col:
    """Header and format kind of a tidy column on a sheet (see :data:`COLUMNS`)."""
    col = COLUMNS.get(f"{sheet}.{column}") or COLUMNS.get(column)
    if col is None:
        words = column.replace("_", " ")
        if column.endswith("_t"):
            col = Col(f"{words[:-2]} (t)", "t")
        elif column.endswith("_pv"):
            col = Col(f"{words[:-3]} ({{cur}}, present value)", "money")
        elif column.endswith("_share"):
            col = Col(f"{words} (%)", "share")
        else:
            col = Col(words)
    return Col(col.header.format(cur=currency), col.kind)


def _raw_spec(column: str) -> Col:
    """Machine-read sheets (comparison results): the tidy name, with the tidy column's format."""
    return Col(column, column_spec("", column).kind if column != "scenario" else None)


# --- cell values ---------------------------------------------------------------------------

def _cell_value(value):
    """Excel-safe value: NaN/None -> empty, numpy scalars -> Python, ±inf -> ±1E+30."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return EXCEL_INFINITY if value > 0 else -EXCEL_INFINITY
    return value


def _column_values(series: pd.Series) -> list:
    if pd.api.types.is_bool_dtype(series.dtype):
        return [bool(v) for v in series]
    if pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        values = np.clip(values, -EXCEL_INFINITY, EXCEL_INFINITY)
        return [None if math.isnan(v) else v for v in values.tolist()]
    return [_cell_value(v) for v in series]


def _put(ws, row: int, col: int, value, fmt=None) -> None:
    """Write by type: numbers as numbers, text as text (never parsed as a formula or URL)."""
    if value is None or (isinstance(value, str) and not value):
        if fmt is not None:
            ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _width(header: str, values: list, kind: str | None) -> float:
    sample = values[:300]
    if kind is None:
        longest = max((len(str(v)) for v in sample if v is not None), default=0)
    else:
        longest = max((len(f"{v:,.1f}") for v in sample if isinstance(v, (int, float))
                       and not isinstance(v, bool) and abs(v) < 1e29), default=0)
    head = min(len(header), 28)  # long headers wrap instead of widening the column
    return float(min(60, max(head, longest, 6) + 2))


# --- the workbook --------------------------------------------------------------------------

class Book:
    """An XlsxWriter workbook with cached formats and table-sheet helpers."""

    def __init__(self, path: str, currency: str = "USD"):
        import xlsxwriter

        self.wb = xlsxwriter.Workbook(path, {"in_memory": True, "strings_to_urls": False,
                                             "strings_to_formulas": False})
        self.currency = currency
        self._formats: dict[str, Any] = {}

    def fmt(self, kind: str | None):
        if kind is None:
            return None
        if kind not in self._formats:
            spec = {"header": {"bold": True, "text_wrap": True, "valign": "top",
                               "bg_color": "#DDEBF7", "bottom": 1},
                    "title": {"bold": True, "font_size": 12}}.get(kind)
            self._formats[kind] = self.wb.add_format(spec or {"num_format": FORMATS[kind]})
        return self._formats[kind]

    def table(self, name: str, frame: pd.DataFrame, *, raw: bool = False,
              row_kinds: Sequence[str | None] | None = None, per_row: Sequence[str] = ()):
        """Write ``frame`` as a table sheet: header, autofilter, frozen header, widths, formats.

        ``raw`` keeps the tidy column names (sheets other tools read back). The columns in
        ``per_row`` hold values of mixed units: row i is formatted by ``row_kinds[i]``.
        """
        ws = self.wb.add_worksheet(name[:MAX_SHEET_NAME])
        header = self.fmt("header")
        lines = 1
        for j, column in enumerate(frame.columns):
            spec = _raw_spec(str(column)) if raw else column_spec(name, str(column), self.currency)
            values = _column_values(frame[column])
            ws.write_string(0, j, spec.header, header)
            if column in per_row and row_kinds is not None:
                for i, (value, kind) in enumerate(zip(values, row_kinds), start=1):
                    _put(ws, i, j, value, self.fmt(kind))
            elif pd.api.types.is_numeric_dtype(frame[column].dtype) and \
                    not pd.api.types.is_bool_dtype(frame[column].dtype):
                # the bulk of a big workbook: numbers, written without per-cell dispatch
                fmt, write = self.fmt(spec.kind), ws.write_number
                for i, value in enumerate(values, start=1):
                    if value is not None:
                        write(i, j, value, fmt)
            elif all(type(v) is str and v for v in values):
                # ids and names: text only, written without per-cell dispatch
                fmt, write = self.fmt(spec.kind), ws.write_string
                for i, value in enumerate(values, start=1):
                    write(i, j, value, fmt)
            else:
                fmt = self.fmt(spec.kind)
                for i, value in enumerate(values, start=1):
                    _put(ws, i, j, value, fmt)
            width = _width(spec.header, values, spec.kind)
            ws.set_column(j, j, width)
            lines = max(lines, math.ceil(len(spec.header) / max(width - 2, 1)))
        ws.set_row(0, 15 * min(lines, 4))  # Excel does not grow a wrapped header by itself
        ws.freeze_panes(1, 0)
        if len(frame.columns):
            ws.autofilter(0, 0, max(len(frame), 1), len(frame.columns) - 1)
        return ws

    def close(self) -> None:
        self.wb.close()


def _atomic_write(path: str | Path, write: Callable[[str], None], *,
                  protect: Iterable[str | Path] = ()) -> Path:
    """Run ``write(temp_path)`` and move the file into place; OutputError on any failure.

    ``protect`` lists files that must never be overwritten (the input workbook).
    """
    from xlsxwriter.exceptions import FileCreateError

    path = Path(path)
    target = path.resolve()
    for keep in protect:
        if keep and Path(keep).resolve() == target:
            raise OutputError(f"refusing to overwrite the input workbook {path}; "
                              "choose another output path with -o")
    if path.suffix.lower() != ".xlsx":
        raise OutputError(f"output file must end in .xlsx, got {path}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder {path.parent}: {exc.strerror}") from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx.tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot write in the folder {path.parent}: "
                          f"{(exc.strerror or str(exc)).lower()}; choose a folder you can write "
                          "to with -o") from None
    locked = (f"cannot write {path}: permission denied. Is it open in Excel? Close it, or "
              "choose another path with -o")
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it normal rights
        os.replace(tmp, path)
    except PermissionError:
        raise OutputError(locked) from None
    except FileCreateError as exc:  # XlsxWriter's wrapper of the OSError of its final write
        cause = exc.__context__ if isinstance(exc.__context__, OSError) else None
        if isinstance(cause, PermissionError):
            raise OutputError(locked) from None
        raise OutputError(f"cannot write {path}: {cause.strerror if cause else exc}") from None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _write_book(path: str | Path, fill: Callable[[Book], None], *, currency: str = "USD",
                protect: Iterable[str | Path] = ()) -> Path:
    def write(tmp: str) -> None:
        book = Book(tmp, currency)
        fill(book)
        book.close()

    return _atomic_write(path, write, protect=protect)


def save_workbook(frames: Iterable[tuple[str, pd.DataFrame]], path: str | Path, *,
                  protect: Iterable[str | Path] = (), extra=None) -> Path:
    """Write ``(sheet name, frame)`` pairs with openpyxl, atomically; ``extra(wb)`` may add more.

    Kept for workbooks that need openpyxl features (the input template's comments and
    dropdowns); result workbooks go through XlsxWriter.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    def write(tmp: str) -> None:
        wb = Workbook()
        wb.remove(wb.active)
        for name, frame in frames:
            ws = wb.create_sheet(name[:MAX_SHEET_NAME])
            ws.append([str(c) for c in frame.columns])
            for cell in ws[1]:
                cell.font = Font(bold=True)
            for row in frame.itertuples(index=False, name=None):
                ws.append([_cell_value(v) for v in row])
        if extra is not None:
            extra(wb)
        wb.save(tmp)

    return _atomic_write(path, write, protect=protect)


# --- result workbook: tables ---------------------------------------------------------------

BALANCES = ("mine_dispatch", "mixed_balance", "product_balance")
"""Material balances: their duals are values of material, not limits a planner can move."""

KEYS = {
    # constraint families and variables -> the names of their index positions
    "mine_capacity": ("mine", "period"), "mine_dispatch": ("mine", "period"),
    "cracking_capacity": ("plant", "period"), "mixed_balance": ("mine", "period"),
    "separation_capacity": ("plant", "period"),
    "product_line_cap": ("plant", "product", "period"),
    "product_balance": ("product", "period"), "storage_capacity": ("product", "period"),
    "demand_max": ("customer", "product", "period"),
    "demand_min": ("customer", "product", "period"),
    "export_cap": ("product", "period"), "thorium_storage": ("period",),
    "export_cap_non_treaty": ("product", "period"), "customer_cap": ("customer", "product", "period"),
    "mine_t": ("mine", "period"), "crack_t": ("mine", "plant", "period"),
    "mixed_sale_t": ("mine", "customer", "period"), "separate_t": ("mine", "plant", "period"),
    "sale_t": ("customer", "product", "period"), "dispose_t": ("product", "period"),
    "stock_t": ("product", "period"), "shortfall_t": ("customer", "product", "period"),
    "reserve_min": ("product", "period"), "reserve_shortfall_t": ("product", "period"),
    "obligation_min": ("obligation", "period"), "obligation_shortfall_t": ("obligation", "period"),
}
INDEX_COLUMNS = ("period", "mine", "plant", "customer", "product", "obligation", "entity")
"""Index columns of the sensitivity sheets; a family not in KEYS puts its ids in ``entity``."""


def _split_index(names: Sequence[str], keys: Sequence[tuple] | None,
                 index: Sequence[str]) -> pd.DataFrame:
    """The index of each row as columns (period, mine, plant, customer, product)."""
    if keys is None or len(keys) != len(names):
        keys = [tuple(s.split(", ")) if s else () for s in index]
    out = {c: [None] * len(names) for c in INDEX_COLUMNS}
    for i, (name, idx) in enumerate(zip(names, keys)):
        fields = KEYS.get(name)
        if fields is None:  # a new family: its period last (as in every family), ids together
            out["period"][i] = idx[-1] if idx else None
            out["entity"][i] = ", ".join(map(str, idx[:-1])) or None
            continue
        for field, value in zip(fields, idx):
            out[field][i] = value
    frame = pd.DataFrame(out)
    return frame[[c for c in INDEX_COLUMNS if frame[c].notna().any()] or ["period"]]


def sensitivity_tables(result: Result) -> dict[str, pd.DataFrame]:
    """constraints / balances / variables in Excel Solver's order, index split into columns."""
    out: dict[str, pd.DataFrame] = {}
    lp = result.lp
    cons = result.tables.get("constraints")
    if cons is not None:
        keys = [k for _, k in lp.row_keys] if lp is not None else None
        split = _split_index(list(cons["family"]), keys, list(cons["index"]))
        excel = ["source", "name", "activity", "dual", "rhs", "allowable_increase",
                 "allowable_decrease"]
        table = cons.assign(name=cons["family"] + "[" + cons["index"] + "]")
        table = pd.concat([table[[c for c in excel if c in table]], table[["family"]],
                           split, table[["sense", "slack", "binding", "meaning"]]], axis=1)
        balance = table["family"].isin(BALANCES)
        out["constraints"] = table[~balance].reset_index(drop=True)
        out["balances"] = table[balance].reset_index(drop=True)
    var = result.tables.get("variables")
    if var is not None:
        keys = [k for _, k in lp.col_keys] if lp is not None else None
        split = _split_index(list(var["variable"]), keys, list(var["index"]))
        table = var.assign(name=var["variable"] + "[" + var["index"] + "]")
        excel = ["name", "value", "reduced_cost", "objective_coef", "allowable_increase",
                 "allowable_decrease"]
        out["variables"] = pd.concat([table[[c for c in excel if c in table]],
                                      table[["variable"]], split], axis=1)
        if lp is not None and result.solution is not None:
            from .limits import limits

            lim = limits(lp, result.solution)
            lim.insert(0, "name", lim["variable"] + "[" + lim["index"] + "]")
            out["limits"] = pd.concat([lim.drop(columns=["variable", "index"]),
                                       lim[["variable"]], split], axis=1)
    return out


def drop_silent_rows(allocation: pd.DataFrame) -> pd.DataFrame:
    """Allocation without the (customer, product) lines that are 0 t in every period."""
    if allocation.empty:
        return allocation
    sold = allocation["tonnes"].abs() > 1e-9
    moved = sold.groupby([allocation["customer"], allocation["product"]]).transform("any")
    return allocation[moved.astype(bool)].reset_index(drop=True)


def _summary_kind(key: str, unit: str, currency: str) -> str | None:
    if key.endswith("_share"):
        return "share"
    if key.endswith("_pct"):
        return "pct"
    if key.endswith("_seconds"):
        return "seconds"
    if unit.startswith(currency):
        return "money"
    if unit.startswith("t"):
        return "ratio" if "/t" in unit else "t"  # t/t REO is a grade, not tonnes
    return None


def _row_kinds(keys: Iterable, units: Iterable, currency: str) -> list[str | None]:
    return [_summary_kind(str(k), "" if u is None or (isinstance(u, float) and math.isnan(u))
                          else str(u), currency) for k, u in zip(keys, units)]


def _write_summary(book: Book, summary: pd.DataFrame) -> None:
    """The key/value/unit summary, each value formatted by its unit."""
    units = summary["unit"] if "unit" in summary else [""] * len(summary)
    book.table("summary", summary, raw=True, per_row=["value"],
               row_kinds=_row_kinds(summary["key"], units, book.currency))


# --- result workbook: charts ---------------------------------------------------------------

def _pivot(frame: pd.DataFrame, index: str, columns: str, values: str,
           order: list[str]) -> pd.DataFrame:
    table = frame.pivot_table(index=index, columns=columns, values=values, aggfunc="sum",
                              fill_value=0.0, sort=True)
    table = table.reindex([p for p in order if p in table.index])
    table.columns = [str(c) for c in table.columns]
    return table.reset_index()


MAX_CHART_SERIES = 40
"""Most customers drawn one by one in the NdPr chart; the rest are one 'other' series."""


def chart_data(result: Result) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(NdPr tonnes by period x customer, plant utilisation by period x plant).

    NdPr leaving inside MRECL (the treaty route) counts as NdPr allocated to its buyer.
    """
    from .report import mrecl_ndpr, ndpr_product
    from .schema import MRECL

    inputs = result.inputs
    P = inputs.params
    periods = P.PERIODS
    alloc = result.tables["allocation"]
    ndpr = ndpr_product(P)
    rows = alloc[alloc["product"] == ndpr][["period", "customer", "tonnes"]]
    if ndpr is not None and (alloc["product"] == MRECL).any():
        content = mrecl_ndpr(inputs, result.lp, result.solution)
        rows = pd.concat([rows, content.rename(columns={"ndpr_t": "tonnes"})[
            ["period", "customer", "tonnes"]]], ignore_index=True)
    ndpr_table = _pivot(rows, "period", "customer", "tonnes", periods) if not rows.empty \
        else pd.DataFrame({"period": periods})
    ndpr_table = ndpr_table[["period", *[c for c in ndpr_table.columns[1:]
                                         if ndpr_table[c].abs().sum() > 1e-9]]]
    if ndpr_table.shape[1] - 1 > MAX_CHART_SERIES:  # Excel charts hold at most 255 series
        totals = ndpr_table.iloc[:, 1:].sum().sort_values(ascending=False, kind="stable")
        keep, rest = list(totals.index[:MAX_CHART_SERIES - 1]), list(totals.index[MAX_CHART_SERIES - 1:])
        ndpr_table = ndpr_table[["period", *keep]].assign(
            **{f"{len(rest)} other customers": ndpr_table[rest].sum(axis=1)})
    proc = result.tables["processing"]
    util = _pivot(proc, "period", "plant", "utilisation", periods) if not proc.empty \
        else pd.DataFrame({"period": periods})
    return ndpr_table, util


@dataclass
class Block:
    """A table written on the chart-data sheet: where its header and rows are."""

    sheet: str
    header_row: int
    n: int
    columns: list[str]

    def column(self, col: int) -> list:
        """The data cells of a column, as XlsxWriter's [sheet, first row, col, last row, col]."""
        return [self.sheet, self.header_row + 1, col, self.header_row + self.n, col]

    def name(self, col: int) -> list:
        return [self.sheet, self.header_row, col]


class ChartData:
    """Writes the tables behind the charts, one block under the other, on one sheet."""

    def __init__(self, book: Book, name: str = "chart_data"):
        self.book, self.name = book, name
        self.ws = book.wb.add_worksheet(name)
        self.row = 0
        self.ws.set_column(0, 0, 34)
        self.ws.set_column(1, 30, 14)

    def add(self, title: str, frame: pd.DataFrame, kind: str | None) -> Block:
        ws, book = self.ws, self.book
        ws.write_string(self.row, 0, title, book.fmt("title"))
        header = self.row + 1
        for j, column in enumerate(frame.columns):
            ws.write_string(header, j, str(column), book.fmt("header"))
            fmt = book.fmt(kind) if j else None
            for i, value in enumerate(_column_values(frame[column]), start=header + 1):
                _put(ws, i, j, value, fmt)
        self.row = header + len(frame) + 3
        return Block(self.name, header, len(frame), [str(c) for c in frame.columns])


PALETTE = ["#1F4E79", "#C55A11", "#548235", "#7F6000", "#7030A0", "#2E75B6", "#BF9000",
           "#A9D18E", "#F4B183", "#8FAADC"]


def _chart(book: Book, kind: str, title: str, x_title: str, y_title: str, *,
           subtype: str | None = None, y_format: str = "#,##0"):
    chart = book.wb.add_chart({"type": kind, **({"subtype": subtype} if subtype else {})})
    chart.set_title({"name": title, "name_font": {"size": 12, "bold": True}})
    categories = {"name": x_title, "visible": True}
    values = {"name": y_title, "num_format": y_format, "visible": True,
              "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}}
    # XlsxWriter's x axis of a bar chart is the horizontal (value) axis.
    chart.set_x_axis(values if kind == "bar" else categories)
    chart.set_y_axis(categories if kind == "bar" else values)
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 620, "height": 340})
    return chart


def _series(chart, block: Block, col: int, n: int, **extra) -> None:
    colour = PALETTE[n % len(PALETTE)]
    style = {"line": {"color": colour, "width": 2.25}, "marker": {"type": "circle", "size": 5,
             "border": {"color": colour}, "fill": {"color": colour}}} \
        if extra.pop("line", False) else {"fill": {"color": colour}, "border": {"none": True}}
    chart.add_series({"name": block.name(col), "categories": block.column(0),
                      "values": block.column(col), **style, **extra})


def _stacked(book: Book, block: Block, title: str, y_title: str, x_title: str = "period"):
    chart = _chart(book, "column", title, x_title, y_title, subtype="stacked")
    for j in range(1, len(block.columns)):
        _series(chart, block, j, j - 1, gap=60)
    return chart


def _lines(book: Book, block: Block, title: str, y_title: str, y_format: str,
           x_title: str = "period"):
    chart = _chart(book, "line", title, x_title, y_title, y_format=y_format)
    for j in range(1, len(block.columns)):
        _series(chart, block, j, j - 1, line=True)
    chart.set_y_axis({"name": y_title, "num_format": y_format, "min": 0,
                      "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    return chart


def _bars_with_lines(book: Book, block: Block, title: str, y_title: str, bars: int):
    """Columns for the first ``bars`` series, lines (min, max, capacity) for the rest."""
    chart = _chart(book, "column", title, "period", y_title)
    for j in range(1, 1 + bars):
        _series(chart, block, j, j - 1, gap=80)
    if len(block.columns) > 1 + bars:
        line = book.wb.add_chart({"type": "line"})
        for j in range(1 + bars, len(block.columns)):
            _series(line, block, j, j, line=True)
        chart.combine(line)
    return chart


WATERFALL = ["part", "value", "base", "increase", "decrease", "total", "increase below 0",
             "decrease below 0"]


def waterfall_frame(summary: pd.DataFrame) -> pd.DataFrame:
    """The objective's present-value parts as a waterfall of stacked columns.

    Parts are the summary's ``*_pv`` rows in order; zero parts are left out; the last bar
    is the objective. Each part's bar spans from the running total before it to the one
    after it. Excel stacks positive values up from zero and negative ones down, so a bar
    is an invisible ``base`` (from zero to the bar's end nearest zero) plus the bar itself,
    and a bar that crosses zero is split into its part above and its part below zero.
    """
    parts = [(str(k)[:-3].replace("_", " "), float(v)) for k, v in zip(summary["key"],
             summary["value"]) if str(k).endswith("_pv") and isinstance(v, (int, float))
             and not isinstance(v, bool) and abs(float(v)) >= 0.5]
    rows, total = [], 0.0
    for name, value in parts:
        low, high = sorted((total, total + value))
        if low >= 0:
            base, above, below = low, high - low, 0.0
        elif high <= 0:
            base, above, below = high, 0.0, low - high
        else:
            base, above, below = 0.0, high, low
        up = value > 0
        rows.append((name, value, base, above if up else 0.0, 0.0 if up else above, 0.0,
                     below if up else 0.0, 0.0 if up else below))
        total += value
    rows.append(("objective", total, 0.0, 0.0, 0.0, total, 0.0, 0.0))
    return pd.DataFrame(rows, columns=WATERFALL)


def _waterfall(book: Book, block: Block, currency: str):
    chart = _chart(book, "column", "Objective: present-value parts", "part of the objective",
                   f"{currency} (present value)", subtype="stacked", y_format="#,##0,,\"M\"")
    colours = {"increase": "#548235", "decrease": "#C00000", "total": "#1F4E79"}
    for j in range(2, len(WATERFALL)):  # column 1 (value) is for reading, not drawing
        kind = WATERFALL[j].split()[0]
        fill = {"color": colours[kind]} if kind in colours else {"none": True}
        chart.add_series({"name": block.name(j), "categories": block.column(0),
                          "values": block.column(j), "fill": fill, "border": {"none": True},
                          "gap": 50})
    # Only increase, decrease and total in the legend: the base and the below-zero halves
    # are drawing aids.
    chart.set_legend({"position": "bottom", "delete_series": [0, 4, 5]})
    return chart


def top_duals(constraints: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` binding business constraints with the largest |dual| (balances excluded)."""
    cons = constraints[(~constraints["family"].isin(BALANCES))
                       & (constraints["binding"] == "yes") & (constraints["dual"].abs() > 1e-7)]
    top = cons.assign(size=cons["dual"].abs().round(6)).sort_values(
        ["size"], ascending=False, kind="stable").head(n)
    frame = pd.DataFrame({"constraint": top["family"] + "[" + top["index"] + "]",
                          "shadow price": top["dual"]})
    return frame.iloc[::-1].reset_index(drop=True)  # bar charts draw the first row lowest


def _result_charts(book: Book, result: Result, charts_ws) -> None:
    """Fill the charts sheet (charts only) and write the chart_data sheet behind it."""
    tables, cur = result.tables, book.currency
    charts_ws.write_string(0, 0, "Charts of the result (the numbers behind them are on the "
                           "chart_data sheet)", book.fmt("title"))
    charts_ws.hide_gridlines(2)
    pending: list[Callable[[ChartData], Any]] = []
    ndpr, util = chart_data(result)
    if ndpr.shape[1] > 1:  # a chart needs a series: no NdPr, no NdPr chart
        pending.append(lambda d: _stacked(book, d.add(
            "NdPr by destination (t; NdPr inside MRECL counted for its buyer)", ndpr, "t"),
            "NdPr by destination per period", "t NdPr"))
    if util.shape[1] > 1:
        pending.append(lambda d: _lines(book, d.add("Plant utilisation (input / capacity)",
                                                    util, "share"),
                                        "Plant utilisation per period", "utilisation", "0%"))
    treaty = tables.get("treaty", pd.DataFrame())
    if "obligation" in treaty.columns:  # obligation rows have no min/max of their own to chart
        treaty = treaty[treaty["obligation"].isna()]
    for (k, q), rows in list(treaty.groupby(["customer", "product"], sort=False))[:3]:
        frame = pd.DataFrame({"period": rows["period"], "delivered": rows["delivered_t"],
                              "committed min": rows["committed_min_t"],
                              "committed max": rows["committed_max_t"]})
        frame = frame.dropna(axis=1, how="all")
        pending.append(lambda d, f=frame, k=k, q=q: _bars_with_lines(
            book, d.add(f"Treaty {k} {q}: delivered against min/max (t)", f, "t"),
            f"Treaty {k}: {q} delivered against min and max", f"t {q}", bars=1))
    inv = tables.get("inventory", pd.DataFrame())
    if not inv.empty:
        # Products of interest: those stocked, or with a reserve target (when the model has one).
        levels = inv[[c for c in ("closing_t", "reserve_t") if c in inv]].fillna(0.0).max(axis=1)
        peak = levels.groupby(inv["product"]).max()
        for p in list(peak[peak > 0.5].sort_values(ascending=False).index)[:3]:
            rows = inv[inv["product"] == p]
            frame = pd.DataFrame({"period": rows["period"], "closing stock": rows["closing_t"],
                                  "reserve": rows.get("reserve_t"),
                                  "storage capacity": rows["storage_capacity_t"]})
            frame = frame.dropna(axis=1, how="all")
            against = " and ".join(c for c in ("reserve", "storage capacity") if c in frame)
            pending.append(lambda d, f=frame, p=p, a=against or "storage capacity":
                           _bars_with_lines(book, d.add(f"{p} stock against {a} (t)", f, "t"),
                                            f"{p} stock (end of period) against {a}", f"t {p}",
                                            bars=1))
    wf = waterfall_frame(tables["summary"])
    pending.append(lambda d: _waterfall(book, d.add(
        f"Objective waterfall ({cur}, present value)", wf, "money"), cur))
    cons = tables.get("constraints")
    if cons is not None and not cons.empty:
        duals = top_duals(cons)
        if not duals.empty:
            def shadow(d: ChartData):
                block = d.add(f"Largest shadow prices ({cur}/t, present value)", duals, "money")
                chart = _chart(book, "bar", "Largest shadow prices (binding constraints)",
                               f"{cur} per unit of right-hand side (present value)", "")
                _series(chart, block, 1, 0, gap=40)
                chart.set_legend({"none": True})
                chart.set_size({"width": 620, "height": 400})
                return chart
            pending.append(shadow)
    data = ChartData(book)
    _grid(charts_ws, [make(data) for make in pending])


def _grid(ws, charts: list, *, first_row: int = 2, columns: int = 2) -> None:
    for n, chart in enumerate(charts):
        ws.insert_chart(first_row + (n // columns) * 22, 1 + (n % columns) * 11, chart)


# --- result workbook: vs_base ------------------------------------------------------------

def changed_cells(base, changed) -> pd.DataFrame:
    """Every input cell whose value differs between two ModelInputs (after period expansion)."""
    from .excel import ROW
    from .schema import SHEET_BY_NAME

    rows = []
    for sheet, after in changed.frames.items():
        before = base.frames.get(sheet)
        if before is None or sheet == "scenarios":
            continue
        spec = SHEET_BY_NAME.get(sheet)
        keys = [c for c in ((*spec.keys, "period") if spec and spec.per_period else
                            (spec.keys if spec else ())) if c in after.columns]

        old, new = _keyed(before, keys), _keyed(after, keys)
        for key, record in new.items():
            prev = old.get(key)
            for column, value in record.items():
                if column == ROW or column in keys:
                    continue
                was = None if prev is None else prev.get(column)
                if not _same(was, value):
                    row = record.get(ROW) if prev is None else prev.get(ROW)
                    rows.append({"sheet": sheet,
                                 "cell": changed.cell(sheet, row, column) if row
                                 else f"{sheet} (new row)",
                                 "column": column, "key": ", ".join(map(str, key)),
                                 "base": was, "scenario_value": value})
    return pd.DataFrame(rows, columns=["sheet", "cell", "column", "key", "base",
                                       "scenario_value"])


def _keyed(frame: pd.DataFrame, keys: list[str]) -> dict[tuple, dict]:
    """Records by key (the row position where a sheet has no key columns)."""
    return {tuple(r[k] for k in keys) if keys else (i,): r
            for i, r in enumerate(frame.to_dict("records"))}


def _same(a, b) -> bool:
    blank_a = a is None or (isinstance(a, float) and math.isnan(a))
    blank_b = b is None or (isinstance(b, float) and math.isnan(b))
    if blank_a or blank_b:
        return blank_a and blank_b
    return a == b


TOTAL_TABLES = ("allocation", "mining", "processing", "production", "inventory", "disposal",
                "shortfalls", "treaty")


def _numeric(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, np.number)):
        value = float(value)
        return None if math.isnan(value) else value
    return None


def vs_base_table(result: Result, base: Result) -> pd.DataFrame:
    """Input cells changed, then summary KPIs and table totals: base, scenario, difference."""
    cells = changed_cells(base.inputs, result.inputs)
    from .schema import SHEET_BY_NAME

    def unit(sheet: str, column: str) -> str:
        try:
            return SHEET_BY_NAME[sheet].column(column).unit.replace("currency", book_currency)
        except KeyError:
            return ""

    book_currency = str(result.inputs.settings.get("currency", "USD"))
    rows = [{"what": "input cell", "item": f"{r.sheet}.{r.column} [{r.key}]", "cell": r.cell,
             "unit": unit(r.sheet, r.column), "base": _cell_value(r.base),
             "scenario_value": _cell_value(r.scenario_value)} for r in cells.itertuples()]
    skip = {"solve_seconds", "build_seconds", "simplex_iterations"}
    ours = dict(zip(result.tables["summary"]["key"], result.tables["summary"]["value"]))
    summary = base.tables["summary"]
    for key, value, unit in zip(summary["key"], summary["value"], summary["unit"]):
        if key in skip or key == "warning" or (_numeric(value) is None and key != "status"):
            continue
        rows.append({"what": "summary", "item": key, "cell": "", "unit": unit or "",
                     "base": _cell_value(value), "scenario_value": _cell_value(ours.get(key))})
    for name in TOTAL_TABLES:
        before, after = base.tables.get(name), result.tables.get(name)
        if before is None:
            continue
        for column in before.columns:
            if column == "tonnes" or (str(column).endswith("_t")
                                      and not str(column).endswith("_per_t")):
                total = float(pd.to_numeric(before[column], errors="coerce").sum())
                now = (float(pd.to_numeric(after[column], errors="coerce").sum())
                       if after is not None and column in after else None)
                rows.append({"what": "table total", "item": f"{name}.{column}", "cell": "",
                             "unit": "t", "base": total, "scenario_value": now})
    frame = pd.DataFrame(rows, columns=["what", "item", "cell", "unit", "base", "scenario_value"])
    frame["difference"] = [s - b if _numeric(b) is not None and _numeric(s) is not None else None
                           for b, s in zip(frame["base"], frame["scenario_value"])]
    return frame


# --- result workbook -----------------------------------------------------------------------

ORDER = ["infeasibility", "allocation", "treaty", "shortfalls", "mining", "processing",
         "production", "inventory", "disposal", "constraints", "balances", "variables",
         "limits"]


RAW_SHEETS = ("summary", "run_info", "infeasibility")
"""Sheets written with their tidy column names (key/value tables, read back by tools)."""


def presented_tables(result: Result) -> dict[str, pd.DataFrame]:
    """The table sheets of the result workbook, in order, before headers are mapped.

    The report's tables, with the allocation's silent lines dropped and the sensitivity
    report in Excel Solver's layout (constraints, balances, variables, limits).
    """
    tables = dict(result.tables)
    if "allocation" in tables:
        tables["allocation"] = drop_silent_rows(tables["allocation"])
    if result.optimal:
        tables.update(sensitivity_tables(result))
    first = [n for n in ("summary",) if n in tables]
    last = [n for n in ("run_info",) if n in tables]
    middle = [n for n in ORDER if n in tables] + sorted(
        n for n in tables if n not in ORDER and n not in (*first, *last))
    return {n: tables[n] for n in (*first, *middle, *last)}


def write_results(result: Result, path: str | Path) -> Path:
    """Write a :class:`~optimizer.run.Result` as the result workbook.

    Sheets: summary, charts, vs_base (a scenario or ``--set`` run solved with its base
    case), the result tables, the sensitivity report (constraints, balances, variables,
    limits), chart_data and run_info.
    """
    tables = presented_tables(result)
    currency = str(result.inputs.settings.get("currency", "USD")) if result.inputs else "USD"
    base = getattr(result, "base", None)
    protect = [result.inputs.path] if result.inputs is not None and result.inputs.path else []

    def fill(book: Book) -> None:
        rest = dict(tables)
        summary, run_info = rest.pop("summary", None), rest.pop("run_info", None)
        if summary is not None:
            _write_summary(book, summary)
        # The charts sheet comes right after summary; its numbers (chart_data) go last.
        charts = book.wb.add_worksheet("charts") if result.optimal else None
        if base is not None:
            vs = vs_base_table(result, base)
            book.table("vs_base", vs, per_row=["base", "scenario_value", "difference"],
                       row_kinds=_row_kinds(vs["item"], vs["unit"], book.currency))
        for name, frame in rest.items():
            book.table(name, frame, raw=name in RAW_SHEETS)
        if charts is not None:
            _result_charts(book, result, charts)
        if run_info is not None:
            book.table("run_info", run_info, raw=True)

    return _write_book(path, fill, currency=currency, protect=protect)


# --- comparison workbook -------------------------------------------------------------------

COMPARED = ("objective", "revenue_pv", "penalties_pv", "domestic_ndpr_share",
            "treaty_fulfilment_pct", "treaty_shortfall_t")
KPI_ALL = ("status", "objective", "revenue_pv", "policy_value_pv", "penalties_pv",
           "domestic_ndpr_share", "treaty_fulfilment_pct", "treaty_shortfall_t", "binding",
           "path", "iterations", "seconds", "explanation")
MAX_DETAIL_SCENARIOS = 20
"""Per-scenario allocation and treaty tables re-solve each scenario; only this many."""
MAX_BAR_SCENARIOS = 60
"""A bar per scenario reads up to about this many rows (a 1,000-row bar chart is 22,000
pixels tall); a bigger run is read from its line charts or heat maps and the results sheet."""


def versus_base(frame: pd.DataFrame, label_cols: list[str]) -> pd.DataFrame:
    """Scenarios side by side with the base (first row): each KPI and its difference."""
    base = frame.iloc[0]
    out = frame[["scenario", *label_cols, "status"]].copy()
    for kpi in COMPARED:
        values = pd.to_numeric(frame[kpi], errors="coerce")
        out[kpi] = values
        out[f"{kpi}_vs_base"] = values - (pd.to_numeric(pd.Series([base[kpi]]),
                                                        errors="coerce").iloc[0])
    return out


def _value_text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "blank"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _axis_changes(axes: Sequence, row) -> list:
    from .changes import Change

    changes = []
    for path, mode, _ in axes:
        key = path + ("" if mode == "set" else f" ({mode})")
        value = row.get(key)
        value = None if isinstance(value, float) and math.isnan(value) else value
        changes.append(Change(path, value, mode, f"--{mode} {path}"))
    return changes


def label_rows(frame: pd.DataFrame, axes: Sequence, inputs=None) -> pd.DataFrame:
    """Name sweep rows by their changes (not s1..sN); add the scenarios' descriptions."""
    frame = frame.copy()
    if axes:
        word = {"set": "=", "scale": "×", "add": "+"}
        parts = []
        for path, mode, _ in axes:  # column by column: a sweep may have 10,000 rows
            key = path + ("" if mode == "set" else f" ({mode})")
            values = frame[key].iloc[1:].tolist() if key in frame else [None] * (len(frame) - 1)
            parts.append([f"{path} {word.get(mode, '=')} {_value_text(v)}" for v in values])
        frame["scenario"] = ["base", *("; ".join(names) for names in zip(*parts))]
    elif inputs is not None and "description" in inputs.frames.get("scenarios", pd.DataFrame()):
        sheet = inputs.frames["scenarios"]
        described = sheet[sheet["description"].notna() & (sheet["description"] != "")]
        first = dict(zip(described["scenario"][::-1], described["description"][::-1]))
        frame.insert(1, "description", [first.get(n, "") if n != "base" else "the input as is"
                                        for n in frame["scenario"]])
    return frame


def scenario_details(frame: pd.DataFrame, inputs, axes: Sequence, *, strict: bool | None,
                     limit: int = MAX_DETAIL_SCENARIOS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Allocation and treaty of each scenario (long, with a ``scenario`` column).

    Each optimal scenario is built and solved again from its changes (no sensitivity, no
    summary: about 0.15 s each on the base case), the first ``limit`` only; ``frame`` must
    still have the scenario names of the run.
    """
    from .changes import apply_changes, scenario_changes
    from .highs import new_highs, run_highs
    from .model import build_lp
    from .report import build_tables

    alloc, treaty = [], []
    labelled = label_rows(frame, axes)
    for n, row in enumerate(frame.iloc[:limit + 1].to_dict("records")):
        if row.get("status") != "optimal":
            continue
        name = labelled["scenario"].iloc[n]
        try:
            if n == 0:
                changes = []
            elif axes:
                changes = _axis_changes(axes, row)
            else:
                changes = scenario_changes(inputs, row["scenario"])
            changed = apply_changes(inputs, changes)
            lp = build_lp(changed, strict=strict)
            sol = run_highs(new_highs(lp))
        except IrelError:
            continue
        if sol.status != "optimal":
            continue
        tables = build_tables(changed, lp, sol)
        alloc.append(drop_silent_rows(tables["allocation"]).assign(scenario=name))
        treaty.append(tables["treaty"].assign(scenario=name))

    def long(parts: list[pd.DataFrame]) -> pd.DataFrame:
        if not parts:
            return pd.DataFrame({"scenario": []})
        out = pd.concat(parts, ignore_index=True)
        return out[["scenario", *[c for c in out.columns if c != "scenario"]]]

    return long(alloc), long(treaty)


def _heatmaps(book: Book, ws, frame: pd.DataFrame, labels: list[str]) -> int:
    """Colour-scaled KPI tables (rows = first axis, columns = second); returns the next row.

    Rows and columns in order of first appearance; a combination given twice (a zipped
    sweep) shows its first number.
    """
    runs = frame.iloc[1:]
    # a blank value (e.g. never approved) is a value too
    down, across = ([_value_text(v) for v in runs[label]] for label in labels)
    row_ids, col_ids = list(dict.fromkeys(down)), list(dict.fromkeys(across))
    row = 0
    for kpi in ("objective", "domestic_ndpr_share", "treaty_fulfilment_pct"):
        cells: dict[tuple[str, str], float] = {}
        for a, b, v in zip(down, across, _column_values(pd.to_numeric(runs[kpi], errors="coerce"))):
            if cells.get((a, b)) is None:
                cells[a, b] = v
        fmt = book.fmt(column_spec("", kpi).kind)
        ws.write_string(row, 0, f"{kpi}: rows = {labels[0]}; columns = {labels[1]}",
                        book.fmt("title"))
        for j, column in enumerate([labels[0], *col_ids]):
            ws.write_string(row + 1, j, column, book.fmt("header"))
        for i, a in enumerate(row_ids, start=row + 2):
            _put(ws, i, 0, a)
            for j, b in enumerate(col_ids, start=1):
                _put(ws, i, j, cells.get((a, b)), fmt)
        if col_ids and row_ids:
            ws.conditional_format(row + 2, 1, row + 1 + len(row_ids), len(col_ids),
                                  {"type": "3_color_scale", "min_color": "#F8696B",
                                   "mid_color": "#FFEB84", "max_color": "#63BE7B"})
        row += len(row_ids) + 4
    ws.set_column(0, 0, 30)
    ws.set_column(1, 40, 14)
    return row


def _comparison_charts(book: Book, frame: pd.DataFrame, labels: list[str], axes: Sequence,
                       results_name: str = "results") -> None:
    """charts (KPI against a 1-D sweep; scenario bars) or heatmaps (2-D) with scenario bars;
    the bars only for runs of at most :data:`MAX_BAR_SCENARIOS` scenarios."""
    n = len(frame)
    col = {c: j for j, c in enumerate(frame.columns)}
    cur = book.currency
    charts = []
    first_row = 2
    if len(axes) == 2 and len(labels) == 2:
        ws = book.wb.add_worksheet("heatmaps")
        first_row = _heatmaps(book, ws, frame, labels) + 1
        anchor_col, note_row = 0, first_row - 1
    else:
        ws = book.wb.add_worksheet("charts")
        ws.write_string(0, 0, "Scenarios compared (the numbers are on the results sheet)",
                        book.fmt("title"))
        anchor_col, note_row = 1, 1
    if len(axes) == 1 and len(labels) == 1:
        x = col[labels[0]]
        for kpi, title, fmt in (("objective", f"Objective ({cur}, present value)", "#,##0"),
                                ("domestic_ndpr_share", "Domestic NdPr share", "0%"),
                                ("treaty_fulfilment_pct", "Treaty fulfilment (%)", "0")):
            chart = _chart(book, "line", f"{title} against {labels[0]}", labels[0], title,
                           y_format=fmt)
            chart.add_series({"name": [results_name, 0, col[kpi]],
                              "categories": [results_name, 2, x, n, x],
                              "values": [results_name, 2, col[kpi], n, col[kpi]],
                              "line": {"color": PALETTE[0], "width": 2.25},
                              "marker": {"type": "circle", "size": 5}})
            chart.set_legend({"none": True})
            if kpi != "objective":  # shares and percentages read best from zero
                chart.set_y_axis({"name": title, "num_format": fmt, "min": 0})
            charts.append(chart)
    bars = (("objective", f"Objective per scenario ({cur}, present value)", "#,##0"),
            ("domestic_ndpr_share", "Domestic NdPr share per scenario", "0%"))
    if n - 1 > MAX_BAR_SCENARIOS:
        bars = ()
        ws.write_string(note_row, anchor_col,
                        f"No bar per scenario: more than {MAX_BAR_SCENARIOS} scenarios; sort "
                        "or filter the results sheet instead.")
    for kpi, title, fmt in bars:
        chart = _chart(book, "bar", title, "", title, y_format=fmt)
        chart.add_series({"name": [results_name, 0, col[kpi]],
                          "categories": [results_name, 1, col["scenario"], n, col["scenario"]],
                          "values": [results_name, 1, col[kpi], n, col[kpi]],
                          "fill": {"color": PALETTE[1 if kpi == "objective" else 2]}, "gap": 40})
        chart.set_legend({"none": True})
        chart.set_x_axis({"name": title, "num_format": fmt})
        chart.set_y_axis({"reverse": True})  # first scenario (base) on top
        chart.set_size({"width": 620, "height": max(300, 60 + 22 * n)})
        charts.append(chart)
    rows_per = max(22, (60 + 22 * n) // 20 + 2)
    for k, chart in enumerate(charts):
        ws.insert_chart(first_row + (k // 2) * rows_per, anchor_col + (k % 2) * 11, chart)


def write_comparison(frame: pd.DataFrame, path: str | Path, *, inputs=None, axes=(),
                     strict: bool = False, seconds: float | None = None) -> Path:
    """The comparison workbook of a sweep or scenario run.

    Sheets: results (one row per scenario, the base first, named by its changes), charts
    or heatmaps, vs_base, allocation_by_scenario, treaty_by_scenario and run_info. The
    results and vs_base sheets keep the tidy column names (other tools read them back).
    """
    from .run import table_hash, versions

    axes = list(axes)
    label_cols = [c for c in frame.columns if c not in ("scenario", *KPI_ALL)]
    shown = label_rows(frame, axes, inputs)
    info = [("tool", "irel-alloc"), *versions(),
            ("input", inputs.source if inputs is not None else ""),
            ("input_sha256", (inputs.sha256 or "") if inputs is not None else ""),
            ("axes", "; ".join(f"{m} {p} = {v}" for p, m, v in axes)),
            ("strict", strict), ("scenarios", len(frame) - 1),
            ("statuses", ", ".join(f"{s}: {n}" for s, n in
                                   sorted(frame["status"].value_counts().items()))),
            ("results_sha256", table_hash(frame.drop(columns=["seconds"]))),
            ("wall_seconds", seconds)]
    details = None
    if inputs is not None and len(frame) - 1 <= MAX_DETAIL_SCENARIOS:
        details = scenario_details(frame, inputs, axes, strict=strict)
    elif inputs is not None:
        # Each table re-solves its scenario: for a big batch that would cost more than the
        # batch itself. One scenario's tables are one `solve --scenario` / `--set` away.
        info.append(("detail_tables", f"none: more than {MAX_DETAIL_SCENARIOS} scenarios; "
                     "irel-alloc solve --scenario NAME (or --set PATH=VALUE) gives one's tables"))
    currency = str(inputs.settings.get("currency", "USD")) if inputs is not None else "USD"
    protect = [inputs.path] if inputs is not None and inputs.path else []

    def fill(book: Book) -> None:
        book.table("results", shown, raw=True)
        _comparison_charts(book, shown, label_cols, axes)
        book.table("vs_base", versus_base(shown, [c for c in shown.columns
                                                  if c in label_cols or c == "description"]),
                   raw=True)
        if details is not None:
            book.table("allocation_by_scenario", details[0])
            book.table("treaty_by_scenario", details[1])
        book.table("run_info", pd.DataFrame(info, columns=["key", "value"]), raw=True)

    return _write_book(path, fill, currency=currency, protect=protect)
