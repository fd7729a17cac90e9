"""Hedged plans: one plan for today that holds whichever scenario of the `uncertainty` sheet comes.

A two-stage stochastic LP over the allocation model. Every decision variable of the periods up
to ``settings.decide_through`` (default: the first period) is shared by all scenarios
(nonanticipativity); the decisions of later periods are taken per scenario, once it is known
which one came. The objective is the probability-weighted (expected) objective::

    max  sum_s p_s * objective_s(x_s)   s.t.  x_s feasible for scenario s,
                                              x_s[v] = x_r[v] for every v of a period <= decide_through

The extensive form (every scenario's model side by side plus the equalities) is built with
mpi-sppy and solved by HiGHS through Pyomo's ``appsi_highs`` interface; progressive hedging
(``method="ph"``) decomposes it by scenario and runs over MPI. Everything else (each scenario
alone, the mean-value plan, the base plan, the report tables) re-solves each scenario's own LP
with the shared decisions fixed, hot-started in highspy.

Measures (all present values, the objective's unit):

- ``wait_and_see``: sum_s p_s * (scenario s solved alone, with perfect foresight);
- ``evpi = wait_and_see - expected_objective``: what knowing the scenario today would be worth;
- ``ev_objective``: the expected objective of taking today the decisions of the mean-value
  plan (the plan of the probability-weighted average scenario, see :func:`mean_value_lp`) and
  the best follow-on decisions in each scenario;
- ``vss = expected_objective - ev_objective``: the value of the stochastic solution;
- ``regret_base_plan[s]``: scenario s alone minus scenario s with today's decisions of the base
  plan (the workbook solved as is), i.e. what following the base plan costs if s comes.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import InfeasibleError, InputError, Problem, SolverError
from .excel import ROW
from .highs import INF, LpData, LpSolution, compile_lp, new_highs, run_highs
from .inputs import ModelInputs

BASE = "base"
"""Scenario name of the workbook as is, without any scenario's changes."""
PROBABILITY_TOLERANCE = 1e-6
VARIABLES = ("mine_t", "crack_t", "mixed_sale_t", "separate_t", "sale_t", "dispose_t", "stock_t",
             "shortfall_t")
"""The decision variables of the allocation model; each index ends with the period."""
PLAN_TABLES = ("allocation", "treaty", "shortfalls", "mining", "processing", "production",
               "inventory", "disposal")
METHODS = ("ef", "ph")

Key = tuple[str, tuple]


# --- the uncertainty sheet and decide_through --------------------------------------------------

@dataclass(frozen=True)
class Uncertainty:
    """The scenarios to hedge against, their probabilities and the shared periods."""

    scenarios: tuple[str, ...]
    probabilities: tuple[float, ...]
    decide_through: str
    first_stage: tuple[str, ...]
    """The periods up to and including ``decide_through``."""


def _problem(inputs: ModelInputs, sheet: str, row: int | None, column: str, found: Any,
             expected: str) -> Problem:
    letter = inputs.letters.get(sheet, {}).get(column)
    cell = f"{letter}{row}" if letter and row is not None else None
    return Problem(sheet, row, column, found, expected, cell)


def _settings_row(inputs: ModelInputs, key: str) -> int | None:
    frame = inputs.frames["settings"]
    rows = [r for k, r in zip(frame["key"], frame[ROW]) if k == key]
    return rows[0] if rows else None


def uncertainty_problems(inputs: ModelInputs) -> list[Problem]:
    """Every problem of the `uncertainty` sheet and of ``settings.decide_through``.

    Checked here rather than on reading because only ``hedge`` uses them: unknown scenario
    names (naming the nearest known one), probabilities that do not sum to 1, and a
    ``decide_through`` that is not a period id. An absent or empty sheet is no problem here.
    """
    from .changes import scenario_names

    problems: list[Problem] = []
    periods = list(inputs.params.PERIODS)
    through = inputs.settings.get("decide_through")
    if through is not None and through not in periods:
        near = difflib.get_close_matches(str(through), periods, n=1)
        hint = f" (nearest: {near[0]})" if near else ""
        problems.append(_problem(inputs, "settings", _settings_row(inputs, "decide_through"),
                                 "value", through, f"a period id from periods.period for key "
                                 f"decide_through: {', '.join(periods)}{hint}"))
    frame = inputs.frames["uncertainty"]
    if frame.empty:
        return problems
    known = [BASE, *scenario_names(inputs)]
    for row, name in zip(frame[ROW], frame["scenario"]):
        if name is not None and name not in known:
            near = difflib.get_close_matches(name, known, n=1, cutoff=0.0)
            problems.append(_problem(inputs, "uncertainty", row, "scenario", name,
                                     f"base or a scenario of the scenarios sheet; nearest: "
                                     f"{near[0]}" if near else "base"))
    probabilities = [p for p in frame["probability"] if p is not None]
    if len(probabilities) == len(frame):  # a blank or bad cell is reported on reading
        total = float(sum(probabilities))
        if abs(total - 1.0) > PROBABILITY_TOLERANCE:
            problems.append(_problem(inputs, "uncertainty", int(frame[ROW].iloc[0]), "probability",
                                     round(total, 9), f"probabilities summing to 1 "
                                     f"(±{PROBABILITY_TOLERANCE:g})"))
    return problems


def read_uncertainty(inputs: ModelInputs) -> Uncertainty:
    """The checked `uncertainty` sheet and ``decide_through``; raises InputError."""
    problems = uncertainty_problems(inputs)
    if problems:
        raise InputError(problems, source=inputs.source)
    frame = inputs.frames["uncertainty"]
    if frame.empty:
        raise InputError(f"{inputs.source} has no uncertainty sheet (or it is empty): hedge needs "
                         "rows of scenario (base or a name from the scenarios sheet) and "
                         "probability, summing to 1")
    periods = list(inputs.params.PERIODS)
    through = inputs.settings.get("decide_through") or periods[0]
    first = tuple(periods[:periods.index(through) + 1])
    return Uncertainty(tuple(frame["scenario"]), tuple(float(p) for p in frame["probability"]),
                       through, first)


# --- scenarios: inputs, LP, alone solve ----------------------------------------------------------

@dataclass
class _Scenario:
    name: str
    probability: float
    inputs: ModelInputs
    changes: list[str]
    model: Any
    lp: LpData
    h: Any
    alone: LpSolution
    columns: dict[Key, int] = field(default_factory=dict)


def _scenario_inputs(inputs: ModelInputs, name: str) -> tuple[ModelInputs, list[str]]:
    if name == BASE:
        return inputs, []
    from .changes import apply_scenario

    return apply_scenario(inputs, name)


def _build(name: str, probability: float, inputs: ModelInputs, changes: list[str], strict: bool,
           verbose: bool) -> _Scenario:
    """Build scenario ``name``'s model and LP and solve it alone (its wait-and-see optimum)."""
    from .model import build_model

    model = build_model(inputs, strict=strict)
    lp = compile_lp(model)
    h = new_highs(lp, verbose=verbose)
    alone = run_highs(h)
    if alone.status != "optimal":
        raise InfeasibleError(f"scenario {name} has no feasible plan even on its own "
                              f"({alone.status}); run `irel-alloc explain --scenario {name}` "
                              "to see why" if name != BASE else
                              f"the base case has no feasible plan ({alone.status}); run "
                              "`irel-alloc explain` to see why")
    return _Scenario(name, probability, inputs, changes, model, lp, h, alone,
                     {key: j for j, key in enumerate(lp.col_keys)})


def _first_stage_keys(model, first: set[str]) -> list[Key]:
    """(variable, index) of every decision variable of a shared period, in model order.

    The eight decision variables first, then any other Var whose index ends with a period
    (a variable added to the model later is shared too, by the same convention).
    """
    import pyomo.environ as pyo

    others = sorted(v.local_name for v in model.component_objects(pyo.Var, descend_into=False)
                    if v.local_name not in VARIABLES)
    keys: list[Key] = []
    for name in (*VARIABLES, *others):
        var = getattr(model, name, None)
        if var is None:
            continue
        for idx in var:
            idx = idx if isinstance(idx, tuple) else (idx,)
            if idx and idx[-1] in first:
                keys.append((name, idx))
    return keys


def _check_same_decisions(scenarios: list[_Scenario], first: set[str]) -> list[Key]:
    """The shared decisions; every scenario must have the same ones."""
    keys = _first_stage_keys(scenarios[0].model, first)
    wanted = set(keys)
    for sc in scenarios[1:]:
        other = set(_first_stage_keys(sc.model, first))
        if other != wanted:
            diff = sorted(wanted ^ other, key=str)[:5]
            words = ", ".join(f"{n}[{', '.join(map(str, i))}]" for n, i in diff)
            raise InputError(f"scenario {sc.name} has other decisions than {scenarios[0].name} in "
                             f"the shared periods ({', '.join(sorted(first))}): {words}. A hedged "
                             "plan needs the same decisions in every scenario up to "
                             "settings.decide_through; set it to an earlier period or leave "
                             "such scenarios out of the uncertainty sheet")
    return keys


def _fixed(sc: _Scenario, keys: list[Key], values: np.ndarray) -> LpSolution:
    """Scenario ``sc`` re-solved with the shared decisions fixed at ``values`` (hot start)."""
    pos = np.array([sc.columns[k] for k in keys if k in sc.columns], dtype=np.int32)
    vals = np.array([v for k, v in zip(keys, values) if k in sc.columns], dtype=float)
    sc.h.changeColsBounds(len(pos), pos, vals, vals)
    try:
        sol = run_highs(sc.h)
    finally:
        sc.h.changeColsBounds(len(pos), pos, sc.lp.col_lower[pos], sc.lp.col_upper[pos])
    return sol


def _first_values(sc: _Scenario, sol: LpSolution, keys: list[Key]) -> np.ndarray:
    """The shared decisions of ``sol`` (a solution of ``sc``'s LP); absent columns are 0."""
    return np.array([sol.x[sc.columns[k]] if k in sc.columns else 0.0 for k in keys])


# --- the mean-value problem ----------------------------------------------------------------------

def mean_value_lp(scenarios: list[_Scenario]) -> LpData | None:
    """The expected-value LP: every coefficient the probability-weighted mean of the scenarios'.

    Objective coefficients, matrix entries, right-hand sides and bounds are averaged entry by
    entry. For approval scenarios only the mine capacities differ (capM * Y * avail), so the
    mean-value problem gives each mine its expected capacity, capM * Y * E[avail]: a mine
    approved from FY2029 in half of the probability mass counts half its capacity in FY2029.
    None when the scenarios' LPs differ in rows, columns or row senses (then entries cannot be
    paired and the caller falls back to the base case).
    """
    first = scenarios[0].lp
    for sc in scenarios[1:]:
        lp = sc.lp
        if (lp.row_keys != first.row_keys or lp.col_keys != first.col_keys
                or not np.array_equal(lp.row_sense, first.row_sense)):
            return None

    def mean(get) -> np.ndarray:
        base = get(first)
        total = sum(sc.probability * np.where(np.isinf(base), 0.0, get(sc.lp)) for sc in scenarios)
        return np.where(np.isinf(base), base, total)

    A = sum(sc.probability * sc.lp.A for sc in scenarios).tocsc()
    A.sort_indices()
    return LpData(A=A, c=mean(lambda lp: lp.c), row_lower=mean(lambda lp: lp.row_lower),
                  row_upper=mean(lambda lp: lp.row_upper), row_sense=first.row_sense.copy(),
                  col_lower=mean(lambda lp: lp.col_lower), col_upper=mean(lambda lp: lp.col_upper),
                  col_keys=list(first.col_keys), row_keys=list(first.row_keys))


# --- the extensive form and progressive hedging (mpi-sppy) ---------------------------------------

def _quiet_import():
    """mpi-sppy prints a timer line on import; keep the CLI's output clean."""
    with contextlib.redirect_stdout(io.StringIO()):
        import mpisppy.utils.sputils as sputils
    return sputils


def _attach(sputils, model, keys: list[Key], probability: float):
    model._mpisppy_probability = probability
    sputils.attach_root_node(model, 0.0, [getattr(model, n)[i] for n, i in keys])
    return model


def _solve_ef(scenarios: list[_Scenario], keys: list[Key], verbose: bool) -> tuple[float, np.ndarray]:
    """(expected objective, shared decisions) of the extensive form, solved with appsi_highs."""
    import pyomo.environ as pyo

    sputils = _quiet_import()
    by_name = {sc.name: sc for sc in scenarios}

    def creator(name: str):
        sc = by_name[name]
        return _attach(sputils, sc.model, keys, sc.probability)

    ef = sputils.create_EF([sc.name for sc in scenarios], creator, suppress_warnings=True)
    solver = pyo.SolverFactory("appsi_highs")
    result = solver.solve(ef, tee=verbose, load_solutions=False)
    condition = str(result.solver.termination_condition)
    if condition != "optimal":
        if "infeasible" in condition:
            raise InfeasibleError("no single plan for the shared periods is feasible in every "
                                  "scenario of the uncertainty sheet (each is feasible alone); "
                                  "use the elastic mode or an earlier settings.decide_through")
        raise SolverError(f"HiGHS stopped on the extensive form with '{condition}'")
    ef.solutions.load_from(result)
    ref = scenarios[0].model
    values = np.array([pyo.value(getattr(ref, n)[i]) for n, i in keys], dtype=float)
    return float(pyo.value(ef.EF_Obj)), values


def _solve_ph(inputs_of: dict[str, tuple[ModelInputs, float]], keys: list[Key], strict: bool,
              options: dict | None) -> tuple[np.ndarray, dict[str, Any]]:
    """Shared decisions of progressive hedging (mpi-sppy PH; MPI ranks share the scenarios).

    rho is cost-proportional, ``rho_factor`` * |c_v| and at least 1 (``rho_factor`` 1 unless
    ``options`` say otherwise): one rho for every variable would be far too small for prices of
    80,000 USD/t and far too large for by-products. The plan is the final xbar, the
    probability-weighted mean of the scenarios' shared decisions.
    """
    import pyomo.environ as pyo
    from pyomo.repn import generate_standard_repn

    from .model import build_model

    sputils = _quiet_import()
    with contextlib.redirect_stdout(io.StringIO()):
        from mpisppy.opt.ph import PH

    def creator(name: str):
        scenario_inputs, probability = inputs_of[name]
        return _attach(sputils, build_model(scenario_inputs, strict=strict), keys, probability)

    options = dict(options or {})
    factor = float(options.pop("rho_factor", 1.0))

    def rho_setter(model):
        repn = generate_standard_repn(model.objective.expr, compute_values=True, quadratic=False)
        coef = {id(v): abs(c) for v, c in zip(repn.linear_vars, repn.linear_coefs)}
        return [(id(v), max(1.0, coef.get(id(v), 0.0) * factor))
                for v in model._mpisppy_node_list[0].nonant_vardata_list]

    # The proximal term is linearised (outer cuts, to 1e-6) so that every subproblem stays an LP
    # for appsi_highs: HiGHS's QP solver stalls on the base case's quadratic subproblems.
    settings = {"solver_name": "appsi_highs", "PHIterLimit": 200, "defaultPHrho": 1.0,
                "convthresh": 1e-9, "verbose": False, "display_progress": False,
                "display_timing": False, "iter0_solver_options": {}, "iterk_solver_options": {},
                "linearize_proximal_terms": True, "proximal_linearization_tolerance": 1e-6,
                **options}
    quiet = not (settings["display_progress"] or settings["verbose"])
    with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
        ph = PH(settings, list(inputs_of), creator, rho_setter=rho_setter)
        conv, _, trivial_bound = ph.ph_main()
    scenario = next(iter(ph.local_scenarios.values()))
    xbars = scenario._mpisppy_model.xbars
    values = np.array([pyo.value(xbars["ROOT", i]) for i in range(len(keys))], dtype=float)
    info = {"ph_convergence": float(conv), "ph_iterations": int(ph._PHIter),
            "ph_trivial_bound": float(trivial_bound), "mpi_ranks": int(ph.n_proc)}
    return values, info


def mpi_rank() -> int:
    """This process's MPI rank (0 without MPI); only rank 0 writes the workbook."""
    with contextlib.redirect_stdout(io.StringIO()):
        from mpisppy.MPI import COMM_WORLD
    return int(COMM_WORLD.rank)


# --- the result ---------------------------------------------------------------------------------

@dataclass
class HedgeResult:
    """The outcome of :func:`hedge`: the shared plan, per-scenario plans and the measures.

    ``tables`` holds the sheets of the hedge workbook (``hedge_summary``, ``hedge_scenarios``,
    the here-and-now plan in the tables of a solve, ``scenario_<table>`` with every scenario's
    full plan, ``run_info``).
    """

    uncertainty: Uncertainty
    method: str
    expected_objective: float
    wait_and_see: float
    ev_objective: float
    ev_problem: str
    scenarios: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    inputs: ModelInputs | None = field(default=None, repr=False)
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    strict: bool = False

    @property
    def evpi(self) -> float:
        return self.wait_and_see - self.expected_objective

    @property
    def vss(self) -> float:
        return self.expected_objective - self.ev_objective

    @property
    def regret_base_plan(self) -> dict[str, float]:
        return dict(zip(self.scenarios["scenario"], self.scenarios["regret_base_plan"]))


def _objective(sol: LpSolution) -> float:
    return sol.objective if sol.status == "optimal" else -INF


def hedge(inputs: ModelInputs, *, strict: bool | None = None, method: str = "ef",
          ph_options: dict | None = None, verbose: bool = False) -> HedgeResult:
    """Solve the two-stage stochastic LP of the `uncertainty` sheet; see the module docstring.

    ``method`` is ``ef`` (the extensive form, one machine) or ``ph`` (progressive hedging;
    under ``mpiexec`` the ranks share the scenarios). ``strict`` overrides ``settings.strict``.
    With a single scenario there is nothing to hedge: its own optimum is the plan.
    """
    from .report import build_tables

    if method not in METHODS:
        raise InputError(f"unknown hedge method {method!r}; expected one of {', '.join(METHODS)}")
    start = time.perf_counter()
    unc = read_uncertainty(inputs)
    strict = inputs.strict if strict is None else strict
    prepared = {name: _scenario_inputs(inputs, name) for name in unc.scenarios}
    scenarios = [_build(name, p, *prepared[name], strict, verbose)
                 for name, p in zip(unc.scenarios, unc.probabilities)]
    keys = _check_same_decisions(scenarios, set(unc.first_stage))
    info: dict[str, Any] = {}
    if len(scenarios) == 1:
        shared = _first_values(scenarios[0], scenarios[0].alone, keys)
    elif method == "ef":
        info["ef_objective"], shared = _solve_ef(scenarios, keys, verbose)
    else:
        shared, info = _solve_ph({sc.name: (sc.inputs, sc.probability) for sc in scenarios}, keys,
                                 strict, ph_options)
    hedged = {sc.name: _fixed(sc, keys, shared) if len(scenarios) > 1 else sc.alone
              for sc in scenarios}
    for sc in scenarios:
        if hedged[sc.name].status != "optimal":
            hint = (f"; progressive hedging stopped after {info.get('ph_iterations')} iterations: "
                    "raise PHIterLimit or use the extensive form (--method ef)" if method == "ph" else "")
            raise SolverError(f"the hedged plan leaves scenario {sc.name} without a feasible "
                              f"follow-on ({hedged[sc.name].status}){hint}")

    base = next((sc for sc in scenarios if sc.name == BASE), None) or \
        _build(BASE, 0.0, inputs, [], strict, verbose)
    base_plan = _first_values(base, base.alone, keys)
    ev_lp = mean_value_lp(scenarios)
    if ev_lp is None:
        ev_problem, ev_plan = "base case (the scenarios' LPs differ in shape)", base_plan
    else:
        ev_sol = run_highs(new_highs(ev_lp, verbose=verbose))
        if ev_sol.status != "optimal":
            raise InfeasibleError(f"the mean-value problem is {ev_sol.status}")
        ev_problem = "probability-weighted mean of every LP coefficient"
        ev_plan = np.array([ev_sol.x[scenarios[0].columns[k]] for k in keys])

    rows = []
    for sc in scenarios:
        alone = sc.alone.objective
        with_base = _objective(_fixed(sc, keys, base_plan))
        with_ev = _objective(_fixed(sc, keys, ev_plan))
        rows.append({"scenario": sc.name, "probability": sc.probability,
                     "changes": "; ".join(sc.changes), "objective_alone": alone,
                     "objective_hedged": hedged[sc.name].objective,
                     "objective_base_plan": with_base, "objective_mean_value_plan": with_ev,
                     "regret_hedged": alone - hedged[sc.name].objective,
                     "regret_base_plan": alone - with_base,
                     "regret_mean_value_plan": alone - with_ev,
                     "hedged_minus_base_plan": hedged[sc.name].objective - with_base})
    table = pd.DataFrame(rows)
    p = table["probability"].to_numpy()

    def expect(column: str) -> float:
        # a scenario of probability 0 counts for nothing, even at minus infinity (0 * inf = nan)
        return float(sum(pi * v for pi, v in zip(p, table[column].to_numpy()) if pi > 0))

    result = HedgeResult(unc, method, expect("objective_hedged"), expect("objective_alone"),
                         expect("objective_mean_value_plan"), ev_problem, table, {}, inputs,
                         info=info, strict=strict)
    per_scenario = {sc.name: build_tables(sc.inputs, sc.lp, hedged[sc.name]) for sc in scenarios}
    result.tables = _tables(result, per_scenario, expect("objective_base_plan"))
    result.seconds = time.perf_counter() - start
    result.tables["hedge_summary"].loc[
        result.tables["hedge_summary"]["key"] == "seconds", "value"] = round(result.seconds, 4)
    return result


def _tables(result: HedgeResult, per_scenario: dict[str, dict[str, pd.DataFrame]],
            base_plan_expected: float) -> dict[str, pd.DataFrame]:
    """The sheets of the hedge workbook, in order."""
    unc, inputs = result.uncertainty, result.inputs
    cur = inputs.settings["currency"] if inputs is not None else ""
    pv = f"{cur} (present value)"
    first = set(unc.first_stage)
    rows: list[tuple[str, Any, str]] = [
        ("method", {"ef": "extensive form (mpi-sppy, appsi_highs)",
                    "ph": "progressive hedging (mpi-sppy)"}[result.method], ""),
        ("scenarios", ", ".join(unc.scenarios), ""),
        ("decide_through", unc.decide_through, "last period decided today, the same in every scenario"),
        ("shared_periods", ", ".join(unc.first_stage), ""),
        ("strict", result.strict, "true: minimums are hard in every scenario"),
        ("expected_objective", result.expected_objective, pv + ": the hedged plan"),
        ("wait_and_see", result.wait_and_see, pv + ": each scenario solved alone, weighted"),
        ("evpi", result.evpi, pv + ": wait_and_see - expected_objective"),
        ("ev_problem", result.ev_problem, "the mean-value (expected-value) problem"),
        ("ev_objective", result.ev_objective, pv + ": today's decisions of the mean-value plan"),
        ("vss", result.vss, pv + ": expected_objective - ev_objective"),
        ("base_plan_expected", base_plan_expected, pv + ": today's decisions of the base plan"),
    ]
    for r in result.scenarios.itertuples():
        rows.append((f"regret_base_plan[{r.scenario}]", r.regret_base_plan,
                     pv + f": {r.scenario} alone - {r.scenario} after the base plan's decisions"))
    table = result.scenarios
    for column, label in (("objective_mean_value_plan", "ev_infeasible_in"),
                          ("objective_base_plan", "base_plan_infeasible_in")):
        bad = table.loc[np.isneginf(table[column].to_numpy(dtype=float)), "scenario"]
        if len(bad):
            rows.append((label, ", ".join(bad), "today's decisions of that plan leave no feasible "
                         "follow-on plan there: its objective counts as -1E+30 (minus infinity)"))
    rows += [(k, v, "") for k, v in result.info.items()]
    rows.append(("seconds", None, "s"))
    names = list(per_scenario)
    plan = {name: _stage(frame[frame["period"].isin(first)], first)
            for name, frame in per_scenario[names[0]].items() if name in PLAN_TABLES}
    combined = {f"scenario_{name}": pd.concat(
        [_stage(per_scenario[s][name], first).assign(scenario=s)[
            ["scenario", "plan_stage", *per_scenario[s][name].columns]] for s in names],
        ignore_index=True) for name in PLAN_TABLES}
    return {"hedge_summary": pd.DataFrame(rows, columns=["key", "value", "unit"]),
            "hedge_scenarios": result.scenarios, **plan, **combined,
            "run_info": _run_info(result)}


def _stage(frame: pd.DataFrame, first: set[str]) -> pd.DataFrame:
    """Prepend ``plan_stage``: here-and-now (a shared period) or follow-on."""
    stage = np.where(frame["period"].isin(first), "here-and-now", "follow-on")
    return frame.assign(plan_stage=stage)[["plan_stage", *frame.columns]].reset_index(drop=True)


def _run_info(result: HedgeResult) -> pd.DataFrame:
    from .run import version, versions

    inputs = result.inputs
    unc = result.uncertainty
    rows = [("tool", "irel-alloc hedge"), *versions(),
            ("stochastic", "mpi-sppy (extensive form / progressive hedging), Pyomo appsi_highs"),
            ("mpi_sppy", version("mpi-sppy")),
            ("input", inputs.source if inputs else ""),
            ("input_sha256", (inputs.sha256 or "") if inputs else ""),
            ("method", result.method),
            ("probabilities", "; ".join(f"{s} {p:g}" for s, p in zip(unc.scenarios, unc.probabilities))),
            ("decide_through", unc.decide_through),
            ("expected_objective", result.expected_objective),
            ("timestamp_utc", datetime.now(UTC).isoformat(timespec="seconds"))]
    return pd.DataFrame(rows, columns=["key", "value"])


# --- the workbook ---------------------------------------------------------------------------------

def _cell(value: Any) -> Any:
    """An xlsxwriter-safe value, as the result workbook writes it."""
    from .writer import _cell_value

    return _cell_value(value)


def write_hedge(result: HedgeResult, path: str | Path) -> Path:
    """Write the hedge workbook atomically (temporary file, then rename), with a native chart."""
    from .writer import _atomic_write

    inputs = result.inputs
    protect = [inputs.path] if inputs is not None and inputs.path else []
    return _atomic_write(path, lambda tmp: _write_hedge_xlsx(result, tmp), protect=protect)


def _write_hedge_xlsx(result: HedgeResult, tmp: str) -> None:
    import xlsxwriter

    inputs = result.inputs
    wb = xlsxwriter.Workbook(tmp)
    bold = wb.add_format({"bold": True})
    money = wb.add_format({"num_format": "#,##0"})
    for name, frame in result.tables.items():
        ws = wb.add_worksheet(name[:31])
        for j, column in enumerate(frame.columns):
            ws.write(0, j, str(column), bold)
            width = max([len(str(column)), *(len(str(v)) for v in frame.iloc[:100, j])], default=8)
            ws.set_column(j, j, min(60, width + 2))
        for i, record in enumerate(frame.itertuples(index=False, name=None), start=1):
            for j, value in enumerate(record):
                value = _cell(value)
                if isinstance(value, float) and abs(value) >= 1000:
                    ws.write_number(i, j, value, money)
                elif value is not None:
                    ws.write(i, j, value)
        ws.freeze_panes(1, 0)
        if name == "hedge_scenarios":
            _chart(wb, frame, inputs.settings["currency"] if inputs is not None else "", bold)
    wb.close()


REGRETS = (("regret_hedged", "hedged plan"), ("regret_base_plan", "base plan"),
           ("regret_mean_value_plan", "mean-value plan"))


def _chart(wb, frame: pd.DataFrame, currency: str, bold) -> None:
    """`charts` sheet: each plan's regret per scenario (clustered columns) and its data.

    A plan left without a feasible follow-on in a scenario has an infinite regret; its bar is
    left out (blank cell) rather than drawn at 1E+30, which would flatten every other bar.
    """
    ws = wb.add_worksheet("charts")
    money = wb.add_format({"num_format": "#,##0"})
    ws.write(0, 0, "scenario", bold)
    for j, (_, label) in enumerate(REGRETS, start=1):
        ws.write(0, j, f"regret of the {label}", bold)
    for i, record in enumerate(frame.itertuples(index=False), start=1):
        ws.write(i, 0, record.scenario)
        for j, (column, _) in enumerate(REGRETS, start=1):
            value = float(getattr(record, column))
            if np.isfinite(value):
                ws.write_number(i, j, value, money)
            else:
                ws.write(i, j, "infeasible")
    ws.set_column(0, len(REGRETS), 26)
    n = len(frame)
    chart = wb.add_chart({"type": "column"})
    for j in range(1, len(REGRETS) + 1):
        chart.add_series({"name": ["charts", 0, j], "categories": ["charts", 1, 0, n, 0],
                          "values": ["charts", 1, j, n, j]})
    chart.set_title({"name": f"Regret against perfect foresight ({currency}, present value)"})
    chart.set_x_axis({"name": "scenario", "visible": True})
    chart.set_y_axis({"name": f"{currency} below the scenario's own optimum", "num_format": "#,##0",
                      "visible": True, "major_gridlines": {"visible": True}})
    chart.show_blanks_as("gap")
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 760, "height": 380})
    ws.insert_chart(n + 3, 0, chart)


__all__ = ["HedgeResult", "Uncertainty", "hedge", "write_hedge", "read_uncertainty",
           "uncertainty_problems", "mean_value_lp", "BASE"]
