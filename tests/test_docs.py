"""The repository documents itself: docs/, README links, the base case's sources, the template.

Nothing a user receives may point outside the repository (a `../shared` file, a spec
section): the docs describe the model and the workbooks in their own words. The template
and the bundled base case carry the same header comments and dropdowns.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from optimizer import schema, template
from optimizer.cli import main
from optimizer.model import FAMILIES, VARIABLES

REPO = Path(__file__).resolve().parents[1]
BASE_CASE = REPO / "inputs" / "base_case.xlsx"
DOCS = REPO / "docs"
OUTSIDE = ("../shared", "SPEC.md", "SPEC §", "DATA_SOURCES.md")
"""Strings that would send a user to a file they do not have."""


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def template_wb(tmp_path_factory) -> openpyxl.Workbook:
    path = tmp_path_factory.mktemp("tpl") / "blank.xlsx"
    assert main(["template", str(path)]) == 0
    return openpyxl.load_workbook(path)


@pytest.fixture(scope="module")
def base_wb() -> openpyxl.Workbook:
    return openpyxl.load_workbook(BASE_CASE)


def _validations(ws) -> dict[str, str]:
    """Column header -> formula of the data validation covering row 2 of that column."""
    header = {c.column: c.value for c in ws[1]}
    found = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            if rng.min_row <= 2 <= rng.max_row and rng.min_col == rng.max_col:
                found[header.get(rng.min_col)] = dv.formula1
    return found


def _comments(ws) -> dict[str, str]:
    return {c.value: c.comment.text for c in ws[1] if c.comment is not None}


# ---------------------------------------------------------------- template --force


def test_template_refuses_an_existing_file_and_leaves_it_byte_identical(capsys, tmp_path):
    path = tmp_path / "plan.xlsx"
    path.write_bytes(b"a planner's filled workbook")
    code = main(["template", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "already exists" in err and "--force" in err and "Traceback" not in err
    assert path.read_bytes() == b"a planner's filled workbook"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.xlsx"]  # no temp file left


def test_template_force_replaces_an_existing_file(tmp_path):
    path = tmp_path / "plan.xlsx"
    path.write_bytes(b"old")
    assert main(["template", "--force", str(path)]) == 0
    assert openpyxl.load_workbook(path).sheetnames[0] == "README"


# ---------------------------------------------------------------- dropdowns and comments


def test_demand_product_dropdown_offers_mrecl_and_the_products(template_wb):
    """The list is lists!A1 (MRECL) followed by formulas mirroring products!A2, A3, ..."""
    formula = _validations(template_wb["demand"])["product"]
    assert formula == template.PRODUCTS_AND_MRECL
    assert "lists!$A$1" in formula and "COUNTA(products!" in formula
    lists = template_wb["lists"]
    assert lists.sheet_state == "hidden"
    assert lists["A1"].value == schema.MRECL
    assert lists["A2"].value == '=IF(products!A2="","",products!A2)'
    # a plain product column still lists the products only
    assert _validations(template_wb["export_caps"])["product"] == "=products!$A$2:$A$1000"


def test_template_comment_says_mrecl_once():
    col = schema.SHEET_BY_NAME["demand"].column("product")
    assert template.column_note(col).count(schema.MRECL) == 2  # the doc, then "or MRECL."


def test_base_case_carries_the_template_comments_and_dropdowns(template_wb, base_wb):
    """Every schema column of the base case has the template's comment and dropdown."""
    checked = 0
    for sheet in schema.SHEETS:
        if sheet.name not in base_wb.sheetnames:
            continue
        ws, tpl = base_wb[sheet.name], template_wb[sheet.name]
        base_comments, tpl_comments = _comments(ws), _comments(tpl)
        base_dv, tpl_dv = _validations(ws), _validations(tpl)
        for cell in ws[1]:
            if cell.value not in sheet.column_names:
                assert cell.comment is None, (sheet.name, cell.value)  # e.g. `source`
                continue
            assert base_comments[cell.value] == tpl_comments[cell.value], (sheet.name, cell.value)
            assert base_dv.get(cell.value) == tpl_dv.get(cell.value), (sheet.name, cell.value)
            checked += 1
    assert checked > 40
    assert _validations(base_wb["mines"])["status"] == '"approved,pending"'
    assert base_wb["lists"]["A1"].value == schema.MRECL


def test_base_case_lists_sheet_mirrors_its_products(base_wb):
    """The helper formula of row n reads products!An, so the dropdown follows the sheet."""
    products = [c.value for c in base_wb["products"]["A"][1:] if c.value is not None]
    lists = base_wb["lists"]
    assert len(products) == 10
    for n in range(2, len(products) + 2):
        assert lists[f"A{n}"].value == f'=IF(products!A{n}="","",products!A{n})'
