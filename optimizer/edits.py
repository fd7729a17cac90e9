"""Scenario changes -> in-place edits of the built LP (row bounds and objective costs).

A :class:`SweepEngine` holds the base LP, compiled once from the Pyomo model, and plain
copies of the input records. For a scenario it resolves each change path to cells,
checks the changed cells like input cells, and maps them to the LP numbers they drive:

==========================================  ==============================================
changed input                               LP edit
==========================================  ==============================================
demand.min_t / max_t                        demand_min / demand_max row bounds
demand.price / policy_value                 objective coefficients of the sales columns
demand.shortfall_penalty (and the default)  objective coefficients of the shortfall columns
mines.capacity_t / status / approved_from   mine_capacity bounds (capacity × years × avail)
plants.capacity_t, capacity_profile         cracking / separation capacity bounds
product_caps, export_caps, storage          their row bounds
products.initial_stock_t                    first-period product_balance bounds
costs and values (mining, unit, transport,  objective coefficients
holding, disposal, terminal)
settings.thorium_storage_t                  thorium_storage bounds
==========================================  ==============================================

Anything else changes the model's structure (coefficients of the matrix, new rows or
columns, discounting) and raises :class:`StructuralChange`: the caller rebuilds instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .changes import Change, _matching_rows, _new_value, parse_path
from .errors import InputError
from .excel import ROW
from .highs import INF, LpData
from .inputs import ModelInputs
from .schema import MRECL, SHEET_BY_NAME

BALANCES = {"mine_dispatch", "mixed_balance", "product_balance"}


class StructuralChange(Exception):
    """The change cannot be mapped to bounds and costs of the built model."""


# --- resolving changes to cells -----------------------------------------------------------

def resolve_cells(engine: SweepEngine, changes: Sequence[Change]) -> dict[tuple, Any]:
    """{(sheet, row position, column): new value} for changes that match existing rows.

    Raises StructuralChange when a change would create rows, or when its filter reads a
    column that an earlier change of the same scenario modifies (the exact, rebuilt path
    then applies the changes in order); InputError for bad paths.
    """
    overlay: dict[tuple, Any] = {}
    changed_columns: set[tuple[str, str]] = set()
    for change in changes:
        cp, hits = engine.match(change)
        if not hits or any((cp.sheet, f.column) in changed_columns for f in cp.filters):
            raise StructuralChange(change.path)
        records = engine.records[cp.sheet]
        for i in hits:
            key = (cp.sheet, i, cp.column)
            old = overlay.get(key, records[i][cp.column])
            overlay[key] = _new_value(old, change, cp)
        changed_columns.add((cp.sheet, cp.column))
    return overlay


def check_cells(engine: SweepEngine, overlay: Mapping[tuple, Any], origin: str, *,
                cross: bool = True) -> None:
    """Validate changed cells like input cells: type, range and ids, and (``cross``)
    checks between cells such as max_t ≥ min_t. Raises InputError naming each cell."""
    from .errors import Problem
    from .validate import _Bad, _convert, is_blank

    problems = []
    typed: dict[tuple, Any] = {}
    for (sheet, i, column), value in overlay.items():
        row = engine.records[sheet][i][ROW]
        letter = engine.inputs.letters.get(sheet, {}).get(column)
        cell = f"{letter}{row}" if letter and row is not None else None
        if sheet == "settings":
            typed[sheet, i, column] = value
            continue
        col = SHEET_BY_NAME[sheet].column(column)
        if is_blank(value):
            if col.required:
                problems.append(Problem(sheet, row, column, None, col.expectation(), cell))
            typed[sheet, i, column] = None
            continue
        try:
            typed[sheet, i, column] = _convert(col, value)
        except _Bad:
            problems.append(Problem(sheet, row, column, value, col.expectation(), cell))
            continue
        if col.ref and typed[sheet, i, column] not in engine.refs[col.ref]:
            problems.append(Problem(sheet, row, column, value, col.expectation(), cell))
    demand = engine.records["demand"]
    for (sheet, i, column) in overlay if cross else ():
        if sheet == "demand" and column in ("min_t", "max_t"):
            low = typed.get(("demand", i, "min_t"), demand[i]["min_t"])
            high = typed.get(("demand", i, "max_t"), demand[i]["max_t"])
            if low is not None and high is not None and high < low:
                letter = engine.inputs.letters.get("demand", {}).get("max_t")
                row = demand[i][ROW]
                problems.append(Problem("demand", row, "max_t", high, f"a number ≥ min_t ({low:g})",
                                        f"{letter}{row}" if letter and row is not None else None))
    if problems:
        raise InputError(list(dict.fromkeys(problems)), source=origin)


# --- the engine: one built model, changes mapped to LP numbers ----------------------------

class SweepEngine:
    """The base LP plus everything needed to turn a scenario into a few LP edits."""

    def __init__(self, inputs: ModelInputs, *, strict: bool | None = None):
        from .model import build_lp

        self.inputs = inputs
        self.strict = inputs.strict if strict is None else strict
        self.lp: LpData = build_lp(inputs, strict=self.strict)
        lp, P = self.lp, inputs.params
        self.P = P
        self.col_of = {key: j for j, key in enumerate(lp.col_keys)}
        self.row_of = {key: i for i, key in enumerate(lp.row_keys)}
        self.cols_of_demand: dict[tuple, list[int]] = defaultdict(list)
        for j, (name, idx) in enumerate(lp.col_keys):
            if name == "sale_t":
                self.cols_of_demand[idx].append(j)
            elif name == "mixed_sale_t":
                self.cols_of_demand[(idx[1], MRECL, idx[2])].append(j)
        frames = inputs.frames
        from .validate import _ref_sets, is_blank

        # Plain records (blanks as None): scenarios read cells here, never through pandas.
        self.records = {name: [{k: (None if is_blank(v) else v) for k, v in r.items()}
                               for r in frame.to_dict("records")]
                        for name, frame in frames.items()}
        self.refs = _ref_sets(frames)
        self._matches: dict[str, tuple] = {}
        self.mine_pos = {m: i for i, m in enumerate(frames["mines"]["mine"])}
        self.plant_pos = {c: i for i, c in enumerate(frames["plants"]["plant"])}
        self.route_pos = {(m, c): i for i, (m, c) in enumerate(
            zip(frames["routes"]["mine"], frames["routes"]["plant"]))}
        self.profile_pos = {(r, t): i for i, (r, t) in enumerate(
            zip(frames["capacity_profile"]["entity"], frames["capacity_profile"]["period"]))}
        self._kpi_vectors()
        self.keep_rows = np.array([f not in BALANCES for f, _ in lp.row_keys])

    # KPI weights as vectors over columns, so a comparison row is a few dot products.
    def _kpi_vectors(self) -> None:
        from .report import ndpr_product

        P, lp = self.P, self.lp
        n = len(lp.c)
        self.revenue = np.zeros(n)
        self.policy = np.zeros(n)
        self.penalty = np.zeros(n)
        self.ndpr_all = np.zeros(n)
        self.ndpr_domestic = np.zeros(n)
        ndpr = ndpr_product(P)
        for j, (name, idx) in enumerate(lp.col_keys):
            if name in ("sale_t", "mixed_sale_t"):
                d = idx if name == "sale_t" else (idx[1], MRECL, idx[2])
                self.revenue[j] = P.df[d[2]] * P.price[d]
                self.policy[j] = P.df[d[2]] * P.policy_value[d]
                weight = (1.0 if d[1] == ndpr else 0.0) if name == "sale_t" \
                    else P.share.get((idx[0], ndpr), 0.0)
                self.ndpr_all[j] = weight
                self.ndpr_domestic[j] = weight if P.kind[d[0]] == "domestic" else 0.0
            elif name == "shortfall_t":
                self.penalty[j] = P.df[idx[2]] * P.shortfall_penalty[idx]
        self.treaty_rows = [d for d in P.DEMAND if P.treaty[d[0]] and P.min_t[d] > 0]
        self.treaty_min = np.array([P.min_t[d] * P.years[d[2]] for d in self.treaty_rows])

    def match(self, change: Change):
        """(parsed path, matching row positions) of a change, cached by path text."""
        hit = self._matches.get(change.path)
        if hit is None:
            cp = parse_path(change.path, change.origin)
            hits = _matching_rows(self.inputs.frames[cp.sheet], SHEET_BY_NAME[cp.sheet], cp,
                                  self.P.PERIODS, change.origin)
            hit = self._matches[change.path] = (cp, hits)
        return hit

    # --- edits ------------------------------------------------------------------------------
    def edits(self, overlay: Mapping[tuple, Any]) -> Edits:
        """LP edits for a cell overlay. Raises StructuralChange when bounds/costs won't do."""
        edits = Edits(self)
        handlers: dict[tuple[str, str], Callable] = EDIT_HANDLERS
        touched: dict[tuple[str, str], set[int]] = defaultdict(set)
        for (sheet, i, column) in overlay:
            if (sheet, column) not in handlers:
                raise StructuralChange(f"{sheet}.{column}")
            touched[sheet, column].add(i)
        view = _View(self, overlay)
        for (sheet, column), rows in sorted(touched.items()):
            handlers[sheet, column](self, edits, view, sorted(rows))
        return edits

    # helpers used by the handlers
    def row(self, family: str, idx: tuple) -> int | None:
        return self.row_of.get((family, idx))

    def col(self, name: str, idx: tuple) -> int | None:
        return self.col_of.get((name, idx))


class _View:
    """Reads a cell of the input with the scenario's overlay applied (typed)."""

    def __init__(self, engine: SweepEngine, overlay: Mapping[tuple, Any]):
        from .validate import to_number

        self.records = engine.records
        self.overlay = {}
        for key, value in overlay.items():
            number = key[0] != "settings" and value is not None and \
                SHEET_BY_NAME[key[0]].column(key[2]).kind == "number"
            self.overlay[key] = to_number(value) if number else value

    def __call__(self, sheet: str, i: int, column: str) -> Any:
        key = (sheet, i, column)
        return self.overlay[key] if key in self.overlay else self.records[sheet][i][column]

    def record(self, sheet: str, i: int) -> dict:
        return {c: self(sheet, i, c) for c in self.records[sheet][i] if c != ROW}


class Edits:
    """Row-bound and cost edits of one scenario, plus its KPI weight changes."""

    def __init__(self, engine: SweepEngine):
        self.engine = engine
        self.rows: dict[int, tuple[float, float]] = {}
        self.costs: dict[int, float] = {}
        self.kpi: dict[str, dict[int, float]] = defaultdict(dict)
        self.treaty_min: dict[int, float] = {}

    def bound(self, i: int | None, lower: float | None = None, upper: float | None = None,
              what: str = "") -> None:
        if i is None:
            raise StructuralChange(what or "no such row in the model")
        lp = self.engine.lp
        low, up = self.rows.get(i, (lp.row_lower[i], lp.row_upper[i]))
        self.rows[i] = (low if lower is None else lower, up if upper is None else upper)

    def cost(self, j: int | None, value: float, what: str = "") -> None:
        if j is None:
            raise StructuralChange(what or "no such column in the model")
        self.costs[j] = value


# Each handler maps changed cells of one sheet.column to LP edits. They read every input
# through the view, so two changes in one scenario (e.g. price and policy_value) combine.

def _demand_key(view: _View, i: int) -> tuple:
    r = view.records["demand"][i]  # key columns are never changed on the hot path
    return (r["customer"], r["product"], r["period"])


def _edit_demand_min(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    P = e.P
    for i in rows:
        d = _demand_key(view, i)
        low = (view("demand", i, "min_t") or 0.0) * P.years[d[2]]
        row = e.row("demand_min", d)
        if row is None:
            if low > 0:
                raise StructuralChange("a new minimum")
            continue
        ed.bound(row, lower=low)
        if d in e.treaty_rows:
            ed.treaty_min[e.treaty_rows.index(d)] = low


def _edit_demand_max(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    for i in rows:
        d = _demand_key(view, i)
        high = view("demand", i, "max_t")
        ed.bound(e.row("demand_max", d), upper=INF if high is None else high * e.P.years[d[2]],
                 what="a new maximum")


def _edit_demand_value(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    P = e.P
    for i in rows:
        d = _demand_key(view, i)
        price, pv = view("demand", i, "price"), view("demand", i, "policy_value") or 0.0
        for j in e.cols_of_demand[d]:
            ed.cost(j, P.df[d[2]] * (price + pv))
            ed.kpi["revenue"][j] = P.df[d[2]] * price
            ed.kpi["policy"][j] = P.df[d[2]] * pv


def _edit_penalty(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    P = e.P
    default = _setting(e, view, "default_shortfall_penalty")
    for i in (range(len(e.records["demand"])) if rows is None else rows):
        d = _demand_key(view, i)
        j = e.col("shortfall_t", d)
        if j is None:
            continue
        pen = view("demand", i, "shortfall_penalty")
        pen = default if pen is None else pen
        ed.cost(j, -P.df[d[2]] * pen)
        ed.kpi["penalty"][j] = P.df[d[2]] * pen


def _setting(e: SweepEngine, view: _View, key: str) -> Any:
    from .validate import _Collector, _read_settings

    for i, record in enumerate(e.records["settings"]):
        if record["key"] == key and ("settings", i, "value") in view.overlay:
            single = pd.DataFrame([{**record, "value": view.overlay["settings", i, "value"]}])
            out = _Collector({})
            value = _read_settings(single, out)[key]
            if out.problems:
                raise InputError(out.problems, source="settings change")
            return value
    return e.inputs.settings[key]


def _edit_settings(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    for i in rows:
        key = e.records["settings"][i]["key"]
        if key == "default_shortfall_penalty":
            _edit_penalty(e, ed, view, None)
        elif key == "thorium_storage_t":
            cap = _setting(e, view, key)
            for t in e.P.PERIODS:
                row = e.row("thorium_storage", (t,))
                if row is None and cap is None:
                    continue
                ed.bound(row, upper=INF if cap is None else cap * e.P.years[t],
                         what="a new thorium limit")
        elif key == "currency":
            continue
        elif key == "strict" and bool(_setting(e, view, key)) == e.strict:
            continue
        else:
            raise StructuralChange(f"settings {key}")


def _avail(e: SweepEngine, view: _View, i: int, t: str) -> int:
    order = {p: n for n, p in enumerate(e.P.PERIODS)}
    status, start = view("mines", i, "status"), view("mines", i, "approved_from")
    if status == "approved":
        return int(start is None or order[t] >= order[start])
    return int(start is not None and order[t] >= order[start])


def _capacity(e: SweepEngine, view: _View, sheet: str, i: int, t: str) -> float:
    """capacity_t of a mine or plant in period t: the capacity_profile row wins."""
    entity = view(sheet, i, "mine" if sheet == "mines" else "plant")
    k = e.profile_pos.get((entity, t))
    return view("capacity_profile", k, "capacity_t") if k is not None \
        else view(sheet, i, "capacity_t")


def _edit_mines(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    for i in rows:
        m = view("mines", i, "mine")
        for t in e.P.PERIODS:
            cap = _capacity(e, view, "mines", i, t) * e.P.years[t] * _avail(e, view, i, t)
            ed.bound(e.row("mine_capacity", (m, t)), upper=cap)


def _edit_plant_capacity(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    for i in rows:
        c = view("plants", i, "plant")
        family = "cracking_capacity" if view("plants", i, "stage") == "cracking" \
            else "separation_capacity"
        for t in e.P.PERIODS:
            ed.bound(e.row(family, (c, t)), upper=_capacity(e, view, "plants", i, t) * e.P.years[t])


def _edit_profile(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    for i in rows:
        entity = view("capacity_profile", i, "entity")
        if entity in e.mine_pos:
            _edit_mines(e, ed, view, [e.mine_pos[entity]])
        else:
            _edit_plant_capacity(e, ed, view, [e.plant_pos[entity]])


def _edit_mining_cost(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    for i in rows:
        m = view("mines", i, "mine")
        for t in e.P.PERIODS:
            ed.cost(e.col("mine_t", (m, t)), -e.P.df[t] * view("mines", i, "mining_cost"))


def _crack_cost(e: SweepEngine, view: _View, m: str, c: str) -> float:
    """transport_cost[m,c] + unit_cost[c], both as the scenario has them."""
    i = e.route_pos.get((m, c))
    transport = view("routes", i, "transport_cost") if i is not None else 0.0
    return (transport or 0.0) + (view("plants", e.plant_pos[c], "unit_cost") or 0.0)


def _edit_plant_cost(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    P = e.P
    for i in rows:
        c = view("plants", i, "plant")
        for t in P.PERIODS:
            if view("plants", i, "stage") == "cracking":
                for (m, c2) in P.ROUTES:
                    if c2 == c:
                        ed.cost(e.col("crack_t", (m, c, t)), -P.df[t] * _crack_cost(e, view, m, c))
            else:
                for m in P.MINES:
                    ed.cost(e.col("separate_t", (m, c, t)), -P.df[t] * view("plants", i, "unit_cost"))


def _edit_transport(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    P = e.P
    for i in rows:
        m, c = view("routes", i, "mine"), view("routes", i, "plant")
        for t in P.PERIODS:
            ed.cost(e.col("crack_t", (m, c, t)), -P.df[t] * _crack_cost(e, view, m, c))


def _edit_line_cap(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    for i in rows:
        r = view.record("product_caps", i)
        ed.bound(e.row("product_line_cap", (r["plant"], r["product"], r["period"])),
                 upper=r["max_t"] * e.P.years[r["period"]])


def _edit_export_cap(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    for i in rows:
        r = view.record("export_caps", i)
        ed.bound(e.row("export_cap", (r["product"], r["period"])),
                 upper=r["max_t"] * e.P.years[r["period"]])


def _edit_products(e: SweepEngine, ed: Edits, view: _View, rows: list[int], column: str) -> None:
    P = e.P
    first, last = P.PERIODS[0], P.PERIODS[-1]
    for i in rows:
        p = view("products", i, "product")
        if column == "storage_capacity_t":
            cap = view("products", i, column)
            for t in P.PERIODS:
                ed.bound(e.row("storage_capacity", (p, t)), upper=INF if cap is None else cap,
                         what="a new storage limit")
        elif column == "initial_stock_t":
            stock = view("products", i, column)
            ed.bound(e.row("product_balance", (p, first)), lower=stock, upper=stock)
        elif column in ("holding_cost", "terminal_value"):
            hold, term = view("products", i, "holding_cost"), view("products", i, "terminal_value")
            for t in P.PERIODS:
                ed.cost(e.col("stock_t", (p, t)), -P.df[t] * hold * P.years[t]
                        + (P.df[t] * term if t == last else 0.0))
        elif column == "disposal_cost":
            cost = view("products", i, column)
            for t in P.PERIODS:
                if cost is None:
                    raise StructuralChange("disposal switched off")
                ed.cost(e.col("dispose_t", (p, t)), -P.df[t] * cost, what="disposal switched on")


def _products(column: str):
    return lambda e, ed, view, rows: _edit_products(e, ed, view, rows, column)


EDIT_HANDLERS: dict[tuple[str, str], Callable] = {
    ("demand", "min_t"): _edit_demand_min,
    ("demand", "max_t"): _edit_demand_max,
    ("demand", "price"): _edit_demand_value,
    ("demand", "policy_value"): _edit_demand_value,
    ("demand", "shortfall_penalty"): _edit_penalty,
    ("mines", "capacity_t"): _edit_mines,
    ("mines", "status"): _edit_mines,
    ("mines", "approved_from"): _edit_mines,
    ("mines", "mining_cost"): _edit_mining_cost,
    ("plants", "capacity_t"): _edit_plant_capacity,
    ("plants", "unit_cost"): _edit_plant_cost,
    ("capacity_profile", "capacity_t"): _edit_profile,
    ("routes", "transport_cost"): _edit_transport,
    ("product_caps", "max_t"): _edit_line_cap,
    ("export_caps", "max_t"): _edit_export_cap,
    ("settings", "value"): _edit_settings,
    **{("products", c): _products(c) for c in ("storage_capacity_t", "initial_stock_t",
                                                  "holding_cost", "terminal_value",
                                                  "disposal_cost")},
}
