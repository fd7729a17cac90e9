"""Scenarios and sensitivity sweeps: build once, change the HiGHS model in place, re-solve hot.

The Pyomo model is built and compiled once. Each scenario's change paths are resolved to
cells of the (expanded) input, checked like any input, and mapped to the LP numbers they
drive: row bounds (capacities, minimums, caps) and objective coefficients (prices,
costs, penalties). Those few entries are changed in one persistent ``highspy.Highs`` per
worker, which re-solves from the base case's optimal basis; the comparison row's KPIs come
from the solution arrays with numpy. This is how GAMS GUSS works.

A change that alters the model's *structure* (a new row, a blank limit becoming a number,
a composition share, a recovery, the discount rate, strict mode) cannot be mapped to a few
numbers; that scenario is rebuilt from scratch through the ordinary :func:`optimizer.solve`
path. Both paths give the same answer: the tests compare them.

Every scenario starts from the same basis, so a result never depends on which worker
solved it or what it solved before: results are identical for any ``workers``.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .changes import Change, _matching_rows, _new_value, parse_path
from .errors import InputError, IrelError
from .excel import ROW
from .highs import INF, LpData, compile_lp, new_highs
from .inputs import ModelInputs
from .schema import MRECL, SHEET_BY_NAME

KPI_COLUMNS = ["status", "objective", "revenue_pv", "policy_value_pv", "penalties_pv",
               "domestic_ndpr_share", "treaty_fulfilment_pct", "treaty_shortfall_t",
               "binding", "path", "iterations", "seconds", "explanation"]
BINDING_SHOWN = 5
"""How many binding constraints (largest |dual|, balances excluded) a comparison row lists."""
BALANCES = {"mine_dispatch", "mixed_balance", "product_balance"}


@dataclass
class Scenario:
    """One scenario: a label (what the comparison row shows) and its changes."""

    name: str
    changes: list[Change]
    label: dict[str, Any] = field(default_factory=dict)
    rebuilt: ModelInputs | None = field(default=None, repr=False)
    """Validated changed inputs, kept by :func:`prevalidate` for scenarios that need a rebuild."""


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


def check_cells(engine: SweepEngine, overlay: Mapping[tuple, Any], origin: str) -> None:
    """Validate changed cells like input cells: type, range and ids, and max_t ≥ min_t."""
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
    for (sheet, i, column) in overlay:
        if sheet == "demand" and column in ("min_t", "max_t"):
            low = typed.get(("demand", i, "min_t"), demand[i]["min_t"])
            high = typed.get(("demand", i, "max_t"), demand[i]["max_t"])
            if low is not None and high is not None and high < low:
                problems.append(Problem("demand", demand[i][ROW], "max_t", high,
                                        f"a number ≥ min_t ({low:g})"))
    if problems:
        raise InputError(list(dict.fromkeys(problems)), source=origin)


# --- the engine: one built model, changes mapped to LP numbers ----------------------------

class SweepEngine:
    """The base LP plus everything needed to turn a scenario into a few LP edits."""

    def __init__(self, inputs: ModelInputs, *, strict: bool | None = None):
        from .model import build_model

        self.inputs = inputs
        self.strict = inputs.strict if strict is None else strict
        self.lp: LpData = compile_lp(build_model(inputs, strict=self.strict))
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


def _edit_plant_cost(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    P = e.P
    for i in rows:
        c, cost = view("plants", i, "plant"), view("plants", i, "unit_cost")
        for t in P.PERIODS:
            if view("plants", i, "stage") == "cracking":
                for (m, c2) in P.ROUTES:
                    if c2 == c:
                        ed.cost(e.col("crack_t", (m, c, t)),
                                -P.df[t] * (P.transport_cost[m, c] + cost))
            else:
                for m in P.MINES:
                    ed.cost(e.col("separate_t", (m, c, t)), -P.df[t] * cost)


def _edit_transport(e: SweepEngine, ed: Edits, view: _View, rows: list[int]) -> None:
    P = e.P
    for i in rows:
        m, c = view("routes", i, "mine"), view("routes", i, "plant")
        for t in P.PERIODS:
            ed.cost(e.col("crack_t", (m, c, t)),
                    -P.df[t] * (view("routes", i, "transport_cost") + P.unit_cost[c]))


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


# --- running scenarios ------------------------------------------------------------------

class Worker:
    """One persistent HiGHS model; every scenario starts from the base optimal basis."""

    def __init__(self, engine: SweepEngine):
        from .highs import run_highs

        self.engine = engine
        self.h = new_highs(engine.lp)
        base = run_highs(self.h)
        if base.status != "optimal":
            self.basis = None
        else:
            self.basis = self.h.getBasis()
        self.base = base

    def solve(self, edits: Edits) -> dict[str, Any]:
        """Apply the edits, re-solve hot from the base basis, read KPIs, undo the edits."""
        h, lp = self.h, self.engine.lp
        if self.basis is not None:
            h.setBasis(self.basis)
        rows, costs = edits.rows, edits.costs
        if rows:
            idx = np.fromiter(rows, dtype=np.int32, count=len(rows))
            bounds = np.array(list(rows.values()), dtype=float)
            h.changeRowsBounds(len(idx), idx, bounds[:, 0], bounds[:, 1])
        if costs:
            idx_c = np.fromiter(costs, dtype=np.int32, count=len(costs))
            h.changeColsCost(len(idx_c), idx_c, np.fromiter(costs.values(), float, len(costs)))
        start = time.perf_counter()
        h.run()
        seconds = time.perf_counter() - start
        row = self._kpis(edits)
        row["seconds"] = seconds
        if rows:
            h.changeRowsBounds(len(idx), idx, lp.row_lower[idx], lp.row_upper[idx])
        if costs:
            h.changeColsCost(len(idx_c), idx_c, lp.c[idx_c])
        return row

    def _kpis(self, edits: Edits) -> dict[str, Any]:
        e, h = self.engine, self.h
        info = h.getInfo()
        status = h.modelStatusToString(h.getModelStatus()).lower()
        row: dict[str, Any] = {"status": status, "iterations": int(info.simplex_iteration_count)}
        if status != "optimal":
            return row
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        dual = np.asarray(sol.row_dual)

        def vec(name: str, base: np.ndarray) -> np.ndarray:
            changed = edits.kpi.get(name)
            if not changed:
                return base
            v = base.copy()
            v[list(changed)] = list(changed.values())
            return v

        row["objective"] = float(info.objective_function_value)
        row["revenue_pv"] = float(vec("revenue", e.revenue) @ x)
        row["policy_value_pv"] = float(vec("policy", e.policy) @ x)
        row["penalties_pv"] = 0.0 - float(vec("penalty", e.penalty) @ x)
        total = float(e.ndpr_all @ x)
        row["domestic_ndpr_share"] = float(e.ndpr_domestic @ x) / total if total > 1e-9 else None
        if e.treaty_rows:
            mins = e.treaty_min.copy()
            for k, v in edits.treaty_min.items():
                mins[k] = v
            delivered = np.array([x[e.cols_of_demand[d]].sum() for d in e.treaty_rows])
            committed = mins.sum()
            row["treaty_fulfilment_pct"] = (100.0 * np.minimum(delivered, mins).sum() / committed
                                            if committed > 1e-9 else None)
            short = float(np.maximum(mins - delivered, 0.0).sum())
            row["treaty_shortfall_t"] = short if short > 1e-6 else 0.0
        keep = np.flatnonzero(e.keep_rows & (np.abs(dual) > 1e-7))
        top = keep[np.lexsort((keep, -np.abs(dual[keep])))][:BINDING_SHOWN]
        row["binding"] = "; ".join(
            f"{e.lp.row_keys[i][0]}[{', '.join(e.lp.row_keys[i][1])}]={dual[i]:.4g}" for i in top)
        return row


def _solve_one(engine: SweepEngine, worker: Worker, scenario: Scenario) -> dict[str, Any]:
    """The comparison row of one scenario: fast path if possible, else rebuilt."""
    origin = f"scenario {scenario.name}"
    try:
        try:
            overlay = resolve_cells(engine, scenario.changes)
            check_cells(engine, overlay, origin)
            edits = engine.edits(overlay)
        except StructuralChange:
            row = _rebuild(engine, scenario)
        else:
            row = worker.solve(edits)
            row["path"] = "hot"
    except IrelError as exc:
        row = {"status": "invalid", "explanation": str(exc), "path": "none"}
    if row.get("status") == "infeasible" and engine.strict and "explanation" not in row:
        row["explanation"] = _explain(engine, scenario)
    return row


def _rebuild(engine: SweepEngine, scenario: Scenario) -> dict[str, Any]:
    """Apply the changes to the inputs, validate, build and solve from scratch."""
    from .changes import apply_changes

    changed = scenario.rebuilt or apply_changes(engine.inputs, scenario.changes)
    sub = SweepEngine(changed, strict=engine.strict)
    start = time.perf_counter()
    worker = Worker(sub)
    row = worker._kpis(Edits(sub))
    row["seconds"] = time.perf_counter() - start
    row["path"] = "rebuilt"
    return row


def _explain(engine: SweepEngine, scenario: Scenario) -> str:
    from .changes import apply_changes
    from .run import solve

    try:
        return solve(apply_changes(engine.inputs, scenario.changes), strict=True,
                     sensitivity=False).explanation or ""
    except IrelError as exc:  # pragma: no cover - already validated
        return str(exc)


# Worker processes inherit the engine by fork (or receive it pickled) and keep one model.
_STATE: dict[str, Any] = {}


def _init_process(engine: SweepEngine | None) -> None:
    if engine is not None:
        _STATE["engine"] = engine
    _STATE["worker"] = Worker(_STATE["engine"])


def _run_chunk(chunk: list[tuple[int, Scenario]], engine: SweepEngine | None = None
               ) -> list[tuple[int, dict]]:
    if engine is not None and _STATE.get("engine") is not engine:
        _init_process(engine)
    engine, worker = _STATE["engine"], _STATE["worker"]
    return [(n, _solve_one(engine, worker, s)) for n, s in chunk]


def prevalidate(engine: SweepEngine, scenarios: Sequence[Scenario]) -> None:
    """Check every scenario before anything is solved; raise InputError listing all bad ones.

    Each distinct change is resolved and checked once; a scenario that needs a rebuild is
    validated whole (and the validated inputs kept for the rebuild). Problems that only a
    combination of hot changes creates (say max below min from two sweep axes) are caught
    per scenario by the workers and reported as an 'invalid' row.
    """
    from .changes import apply_changes

    checked: dict[tuple, str | None] = {}
    problems: dict[str, list[str]] = {}  # message -> scenarios it occurs in
    for scenario in scenarios:
        try:
            try:
                for change in scenario.changes:
                    key = (change.path, repr(change.value), change.mode)
                    if key not in checked:
                        checked[key] = _check_change(engine, change)
                    if checked[key]:
                        problems.setdefault(checked[key], []).append(scenario.name)
            except StructuralChange:
                scenario.rebuilt = apply_changes(engine.inputs, scenario.changes)
        except IrelError as exc:
            problems.setdefault(str(exc), []).append(scenario.name)
    if problems:
        lines = []
        for message, names in list(problems.items())[:MAX_PROBLEMS_SHOWN]:
            listed = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            lines.append(f"{message}\n  (scenario{'s' if len(names) > 1 else ''} {listed})")
        more = len(problems) - len(lines)
        raise InputError("nothing was solved; fix these changes first:\n" + "\n".join(lines)
                         + (f"\n... and {more} more problems" if more else ""))


def _check_change(engine: SweepEngine, change: Change) -> str | None:
    """The problem with one change on its own, or None (StructuralChange passes through)."""
    try:
        overlay = resolve_cells(engine, [change])
        check_cells(engine, overlay, change.origin)
        engine.edits(overlay)
    except InputError as exc:
        return str(exc)
    return None


MAX_PROBLEMS_SHOWN = 20


def _chunks(items: list, count: int) -> list[list]:
    size = max(1, math.ceil(len(items) / count))
    return [items[i:i + size] for i in range(0, len(items), size)]


def run_scenarios(inputs: ModelInputs, scenarios: Sequence[Scenario], *, workers: int = 1,
                  dask_address: str | None = None, strict: bool | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  engine: SweepEngine | None = None) -> pd.DataFrame:
    """Solve every scenario; one row each, in the order given, plus the base case first.

    Invalid changes stop the run before anything is solved (InputError naming each path
    and the scenario or option it came from). After that, one failed or infeasible scenario
    never stops the batch: its row records the status (and, in strict mode, the
    explanation).
    """
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    engine = engine or SweepEngine(inputs, strict=strict)
    prevalidate(engine, scenarios)
    items = list(enumerate(scenarios))
    results: dict[int, dict] = {}
    done = 0

    def collect(part):
        nonlocal done
        for n, row in part:
            results[n] = row
        done += len(part)
        if progress:
            progress(done, len(items))

    if dask_address:
        from .parallel import run_on_dask

        for part in run_on_dask(dask_address, engine, _chunks(items, 8 * max(1, workers)),
                                _run_chunk):
            collect(part)
    elif workers == 1 or len(items) < 2 * workers:
        _STATE["engine"] = engine
        _STATE["worker"] = Worker(engine)
        for chunk in _chunks(items, max(1, len(items) // 50 or 1)):
            collect(_run_chunk(chunk))
    else:
        from .parallel import run_on_pool

        for part in run_on_pool(engine, _chunks(items, 4 * workers), workers, _run_chunk,
                                _init_process):
            collect(part)
    base = Worker(engine)._kpis(Edits(engine)) | {"path": "base", "seconds": None}
    rows = [{"scenario": "base", **base}]
    for n, scenario in items:
        rows.append({"scenario": scenario.name, **scenario.label, **results[n]})
    label_cols = list(dict.fromkeys(k for s in scenarios for k in s.label))
    frame = pd.DataFrame(rows)
    for col in KPI_COLUMNS:
        if col not in frame.columns:
            frame[col] = None
    return frame[["scenario", *label_cols, *KPI_COLUMNS]]


# --- building scenarios -------------------------------------------------------------------

def parse_values(text: str, option: str) -> list[Any]:
    """VALUES: ``a,b,c`` or ``start:stop:count`` (inclusive, evenly spaced); ``blank``
    stands for an empty cell."""
    from .validate import _Bad, to_number

    parts = text.split(":")
    if len(parts) == 3:
        try:
            start, stop, count = to_number(parts[0]), to_number(parts[1]), to_number(parts[2])
        except _Bad:
            raise InputError(f"{option}: cannot read {text!r} as start:stop:count") from None
        if count < 1 or not float(count).is_integer():
            raise InputError(f"{option}: count in {text!r} must be a whole number ≥ 1")
        return [float(v) for v in np.linspace(start, stop, int(count))]
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise InputError(f"{option}: no values in {text!r}")
    out: list[Any] = []
    for v in values:
        if v.lower() == "blank":  # an empty cell, e.g. a pending mine never approved
            out.append(None)
            continue
        try:
            out.append(to_number(v))
        except _Bad:
            out.append(v)
    return out


def grid(axes: Sequence[tuple[str, str, list[Any]]], *, zip_axes: bool = False,
         origin: str = "sweep axis") -> list[Scenario]:
    """Scenarios from ``(path, mode, values)`` axes: the cartesian product, or zipped."""
    if zip_axes:
        lengths = {len(v) for _, _, v in axes}
        if len(lengths) > 1:
            raise InputError("--zip needs the same number of values for every option; got "
                             + ", ".join(f"{p}: {len(v)}" for p, _, v in axes))
        combos = list(zip(*(v for _, _, v in axes)))
    else:
        combos = list(itertools.product(*(v for _, _, v in axes)))
    scenarios = []
    for n, combo in enumerate(combos, 1):
        changes = [Change(path, value, mode, f"{origin} --{mode} {path}={value}")
                   for (path, mode, _), value in zip(axes, combo)]
        label = {f"{path}" + ("" if mode == "set" else f" ({mode})"): value
                 for (path, mode, _), value in zip(axes, combo)}
        scenarios.append(Scenario(f"s{n}", changes, label))
    return scenarios


def named_scenarios(inputs: ModelInputs, only: Iterable[str] | None = None) -> list[Scenario]:
    """The named scenarios of the workbook's ``scenarios`` sheet (optionally some only)."""
    from .changes import scenario_changes, scenario_names

    names = scenario_names(inputs)
    if only:
        unknown = [n for n in only if n not in names]
        if unknown:
            raise InputError(f"unknown scenario(s) {', '.join(unknown)}; known: "
                             f"{', '.join(names) or 'none'}")
        names = [n for n in names if n in set(only)]
    return [Scenario(n, scenario_changes(inputs, n),
                     {"changes": "; ".join(c.describe() for c in scenario_changes(inputs, n))})
            for n in names]


def sweep(inputs: ModelInputs, changes: Mapping[str, Sequence[Any]] | Sequence[Scenario],
          workers: int = 1, *, mode: str = "set", zip_axes: bool = False,
          strict: bool | None = None, dask_address: str | None = None) -> pd.DataFrame:
    """Solve a sweep and return one comparison row per scenario (the base case first).

    ``changes`` maps change paths to the values to try (``{"demand.min_t[customer=X_TREI]":
    [0, 500, 1000]}``); several paths form the cartesian product, or pairs with
    ``zip_axes``. A list of :class:`Scenario` is also accepted.
    """
    if isinstance(changes, Mapping):
        scenarios = grid([(p, mode, list(v)) for p, v in changes.items()], zip_axes=zip_axes)
    else:
        scenarios = list(changes)
    return run_scenarios(inputs, scenarios, workers=workers, strict=strict,
                         dask_address=dask_address)


def progress_printer(label: str) -> Callable[[int, int], None] | None:
    """A one-line progress bar on a TTY (stderr); None when piped or in CI."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return None
    start = time.perf_counter()

    def show(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        rate = done / max(time.perf_counter() - start, 1e-9)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                         f"({rate:,.0f}/s)")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
