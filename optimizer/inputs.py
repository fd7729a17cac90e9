"""ModelInputs: the validated, normalised input, and the parameters of docs/model.md derived from it.

A ``ModelInputs`` holds one typed frame per sheet, with blank periods already expanded,
each record keeping the Excel row it came from (``_row``). It is built only through
validation, so holding one means the data is consistent. Treat its frames as read-only;
:mod:`optimizer.changes` makes modified copies.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import Problem
from .excel import ROW
from .schema import MRECL
from .validate import frames_from_user, is_blank, normalise


@dataclass(frozen=True)
class Params:
    """Plain-Python parameters of docs/model.md, in sorted or sheet order (never set order).

    Index letters: m mine, c cracking plant, s separation plant, p product, k customer,
    q product or MRECL, t period.
    """

    PERIODS: list[str]
    MINES: list[str]
    CRACKING: list[str]
    SEPARATION: list[str]
    PRODUCTS: list[str]
    CUSTOMERS: list[str]
    ROUTES: list[tuple[str, str]]
    DEMAND: list[tuple[str, str, str]]
    years: dict[str, float]
    df: dict[str, float]
    avail: dict[tuple[str, str], int]
    cap_mine_t: dict[tuple[str, str], float]
    reo_grade: dict[str, float]
    tho2_grade: dict[str, float]
    mining_cost: dict[str, float]
    share: dict[tuple[str, str], float]
    recovery: dict[str, float]
    unit_cost: dict[str, float]
    cap_plant_t: dict[tuple[str, str], float]
    transport_cost: dict[tuple[str, str], float]
    cap_line_t: dict[tuple[str, str, str], float]
    storage_capacity_t: dict[str, float]
    holding_cost: dict[str, float]
    initial_stock_t: dict[str, float]
    disposal_cost: dict[str, float]
    terminal_value: dict[str, float]
    kind: dict[str, str]
    treaty: dict[str, bool]
    min_t: dict[tuple[str, str, str], float]
    max_t: dict[tuple[str, str, str], float]
    price: dict[tuple[str, str, str], float]
    policy_value: dict[tuple[str, str, str], float]
    shortfall_penalty: dict[tuple[str, str, str], float]
    export_cap_t: dict[tuple[str, str], float]
    export_cap_non_treaty_t: dict[tuple[str, str], float]
    """(p, t) -> cap on exports to customers not bound by a treaty (export_caps scope non_treaty)."""
    customer_cap_t: dict[tuple[str, str, str], float]
    """(k, p, t) -> cap on the content of p delivered to customer k (export_caps with a customer)."""
    reserve_t: dict[tuple[str, str], float]
    """(p, t) -> end-of-period stock target (t), only where it is > 0."""
    reserve_penalty: dict[tuple[str, str], float]
    obligation_min_t: dict[tuple[str, str], float]
    """(o, t) -> t REO per year to deliver."""
    obligation_customer: dict[tuple[str, str], str]
    obligation_penalty: dict[tuple[str, str], float]
    obligation_basket: dict[str, list[tuple[str, float]]]
    """o -> [(product or MRECL, t REO per t)], in sheet order."""
    thorium_storage_t: float | None
    strict: bool = False
    """Minimums are hard (no shortfall_t)."""


@dataclass(frozen=True)
class ModelInputs:
    """Validated input of one run. Build with :func:`read_inputs` or :meth:`from_frames`."""

    frames: Mapping[str, pd.DataFrame]
    settings: Mapping[str, Any]
    source: str = "<frames>"
    letters: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    sha256: str | None = None
    path: str | None = None
    """The workbook this came from, if any (never overwritten by the writer)."""
    warnings: tuple[Problem, ...] = ()
    """What the reader and validator read past but the planner should see (unknown sheets
    and columns, a high discount rate, periods that run backwards): ``InputWarning``s."""

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame], *, source: str = "<frames>") -> ModelInputs:
        """Build from one DataFrame per sheet, named and shaped as in the workbook (README: input workbook).

        Validation is the same as for a workbook; rows are numbered as Excel would number
        them (header in row 1), so messages read ``demand row 5``.
        """
        problems: list[Problem] = []
        warnings: list[Problem] = []
        raw, letters = frames_from_user(dict(frames), warnings=warnings, problems=problems)
        return cls._from_raw(raw, letters, source=source, problems=problems, warnings=warnings)

    @classmethod
    def _from_raw(cls, raw, letters, *, source: str, sha256: str | None = None,
                  path: str | None = None, problems: list[Problem] | None = None,
                  warnings: list[Problem] | None = None) -> ModelInputs:
        """Validate raw frames; ``problems`` and ``warnings`` are the reader's, listed first."""
        found = list(warnings or [])
        typed, settings = normalise(raw, letters, source=source, problems=problems, warnings=found)
        return cls(typed, settings, source, letters, sha256, path, tuple(dict.fromkeys(found)))

    def frame(self, sheet: str) -> pd.DataFrame:
        """The typed, expanded frame of a sheet, without the ``_row`` bookkeeping column."""
        return self.frames[sheet].drop(columns=[ROW])

    @property
    def strict(self) -> bool:
        return bool(self.settings["strict"])

    def cell(self, sheet: str, row: int | None, column: str) -> str:
        """``sheet!F14`` where the column letter is known, else ``sheet row 14``."""
        if row is None:
            return sheet
        letter = self.letters.get(sheet, {}).get(column)
        return f"{sheet}!{letter}{row}" if letter else f"{sheet} row {row}"

    @cached_property
    def params(self) -> Params:
        return _derive_params(self)

    @cached_property
    def rows(self) -> dict[str, dict[tuple, int]]:
        """Excel row of each record, by sheet and record key (with period where expanded)."""
        keys = {
            "periods": ("period",), "mines": ("mine",), "plants": ("plant",),
            "products": ("product",), "customers": ("customer",),
            "demand": ("customer", "product", "period"),
            "export_caps": ("product", "scope", "customer", "period"),
            "reserves": ("product", "period"), "obligations": ("obligation", "period"),
            "obligation_products": ("obligation", "product"),
            "product_caps": ("plant", "product", "period"), "routes": ("mine", "plant"),
            "capacity_profile": ("entity", "period"), "composition": ("mine", "product"),
        }
        out: dict[str, dict[tuple, int]] = {}
        for sheet, cols in keys.items():
            frame = self.frames[sheet]
            out[sheet] = {tuple(r[c] for c in cols): r[ROW] for r in frame.to_dict("records")}
        return out


def read_inputs(path: str | Path) -> ModelInputs:
    """Read and validate an input workbook. Raises InputError listing every problem."""
    from .excel import read_workbook

    path = Path(path)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    raw, letters = read_workbook(path, warnings=warnings, problems=problems)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return ModelInputs._from_raw(raw, letters, source=path.name, sha256=digest, path=str(path),
                                 problems=problems, warnings=warnings)


Records = Mapping[str, Sequence[Mapping[str, Any]]]
"""Typed rows of each sheet (blanks as None, periods expanded): what the derivers read."""


def records_of(frames: Mapping[str, pd.DataFrame]) -> dict[str, list[dict]]:
    """Rows as dicts, blanks as None (pandas may turn None into NaN in numeric columns)."""
    return {name: [{k: (None if is_blank(v) else v) for k, v in r.items()}
                   for r in frame.to_dict("records")]
            for name, frame in frames.items()}


# --- the parameters, derived once -----------------------------------------------------------
#
# Each deriver turns a few sheets into a few parameters. Both the build and the sweep's fast
# path call these same functions: a sweep re-runs only the derivers that read a changed
# sheet, on the rows with the scenario's cells changed, so it can never compute a parameter
# differently from a full solve. ``D`` holds the parameters derived so far (PERIODS first).

@dataclass(frozen=True)
class Deriver:
    """A function of some sheets (and settings) that returns some fields of :class:`Params`."""

    reads: tuple[str, ...]
    """Sheets (``mines``) or single columns (``demand.price``) whose change re-runs it."""
    fn: Callable[[Records, Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]


# The sets of ids come from derivers of their own: what reads a set then depends on the id
# columns only, not on every column of the sheet the set comes from.

def _period_ids(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    """PERIODS in sheet order."""
    return {"PERIODS": [r["period"] for r in R["periods"]]}


def _mine_ids(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    return {"MINES": sorted(r["mine"] for r in R["mines"])}


def _plant_ids(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    """C and S: plants by stage."""
    return {stage: sorted(r["plant"] for r in R["plants"] if r["stage"] == kind)
            for stage, kind in (("CRACKING", "cracking"), ("SEPARATION", "separation"))}


def _periods(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    """Years Y[t]; df[t] = 1/(1+r)^(years before t) unless periods.discount_factor is given."""
    rate = settings["discount_rate"]
    df: dict[str, float] = {}
    elapsed = 0.0
    for r in R["periods"]:
        df[r["period"]] = (r["discount_factor"] if r["discount_factor"] is not None
                           else 1.0 / (1.0 + rate) ** elapsed)
        elapsed += r["years"]
    return {"years": {r["period"]: r["years"] for r in R["periods"]}, "df": df}


def _profile(R: Records) -> dict[tuple[str, str], float]:
    return {(r["entity"], r["period"]): r["capacity_t"] for r in R["capacity_profile"]}


def _mines(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    """avail[m,t] from status and approved_from; capM[m,t] with capacity_profile overrides."""
    periods = D["PERIODS"]
    order = {t: i for i, t in enumerate(periods)}
    mines = {r["mine"]: r for r in R["mines"]}
    profile = _profile(R)

    def avail(r: Mapping[str, Any], t: str) -> int:
        start = r["approved_from"]
        if r["status"] == "approved":
            return int(start is None or order[t] >= order[start])
        return int(start is not None and order[t] >= order[start])

    return {
        "avail": {(m, t): avail(r, t) for m, r in mines.items() for t in periods},
        "cap_mine_t": {(m, t): profile.get((m, t), r["capacity_t"]) for m, r in mines.items()
                       for t in periods},
        "reo_grade": {m: r["reo_grade"] for m, r in mines.items()},
        "tho2_grade": {m: r["tho2_grade"] for m, r in mines.items()},
        "mining_cost": {m: r["mining_cost"] for m, r in mines.items()},
    }


def _plants(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    """capC/capS[c,t] with capacity_profile overrides; rC, rS; unit costs."""
    plants = {r["plant"]: r for r in R["plants"]}
    profile = _profile(R)
    return {
        "recovery": {c: r["recovery"] for c, r in plants.items()},
        "unit_cost": {c: r["unit_cost"] for c, r in plants.items()},
        "cap_plant_t": {(c, t): profile.get((c, t), r["capacity_t"]) for c, r in plants.items()
                        for t in D["PERIODS"]},
    }


def _routes(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    """R and transport_cost; every mine -> cracking plant pair when the sheet is empty."""
    if R["routes"]:
        transport = {(r["mine"], r["plant"]): r["transport_cost"] for r in R["routes"]}
    else:
        transport = {(m, c): 0.0 for m in D["MINES"] for c in D["CRACKING"]}
    return {"ROUTES": sorted(transport), "transport_cost": transport}


def _composition(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    """share[m,p]: the mine's own rows, else the default rows (blank mine); zeros dropped."""
    own: dict[str | None, dict[str, float]] = defaultdict(dict)
    for r in R["composition"]:
        own[r["mine"]][r["product"]] = r["share"]
    share = {}
    for m in D["MINES"]:
        for p, s in (own.get(m) or own.get(None, {})).items():
            if s:
                share[m, p] = s
    return {"share": share}


def _products(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    """P and its storage, holding, opening stock, disposal and terminal values."""
    rows = {r["product"]: r for r in R["products"]}

    def given(column: str) -> dict[str, float]:  # blank means "no limit" / "not allowed"
        return {p: r[column] for p, r in rows.items() if r[column] is not None}

    return {
        "PRODUCTS": sorted(rows),
        "storage_capacity_t": given("storage_capacity_t"),
        "holding_cost": {p: r["holding_cost"] for p, r in rows.items()},
        "initial_stock_t": {p: r["initial_stock_t"] for p, r in rows.items()},
        "disposal_cost": given("disposal_cost"),
        "terminal_value": {p: r["terminal_value"] for p, r in rows.items()},
    }


def _customers(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    rows = {r["customer"]: r for r in R["customers"]}
    return {"CUSTOMERS": sorted(rows), "kind": {k: r["kind"] for k, r in rows.items()},
            "treaty": {k: bool(r["treaty"]) for k, r in rows.items()}}


def _demand_rows(R: Records) -> dict[tuple[str, str, str], Mapping[str, Any]]:
    return {(r["customer"], r["product"], r["period"]): r for r in R["demand"]}


def _demand(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    """D: the demand rows, sorted by customer, product and period order."""
    order = {t: i for i, t in enumerate(D["PERIODS"])}
    return {"DEMAND": sorted(_demand_rows(R), key=lambda d: (d[0], d[1], order[d[2]]))}


def _demand_column(name: str, fallback: Any = None, *, given_only: bool = False):
    """A deriver of one demand column: blank -> ``fallback`` (or left out, ``given_only``)."""
    def derive(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
        rows = _demand_rows(R)
        if given_only:
            return {name: {d: r[name] for d, r in rows.items() if r[name] is not None}}
        default = settings[fallback] if isinstance(fallback, str) else fallback
        return {name: {d: (r[name] if r[name] is not None else default) for d, r in rows.items()}}
    derive.__doc__ = f"demand.{name} per demand row"
    return derive


def _caps(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    """Line caps; export caps split by scope: all exports, non-treaty exports, one customer."""
    everything, non_treaty, customer = {}, {}, {}
    for r in R["export_caps"]:
        if r["customer"] is not None:
            customer[r["customer"], r["product"], r["period"]] = r["max_t"]
        elif r["scope"] == "non_treaty":
            non_treaty[r["product"], r["period"]] = r["max_t"]
        else:
            everything[r["product"], r["period"]] = r["max_t"]
    return {"cap_line_t": {(r["plant"], r["product"], r["period"]): r["max_t"]
                           for r in R["product_caps"]},
            "export_cap_t": everything, "export_cap_non_treaty_t": non_treaty,
            "customer_cap_t": dict(sorted(customer.items()))}


def _reserves(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    """reserve[p,t] = max(min_stock_t, months_of_cover/12 x sum of domestic min_t of p in t)."""
    domestic = {r["customer"] for r in R["customers"] if r["kind"] == "domestic"}
    need: dict[tuple[str, str], float] = defaultdict(float)
    for r in R["demand"]:
        if r["customer"] in domestic and r["min_t"]:
            need[r["product"], r["period"]] += r["min_t"]
    target, penalty = {}, {}
    default = settings["default_shortfall_penalty"]
    for r in R["reserves"]:
        key = (r["product"], r["period"])
        months = r["months_of_cover"]
        level = max(r["min_stock_t"] or 0.0, (months or 0.0) / 12.0 * need.get(key, 0.0))
        if level > 0:
            target[key] = level
            penalty[key] = default if r["shortfall_penalty"] is None else r["shortfall_penalty"]
    order = {t: i for i, t in enumerate(D["PERIODS"])}
    keys = sorted(target, key=lambda pt: (pt[0], order[pt[1]]))
    return {"reserve_t": {k: target[k] for k in keys}, "reserve_penalty": penalty}


def _obligations(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    """Obligations with min_reo_t > 0, their customer, penalty and basket (sheet order)."""
    basket: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for r in R["obligation_products"]:
        basket[r["obligation"]].append((r["product"], r["reo_factor"]))
    order = {t: i for i, t in enumerate(D["PERIODS"])}
    rows = sorted((r for r in R["obligations"] if r["min_reo_t"] > 0),
                  key=lambda r: (r["obligation"], order[r["period"]]))
    default = settings["default_shortfall_penalty"]
    return {
        "obligation_min_t": {(r["obligation"], r["period"]): r["min_reo_t"] for r in rows},
        "obligation_customer": {(r["obligation"], r["period"]): r["customer"] for r in rows},
        "obligation_penalty": {(r["obligation"], r["period"]): default if r["shortfall_penalty"] is None
                               else r["shortfall_penalty"] for r in rows},
        "obligation_basket": {o: basket[o] for o in sorted({r["obligation"] for r in rows})},
    }


def _settings(R: Records, settings: Mapping[str, Any], D: Mapping[str, Any]) -> dict[str, Any]:
    return {"thorium_storage_t": settings["thorium_storage_t"], "strict": bool(settings["strict"])}


DERIVERS: tuple[Deriver, ...] = (
    Deriver(("periods.period",), _period_ids),  # the id sets first: the others read them
    Deriver(("mines.mine",), _mine_ids),
    Deriver(("plants.plant", "plants.stage"), _plant_ids),
    Deriver(("periods", "settings"), _periods),
    Deriver(("mines", "capacity_profile", "periods"), _mines),
    Deriver(("plants", "capacity_profile", "periods"), _plants),
    Deriver(("routes", "mines", "plants"), _routes),
    Deriver(("composition", "mines"), _composition),
    Deriver(("products",), _products),
    Deriver(("customers",), _customers),
    # One deriver per demand column, so a sweep over prices never re-reads the minimums.
    Deriver(("demand.customer", "demand.product", "periods"), _demand),
    Deriver(("demand.min_t",), _demand_column("min_t", 0.0)),
    Deriver(("demand.max_t",), _demand_column("max_t", given_only=True)),
    Deriver(("demand.price",), _demand_column("price")),
    Deriver(("demand.policy_value",), _demand_column("policy_value", 0.0)),
    Deriver(("demand.shortfall_penalty", "settings"),
            _demand_column("shortfall_penalty", "default_shortfall_penalty")),
    Deriver(("product_caps", "export_caps"), _caps),
    Deriver(("reserves", "demand.min_t", "customers", "periods", "settings"), _reserves),
    Deriver(("obligations", "obligation_products", "periods", "settings"), _obligations),
    Deriver(("settings",), _settings),
)


def derive_params(R: Records, settings: Mapping[str, Any], *, base: Params | None = None,
                  changed: frozenset[str] | None = None,
                  reads: Sequence[frozenset[str]] | None = None,
                  run: Callable[[int, Deriver, Mapping[str, Any]], Mapping[str, Any]] | None = None,
                  ) -> Params:
    """The parameters of the model from typed rows.

    With ``base`` and ``changed`` (sheet names and ``sheet.column`` names), only the
    derivers that read something changed run; the other fields are taken from ``base``.
    Same functions, same result. ``reads`` (from :func:`traced_reads`) replaces the
    declared reads of each deriver. ``run(n, deriver, D)``, if given, stands in for
    ``deriver.fn(R, settings, D)`` (a sweep's memo of deriver outputs).
    """
    D: dict[str, Any] = {} if base is None else dict(base.__dict__)
    for n, deriver in enumerate(DERIVERS):
        wanted = deriver.reads if reads is None else reads[n]
        if changed is None or changed.intersection(wanted):
            D.update(deriver.fn(R, settings, D) if run is None else run(n, deriver, D))
    return Params(**D)


class _Seen:
    """Records which sheets and columns a deriver reads (see :func:`traced_reads`)."""

    def __init__(self, R: Records, settings: Mapping[str, Any]):
        self.read: set[str] = set()
        self.R, self.settings = R, settings

    def rows(self) -> Mapping[str, list]:
        seen = self

        class Rows(dict):
            def __getitem__(self, sheet: str) -> list:
                # Columns only: adding or removing rows goes the full path, never this one.
                return [_SeenRecord(r, sheet, seen.read) for r in seen.R[sheet]]
        return Rows()

    def settings_view(self) -> Mapping[str, Any]:
        seen = self

        class Settings(dict):
            def __getitem__(self, key: str) -> Any:
                seen.read.add("settings")
                return seen.settings[key]
        return Settings()


class _SeenDerived(dict):
    """The parameters derived so far, recording which a deriver uses."""

    def __init__(self, params: Params):
        self.params, self.used = params, set()

    def __getitem__(self, name: str) -> Any:
        self.used.add(name)
        return getattr(self.params, name)


class _SeenRecord(dict):
    __slots__ = ("_record", "_sheet", "_read")

    def __init__(self, record: Mapping[str, Any], sheet: str, read: set[str]):
        self._record, self._sheet, self._read = record, sheet, read

    def __getitem__(self, column: str) -> Any:
        self._read.add(f"{self._sheet}.{column}")
        return self._record[column]


def traced_reads(R: Records, settings: Mapping[str, Any], params: Params,
                 produced: dict[str, int] | None = None) -> list[frozenset[str]]:
    """What each deriver actually reads on these rows: ``sheet.column`` names and
    ``settings``, plus the reads of every deriver whose output it uses. A sweep re-runs a
    deriver when any of them changed; the declared reads (:attr:`Deriver.reads`) must cover
    them (a test says so). ``produced``, if given, is filled with the deriver (position in
    :data:`DERIVERS`) that makes each field.
    """
    made_by: dict[str, int] = {}
    out: list[frozenset[str]] = []
    for n, deriver in enumerate(DERIVERS):
        seen = _Seen(R, settings)
        derived = _SeenDerived(params)
        made = deriver.fn(seen.rows(), seen.settings_view(), derived)
        read = set(seen.read)
        for name in derived.used:  # what made the derived fields it used
            if name in made_by:
                read |= out[made_by[name]]
        out.append(frozenset(read))
        for name in made:
            made_by.setdefault(name, n)
    if produced is not None:
        produced.update(made_by)
    return out


def _derive_params(inputs: ModelInputs) -> Params:
    return derive_params(records_of(inputs.frames), inputs.settings)


__all__ = ["ModelInputs", "Params", "read_inputs", "MRECL"]
