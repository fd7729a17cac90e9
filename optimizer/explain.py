"""Why a model is infeasible, in the planner's words, and the cheapest way out.

Three pieces:

1. **Conflicts.** HiGHS computes an irreducible infeasible subset (IIS) of rows. Each row
   maps back to its constraint family, entities and input cell, and the set becomes one
   sentence. The softest member of the conflict is then lifted and the IIS recomputed, so
   every independent conflict (e.g. one per period) gets its own sentence.
2. **Cheapest repair.** An elastic re-solve: minimums may be missed at their shortfall
   penalty, with treaty minimums relaxed last (their penalties are weighted up for the
   choice, and reported at their true value). If even that is infeasible, the hard data
   conflicts; HiGHS's feasibility relaxation then finds the smallest change of limits.
3. **Domain checks** run before any solve: approved supply against the minimums, treaty
   minimums against possible MRECL output, export caps (all, or non-treaty) against the
   content of MRECL minimums, reserve targets against storage. They are
   warnings in elastic mode and part of the explanation in strict mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .highs import INF, LpData
from .inputs import ModelInputs
from .report import ndpr_product
from .schema import MRECL

IIS_STRATEGY = 2 | 4  # kIisStrategyFromLp | kIisStrategyIrreducible (the default finds none)
TREATY_WEIGHT = 1e3   # treaty minimums are relaxed only when nothing else will do
MAX_CONFLICTS = 60
MINIMUMS = frozenset({"demand_min", "reserve_min", "obligation_min"})
"""Families that say what must be reached; a conflict sentence leads with them."""


def _relax_rank(family: str) -> int:
    """How soft a family is (declared with it in optimizer.model); balances are never lifted."""
    from .model import FAMILY

    rank = FAMILY[family].relax_rank if family in FAMILY else None
    return 99 if rank is None else rank


def rhs_by_row(lp: LpData) -> dict[tuple[str, tuple], float]:
    """Right-hand side of every row of the built LP, by (family, index)."""
    return dict(zip(lp.row_keys, map(float, lp.rhs)))


@dataclass
class Conflict:
    period: str | None
    rows: list[tuple[str, tuple]]
    sentence: str
    body: str = ""
    """The sentence without its period: conflicts with the same body have the same cause."""


def when(inputs: ModelInputs, periods: list[str]) -> str:
    """'In FY2026', 'In each of FY2026–FY2032' (consecutive) or 'In FY2026, FY2028 and FY2029'."""
    order = {t: n for n, t in enumerate(inputs.params.PERIODS)}
    span = sorted(set(periods), key=lambda t: order.get(t, -1))
    if not span:
        return ""
    if len(span) == 1:
        return f"In {span[0]}"
    positions = [order.get(t, -1) for t in span]
    if positions == list(range(positions[0], positions[0] + len(span))):
        return f"In each of {span[0]}–{span[-1]}"
    return f"In {_join(span)}"


def group_by_cause(inputs: ModelInputs, items: list[tuple[list[str], str]]) -> list[tuple[list[str], str]]:
    """(periods, text without period) pairs with the same text merged, their periods listed."""
    merged: dict[str, list[str]] = {}
    for periods, text in items:
        merged.setdefault(text, []).extend(periods)
    return [(periods, text) for text, periods in merged.items()]


def _split_period(inputs: ModelInputs, note: str) -> tuple[list[str], str]:
    """'In FY2026 the cap ...' -> (['FY2026'], 'the cap ...'); other notes as they are."""
    for t in inputs.params.PERIODS:
        for lead in (f"In {t} ", f"By {t} "):
            if note.startswith(lead) and lead.startswith("In"):
                return [t], note[len(lead):]
    return [], note


def _sentence(inputs: ModelInputs, periods: list[str], body: str) -> str:
    lead = when(inputs, periods)
    text = f"{lead} {body}" if lead else body
    return text[0].upper() + text[1:]


def _t(x: float) -> str:
    """A figure as it decides the case: to 0.01 (120.5 t of NdPr is not 120 t)."""
    text = f"{x:,.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _loc(inputs: ModelInputs, sheet: str, key: tuple) -> str:
    rows = inputs.rows.get(sheet, {})
    if key in rows and rows[key] is None:
        return f"{sheet}, a row added by the scenario"
    return f"{sheet} row {rows[key]}" if key in rows else sheet


def _profile_or(inputs: ModelInputs, entity: str, t: str, sheet: str) -> str:
    if (entity, t) in inputs.rows["capacity_profile"]:
        return _loc(inputs, "capacity_profile", (entity, t))
    return _loc(inputs, sheet, (entity,))


def mrecl_content(inputs: ModelInputs, product: str | None, tonnes: float) -> tuple[float, float]:
    """Least and most t of ``product`` contained in ``tonnes`` t REO of MRECL (blend of mines)."""
    P = inputs.params
    if product is None:
        return 0.0, 0.0
    shares = [P.share.get((m, product), 0.0) for m in P.MINES]
    return tonnes * min(shares), tonnes * max(shares)


def describe(inputs: ModelInputs, family: str, idx: tuple, rhs: float) -> str:
    """A constraint in planner's words, with the input row it comes from.

    ``rhs`` is the row's right-hand side as the model declares it (capacity x years and so
    on); it is never recomputed here.
    """
    P = inputs.params
    if family == "demand_min":
        k, q, t = idx
        what = f"{_t(rhs)} t {q}"
        ndpr = ndpr_product(P)
        if q == MRECL and ndpr:
            low, high = mrecl_content(inputs, ndpr, rhs)
            what += (f", which contains {_t(low)} t {ndpr}" if abs(high - low) < 1e-9
                     else f", which contains {_t(low)}–{_t(high)} t {ndpr}")
        kind = "treaty minimum" if P.treaty[k] else "minimum"
        return f"the {kind} for {k} ({_loc(inputs, 'demand', idx)}: {what})"
    if family == "demand_max":
        k, q, t = idx
        return f"the maximum of {_t(rhs)} t {q} that {k} takes ({_loc(inputs, 'demand', idx)})"
    if family == "export_cap":
        p, t = idx
        return f"the {p} export cap of {_t(rhs)} t ({_loc(inputs, 'export_caps', (p, 'all', None, t))})"
    if family == "export_cap_non_treaty":
        p, t = idx
        return (f"the {p} export cap of {_t(rhs)} t on customers without a treaty "
                f"({_loc(inputs, 'export_caps', (p, 'non_treaty', None, t))})")
    if family == "customer_cap":
        k, p, t = idx
        return (f"the cap of {_t(rhs)} t {p} delivered to {k} "
                f"({_loc(inputs, 'export_caps', (p, 'all', k, t))})")
    if family == "reserve_min":
        p, t = idx
        return f"the {p} reserve target of {_t(rhs)} t in stock ({_loc(inputs, 'reserves', idx)})"
    if family == "obligation_min":
        o, t = idx
        k = P.obligation_customer[o, t]
        basket = ", ".join(q for q, _ in P.obligation_basket[o])
        kind = "treaty obligation" if P.treaty[k] else "obligation"
        return (f"the {kind} {o} of {_t(rhs)} t REO to {k} as {basket} "
                f"({_loc(inputs, 'obligations', idx)})")
    if family == "mine_capacity":
        m, t = idx
        if not P.avail[m, t]:
            return f"mine {m} not being approved in {t} ({_loc(inputs, 'mines', (m,))})"
        return f"mine {m}'s capacity of {_t(rhs)} t monazite ({_profile_or(inputs, m, t, 'mines')})"
    if family in ("cracking_capacity", "separation_capacity"):
        c, t = idx
        unit = "t monazite" if family == "cracking_capacity" else "t REO"
        return (f"{c}'s {family.split('_')[0]} capacity of {_t(rhs)} {unit} "
                f"({_profile_or(inputs, c, t, 'plants')})")
    if family == "product_line_cap":
        s, p, t = idx
        return f"the {p} line cap of {_t(rhs)} t at {s} ({_loc(inputs, 'product_caps', idx)})"
    if family == "storage_capacity":
        p, t = idx
        return f"the {p} storage capacity of {_t(rhs)} t ({_loc(inputs, 'products', (p,))})"
    if family == "product_balance":
        p, t = idx
        extra = f" with an opening stock of {_t(rhs)} t" if rhs else ""
        outlet = "" if p in P.disposal_cost else ", which cannot be disposed of"
        return f"the {p} stock balance{extra}{outlet} ({_loc(inputs, 'products', (p,))})"
    if family == "mixed_balance":
        m, t = idx
        return f"the MRECL balance of mine {m} (MRECL is sold or separated, never stored)"
    if family == "mine_dispatch":
        m, t = idx
        return f"the routes from mine {m} to cracking plants"
    if family == "thorium_storage":
        return f"the thorium storage limit of {_t(rhs)} t ThO2 (settings)"
    return f"{family}[{', '.join(idx)}]"


def _period_of(inputs: ModelInputs, idx: tuple) -> str | None:
    periods = set(inputs.params.PERIODS)
    return next((i for i in reversed(idx) if i in periods), None)


def conflict_body(inputs: ModelInputs, rows: list[tuple[str, tuple]],
                  rhs: dict[tuple[str, tuple], float]) -> tuple[list[str], str]:
    """(periods, sentence without its period) for one irreducible conflict."""
    periods = [p for p in (_period_of(inputs, i) for _, i in rows) if p]
    order = {t: n for n, t in enumerate(inputs.params.PERIODS)}
    # The minimum that cannot be met leads the sentence; the limits it runs into follow.
    rows = sorted(rows, key=lambda r: (_relax_rank(r[0]), order.get(_period_of(inputs, r[1]), 0)))
    parts = [describe(inputs, f, i, rhs[f, i]) for f, i in rows]
    if rows[0][0] in MINIMUMS and len(parts) > 1:
        return periods, f"{parts[0]} cannot be met together with {_join(parts[1:])}."
    return periods, f"these cannot all hold: {_join(parts)}."


def conflict_sentence(inputs: ModelInputs, rows: list[tuple[str, tuple]],
                      rhs: dict[tuple[str, tuple], float]) -> str:
    """One plain sentence for one irreducible conflict."""
    return _sentence(inputs, *conflict_body(inputs, rows, rhs))


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def find_conflicts(inputs: ModelInputs, lp: LpData, h) -> list[Conflict]:
    """Every independent conflict: IIS, lift its softest row, repeat until feasible."""
    import highspy

    h.setOptionValue("iis_strategy", IIS_STRATEGY)
    conflicts: list[Conflict] = []
    lifted: list[tuple[int, float, float]] = []
    rhs = rhs_by_row(lp)
    try:
        for _ in range(MAX_CONFLICTS):
            status, iis = h.getIis()
            rows = list(iis.row_index_)
            if status == highspy.HighsStatus.kError or not rows:
                break
            keys = [lp.row_keys[i] for i in rows]
            periods, body = conflict_body(inputs, keys, rhs)
            conflicts.append(Conflict(_period_of(inputs, keys[0][1]), keys,
                                      _sentence(inputs, periods, body), body))
            # Lift the softest member (the minimum before the limits it runs into).
            soft = min(rows, key=lambda i: _relax_rank(lp.row_keys[i][0]))
            lifted.append((soft, lp.row_lower[soft], lp.row_upper[soft]))
            h.changeRowBounds(soft, -INF, INF)
            h.run()
            if h.modelStatusToString(h.getModelStatus()).lower() == "optimal":
                break
    finally:
        for i, low, up in lifted:
            h.changeRowBounds(i, low, up)
    order = {t: n for n, t in enumerate(inputs.params.PERIODS)}
    return sorted(conflicts, key=lambda c: order.get(c.period, -1))


SHORTFALLS = {"shortfall_t": "demand_min", "reserve_shortfall_t": "reserve_min",
              "obligation_shortfall_t": "obligation_min"}
"""Each shortfall variable and the minimum family whose rows it relaxes."""


def _shortfall_of(P, name: str, idx: tuple) -> tuple[str, str, str | None, str, bool, float]:
    """(family, sheet, customer, product or obligation, treaty-bound, penalty) of a shortfall."""
    if name == "reserve_shortfall_t":
        return "reserve_min", "reserves", None, idx[0], False, P.reserve_penalty[idx]
    if name == "obligation_shortfall_t":
        k = P.obligation_customer[idx]
        return "obligation_min", "obligations", k, idx[0], P.treaty[k], P.obligation_penalty[idx]
    return "demand_min", "demand", idx[0], idx[1], P.treaty[idx[0]], P.shortfall_penalty[idx]


def elastic_repair(inputs: ModelInputs) -> tuple[pd.DataFrame | None, float | None]:
    """Cheapest set of missed minimums: (rows to give up, objective of the repaired plan).

    Treaty shortfalls are weighted by TREATY_WEIGHT for the choice only; costs are reported
    at the true penalties. Returns (None, None) when the hard data alone is infeasible.
    """
    from .highs import new_highs, run_highs
    from .model import build_lp

    lp = build_lp(inputs, strict=False)
    P = inputs.params
    true_c = lp.c.copy()
    c = lp.c.copy()
    for j, (name, idx) in enumerate(lp.col_keys):
        if name in SHORTFALLS and _shortfall_of(P, name, idx)[4]:
            c[j] *= TREATY_WEIGHT
    lp.c = c
    sol = run_highs(new_highs(lp))
    if sol.status != "optimal":
        return None, None
    required = rhs_by_row(lp)
    rows = []
    for j, (name, idx) in enumerate(lp.col_keys):
        if name in SHORTFALLS and sol.x[j] > 1e-6:
            family, sheet, customer, product, treaty, pen = _shortfall_of(P, name, idx)
            rows.append({"period": idx[-1], "customer": customer, "product": product,
                         "treaty": treaty, "required_t": required[family, idx],
                         "give_up_t": float(sol.x[j]), "penalty_per_t": pen,
                         "penalty_cost": float(sol.x[j]) * pen, "source": _loc(inputs, sheet, idx),
                         "family": family, "index": ", ".join(idx)})
    frame = pd.DataFrame(rows, columns=["period", "customer", "product", "treaty",
                                        "required_t", "give_up_t", "penalty_per_t",
                                        "penalty_cost", "source", "family", "index"])
    order = {t: n for n, t in enumerate(P.PERIODS)}
    frame = frame.sort_values(["treaty", "period"], key=lambda s: s.map(order) if s.name == "period"
                              else s, kind="stable").reset_index(drop=True)
    return frame, float(true_c @ sol.x)


def hard_data_repair(lp: LpData, h) -> pd.DataFrame:
    """Smallest change of limits that makes hard data feasible (HiGHS feasibility relaxation).

    Balances stay hard (negative penalty); every limit row may move at penalty 1 per unit.
    """
    penalty = np.where(lp.row_sense == 0, -1.0, 1.0)
    h.feasibilityRelaxation(-1.0, -1.0, 1.0, None, None, penalty)
    sol = h.getSolution()
    activity = np.asarray(sol.row_value)
    rows = []
    for i, (family, idx) in enumerate(lp.row_keys):
        over = activity[i] - lp.row_upper[i]
        under = lp.row_lower[i] - activity[i]
        if over > 1e-6 or under > 1e-6:
            rows.append((i, family, idx, over if over > 1e-6 else -under))
    return pd.DataFrame(rows, columns=["row", "family", "index", "change"])


def side_repair(lp: LpData, movable: np.ndarray) -> pd.DataFrame | None:
    """Smallest total change of the ``movable`` rows' right-hand sides that makes the LP
    feasible, every other row (and every balance) kept hard; None if that cannot be done."""
    import highspy

    from .highs import new_highs

    h = new_highs(lp)
    penalty = np.where(movable & (lp.row_sense != 0), 1.0, -1.0)
    # HiGHS leaves the model status unset here; the call's own status says if it worked.
    if h.feasibilityRelaxation(-1.0, -1.0, -1.0, None, None, penalty) != highspy.HighsStatus.kOk:
        return None
    activity = np.asarray(h.getSolution().row_value)
    rows = []
    for i, (family, idx) in enumerate(lp.row_keys):
        over, under = activity[i] - lp.row_upper[i], lp.row_lower[i] - activity[i]
        if over > 1e-6 or under > 1e-6:
            rows.append((i, family, idx, over if over > 1e-6 else -under))
    return pd.DataFrame(rows, columns=["row", "family", "index", "change"])


def either_side(inputs: ModelInputs, lp: LpData) -> list[tuple[str, list[tuple[list[str], str]]]]:
    """The two ways out of a strict-mode conflict: lower minimums, or raise limits.

    Each is the smallest change in tonnes on that side alone (a feasibility relaxation
    with the other side hard), grouped into one line per cause with its periods.
    """
    from .model import FAMILY

    rhs = rhs_by_row(lp)
    family_of = np.array([f for f, _ in lp.row_keys], dtype=object)
    is_min = np.isin(family_of, list(MINIMUMS))
    is_limit = np.array([FAMILY[f].sense == "<=" if f in FAMILY else False for f in family_of])
    out = []
    for verb, movable in (("lower", is_min), ("raise", is_limit)):
        relax = side_repair(lp, movable)
        if relax is None or relax.empty:
            continue
        items = []
        for r in relax.itertuples():
            period = _period_of(inputs, r.index)
            what = describe(inputs, r.family, r.index, rhs[r.family, r.index])
            items.append(([period] if period else [], f"{verb} {what} by {_t(abs(r.change))} t"))
        out.append((verb, group_by_cause(inputs, items)))
    return out


def domain_checks(inputs: ModelInputs) -> list[str]:
    """Pre-solve checks that name cells: supply vs minimums, treaty vs MRECL, caps vs treaty.

    The limits compared are the right-hand sides the model declares for its rows.
    """
    from .model import model_rows

    P = inputs.params
    rhs = {name: {idx: value for idx, _, value in rows}
           for name, rows in model_rows(P).items()}
    notes: list[str] = []
    best_crack = max((P.recovery[c] for c in P.CRACKING), default=0.0)
    best_sep = max((P.recovery[s] for s in P.SEPARATION), default=0.0)
    routed = {m for m, _ in P.ROUTES}
    reo_max = {t: sum(rhs["mine_capacity"][m, t] * P.reo_grade[m] * best_crack
                      for m in P.MINES if m in routed) for t in P.PERIODS}
    minimum = rhs["demand_min"]
    for (k, q, t), need in minimum.items():
        if q == MRECL and need > reo_max[t] + 1e-6:
            notes.append(f"In {t} the {'treaty ' if P.treaty[k] else ''}minimum of {_t(need)} t "
                         f"MRECL for {k} ({_loc(inputs, 'demand', (k, q, t))}) is above the "
                         f"most MRECL the approved mines can yield ({_t(reo_max[t])} t REO).")
    # Cumulative supply of each product (opening stock + best-case output) vs minimums.
    separation = rhs["separation_capacity"]
    for p in P.PRODUCTS:
        supply, need, first_bad = P.initial_stock_t[p], 0.0, None
        share_max = max((P.share.get((m, p), 0.0) for m in P.MINES), default=0.0)
        for t in P.PERIODS:
            sep_cap = sum(separation.get((s, t), 0.0) for s in P.SEPARATION)
            supply += min(reo_max[t], sep_cap) * share_max * best_sep
            need += sum(v for (k, q, tt), v in minimum.items() if q == p and tt == t)
            if need > supply + 1e-6 and first_bad is None:
                first_bad = t
                notes.append(f"By {t} the minimums for {p} add up to {_t(need)} t, more than "
                             f"the {_t(supply)} t that opening stock and the approved mines "
                             f"can supply at best (demand rows for {p}).")
    # Export caps below the content that MRECL minimums force out of the country (all
    # export customers, or only those without a treaty for a non_treaty cap).
    for family, scope, who in (("export_cap", "all", "export customers"),
                               ("export_cap_non_treaty", "non_treaty", "export customers without a treaty")):
        for (p, t), cap in rhs[family].items():
            forced = sum(mrecl_content(inputs, p, v)[0] for (k, q, tt), v in minimum.items()
                         if q == MRECL and tt == t and P.kind[k] == "export"
                         and (scope == "all" or not P.treaty[k]))
            if forced > cap + 1e-6:
                notes.append(f"In {t} the {p} export cap of {_t(cap)} t "
                             f"({_loc(inputs, 'export_caps', (p, scope, None, t))}) is below the "
                             f"{_t(forced)} t of {p} contained in the MRECL minimums of {who}.")
    # Reserve targets above the storage that must hold them.
    for (p, t), level in rhs["reserve_min"].items():
        room = P.storage_capacity_t.get(p)
        if room is not None and level > room + 1e-6:
            notes.append(f"In {t} the {p} reserve target of {_t(level)} t "
                         f"({_loc(inputs, 'reserves', (p, t))}) is above the {_t(room)} t of {p} "
                         f"storage ({_loc(inputs, 'products', (p,))}).")
    return notes


def explain_infeasible(inputs: ModelInputs, lp: LpData, h, *, strict: bool
                       ) -> tuple[str, dict[str, pd.DataFrame]]:
    """The explanation text and an ``infeasibility`` table for an infeasible model."""
    conflicts = find_conflicts(inputs, lp, h)
    checks = domain_checks(inputs)
    rhs = rhs_by_row(lp)
    repair, objective = elastic_repair(inputs)
    hard = repair is None
    lines = ["The model is infeasible " + ("even with shortfalls allowed: the hard data "
                                          "conflicts." if hard else
                                          "with every minimum enforced (strict mode).")]
    records = []
    if conflicts:
        # One sentence per distinct cause, with the periods it occurs in.
        causes: dict[str, list[Conflict]] = {}
        for conflict in conflicts:
            causes.setdefault(conflict.body or conflict.sentence, []).append(conflict)
        lines.append("Conflicts:")
        for n, (body, group) in enumerate(causes.items(), 1):
            periods = [p for c in group for p in ([c.period] if c.period else [])]
            sentence = _sentence(inputs, periods, body) if group[0].body else group[0].sentence
            lines.append(f"  {n}. {sentence}")
            for conflict in group:
                for family, idx in conflict.rows:
                    records.append({"section": "conflict", "item": n, "period": conflict.period,
                                    "text": sentence, "family": family, "index": ", ".join(idx),
                                    "detail": describe(inputs, family, idx, rhs[family, idx])})
    if not hard and not repair.empty:
        total = float(repair["penalty_cost"].sum())
        lines.append("Cheapest repair (elastic re-solve; treaty minimums relaxed last):")
        texts: list[tuple[list[str], str]] = []
        for r in repair.itertuples():
            text = (f"give up {_t(r.give_up_t)} t of "
                    f"{describe(inputs, r.family, tuple(r.index.split(', ')), r.required_t)} in "
                    f"{r.period} at {_t(r.penalty_per_t)} per t = {_t(r.penalty_cost)}"
                    if r.family != "demand_min" else
                    f"give up {_t(r.give_up_t)} t of the {_t(r.required_t)} t "
                    f"{'treaty ' if r.treaty else ''}minimum of {r.product} for {r.customer} in "
                    f"{r.period} ({r.source}) at {_t(r.penalty_per_t)} per t = {_t(r.penalty_cost)}")
            texts.append(([r.period], text))
            records.append({"section": "repair", "item": r.Index + 1, "period": r.period,
                            "text": text, "family": r.family, "index": r.index,
                            "detail": f"{r.give_up_t}"})
        # the same repair in several periods is one line listing them
        merged = group_by_cause(inputs, [(p, t.replace(f" in {p[0]}", "", 1)) for p, t in texts])
        for periods, text in merged:
            lines.append(f"  - {_sentence(inputs, periods, text + ' each')}" if len(periods) > 1
                         else f"  - {next(t for p, t in texts if p == periods)}")
        lines.append(f"  Total penalty {_t(total)}; objective of the repaired plan "
                     f"{_t(objective)}.")
    elif hard:
        relax = hard_data_repair(lp, h)
        lines.append("Smallest change of limits that would make the data feasible:")
        for n, r in enumerate(relax.itertuples(), 1):
            what = describe(inputs, r.family, r.index, rhs[r.family, r.index])
            text = f"{'raise' if r.change > 0 else 'lower'} {what} by {_t(abs(r.change))}"
            lines.append(f"  - {text}")
            records.append({"section": "repair", "item": n,
                            "period": _period_of(inputs, r.index), "text": text,
                            "family": r.family, "index": ", ".join(r.index),
                            "detail": f"{r.change}"})
    for verb, items in either_side(inputs, lp) if strict and conflicts else ():
        title = ("Either lower the minimums (the least tonnage that would do):" if verb == "lower"
                 else "Or raise the limits instead (the least tonnage that would do):")
        lines.append(title)
        for periods, text in items:
            sentence = _sentence(inputs, periods, text)
            lines.append(f"  - {sentence}")
            records.append({"section": f"repair: {verb}", "item": None,
                            "period": ", ".join(periods), "text": sentence, "family": "",
                            "index": "", "detail": ""})
    if checks:
        lines.append("Pre-solve checks:")
        for note in checks:
            records.append({"section": "check", "item": None, "period": None, "text": note,
                            "family": "", "index": "", "detail": ""})
        for periods, text in group_by_cause(inputs, [_split_period(inputs, n) for n in checks]):
            lines.append(f"  - {_sentence(inputs, periods, text)}")
    table = pd.DataFrame(records, columns=["section", "item", "period", "text", "family",
                                           "index", "detail"])
    return "\n".join(lines), {"infeasibility": table}
