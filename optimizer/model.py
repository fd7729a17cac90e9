"""The allocation LP of SPEC §3, built with Pyomo.

``build_model`` reads like the spec's table of contents: variables, then one ``add_*``
function per constraint family (each with its inequality in the docstring, each indexed
only by the tuples that exist), then the objective.

Every constraint is written ``(lower, LinearExpression, upper)`` so that the row's dual is
the value of one more unit of its right-hand side, in currency per unit (maximisation).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from .inputs import ModelInputs, Params
from .schema import MRECL

Terms = list[tuple[float, object]]

VARIABLES = ("mine_t", "crack_t", "mixed_sale_t", "separate_t", "sale_t", "dispose_t",
             "stock_t", "shortfall_t")
FAMILIES = ("mine_capacity", "mine_dispatch", "cracking_capacity", "mixed_balance",
            "separation_capacity", "product_line_cap", "product_balance", "storage_capacity",
            "demand_max", "demand_min", "export_cap", "thorium_storage")


def _lin(terms: Terms) -> LinearExpression:
    return LinearExpression(linear_coefs=[c for c, _ in terms], linear_vars=[v for _, v in terms])


def _add_family(m: pyo.ConcreteModel, name: str, rows: dict[tuple, tuple]) -> None:
    """Attach ``rows`` ({index: (lower, terms, upper)}) as constraint family ``name``.

    Rows without terms are dropped: they constrain nothing (their data was checked).
    """
    rows = {i: r for i, r in rows.items() if r[1]}
    if not rows:
        return
    index = list(rows)
    setattr(m, name, pyo.Constraint(
        index, rule=lambda _, *i: (rows[i][0], _lin(rows[i][1]), rows[i][2])))


class _Sums:
    """Adjacency built once, so rules never scan: which variables touch which row."""

    def __init__(self, m: pyo.ConcreteModel, P: Params):
        self.crack_by_mine = defaultdict(list)      # (m, t) -> [(c, var)]
        self.crack_by_plant = defaultdict(list)     # (c, t) -> [(m, var)]
        for (mine, c, t) in m.crack_t:
            v = m.crack_t[mine, c, t]
            self.crack_by_mine[mine, t].append((c, v))
            self.crack_by_plant[c, t].append((mine, v))
        self.mixed_by_mine = defaultdict(list)      # (m, t) -> [var]
        self.mixed_by_customer = defaultdict(list)  # (k, t) -> [(m, var)]
        for (mine, k, t) in m.mixed_sale_t:
            v = m.mixed_sale_t[mine, k, t]
            self.mixed_by_mine[mine, t].append(v)
            self.mixed_by_customer[k, t].append((mine, v))
        self.sales_by_product = defaultdict(list)   # (p, t) -> [(k, var)]
        for (k, p, t) in m.sale_t:
            self.sales_by_product[p, t].append((k, m.sale_t[k, p, t]))
        self.output = defaultdict(list)             # (p, t) -> [(share*rS, var)]
        self.output_by_plant = defaultdict(list)    # (s, p, t) -> [(share*rS, var)]
        shares_of = defaultdict(list)
        for (mine, p), s in sorted(P.share.items()):
            shares_of[mine].append((p, s))
        for (mine, s_plant, t) in m.separate_t:
            v = m.separate_t[mine, s_plant, t]
            for p, share in shares_of[mine]:
                coef = share * P.recovery[s_plant]
                self.output[p, t].append((coef, v))
                self.output_by_plant[s_plant, p, t].append((coef, v))
        self.shares_of = shares_of


def add_variables(m: pyo.ConcreteModel, P: Params, strict: bool) -> None:
    """All variables ≥ 0, indexed only where they exist (SPEC §3 'Variables')."""
    T = P.PERIODS
    mrecl_buyers = [(k, t) for (k, q, t) in P.DEMAND if q == MRECL]
    nn = pyo.NonNegativeReals
    m.mine_t = pyo.Var([(mine, t) for mine in P.MINES for t in T], domain=nn)
    m.crack_t = pyo.Var([(mine, c, t) for (mine, c) in P.ROUTES for t in T], domain=nn)
    m.mixed_sale_t = pyo.Var([(mine, k, t) for (k, t) in mrecl_buyers for mine in P.MINES],
                             domain=nn)
    m.separate_t = pyo.Var([(mine, s, t) for mine in P.MINES for s in P.SEPARATION for t in T],
                           domain=nn)
    m.sale_t = pyo.Var([d for d in P.DEMAND if d[1] != MRECL], domain=nn)
    m.dispose_t = pyo.Var([(p, t) for p in P.PRODUCTS if p in P.disposal_cost for t in T],
                          domain=nn)
    m.stock_t = pyo.Var([(p, t) for p in P.PRODUCTS for t in T], domain=nn)
    m.shortfall_t = pyo.Var([] if strict else [d for d in P.DEMAND if P.min_t[d] > 0],
                            domain=nn)


def _sold(m: pyo.ConcreteModel, S: _Sums, k: str, q: str, t: str) -> Terms:
    """sold[k,q,t]: sale_t, or Σ_m mixed_sale_t for MRECL."""
    if q == MRECL:
        return [(1.0, v) for _, v in S.mixed_by_customer[k, t]]
    return [(1.0, m.sale_t[k, q, t])]


def add_mine_capacity(m, P: Params, S: _Sums) -> None:
    """Mines produce no more than their capacity, and nothing before approval.

    For each m in MINES, t in PERIODS:
        mine_t[m,t]  <=  capM[m,t] * Y[t] * avail[m,t]
    """
    _add_family(m, "mine_capacity", {
        (mine, t): (None, [(1.0, m.mine_t[mine, t])],
                    P.cap_mine_t[mine, t] * P.years[t] * P.avail[mine, t])
        for mine in P.MINES for t in P.PERIODS})


def add_mine_dispatch(m, P: Params, S: _Sums) -> None:
    """Everything mined is sent to a cracking plant along an allowed route.

    For each m in MINES, t in PERIODS:
        sum_c crack_t[m,c,t]  =  mine_t[m,t]
    """
    _add_family(m, "mine_dispatch", {
        (mine, t): (0.0, [(1.0, v) for _, v in S.crack_by_mine[mine, t]]
                    + [(-1.0, m.mine_t[mine, t])], 0.0)
        for mine in P.MINES for t in P.PERIODS})


def add_cracking_capacity(m, P: Params, S: _Sums) -> None:
    """Cracking plants crack no more monazite than their capacity.

    For each c in CRACKING, t in PERIODS:
        sum_m crack_t[m,c,t]  <=  capC[c,t] * Y[t]
    """
    _add_family(m, "cracking_capacity", {
        (c, t): (None, [(1.0, v) for _, v in S.crack_by_plant[c, t]],
                 P.cap_plant_t[c, t] * P.years[t])
        for c in P.CRACKING for t in P.PERIODS})


def add_mixed_balance(m, P: Params, S: _Sums) -> None:
    """MRECL from each mine's monazite is sold as is or separated; it is not stored.

    For each m in MINES, t in PERIODS:
        sum_k mixed_sale_t[m,k,t] + sum_s separate_t[m,s,t] - sum_c g[m]*rC[c]*crack_t[m,c,t] = 0

    Written uses-minus-supply so that the dual is the value of one more t REO of MRECL.
    """
    _add_family(m, "mixed_balance", {
        (mine, t): (0.0, [(1.0, v) for v in S.mixed_by_mine[mine, t]]
                    + [(1.0, m.separate_t[mine, s, t]) for s in P.SEPARATION]
                    + [(-P.reo_grade[mine] * P.recovery[c], v)
                       for c, v in S.crack_by_mine[mine, t]], 0.0)
        for mine in P.MINES for t in P.PERIODS})


def add_separation_capacity(m, P: Params, S: _Sums) -> None:
    """Separation plants take no more REO than their capacity.

    For each s in SEPARATION, t in PERIODS:
        sum_m separate_t[m,s,t]  <=  capS[s,t] * Y[t]
    """
    _add_family(m, "separation_capacity", {
        (s, t): (None, [(1.0, m.separate_t[mine, s, t]) for mine in P.MINES],
                 P.cap_plant_t[s, t] * P.years[t])
        for s in P.SEPARATION for t in P.PERIODS})


def add_product_line_cap(m, P: Params, S: _Sums) -> None:
    """A separation plant's product line makes no more than its cap (product_caps rows only).

    For each (s,p,t) in product_caps:
        sum_m share[m,p]*rS[s]*separate_t[m,s,t]  <=  capPS[s,p,t] * Y[t]
    """
    _add_family(m, "product_line_cap", {
        (s, p, t): (None, S.output_by_plant[s, p, t], cap * P.years[t])
        for (s, p, t), cap in P.cap_line_t.items()})


def add_product_balance(m, P: Params, S: _Sums) -> None:
    """Stock carries over: what is made and not sold or disposed of is stored.

    For each p in PRODUCTS, t in PERIODS:
        stock_t[p,t] - stock_t[p,t-1] - sum_{m,s} share[m,p]*rS[s]*separate_t[m,s,t]
            + sum_k sale_t[k,p,t] + dispose_t[p,t]  =  0     (initial_stock_t[p] when t is first)
    """
    rows = {}
    for p in P.PRODUCTS:
        for i, t in enumerate(P.PERIODS):
            terms: Terms = [(1.0, m.stock_t[p, t])]
            if i:
                terms.append((-1.0, m.stock_t[p, P.PERIODS[i - 1]]))
            terms += [(-c, v) for c, v in S.output[p, t]]
            terms += [(1.0, v) for _, v in S.sales_by_product[p, t]]
            if p in P.disposal_cost:
                terms.append((1.0, m.dispose_t[p, t]))
            rhs = 0.0 if i else P.initial_stock_t[p]
            rows[p, t] = (rhs, terms, rhs)
    _add_family(m, "product_balance", rows)


def add_storage_capacity(m, P: Params, S: _Sums) -> None:
    """End-of-period stock fits in storage, where a limit is given.

    For each p with storage_capacity_t, t in PERIODS:
        stock_t[p,t]  <=  storage_capacity_t[p]
    """
    _add_family(m, "storage_capacity", {
        (p, t): (None, [(1.0, m.stock_t[p, t])], cap)
        for p, cap in sorted(P.storage_capacity_t.items()) for t in P.PERIODS})


def add_demand_max(m, P: Params, S: _Sums) -> None:
    """Customers take no more than their maximum, where one is given.

    For each (k,q,t) in DEMAND with max_t:
        sold[k,q,t]  <=  max[k,q,t] * Y[t]
    """
    _add_family(m, "demand_max", {
        d: (None, _sold(m, S, *d), P.max_t[d] * P.years[d[2]])
        for d in P.DEMAND if d in P.max_t})


def add_demand_min(m, P: Params, S: _Sums, strict: bool) -> None:
    """Committed minimums are met, or the shortfall is paid for (elastic mode).

    For each (k,q,t) in DEMAND with min_t > 0:
        sold[k,q,t] + shortfall_t[k,q,t]  >=  min[k,q,t] * Y[t]     (no shortfall when strict)
    """
    rows = {}
    for d in P.DEMAND:
        if P.min_t[d] > 0:
            terms = _sold(m, S, *d) + ([] if strict else [(1.0, m.shortfall_t[d])])
            rows[d] = (P.min_t[d] * P.years[d[2]], terms, None)
    _add_family(m, "demand_min", rows)


def add_export_cap(m, P: Params, S: _Sums) -> None:
    """Element content leaving the country stays under the cap (export_caps rows only).

    For each (p,t) in export_caps:
        sum_{k export} sale_t[k,p,t] + sum_{k export} sum_m share[m,p]*mixed_sale_t[m,k,t]
            <=  cap[p,t] * Y[t]
    """
    rows = {}
    for (p, t), cap in P.export_cap_t.items():
        terms: Terms = [(1.0, v) for k, v in S.sales_by_product[p, t] if P.kind[k] == "export"]
        for k in P.CUSTOMERS:
            if P.kind[k] == "export":
                terms += [(P.share[mine, p], v) for mine, v in S.mixed_by_customer[k, t]
                          if (mine, p) in P.share]
        rows[p, t] = (None, terms, cap * P.years[t])
    _add_family(m, "export_cap", rows)


def add_thorium_storage(m, P: Params, S: _Sums) -> None:
    """ThO2 from cracking fits in thorium storage (when settings.thorium_storage_t is set).

    For each t in PERIODS:
        sum_{m,c} th[m]*crack_t[m,c,t]  <=  thorium_storage_t * Y[t]
    """
    if P.thorium_storage_t is None:
        return
    _add_family(m, "thorium_storage", {
        (t,): (None, [(P.tho2_grade[mine], v) for c in P.CRACKING
                      for mine, v in S.crack_by_plant[c, t] if P.tho2_grade[mine]],
               P.thorium_storage_t * P.years[t])
        for t in P.PERIODS})


def objective_terms(m: pyo.ConcreteModel, P: Params) -> Iterable[tuple[float, object]]:
    """The coefficient of every variable in the objective of SPEC §3 (maximise)."""
    df, Y = P.df, P.years
    for (mine, t), v in m.mine_t.items():
        yield -df[t] * P.mining_cost[mine], v
    for (mine, c, t), v in m.crack_t.items():
        yield -df[t] * (P.transport_cost[mine, c] + P.unit_cost[c]), v
    for (_, k, t), v in m.mixed_sale_t.items():
        d = (k, MRECL, t)
        yield df[t] * (P.price[d] + P.policy_value[d]), v
    for (_, s, t), v in m.separate_t.items():
        yield -df[t] * P.unit_cost[s], v
    for d, v in m.sale_t.items():
        yield df[d[2]] * (P.price[d] + P.policy_value[d]), v
    for (p, t), v in m.dispose_t.items():
        yield -df[t] * P.disposal_cost[p], v
    last = P.PERIODS[-1]
    for (p, t), v in m.stock_t.items():
        yield -df[t] * P.holding_cost[p] * Y[t] + (df[t] * P.terminal_value[p] if t == last else 0.0), v
    for d, v in m.shortfall_t.items():
        yield -df[d[2]] * P.shortfall_penalty[d], v


def build_lp(inputs: ModelInputs, *, strict: bool | None = None, timings=None):
    """Build the Pyomo model and compile it to an :class:`~optimizer.highs.LpData`.

    The model is dropped once compiled: everything downstream works on the matrix and its
    row/column keys. The cyclic garbage collector is paused throughout: a build allocates
    millions of small objects and no cycles worth collecting, and the collector running
    over and over was half the build time at medium size (benchmarks/RESULTS.md). Pyomo's
    own writers pause it the same way.
    """
    import time

    from pyomo.common.gc_manager import PauseGC

    from .highs import compile_lp

    with PauseGC():
        start = time.perf_counter()
        model = build_model(inputs, strict=strict)
        built = time.perf_counter()
        lp = compile_lp(model)
        del model
    if timings is not None:
        timings.build, timings.compile = built - start, time.perf_counter() - built
    return lp


def build_model(inputs: ModelInputs, *, strict: bool | None = None) -> pyo.ConcreteModel:
    """Build the Pyomo model of SPEC §3 for ``inputs`` (strict from settings unless given)."""
    strict = inputs.strict if strict is None else strict
    P = inputs.params
    m = pyo.ConcreteModel(name="irel_allocation")
    add_variables(m, P, strict)
    S = _Sums(m, P)
    add_mine_capacity(m, P, S)
    add_mine_dispatch(m, P, S)
    add_cracking_capacity(m, P, S)
    add_mixed_balance(m, P, S)
    add_separation_capacity(m, P, S)
    add_product_line_cap(m, P, S)
    add_product_balance(m, P, S)
    add_storage_capacity(m, P, S)
    add_demand_max(m, P, S)
    add_demand_min(m, P, S, strict)
    add_export_cap(m, P, S)
    add_thorium_storage(m, P, S)
    coefs = [(c, v) for c, v in objective_terms(m, P) if c]
    m.objective = pyo.Objective(expr=_lin(coefs), sense=pyo.maximize)
    return m
