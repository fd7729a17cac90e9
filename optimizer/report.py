"""Solved LP -> tidy pandas tables (docs/outputs.md). Pure pandas: no Pyomo, no Excel.

Every table is long/tidy with one header row. Money in the tables is undiscounted cash in
the period unless a column says ``_pv`` (present value, discounted with df[t]); the
summary's objective components are present values and add up to the objective.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from .highs import LpData, LpSolution
from .inputs import ModelInputs, Params
from .schema import MRECL

TOL = 1e-7
NDPR = "ndpr"


def ndpr_product(P: Params) -> str | None:
    """The product id that stands for NdPr oxide (matched case-insensitively)."""
    return next((p for p in P.PRODUCTS if p.lower() == NDPR), None)


def _util(used: float, cap: float | None) -> float | None:
    if cap is None:
        return None
    return used / cap if cap > 0 else (0.0 if used <= TOL else None)


class Values:
    """Variable values by (name, index), zero where a column was not in the LP."""

    def __init__(self, lp: LpData, sol: LpSolution):
        self.by_var: dict[str, dict[tuple, float]] = defaultdict(dict)
        for (name, idx), value in zip(lp.col_keys, sol.x):
            self.by_var[name][idx] = 0.0 if abs(value) < 1e-9 else float(value)

    def __call__(self, name: str, *idx) -> float:
        return self.by_var[name].get(idx, 0.0)


# --- constraint descriptions: source cell and business meaning of the dual ----------------

def source_cell(inputs: ModelInputs, family: str, idx: tuple) -> str:
    """The input cell a row's right-hand side comes from, as its family declares it."""
    from .model import FAMILY

    sheet, key, column = FAMILY[family].cell(inputs.rows, idx)
    if sheet == "settings":
        return f"settings: {key[0]}"
    return inputs.cell(sheet, inputs.rows.get(sheet, {}).get(key), column)


def constraint_table(inputs: ModelInputs, lp: LpData, sol: LpSolution,
                     ranges=None) -> pd.DataFrame:
    """One row per constraint: activity, rhs, slack, binding, dual (currency per unit RHS),
    and with ``ranges`` the allowable increase/decrease of the RHS (Excel semantics)."""
    rhs = lp.rhs
    slack = np.where(lp.row_sense < 0, sol.activity - rhs, rhs - sol.activity)
    slack = np.where(lp.row_sense == 0, 0.0, slack)
    binding = (lp.row_sense == 0) | (np.abs(slack) <= 1e-6 * np.maximum(1.0, np.abs(rhs)))
    from .model import FAMILY

    rows = []
    for i, (family, idx) in enumerate(lp.row_keys):
        rows.append({
            "family": family,
            "index": ", ".join(map(str, idx)),
            "source": source_cell(inputs, family, idx),
            "sense": {1: "<=", -1: ">=", 0: "="}[int(lp.row_sense[i])],
            "activity": float(sol.activity[i]),
            "rhs": float(rhs[i]),
            "slack": max(0.0, float(slack[i])),
            "binding": "yes" if binding[i] else "no",
            "dual": float(sol.dual[i]) + 0.0,
            "meaning": "value of " + FAMILY[family].meaning.format(*idx),
        })
    frame = pd.DataFrame(rows)
    if ranges is not None:
        frame.insert(9, "allowable_increase", ranges.row_increase)
        frame.insert(10, "allowable_decrease", ranges.row_decrease)
    return frame


# --- the result tables ---------------------------------------------------------------------

def build_tables(inputs: ModelInputs, lp: LpData, sol: LpSolution, ranges=None,
                 release: dict | None = None) -> dict[str, pd.DataFrame]:
    """All result tables of docs/outputs.md except summary and run_info (see :func:`summary_table`).

    ``ranges`` (:class:`~optimizer.sensitivity.Ranges`) adds RHS and cost ranging;
    ``release`` (from :func:`~optimizer.sensitivity.treaty_release`) adds who absorbs a
    tonne released from each treaty commitment.
    """
    P = inputs.params
    v = Values(lp, sol)
    T, Y = P.PERIODS, P.years
    release = release or {}
    cons = constraint_table(inputs, lp, sol, ranges)
    dual_of = {(f, i): d for f, i, d in zip(cons["family"], cons["index"], cons["dual"])}
    binding_of = {(f, i): b for f, i, b in zip(cons["family"], cons["index"], cons["binding"])}

    def sold(k, q, t):
        if q == MRECL:
            return sum(v("mixed_sale_t", mine, k, t) for mine in P.MINES)
        return v("sale_t", k, q, t)

    allocation = pd.DataFrame([{
        "period": t, "customer": k, "customer_kind": P.kind[k], "treaty": P.treaty[k],
        "product": q, "tonnes": sold(k, q, t), "price": P.price[k, q, t],
        "revenue": sold(k, q, t) * P.price[k, q, t],
        "policy_value": sold(k, q, t) * P.policy_value[k, q, t],
    } for (k, q, t) in P.DEMAND], columns=["period", "customer", "customer_kind", "treaty",
                                           "product", "tonnes", "price", "revenue",
                                           "policy_value"])
    allocation = _period_sort(allocation, T, ["period", "customer", "product"])

    mining = pd.DataFrame([{
        "period": t, "mine": m, "available": bool(P.avail[m, t]),
        "mined_t": v("mine_t", m, t), "capacity_t": P.cap_mine_t[m, t] * Y[t] * P.avail[m, t],
        "utilisation": _util(v("mine_t", m, t), P.cap_mine_t[m, t] * Y[t] * P.avail[m, t]),
        "reo_t": v("mine_t", m, t) * P.reo_grade[m],
        "tho2_t": v("mine_t", m, t) * P.tho2_grade[m],
    } for t in T for m in P.MINES])

    processing = []
    for t in T:
        for c in P.CRACKING:
            used = sum(v("crack_t", m, c2, t) for (m, c2) in P.ROUTES if c2 == c)
            out = sum(v("crack_t", m, c2, t) * P.reo_grade[m] * P.recovery[c]
                      for (m, c2) in P.ROUTES if c2 == c)
            processing.append({"period": t, "plant": c, "stage": "cracking", "input_t": used,
                               "output_t": out, "capacity_t": P.cap_plant_t[c, t] * Y[t],
                               "utilisation": _util(used, P.cap_plant_t[c, t] * Y[t])})
        for s in P.SEPARATION:
            used = sum(v("separate_t", m, s, t) for m in P.MINES)
            processing.append({"period": t, "plant": s, "stage": "separation", "input_t": used,
                               "output_t": used * P.recovery[s],
                               "capacity_t": P.cap_plant_t[s, t] * Y[t],
                               "utilisation": _util(used, P.cap_plant_t[s, t] * Y[t])})
    processing = pd.DataFrame(processing, columns=["period", "plant", "stage", "input_t",
                                                   "output_t", "capacity_t", "utilisation"])

    produced: dict[tuple, float] = defaultdict(float)
    production = []
    for t in T:
        for s in P.SEPARATION:
            for p in P.PRODUCTS:
                made = sum(P.share.get((m, p), 0.0) * P.recovery[s] * v("separate_t", m, s, t)
                           for m in P.MINES)
                produced[p, t] += made
                cap = P.cap_line_t.get((s, p, t))
                cap = None if cap is None else cap * Y[t]
                production.append({"period": t, "plant": s, "product": p, "produced_t": made,
                                   "line_cap_t": cap, "utilisation": _util(made, cap)})
    production = pd.DataFrame(production, columns=["period", "plant", "product", "produced_t",
                                                   "line_cap_t", "utilisation"])

    sold_p = defaultdict(float)
    for (k, q, t) in P.DEMAND:
        if q != MRECL:
            sold_p[q, t] += v("sale_t", k, q, t)
    inventory = []
    for p in P.PRODUCTS:
        opening = P.initial_stock_t[p]
        for t in T:
            closing = v("stock_t", p, t)
            cap = P.storage_capacity_t.get(p)
            inventory.append({"period": t, "product": p, "opening_t": opening,
                              "produced_t": produced[p, t], "sold_t": sold_p[p, t],
                              "disposed_t": v("dispose_t", p, t), "closing_t": closing,
                              "storage_capacity_t": cap, "utilisation": _util(closing, cap),
                              "reserve_t": P.reserve_t.get((p, t)),
                              "reserve_shortfall_t": v("reserve_shortfall_t", p, t)
                              if (p, t) in P.reserve_t else None})
            opening = closing
    inventory = _period_sort(pd.DataFrame(inventory), T, ["period", "product"])

    disposal = pd.DataFrame([{
        "period": t, "product": p, "disposed_t": v("dispose_t", p, t),
        "disposal_cost": cost, "cost": v("dispose_t", p, t) * cost,
    } for t in T for p, cost in sorted(P.disposal_cost.items())],
        columns=["period", "product", "disposed_t", "disposal_cost", "cost"])

    shortfalls = pd.DataFrame([{
        "period": t, "customer": k, "product": q, "treaty": P.treaty[k],
        "required_t": P.min_t[k, q, t] * Y[t], "delivered_t": sold(k, q, t),
        "shortfall_t": v("shortfall_t", k, q, t),
        "penalty_per_t": P.shortfall_penalty[k, q, t],
        "penalty": v("shortfall_t", k, q, t) * P.shortfall_penalty[k, q, t],
    } for (k, q, t) in P.DEMAND if P.min_t[k, q, t] > 0],
        columns=["period", "customer", "product", "treaty", "required_t", "delivered_t",
                 "shortfall_t", "penalty_per_t", "penalty"])
    shortfalls = _period_sort(shortfalls, T, ["period", "customer", "product"])

    ndpr = ndpr_product(P)
    treaty = []
    for (k, q, t) in P.DEMAND:
        if not P.treaty[k]:
            continue
        delivered = sold(k, q, t)
        if q == MRECL:
            content = sum(v("mixed_sale_t", m, k, t) * P.share.get((m, ndpr), 0.0)
                          for m in P.MINES) if ndpr else 0.0
        else:
            content = delivered if q == ndpr else 0.0
        key = ", ".join((k, q, t))
        treaty.append({
            "period": t, "customer": k, "product": q,
            "committed_min_t": P.min_t[k, q, t] * Y[t],
            "committed_max_t": P.max_t[k, q, t] * Y[t] if (k, q, t) in P.max_t else None,
            "delivered_t": delivered, "shortfall_t": v("shortfall_t", k, q, t),
            "ndpr_content_t": content,
            "min_dual": dual_of.get(("demand_min", key)),
            "min_binding": binding_of.get(("demand_min", key), "no"),
            "release_absorbed_by": release.get((k, q, t), (None, None))[0],
            "release_value_per_t": release.get((k, q, t), (None, None))[1],
        })
    treaty += _obligation_rows(P, v, dual_of, binding_of, sold)
    treaty = _period_sort(pd.DataFrame(treaty, columns=[
        "period", "customer", "product", "committed_min_t", "committed_max_t", "delivered_t",
        "shortfall_t", "ndpr_content_t", "min_dual", "min_binding", "release_absorbed_by",
        "release_value_per_t", *OBLIGATION_COLUMNS]), T, ["period", "obligation", "customer", "product"])

    tables = {"allocation": allocation, "mining": mining, "processing": processing,
              "production": production, "inventory": inventory, "disposal": disposal,
              "shortfalls": shortfalls, "treaty": treaty, "constraints": cons}
    if ranges is not None:
        from .sensitivity import variables_table

        tables["variables"] = variables_table(lp, sol, ranges)
    return tables


OBLIGATION_COLUMNS = ("obligation", "reo_factor", "reo_t", "obligation_min_reo_t",
                      "obligation_reo_t", "obligation_shortfall_t")
"""Columns of the treaty sheet that only obligation rows fill (blank on demand rows)."""


def _obligation_rows(P: Params, v: Values, dual_of: dict, binding_of: dict, sold) -> list[dict]:
    """One treaty row per obligation, period and basket product: what was delivered as that
    product, the t REO it counts for and its NdPr content; the obligation's minimum, total,
    shortfall and dual repeat on each of its rows. ``committed_min_t`` and ``shortfall_t``
    stay blank there, so the summary's treaty totals (demand minimums) count nothing twice."""
    ndpr = ndpr_product(P)
    rows = []
    for (o, t), low in P.obligation_min_t.items():
        k = P.obligation_customer[o, t]
        lines = [(q, f, sold(k, q, t)) for q, f in P.obligation_basket[o]]
        total = sum(f * tonnes for _, f, tonnes in lines)
        key = ", ".join((o, t))
        for q, f, tonnes in lines:
            if q == MRECL:
                content = sum(v("mixed_sale_t", m, k, t) * P.share.get((m, ndpr), 0.0)
                              for m in P.MINES) if ndpr else 0.0
            else:
                content = tonnes if q == ndpr else 0.0
            rows.append({"period": t, "customer": k, "product": q, "delivered_t": tonnes,
                         "ndpr_content_t": content, "min_dual": dual_of.get(("obligation_min", key)),
                         "min_binding": binding_of.get(("obligation_min", key), "no"),
                         "obligation": o, "reo_factor": f, "reo_t": f * tonnes,
                         "obligation_min_reo_t": low * P.years[t], "obligation_reo_t": total,
                         "obligation_shortfall_t": v("obligation_shortfall_t", o, t)})
    return rows


def _period_sort(frame: pd.DataFrame, periods: list[str], by: list[str]) -> pd.DataFrame:
    if frame.empty:
        return frame.reset_index(drop=True)
    order = {t: i for i, t in enumerate(periods)}
    keyed = frame.assign(_order=frame["period"].map(order))
    return keyed.sort_values(["_order", *by[1:]], kind="stable").drop(columns="_order") \
        .reset_index(drop=True)


def part_vectors(P: Params, lp: LpData) -> dict[str, np.ndarray]:
    """Each part of the objective as a vector over the LP's columns (they sum to ``lp.c``)."""
    from .model import OBJECTIVE, PARTS, term_coefs

    by_var: dict[str, tuple[list[int], list[tuple]]] = defaultdict(lambda: ([], []))
    for j, (name, idx) in enumerate(lp.col_keys):
        by_var[name][0].append(j)
        by_var[name][1].append(idx)
    parts = {part: np.zeros(len(lp.c)) for part in PARTS}
    for term in OBJECTIVE:
        cols, index = by_var.get(term.var, ([], []))
        if cols:
            parts[term.part][cols] += term_coefs(P, term, index)
    return parts


def objective_parts(inputs: ModelInputs, lp: LpData, sol: LpSolution,
                    params: Params | None = None) -> dict[str, float]:
    """Present value of each part of the objective; they add up to the objective."""
    P = params or inputs.params
    return {part: float(v @ sol.x) for part, v in part_vectors(P, lp).items()}


def summary_table(inputs: ModelInputs, sol: LpSolution, tables: dict[str, pd.DataFrame],
                  parts: dict[str, float], ndpr_share: float | None,
                  extra: list[tuple[str, object, str]]) -> pd.DataFrame:
    """Key/value summary: status, objective and its parts, tonnes, NdPr share, treaty %."""
    cur = inputs.settings["currency"]
    rows: list[tuple[str, object, str]] = [
        ("status", sol.status, ""),
        ("objective", sol.objective, f"{cur} (present value)"),
    ]
    rows += [(k, parts.get(k, 0.0), f"{cur} (present value)") for k in (
        "revenue_pv", "policy_value_pv", "penalties_pv", "cost_mining_pv", "cost_transport_pv",
        "cost_cracking_pv", "cost_separation_pv", "cost_holding_pv", "cost_disposal_pv",
        "terminal_value_pv")]
    alloc = tables["allocation"]
    rows.append(("revenue_cash", float(alloc["revenue"].sum()), f"{cur} (undiscounted)"))
    for kind in ("domestic", "export"):
        rows.append((f"sold_t_{kind}", float(alloc.loc[alloc["customer_kind"] == kind, "tonnes"].sum()), "t"))
    for product, tonnes in alloc.groupby("product", sort=True)["tonnes"].sum().items():
        rows.append((f"sold_t_{product}", float(tonnes), "t" + (" REO" if product == MRECL else "")))
    rows.append(("domestic_ndpr_share", ndpr_share, "fraction of NdPr leaving the plant (incl. "
                 "NdPr content of MRECL) sold domestically"))
    treaty = tables["treaty"]
    committed = float(treaty["committed_min_t"].sum()) if not treaty.empty else 0.0
    delivered = float(np.minimum(treaty["delivered_t"], treaty["committed_min_t"]).sum()) \
        if not treaty.empty else 0.0
    rows.append(("treaty_fulfilment_pct", 100.0 * delivered / committed if committed else None,
                 "% of treaty minimums delivered"))
    rows.append(("treaty_shortfall_t", float(treaty["shortfall_t"].sum()) if not treaty.empty
                 else 0.0, "t"))
    rows += extra
    return pd.DataFrame(rows, columns=["key", "value", "unit"])


def domestic_ndpr_share(inputs: ModelInputs, allocation: pd.DataFrame,
                        mrecl: pd.DataFrame) -> float | None:
    """NdPr sold domestically / all NdPr leaving the plant, counting NdPr content in MRECL.

    ``mrecl`` is :func:`mrecl_ndpr`'s table: the NdPr content of each MRECL sale.
    """
    ndpr = ndpr_product(inputs.params)
    if ndpr is None:
        return None
    sep = allocation[allocation["product"] == ndpr]
    domestic = float(sep.loc[sep["customer_kind"] == "domestic", "tonnes"].sum())
    domestic += float(mrecl.loc[mrecl["customer_kind"] == "domestic", "ndpr_t"].sum())
    total = float(sep["tonnes"].sum()) + float(mrecl["ndpr_t"].sum())
    return domestic / total if total > TOL else None


def mrecl_ndpr(inputs: ModelInputs, lp: LpData, sol: LpSolution) -> pd.DataFrame:
    """NdPr content of every MRECL sale, per customer and period (helper table)."""
    P = inputs.params
    ndpr = ndpr_product(P)
    v = Values(lp, sol)
    rows = [{"period": t, "customer": k, "customer_kind": P.kind[k],
             "ndpr_t": sum(v("mixed_sale_t", m, k, t) * P.share.get((m, ndpr), 0.0)
                           for m in P.MINES)}
            for (k, q, t) in P.DEMAND if q == MRECL]
    return pd.DataFrame(rows, columns=["period", "customer", "customer_kind", "ndpr_t"])
