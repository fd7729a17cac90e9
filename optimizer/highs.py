"""HiGHS through one adapter: Pyomo model -> standard-form matrix -> highspy.

Pyomo's ``LinearStandardFormCompiler`` turns the model into arrays once. Its row and
column lists map every matrix position back to a named constraint or variable, which is
what the reports, duals, ranging, the IIS and warm re-solves all need. The solver is then
driven directly through ``highspy.Highs`` (no solver binary, no per-call Pyomo overhead).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import SolverError

INF = float("inf")


class Csc:
    """A sparse matrix in compressed-column form, in numpy arrays: what HiGHS takes.

    The sweep's LP is assembled in this form so a sweep never imports scipy (about 0.06 s
    of a command). :meth:`tocsc` gives the scipy ``csc_array`` for matrix arithmetic.
    """

    __slots__ = ("indptr", "indices", "data", "shape", "_scipy")

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
                 shape: tuple[int, int]):
        self.indptr, self.indices, self.data, self.shape = indptr, indices, data, shape
        self._scipy = None

    @property
    def nnz(self) -> int:
        return len(self.data)

    def tocsc(self):
        if self._scipy is None:
            sparse = _import_scipy_sparse()
            self._scipy = sparse.csc_array((self.data, self.indices, self.indptr), shape=self.shape)
        return self._scipy

    def __getstate__(self):
        return self.indptr, self.indices, self.data, self.shape

    def __setstate__(self, state) -> None:
        self.indptr, self.indices, self.data, self.shape = state
        self._scipy = None


@dataclass
class LpData:
    """The compiled LP: max c·x  s.t.  row_lower <= A x <= row_upper, col bounds."""

    A: Any
    """Compressed columns (``indptr``, ``indices``, ``data``, ``shape``, ``nnz``): a scipy
    ``csc_array`` from Pyomo's compiler, a :class:`Csc` from :func:`model.assemble_lp`;
    ``A.tocsc()`` is scipy's either way."""
    c: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    row_sense: np.ndarray
    """+1 for ≤ rows, -1 for ≥ rows, 0 for equalities."""
    col_lower: np.ndarray
    col_upper: np.ndarray
    col_keys: list[tuple[str, tuple]]
    """(variable name, index) of each column."""
    row_keys: list[tuple[str, tuple]]
    """(constraint family, index) of each row."""

    @property
    def rhs(self) -> np.ndarray:
        return np.where(self.row_sense < 0, self.row_lower, self.row_upper)


def _index(data) -> tuple:
    idx = data.index()
    return idx if isinstance(idx, tuple) else (idx,)


def _import_scipy_sparse():
    """``import scipy.sparse`` without triggering Pyomo's scipy import callback.

    Pyomo registers a meta-path hook that runs ``_finalize_scipy`` (importing scipy.stats and
    friends) on any import of scipy after Pyomo loaded. We need only scipy.sparse, so the
    hook is lifted for this one import and put back.
    """
    import sys

    if "scipy.sparse" in sys.modules:
        return sys.modules["scipy.sparse"]
    pyomo = sys.modules.get("pyomo.common.dependencies")  # no hook to lift without Pyomo
    callbacks = pyomo.DeferredImportCallbackFinder._callbacks if pyomo else {}
    saved = callbacks.pop("scipy", None)
    try:
        import scipy.sparse
    finally:
        if saved is not None:
            callbacks["scipy"] = saved
    return scipy.sparse


def compile_lp(model) -> LpData:
    """Compile a Pyomo model to :class:`LpData` with Pyomo's standard-form compiler."""
    from pyomo.repn.plugins import standard_form

    impl = standard_form._LinearStandardFormCompiler_impl
    if impl._to_vector is None:
        # Fill the compiler's hooks (class attributes "so that others can change the hooks")
        # ourselves: left to Pyomo, the first use resolves its deferred scipy import, which
        # also imports scipy.stats, spatial and integrate (0.5-1 s of a 2 s CLI run).
        sparse = _import_scipy_sparse()
        impl._to_vector = np.fromiter
        impl._csc_matrix, impl._csr_matrix = sparse.csc_array, sparse.csr_array
    # Columns in declaration order (variable by variable, index order), not in order of
    # first appearance: a cost that becomes 0 must not move a column, or a scenario's LP
    # and the base LP with the same edits would differ by a permutation.
    info = standard_form.LinearStandardFormCompiler().write(model, mixed_form=True,
                                                            set_sense=None, column_order=True)
    sense = np.array([mult for _, mult in info.rows], dtype=np.int8)
    rhs = np.asarray(info.rhs, dtype=float)
    columns = info.columns
    return LpData(
        A=info.A,
        c=np.asarray(info.c.toarray()).ravel() if info.c.shape[0] else np.zeros(len(columns)),
        row_lower=np.where(sense > 0, -INF, rhs),
        row_upper=np.where(sense < 0, INF, rhs),
        row_sense=sense,
        col_lower=np.array([-INF if v.lb is None else v.lb for v in columns], dtype=float),
        col_upper=np.array([INF if v.ub is None else v.ub for v in columns], dtype=float),
        col_keys=[(v.parent_component().local_name, _index(v)) for v in columns],
        row_keys=[(con.parent_component().local_name, _index(con)) for con, _ in info.rows],
    )


@dataclass
class LpSolution:
    """What HiGHS returned, as numpy arrays in the column/row order of :class:`LpData`."""

    status: str
    """optimal | infeasible | unbounded | other HiGHS model status (lowercase)."""
    objective: float
    x: np.ndarray
    reduced_cost: np.ndarray
    activity: np.ndarray
    dual: np.ndarray
    col_basic: np.ndarray
    row_basic: np.ndarray
    iterations: int
    seconds: float


def _silent_highs(verbose: bool):
    """A new ``highspy.Highs``; HiGHS prints a banner on the first one unless we hush fd 1."""
    import highspy

    if verbose:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def new_highs(lp: LpData, *, verbose: bool = False, options: dict | None = None):
    """A ``highspy.Highs`` holding ``lp`` (maximise), ready to run."""
    import highspy

    h = _silent_highs(verbose)
    h.setOptionValue("output_flag", bool(verbose))
    for key, value in (options or {}).items():
        h.setOptionValue(key, value)
    model = highspy.HighsLp()
    model.num_col_ = len(lp.c)
    model.num_row_ = len(lp.row_lower)
    model.sense_ = highspy.ObjSense.kMaximize
    model.col_cost_ = lp.c
    model.col_lower_ = lp.col_lower
    model.col_upper_ = lp.col_upper
    model.row_lower_ = lp.row_lower
    model.row_upper_ = lp.row_upper
    A = lp.A
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = np.asarray(A.indptr, dtype=np.int32)
    model.a_matrix_.index_ = np.asarray(A.indices, dtype=np.int32)
    model.a_matrix_.value_ = np.asarray(A.data, dtype=float)
    h.passModel(model)
    return h


def _status_word(h) -> str:
    text = h.modelStatusToString(h.getModelStatus()).lower()
    return {"optimal": "optimal", "infeasible": "infeasible", "unbounded": "unbounded",
            "primal infeasible or unbounded": "infeasible or unbounded"}.get(text, text)


def run_highs(h) -> LpSolution:
    """Run (or re-run, hot-started) and collect the solution arrays."""
    import highspy

    start = time.perf_counter()
    run_status = h.run()
    seconds = time.perf_counter() - start
    if run_status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS reported an error while solving; rerun with --verbose "
                          "to see its log")
    status = _status_word(h)
    info = h.getInfo()
    n_col, n_row = h.getNumCol(), h.getNumRow()
    if status != "optimal":
        empty_c, empty_r = np.zeros(n_col), np.zeros(n_row)
        return LpSolution(status, float("nan"), empty_c, empty_c, empty_r, empty_r,
                          np.zeros(n_col, bool), np.zeros(n_row, bool),
                          int(info.simplex_iteration_count), seconds)
    sol = h.getSolution()
    basis = h.getBasis()
    basic = highspy.HighsBasisStatus.kBasic
    return LpSolution(
        status=status,
        objective=float(info.objective_function_value),
        x=np.asarray(sol.col_value, dtype=float),
        reduced_cost=np.asarray(sol.col_dual, dtype=float),
        activity=np.asarray(sol.row_value, dtype=float),
        dual=np.asarray(sol.row_dual, dtype=float),
        col_basic=np.array([s == basic for s in basis.col_status], dtype=bool),
        row_basic=np.array([s == basic for s in basis.row_status], dtype=bool),
        iterations=int(info.simplex_iteration_count),
        seconds=seconds,
    )


@dataclass
class Timings:
    """Wall time of each stage of a solve, in seconds."""

    build: float = 0.0
    compile: float = 0.0
    solve: float = 0.0
    report: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)
