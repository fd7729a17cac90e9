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
            where = (sheet.name, cell.value, "regenerate: .venv/bin/python inputs/make_base_case.py")
            assert base_comments.get(cell.value) == tpl_comments.get(cell.value), where
            assert base_dv.get(cell.value) == tpl_dv.get(cell.value), where
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


# ---------------------------------------------------------------- docs cover the code


def _name(declared) -> str:
    """FAMILIES and VARIABLES hold names, or declarations with a ``name``."""
    return declared if isinstance(declared, str) else declared.name


def test_model_md_has_every_constraint_family_and_variable():
    text = (DOCS / "model.md").read_text(encoding="utf-8")
    families = [_name(f) for f in FAMILIES]
    assert len(families) >= 12
    for name in families:
        assert f"`{name}[" in text or f"`{name}`" in text, f"document family {name} in docs/model.md"
    for name in map(_name, VARIABLES):
        assert f"`{name}`" in text, f"document variable {name} in docs/model.md"


@pytest.fixture(scope="module")
def result_tables() -> dict[str, list[str]]:
    """Columns of every result table: an optimal tiny solve and an infeasible strict one."""
    import tiny

    import optimizer

    optimal = optimizer.solve(optimizer.ModelInputs.from_frames(tiny.frames()))
    # K1 must take 100 t of A, but the mine yields 30 t at most: infeasible when strict.
    demand = [{"customer": "K1", "product": "A", "period": None, "min_t": 100, "max_t": 1000,
               "price": 10}]
    infeasible = optimizer.solve(optimizer.ModelInputs.from_frames(tiny.frames(demand=demand)),
                                 strict=True)
    assert optimal.status == "optimal" and infeasible.status == "infeasible"
    tables = {name: list(frame.columns) for name, frame in optimal.tables.items()}
    tables["infeasibility"] = list(infeasible.tables["infeasibility"].columns)
    tables["summary keys"] = [k for k in optimal.tables["summary"]["key"]
                              if not k.startswith("sold_t_")] + ["explanation"]
    return tables


def test_outputs_md_explains_every_result_sheet_and_column(result_tables):
    text = (DOCS / "outputs.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^### (\S+)", text, flags=re.M))
    missing = []
    for table, columns in result_tables.items():
        if table != "summary keys" and table not in headings:
            missing.append(f"sheet {table}")
        missing += [f"{table}.{c}" for c in columns if f"`{c}`" not in text]
    assert not missing, f"document in docs/outputs.md: {missing}"


def test_outputs_md_explains_the_comparison_workbook():
    from optimizer.sweeps import KPI_COLUMNS
    from optimizer.writer import COMPARED

    text = (DOCS / "outputs.md").read_text(encoding="utf-8")
    for name in [*KPI_COLUMNS, *COMPARED, "vs_base", "heatmaps", "1E+30"]:
        assert f"`{name}`" in text or name in text.split("`"), name


# ---------------------------------------------------------------- links stay in the repository


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lowercase, punctuation dropped, spaces -> '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}


def test_slug_matches_github():
    assert _slug("Ranging with Excel Solver's semantics") == "ranging-with-excel-solvers-semantics"
    assert _slug("run_info (comparison)") == "run_info-comparison"
    assert _slug("The treaty buyer (TREI)") == "the-treaty-buyer-trei"


@pytest.mark.parametrize("page", ["README.md", "docs/README.md", "docs/model.md", "docs/outputs.md",
                                  "docs/data_sources.md"])
def test_every_relative_link_and_anchor_resolves(page):
    path = REPO / page
    text = path.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert links, page
    broken = []
    for link in links:
        if re.match(r"[a-z]+:", link):
            continue
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        if REPO not in file.parents and file != REPO or not file.exists():
            broken.append(link)
        elif anchor and anchor not in _anchors(file):
            broken.append(link)
    assert not broken, f"{page}: broken links {broken}"


def test_sources_sheet_points_to_sections_of_data_sources_md(base_wb):
    rows = list(base_wb["sources"].iter_rows(values_only=True))
    header, records = list(rows[0]), rows[1:]
    assert header[-2:] == ["kind", "see"]
    anchors = _anchors(DOCS / "data_sources.md")
    assert len(records) > 200
    for record in records:
        rec = dict(zip(header, record))
        page, _, anchor = rec["see"].partition("#")
        assert page == "docs/data_sources.md" and anchor in anchors, rec
        assert rec["kind"] in ("sourced", "derived", "assumption"), rec
        assert "§" not in rec["source"], rec


def test_data_sources_md_gives_addresses():
    text = (DOCS / "data_sources.md").read_text(encoding="utf-8")
    urls = re.findall(r"https://\S+", text)
    assert len(urls) > 30
    for host in ("gazettetracker.com", "business-standard.com", "pib.gov.in", "news.metal.com"):
        assert any(host in u for u in urls), host


def _shipped_text() -> dict[str, str]:
    """Every text a user receives: README, docs, the package, the generator, the base case,
    and the tests and benchmarks a developer reads next to them (this file names the strings)."""
    paths = [REPO / "README.md", *DOCS.rglob("*.md"), *(REPO / "optimizer").rglob("*.py"),
             *(REPO / "inputs").glob("*.py"), *(REPO / "benchmarks").glob("*.py"),
             *(REPO / "benchmarks").glob("*.md"),
             *(p for p in (REPO / "tests").rglob("*.py") if p.name != "test_docs.py")]
    texts = {str(p.relative_to(REPO)): p.read_text(encoding="utf-8") for p in paths}
    wb = openpyxl.load_workbook(BASE_CASE, read_only=True)
    for ws in wb.worksheets:
        cells = (str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None)
        texts[f"base_case.xlsx!{ws.title}"] = "\n".join(cells)
    wb.close()
    return texts


def test_nothing_points_outside_the_repository():
    texts = _shipped_text()
    assert "docs/model.md" in texts and "optimizer/model.py" in texts and "base_case.xlsx!sources" in texts
    found = [(name, bad) for name, text in texts.items() for bad in OUTSIDE if bad in text]
    assert not found, f"references to files users do not have: {found}"
