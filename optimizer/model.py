"""The allocation LP (docs/model.md), declared once.

Everything the model is lives in this file as declarations that every other part reads:

- :data:`VARIABLE_SPECS`: each variable family and the index it exists on;
- :data:`FAMILY_SPECS`: each constraint family: its rows (index, terms, right-hand side) as one
  function of the parameters, with the inequality in the docstring, the input cell its
  right-hand side comes from, the meaning of its dual, and how soft it is when explaining
  an infeasible model;
- :data:`OBJECTIVE`: each part of the objective (revenue, policy value, penalties, each
  cost, terminal value) as a coefficient per column.

The Pyomo build (:func:`build_model`), the sweep's fast path (:mod:`optimizer.edits`), the
report (:mod:`optimizer.report`) and the explanations (:mod:`optimizer.explain`) all call
these functions, so none of them can compute a right-hand side, a coefficient or a part of
the objective differently from another.

Every row is ``lower <= terms <= upper`` with the right-hand side on the side given by
``sense``, so that its dual is the value of one more unit of the right-hand side, in
present-value currency per unit (maximisation).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .inputs import ModelInputs, Params
from .schema import MRECL

VarKey = tuple[str, tuple]
Terms = list[tuple[float, VarKey]]
Row = tuple[tuple, Terms, float]
"""(index, terms, right-hand side) of one constraint row."""


# --- reading the parameters, and remembering what was read ----------------------------------

class Tracer:
    """Hands out the fields of a :class:`Params` and records which were read.

    A declaration is a deterministic function of the fields it reads: if a scenario leaves
    every one of them unchanged, the declaration's output is unchanged. The sweep uses the
    recorded reads to re-run only what a scenario can affect.
    """

    __slots__ = ("_params", "read")

    def __init__(self, params: Params):
        self._params = params
        self.read: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.read.add(name)
        return getattr(self._params, name)


def traced(fn: Callable[..., Any], P: Params, *args: Any) -> tuple[Any, frozenset[str]]:
    """``fn(P, *args)`` and the set of Params fields it read."""
    tracer = Tracer(P)
    value = fn(tracer, *args)
    if isinstance(value, Iterator):
        value = list(value)
    return value, frozenset(tracer.read)


# --- variables ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Variable:
    name: str
    index: Callable[[Any], list[tuple]]
    doc: str


def _mrecl_demand(P) -> list[tuple[str, str]]:
    return [(k, t) for (k, q, t) in P.DEMAND if q == MRECL]


VARIABLE_SPECS: tuple[Variable, ...] = (
    Variable("mine_t", lambda P: [(m, t) for m in P.MINES for t in P.PERIODS],
             "monazite mined (t)"),
    Variable("crack_t", lambda P: [(m, c, t) for (m, c) in P.ROUTES for t in P.PERIODS],
             "monazite from mine m cracked at plant c (t)"),
    Variable("mixed_sale_t", lambda P: [(m, k, t) for (k, t) in _mrecl_demand(P) for m in P.MINES],
             "t REO of MRECL from mine m sold to customer k"),
    Variable("separate_t", lambda P: [(m, s, t) for m in P.MINES for s in P.SEPARATION
                                      for t in P.PERIODS],
             "t REO of mine m's MRECL fed to separation plant s"),
    Variable("sale_t", lambda P: [d for d in P.DEMAND if d[1] != MRECL],
             "t of product p sold to customer k"),
    Variable("dispose_t", lambda P: [(p, t) for p in P.PRODUCTS if p in P.disposal_cost
                                     for t in P.PERIODS],
             "t of product p disposed of (only where products.disposal_cost is set)"),
    Variable("stock_t", lambda P: [(p, t) for p in P.PRODUCTS for t in P.PERIODS],
             "stock of product p at the end of period t (t)"),
    Variable("shortfall_t", lambda P: [] if P.strict else [d for d in P.DEMAND if P.min_t[d] > 0],
             "t below a demand minimum (elastic mode only)"),
    Variable("reserve_shortfall_t", lambda P: [] if P.strict else list(P.reserve_t),
             "t of stock below a reserve target (elastic mode only)"),
    Variable("obligation_shortfall_t", lambda P: [] if P.strict else list(P.obligation_min_t),
             "t REO below an obligation's minimum (elastic mode only)"),
)
VARIABLE: dict[str, Variable] = {v.name: v for v in VARIABLE_SPECS}
VARIABLES: tuple[str, ...] = tuple(VARIABLE)
"""Variable names, in build order."""


# --- adjacency: which variables touch which row, built once per Params ---------------------

def _by(var: str, row: Callable[[tuple], tuple], item: Callable[[tuple], Any]) -> Callable[[Any], dict]:
    """Adjacency of one variable: row key -> [item(index)] over the variable's index."""
    def build(P) -> dict:
        out = defaultdict(list)
        for i in VARIABLE[var].index(P):
            out[row(i)].append(item(i))
        return out
    return build


_crack_by_mine = _by("crack_t", lambda i: (i[0], i[2]), lambda i: (i[1], ("crack_t", i)))
_crack_by_plant = _by("crack_t", lambda i: (i[1], i[2]), lambda i: (i[0], ("crack_t", i)))
_mixed_by_mine = _by("mixed_sale_t", lambda i: (i[0], i[2]), lambda i: ("mixed_sale_t", i))
_mixed_by_customer = _by("mixed_sale_t", lambda i: (i[1], i[2]), lambda i: (i[0], ("mixed_sale_t", i)))
_sales_by_product = _by("sale_t", lambda i: (i[1], i[2]), lambda i: (i[0], ("sale_t", i)))


def _output_by_plant(P) -> dict:
    """(s, p, t) -> [(share[m,p]*rS[s], separate_t[m,s,t])]: what separation makes of p."""
    shares_of = defaultdict(list)
    for (m, p), s in sorted(P.share.items()):
        shares_of[m].append((p, s))
    recovery = P.recovery
    out = defaultdict(list)
    for (m, s, t) in VARIABLE["separate_t"].index(P):
        key = ("separate_t", (m, s, t))
        for p, share in shares_of[m]:
            out[s, p, t].append((share * recovery[s], key))
    return out


_SUMS: dict[str, Callable[[Any], dict]] = {
    "crack_by_mine": _crack_by_mine, "crack_by_plant": _crack_by_plant,
    "mixed_by_mine": _mixed_by_mine, "mixed_by_customer": _mixed_by_customer,
    "sales_by_product": _sales_by_product, "output_by_plant": _output_by_plant,
}


class Sums:
    """Lazily built adjacency of one Params, each entry with the fields it was built from.

    Reading an entry through :meth:`view` adds those fields to the reader's trace, so a
    family that uses an adjacency depends on what the adjacency depends on.
    """

    def __init__(self, P: Params, reuse: Sums | None = None, changed: frozenset[str] = frozenset()):
        self.P = P
        self._entries: dict[str, tuple[dict, frozenset[str]]] = {}
        if reuse is not None:  # entries that read nothing that changed are still valid
            self._entries = {k: v for k, v in reuse._entries.items() if not v[1] & changed}

    def get(self, name: str, tracer: Tracer | None = None) -> dict:
        if name not in self._entries:
            self._entries[name] = self._output() if name == "output" else traced(_SUMS[name], self.P)
        value, reads = self._entries[name]
        if tracer is not None:
            tracer.read.update(reads)
        return value

    def _output(self) -> tuple[dict, frozenset[str]]:
        """(p, t) -> [(share[m,p]*rS[s], separate_t[m,s,t])] over every plant."""
        by_plant = self.get("output_by_plant")
        out = defaultdict(list)
        for (_, p, t), terms in by_plant.items():
            out[p, t].extend(terms)
        return out, self._entries["output_by_plant"][1]

    def view(self, tracer: Tracer | None) -> _SumsView:
        return _SumsView(self, tracer)


class _SumsView:
    __slots__ = ("_sums", "_tracer")

    def __init__(self, sums: Sums, tracer: Tracer | None):
        self._sums, self._tracer = sums, tracer

    def __getattr__(self, name: str) -> dict:
        return self._sums.get(name, self._tracer)


# --- constraint families --------------------------------------------------------------------

@dataclass(frozen=True)
class Family:
    """One constraint family: its rows, and what it means to a planner."""

    name: str
    sense: str
    """``<=``, ``>=`` or ``=``: where the right-hand side sits."""
    rows: Callable[[Any, Any], Iterable[Row]]
    """(P, sums) -> every row as (index, terms, rhs); rows without terms are dropped."""
    cell: Callable[[Mapping[str, Mapping[tuple, Any]], tuple], tuple[str, tuple, str]]
    """(rows, index) -> the input cell of the right-hand side as (sheet, record key, column);
    ``rows`` is :attr:`ModelInputs.rows` (the Excel row of each record, by key)."""
    meaning: str
    """The dual's meaning: 'value of ' + meaning.format(*index)."""
    relax_rank: int | None = None
    """Order in which explanations lift rows of this family (lower = softer); None = never."""
    balance: bool = False
    """A physical balance (equality of flows), shown apart from business constraints."""

    @property
    def doc(self) -> str:
        return self.rows.__doc__ or ""


FAMILY_SPECS: list[Family] = []


def family(name: str, sense: str, *, cell: Callable[[Any, tuple], Any], meaning: str,
           relax_rank: int | None = None, balance: bool = False):
    """Register the decorated row function as constraint family ``name``."""
    def register(fn: Callable[[Any, Any], Iterable[Row]]) -> Callable[[Any, Any], Iterable[Row]]:
        FAMILY_SPECS.append(Family(name, sense, fn, cell, meaning, relax_rank, balance))
        return fn
    return register


def _capacity_cell(sheet: str):
    """The capacity_profile row of (entity, period) if there is one, else the entity's row."""
    def cell(rows: Mapping[str, Mapping[tuple, Any]], idx: tuple) -> tuple[str, tuple, str]:
        key = (idx[0], idx[-1])
        return ("capacity_profile", key, "capacity_t") if key in rows["capacity_profile"] \
            else (sheet, (idx[0],), "capacity_t")
    return cell


@family("mine_capacity", "<=", cell=_capacity_cell("mines"), relax_rank=8,
        meaning="+1 t monazite of capacity at mine {0} in {1}")
def mine_capacity(P, S) -> Iterator[Row]:
    """Mines produce no more than their capacity, and nothing before approval.

    For each m in MINES, t in PERIODS:
        mine_t[m,t]  <=  capM[m,t] * Y[t] * avail[m,t]
    """
    cap, years, avail = P.cap_mine_t, P.years, P.avail
    for m in P.MINES:
        for t in P.PERIODS:
            yield (m, t), [(1.0, ("mine_t", (m, t)))], cap[m, t] * years[t] * avail[m, t]


@family("mine_dispatch", "=", cell=lambda R, i: ("mines", (i[0],), "mine"), balance=True,
        meaning="+1 t monazite appearing at mine {0} in {1}, already mined")
def mine_dispatch(P, S) -> Iterator[Row]:
    """Everything mined is sent to a cracking plant along an allowed route.

    For each m in MINES, t in PERIODS:
        sum_c crack_t[m,c,t] - mine_t[m,t]  =  0
    """
    crack = S.crack_by_mine
    for m in P.MINES:
        for t in P.PERIODS:
            yield (m, t), [(1.0, v) for _, v in crack[m, t]] + [(-1.0, ("mine_t", (m, t)))], 0.0


@family("cracking_capacity", "<=", cell=_capacity_cell("plants"), relax_rank=7,
        meaning="+1 t monazite of cracking capacity at {0} in {1}")
def cracking_capacity(P, S) -> Iterator[Row]:
    """Cracking plants crack no more monazite than their capacity.

    For each c in CRACKING, t in PERIODS:
        sum_m crack_t[m,c,t]  <=  capC[c,t] * Y[t]
    """
    crack, cap, years = S.crack_by_plant, P.cap_plant_t, P.years
    for c in P.CRACKING:
        for t in P.PERIODS:
            yield (c, t), [(1.0, v) for _, v in crack[c, t]], cap[c, t] * years[t]


@family("mixed_balance", "=", cell=lambda R, i: ("mines", (i[0],), "reo_grade"), balance=True,
        meaning="+1 t REO of MRECL from mine {0} in {1}")
def mixed_balance(P, S) -> Iterator[Row]:
    """MRECL from each mine's monazite is sold as is or separated; it is not stored.

    For each m in MINES, t in PERIODS:
        sum_k mixed_sale_t[m,k,t] + sum_s separate_t[m,s,t] - sum_c g[m]*rC[c]*crack_t[m,c,t]  =  0

    Written uses-minus-supply so that the dual is the value of one more t REO of MRECL.
    """
    mixed, crack, grade, recovery = S.mixed_by_mine, S.crack_by_mine, P.reo_grade, P.recovery
    separation = P.SEPARATION
    for m in P.MINES:
        for t in P.PERIODS:
            yield (m, t), ([(1.0, v) for v in mixed[m, t]]
                           + [(1.0, ("separate_t", (m, s, t))) for s in separation]
                           + [(-grade[m] * recovery[c], v) for c, v in crack[m, t]]), 0.0


@family("separation_capacity", "<=", cell=_capacity_cell("plants"), relax_rank=6,
        meaning="+1 t REO of separation capacity at {0} in {1}")
def separation_capacity(P, S) -> Iterator[Row]:
    """Separation plants take no more REO than their capacity.

    For each s in SEPARATION, t in PERIODS:
        sum_m separate_t[m,s,t]  <=  capS[s,t] * Y[t]
    """
    cap, years, mines = P.cap_plant_t, P.years, P.MINES
    for s in P.SEPARATION:
        for t in P.PERIODS:
            yield (s, t), [(1.0, ("separate_t", (m, s, t))) for m in mines], cap[s, t] * years[t]


@family("product_line_cap", "<=", cell=lambda R, i: ("product_caps", i, "max_t"), relax_rank=3,
        meaning="+1 t of {1} line capacity at {0} in {2}")
def product_line_cap(P, S) -> Iterator[Row]:
    """A separation plant's product line makes no more than its cap (product_caps rows only).

    For each (s,p,t) in product_caps:
        sum_m share[m,p]*rS[s]*separate_t[m,s,t]  <=  capPS[s,p,t] * Y[t]
    """
    output, years = S.output_by_plant, P.years
    for (s, p, t), cap in P.cap_line_t.items():
        yield (s, p, t), output[s, p, t], cap * years[t]


@family("product_balance", "=", cell=lambda R, i: ("products", (i[0],), "initial_stock_t"),
        balance=True, meaning="+1 t of {0} in stock in {1}")
def product_balance(P, S) -> Iterator[Row]:
    """Stock carries over: what is made and not sold or disposed of is stored.

    For each p in PRODUCTS, t in PERIODS:
        stock_t[p,t] - stock_t[p,t-1] - sum_{m,s} share[m,p]*rS[s]*separate_t[m,s,t]
            + sum_k sale_t[k,p,t] + dispose_t[p,t]  =  0     (initial_stock_t[p] when t is first)
    """
    periods, output, sales = P.PERIODS, S.output, S.sales_by_product
    disposal, opening = P.disposal_cost, P.initial_stock_t
    for p in P.PRODUCTS:
        for i, t in enumerate(periods):
            terms: Terms = [(1.0, ("stock_t", (p, t)))]
            if i:
                terms.append((-1.0, ("stock_t", (p, periods[i - 1]))))
            terms += [(-c, v) for c, v in output[p, t]]
            terms += [(1.0, v) for _, v in sales[p, t]]
            if p in disposal:
                terms.append((1.0, ("dispose_t", (p, t))))
            yield (p, t), terms, (0.0 if i else opening[p])


@family("storage_capacity", "<=", cell=lambda R, i: ("products", (i[0],), "storage_capacity_t"),
        relax_rank=4, meaning="+1 t of {0} storage in {1}")
def storage_capacity(P, S) -> Iterator[Row]:
    """End-of-period stock fits in storage, where a limit is given.

    For each p with storage_capacity_t, t in PERIODS:
        stock_t[p,t]  <=  storage_capacity_t[p]
    """
    for p, cap in sorted(P.storage_capacity_t.items()):
        for t in P.PERIODS:
            yield (p, t), [(1.0, ("stock_t", (p, t)))], cap


def _sold(S, k: str, q: str, t: str) -> Terms:
    """sold[k,q,t]: sale_t, or sum_m mixed_sale_t for MRECL."""
    if q == MRECL:
        return [(1.0, v) for _, v in S.mixed_by_customer[k, t]]
    return [(1.0, ("sale_t", (k, q, t)))]


@family("demand_max", "<=", cell=lambda R, i: ("demand", i, "max_t"), relax_rank=2,
        meaning="+1 t of {1} that {0} would take in {2}")
def demand_max(P, S) -> Iterator[Row]:
    """Customers take no more than their maximum, where one is given.

    For each (k,q,t) in DEMAND with max_t:
        sold[k,q,t]  <=  max[k,q,t] * Y[t]
    """
    high, years = P.max_t, P.years
    for d in P.DEMAND:
        if d in high:
            yield d, _sold(S, *d), high[d] * years[d[2]]


@family("demand_min", ">=", cell=lambda R, i: ("demand", i, "min_t"), relax_rank=0,
        meaning="+1 t of {1} that {0} must receive in {2}")
def demand_min(P, S) -> Iterator[Row]:
    """Committed minimums are met, or the shortfall is paid for (elastic mode).

    For each (k,q,t) in DEMAND with min_t > 0:
        sold[k,q,t] + shortfall_t[k,q,t]  >=  min[k,q,t] * Y[t]     (no shortfall when strict)
    """
    low, years, strict = P.min_t, P.years, P.strict
    for d in P.DEMAND:
        if low[d] > 0:
            yield d, _sold(S, *d) + ([] if strict else [(1.0, ("shortfall_t", d))]), low[d] * years[d[2]]


def _content(P, S, p: str, t: str, customers: list[str]) -> Terms:
    """t of p delivered to ``customers`` in t: sales of p plus p's share of their MRECL."""
    share, chosen = P.share, set(customers)
    terms: Terms = [(1.0, v) for k, v in S.sales_by_product[p, t] if k in chosen]
    for k in customers:
        terms += [(share[m, p], v) for m, v in S.mixed_by_customer[k, t] if (m, p) in share]
    return terms


@family("export_cap", "<=", cell=lambda R, i: ("export_caps", (i[0], "all", None, i[1]), "max_t"),
        relax_rank=1, meaning="+1 t of {0} export cap in {1}")
def export_cap(P, S) -> Iterator[Row]:
    """Element content leaving the country stays under the cap (export_caps rows, scope all).

    For each (p,t) in export_caps with scope all and no customer:
        sum_{k export} sale_t[k,p,t] + sum_{k export} sum_m share[m,p]*mixed_sale_t[m,k,t]
            <=  cap[p,t] * Y[t]
    """
    kind, years = P.kind, P.years
    exporters = [k for k in P.CUSTOMERS if kind[k] == "export"]
    for (p, t), cap in P.export_cap_t.items():
        yield (p, t), _content(P, S, p, t, exporters), cap * years[t]


@family("thorium_storage", "<=", cell=lambda R, i: ("settings", ("thorium_storage_t",), "value"),
        relax_rank=5, meaning="+1 t of ThO2 storage in {0}")
def thorium_storage(P, S) -> Iterator[Row]:
    """ThO2 from cracking fits in thorium storage (when settings.thorium_storage_t is set).

    For each t in PERIODS:
        sum_{m,c} th[m]*crack_t[m,c,t]  <=  thorium_storage_t * Y[t]
    """
    limit = P.thorium_storage_t
    if limit is None:
        return
    grade, crack, years = P.tho2_grade, S.crack_by_plant, P.years
    for t in P.PERIODS:
        yield (t,), [(grade[m], v) for c in P.CRACKING for m, v in crack[c, t] if grade[m]], \
            limit * years[t]


@family("reserve_min", ">=", cell=lambda R, i: ("reserves", i, "min_stock_t"), relax_rank=0,
        meaning="+1 t of {0} reserve in {1}")
def reserve_min(P, S) -> Iterator[Row]:
    """End-of-period stock meets the reserve target, or the shortfall is paid for (elastic).

    For each (p,t) with reserve[p,t] > 0:
        stock_t[p,t] + reserve_shortfall_t[p,t]  >=  reserve[p,t]     (no shortfall when strict)
    reserve[p,t] = max(min_stock_t, months_of_cover/12 * sum_{k domestic} min[k,p,t])
    """
    strict = P.strict
    for (p, t), level in P.reserve_t.items():
        yield (p, t), [(1.0, ("stock_t", (p, t)))] + (
            [] if strict else [(1.0, ("reserve_shortfall_t", (p, t)))]), level


@family("export_cap_non_treaty", "<=",
        cell=lambda R, i: ("export_caps", (i[0], "non_treaty", None, i[1]), "max_t"), relax_rank=1,
        meaning="+1 t of {0} export cap on customers without a treaty in {1}")
def export_cap_non_treaty(P, S) -> Iterator[Row]:
    """Content exported to customers not bound by a treaty stays under the cap.

    For each (p,t) in export_caps with scope non_treaty and no customer:
        sum_{k export, not treaty} (sale_t[k,p,t] + sum_m share[m,p]*mixed_sale_t[m,k,t])
            <=  cap_non_treaty[p,t] * Y[t]
    """
    kind, treaty, years = P.kind, P.treaty, P.years
    free = [k for k in P.CUSTOMERS if kind[k] == "export" and not treaty[k]]
    for (p, t), cap in P.export_cap_non_treaty_t.items():
        yield (p, t), _content(P, S, p, t, free), cap * years[t]


@family("customer_cap", "<=", cell=lambda R, i: ("export_caps", (i[1], "all", i[0], i[2]), "max_t"),
        relax_rank=1, meaning="+1 t of {1} that may be delivered to {0} in {2}")
def customer_cap(P, S) -> Iterator[Row]:
    """Content of a product delivered to one customer (domestic or export) stays under the cap.

    For each (k,p,t) in export_caps with a customer:
        sale_t[k,p,t] + sum_m share[m,p]*mixed_sale_t[m,k,t]  <=  cap_customer[k,p,t] * Y[t]
    """
    years = P.years
    for (k, p, t), cap in P.customer_cap_t.items():
        yield (k, p, t), _content(P, S, p, t, [k]), cap * years[t]


@family("obligation_min", ">=", cell=lambda R, i: ("obligations", i, "min_reo_t"), relax_rank=0,
        meaning="+1 t REO owed under obligation {0} in {1}")
def obligation_min(P, S) -> Iterator[Row]:
    """An obligation in t REO is met by any mix of its basket, or the shortfall is paid for.

    For each (o,t) in obligations with min_reo_t > 0, k its customer:
        sum_{q in basket[o]} reo_factor[o,q]*sold[k,q,t] + obligation_shortfall_t[o,t]
            >=  min_reo[o,t] * Y[t]                                     (no shortfall when strict)
    """
    customer, basket, years, strict = P.obligation_customer, P.obligation_basket, P.years, P.strict
    for (o, t), low in P.obligation_min_t.items():
        k = customer[o, t]
        terms: Terms = [(f * c, v) for q, f in basket[o] for c, v in _sold(S, k, q, t) if f]
        if not strict:
            terms.append((1.0, ("obligation_shortfall_t", (o, t))))
        yield (o, t), terms, low * years[t]


FAMILY: dict[str, Family] = {f.name: f for f in FAMILY_SPECS}
FAMILIES: tuple[str, ...] = tuple(FAMILY)
"""Constraint family names, in build order."""
BALANCES = frozenset(f.name for f in FAMILY_SPECS if f.balance)


# --- the objective --------------------------------------------------------------------------

@dataclass(frozen=True)
class ObjectiveTerm:
    """One part of the objective: a coefficient (present value per unit) on each column of
    one variable. The parts add up to the objective; the summary reports each."""

    part: str
    var: str
    coef: Callable[[Any, tuple], float]
    doc: str


def _demand_of(var: str, idx: tuple) -> tuple:
    return idx if var == "sale_t" else (idx[1], MRECL, idx[2])


def _sales_terms(part: str, column: str, doc: str) -> list[ObjectiveTerm]:
    """``df[t] * column[k,q,t]`` on every column that sells to a demand row."""
    return [ObjectiveTerm(part, var, lambda P, i, var=var: P.df[i[-1]] * getattr(P, column)[
        _demand_of(var, i)], doc) for var in ("sale_t", "mixed_sale_t")]


def _is_last(P, t: str) -> bool:
    return t == P.PERIODS[-1]


OBJECTIVE: tuple[ObjectiveTerm, ...] = (
    *_sales_terms("revenue_pv", "price", "price x sold: cash"),
    *_sales_terms("policy_value_pv", "policy_value", "policy value x sold: the planner's weight"),
    ObjectiveTerm("penalties_pv", "shortfall_t", lambda P, i: -P.df[i[-1]] * P.shortfall_penalty[i],
                  "shortfall penalty x tonnes short"),
    ObjectiveTerm("penalties_pv", "reserve_shortfall_t",
                  lambda P, i: -P.df[i[-1]] * P.reserve_penalty[i],
                  "reserve shortfall penalty x tonnes of stock below the target"),
    ObjectiveTerm("penalties_pv", "obligation_shortfall_t",
                  lambda P, i: -P.df[i[-1]] * P.obligation_penalty[i],
                  "obligation shortfall penalty x t REO short"),
    ObjectiveTerm("cost_mining_pv", "mine_t", lambda P, i: -P.df[i[-1]] * P.mining_cost[i[0]],
                  "mining cost x monazite mined"),
    ObjectiveTerm("cost_transport_pv", "crack_t",
                  lambda P, i: -P.df[i[-1]] * P.transport_cost[i[0], i[1]],
                  "transport cost x monazite moved from mine to cracking plant"),
    ObjectiveTerm("cost_cracking_pv", "crack_t", lambda P, i: -P.df[i[-1]] * P.unit_cost[i[1]],
                  "cracking unit cost x monazite cracked"),
    ObjectiveTerm("cost_separation_pv", "separate_t", lambda P, i: -P.df[i[-1]] * P.unit_cost[i[1]],
                  "separation unit cost x t REO separated"),
    ObjectiveTerm("cost_holding_pv", "stock_t",
                  lambda P, i: -P.df[i[-1]] * P.holding_cost[i[0]] * P.years[i[-1]],
                  "holding cost per year x years x end-of-period stock"),
    ObjectiveTerm("cost_disposal_pv", "dispose_t", lambda P, i: -P.df[i[-1]] * P.disposal_cost[i[0]],
                  "disposal cost x tonnes disposed of"),
    ObjectiveTerm("terminal_value_pv", "stock_t",
                  lambda P, i: P.df[i[-1]] * P.terminal_value[i[0]] if _is_last(P, i[-1]) else 0.0,
                  "terminal value x stock left at the end of the last period"),
)
PARTS: tuple[str, ...] = tuple(dict.fromkeys(t.part for t in OBJECTIVE))


def term_coefs(P, term: ObjectiveTerm, index: Iterable[tuple]) -> list[float]:
    """The coefficients of one objective term over the given columns of its variable."""
    return [term.coef(P, i) for i in index]


# --- effective parameters and the build -----------------------------------------------------

def model_params(inputs: ModelInputs, strict: bool | None = None) -> Params:
    """The parameters the model is built from: the inputs', with ``strict`` if given."""
    from dataclasses import replace

    P = inputs.params
    return P if strict is None or bool(strict) == P.strict else replace(P, strict=bool(strict))


def family_rows(fam: Family, P: Params, sums: Sums, trace: dict[str, frozenset[str]] | None = None
                ) -> list[Row]:
    """A family's rows with terms (a row without terms constrains nothing and is dropped);
    with ``trace``, record the Params fields it read under its name."""
    tracer = Tracer(P) if trace is not None else None
    rows = [r for r in fam.rows(tracer or P, sums.view(tracer)) if r[1]]
    if trace is not None:
        trace[fam.name] = frozenset(tracer.read)
    return rows


def model_rows(P: Params) -> dict[str, list[Row]]:
    """Every family's rows, by family name."""
    sums = Sums(P)
    return {fam.name: family_rows(fam, P, sums) for fam in FAMILY_SPECS}


def objective_coefs(P: Params, indexes: Mapping[str, list[tuple]],
                    trace: dict[str, frozenset[str]] | None = None) -> dict[VarKey, float]:
    """Total objective coefficient of every column (the sum of the parts on it); with
    ``trace``, the fields each term read, as ``objective <n>``."""
    total: dict[VarKey, float] = defaultdict(float)
    for n, term in enumerate(OBJECTIVE):
        tracer = Tracer(P) if trace is not None else None
        for i, c in zip(indexes[term.var], term_coefs(tracer or P, term, indexes[term.var])):
            total[term.var, i] += c
        if trace is not None:
            trace[f"objective {n}"] = frozenset(tracer.read)
    return total


def build_model(inputs: ModelInputs | None, *, strict: bool | None = None,
                params: Params | None = None, trace: dict[str, frozenset[str]] | None = None):
    """The Pyomo model of ``inputs`` (strict from settings unless given), or of ``params``
    (parameters a sweep derived for a scenario).

    With ``trace``, the Params fields each declaration read are recorded in it, by family
    or variable name (what a sweep needs to know which declarations a change can affect).
    Families are generated one at a time, so only one family's rows are alive at once.
    """
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

    P = params if params is not None else model_params(inputs, strict)
    m = pyo.ConcreteModel(name="irel_allocation")
    indexes = {}
    for v in VARIABLE_SPECS:
        tracer = Tracer(P) if trace is not None else None
        indexes[v.name] = v.index(tracer or P)
        if trace is not None:
            trace["variable " + v.name] = frozenset(tracer.read)
    for v in VARIABLE_SPECS:
        setattr(m, v.name, pyo.Var(indexes[v.name], domain=pyo.NonNegativeReals, doc=v.doc))
    comps = {name: getattr(m, name) for name in VARIABLES}

    def lin(terms: Terms) -> LinearExpression:
        # A bare variable for a +1 coefficient saves a term object (half the terms here).
        return LinearExpression([comps[name][i] if c == 1.0 else MonomialTermExpression((c, comps[name][i]))
                                 for c, (name, i) in terms])

    sums = Sums(P)
    for fam in FAMILY_SPECS:
        by_index = {idx: (terms, rhs) for idx, terms, rhs in family_rows(fam, P, sums, trace)}
        if not by_index:
            continue

        def rule(_, *idx, fam=fam, by_index=by_index):
            terms, rhs = by_index[idx]
            return (rhs if fam.sense in (">=", "=") else None, lin(terms),
                    rhs if fam.sense in ("<=", "=") else None)
        setattr(m, fam.name, pyo.Constraint(list(by_index), rule=rule, doc=fam.doc))
        # Constructed: drop the rule, whose closure would keep every row's terms alive until
        # the model dies (on a 10^6-column instance, a gigabyte at the compile's peak).
        getattr(m, fam.name)._rule = None
        del by_index, rule
    del sums
    coefs = [(c, key) for key, c in objective_coefs(P, indexes, trace).items() if c]
    m.objective = pyo.Objective(expr=lin(coefs), sense=pyo.maximize)
    return m


def assemble_lp(P: Params, trace: dict[str, frozenset[str]] | None = None):
    """The LP of ``P`` assembled straight from the declarations, without Pyomo.

    Same rows, columns, order and numbers as :func:`build_lp` compiles through Pyomo (a
    property test holds the two equal). Sweeps use it, for the base LP and for scenarios
    whose LP differs from the base: there the Pyomo import and build would cost more than
    the solves. ``trace`` records what each declaration read, as in :func:`build_model`.
    """
    import numpy as np

    from .highs import INF, LpData

    indexes = {}
    for v in VARIABLE_SPECS:
        tracer = Tracer(P) if trace is not None else None
        indexes[v.name] = v.index(tracer or P)
        if trace is not None:
            trace["variable " + v.name] = frozenset(tracer.read)
    col_keys = [(name, i) for name in VARIABLES for i in indexes[name]]
    col_of = {key: j for j, key in enumerate(col_keys)}
    data, cols, starts, row_keys, low, up, sense = [], [], [0], [], [], [], []
    sums = Sums(P)
    for fam in FAMILY_SPECS:
        mark = {"<=": 1, ">=": -1, "=": 0}[fam.sense]
        for idx, terms, rhs in family_rows(fam, P, sums, trace):
            merged: dict[int, float] = {}
            for coef, key in terms:  # as the compiler does: repeated columns add up
                j = col_of[key]
                merged[j] = merged.get(j, 0.0) + coef
            for j in sorted(merged):
                if merged[j]:
                    cols.append(j)
                    data.append(merged[j])
            starts.append(len(cols))
            row_keys.append((fam.name, idx))
            sense.append(mark)
            low.append(rhs if mark <= 0 else -INF)
            up.append(rhs if mark >= 0 else INF)
    c = np.zeros(len(col_keys))
    for key, coef in objective_coefs(P, indexes, trace).items():
        c[col_of[key]] = coef
    A, c, col_keys = _columns(np.asarray(data, float), np.asarray(cols, np.int64),
                              np.diff(np.asarray(starts, np.int64)), c, col_keys)
    n = len(col_keys)
    return LpData(A=A, c=c, row_lower=np.asarray(low, float), row_upper=np.asarray(up, float),
                  row_sense=np.asarray(sense, np.int8), col_lower=np.zeros(n), col_upper=np.full(n, INF),
                  col_keys=col_keys, row_keys=row_keys)


def _columns(data, cols, row_lengths, c, col_keys):
    """Rows' terms -> (compressed columns, c, column keys) with rows in order in each column,
    and without the columns that appear nowhere (as the compiler drops them)."""
    import numpy as np

    from .highs import Csc

    rows = np.repeat(np.arange(len(row_lengths)), row_lengths)
    order = np.lexsort((rows, cols))  # by column, then row
    counts = np.bincount(cols, minlength=len(col_keys))
    used = (counts > 0) | (c != 0)
    if not used.all():
        keep = used[cols[order]]
        order, counts, c = order[keep], counts[used], c[used]
        col_keys = [k for k, u in zip(col_keys, used) if u]
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Csc(indptr, rows[order], data[order], (len(row_lengths), len(col_keys))), c, col_keys


def build_lp(inputs: ModelInputs | None, *, strict: bool | None = None, timings=None,
             params: Params | None = None, trace: dict[str, frozenset[str]] | None = None):
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
        model = build_model(inputs, strict=strict, params=params, trace=trace)
        built = time.perf_counter()
        lp = compile_lp(model)
        del model
    if lp.A.nnz > 10**6:
        # A Pyomo model is full of reference cycles: free it now, before HiGHS needs the
        # memory, rather than whenever the collector next runs.
        import gc

        gc.collect()
    if timings is not None:
        timings.build, timings.compile = built - start, time.perf_counter() - built
    return lp
