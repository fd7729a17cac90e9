"""Change paths (README: change paths): ``SHEET.COLUMN[FILTER, ...]`` applied to validated inputs.

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

import difflib
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .errors import InputError
from .excel import ROW
from .schema import SETTING_BY_KEY, SHEET_BY_NAME, Sheet
from .validate import _Bad, _ref_sets, is_blank, to_bool, to_id, to_number

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


REF_NOUNS = {"periods": "period", "mines": "mine", "cracking": "cracking plant",
             "separation": "separation plant", "products": "product", "products+MRECL": "product",
             "customers": "customer", "entities": "mine or plant"}
"""What an id of each ``Column.ref`` is called in messages ("unknown customer 'X'")."""
IDS_LISTED = 12


def _unknown(noun: str, raw: str, known: Iterable[str]) -> str:
    """``unknown customer 'X_TRE1'; did you mean 'X_TREI'?``, or the known ids when none is close."""
    known = [str(k) for k in known] if isinstance(known, (list, tuple)) else sorted(map(str, known))
    folded = {k.casefold(): k for k in known}
    close = difflib.get_close_matches(raw.casefold(), list(folded), n=1, cutoff=0.6)
    if close:
        return f"unknown {noun} {raw!r}; did you mean {folded[close[0]]!r}?"
    listing = ", ".join(known[:IDS_LISTED]) + (" ..." if len(known) > IDS_LISTED else "")
    return f"unknown {noun} {raw!r}; expected one of {listing or '(none defined)'}"


def _is_period(sheet: Sheet, column: str) -> bool:
    """Columns compared in the order of the periods sheet (its own period column too)."""
    if sheet.name == "settings":
        return False
    return sheet.column(column).ref == "periods" or (sheet.name, column) == ("periods", "period")


def _known_ids(frame: pd.DataFrame, sheet: Sheet, column: str,
               refs: Mapping[str, set[str]] | None) -> tuple[str, set[str]] | None:
    """(noun, ids) that a filter value on an id or text column must be one of, or None
    when it cannot be checked here (a ref column without ``refs``, or a setting's value)."""
    if sheet.name == "settings":
        return ("settings key", set(SETTING_BY_KEY)) if column == "key" else None
    col = sheet.column(column)
    if col.ref:
        return (REF_NOUNS.get(col.ref, column), refs[col.ref]) if refs is not None else None
    # A key column of its own sheet (mines.mine, customers.customer, ...) or free text:
    # the value must occur in the column, since a change never creates a mine or customer.
    return column, {v for v in frame[column] if not is_blank(v)}


def _comparable(frame: pd.DataFrame, sheet: Sheet, f: Filter, periods: list[str],
                refs: Mapping[str, set[str]] | None, fail: Callable[[str], InputError]
                ) -> tuple[Callable[[Any], Any], Any]:
    """A key function for the column's cells, and the filter value converted the same way.

    Every filter value is checked against what its column can hold, so that a typo is an
    error instead of a filter that matches every row (``!=``) or none.
    """
    column, raw = f.column, f.value
    col = sheet.column(column) if sheet.name != "settings" else None
    consequence = {"=": f"{column}={raw} matches no row: ",
                   "!=": f"{column}!={raw} would match every row: "}.get(f.op, "")

    def unknown(noun: str, value: str, known: Iterable[str]) -> InputError:
        return fail(consequence + _unknown(noun, value, known))

    if _is_period(sheet, column):
        order = {t: i for i, t in enumerate(periods)}
        if raw not in order:
            raise unknown("period", raw, periods)
        return (lambda v: order.get(v, -1)), order[raw]
    if f.op not in ("=", "!=") and (col is None or col.kind != "number"):
        raise fail(f"{f.op} needs a number or period column; {column} is text (use = or !=)")
    if col is not None and col.kind == "number":
        try:
            return (lambda v: v), to_number(raw)
        except _Bad:
            raise fail(f"filter value {raw!r} of {column} is not a number") from None
    if col is not None and col.kind == "choice":
        if raw.lower() not in col.choices:
            raise unknown(column, raw, col.choices)
        return (lambda v: str(v).lower()), raw.lower()
    if col is not None and col.kind == "bool":
        try:
            return to_bool, to_bool(raw)
        except _Bad:
            raise fail(f"filter value {raw!r} of {column} is not true or false "
                       "(also yes/no, 1/0)") from None
    target = to_id(raw)
    known = _known_ids(frame, sheet, column, refs)
    if known is not None and target not in known[1]:
        raise unknown(known[0], target, known[1])
    return (lambda v: v), target


def _matching_rows(frame: pd.DataFrame, sheet: Sheet, cp: ChangePath, periods: list[str],
                   origin: str, *, refs: Mapping[str, set[str]] | None = None) -> list[int]:
    """Positions of the rows every filter admits. Raises InputError for a filter value that
    names no id of its column (ids of other sheets are checked when ``refs`` is given)."""
    mask = [True] * len(frame)
    for f in cp.filters:
        key, target = _comparable(frame, sheet, f, periods, refs,
                                  lambda message: _fail(origin, cp.text, message))
        op = _OPS[f.op]
        for i, cell in enumerate(frame[f.column]):
            # a blank cell matches no filter, not even != (blank means "default")
            mask[i] = mask[i] and not is_blank(cell) and op(key(cell), target)
    return [i for i, keep in enumerate(mask) if keep]


def _new_rows(sheet: Sheet, cp: ChangePath, periods: list[str]) -> list[dict]:
    """Rows a change may create: every key pinned with '=' (period may be left open)."""
    pinned = {f.column: f.value for f in cp.filters if f.op == "="}
    keys = list(sheet.keys) + (["period"] if sheet.per_period else [])
    if sheet.name == "settings":
        keys = ["key"]
    # A key that may be blank (export_caps.scope, .customer) is left blank when not pinned.
    open_keys = [k for k in keys if k not in pinned
                 and (k in ("key", "period") or sheet.column(k).required)]
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


def _apply_one(frames: dict[str, pd.DataFrame], change: Change, periods: list[str]
               ) -> tuple[str, list[int]]:
    """Apply one change to ``frames``; returns (sheet, positions of the rows it wrote)."""
    if change.mode not in MODES:
        raise _fail(change.origin, change.path, f"unknown mode {change.mode!r}; expected "
                    "set, scale or add")
    cp = parse_path(change.path, change.origin)
    sheet = SHEET_BY_NAME[cp.sheet]
    frame = frames[cp.sheet]
    # ids of other sheets as they stand now: an earlier change may have moved a plant's stage
    refs = _ref_sets(frames) if any(sheet.name != "settings" and sheet.column(f.column).ref
                                    for f in cp.filters) else None
    hits = _matching_rows(frame, sheet, cp, periods, change.origin, refs=refs)
    if not hits:
        created = _new_rows(sheet, cp, periods) if change.mode == "set" else []
        if not created:
            raise _fail(change.origin, cp.text, "matches no row (a change creates a row only "
                        "when its filter pins every key column with =, and mode is set)")
        rows = [{ROW: None, **{c: None for c in frame.columns if c != ROW}, **r,
                 cp.column: change.value} for r in created]
        frames[cp.sheet] = pd.concat([frame, pd.DataFrame(rows, columns=frame.columns,
                                                          dtype=object)], ignore_index=True)
        return cp.sheet, list(range(len(frame), len(frame) + len(rows)))
    frame = frame.copy()
    position = frame.columns.get_loc(cp.column)
    for i in hits:
        frame.iat[i, position] = _new_value(frame.iat[i, position], change, cp)
    frames[cp.sheet] = frame
    return cp.sheet, hits


def _target_key(cp: ChangePath) -> tuple:
    """What a path targets, independent of spelling: filter order, spaces and quotes."""
    return cp.sheet, cp.column, tuple(sorted((f.column, f.op, f.value) for f in cp.filters))


def _row_words(frame: pd.DataFrame, sheet: Sheet, i: int) -> str:
    """``demand row 14 (X_TREI, MRECL, FY2028)``: the sheet row and its key values."""
    keys = [k for k in (*sheet.keys, *(["period"] if sheet.per_period else []))
            if k in frame.columns]
    ids = ", ".join("blank" if is_blank(frame[k].iat[i]) else str(frame[k].iat[i]) for k in keys)
    row = frame[ROW].iat[i] if ROW in frame.columns else None
    where = f"{sheet.name} row {row}" if not is_blank(row) else f"a new {sheet.name} row"
    return f"{where} ({ids})" if ids else where


def check_conflicts(inputs, changes: Iterable[Change]) -> None:
    """Refuse a scenario that changes one cell twice: two changes with the same target, or
    two targets that overlap (``demand.min_t[customer=X]`` and ``demand.min_t[customer=X,
    period=FY2028]``). Either would make the answer depend on the order of the rows.

    Raises InputError naming both changes (their origins) and the first shared cell. A
    change that does not apply at all is left to :func:`apply_changes` to report.
    """
    changes = list(changes)
    if len(changes) < 2:
        return
    problems: list[str] = []
    seen: dict[tuple, Change] = {}
    for change in changes:
        try:
            key = _target_key(parse_path(change.path, change.origin))
        except InputError:
            continue
        if key in seen:
            problems.append(f"{_both(seen[key], change)} have the same target "
                            f"{change.path!r}; keep one of them")
        else:
            seen[key] = change
    if not problems:
        frames = dict(inputs.frames)
        periods = list(inputs.params.PERIODS)
        owner: dict[tuple, Change] = {}
        for change in changes:
            try:
                sheet, rows = _apply_one(frames, change, periods)
            except InputError:
                break  # apply_changes reports it, with the same words
            column = parse_path(change.path).column
            for i in rows:
                first = owner.setdefault((sheet, i, column), change)
                if first is not change:
                    where = _row_words(frames[sheet], SHEET_BY_NAME[sheet], i)
                    problems.append(f"{_both(first, change)} both change {sheet}.{column} of "
                                    f"{where}; a scenario changes each cell once: merge them "
                                    "or make their filters disjoint")
                    break
    if problems:
        raise InputError("\n".join(dict.fromkeys(problems)))


def _both(a: Change, b: Change) -> str:
    """``scenario s: scenarios row 5 (PATH) and scenarios row 9 (PATH)``."""
    first, second = a.origin or "a change", b.origin or "a change"
    head, _, tail = first.rpartition(", ")
    if head and second.startswith(head + ", "):  # the same scenario: say it once
        return f"{head}: {tail} ({a.path}) and {second[len(head) + 2:]} ({b.path})"
    return f"{first} ({a.path}) and {second} ({b.path})"


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
        raise InputError(f"--scenario: no scenario named {name!r} on the scenarios sheet; "
                         + _unknown("scenario", str(name), scenario_names(inputs))
                         .split("; ", 1)[1].replace("expected one of", "known:"))
    return [Change(r["target"], r["value"], r["mode"] or "set",
                   f"scenario {name}, scenarios row {r[ROW]}") for r in rows]


def apply_scenario(inputs, name: str):
    """(changed inputs, change descriptions) for the named scenario."""
    changes = scenario_changes(inputs, name)
    check_conflicts(inputs, changes)
    return apply_changes(inputs, changes), [c.describe() for c in changes]


def scenario_names(inputs) -> list[str]:
    """Scenario names in sheet order."""
    return list(dict.fromkeys(inputs.frames["scenarios"]["scenario"]))
