"""IREL rare-earth allocation optimizer: a Pyomo LP solved by HiGHS (see docs/model.md).

The public API::

    import optimizer
    inputs = optimizer.read_inputs("inputs/base_case.xlsx")   # or ModelInputs.from_frames
    result = optimizer.solve(inputs)                           # Result: status, objective, tables
    optimizer.write_results(result, "outputs/result.xlsx")
    table = optimizer.sweep(inputs, {"demand.min_t[customer=X_TREI]": [0, 500, 1000]})
    curve = optimizer.frontier(inputs)                         # objective vs domestic NdPr

Importing the package is cheap and has no side effects: the heavy modules (pandas, Pyomo,
highspy, openpyxl) load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "read_inputs": "optimizer.inputs",
    "ModelInputs": "optimizer.inputs",
    "solve": "optimizer.run",
    "Result": "optimizer.run",
    "write_results": "optimizer.writer",
    "sweep": "optimizer.sweeps",
    "hedge": "optimizer.hedging",
    "HedgeResult": "optimizer.hedging",
    "write_hedge": "optimizer.hedging",
    "frontier": "optimizer.frontiers",
    "FrontierResult": "optimizer.frontiers",
    "Change": "optimizer.changes",
    "apply_changes": "optimizer.changes",
    "apply_scenario": "optimizer.changes",
    "scenario_changes": "optimizer.changes",
    "Scenario": "optimizer.sweeps",
    "run_scenarios": "optimizer.sweeps",
    "named_scenarios": "optimizer.sweeps",
    "grid": "optimizer.sweeps",
    "write_comparison": "optimizer.writer",
    "write_template": "optimizer.template",
    "explain_infeasible": "optimizer.explain",
    "IrelError": "optimizer.errors",
    "InputError": "optimizer.errors",
    "InfeasibleError": "optimizer.errors",
    "SolverError": "optimizer.errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from .changes import Change, apply_changes, apply_scenario, scenario_changes
    from .errors import InfeasibleError, InputError, IrelError, SolverError
    from .explain import explain_infeasible
    from .frontiers import FrontierResult, frontier
    from .hedging import HedgeResult, hedge, write_hedge
    from .inputs import ModelInputs, read_inputs
    from .run import Result, solve
    from .sweeps import Scenario, grid, named_scenarios, run_scenarios, sweep
    from .template import write_template
    from .writer import write_comparison, write_results


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'optimizer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
