"""Validation: raw frames -> typed, checked, period-expanded frames.

Every problem is collected, with the sheet, the Excel row, the column, the value found
and what was expected; nothing stops at the first. The checks run from the declarations
in :mod:`optimizer.schema`, then across sheets (unknown ids, compositions that do not sum
to 1, duplicate keys, max below min, ...).
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
import re
from collections import defaultdict
from typing import Any

import pandas as pd

from .errors import InputError, Problem
from .excel import ROW, _letter
from .schema import MRECL, SETTING_BY_KEY, SETTINGS, SHEET_BY_NAME, SHEETS, Column, Sheet

SHARE_TOLERANCE = 1e-6
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}


class _Bad(Exception):
    """A cell that cannot be converted; carries the reason."""


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def _reject_dates(value: Any) -> None:
    if isinstance(value, (_dt.date, _dt.time, _dt.timedelta)):
        raise _Bad(f"a date/time ({value})")


def to_id(value: Any) -> str:
    _reject_dates(value)
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def to_number(value: Any) -> float:
    if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool)):
        # the common case (also numpy scalars), kept cheap for sweeps
        if math.isfinite(value):
            return float(value)
        raise _Bad("a number that is not finite")
    _reject_dates(value)
    if isinstance(value, bool):
        raise _Bad("a true/false value")
    if isinstance(value, numbers.Real):
        number = float(value)
    else:
        text = str(value).strip().replace("\u00a0", "").replace(" ", "")
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        try:
            number = float(text)
        except ValueError:
            raise _Bad("text that is not a number") from None
    if not math.isfinite(number):
        raise _Bad("a number that is not finite")
    return number


def to_bool(value: Any) -> bool:
    _reject_dates(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Real) and float(value) in (0.0, 1.0):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Bad("not a yes/no value")


def to_value(value: Any) -> float | str:
    """A scenario value: a number when it reads as one, else trimmed text."""
    try:
        return to_number(value)
    except _Bad:
        return to_id(value)


def _convert(col: Column, value: Any) -> Any:
    if col.kind == "number":
        number = to_number(value)
        if col.lower is not None and (number < col.lower or (col.lower_open and number == col.lower)):
            raise _Bad("out of range")
        if col.upper is not None and (number > col.upper or (col.upper_open and number == col.upper)):
            raise _Bad("out of range")
        return number
    if col.kind == "bool":
        return to_bool(value)
    if col.kind == "choice":
        text = to_id(value).lower()
        if text not in col.choices:
            raise _Bad("not one of the choices")
        return text
    if col.kind == "value":
        return to_value(value)
    return to_id(value)


class _Collector:
    """Gathers problems for one source, knowing each sheet's column letters."""

    def __init__(self, letters: dict[str, dict[str, str]]):
        self.letters = letters
        self.problems: list[Problem] = []

    def add(self, sheet: str, row: int | None, column: str | None, found: Any,
            expected: str) -> None:
        cell = None
        letter = self.letters.get(sheet, {}).get(column or "")
        if letter and row is not None:
            cell = f"{letter}{row}"
        self.problems.append(Problem(sheet, row, column, found, expected, cell))


def _type_sheet(sheet: Sheet, raw: pd.DataFrame, out: _Collector) -> pd.DataFrame:
    """Convert every cell of one sheet, fill defaults, report bad and missing cells."""
    present = set(raw.columns)
    # An optional sheet may be empty, header and all (README: input workbook).
    empty_optional = sheet.optional and raw.empty
    missing = [] if empty_optional else [
        c.name for c in sheet.columns if c.required and c.name not in present]
    for name in missing:
        out.add(sheet.name, None, name, None, f"a column named {name!r}")
    records = []
    for raw_record in raw.to_dict("records"):
        row = None if is_blank(raw_record.get(ROW)) else int(raw_record[ROW])
        record: dict[str, Any] = {ROW: row}
        for col in sheet.columns:
            value = raw_record.get(col.name)
            if is_blank(value):
                if col.required and col.name in present:
                    out.add(sheet.name, row, col.name, None, col.expectation())
                record[col.name] = col.default
                continue
            try:
                record[col.name] = _convert(col, value)
            except _Bad as why:
                out.add(sheet.name, row, col.name, value, f"{col.expectation()} (got {why})"
                        if str(why) not in ("out of range", "not one of the choices")
                        else col.expectation())
                record[col.name] = None
        records.append(record)
    return pd.DataFrame(records, columns=[ROW, *sheet.column_names], dtype=object)


def _read_settings(frame: pd.DataFrame | None, out: _Collector) -> dict[str, Any]:
    settings = {s.key: s.default for s in SETTINGS}
    if frame is None:
        return settings
    seen: dict[str, int] = {}
    for record in frame.to_dict("records"):
        key, value, row = record["key"], record["value"], record[ROW]
        if key is None:
            continue
        spec = SETTING_BY_KEY.get(key)
        if spec is None:
            out.add("settings", row, "key", key, "one of " + ", ".join(SETTING_BY_KEY))
            continue
        if key in seen:
            out.add("settings", row, "key", key, f"each key once (also on row {seen[key]})")
            continue
        seen[key] = row
        if is_blank(value):
            continue
        try:
            if spec.kind == "number":
                number = to_number(value)
                if spec.lower is not None and number < spec.lower:
                    raise _Bad("out of range")
                settings[key] = number
            elif spec.kind == "bool":
                settings[key] = to_bool(value)
            else:
                settings[key] = to_id(value)
        except _Bad:
            expected = {"number": f"a number ≥ {spec.lower:g}" if spec.lower is not None
                        else "a number", "bool": "true or false"}.get(spec.kind, "text")
            out.add("settings", row, "value", value, f"{expected} for key {key}")
    return settings


def _expand_periods(sheet: Sheet, frame: pd.DataFrame, periods: list[str],
                    out: _Collector) -> pd.DataFrame:
    """Blank period -> one row per period; a row with a period overrides the blank row."""
    groups: dict[tuple, dict[str | None, dict]] = defaultdict(dict)
    for record in frame.to_dict("records"):
        key = tuple(record[k] for k in sheet.keys)
        if any(k is None for k in key):
            continue  # already reported as a required cell
        period = record["period"]
        if period is not None and period not in periods:
            continue  # reported by the reference check
        earlier = groups[key].get(period)
        if earlier is not None:
            what = "every period (blank)" if period is None else f"period {period}"
            out.add(sheet.name, record[ROW], "period", period,
                    f"one row per {'/'.join(sheet.keys)} and {what}; row {earlier[ROW]} "
                    f"already has {', '.join(map(str, key))}")
            continue
        groups[key][period] = record
    rows = []
    for by_period in groups.values():
        for period in periods:
            record = by_period.get(period, by_period.get(None))
            if record is not None:
                rows.append({**record, "period": period})
    return pd.DataFrame(rows, columns=frame.columns, dtype=object)


def _check_unique(sheet: Sheet, frame: pd.DataFrame, out: _Collector) -> None:
    seen: dict[tuple, int] = {}
    for record in frame.to_dict("records"):
        key = tuple(record[k] for k in sheet.keys)
        if sheet.name != "composition" and any(k is None for k in key):
            continue
        if key in seen:
            out.add(sheet.name, record[ROW], sheet.keys[-1], key[-1] if len(key) == 1 else
                    ", ".join("(blank)" if k is None else str(k) for k in key),
                    f"a unique {'/'.join(sheet.keys)} (row {seen[key]} has the same)")
        else:
            seen[key] = record[ROW]


def _ref_sets(frames: dict[str, pd.DataFrame]) -> dict[str, set[str]]:
    def ids(sheet: str, column: str, where=None) -> set[str]:
        frame = frames.get(sheet)
        if frame is None:
            return set()
        if where is not None:
            frame = frame[frame[where[0]] == where[1]]
        return {v for v in frame[column] if v is not None}

    refs = {
        "periods": ids("periods", "period"),
        "mines": ids("mines", "mine"),
        "cracking": ids("plants", "plant", ("stage", "cracking")),
        "separation": ids("plants", "plant", ("stage", "separation")),
        "products": ids("products", "product"),
        "customers": ids("customers", "customer"),
    }
    refs["products+MRECL"] = refs["products"] | {MRECL}
    refs["entities"] = refs["mines"] | ids("plants", "plant")
    return refs


def _check_refs(sheet: Sheet, frame: pd.DataFrame, refs: dict[str, set[str]],
                out: _Collector) -> None:
    from .schema import REF_WORDS

    for col in sheet.columns:
        if not col.ref or col.name not in frame.columns:
            continue
        known = refs[col.ref]
        for row, value in zip(frame[ROW], frame[col.name]):
            if value is not None and value not in known:
                listing = ", ".join(sorted(known)[:12]) + (" ..." if len(known) > 12 else "")
                out.add(sheet.name, row, col.name, value,
                        f"an id from {REF_WORDS[col.ref]} ({listing or 'none defined'})")


def _check_cross(frames: dict[str, pd.DataFrame], refs: dict[str, set[str]],
                 out: _Collector) -> None:
    """Checks that need more than one cell: shares, min/max, reserved ids, emptiness."""
    for name in ("periods", "mines", "products", "customers"):
        frame = frames.get(name)
        if frame is not None and frame.empty:
            out.add(name, None, None, "no rows", f"at least one row in {name}")
    products = frames.get("products")
    if products is not None:
        for row, product in zip(products[ROW], products["product"]):
            if product == MRECL:
                out.add("products", row, "product", product,
                        "a product id other than MRECL (reserved for mixed chloride)")
    demand = frames.get("demand")
    if demand is not None:
        for record in demand.to_dict("records"):
            low, high = record["min_t"], record["max_t"]
            if low is not None and high is not None and high < low:
                out.add("demand", record[ROW], "max_t", high, f"a number ≥ min_t ({low:g})")
    composition = frames.get("composition")
    mines = frames.get("mines")
    if composition is None or mines is None:
        return
    totals: dict[str | None, float] = defaultdict(float)
    first_row: dict[str | None, int] = {}
    for record in composition.to_dict("records"):
        if record["share"] is None or (record["mine"] is not None and record["mine"] not in refs["mines"]):
            continue
        totals[record["mine"]] += record["share"]
        first_row.setdefault(record["mine"], record[ROW])
    for mine, total in totals.items():
        if abs(total - 1.0) > SHARE_TOLERANCE:
            who = f"mine {mine}" if mine is not None else "the default (blank mine)"
            out.add("composition", first_row[mine], "share", round(total, 9),
                    f"the shares of {who} to sum to 1 (±{SHARE_TOLERANCE:g})")
    if None not in totals:
        for row, mine in zip(mines[ROW], mines["mine"]):
            if mine is not None and mine not in totals:
                out.add("mines", row, "mine", mine,
                        "composition rows for this mine, or default rows (blank mine)")


def normalise(raw: dict[str, pd.DataFrame], letters: dict[str, dict[str, str]] | None = None,
              *, source: str = "the input") -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Type, check and expand raw frames. Raises :class:`InputError` listing every problem.

    Returns ``(frames, settings)``: one typed frame per declared sheet (optional sheets
    absent from the input become empty frames), per-period sheets expanded to one row per
    period, and the settings as a dict with defaults filled.
    """
    out = _Collector(letters or {})
    typed: dict[str, pd.DataFrame] = {}
    for sheet in SHEETS:
        frame = raw.get(sheet.name)
        if frame is None:
            if not sheet.optional:
                out.add(sheet.name, None, None, "no such sheet", f"a sheet named {sheet.name!r}")
            frame = pd.DataFrame(columns=[ROW, *sheet.column_names])
        typed[sheet.name] = _type_sheet(sheet, frame, out)
    settings = _read_settings(typed["settings"], out)
    refs = _ref_sets(typed)
    periods = list(dict.fromkeys(p for p in typed["periods"]["period"] if p is not None))
    frames: dict[str, pd.DataFrame] = {"settings": typed["settings"]}
    for sheet in SHEETS[1:]:
        frame = typed[sheet.name]
        _check_refs(sheet, frame, refs, out)
        if sheet.per_period:
            frame = _expand_periods(sheet, frame, periods, out)
        elif sheet.keys and sheet.name != "scenarios":
            _check_unique(sheet, frame, out)
        frames[sheet.name] = frame
    _check_cross(frames, refs, out)
    if out.problems:
        # A blank-period row is checked once per period it expands to: report it once.
        raise InputError(list(dict.fromkeys(out.problems)), source=source)
    return frames, settings


def frames_from_user(frames: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame],
                                                               dict[str, dict[str, str]]]:
    """Accept a developer's DataFrames: lowercase headers, add ``_row`` as Excel would."""
    raw: dict[str, pd.DataFrame] = {}
    letters: dict[str, dict[str, str]] = {}
    for name, frame in frames.items():
        key = str(name).strip().lower()
        if key not in SHEET_BY_NAME:
            continue
        frame = frame.copy()
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        letters[key] = {c: _letter(i) for i, c in enumerate(frame.columns) if c != ROW}
        if ROW not in frame.columns:
            frame.insert(0, ROW, range(2, len(frame) + 2))
        raw[key] = frame.astype(object)
    return raw, letters
