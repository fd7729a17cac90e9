"""Write tests/data/calibration_2024.xlsx: IREL's 2024 in one period, for tests/test_calibration.py.

Run from the repository root:  python tests/data/make_calibration_2024.py

The workbook reuses inputs/make_base_case.py: its citations, rows, sheet writer, `sources`
sheet and deterministic save. What differs from the base case is 2024 itself: one period,
only the three operating mines, 2024 prices, no magnet buyers yet (the scheme, Midwest and
Sona start later), no opening stock. docs/data_sources.md#calibration-2024 explains each
figure; the README's "Calibration" subsection says which outcomes the inputs force.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for folder in (ROOT, ROOT / "inputs"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
import make_base_case as base  # noqa: E402  (after the path fix)
from openpyxl import Workbook  # noqa: E402

OUT = ROOT / "tests" / "data" / "calibration_2024.xlsx"
A = base.A
SECTION = "calibration-2024"
CITES = {
    "cal_period": (A, "Calibration: calendar 2024", "one one-year period"),
    "cal_ndpr_line": (A, "ASSUMPTION: 400 t NdPr line in 2024", "the capacity notified in Dec 2025 (Gazette S.O. 5800(E)); no 2024 figure"),
    "cal_stock0": (A, "ASSUMPTION: no opening stock", "the 500 t NdPr stock of Dec 2025 is an outcome to compare, not an input"),
    "cal_trei_price": (A, "ASSUMPTION: 0.6 x basket at 2024 prices", "terms undisclosed; 0.6 x contained value ~ $9/kg REO (2024)"),
    "cal_trei_min": ("sourced", "Reuters 13 Jun 2025", ">1,000 t shipped to Japan in 2024 (customs data), about a third of 2,900 t"),
    "cal_p_ce": ("sourced", "Ce $1/kg: USGS 2024", "USGS Mineral Commodity Summaries 2025, 2024 average"),
    "cal_p_dy": ("sourced", "Dy $260/kg: USGS 2024", "USGS Mineral Commodity Summaries 2025, 2024 average"),
    "cal_p_tb": ("sourced", "Tb $810/kg: USGS 2024", "USGS Mineral Commodity Summaries 2025, 2024 average"),
    "cal_p_2025": (A, "ASSUMPTION: 2025 price for 2024", "no 2024 quote in the sources; the base case's 2025 price"),
}
base.CITES.update(CITES)
base.SECTION_OF.update(dict.fromkeys(CITES, SECTION))

PERIOD = "Y2024"
OPERATING = [m for m in base.MINES if m[6] == "approved"]
MINES_2024 = {m[0] for m in OPERATING}
ROUTES = [r for r in base.ROUTES if r[0] in MINES_2024]
PRODUCT_CAPS = [("P_RED", "NdPr", None, 400, "cal_ndpr_line")]
PRODUCTS = [(p, name, cap, hold, 0, disp, tv, {**spec, "initial_stock_t": "cal_stock0"}) if p == "NdPr"
            else (p, name, cap, hold, stock, disp, tv, spec)
            for p, name, cap, hold, stock, disp, tv, spec in base.PRODUCTS]
CUSTOMERS = [c for c in base.CUSTOMERS if c[0] in ("D_REPM", "D_LACE", "X_TREI", "X_SPOT")]
SPOT_2024 = [("La", 600, "p_la"), ("Ce", 1000, "cal_p_ce"), ("Sm", 2000, "p_sm"), ("Gd", 22000, "cal_p_2025"),
             ("Y", 8000, "cal_p_2025"), ("Eu", 28000, "p_eu"), ("Dy", 260000, "cal_p_dy"),
             ("Tb", 810000, "cal_p_tb")]
DEMAND = [
    ("X_TREI", "MRECL", None, 1000, 2300, 9000, None, 1000000,
     {**base.TREI, "min_t": "cal_trei_min", "price": "cal_trei_price"}),
    ("D_REPM", "Sm", None, 1, 1.5, 5000, None, None, {"*": "repm_vol", "price": "repm_price"}),
    ("D_LACE", "La", None, 0, 300, 600, None, None, {"*": "lace_vol", "price": "p_la"}),
    ("D_LACE", "Ce", None, 0, 500, 1000, None, None, {"*": "lace_vol", "price": "cal_p_ce"}),
] + [("X_SPOT", p, None, 0, None, price, None, None, {"*": "spot_vol", "price": key}) for p, price, key in SPOT_2024]

README = [
    "IREL 2024 calibration workbook (one period), written by tests/data/make_calibration_2024.py.",
    "IREL's 2024: the three operating mines (~5,000 t monazite = ~2,900 t REO), MoPP, RED with a 400 t NdPr line,",
    "TREI's treaty minimum of 1,000 t REO (>1,000 t went to Japan in 2024, about a third), 2024 prices.",
    "No magnet buyer yet: NdPr that is separated goes to stock, valued at the base case's 60,000 USD/t.",
    "Every figure is cited on the 'sources' sheet; 'see' names the section of docs/data_sources.md.",
]
SHEETS = {"settings": base.SETTINGS, "periods": [(PERIOD, 1, "cal_period")], "mines": OPERATING,
          "composition": base.COMPOSITION, "plants": base.PLANTS, "capacity_profile": [], "routes": ROUTES,
          "product_caps": PRODUCT_CAPS, "products": PRODUCTS, "customers": CUSTOMERS, "demand": DEMAND}


def main() -> None:
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.created = wb.properties.modified = base.FIXED
    wb.properties.creator = wb.properties.lastModifiedBy = "tests/data/make_calibration_2024.py"
    readme = wb.create_sheet("README")
    for line in README:
        readme.append([line])
    readme["A1"].font = base.BOLD
    readme.column_dimensions["A"].width = 120
    all_sources = []
    for sheet, header, keys, _rows in base.LAYOUT:
        table, sources = base.split_rows(sheet, header, keys, SHEETS[sheet])
        base.write_sheet(wb, sheet, header + ["source"], table)
        all_sources += sources
    base.write_sheet(wb, "sources", ["sheet", "row_ref", "figure", "value", "source", "kind", "see"], all_sources)
    base.annotate_workbook(wb)
    base.save_deterministic(wb, OUT)
    print(f"wrote {OUT} ({len(all_sources)} cited figures)")


if __name__ == "__main__":
    main()
