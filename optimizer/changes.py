"""Change paths (SPEC §5): ``SHEET.COLUMN[FILTER, ...]`` applied to validated inputs.

One code path serves ``solve --scenario``, the ``scenarios`` sheet and ``sweep``:

- a change applies to the data *after* blank periods are expanded, so
  ``demand.min_t[customer=TREI, period>=FY2028]`` touches only those periods;
- period comparisons follow the order of the ``periods`` sheet;
- modes: ``set`` replaces, ``scale`` multiplies, ``add`` adds;
- a path that matches no row is an error, unless the filter pins every key column with
  ``=``: the change then creates the row. On per-period sheets, pinning every key but the
  period creates the row for every period the filter admits (an unpinned period means
  "every period", as a blank period does in the sheet);
- the changed data is validated like any input.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .errors import InputError
from .excel import ROW
from .schema import SHEET_BY_NAME, Sheet
from .validate import _Bad, is_blank, to_id, to_number

_PATH = re.compile(r"^\s*([A-Za-z_]\w*)\s*\.\s*([A-Za-z_]\w*)\s*(?:\[(.*)\])?\s*$")
_FILTER = re.compile(r"^\s*([A-Za-z_]\w*)\s*(!=|>=|<=|=|>|<)\s*(.*?)\s*$")
_OPS = {"=": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le,
        ">": operator.gt, "<": operator.lt}
MODES = ("set", "scale", "add")


@dataclass(frozen=True)
class Filter:
    column: str
    op: str
    value: str


@dataclass(frozen=True)
class ChangePath:
    """A parsed ``SHEET.COLUMN[FILTER, ...]``."""

    text: str
    sheet: str
    column: str
    filters: tuple[Filter, ...]

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Change:
    """One change: a path, a value and a mode, and where it came from (for messages)."""

    path: str
    value: Any
    mode: str = "set"
    origin: str = ""

    def describe(self) -> str:
        word = {"set": "=", "scale": "×=", "add": "+="}[self.mode]
        return f"{self.path} {word} {self.value}"


def _fail(origin: str, path: str, message: str) -> InputError:
    where = f" ({origin})" if origin else ""
    return InputError(f"change path {path!r}{where}: {message}")


def _strip_quotes(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def parse_path(text: str, origin: str = "") -> ChangePath:
    """Parse and check a change path against the schema. Raises InputError."""
    match = _PATH.match(text or "")
    if not match:
        raise _fail(origin, text, "expected SHEET.COLUMN[column=value, ...], e.g. "
                    "demand.min_t[customer=X_TREI, period>=FY2028]")
    sheet_name, column, inner = match.group(1).lower(), match.group(2).lower(), match.group(3)
    sheet = SHEET_BY_NAME.get(sheet_name)
    if sheet is None or sheet_name == "scenarios":
        known = ", ".join(s for s in SHEET_BY_NAME if s != "scenarios")
        raise _fail(origin, text, f"unknown sheet {sheet_name!r}; expected one of {known}")
    if column not in sheet.column_names:
        raise _fail(origin, text, f"unknown column {column!r} of sheet {sheet_name}; "
                    f"expected one of {', '.join(sheet.column_names)}")
    filters = []
    for part in (inner.split(",") if inner and inner.strip() else []):
        f = _FILTER.match(part)
        if not f:
            raise _fail(origin, text, f"cannot read filter {part.strip()!r}; expected "
                        "column OP value with OP one of = != >= <= > <")
        if f.group(1).lower() not in sheet.column_names:
            raise _fail(origin, text, f"unknown filter column {f.group(1)!r} of sheet "
                        f"{sheet_name}; expected one of {', '.join(sheet.column_names)}")
        filters.append(Filter(f.group(1).lower(), f.group(2), _strip_quotes(f.group(3))))
    return ChangePath(text.strip(), sheet_name, column, tuple(filters))


def _comparable(sheet: Sheet, column: str, raw: str, periods: list[str], origin: str,
                path: str) -> tuple[Any, Any]:
    """A key function for a column's cells, and the filter value converted the same way."""
    col = sheet.column(column) if sheet.name != "settings" else None
    if col is not None and col.ref == "periods":
        order = {t: i for i, t in enumerate(periods)}
        if raw not in order:
            raise _fail(origin, path, f"unknown period {raw!r}; expected one of "
                        f"{', '.join(periods)}")
        return (lambda v: order.get(v, -1) if v is not None else None), order[raw]
    if col is not None and col.kind == "number":
        try:
            return (lambda v: v), to_number(raw)
        except _Bad:
            raise _fail(origin, path, f"filter value {raw!r} of {column} is not a number") from None
    if col is not None and col.kind in ("choice", "bool"):
        return (lambda v: str(v).lower() if v is not None else None), raw.lower()
    return (lambda v: v), to_id(raw)


def _matching_rows(frame: pd.DataFrame, sheet: Sheet, cp: ChangePath, periods: list[str],
                   origin: str) -> list[int]:
    mask = [True] * len(frame)
    for f in cp.filters:
        key, target = _comparable(sheet, f.column, f.value, periods, origin, cp.text)
        if f.op not in ("=", "!=") and sheet.name != "settings" and \
                sheet.column(f.column).kind not in ("number",) and \
                sheet.column(f.column).ref != "periods":
            raise _fail(origin, cp.text, f"{f.op} needs a number or period column; "
                        f"{f.column} is text (use = or !=)")
        for i, cell in enumerate(frame[f.column]):
            value = None if is_blank(cell) else key(cell)
            mask[i] = mask[i] and value is not None and _OPS[f.op](value, target)
    return [i for i, keep in enumerate(mask) if keep]


def _new_rows(sheet: Sheet, cp: ChangePath, periods: list[str]) -> list[dict]:
    """Rows a change may create: every key pinned with '=' (period may be left open)."""
    pinned = {f.column: f.value for f in cp.filters if f.op == "="}
    keys = list(sheet.keys) + (["period"] if sheet.per_period else [])
    if sheet.name == "settings":
        keys = ["key"]
    open_keys = [k for k in keys if k not in pinned]
    if open_keys and not (sheet.per_period and open_keys == ["period"]):
        return []
    base = {k: pinned[k] for k in keys if k in pinned}
    if "period" in base or not sheet.per_period:
        return [base]
    # Period left open: one row per period that the period filters (if any) admit.
    order = {t: i for i, t in enumerate(periods)}
    rows = []
    for t in periods:
        ok = all(_OPS[f.op](order[t], order.get(f.value, -1))
                 for f in cp.filters if f.column == "period")
        if ok:
            rows.append({**base, "period": t})
    return rows


def _new_value(old: Any, change: Change, cp: ChangePath) -> Any:
    if change.mode == "set":
        return change.value
    try:
        factor = to_number(change.value)
    except _Bad:
        raise _fail(change.origin, cp.text, f"{change.mode} needs a number, got "
                    f"{change.value!r}") from None
    if is_blank(old):
        raise _fail(change.origin, cp.text, f"cannot {change.mode} a blank {cp.column} "
                    "(blank means unlimited or default); use mode set")
    try:
        base = to_number(old)
    except _Bad:
        raise _fail(change.origin, cp.text, f"cannot {change.mode} the text {old!r}") from None
    return base * factor if change.mode == "scale" else base + factor


def _apply_one(frames: dict[str, pd.DataFrame], change: Change, periods: list[str]) -> None:
    if change.mode not in MODES:
        raise _fail(change.origin, change.path, f"unknown mode {change.mode!r}; expected "
                    "set, scale or add")
    cp = parse_path(change.path, change.origin)
    sheet = SHEET_BY_NAME[cp.sheet]
    frame = frames[cp.sheet]
    hits = _matching_rows(frame, sheet, cp, periods, change.origin)
    if not hits:
        created = _new_rows(sheet, cp, periods) if change.mode == "set" else []
        if not created:
            raise _fail(change.origin, cp.text, "matches no row (a change creates a row only "
                        "when its filter pins every key column with =, and mode is set)")
        rows = [{ROW: None, **{c: None for c in frame.columns if c != ROW}, **r,
                 cp.column: change.value} for r in created]
        frames[cp.sheet] = pd.concat([frame, pd.DataFrame(rows, columns=frame.columns,
                                                          dtype=object)], ignore_index=True)
        return
    frame = frame.copy()
    position = frame.columns.get_loc(cp.column)
    for i in hits:
        frame.iat[i, position] = _new_value(frame.iat[i, position], change, cp)
    frames[cp.sheet] = frame


def apply_changes(inputs, changes: Iterable[Change]):
    """A new ModelInputs with ``changes`` applied in order, validated like any input."""
    from .inputs import ModelInputs

    changes = list(changes)
    if not changes:
        return inputs
    frames = {name: frame for name, frame in inputs.frames.items()}
    periods = list(inputs.params.PERIODS)
    for change in changes:
        _apply_one(frames, change, periods)
    origins = "; ".join(dict.fromkeys(c.origin for c in changes if c.origin))
    source = f"{inputs.source} after {origins or 'changes'}"
    try:
        new = ModelInputs._from_raw(frames, inputs.letters, source=source,
                                    sha256=inputs.sha256, path=inputs.path)
    except InputError as exc:
        raise InputError(f"{exc}\n  (changes applied: "
                         f"{'; '.join(c.describe() for c in changes)})") from None
    return new


def scenario_changes(inputs, name: str) -> list[Change]:
    """The changes of the named scenario on the ``scenarios`` sheet."""
    frame = inputs.frames["scenarios"]
    rows = [r for r in frame.to_dict("records") if r["scenario"] == name]
    if not rows:
        known = sorted(dict.fromkeys(frame["scenario"]))
        raise InputError(f"no scenario named {name!r} on the scenarios sheet; "
                         f"known: {', '.join(known) or 'none'}")
    return [Change(r["target"], r["value"], r["mode"] or "set",
                   f"scenario {name}, scenarios row {r[ROW]}") for r in rows]


def apply_scenario(inputs, name: str):
    """(changed inputs, change descriptions) for the named scenario."""
    changes = scenario_changes(inputs, name)
    return apply_changes(inputs, changes), [c.describe() for c in changes]


def scenario_names(inputs) -> list[str]:
    """Scenario names in sheet order."""
    return list(dict.fromkeys(inputs.frames["scenarios"]["scenario"]))
