"""A tiny valid instance, built as DataFrames, that tests mutate one thing at a time.

Base instance (one period of one year, everything at recovery 1 and zero cost):
    mine M1: 100 t monazite, REO grade 0.5  -> 50 t REO
    composition: A 0.6, B 0.4               -> separating all 50 t REO gives A 30 t, B 20 t
    customer K1 (domestic) buys A at 10/t, max 1000 t
    customer X1 (export, treaty) buys MRECL at 4/t REO, no min
Optimal: separate everything, sell A 30 t -> 300 (MRECL at 4/t REO is worth less than the
6/t REO that separation yields through A: 0.6 * 10). B is left in stock (no buyer, value 0).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd


def frames(**overrides: list[dict]) -> dict[str, pd.DataFrame]:
    """The tiny instance as a dict of DataFrames; keyword args replace a sheet's rows."""
    sheets = {
        "settings": [{"key": "currency", "value": "USD"}],
        "periods": [{"period": "T1", "years": 1}],
        "mines": [{"mine": "M1", "capacity_t": 100, "reo_grade": 0.5, "tho2_grade": 0.0,
                   "mining_cost": 0, "status": "approved", "approved_from": None}],
        "composition": [{"mine": None, "product": "A", "share": 0.6},
                        {"mine": None, "product": "B", "share": 0.4}],
        "plants": [{"plant": "C1", "stage": "cracking", "capacity_t": 1000, "recovery": 1.0,
                    "unit_cost": 0},
                   {"plant": "S1", "stage": "separation", "capacity_t": 1000, "recovery": 1.0,
                    "unit_cost": 0}],
        "products": [{"product": "A", "storage_capacity_t": None, "initial_stock_t": 0},
                     {"product": "B", "storage_capacity_t": None, "initial_stock_t": 0}],
        "customers": [{"customer": "K1", "kind": "domestic", "treaty": False},
                      {"customer": "X1", "kind": "export", "treaty": True}],
        "demand": [{"customer": "K1", "product": "A", "period": None, "min_t": 0,
                    "max_t": 1000, "price": 10},
                   {"customer": "X1", "product": "MRECL", "period": None, "min_t": 0,
                    "max_t": None, "price": 4}],
    }
    sheets.update(overrides)
    return {name: pd.DataFrame(rows) for name, rows in sheets.items()}


def plain(value):
    """A cell value openpyxl can write: NaN -> blank, numpy scalars -> Python."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def write_xlsx(frames: dict[str, pd.DataFrame], path: Path) -> Path:
    """Write each frame as a sheet: header row 1, then one row per record."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, frame in frames.items():
        ws = wb.create_sheet(name)
        ws.append(list(frame.columns))
        for record in frame.itertuples(index=False):
            ws.append([plain(v) for v in record])
    wb.save(path)
    return path
