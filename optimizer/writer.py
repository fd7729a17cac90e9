"""Writing workbooks: result tables -> an .xlsx with Excel-native charts, written atomically.

The file is first written next to its destination under a temporary name and then moved
into place, so a crash never leaves a half-written workbook; the input workbook is never
overwritten.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .errors import OutputError

if TYPE_CHECKING:  # pragma: no cover
    from .run import Result

MAX_SHEET_NAME = 31
EXCEL_INFINITY = 1e30
"""How Excel Solver writes "unlimited" in its Sensitivity report."""


def _cell_value(value):
    """openpyxl-safe cell value: NaN/None -> empty, numpy scalars -> Python, bools kept."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value)):
        return None
    if isinstance(value, float) and math.isinf(value):
        return EXCEL_INFINITY if value > 0 else -EXCEL_INFINITY
    return value


def _number_format(column: str) -> str | None:
    if column == "utilisation" or column.endswith("_share") or column == "share":
        return "0.0%"
    if column.endswith("_t") or column in ("tonnes", "activity", "rhs", "slack"):
        return "#,##0.00"
    if column in ("revenue", "price", "cost", "penalty", "dual", "value", "objective"):
        return "#,##0.00"
    return None


def write_frame(ws, frame: pd.DataFrame, *, start_row: int = 1, start_col: int = 1,
                number_format: str | None = None) -> None:
    """Write a DataFrame as a tidy table: bold header, frozen header row, sized columns.

    ``number_format`` applies to every numeric cell; otherwise it follows the column name.
    """
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    columns = [str(c) for c in frame.columns]
    for j, name in enumerate(columns):
        cell = ws.cell(row=start_row, column=start_col + j, value=name)
        cell.font = bold
    for i, row in enumerate(frame.itertuples(index=False, name=None), start=start_row + 1):
        for j, value in enumerate(row):
            ws.cell(row=i, column=start_col + j, value=_cell_value(value))
    for j, name in enumerate(columns):
        letter = get_column_letter(start_col + j)
        sample = [len(str(v)) for v in frame.iloc[:200, j] if v is not None]
        width = min(60, max([len(name), *sample, 6]) + 2)
        current = ws.column_dimensions[letter].width if letter in ws.column_dimensions else 0
        ws.column_dimensions[letter].width = max(width, current or 0)
        fmt = number_format or _number_format(name)
        if fmt:
            for cell in ws[letter][start_row:start_row + len(frame)]:
                if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                    cell.number_format = fmt
    if start_row == 1:
        ws.freeze_panes = ws.cell(row=2, column=start_col)


def _pivot(frame: pd.DataFrame, index: str, columns: str, values: str,
           order: list[str]) -> pd.DataFrame:
    table = frame.pivot_table(index=index, columns=columns, values=values, aggfunc="sum",
                              fill_value=0.0, sort=True)
    table = table.reindex([p for p in order if p in table.index])
    table.columns = [str(c) for c in table.columns]
    return table.reset_index()


def chart_data(result: Result) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(NdPr tonnes by period x customer, plant utilisation by period x plant)."""
    from .report import mrecl_ndpr, ndpr_product
    from .schema import MRECL

    inputs = result.inputs
    P = inputs.params
    periods = P.PERIODS
    alloc = result.tables["allocation"]
    ndpr = ndpr_product(P)
    rows = alloc[alloc["product"] == ndpr][["period", "customer", "tonnes"]]
    if ndpr is not None and (alloc["product"] == MRECL).any():
        # NdPr leaving inside MRECL (the treaty route) counts as NdPr allocated to its buyer.
        content = mrecl_ndpr(inputs, result.lp, result.solution)
        rows = pd.concat([rows, content.rename(columns={"ndpr_t": "tonnes"})[
            ["period", "customer", "tonnes"]]], ignore_index=True)
    ndpr_table = _pivot(rows, "period", "customer", "tonnes", periods) if not rows.empty \
        else pd.DataFrame({"period": periods})
    proc = result.tables["processing"]
    util = _pivot(proc, "period", "plant", "utilisation", periods) if not proc.empty \
        else pd.DataFrame({"period": periods})
    return ndpr_table, util


def _add_charts(wb, result: Result) -> None:
    from openpyxl.chart import BarChart, LineChart, Reference

    ndpr_table, util = chart_data(result)
    ws = wb.create_sheet("charts")
    ws["A1"] = "NdPr allocation by customer (t; NdPr inside MRECL counted for its buyer)"
    write_frame(ws, ndpr_table, start_row=2, number_format="#,##0.0")
    n = len(ndpr_table)
    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title = "NdPr allocation by customer per period"
    chart.y_axis.title, chart.x_axis.title = "t NdPr", "period"
    chart.height, chart.width = 9, 18
    if ndpr_table.shape[1] > 1:
        data = Reference(ws, min_col=2, max_col=ndpr_table.shape[1], min_row=2, max_row=2 + n)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=3, max_row=2 + n))
    ws.add_chart(chart, f"{_col(ndpr_table.shape[1] + 2)}2")

    top = n + 22
    ws.cell(row=top - 1, column=1, value="Plant utilisation (input / capacity)")
    write_frame(ws, util, start_row=top, number_format="0%")
    line = LineChart()
    line.title = "Plant utilisation per period"
    line.y_axis.title, line.x_axis.title = "utilisation", "period"
    line.y_axis.number_format = "0%"
    line.height, line.width = 9, 18
    if util.shape[1] > 1:
        data = Reference(ws, min_col=2, max_col=util.shape[1], min_row=top, max_row=top + len(util))
        line.add_data(data, titles_from_data=True)
        line.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=top + len(util)))
        for series in line.series:
            series.smooth = False  # utilisation is per period, not a curve
    ws.add_chart(line, f"{_col(util.shape[1] + 2)}{top}")


def _col(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def save_workbook(frames: Iterable[tuple[str, pd.DataFrame]], path: str | Path, *,
                  protect: Iterable[str | Path] = (), extra=None) -> Path:
    """Write ``(sheet name, frame)`` pairs to ``path`` atomically; ``extra(wb)`` may add more.

    ``protect`` lists files that must never be overwritten (the input workbook).
    """
    from openpyxl import Workbook

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
    wb = Workbook()
    wb.remove(wb.active)
    for name, frame in frames:
        write_frame(wb.create_sheet(name[:MAX_SHEET_NAME]), frame)
    if extra is not None:
        extra(wb)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx.tmp", dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it normal rights
        os.replace(tmp, path)
    except PermissionError:
        raise OutputError(f"cannot write {path}: permission denied. Is it open in Excel? "
                          "Close it, or choose another path with -o") from None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_results(result: Result, path: str | Path) -> Path:
    """Write a :class:`~optimizer.run.Result` as the result workbook of SPEC §6."""
    order = ["summary", "infeasibility", "allocation", "treaty", "shortfalls", "mining",
             "processing", "production", "inventory", "disposal", "constraints", "variables",
             "run_info"]
    tables = result.tables
    names = [n for n in order if n in tables] + sorted(n for n in tables if n not in order)
    protect = [result.inputs.path] if result.inputs is not None and result.inputs.path else []
    extra = (lambda wb: _add_charts(wb, result)) if result.optimal else None
    return save_workbook(((n, tables[n]) for n in names), path, protect=protect, extra=extra)


COMPARED = ("objective", "revenue_pv", "penalties_pv", "domestic_ndpr_share",
            "treaty_fulfilment_pct", "treaty_shortfall_t")


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


def _sweep_charts(wb, frame: pd.DataFrame, axes: list) -> None:
    """1-D sweep: KPI against the swept value; 2-D: heat-map tables of the KPIs."""
    from openpyxl.chart import LineChart, Reference
    from openpyxl.formatting.rule import ColorScaleRule

    labels = [c for c in frame.columns if c not in ("scenario", "changes", *KPI_ALL)]
    runs = frame.iloc[1:]
    if len(labels) == 1:
        ws = wb.create_sheet("charts")
        table = runs[[labels[0], "objective", "domestic_ndpr_share", "treaty_fulfilment_pct"]]
        write_frame(ws, table.reset_index(drop=True))
        n = len(table)
        for col, title, anchor in ((
                (2, "Objective (present value)", "F2"),
                (3, "Domestic NdPr share", "F20"),
                (4, "Treaty fulfilment %", "F38"))):
            chart = LineChart()
            chart.title = f"{title} against {labels[0]}"
            chart.x_axis.title, chart.height, chart.width = labels[0], 8, 18
            chart.add_data(Reference(ws, min_col=col, min_row=1, max_row=n + 1),
                           titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n + 1))
            for series in chart.series:
                series.smooth = False
            if col > 2:  # shares and percentages read best from zero
                chart.y_axis.scaling.min = 0
            ws.add_chart(chart, anchor)
    elif len(labels) == 2:
        ws = wb.create_sheet("heatmaps")
        row = 1
        for kpi in ("objective", "domestic_ndpr_share", "treaty_fulfilment_pct"):
            pivot = runs.pivot_table(index=labels[0], columns=labels[1], values=kpi,
                                     aggfunc="first", sort=False)
            pivot.columns = [f"{c:g}" if isinstance(c, float) else str(c) for c in pivot.columns]
            pivot = pivot.reset_index()
            ws.cell(row=row, column=1, value=f"{kpi}: rows = {labels[0]}; "
                    f"columns = {labels[1]}")
            write_frame(ws, pivot, start_row=row + 1,
                        number_format="0.0%" if kpi == "domestic_ndpr_share" else "#,##0")
            last = f"{_col(pivot.shape[1])}{row + 1 + len(pivot)}"
            ws.conditional_formatting.add(
                f"B{row + 2}:{last}",
                ColorScaleRule(start_type="min", start_color="F8696B", mid_type="percentile",
                               mid_value=50, mid_color="FFEB84", end_type="max",
                               end_color="63BE7B"))
            row += len(pivot) + 4


KPI_ALL = ("status", "objective", "revenue_pv", "policy_value_pv", "penalties_pv",
           "domestic_ndpr_share", "treaty_fulfilment_pct", "treaty_shortfall_t", "binding",
           "path", "iterations", "seconds", "explanation")


def write_comparison(frame: pd.DataFrame, path: str | Path, *, inputs=None, axes=(),
                     strict: bool = False, seconds: float | None = None) -> Path:
    """The comparison workbook of a sweep or scenario run: results, vs_base, charts, run_info."""
    from .run import table_hash, versions

    label_cols = [c for c in frame.columns if c not in ("scenario", *KPI_ALL)]
    info = [("tool", "irel-alloc"), *versions(),
            ("input", inputs.source if inputs is not None else ""),
            ("input_sha256", (inputs.sha256 or "") if inputs is not None else ""),
            ("axes", "; ".join(f"{m} {p} = {v}" for p, m, v in axes)),
            ("strict", strict), ("scenarios", len(frame) - 1),
            ("statuses", ", ".join(f"{s}: {n}" for s, n in
                                   sorted(frame["status"].value_counts().items()))),
            ("results_sha256", table_hash(frame.drop(columns=["seconds"]))),
            ("wall_seconds", seconds)]
    frames = [("results", frame), ("vs_base", versus_base(frame, label_cols)),
              ("run_info", pd.DataFrame(info, columns=["key", "value"]))]
    protect = [inputs.path] if inputs is not None and inputs.path else []
    return save_workbook(frames, path, protect=protect,
                         extra=lambda wb: _sweep_charts(wb, frame, list(axes)))
