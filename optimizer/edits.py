"""Scenario changes -> in-place edits of the built LP, through the model's own declarations.

A :class:`SweepEngine` holds the base LP and the typed input rows it was built from. For a
scenario it

1. resolves each change path to cells and types the new values exactly as the reader
   types a cell (a blank means the column's default, ``Approved`` means ``approved``);
2. re-derives the parameters of the changed sheets with the same derivers a full solve
   uses (:data:`optimizer.inputs.DERIVERS`);
3. re-runs every declaration of :mod:`optimizer.model` (variable index, constraint family,
   objective term) that read a parameter whose value changed. Each declaration was traced
   when the base was built: a deterministic function of the fields it read gives the same
   output when none of them changed, so nothing else can have moved;
4. compares the re-run output with the base: the same variables and rows with the same
   coefficients give right-hand-side and cost edits for a hot re-solve; anything else (a
   new row or column, a changed coefficient) raises :class:`StructuralChange`, and the
   caller rebuilds the scenario from scratch. Nothing is ever approximated.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from .changes import Change, _matching_rows, _new_value, parse_path
from .errors import InputError, Problem
from .excel import ROW
from .highs import INF, LpData
from .inputs import DERIVERS, ModelInputs, Params, derive_params, records_of, traced_reads
from .model import (
    BALANCES,
    FAMILY,
    FAMILY_SPECS,
    OBJECTIVE,
    PARTS,
    VARIABLE,
    VARIABLE_SPECS,
    Sums,
    Tracer,
    assemble_lp,
    family_rows,
    model_params,
    term_coefs,
    traced,
)
from .schema import MRECL, SHEET_BY_NAME, Column

PARAM_FIELDS = tuple(f.name for f in fields(Params))


class StructuralChange(Exception):
    """The change cannot be mapped to bounds and costs of the built model."""


class ShapeChange(StructuralChange):
    """The scenario's cells were typed and checked and its parameters derived, but its LP
    has other rows, columns or coefficients: build that LP from ``params`` (no re-reading)."""

    def __init__(self, what: str, params: Params):
        super().__init__(what)
        self.params = params


def cell_value(col: Column, value: Any) -> Any:
    """A typed cell, as the reader types it: blank -> the column's default, else converted.

    Raises ``validate._Bad`` for a value the column cannot hold.
    """
    from .validate import _convert, is_blank

    return col.default if is_blank(value) else _convert(col, value)


# --- resolving changes to cells -----------------------------------------------------------

def _match_in_order(engine: SweepEngine, change: Change, changed_columns: set[tuple[str, str]]):
    """(path, rows) of a change of a scenario; StructuralChange if it would create rows or
    its filter reads a column an earlier change of the scenario modifies."""
    cp, hits = engine.match(change)
    if not hits or any((cp.sheet, f.column) in changed_columns for f in cp.filters):
        raise StructuralChange(change.path)
    changed_columns.add((cp.sheet, cp.column))
    return cp, hits


def resolve_cells(engine: SweepEngine, changes: Sequence[Change]) -> dict[tuple, Any]:
    """{(sheet, row position, column): new value} for changes that match existing rows.

    Raises StructuralChange when a change would create rows, or when its filter reads a
    column that an earlier change of the same scenario modifies (the exact, rebuilt path
    then applies the changes in order); InputError for bad paths.
    """
    overlay: dict[tuple, Any] = {}
    changed_columns: set[tuple[str, str]] = set()
    for change in changes:
        cp, hits = _match_in_order(engine, change, changed_columns)
        records = engine.records[cp.sheet]
        for i in hits:
            key = (cp.sheet, i, cp.column)
            old = overlay.get(key, records[i][cp.column])
            overlay[key] = _new_value(old, change, cp)
    return overlay


def _cell_name(engine: SweepEngine, sheet: str, i: int, column: str) -> tuple[int | None, str | None]:
    row = engine.records[sheet][i][ROW]
    letter = engine.inputs.letters.get(sheet, {}).get(column)
    return row, (f"{letter}{row}" if letter and row is not None else None)


def check_cells(engine: SweepEngine, overlay: Mapping[tuple, Any], origin: str, *,
                cross: bool = True) -> dict[tuple, Any]:
    """Type and validate changed cells like input cells; return them typed.

    Checks type, range and ids, and (``cross``) checks between cells such as max_t ≥ min_t.
    Settings cells are typed when the parameters are derived. Raises InputError naming
    each cell.
    """
    from .validate import _Bad

    problems = []
    typed: dict[tuple, Any] = {}
    for (sheet, i, column), value in overlay.items():
        if sheet == "settings":
            typed[sheet, i, column] = value
            continue
        row, cell = _cell_name(engine, sheet, i, column)
        col = SHEET_BY_NAME[sheet].column(column)
        try:
            typed[sheet, i, column] = new = cell_value(col, value)
        except _Bad:
            problems.append(Problem(sheet, row, column, value, col.expectation(), cell))
            continue
        if new is None and col.required:
            problems.append(Problem(sheet, row, column, None, col.expectation(), cell))
        elif new is not None and col.ref and new not in engine.refs[col.ref]:
            problems.append(Problem(sheet, row, column, value, col.expectation(), cell))
    if cross:
        problems += _min_max_problems(engine, typed)
    if problems:
        raise InputError(list(dict.fromkeys(problems)), source=origin)
    return typed


def _min_max_problems(engine: SweepEngine, typed: Mapping[tuple, Any]) -> list[Problem]:
    """max_t ≥ min_t on every demand row a change touches (a pair is valid only together)."""
    demand = engine.records["demand"]
    problems = []
    for i in sorted({i for (sheet, i, column) in typed
                     if sheet == "demand" and column in ("min_t", "max_t")}):
        low = typed.get(("demand", i, "min_t"), demand[i]["min_t"])
        high = typed.get(("demand", i, "max_t"), demand[i]["max_t"])
        if low is not None and high is not None and high < low:
            row, cell = _cell_name(engine, "demand", i, "max_t")
            problems.append(Problem("demand", row, "max_t", high, f"a number ≥ min_t ({low:g})", cell))
    return problems


def scenario_cells(engine: SweepEngine, changes: Sequence[Change], origin: str) -> dict[tuple, Any]:
    """The typed cells of a scenario: :func:`resolve_cells` then :func:`check_cells`.

    A sweep repeats each change in many scenarios, so each change's typed cells are kept
    by the engine; two changes of one scenario that touch the same cell are resolved in
    order instead.
    """
    overlay = Overlay()
    by: dict[str, frozenset] | None = {}
    changed_columns: set[tuple[str, str]] = set()
    for change in changes:
        _match_in_order(engine, change, changed_columns)
        key = (change.path, repr(change.value), change.mode)
        hit = engine.typed_cells.get(key)
        if hit is None:
            cells = check_cells(engine, resolve_cells(engine, [change]), change.origin, cross=False)
            hit = engine.typed_cells[key] = cells, _by_token(cells)
        cells, tokens = hit
        if not overlay.keys().isdisjoint(cells):
            return check_cells(engine, resolve_cells(engine, changes), origin)
        overlay.update(cells)
        if by is not None and tokens is not None:  # the memo keys of the changes, merged
            for t, items in tokens.items():
                by[t] = by[t] | items if t in by else items
        else:
            by = None
    problems = _min_max_problems(engine, overlay)
    if problems:  # a blank-period row is one cell for every period it stands for: once
        raise InputError(list(dict.fromkeys(problems)), source=origin)
    overlay.by_token = by
    return overlay


class Overlay(dict):
    """A scenario's typed cells, ``{(sheet, row position, column): value}``, with their
    memo keys by sheet and column (:class:`_Cells`) already made from its changes'."""

    by_token: dict[str, frozenset] | None = None


def _by_token(overlay: Mapping[tuple, Any]) -> dict[str, frozenset] | None:
    """Changed cells by sheet and by ``sheet.column``; None if a value cannot be a key."""
    by: dict[str, list] = {}
    for item in overlay.items():
        sheet, _, column = item[0]
        by.setdefault(sheet, []).append(item)
        by.setdefault(f"{sheet}.{column}", []).append(item)
    try:
        return {t: frozenset(items) for t, items in by.items()}
    except TypeError:  # e.g. a list given as a value through the library
        return None


# --- KPI weights of a comparison row --------------------------------------------------------

@dataclass
class KpiWeights:
    """What a comparison row reads off the solution, as vectors over the LP's columns."""

    parts: dict[str, np.ndarray]
    """Each part of the objective (model.OBJECTIVE), present value per unit."""
    ndpr_all: np.ndarray
    """t NdPr leaving the plant per unit (1 for NdPr sales, the NdPr share for MRECL)."""
    ndpr_domestic: np.ndarray
    treaty_cols: list[np.ndarray]
    """Columns that deliver to each treaty minimum."""
    treaty_min: np.ndarray
    """Each treaty minimum in tonnes (min x years)."""

    def delivered(self, x: np.ndarray) -> np.ndarray:
        """Tonnes delivered to each treaty minimum by the solution ``x``."""
        sizes = [len(cols) for cols in self.treaty_cols]
        if not sum(sizes):
            return np.zeros(len(sizes))
        which = np.repeat(np.arange(len(sizes)), sizes)
        return np.bincount(which, weights=x[np.concatenate(self.treaty_cols)], minlength=len(sizes))


def _ndpr_weights(P, col_keys: list[tuple[str, tuple]]) -> tuple[np.ndarray, np.ndarray]:
    """t NdPr per unit of each column, all and domestic: NdPr sales, and MRECL's content."""
    from .report import ndpr_product

    ndpr = ndpr_product(P)
    share, kind = P.share, P.kind
    everything, domestic = np.zeros(len(col_keys)), np.zeros(len(col_keys))
    for j, (name, idx) in enumerate(col_keys):
        if name == "sale_t":
            weight, k = (1.0 if idx[1] == ndpr else 0.0), idx[0]
        elif name == "mixed_sale_t":
            weight, k = share.get((idx[0], ndpr), 0.0), idx[1]
        else:
            continue
        everything[j] = weight
        domestic[j] = weight if kind[k] == "domestic" else 0.0
    return everything, domestic


def _treaty(P, cols_of_demand: Mapping[tuple, list[int]]) -> tuple[list[np.ndarray], np.ndarray]:
    """Columns and tonnes of every treaty minimum (rows of customers bound by a treaty)."""
    rows = [d for d in P.DEMAND if P.treaty[d[0]] and P.min_t[d] > 0]
    years = P.years
    return ([np.asarray(cols_of_demand.get(d, []), dtype=np.int64) for d in rows],
            np.array([P.min_t[d] * years[d[2]] for d in rows]))


def _cols_of_demand(lp: LpData) -> dict[tuple, list[int]]:
    out: dict[tuple, list[int]] = {}
    for j, (name, idx) in enumerate(lp.col_keys):
        if name in ("sale_t", "mixed_sale_t"):
            out.setdefault(idx if name == "sale_t" else (idx[1], MRECL, idx[2]), []).append(j)
    return out


# --- the engine: one built model, changes mapped through the declarations -------------------

class BuiltModel:
    """An LP built from parameters, with what a comparison row reads off its solution."""

    def __init__(self, P: Params, lp: LpData, trace: dict[str, frozenset[str]] | None = None):
        from .report import part_vectors

        self.P, self.lp, self.strict = P, lp, P.strict
        self.cols_of_demand = _cols_of_demand(lp)
        ndpr, reads = traced(_ndpr_weights, P, lp.col_keys)
        treaty, treaty_reads = traced(_treaty, P, self.cols_of_demand)
        if trace is not None:
            trace.update({"kpi ndpr": reads, "kpi treaty": treaty_reads})
        self.base_kpi = KpiWeights(part_vectors(P, lp), ndpr[0], ndpr[1], treaty[0], treaty[1])
        self.keep_rows = np.array([f not in BALANCES for f, _ in lp.row_keys])

    @classmethod
    def from_params(cls, P: Params) -> BuiltModel:
        """The LP of a scenario's parameters, assembled from the declarations."""
        return cls(P, assemble_lp(P))


class SweepEngine(BuiltModel):
    """The base LP plus everything needed to turn a scenario into a few LP edits."""

    def __init__(self, inputs: ModelInputs, *, strict: bool | None = None):
        self.inputs = inputs
        self.strict_override = strict
        P = model_params(inputs, strict)
        trace: dict[str, frozenset[str]] = {}
        # The LP is assembled straight from the declarations: the very LP Pyomo compiles
        # (tests/test_fastpath_property.py holds them equal on every random workbook),
        # without the Pyomo import and build that would dominate a sweep's fixed cost.
        super().__init__(P, assemble_lp(P, trace), trace)
        lp = self.lp
        self.col_of = {key: j for j, key in enumerate(lp.col_keys)}
        self.row_of = {key: i for i, key in enumerate(lp.row_keys)}
        self.records = records_of(inputs.frames)
        made_by: dict[str, int] = {}
        self.deriver_reads = traced_reads(self.records, inputs.settings, inputs.params, made_by)
        # What a deriver's output can depend on: its declared reads (every path through it)
        # and its traced ones (which include the reads of the derivers it builds on).
        self.deriver_tokens = [frozenset(d.reads) | r for d, r in zip(DERIVERS, self.deriver_reads)]
        self.field_tokens = {name: self.deriver_tokens[n] for name, n in made_by.items()}
        self._tokens: dict[frozenset[str], frozenset[str]] = {}
        self.memo_limit = max(8, min(256, MEMO_CELLS // max(len(lp.col_keys), 1)))
        self._memo: dict[tuple, dict[frozenset[str], dict]] = {}
        from .validate import _ref_sets

        self.refs = _ref_sets(inputs.frames)
        self._matches: dict[str, tuple] = {}
        self.typed_cells: dict[tuple, tuple[dict[tuple, Any], dict[str, frozenset] | None]] = {}
        """Each change's typed cells and their memo keys (:func:`scenario_cells`)."""

        # The base LP's rows and columns by declaration, and what each declaration read
        # when the base was built (see the module docstring).
        self.sums = Sums(P)  # filled only for what a scenario re-runs
        self.fam_index, fam_rows = _group(lp.row_keys)
        self.fam_rows = {name: np.asarray(fam_rows.get(name, []), dtype=np.int64) for name in FAMILY}
        self.var_index, var_cols = _group(lp.col_keys)
        self.var_cols = {name: np.asarray(var_cols.get(name, []), dtype=np.int64) for name in VARIABLE}
        self.fam_reads = {name: trace[name] for name in FAMILY}
        self.families_of_var = _families_of_var(lp, self.var_cols)
        self.var_reads = {name: trace["variable " + name] for name in VARIABLE}
        self._base_terms: dict[str, list] = {}  # filled for families a scenario re-runs
        self.term_reads = [trace[f"objective {n}"] for n in range(len(OBJECTIVE))]
        self.kpi_reads = {"ndpr": trace["kpi ndpr"], "treaty": trace["kpi treaty"]}

    def match(self, change: Change):
        """(parsed path, matching row positions) of a change, cached by path text."""
        hit = self._matches.get(change.path)
        if hit is None:
            cp = parse_path(change.path, change.origin)
            hits = _matching_rows(self.inputs.frames[cp.sheet], SHEET_BY_NAME[cp.sheet], cp,
                                  self.P.PERIODS, change.origin, refs=self.refs)
            hit = self._matches[change.path] = (cp, hits)
        return hit

    # --- a scenario's parameters ----------------------------------------------------------
    def params(self, overlay: Mapping[tuple, Any]) -> Params:
        """The parameters with the (typed) cell overlay applied, derived like a full solve's.

        Key columns (ids, periods) are left to the rebuild, which re-validates the whole
        workbook (blank-period expansion, references, uniqueness).
        """
        return self._derive(overlay, _Cells(overlay))[0]

    def _derive(self, overlay: Mapping[tuple, Any], cells: _Cells) -> tuple[Params, frozenset[str]]:
        """The scenario's parameters, and the fields whose value differs from the base's."""
        for sheet, column in cells.columns:
            spec = SHEET_BY_NAME[sheet]
            if sheet in ("scenarios", "composition") or column in spec.keys \
                    or (column == "period" and (spec.per_period or sheet == "periods")):
                # ids and periods re-expand the sheets; shares are checked sheet-wide
                raise StructuralChange(f"{sheet}.{column}: validated and rebuilt whole")
        # The changed rows are made only if a deriver has to run (not for a memo hit).
        R = _Lazy(lambda: _patched(self.records, overlay))
        settings = _Lazy(lambda: _read_settings(R["settings"])) \
            if any(sheet == "settings" for sheet, _ in cells.columns) else self.inputs.settings
        changed: set[str] = set()

        def run(n: int, deriver, D: Mapping[str, Any]) -> Mapping[str, Any]:
            def compute():
                out = deriver.fn(R, settings, D)
                if "strict" in out and self.strict_override is not None:
                    out = {**out, "strict": bool(self.strict_override)}
                moved = frozenset(f for f, v in out.items()
                                  if v is not getattr(self.P, f) and v != getattr(self.P, f))
                return (out, moved), self.deriver_tokens[n]
            out, moved = self._remember(("deriver", n), cells, compute)
            changed.update(moved)
            return out

        P = derive_params(R, settings, base=self.P, changed=cells.tokens,
                          reads=self.deriver_reads, run=run)
        return P, frozenset(changed)

    def changed_fields(self, P: Params) -> frozenset[str]:
        base = self.P
        return frozenset(f for f in PARAM_FIELDS
                         if getattr(P, f) is not getattr(base, f) and getattr(P, f) != getattr(base, f))

    # --- the memo ---------------------------------------------------------------------------
    def _tokens_of(self, fields: frozenset[str]) -> frozenset[str]:
        """The input columns (and ``settings``) that Params fields are derived from."""
        hit = self._tokens.get(fields)
        if hit is None:
            hit = self._tokens[fields] = frozenset().union(
                *(self.field_tokens.get(f, ()) for f in fields))
        return hit

    def _remember(self, what: tuple, cells: _Cells, compute: Callable[[], tuple[Any, frozenset[str]]],
                  extra: Hashable = ()) -> Any:
        """``compute()`` gives (value, the input columns its run read); the value is reused for
        any scenario whose changed cells in exactly those columns are the same.

        A deterministic function given the same inputs on everything it read takes the same
        path, reads the same and returns the same; inputs it did not read cannot matter.
        """
        if not cells.hashable:
            return compute()[0]
        groups = self._memo.setdefault(what, {})
        for tokens, table in groups.items():
            hit = table.get((cells.key(tokens), extra), _MISS)
            if hit is not _MISS:
                return hit
        value, tokens = compute()
        table = groups.setdefault(tokens, {})
        if len(table) >= self.memo_limit:  # oldest first: a grid revisits its recent values
            del table[next(iter(table))]
        table[cells.key(tokens), extra] = value
        return value

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (Dask, spawn) without the memo: each worker keeps its own."""
        state = dict(self.__dict__)
        state["_memo"], state["_tokens"] = {}, {}
        return state

    # --- edits ------------------------------------------------------------------------------
    def edits(self, overlay: Mapping[tuple, Any]) -> Edits:
        """LP edits for a typed cell overlay. Raises StructuralChange when bounds and costs
        will not do.

        Each declaration's part of the edits is remembered by the cells it read
        (:meth:`_remember`): a grid sweep re-runs a declaration once per value of the
        axes it depends on, not once per scenario.
        """
        cells = _Cells(overlay)
        P, changed = self._derive(overlay, cells)
        edits = Edits(self, P)
        if not changed:
            return edits
        # The scenario's LP may lack some of the base's columns and rows (a minimum set to 0
        # has no row and no shortfall column): fixing such a column at 0 and freeing such a
        # row gives exactly that LP. Anything it has that the base lacks needs a rebuild.
        kept: dict[str, tuple[list[tuple], tuple[int, ...]]] = {}
        for v in VARIABLE_SPECS:
            if self.var_reads[v.name] & changed:
                new, gone = self._remember(("variable", v.name), cells,
                                           lambda v=v: self._variable(v, P))
                if gone is None:
                    raise ShapeChange(f"the columns of {v.name}", P)
                if gone:
                    edits.removed_cols.update(int(self.var_cols[v.name][k]) for k in gone)
                    kept[v.name] = new, gone
        touching = {f for name in kept for f in self.families_of_var[name]}
        removed = frozenset(edits.removed_cols)
        sums: list[Sums] = []  # made on the first family the memo does not hold

        def scenario_sums() -> Sums:
            if not sums:
                sums.append(Sums(P, reuse=self.sums, changed=changed))
            return sums[0]

        for fam in FAMILY_SPECS:
            if self.fam_reads[fam.name] & changed or fam.name in touching:
                bounds, gone_rows = self._remember(
                    ("family", fam.name), cells,
                    lambda fam=fam: self._family(fam, P, scenario_sums(), removed), removed)
                if bounds is None:
                    raise ShapeChange(f"the {gone_rows} of {fam.name}", P)
                for i in gone_rows:
                    edits.remove_row(i)
                edits.rows.update(bounds)
        self._cost_edits(P, changed, edits, kept, cells)
        return edits

    def _variable(self, v, P: Params) -> tuple[tuple[list[tuple], tuple[int, ...] | None], frozenset[str]]:
        """((the scenario's index, positions of base columns it lacks or None), tokens read)."""
        new, reads = traced(v.index, P)
        base = self.var_index.get(v.name, [])
        gone = () if new == base else _dropped(base, new)
        return (new, None if gone is None else tuple(gone)), self._tokens_of(reads)

    def _family_terms(self, name: str) -> list:
        if name not in self._base_terms:
            fam = next(f for f in FAMILY_SPECS if f.name == name)
            self._base_terms[name] = [r[1] for r in family_rows(fam, self.P, self.sums)]
        return self._base_terms[name]

    def _family(self, fam, P: Params, sums: Sums, removed: frozenset[int]) -> tuple[Any, frozenset[str]]:
        """(({row: (lower, upper)} of moved rows, rows the scenario lacks), tokens read);
        (None, what differs) when the family's rows or coefficients are not the base's."""
        trace: dict[str, frozenset[str]] = {}
        rows = family_rows(fam, P, sums, trace)
        tokens = self._tokens_of(trace[fam.name])
        base = self.fam_index.get(fam.name, [])
        positions = self.fam_rows[fam.name]
        terms = self._family_terms(fam.name)
        new = [r[0] for r in rows]
        gone_rows: tuple[int, ...] = ()
        if new != base:
            gone = _dropped(base, new)
            if gone is None:
                return (None, "rows"), tokens
            gone_rows = tuple(int(positions[k]) for k in gone)
            keep = [k for k in range(len(base)) if k not in set(gone)]
            positions, terms = positions[keep], [terms[k] for k in keep]
        if removed:  # the base's terms on columns the scenario has
            col_of = self.col_of
            terms = [[t for t in row if col_of[t[1]] not in removed] for row in terms]
        if [r[1] for r in rows] != terms:
            return (None, "coefficients"), tokens
        rhs = np.fromiter((r[2] for r in rows), float, len(rows))
        lp = self.lp
        bounds = {}
        for n in np.flatnonzero(rhs != lp.rhs[positions]):
            i = int(positions[n])
            bounds[i] = (rhs[n] if fam.sense in (">=", "=") else lp.row_lower[i],
                         rhs[n] if fam.sense in ("<=", "=") else lp.row_upper[i])
        return (bounds, gone_rows), tokens

    def _objective(self, P: Params, groups: frozenset[tuple[str, str]],
                   kept: Mapping[str, tuple[list[tuple], tuple[int, ...]]]
                   ) -> tuple[tuple[dict[str, np.ndarray], dict[int, float]], frozenset[str]]:
        """((the objective parts that moved, {column: new cost}), tokens read): the terms of
        each (part, variable) in ``groups`` re-run on the scenario's columns."""
        moved: dict[str, np.ndarray] = {}
        reads: set[str] = set()
        for part, var in sorted(groups):
            index, gone = kept.get(var, (self.var_index.get(var, []), ()))
            vector = moved.setdefault(part, self.base_kpi.parts[part].copy())
            vector[self.var_cols[var]] = 0.0  # removed columns weigh nothing; the rest as declared
            cols = np.array([self.col_of[var, i] for i in index], dtype=np.int64) if gone \
                else self.var_cols[var]
            for term in OBJECTIVE:
                if (term.part, term.var) == (part, var):
                    coefs, read = traced(term_coefs, P, term, index)
                    vector[cols] += np.asarray(coefs, dtype=float)
                    reads |= read
        touched = np.unique(np.concatenate([self.var_cols[var] for _, var in groups]))
        c = np.zeros(len(touched))
        for part in PARTS:  # summed in the order objective_coefs sums them
            c = c + moved.get(part, self.base_kpi.parts[part])[touched]
        costs = {int(touched[n]): float(c[n]) for n in np.flatnonzero(c != self.lp.c[touched])}
        return (moved, costs), self._tokens_of(frozenset(reads))

    def _cost_edits(self, P: Params, changed: frozenset[str], edits: Edits,
                    kept: Mapping[str, tuple[list[tuple], tuple[int, ...]]], cells: _Cells) -> None:
        """Objective parts (as :func:`report.part_vectors` sums them), cost edits, KPI weights."""
        groups = frozenset((t.part, t.var) for t, reads in zip(OBJECTIVE, self.term_reads)
                           if reads & changed or t.var in kept)
        parts = self.base_kpi.parts
        if groups:
            extra = (groups, tuple(sorted((var, gone) for var, (_, gone) in kept.items())))
            moved, costs = self._remember(("objective",), cells,
                                          lambda: self._objective(P, groups, kept), extra)
            parts = {**parts, **moved}
            edits.changed_parts.update(moved)
            edits.costs.update(costs)
        ndpr = self.base_kpi.ndpr_all, self.base_kpi.ndpr_domestic
        if self.kpi_reads["ndpr"] & changed:
            ndpr = self._remember(("kpi", "ndpr"), cells, lambda: self._kpi(_ndpr_weights, P, self.lp.col_keys))
        treaty = self.base_kpi.treaty_cols, self.base_kpi.treaty_min
        if self.kpi_reads["treaty"] & changed:
            treaty = self._remember(("kpi", "treaty"), cells, lambda: self._kpi(_treaty, P, self.cols_of_demand))
        edits.kpi = KpiWeights(parts, ndpr[0], ndpr[1], treaty[0], treaty[1])

    def _kpi(self, fn: Callable[..., Any], P: Params, *args: Any) -> tuple[Any, frozenset[str]]:
        value, reads = traced(fn, P, *args)
        return value, self._tokens_of(reads)

    # helpers
    def row(self, family: str, idx: tuple) -> int | None:
        return self.row_of.get((family, idx))

    def col(self, name: str, idx: tuple) -> int | None:
        return self.col_of.get((name, idx))


MEMO_CELLS = 5_000_000
"""The memo keeps at most this many LP columns' worth of outputs per declaration (at least
8, at most 256 entries): plenty for a grid's values, bounded on a large model."""
_MISS = object()


class _Cells:
    """A scenario's changed cells by sheet and by ``sheet.column``: what memo keys are made of."""

    __slots__ = ("tokens", "columns", "hashable", "_by")

    def __init__(self, overlay: Mapping[tuple, Any]):
        by = getattr(overlay, "by_token", None)
        if by is None:
            by = _by_token(overlay)
        self.hashable = by is not None
        self._by = by or {}
        self.columns = {(sheet, column) for sheet, _, column in overlay} if by is None else \
            {tuple(t.split(".", 1)) for t in by if "." in t}
        self.tokens = frozenset(self._by) if by is not None else \
            frozenset({*(s for s, _ in self.columns), *(f"{s}.{c}" for s, c in self.columns)})

    def key(self, tokens: frozenset[str]) -> frozenset:
        """The changed cells in these columns (or sheets), as a hashable key."""
        by = self._by
        return frozenset((t, by[t]) for t in tokens & self.tokens)


class _Lazy(Mapping):
    """A mapping made on first use."""

    def __init__(self, make: Callable[[], Mapping]):
        self._make, self._value = make, None

    def _get(self) -> Mapping:
        if self._value is None:
            self._value = self._make()
        return self._value

    def __getitem__(self, key):
        return self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def _patched(records: Mapping[str, list], overlay: Mapping[tuple, Any]) -> dict[str, list]:
    """The records with the changed cells written in (the base's rows are not touched)."""
    sheets: dict[str, dict[int, dict[str, Any]]] = {}
    for (sheet, i, column), value in overlay.items():
        sheets.setdefault(sheet, {}).setdefault(i, {})[column] = value
    R = dict(records)
    for sheet, cells in sheets.items():
        rows = list(R[sheet])
        for i, new in cells.items():
            rows[i] = {**rows[i], **new}
        R[sheet] = rows
    return R


def _families_of_var(lp: LpData, var_cols: Mapping[str, np.ndarray]) -> dict[str, set[str]]:
    """The constraint families with a coefficient on each variable's columns."""
    family_of_row = np.array([f for f, _ in lp.row_keys], dtype=object)
    out = {}
    for name, cols in var_cols.items():
        if len(cols) and cols[-1] - cols[0] + 1 == len(cols):  # declaration order: contiguous
            rows = lp.A.indices[lp.A.indptr[cols[0]]:lp.A.indptr[cols[-1] + 1]]
        else:
            rows = np.concatenate([lp.A.indices[lp.A.indptr[j]:lp.A.indptr[j + 1]] for j in cols]) \
                if len(cols) else np.zeros(0, dtype=np.int64)
        out[name] = set(family_of_row[np.unique(rows)]) if len(rows) else set()
    return out


def _dropped(base: Sequence, new: Sequence) -> list[int] | None:
    """Positions of ``base`` missing from ``new``, if ``new`` is ``base`` with some items
    left out (order kept); else None."""
    gone, j = [], 0
    for k, item in enumerate(base):
        if j < len(new) and new[j] == item:
            j += 1
        else:
            gone.append(k)
    return gone if j == len(new) else None


def _group(keys: list[tuple[str, tuple]]) -> tuple[dict[str, list[tuple]], dict[str, list[int]]]:
    """(name, index) keys -> each name's indexes and positions, in order."""
    index: dict[str, list[tuple]] = {}
    positions: dict[str, list[int]] = {}
    for n, (name, idx) in enumerate(keys):
        index.setdefault(name, []).append(idx)
        positions.setdefault(name, []).append(n)
    return index, positions


def _read_settings(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Settings from (changed) settings rows, read by the reader's own rules."""
    from .validate import _Collector
    from .validate import _read_settings as read

    out = _Collector({})
    settings = read(pd.DataFrame(list(rows)), out)
    if out.problems:
        raise InputError(out.problems, source="settings change")
    return settings


class Edits:
    """Row-bound and cost edits of one scenario, its parameters and its KPI weights."""

    def __init__(self, engine: SweepEngine, params: Params | None = None):
        self.engine = engine
        self.params = params or engine.P
        self.rows: dict[int, tuple[float, float]] = {}
        self.costs: dict[int, float] = {}
        self.removed_rows: set[int] = set()
        """Rows the scenario's LP does not have: freed (no bounds) in the base LP."""
        self.removed_cols: set[int] = set()
        """Columns the scenario's LP does not have: fixed at 0 in the base LP."""
        self.changed_parts: set[str] = set()
        self.kpi: KpiWeights = engine.base_kpi

    @property
    def strict(self) -> bool:
        return self.params.strict

    def remove_row(self, i: int) -> None:
        self.removed_rows.add(i)
        self.rows[i] = (-INF, INF)

    def bound(self, i: int, lower: float | None = None, upper: float | None = None) -> None:
        lp = self.engine.lp
        low, up = self.rows.get(i, (lp.row_lower[i], lp.row_upper[i]))
        self.rows[i] = (low if lower is None else lower, up if upper is None else upper)


__all__ = ["SweepEngine", "BuiltModel", "Edits", "StructuralChange", "ShapeChange", "KpiWeights", "resolve_cells",
           "check_cells", "scenario_cells", "cell_value", "Tracer", "INF"]
