"""A blank, annotated input workbook, generated from the schema declarations.

Each sheet has its header row with a comment per column (meaning, unit, required or
default), dropdowns for kinds, statuses and ids, and a README sheet that explains the
conventions. ``schema_markdown`` renders the same declarations for the README.
"""

from __future__ import annotations

from pathlib import Path

from .schema import MRECL, REF_WORDS, SETTINGS, SHEETS, Column, Sheet

ID_COLUMN = {"periods": "periods!$A$2:$A$1000", "mines": "mines!$A$2:$A$1000",
             "cracking": "plants!$A$2:$A$1000", "separation": "plants!$A$2:$A$1000",
             "products": "products!$A$2:$A$1000", "products+MRECL": "products!$A$2:$A$1000",
             "customers": "customers!$A$2:$A$1000"}
DATA_ROWS = 500


def column_note(col: Column) -> str:
    """The words that describe a column in the template comment and the README table."""
    bits = [col.doc]
    if col.unit:
        bits.append(f"Unit: {col.unit}.")
    if col.required:
        bits.append("Required.")
    elif col.default is not None:
        bits.append(f"Default: {col.default if not isinstance(col.default, float) else f'{col.default:g}'}.")
    if col.blank_means:
        bits.append(f"Blank = {col.blank_means}.")
    if col.kind == "number" and (col.lower is not None or col.upper is not None):
        bits.append(f"Must be {col.expectation()}.")
    if col.choices:
        bits.append(f"One of: {', '.join(col.choices)}.")
    if col.ref:
        bits.append(f"Must be {REF_WORDS[col.ref]}" + (f" (or {MRECL})." if col.ref == "products+MRECL" else "."))
    return " ".join(b for b in bits if b)


def schema_markdown() -> str:
    """The workbook reference (README section), rendered from the declarations."""
    lines = []
    for sheet in SHEETS:
        flag = " (optional)" if sheet.optional else ""
        lines += [f"#### `{sheet.name}`{flag}", "", sheet.doc, ""]
        if sheet.name == "settings":
            lines += ["| key | default | unit | meaning |", "|---|---|---|---|"]
            for s in SETTINGS:
                default = "blank" if s.default is None else (
                    f"{s.default:g}" if isinstance(s.default, float) else str(s.default).lower())
                lines.append(f"| `{s.key}` | {default} | {s.unit} | {s.doc} |")
            lines.append("")
            continue
        lines += ["| column | required | unit | meaning |", "|---|---|---|---|"]
        for col in sheet.columns:
            lines.append(f"| `{col.name}` | {'yes' if col.required else ''} | {col.unit} | "
                         f"{column_note(col).replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


def _validation_for(col: Column):
    from openpyxl.worksheet.datavalidation import DataValidation

    if col.choices:
        return DataValidation(type="list", formula1='"' + ",".join(col.choices) + '"',
                              allow_blank=not col.required, showErrorMessage=True,
                              errorTitle=col.name, error=f"Choose one of: {', '.join(col.choices)}")
    if col.kind == "bool":
        return DataValidation(type="list", formula1='"true,false"', allow_blank=True)
    if col.ref in ID_COLUMN:
        # A warning, not a stop: MRECL and ids typed before their sheet is filled are fine.
        return DataValidation(type="list", formula1="=" + ID_COLUMN[col.ref], allow_blank=True,
                              showErrorMessage=True, errorStyle="warning",
                              error=f"Expected {REF_WORDS[col.ref]}")
    if col.ref == "entities":
        return None
    return None


def _sheet(wb, sheet: Sheet) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(sheet.name)
    for j, col in enumerate(sheet.columns, start=1):
        cell = ws.cell(row=1, column=j, value=col.name)
        cell.font = Font(bold=True)
        cell.comment = Comment(column_note(col), "irel-alloc", width=320, height=140)
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(14, len(col.name) + 4)
        dv = _validation_for(col)
        if dv is not None:
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}{DATA_ROWS}")
    ws.freeze_panes = "A2"
    if sheet.name == "settings":
        for i, s in enumerate(SETTINGS, start=2):
            ws.cell(row=i, column=1, value=s.key)
            default = s.default if not isinstance(s.default, bool) else str(s.default).lower()
            ws.cell(row=i, column=2, value=default)
            ws.cell(row=i, column=3, value=s.doc)
        ws.cell(row=1, column=3, value="notes").font = Font(bold=True)
        ws.column_dimensions["C"].width = 70


README_TEXT = [
    "IREL rare-earth allocation: input workbook",
    "",
    "Fill the sheets; run `irel-alloc validate THIS.xlsx`, then `irel-alloc solve THIS.xlsx`.",
    "Hover over a column header for its meaning, unit and default.",
    "Quantities are tonnes (t); capacities, demands and caps are per year.",
    "Money is in settings.currency (default USD), per tonne.",
    "Required sheets: settings, periods, mines, composition, plants, products, customers, demand.",
    "Optional sheets may be left empty: capacity_profile, routes, product_caps, export_caps, scenarios.",
    "In demand, product_caps, export_caps and capacity_profile a blank period means every period;",
    "  a row with a period overrides the blank row with the same key for that period.",
    f"{MRECL} is the reserved product id for mixed rare-earth chloride (t REO); never list it in products.",
    "Ids are case-sensitive text; a period such as 2026 is read as the text '2026'.",
    "Extra columns (notes, source) and extra sheets are ignored; so is this README sheet.",
]


def write_template(path: str | Path) -> Path:
    """Write the blank annotated workbook to ``path`` (atomically)."""
    from .writer import save_workbook

    def fill(wb):
        ws = wb.create_sheet("README", 0)
        for i, line in enumerate(README_TEXT, start=1):
            ws.cell(row=i, column=1, value=line)
        ws.column_dimensions["A"].width = 110
        for sheet in SHEETS:
            _sheet(wb, sheet)

    return save_workbook([], path, extra=fill)


README_START, README_END = "<!-- schema:start -->", "<!-- schema:end -->"


def sync_readme(path: str | Path = "README.md") -> bool:
    """Rewrite the workbook reference between the schema markers of README.md.

    Run ``python -m optimizer.template`` after changing :mod:`optimizer.schema`; a test
    fails while the README and the schema disagree. Returns True when the file changed.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    new = f"{head}{README_START}\n{schema_markdown()}\n{README_END}{tail}"
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":  # pragma: no cover
    print("README.md updated" if sync_readme() else "README.md already up to date")
