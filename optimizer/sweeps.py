"""Scenarios and sensitivity sweeps: build once, change the HiGHS model in place, re-solve hot.

The Pyomo model is built and compiled once. Each scenario's change paths are resolved to
cells of the (expanded) input, checked like any input, and mapped to the LP numbers they
drive (:mod:`optimizer.edits`): row bounds (capacities, minimums, caps) and objective
coefficients (prices, costs, penalties). Those few entries are changed in one persistent
``highspy.Highs`` per worker, which re-solves from the base case's optimal basis; the
comparison row's KPIs come from the solution arrays with numpy. This is how GAMS GUSS
works.

A change that alters the model's *structure* (a new row, a blank limit becoming a number,
a composition share, a recovery, the discount rate, strict mode) cannot be mapped to a few
numbers; that scenario is rebuilt from scratch through the ordinary :func:`optimizer.solve`
path. Both paths give the same answer: the tests compare them.

Scenarios go to workers in chunks of fixed size; each chunk starts from the base case's
optimal basis and hot-starts each scenario from the one before. What a scenario starts
from therefore never depends on the number of workers or the executor: results are
identical for any ``workers``, local or Dask.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .changes import Change
from .edits import (
    BuiltModel,
    Edits,
    ShapeChange,
    StructuralChange,
    SweepEngine,
    check_cells,
    resolve_cells,
    scenario_cells,
)
from .errors import InputError, IrelError
from .highs import new_highs
from .inputs import ModelInputs
from .model import model_params

KPI_COLUMNS = ["status", "objective", "revenue_pv", "policy_value_pv", "penalties_pv",
               "domestic_ndpr_share", "treaty_fulfilment_pct", "treaty_shortfall_t",
               "binding", "path", "iterations", "seconds", "explanation"]
BINDING_SHOWN = 5
"""How many binding constraints (largest |dual|, balances excluded) a comparison row lists."""


@dataclass
class Scenario:
    """One scenario: a label (what the comparison row shows) and its changes."""

    name: str
    changes: list[Change]
    label: dict[str, Any] = field(default_factory=dict)
    rebuilt: ModelInputs | None = field(default=None, repr=False)
    """Validated changed inputs, kept by :func:`prevalidate` for scenarios that need a rebuild."""


# --- running scenarios ------------------------------------------------------------------

class Worker:
    """One persistent HiGHS model; every chunk starts from the base LP and its optimal basis."""

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
        self.reset = True
        # What differs from the base LP in the model now: row bounds, costs, fixed columns.
        self.rows: dict[int, tuple[float, float]] = {}
        self.costs: dict[int, float] = {}
        self.fixed: frozenset[int] = frozenset()

    def start_chunk(self) -> None:
        """The next hot scenario starts from the base case's LP and optimal basis."""
        self.reset = True

    def solve(self, edits: Edits) -> dict[str, Any]:
        """Make the model the scenario's LP, re-solve hot, read KPIs.

        The first scenario of a chunk (:meth:`start_chunk`) starts from the base LP and the
        base case's optimal basis; the others from the scenario before, changing only the
        numbers in which the two differ (in a grid, the costs of one axis).
        """
        h = self.h
        if self.reset:
            self.reset = False
            self._become({}, {}, frozenset())
            if self.basis is not None:
                h.clearSolver()  # forget pricing weights and factors of earlier chunks
                h.setBasis(self.basis)
        self._become(edits.rows, edits.costs, frozenset(edits.removed_cols))
        start = time.perf_counter()
        h.run()
        seconds = time.perf_counter() - start
        row = self._kpis(edits)
        row["seconds"] = seconds
        return row

    def _become(self, rows: Mapping[int, tuple[float, float]], costs: Mapping[int, float],
                fixed: frozenset[int]) -> None:
        """Change the model from its current edits to these (the base LP's numbers elsewhere)."""
        h, lp = self.h, self.engine.lp
        if fixed != self.fixed:  # columns the scenario's LP does not have, at 0
            cols = np.asarray(sorted(fixed ^ self.fixed), dtype=np.int32)
            now = np.isin(cols, list(fixed))
            h.changeColsBounds(len(cols), cols, np.where(now, 0.0, lp.col_lower[cols]),
                               np.where(now, 0.0, lp.col_upper[cols]))
        moved = [i for i in self.rows if i not in rows] + \
            [i for i, b in rows.items() if self.rows.get(i) != b]
        if moved:
            idx = np.asarray(moved, dtype=np.int32)
            bounds = np.array([rows.get(i, (lp.row_lower[i], lp.row_upper[i])) for i in moved],
                              dtype=float)
            h.changeRowsBounds(len(idx), idx, bounds[:, 0], bounds[:, 1])
        moved = [j for j in self.costs if j not in costs] + \
            [j for j, c in costs.items() if self.costs.get(j) != c]
        if moved:
            idx = np.asarray(moved, dtype=np.int32)
            h.changeColsCost(len(idx), idx, np.array([costs.get(j, lp.c[j]) for j in moved]))
        self.rows, self.costs, self.fixed = dict(rows), dict(costs), fixed

    def _kpis(self, edits: Edits) -> dict[str, Any]:
        e, h = self.engine, self.h
        status = h.modelStatusToString(h.getModelStatus()).lower()
        row: dict[str, Any] = {"status": status,
                               "iterations": int(h.getInfoValue("simplex_iteration_count")[1])}
        if status != "optimal":
            return row
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        dual = np.asarray(sol.row_dual)

        w = edits.kpi  # the scenario's weights: objective parts, NdPr content, treaty rows
        row["objective"] = float(h.getObjectiveValue())
        row["revenue_pv"] = float(w.parts["revenue_pv"] @ x)
        row["policy_value_pv"] = float(w.parts["policy_value_pv"] @ x)
        row["penalties_pv"] = float(w.parts["penalties_pv"] @ x) + 0.0
        total = float(w.ndpr_all @ x)
        row["domestic_ndpr_share"] = float(w.ndpr_domestic @ x) / total if total > 1e-9 else None
        if len(w.treaty_min):
            mins = w.treaty_min
            delivered = w.delivered(x)
            committed = mins.sum()
            row["treaty_fulfilment_pct"] = (100.0 * np.minimum(delivered, mins).sum() / committed
                                            if committed > 1e-9 else None)
            short = float(np.maximum(mins - delivered, 0.0).sum())
            row["treaty_shortfall_t"] = short if short > 1e-6 else 0.0
        keep = np.flatnonzero(e.keep_rows & (np.abs(dual) > 1e-7))
        # Rank by |dual| to 9 significant digits, then row order: ties are common (a min and
        # a max on one row) and must not be broken by floating-point noise.
        size = np.abs(dual[keep])
        scale = 10.0 ** (8 - np.floor(np.log10(size))) if len(keep) else size
        top = keep[np.lexsort((keep, -np.round(size * scale) / scale))][:BINDING_SHOWN]
        row["binding"] = "; ".join(
            f"{e.lp.row_keys[i][0]}[{', '.join(e.lp.row_keys[i][1])}]={dual[i]:.4g}" for i in top)
        return row


def _solve_one(engine: SweepEngine, worker: Worker, scenario: Scenario,
               ) -> dict[str, Any]:
    """The comparison row of one scenario: fast path if possible, else rebuilt."""
    origin = f"scenario {scenario.name}"
    strict = engine.strict
    try:
        try:
            edits = engine.edits(scenario_cells(engine, scenario.changes, origin))
        except ShapeChange as shape:  # checked cells, other LP: build it from its parameters
            row, strict = _solve_built(BuiltModel.from_params(shape.params), "rebuilt")
        except StructuralChange:
            row, strict = _rebuild(engine, scenario)
        else:
            row = worker.solve(edits)
            row["path"], strict = "hot", edits.strict
    except IrelError as exc:
        row = {"status": "invalid", "explanation": str(exc), "path": "none"}
    if row.get("status") == "infeasible" and strict and "explanation" not in row:
        row["explanation"] = _explain(engine, scenario)
    return row


def _rebuild(engine: SweepEngine, scenario: Scenario) -> tuple[dict[str, Any], bool]:
    """Apply the changes to the inputs, validate, build and solve from scratch.

    Returns the comparison row and whether the scenario was solved strict: ``--strict``
    if given, else the scenario's own settings (a scenario may change settings.strict).
    """
    from .changes import apply_changes

    changed = scenario.rebuilt or apply_changes(engine.inputs, scenario.changes)
    P = model_params(changed, engine.strict_override)
    return _solve_built(BuiltModel.from_params(P), "rebuilt")


def _solve_built(built: BuiltModel, path: str) -> tuple[dict[str, Any], bool]:
    """Solve a freshly built LP cold; its comparison row and whether it was strict."""
    start = time.perf_counter()
    row = Worker(built)._kpis(Edits(built))
    row["seconds"] = time.perf_counter() - start
    row["path"] = path
    return row, built.strict


def _explain(engine: SweepEngine, scenario: Scenario) -> str:
    from .changes import apply_changes
    from .run import solve

    try:
        return solve(apply_changes(engine.inputs, scenario.changes), strict=True,
                     sensitivity=False).explanation or ""
    except IrelError as exc:  # pragma: no cover - already validated
        return str(exc)


# Forked worker processes inherit the engine from here; every thread keeps its own Worker
# (its own HiGHS model), so Dask workers with several threads are safe too.
_SHARED: dict[str, Any] = {}
_LOCAL = threading.local()


def _worker_for(engine: SweepEngine) -> Worker:
    worker = getattr(_LOCAL, "worker", None)
    if worker is None or worker.engine is not engine:
        worker = _LOCAL.worker = Worker(engine)
    return worker


def _init_process(engine: SweepEngine | None) -> None:
    """Pool initializer: adopt the engine (inherited or pickled) and build the model once."""
    if engine is not None:
        _SHARED["engine"] = engine
    _worker_for(_SHARED["engine"])


def _run_chunk(chunk: list[tuple[int, Scenario]], engine: SweepEngine | None = None
               ) -> list[tuple[int, dict]]:
    """Solve a chunk in order, the first scenario from the base basis, the rest hot."""
    engine = engine if engine is not None else _SHARED["engine"]
    worker = _worker_for(engine)
    worker.start_chunk()
    return [(n, _solve_one(engine, worker, s)) for n, s in chunk]


def prevalidate(engine: SweepEngine, scenarios: Sequence[Scenario]) -> None:
    """Check every scenario before anything is solved; raise InputError listing all bad ones.

    Each distinct change's own cells are checked once, and its filter values against the
    ids of their columns; checks between cells (max_t ≥ min_t) run on each scenario's
    changes together, since a pair such as min 0 and max 0 is valid only as a pair. A
    scenario may change each cell once (checked once per distinct list of paths). A
    scenario that needs a rebuild is validated whole, and the validated inputs are kept
    for the rebuild.
    """
    from .changes import apply_changes, check_conflicts
    from .validate import _ref_sets

    refs = _ref_sets(engine.inputs.frames)
    checked: dict[tuple, str | None] = {}
    shapes: set[tuple] = set()  # path lists already checked for cells changed twice
    problems: dict[str, list[str]] = {}  # message -> scenarios it occurs in
    for scenario in scenarios:
        try:
            try:
                shape = tuple((c.path, c.mode) for c in scenario.changes)
                if shape not in shapes:  # once per shape, even when it fails
                    shapes.add(shape)
                    check_conflicts(engine.inputs, scenario.changes)
                for change in scenario.changes:
                    key = (change.path, repr(change.value), change.mode)
                    if key not in checked:
                        checked[key] = _check_change(engine, change, refs)
                    if checked[key]:
                        problems.setdefault(checked[key], []).append(scenario.name)
                if not any(checked[(c.path, repr(c.value), c.mode)] for c in scenario.changes):
                    # the scenario's cells together (max ≥ min); settings are read whole
                    overlay = scenario_cells(engine, scenario.changes, f"scenario {scenario.name}")
                    if any(sheet == "settings" for sheet, _, _ in overlay):
                        engine.params(overlay)
            except ShapeChange:
                pass  # every cell checked; solved from the derived parameters
            except StructuralChange:
                scenario.rebuilt = apply_changes(engine.inputs, scenario.changes)
        except IrelError as exc:
            listed = "; ".join(c.describe() for c in scenario.changes)
            problems.setdefault(f"{exc}\n  (changes: {listed})", []).append(scenario.name)
    if problems:
        lines = []
        for message, names in list(problems.items())[:MAX_PROBLEMS_SHOWN]:
            listed = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            lines.append(f"{message}\n  (scenario{'s' if len(names) > 1 else ''} {listed})")
        more = len(problems) - len(lines)
        raise InputError("nothing was solved; fix these changes first:\n" + "\n".join(lines)
                         + (f"\n... and {more} more problems" if more else ""))


def _check_change(engine: SweepEngine, change: Change,
                  refs: Mapping[str, set[str]] | None = None) -> str | None:
    """The problem with one change's own cells, or None (StructuralChange passes through).

    ``refs`` (the ids of the input) lets filter values on id columns be checked too: a
    filter naming no customer must not silently match every row.
    """
    from .changes import _matching_rows, parse_path
    from .schema import SHEET_BY_NAME

    try:
        if refs is not None:
            cp = parse_path(change.path, change.origin)
            _matching_rows(engine.inputs.frames[cp.sheet], SHEET_BY_NAME[cp.sheet], cp,
                           list(engine.P.PERIODS), change.origin, refs=refs)
        overlay = check_cells(engine, resolve_cells(engine, [change]), change.origin, cross=False)
        if any(sheet == "settings" for sheet, _, _ in overlay):
            engine.params(overlay)  # settings are read (and checked) whole
    except InputError as exc:
        return f"change {change.describe()}: {exc}"
    return None


MAX_PROBLEMS_SHOWN = 20


CHUNK = 50
"""Scenarios per task. Fixed, so that what a scenario is hot-started from never depends on
the number of workers or the executor: results are identical whichever runs them."""


def _chunks(items: list) -> list[list]:
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]


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

    def base_row() -> dict[str, Any]:
        return Worker(engine)._kpis(Edits(engine)) | {"path": "base", "seconds": None}

    if dask_address or workers == 1 or len(items) < 2 * workers:
        prevalidate(engine, scenarios)
        if dask_address:
            from .parallel import run_on_dask

            for part in run_on_dask(dask_address, engine, _chunks(items), _run_chunk):
                collect(part)
        else:
            for chunk in _chunks(items):
                collect(_run_chunk(chunk, engine))
        base = base_row()
    else:
        from .parallel import local_pool

        with local_pool(engine, workers, _init_process) as pool:
            prevalidate(engine, scenarios)  # while the workers build their models
            parts = pool.imap_unordered(_run_chunk, _chunks(items))
            base = base_row()  # while they solve
            for part in parts:
                collect(part)
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

MAX_SCENARIOS = 10_000
"""Largest sweep run without ``--max-scenarios`` (about ten minutes of hot re-solves on the
base case); a bigger request is refused before anything is built or solved."""


def _too_many(count: float, what: str, limit: int) -> InputError:
    return InputError(f"{what} asks for {count:,.0f} scenarios, more than the limit of "
                      f"{limit:,}; use fewer values, or raise the limit with --max-scenarios N")


def parse_values(text: str, option: str, *, limit: int | None = MAX_SCENARIOS) -> list[Any]:
    """VALUES: ``a,b,c`` or ``start:stop:count`` (inclusive, evenly spaced); ``blank``
    stands for an empty cell. A count above ``limit`` is refused before any value is made."""
    from .validate import _Bad, to_number

    parts = text.split(":")
    if len(parts) == 3:
        try:
            start, stop, count = to_number(parts[0]), to_number(parts[1]), to_number(parts[2])
        except _Bad:
            raise InputError(f"{option}: cannot read {text!r} as start:stop:count") from None
        if count < 1 or not float(count).is_integer():
            raise InputError(f"{option}: count in {text!r} must be a whole number ≥ 1, "
                             f"got {parts[2].strip()}")
        if limit is not None and count > limit:
            raise _too_many(count, option, limit)
        if count == 1 and start != stop:
            raise InputError(f"{option}: {text!r} has one value but start ≠ stop; "
                             f"use a count ≥ 2, or the single value {parts[0].strip()}")
        return [float(v) for v in np.linspace(start, stop, int(count))]
    if len(parts) > 1:
        raise InputError(f"{option}: cannot read {text!r}; expected a,b,c or start:stop:count "
                         "(e.g. 0:2500:11)")
    values = [v.strip() for v in text.split(",")]
    if not any(values):
        raise InputError(f"{option}: no values in {text!r}; expected a,b,c or "
                         "start:stop:count")
    if not all(values):
        raise InputError(f"{option}: empty value in {text!r}; write blank for an empty cell")
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
         origin: str = "sweep axis", max_scenarios: int | None = MAX_SCENARIOS) -> list[Scenario]:
    """Scenarios from ``(path, mode, values)`` axes: the cartesian product, or zipped.

    More than ``max_scenarios`` combinations are refused before any is made.
    """
    if not axes:
        raise InputError("a sweep needs at least one axis (a path and its values)")
    for path, _, values in axes:
        if not values:
            raise InputError(f"sweep axis {path!r} has no values")
    if zip_axes:
        lengths = {len(v) for _, _, v in axes}
        if len(lengths) > 1:
            raise InputError("--zip needs the same number of values for every option; got "
                             + ", ".join(f"{p}: {len(v)}" for p, _, v in axes))
        count = len(axes[0][2])
    else:
        count = math.prod(len(v) for _, _, v in axes)
    if max_scenarios is not None and count > max_scenarios:
        sizes = " × ".join(str(len(v)) for _, _, v in axes)
        raise _too_many(count, f"the sweep ({sizes} values)" if len(axes) > 1 else "the sweep",
                        max_scenarios)
    combos = zip(*(v for _, _, v in axes)) if zip_axes else \
        itertools.product(*(v for _, _, v in axes))
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
    from .changes import _unknown, scenario_changes, scenario_names

    names = scenario_names(inputs)
    if only is not None:
        only = list(only)
        unknown = [n for n in dict.fromkeys(only) if n not in names]
        if unknown:
            raise InputError("\n".join(
                f"--only: {_unknown('scenario', str(n), names)}" for n in unknown))
        if not only:
            raise InputError("--only needs at least one scenario name")
        names = [n for n in names if n in set(only)]
    scenarios = []
    for name in names:
        changes = scenario_changes(inputs, name)
        scenarios.append(Scenario(name, changes,
                                  {"changes": "; ".join(c.describe() for c in changes)}))
    return scenarios


def sweep(inputs: ModelInputs, changes: Mapping[str, Sequence[Any]] | Sequence[Scenario],
          workers: int = 1, *, mode: str = "set", zip_axes: bool = False,
          strict: bool | None = None, dask_address: str | None = None,
          max_scenarios: int | None = MAX_SCENARIOS) -> pd.DataFrame:
    """Solve a sweep and return one comparison row per scenario (the base case first).

    ``changes`` maps change paths to the values to try (``{"demand.min_t[customer=X_TREI]":
    [0, 500, 1000]}``); several paths form the cartesian product, or pairs with
    ``zip_axes``. A list of :class:`Scenario` is also accepted. More than
    ``max_scenarios`` scenarios (None: no limit) are refused before anything is solved.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"workers must be a whole number ≥ 1, got {workers!r}")
    if mode not in ("set", "scale", "add"):
        raise InputError(f"mode must be set, scale or add, got {mode!r}")
    if isinstance(changes, Mapping):
        sizes = [len(v) for v in changes.values() if hasattr(v, "__len__")]
        if max_scenarios is not None and sizes and len(sizes) == len(changes):
            count = (max(sizes) if zip_axes else math.prod(sizes))
            if count > max_scenarios:  # before list() makes a range(10**9) real
                raise _too_many(count, "the sweep", max_scenarios)
        scenarios = grid([(p, mode, list(v)) for p, v in changes.items()], zip_axes=zip_axes,
                         max_scenarios=max_scenarios)
    else:
        scenarios = list(changes)
        if max_scenarios is not None and len(scenarios) > max_scenarios:
            raise _too_many(len(scenarios), "the sweep", max_scenarios)
    return run_scenarios(inputs, scenarios, workers=workers, strict=strict,
                         dask_address=dask_address)


