"""ModelInputs: the validated, normalised input, and the parameters of SPEC §3 derived from it.

A ``ModelInputs`` holds one typed frame per sheet, with blank periods already expanded,
each record keeping the Excel row it came from (``_row``). It is built only through
validation, so holding one means the data is consistent. Treat its frames as read-only;
:mod:`optimizer.changes` makes modified copies.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from .excel import ROW
from .schema import MRECL
from .validate import frames_from_user, is_blank, normalise


@dataclass(frozen=True)
class Params:
    """Plain-Python parameters of SPEC §3, in sorted or sheet order (never set order).

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
    thorium_storage_t: float | None


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

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame], *, source: str = "<frames>") -> ModelInputs:
        """Build from one DataFrame per sheet, named and shaped as in the workbook (SPEC §4).

        Validation is the same as for a workbook; rows are numbered as Excel would number
        them (header in row 1), so messages read ``demand row 5``.
        """
        raw, letters = frames_from_user(dict(frames))
        return cls._from_raw(raw, letters, source=source)

    @classmethod
    def _from_raw(cls, raw, letters, *, source: str, sha256: str | None = None,
                  path: str | None = None) -> ModelInputs:
        typed, settings = normalise(raw, letters, source=source)
        return cls(typed, settings, source, letters, sha256, path)

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
            "demand": ("customer", "product", "period"), "export_caps": ("product", "period"),
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
    raw, letters = read_workbook(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return ModelInputs._from_raw(raw, letters, source=path.name, sha256=digest, path=str(path))


def _records(inputs: ModelInputs, sheet: str) -> list[dict]:
    """Rows as dicts, blanks as None (pandas may turn None into NaN in numeric columns)."""
    return [{k: (None if is_blank(v) else v) for k, v in r.items()}
            for r in inputs.frames[sheet].to_dict("records")]


def _derive_params(inputs: ModelInputs) -> Params:
    """SPEC §3 'Parameters', computed once into plain dicts."""
    periods = [r["period"] for r in _records(inputs, "periods")]
    order = {t: i for i, t in enumerate(periods)}
    years = {r["period"]: r["years"] for r in _records(inputs, "periods")}
    rate = inputs.settings["discount_rate"]
    df: dict[str, float] = {}
    elapsed = 0.0
    for r in _records(inputs, "periods"):
        df[r["period"]] = (r["discount_factor"] if r["discount_factor"] is not None
                           else 1.0 / (1.0 + rate) ** elapsed)
        elapsed += r["years"]

    mines = {r["mine"]: r for r in _records(inputs, "mines")}
    plants = {r["plant"]: r for r in _records(inputs, "plants")}
    profile = {(r["entity"], r["period"]): r["capacity_t"]
               for r in _records(inputs, "capacity_profile")}

    def avail(m: str, t: str) -> int:
        status, start = mines[m]["status"], mines[m]["approved_from"]
        if status == "approved":
            return int(start is None or order[t] >= order[start])
        return int(start is not None and order[t] >= order[start])

    cracking = sorted(p for p, r in plants.items() if r["stage"] == "cracking")
    separation = sorted(p for p, r in plants.items() if r["stage"] == "separation")
    products = sorted(r["product"] for r in _records(inputs, "products"))
    route_rows = _records(inputs, "routes")
    if route_rows:
        transport = {(r["mine"], r["plant"]): r["transport_cost"] for r in route_rows}
    else:
        transport = {(m, c): 0.0 for m in mines for c in cracking}

    own: dict[str, dict[str, float]] = defaultdict(dict)
    for r in _records(inputs, "composition"):
        own[r["mine"]][r["product"]] = r["share"]
    share = {}
    for m in sorted(mines):
        for p, s in (own.get(m) or own.get(None, {})).items():
            if s:
                share[m, p] = s

    products_by_id = {r["product"]: r for r in _records(inputs, "products")}
    customers = {r["customer"]: r for r in _records(inputs, "customers")}
    demand = _records(inputs, "demand")
    default_pen = inputs.settings["default_shortfall_penalty"]

    def by_demand(column: str, fallback: Any = None) -> dict:
        return {(r["customer"], r["product"], r["period"]):
                (r[column] if r[column] is not None else fallback) for r in demand}

    d_keys = sorted(by_demand("price"), key=lambda k: (k[0], k[1], order[k[2]]))
    return Params(
        PERIODS=periods,
        MINES=sorted(mines),
        CRACKING=cracking,
        SEPARATION=separation,
        PRODUCTS=products,
        CUSTOMERS=sorted(customers),
        ROUTES=sorted(transport),
        DEMAND=d_keys,
        years=years,
        df=df,
        avail={(m, t): avail(m, t) for m in mines for t in periods},
        cap_mine_t={(m, t): profile.get((m, t), r["capacity_t"]) for m, r in mines.items()
                    for t in periods},
        reo_grade={m: r["reo_grade"] for m, r in mines.items()},
        tho2_grade={m: r["tho2_grade"] for m, r in mines.items()},
        mining_cost={m: r["mining_cost"] for m, r in mines.items()},
        share=share,
        recovery={c: r["recovery"] for c, r in plants.items()},
        unit_cost={c: r["unit_cost"] for c, r in plants.items()},
        cap_plant_t={(c, t): profile.get((c, t), r["capacity_t"]) for c, r in plants.items()
                     for t in periods},
        transport_cost=transport,
        cap_line_t={(r["plant"], r["product"], r["period"]): r["max_t"]
                    for r in _records(inputs, "product_caps")},
        storage_capacity_t={p: r["storage_capacity_t"] for p, r in products_by_id.items()
                            if r["storage_capacity_t"] is not None},
        holding_cost={p: r["holding_cost"] for p, r in products_by_id.items()},
        initial_stock_t={p: r["initial_stock_t"] for p, r in products_by_id.items()},
        disposal_cost={p: r["disposal_cost"] for p, r in products_by_id.items()
                       if r["disposal_cost"] is not None},
        terminal_value={p: r["terminal_value"] for p, r in products_by_id.items()},
        kind={k: r["kind"] for k, r in customers.items()},
        treaty={k: bool(r["treaty"]) for k, r in customers.items()},
        min_t=by_demand("min_t", 0.0),
        max_t={k: v for k, v in by_demand("max_t").items() if v is not None},
        price=by_demand("price"),
        policy_value=by_demand("policy_value", 0.0),
        shortfall_penalty=by_demand("shortfall_penalty", default_pen),
        export_cap_t={(r["product"], r["period"]): r["max_t"]
                      for r in _records(inputs, "export_caps")},
        thorium_storage_t=inputs.settings["thorium_storage_t"],
    )


__all__ = ["ModelInputs", "Params", "read_inputs", "MRECL"]
