"""A blank, annotated input workbook, generated from the schema declarations.

Each sheet has its header row with a comment per column (meaning, unit, required or
default), dropdowns for kinds, statuses and ids, and a README sheet that explains the
conventions. ``schema_markdown`` renders the same declarations for the README.
"""

from __future__ import annotations

from pathlib import Path

from .schema import MRECL, REF_WORDS, SETTINGS, SHEETS, Column, Sheet

ID_ROWS = 1000
"""Ids are looked up in rows 2..ID_ROWS of their sheet's first column."""
ID_COLUMN = {ref: f"{sheet}!$A$2:$A${ID_ROWS}" for ref, sheet in (
    ("periods", "periods"), ("mines", "mines"), ("cracking", "plants"), ("separation", "plants"),
    ("products", "products"), ("customers", "customers"))}
DATA_ROWS = 500
LISTS = "lists"
"""Hidden helper sheet: MRECL followed by the product ids (the demand product dropdown).

A list validation takes one range, so MRECL cannot simply be appended to products!A:A;
the helper column mirrors the products with formulas and OFFSET cuts it to the filled rows.
The reader ignores sheets it does not know, so the helper never reaches the model.
"""
PRODUCTS_AND_MRECL = f"=OFFSET({LISTS}!$A$1,0,0,1+COUNTA({ID_COLUMN['products']}),1)"


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
        bits.append(f"Must be {REF_WORDS[col.ref]}.")
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
    """The dropdown of a column: its choices, true/false, or the ids it must name."""
    from openpyxl.worksheet.datavalidation import DataValidation

    if col.choices:
        return DataValidation(type="list", formula1='"' + ",".join(col.choices) + '"',
                              allow_blank=not col.required, showErrorMessage=True,
                              errorTitle=col.name, error=f"Choose one of: {', '.join(col.choices)}")
    if col.kind == "bool":
        return DataValidation(type="list", formula1='"true,false"', allow_blank=True)
    source = PRODUCTS_AND_MRECL if col.ref == "products+MRECL" else (
        "=" + ID_COLUMN[col.ref] if col.ref in ID_COLUMN else None)
    if source is None:  # free text, numbers, and entities (ids of two sheets)
        return None
    # A warning, not a stop: ids typed before their sheet is filled are fine.
    return DataValidation(type="list", formula1=source, allow_blank=True, showErrorMessage=True,
                          errorStyle="warning", error=f"Expected {REF_WORDS[col.ref]}")


def _settings_keys():
    """The dropdown of settings.key: the known keys (an unknown key is an input error)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    keys = [s.key for s in SETTINGS]
    return DataValidation(type="list", formula1='"' + ",".join(keys) + '"', allow_blank=True,
                          showErrorMessage=True, errorTitle="key",
                          error=f"Choose one of: {', '.join(keys)}")


def _add_lists_sheet(wb) -> None:
    """The hidden helper column behind PRODUCTS_AND_MRECL (see LISTS)."""
    ws = wb.create_sheet(LISTS)
    ws.sheet_state = "hidden"
    ws["A1"] = MRECL
    for row in range(2, ID_ROWS + 1):  # row n mirrors products!An
        ws.cell(row=row, column=1, value=f'=IF(products!A{row}="","",products!A{row})')


def annotate(ws, sheet: Sheet, *, rows: int = DATA_ROWS) -> None:
    """Header comments and dropdowns for the columns of ``sheet`` found in row 1 of ``ws``.

    Columns the schema does not know (``source``, ``notes``) are left alone, wherever they are.
    """
    from openpyxl.comments import Comment
    from openpyxl.utils import get_column_letter

    known = {col.name: col for col in sheet.columns}
    for cell in ws[1]:
        col = known.get(str(cell.value).strip().lower()) if cell.value is not None else None
        if col is None:
            continue
        cell.comment = Comment(column_note(col), "irel-alloc", width=320, height=140)
        dv = _settings_keys() if (sheet.name, col.name) == ("settings", "key") else _validation_for(col)
        if dv is not None:
            letter = get_column_letter(cell.column)
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}{rows}")


def annotate_workbook(wb, *, rows: int = DATA_ROWS) -> None:
    """Annotate every schema sheet present in ``wb`` (and add the helper lists sheet if needed).

    Used by the template and by inputs/make_base_case.py, so both carry the same comments
    and dropdowns.
    """
    by_name = {sheet.name: sheet for sheet in SHEETS}
    present = [by_name[ws.title] for ws in wb.worksheets if ws.title in by_name]
    for sheet in present:
        annotate(wb[sheet.name], sheet, rows=rows)
    if LISTS not in wb.sheetnames and any(col.ref == "products+MRECL" for sheet in present
                                          for col in sheet.columns):
        _add_lists_sheet(wb)


def _sheet(wb, sheet: Sheet) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(sheet.name)
    for j, col in enumerate(sheet.columns, start=1):
        ws.cell(row=1, column=j, value=col.name).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(j)].width = max(14, len(col.name) + 4)
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
    f"The hidden '{LISTS}' sheet feeds the demand product dropdown ({MRECL} and the products); leave it.",
    "The model and the result sheets are described in docs/model.md and docs/outputs.md.",
]


def write_template(path: str | Path, *, force: bool = False) -> Path:
    """Write the blank annotated workbook to ``path`` (atomically).

    An existing file is left untouched unless ``force``: a template is blank, and writing
    it over a filled workbook would lose the planner's data.
    """
    from .errors import OutputError
    from .writer import save_workbook

    if Path(path).exists() and not force:
        raise OutputError(f"{path} already exists; choose another path, or pass --force to "
                          "replace it with a blank template")

    def fill(wb):
        ws = wb.create_sheet("README", 0)
        for i, line in enumerate(README_TEXT, start=1):
            ws.cell(row=i, column=1, value=line)
        ws.column_dimensions["A"].width = 110
        for sheet in SHEETS:
            _sheet(wb, sheet)
        annotate_workbook(wb)

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
