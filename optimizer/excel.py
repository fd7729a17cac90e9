"""Reading input workbooks: the only place that opens an input file with openpyxl.

The reader returns raw frames: one DataFrame per declared sheet, cells as Excel gave them,
plus a ``_row`` column with the Excel row number so every later message can point at the
cell. Typing and checking happen in :mod:`optimizer.validate`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd

from .errors import InputError, Problem
from .schema import IGNORED_SHEETS, SHEET_BY_NAME

ROW = "_row"
"""Name of the column that carries each record's Excel row number."""


def _letter(index: int) -> str:
    """0-based column index -> Excel column letters (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_workbook(path: str | Path) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, str]]]:
    """Read every declared sheet of ``path`` into raw frames.

    Returns ``(frames, letters)``: ``letters[sheet][column]`` is the Excel column letter.
    Raises :class:`InputError` for a missing or unreadable file, and for formula cells
    without a cached value (all of them at once).
    """
    import openpyxl  # heavy; only needed when a workbook is actually read

    path = Path(path)
    if not path.exists():
        raise InputError(f"input file not found: {path}")
    if path.is_dir():
        raise InputError(f"input path is a folder, expected an .xlsx file: {path}")
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        values_wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
        formulas_wb = openpyxl.load_workbook(path, data_only=False, read_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InputError(
            f"cannot read {path} as an Excel workbook (.xlsx): {exc}. "
            "Save it from Excel as 'Excel Workbook (*.xlsx)'."
        ) from None

    frames: dict[str, pd.DataFrame] = {}
    letters: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    try:
        for title in values_wb.sheetnames:
            name = title.strip().lower()
            if title in IGNORED_SHEETS or name not in SHEET_BY_NAME:
                continue
            if name in frames:
                problems.append(Problem(title, None, None, title,
                                        f"one sheet called {name!r}, found two"))
                continue
            frame, cols, sheet_problems = _read_sheet(
                name, values_wb[title].iter_rows(values_only=True),
                formulas_wb[title].iter_rows(values_only=True))
            frames[name], letters[name] = frame, cols
            problems.extend(sheet_problems)
    finally:
        values_wb.close()
        formulas_wb.close()
    if problems:
        raise InputError(problems, source=str(path))
    return frames, letters


def _read_sheet(name, value_rows, formula_rows):
    """Header = first non-blank row; every later non-blank row is a record."""
    problems: list[Problem] = []
    header: list[str] | None = None
    records: list[dict] = []
    for excel_row, (values, formulas) in enumerate(zip(value_rows, formula_rows), start=1):
        if all(_blank(v) for v in values) and all(_blank(f) for f in formulas):
            continue
        if header is None:
            header = [str(v).strip().lower() if not _blank(v) else "" for v in values]
            seen: set[str] = set()
            for i, col in enumerate(header):
                if col and col in seen:
                    problems.append(Problem(name, excel_row, col, col,
                                            "each column header once", cell=f"{_letter(i)}{excel_row}"))
                seen.add(col)
            continue
        record = {ROW: excel_row}
        for i, col in enumerate(header):
            if not col or col in record:
                continue
            value = values[i] if i < len(values) else None
            formula = formulas[i] if i < len(formulas) else None
            if value is None and isinstance(formula, str) and formula.startswith("="):
                problems.append(Problem(
                    name, excel_row, col, formula,
                    "a value: this formula has no cached result. Open and save the file "
                    "in Excel, or type the number", cell=f"{_letter(i)}{excel_row}"))
            record[col] = value
        records.append(record)
    header = header or []
    columns = [c for c in dict.fromkeys(header) if c]
    frame = pd.DataFrame(records, columns=[ROW, *columns], dtype=object)
    return frame, {c: _letter(header.index(c)) for c in columns}, problems
