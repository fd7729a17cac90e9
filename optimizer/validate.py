"""Validation: raw frames -> typed, checked, period-expanded frames.

Every problem is collected, with the sheet, the Excel row, the column, the value found
and what was expected; nothing stops at the first. The checks run from the declarations
in :mod:`optimizer.schema`, then across sheets (unknown ids, compositions that do not sum
to 1, duplicate keys, max below min, ...). What is read past but worth a look (a discount
rate above 0.3, year periods listed backwards, unknown names) is an :class:`InputWarning`,
carried in ``ModelInputs.warnings``.

The per-cell loops run once per cell of a 10^5-row workbook, so they work on plain column
lists (never per-row DataFrame access) and memoise repeated texts.
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
import re
from collections import defaultdict
from typing import Any

import pandas as pd

from .errors import InputError, InputWarning, Problem
from .excel import ROW, _gc_paused, _letter, classify_headers, classify_sheets, match_name
from .schema import MRECL, SETTING_BY_KEY, SETTINGS, SHEETS, Column, Sheet

SHARE_TOLERANCE = 1e-6
HIGH_DISCOUNT_RATE = 0.3
"""A discount rate above this is read but warned about (30 %/yr is rarely meant)."""
EXCEL_ERRORS = frozenset({"#REF!", "#N/A", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!",
                          "#SPILL!", "#CALC!", "#GETTING_DATA"})
"""What Excel shows in a cell whose formula failed; never an id, a text or a number."""
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_DOT_THOUSANDS = re.compile(r"^[+-]?[1-9]\d{0,2}(\.\d{3})+$")
"""'3.000', '1.200', '12.500.000': a dot before exactly three digits may group thousands."""
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$|^[+-]?\d{1,3}(\.\d{3})*,\d*$")
_YEAR = re.compile(r"^(?:FY)?\s*(\d{4})(?:\s*[-/]\s*\d{2,4})?$", re.IGNORECASE)
_TRUE = {"true", "yes", "1", "y"}
_FALSE = {"false", "no", "0", "n"}


class _Bad(Exception):
    """A cell that cannot be converted; carries the reason."""


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return value != value  # NaN
    if isinstance(value, str):
        return not value.strip()
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def _reject_dates(value: Any) -> None:
    if isinstance(value, (_dt.date, _dt.time, _dt.timedelta)):
        raise _Bad(f"a date/time ({value})")


def to_id(value: Any) -> str:
    if type(value) is str:  # the common case
        return value.strip()
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
        elif _DOT_THOUSANDS.match(text):
            thousands = f"{int(text.replace('.', '')):,}"
            decimal = f"{float(text):g} or " if text.count(".") == 1 else ""
            raise _Bad(f"ambiguous text {text!r}: is it {decimal}{thousands}? Type the number "
                       "in a number cell, or as text without thousands dots")
        elif _DECIMAL_COMMA.match(text):
            raise _Bad(f"a decimal comma in {text!r}: type {text.replace('.', '').replace(',', '.')}"
                       " with a decimal point")
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
    """Gathers problems (and warnings) for one source, knowing each sheet's column letters.

    ``problems`` may start with what the reader found; a later problem at a cell already
    reported is dropped (a formula without a cached value is not also a blank cell).
    """

    def __init__(self, letters: dict[str, dict[str, str]], problems: list[Problem] | None = None,
                 warnings: list[Problem] | None = None):
        self.letters = letters
        self.problems: list[Problem] = list(problems or [])
        self.warnings: list[Problem] = warnings if warnings is not None else []
        self._located = {(p.sheet, p.row, p.column) for p in self.problems if p.row is not None}

    def _problem(self, kind: type[Problem], sheet: str, row: int | None, column: str | None,
                 found: Any, expected: str) -> Problem:
        cell = None
        letter = self.letters.get(sheet, {}).get(column or "")
        if letter and row is not None:
            cell = f"{letter}{row}"
        return kind(sheet, row, column, found, expected, cell)

    def add(self, sheet: str, row: int | None, column: str | None, found: Any,
            expected: str) -> None:
        if row is not None and (sheet, row, column) in self._located:
            return
        self.problems.append(self._problem(Problem, sheet, row, column, found, expected))

    def warn(self, sheet: str, row: int | None, column: str | None, found: Any,
             expected: str) -> None:
        self.warnings.append(self._problem(InputWarning, sheet, row, column, found, expected))


def _excel_error(value: Any) -> bool:
    return isinstance(value, str) and value.strip().upper() in EXCEL_ERRORS


def _in_range(col: Column):
    """A fast test of a number against the column's bounds (NaN and infinities fail)."""
    lo = -math.inf if col.lower is None else col.lower
    hi = math.inf if col.upper is None else col.upper

    def fits(x: float) -> bool:
        return ((x > lo if col.lower_open else x >= lo) and (x < hi if col.upper_open else x <= hi)
                and math.isfinite(x))
    return fits


def _type_column(sheet: Sheet, col: Column, values: list, rows: list, out: _Collector) -> list:
    """Convert one column's cells; blanks take the default, bad cells become None (reported).

    Runs once per cell, so the common cases come first: a number cell already in range, and
    a text seen before (id and choice columns repeat a few values many times).
    """
    typed: list[Any] = [col.default] * len(values)
    memo: dict[str, Any] = {}
    fits = _in_range(col) if col.kind == "number" else None
    for i, value in enumerate(values):
        kind = type(value)
        if kind is str:
            hit = memo.get(value, memo)
            if hit is not memo:
                typed[i] = hit
                continue
        elif fits is not None and (kind is float or kind is int) and fits(value):
            typed[i] = float(value)
            continue
        if is_blank(value):
            if col.required:
                out.add(sheet.name, rows[i], col.name, None, col.expectation())
            continue
        if _excel_error(value):
            out.add(sheet.name, rows[i], col.name, value,
                    f"{col.expectation()}, not the Excel error {value.strip()}: fix the formula "
                    "(or the cells it refers to)")
            typed[i] = None
            continue
        try:
            typed[i] = _convert(col, value)
        except _Bad as why:
            out.add(sheet.name, rows[i], col.name, value, f"{col.expectation()} (got {why})"
                    if str(why) not in ("out of range", "not one of the choices")
                    else col.expectation())
            typed[i] = None
            continue
        if kind is str:
            memo[value] = typed[i]
    return typed


def _type_sheet(sheet: Sheet, raw: pd.DataFrame, out: _Collector) -> pd.DataFrame:
    """Convert every cell of one sheet, fill defaults, report bad and missing cells."""
    present = set(raw.columns)
    # An optional sheet may be empty, header and all (README: input workbook).
    empty_optional = sheet.optional and raw.empty
    missing = [] if empty_optional else [
        c.name for c in sheet.columns if c.required and c.name not in present]
    for name in missing:
        out.add(sheet.name, None, name, None, f"a column named {name!r}")
    n = len(raw)
    rows = ([None if is_blank(r) else int(r) for r in raw[ROW].tolist()] if ROW in present
            else [None] * n)
    data: dict[str, list] = {ROW: rows}
    for col in sheet.columns:
        data[col.name] = (_type_column(sheet, col, raw[col.name].tolist(), rows, out)
                          if col.name in present else [col.default] * n)
    return pd.DataFrame(data, columns=[ROW, *sheet.column_names], dtype=object)


def _read_settings(frame: pd.DataFrame | None, out: _Collector) -> dict[str, Any]:
    settings = {s.key: s.default for s in SETTINGS}
    if frame is None:
        return settings
    seen: dict[str, int] = {}
    for key, value, row in zip(frame["key"], frame["value"], frame[ROW]):
        if key is None:
            continue
        spec = SETTING_BY_KEY.get(key)
        if spec is None:
            verdict, near = match_name(key, SETTING_BY_KEY)
            hint = f"did you mean {near!r}? " if verdict == "close" else ""
            out.add("settings", row, "key", key, f"{hint}one of " + ", ".join(SETTING_BY_KEY))
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
    _check_discount_rate(settings, seen.get("discount_rate"), out)
    return settings


def _check_discount_rate(settings: dict[str, Any], row: int | None, out: _Collector) -> None:
    """A rate of 8 meant 8 %: refuse a rate ≥ 1, warn above HIGH_DISCOUNT_RATE."""
    rate = settings["discount_rate"]
    if rate is None or rate < HIGH_DISCOUNT_RATE:
        return
    if rate >= 1:
        out.add("settings", row, "value", rate, f"a yearly rate as a fraction below 1 for key "
                f"discount_rate: type {rate / 100:g} for {rate:g} %")
        settings["discount_rate"] = 0.0
    elif rate > HIGH_DISCOUNT_RATE:
        out.warn("settings", row, "value", rate, f"a discount rate of at most {HIGH_DISCOUNT_RATE:g} "
                 f"({HIGH_DISCOUNT_RATE:.0%}/yr); {rate:g} is {rate:.0%}/yr. It is used as typed")


def _check_period_order(frame: pd.DataFrame, out: _Collector) -> None:
    """Period ids that read as years (2026, FY2026, 2026-27) and run backwards: a warning."""
    ids = [p for p in frame["period"] if p is not None]
    years = [_YEAR.match(p) for p in ids]
    if len(ids) < 2 or not all(years):
        return
    numbers = [int(m[1]) for m in years]
    if all(a > b for a, b in zip(numbers, numbers[1:])):
        out.warn("periods", frame[ROW].iloc[0], "period", ids[0],
                 f"periods in time order: they run from {ids[0]} back to {ids[-1]}, and the "
                 "model takes the sheet's order as time order (reverse the rows)")


def _columns(frame: pd.DataFrame) -> dict[str, list]:
    """A frame as plain lists, one per column (cheap to index in a Python loop)."""
    return {c: frame[c].tolist() for c in frame.columns}


def _expand_periods(sheet: Sheet, frame: pd.DataFrame, periods: list[str],
                    out: _Collector) -> pd.DataFrame:
    """Blank period -> one row per period; a row with a period overrides the blank row.

    Rows come out grouped by key, in the order keys first appear, then in period order.
    """
    data = _columns(frame)
    known = set(periods)
    groups: dict[tuple, dict[str | None, int]] = {}
    keys = list(zip(*(data[k] for k in sheet.keys)))
    required = [sheet.column(k).required for k in sheet.keys]
    for i, (key, period) in enumerate(zip(keys, data["period"])):
        if any(v is None for v, req in zip(key, required) if req):
            continue  # already reported as a required cell (a blank optional key is a key)
        if period is not None and period not in known:
            continue  # reported by the reference check
        group = groups.setdefault(key, {})
        earlier = group.get(period)
        if earlier is not None:
            what = "every period (blank)" if period is None else f"period {period}"
            out.add(sheet.name, data[ROW][i], "period", period,
                    f"one row per {'/'.join(sheet.keys)} and {what}; row {data[ROW][earlier]} "
                    f"already has {', '.join(map(str, key))}")
            continue
        group[period] = i
    take: list[int] = []
    expanded: list[str] = []
    for group in groups.values():
        blank = group.get(None)
        for period in periods:
            i = group.get(period, blank)
            if i is not None:
                take.append(i)
                expanded.append(period)
    columns = {c: [values[i] for i in take] for c, values in data.items()}
    columns["period"] = expanded
    return pd.DataFrame(columns, columns=frame.columns, dtype=object)


def _check_unique(sheet: Sheet, frame: pd.DataFrame, out: _Collector) -> None:
    seen: dict[tuple, int] = {}
    for row, *key in zip(frame[ROW], *(frame[k] for k in sheet.keys)):
        key = tuple(key)
        if sheet.name != "composition" and None in key:
            continue
        if key in seen:
            out.add(sheet.name, row, sheet.keys[-1], key[-1] if len(key) == 1 else
                    ", ".join("(blank)" if k is None else str(k) for k in key),
                    f"a unique {'/'.join(sheet.keys)} (row {seen[key]} has the same)")
        else:
            seen[key] = row


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
    refs["obligations"] = ids("obligations", "obligation")
    return refs


def _check_refs(sheet: Sheet, frame: pd.DataFrame, refs: dict[str, set[str]],
                out: _Collector) -> None:
    from .schema import REF_WORDS

    for col in sheet.columns:
        if not col.ref or col.name not in frame.columns:
            continue
        known = refs[col.ref]
        listing = None
        for row, value in zip(frame[ROW], frame[col.name]):
            if value is not None and value not in known:
                if listing is None:
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
        for row, low, high in zip(demand[ROW], demand["min_t"], demand["max_t"]):
            if low is not None and high is not None and high < low:
                out.add("demand", row, "max_t", high, f"a number ≥ min_t ({low:g})")
    _check_policy(frames, out)
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


def _check_policy(frames: dict[str, pd.DataFrame], out: _Collector) -> None:
    """Scoped export caps and obligations: one customer each, a basket the customer buys."""
    caps = frames.get("export_caps")
    if caps is not None:
        for row, scope, customer in zip(caps[ROW], caps["scope"], caps["customer"]):
            if customer is not None and scope == "non_treaty":
                out.add("export_caps", row, "scope", scope, "all (or blank) when a customer is "
                        "given: a customer row caps what that customer receives")
    obligations, basket = frames.get("obligations"), frames.get("obligation_products")
    if obligations is None or basket is None or obligations.empty:
        return
    demand = frames.get("demand")
    priced = set() if demand is None else set(zip(demand["customer"], demand["product"], demand["period"]))
    products: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row, o, q in zip(basket[ROW], basket["obligation"], basket["product"]):
        if o is not None and q is not None:
            products[o].append((row, q))
    reported: set = set()
    owed: dict[str, tuple[str, int]] = {}
    for row, o, k, t in zip(obligations[ROW], obligations["obligation"], obligations["customer"],
                            obligations["period"]):
        if o is None or k is None:
            continue
        first = owed.setdefault(o, (k, row))
        if first[0] != k and ("owed", row) not in reported:
            reported.add(("owed", row))
            out.add("obligations", row, "customer", k, f"one customer per obligation ({first[0]} on "
                    f"row {first[1]})")
            continue
        if not products.get(o) and o not in reported:
            reported.add(o)
            out.add("obligations", row, "obligation", o,
                    "at least one obligation_products row for this obligation (its basket)")
        for basket_row, q in products.get(o, []):
            if (k, q, t) not in priced and (basket_row, k) not in reported:
                reported.add((basket_row, k))
                out.add("obligation_products", basket_row, "product", q,
                        f"a product with a demand row for {k} (obligation {o}, {t}): the demand "
                        "row gives its price")


def normalise(raw: dict[str, pd.DataFrame], letters: dict[str, dict[str, str]] | None = None,
              *, source: str = "the input", warnings: list[Problem] | None = None,
              problems: list[Problem] | None = None) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Type, check and expand raw frames. Raises :class:`InputError` listing every problem.

    Returns ``(frames, settings)``: one typed frame per declared sheet (optional sheets
    absent from the input become empty frames), per-period sheets expanded to one row per
    period, and the settings as a dict with defaults filled. ``problems`` are the reader's
    (listed first, with the rest); warnings are appended to ``warnings`` when given.
    """
    out = _Collector(letters or {}, problems, warnings)
    with _gc_paused():  # typing allocates per cell; GC passes would only rescan the cells
        frames, settings = _check_all(raw, out)
    if out.problems:
        # A blank-period row is checked once per period it expands to: report it once.
        raise InputError(list(dict.fromkeys(out.problems)), source=source)
    return frames, settings


def _check_all(raw: dict[str, pd.DataFrame], out: _Collector
               ) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The checks of :func:`normalise`, sheet by sheet then across sheets."""
    typed: dict[str, pd.DataFrame] = {}
    for sheet in SHEETS:
        frame = raw.get(sheet.name)
        if frame is None:
            if not sheet.optional:
                out.add(sheet.name, None, None, "no such sheet", f"a sheet named {sheet.name!r}")
            frame = pd.DataFrame(columns=[ROW, *sheet.column_names])
        typed[sheet.name] = _type_sheet(sheet, frame, out)
    settings = _read_settings(typed["settings"], out)
    _check_period_order(typed["periods"], out)
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
    return frames, settings


_PANDAS_BLANK_HEADER = re.compile(r"^Unnamed: \d+$")
"""How pandas.read_excel names a column whose header cell is blank."""


def frames_from_user(frames: dict[str, pd.DataFrame], *, warnings: list[Problem] | None = None,
                     problems: list[Problem] | None = None
                     ) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, str]]]:
    """Accept a developer's DataFrames: match sheet and column names as the workbook reader
    does (ignoring case and surrounding spaces; misspelt names are problems, unknown ones
    warnings), add ``_row`` as Excel would. Problems are appended to ``problems`` when
    given, else raised at once."""
    found: list[Problem] = []
    raw: dict[str, pd.DataFrame] = {}
    letters: dict[str, dict[str, str]] = {}
    names = {str(name): name for name in frames}
    for title, key in classify_sheets(names, found, warnings).items():
        frame = frames[names[title]]
        headers: dict[int, str] = {}
        for i, c in enumerate(frame.columns):
            if c == ROW:
                continue
            text = "" if is_blank(c) else str(c)
            if text and not _PANDAS_BLANK_HEADER.match(text):
                headers[i] = text
            elif frame.iloc[:, i].map(lambda v: not is_blank(v)).any():
                found.append(Problem(key, None, None, text or None, "a column name: values under "
                                     f"a blank header (column {i + 1} of the frame)"))
        columns = classify_headers(key, headers, None, found, warnings)
        keep = list(dict.fromkeys(columns.values()))
        picked = frame.iloc[:, [next(i for i, n in columns.items() if n == c) for c in keep]]
        picked = picked.set_axis(keep, axis=1)
        if ROW in frame.columns:
            picked.insert(0, ROW, frame[ROW].to_numpy())
        else:
            picked.insert(0, ROW, range(2, len(frame) + 2))
        letters[key] = {c: _letter(next(i for i, n in columns.items() if n == c)) for c in keep}
        raw[key] = picked.astype(object)
    if problems is not None:
        problems.extend(found)
    elif found:
        raise InputError(found, source="the frames")
    return raw, letters
