"""The pipeline of one solve: inputs -> model -> standard form -> HiGHS -> tables."""

from __future__ import annotations

import hashlib
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd

from .errors import SolverError
from .highs import LpData, LpSolution, Timings, new_highs, run_highs
from .inputs import ModelInputs

if TYPE_CHECKING:  # pragma: no cover
    from .changes import Change


@dataclass
class Result:
    """The outcome of :func:`solve`.

    ``status`` is ``optimal`` or ``infeasible`` (strict mode, or hard data that cannot be
    met); ``objective`` is None unless optimal. ``tables`` holds every result table as a
    DataFrame (the sheets of the result workbook); ``explanation`` is a plain-language
    account of an infeasibility, else None.
    """

    status: str
    objective: float | None
    tables: dict[str, pd.DataFrame]
    explanation: str | None = None
    inputs: ModelInputs | None = field(default=None, repr=False)
    strict: bool = False
    scenario: str | None = None
    changes: list[str] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    warnings: list[str] = field(default_factory=list)
    """Pre-solve domain checks that found a likely conflict (supply vs minimums, ...)."""
    lp: LpData | None = field(default=None, repr=False)
    solution: LpSolution | None = field(default=None, repr=False)
    base: Result | None = field(default=None, repr=False)
    """The base case (no scenario, no changes) when solved with ``with_base``: the writer's
    ``vs_base`` sheet compares against it."""

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


def solve(inputs: ModelInputs, *, strict: bool | None = None, scenario: str | None = None,
          sensitivity: bool = True, verbose: bool = False, changes: Sequence[Change] = (),
          with_base: bool = False) -> Result:
    """Solve the allocation LP for ``inputs`` and return a :class:`Result`.

    ``strict`` overrides ``settings.strict``; ``scenario`` applies the named rows of the
    workbook's ``scenarios`` sheet first. ``sensitivity`` adds RHS and cost ranging (the
    ``constraints`` and ``variables`` sheets) and the treaty release re-solves. An
    infeasible model is returned with status ``infeasible`` and an explanation, not
    raised; a solver failure raises SolverError.

    ``changes`` (change paths, as in sweeps) apply after the scenario. With
    ``with_base`` and a scenario or changes, the unchanged input is solved too (without
    sensitivity) and kept as ``result.base``.
    """
    from .explain import domain_checks
    from .model import build_lp

    original, strict_option = inputs, strict
    described: list[str] = []
    if scenario is not None:
        from .changes import apply_scenario

        inputs, described = apply_scenario(inputs, scenario)
    if changes:
        from .changes import apply_changes

        inputs = apply_changes(inputs, changes)
        described += [c.describe() for c in changes]
    strict = inputs.strict if strict is None else strict
    # What the reader and validator read past (unknown columns, ...), then pre-solve checks.
    warnings = [*dict.fromkeys(str(w) for w in (*original.warnings, *inputs.warnings)),
                *domain_checks(inputs)]
    timings = Timings()
    lp = build_lp(inputs, strict=strict, timings=timings)
    h = new_highs(lp, verbose=verbose)
    sol = run_highs(h)
    timings.solve = sol.seconds
    result = Result(status=sol.status, objective=None, tables={}, inputs=inputs, strict=strict,
                    scenario=scenario, changes=described, timings=timings, warnings=warnings,
                    lp=lp, solution=sol)
    start = time.perf_counter()
    if sol.status == "optimal":
        _report_optimal(result, h if sensitivity else None)
    elif sol.status in ("infeasible", "infeasible or unbounded"):
        from .explain import explain_infeasible

        result.status = "infeasible"
        result.explanation, result.tables = explain_infeasible(inputs, lp, h, strict=strict)
        result.tables["summary"] = _status_summary(result)
    else:
        raise SolverError(f"HiGHS stopped with model status '{sol.status}'; no solution to "
                          "report. Rerun with --verbose to see the solver log.")
    timings.report = time.perf_counter() - start
    result.tables["run_info"] = run_info(result)
    if with_base and inputs is not original:
        result.base = solve(original, strict=strict_option, sensitivity=False)
    return result


def _report_optimal(result: Result, h) -> None:
    """Fill the tables of an optimal result; with ``h`` also ranging and treaty release."""
    from . import report

    inputs, lp, sol = result.inputs, result.lp, result.solution
    ranges = release = None
    if h is not None:
        from .sensitivity import excel_ranges, treaty_release

        start = time.perf_counter()
        ranges = excel_ranges(lp, h, sol)
        release = treaty_release(inputs, lp, h, sol)
        result.timings.extra["sensitivity"] = time.perf_counter() - start
    tables = report.build_tables(inputs, lp, sol, ranges, release)
    parts = report.objective_parts(inputs, lp, sol)
    mrecl = report.mrecl_ndpr(inputs, lp, sol)
    share = report.domestic_ndpr_share(inputs, tables["allocation"], mrecl)
    t = result.timings
    extra = [("strict", result.strict, ""), ("scenario", result.scenario or "", ""),
             ("solve_seconds", round(t.solve, 4), "s"),
             ("build_seconds", round(t.build + t.compile, 4), "s"),
             ("simplex_iterations", sol.iterations, "")]
    extra += [("warning", text, "pre-solve check") for text in result.warnings]
    tables["summary"] = report.summary_table(inputs, sol, tables, parts, share, extra)
    result.objective = sol.objective
    result.tables = {"summary": tables.pop("summary"), **tables}


def _status_summary(result: Result) -> pd.DataFrame:
    return pd.DataFrame([("status", result.status, ""), ("objective", None, ""),
                         ("strict", result.strict, ""), ("scenario", result.scenario or "", ""),
                         ("explanation", result.explanation, "")],
                        columns=["key", "value", "unit"])


def table_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a table's CSV with numbers rounded to 6 significant digits."""
    text = frame.to_csv(index=False, float_format="%.6g")
    return hashlib.sha256(text.encode()).hexdigest()


def version(dist: str) -> str:
    """The installed version of distribution ``dist``, or ``unknown``."""
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def versions() -> list[tuple[str, str]]:
    """Versions of the tool and the stack it ran on, for run_info manifests."""
    return [("tool_version", version("irel-alloc")), ("python", platform.python_version()),
            ("pyomo", version("pyomo")), ("highspy", version("highspy")),
            ("pandas", version("pandas")), ("openpyxl", version("openpyxl")),
            ("platform", platform.platform()),
            ("solver", "HiGHS (highspy), dual simplex, default options")]


def run_info(result: Result) -> pd.DataFrame:
    """A reproducibility manifest: versions, input hash, scenario, objective, table hash."""

    inputs = result.inputs
    alloc = result.tables.get("allocation")
    rows = [
        ("tool", "irel-alloc"), *versions(),
        ("input", inputs.source if inputs else ""),
        ("input_sha256", (inputs.sha256 or "") if inputs else ""),
        ("scenario", result.scenario or ""), ("changes", "; ".join(result.changes)),
        ("strict", result.strict), ("status", result.status),
        ("objective", result.objective),
        ("allocation_sha256", table_hash(alloc) if alloc is not None else ""),
        ("timestamp_utc", datetime.now(UTC).isoformat(timespec="seconds")),
    ]
    return pd.DataFrame(rows, columns=["key", "value"])


__all__ = ["Result", "solve", "run_info"]


